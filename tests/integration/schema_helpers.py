"""Build TMI databases for the schema tests: by migrations, by generated SQL, by template."""

import glob
import os
import re

import yaml
from migration_files import NEWEST

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import load_definition
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_sql import generate_sql
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_validation import validate

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEFINITION_PATH = os.path.join(REPO, 'files', 'schema', 'tmi.yml')
MIGRATION_TABLES = ('schema_migrations', 'schema_migrations_history')


def definition_data():
    with open(DEFINITION_PATH) as f:
        return yaml.safe_load(f)


def tmi_definition():
    return load_definition(definition_data(), DEFINITION_PATH)


def run_sql(pg_server, db, sql):
    conn = pg_server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def migrate_with_sql_files(pg_server, db, version=NEWEST):
    """Apply the .up.sql files up to version as plain SQL and record the version as golang-migrate does."""
    files = [path for path in sorted(glob.glob(os.path.join(REPO, 'files', 'migrations', '*.up.sql')))
             if int(os.path.basename(path).split('_')[0]) <= version]
    for path in files:
        with open(path) as f:
            run_sql(pg_server, db, f.read())
    run_sql(pg_server, db, 'CREATE TABLE IF NOT EXISTS schema_migrations '
                           '(version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL); '
                           'INSERT INTO schema_migrations VALUES (%d, false)' % version)


def build_from_generated_sql(pg_server, db, definition=None):
    sql = generate_sql(definition or tmi_definition())
    run_sql(pg_server, db, 'BEGIN;\n%s\nCOMMIT;' % sql)


def validate_db(pg_server, db, definition=None, **kw):
    conn = pg_server.connect(db)
    try:
        return validate(conn, definition or tmi_definition(), **kw)
    finally:
        conn.close()


def problems(result):
    """The non-info findings as (severity, object_type, table, object)."""
    return [(f['severity'], f['object_type'], f['table'], f['object'])
            for f in result['findings'] if f['severity'] != 'info']


def comparable_dump(pg_server, db):
    """pg_dump --schema-only without the migration tool's tables and pg_dump's per-run \\restrict key."""
    dump = pg_server.schema_dump(db, exclude_tables=MIGRATION_TABLES)
    return re.sub(r'^\\(un)?restrict .*$', '', dump, flags=re.M)

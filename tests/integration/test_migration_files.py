# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's migration files against a real PostgreSQL server.

Each file is applied on its own with psycopg2 inside one transaction, in
version order, as the migrate module does. The expected catalog is read from
the schema definition, files/schema/tmi.yml (which describes TMI's schema
specification), not from the SQL files: the migrations must build exactly it.
"""

import collections
import os
import re

import psycopg2
import psycopg2.errors
import pytest
import yaml
from migration_files import DEFINITION, MIGRATIONS_DIR, VERSIONS, migrations

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import is_transaction_control
from ansible_collections.tmi.postgresql.plugins.module_utils.sql_split import split_statements

MIGRATIONS = migrations()

# --- the schema at the newest version, from files/schema/tmi.yml -----------

# The definition's short type names as format_type() prints them.
TYPE_NAMES = {'timestamptz': 'timestamp with time zone', 'varchar': 'character varying', 'int': 'integer',
              'bool': 'boolean', 'int8': 'bigint', 'int4': 'integer', 'int2': 'smallint'}
FK_ACTION_NAMES = {'no action': 'NO ACTION', 'restrict': 'RESTRICT', 'cascade': 'CASCADE', 'set null': 'SET NULL',
                   'set default': 'SET DEFAULT'}


def catalog_type(name):
    base, paren, modifier = name.partition('(')
    return TYPE_NAMES.get(base, base) + paren + modifier


with open(DEFINITION) as _f:
    _TABLES = yaml.safe_load(_f)['tables']

# table -> column -> (type, NOT NULL, default)
EXPECTED_COLUMNS = dict(
    (table, dict((c['name'], (catalog_type(c['type']), not c.get('nullable', True), c.get('default')))
                 for c in spec['columns']))
    for table, spec in _TABLES.items())

EXPECTED_PRIMARY_KEYS = dict((spec['primary_key']['name'], (table, tuple(spec['primary_key']['columns'])))
                             for table, spec in _TABLES.items() if 'primary_key' in spec)

EXPECTED_UNIQUE_CONSTRAINTS = dict((u['name'], (table, tuple(u['columns'])))
                                   for table, spec in _TABLES.items() for u in spec.get('unique', []))

# name -> (table, columns, referenced table, referenced columns, ON DELETE, ON UPDATE)
EXPECTED_FOREIGN_KEYS = dict(
    (fk['name'], (table, tuple(fk['columns']), fk['references']['table'], tuple(fk['references']['columns']),
                  FK_ACTION_NAMES[fk.get('on_delete', 'no action')], FK_ACTION_NAMES[fk.get('on_update', 'no action')]))
    for table, spec in _TABLES.items() for fk in spec.get('foreign_keys', []))

# name -> (table, rule as the definition writes it)
EXPECTED_CHECKS = dict((c['name'], (table, c['expression']))
                       for table, spec in _TABLES.items() for c in spec.get('checks', []))

# name -> (table, columns, unique, predicate); the indexes behind the keys included.
EXPECTED_INDEXES = dict((i['name'], (table, tuple(i['columns']), i.get('unique', False), i.get('where')))
                        for table, spec in _TABLES.items() for i in spec.get('indexes', []))
for _name, (_table, _columns) in list(EXPECTED_PRIMARY_KEYS.items()) + list(EXPECTED_UNIQUE_CONSTRAINTS.items()):
    EXPECTED_INDEXES[_name] = (_table, _columns, True, None)

# --- applying the files ----------------------------------------------------


def migration_path(version, direction):
    name = dict(MIGRATIONS)[version]
    return os.path.join(MIGRATIONS_DIR, '%06d_%s.%s.sql' % (version, name, direction))


def read_migration(version, direction):
    with open(migration_path(version, direction)) as f:
        return f.read()


def run_migration(pg_server, dbname, version, direction):
    """Run one file in one transaction, as the migrate module does."""
    conn = pg_server.connect(dbname)
    conn.autocommit = False
    try:
        with conn, conn.cursor() as cur:
            cur.execute(read_migration(version, direction))
    finally:
        conn.close()


def migrate_up(pg_server, dbname, versions=VERSIONS):
    for version in versions:
        run_migration(pg_server, dbname, version, 'up')


def migrate_down(pg_server, dbname, versions=VERSIONS):
    for version in reversed(versions):
        run_migration(pg_server, dbname, version, 'down')


# --- reading the catalog ---------------------------------------------------

# Column names of a conkey/indkey-style array, in key order.
ATTNAMES_SQL = """ARRAY(SELECT a.attname::text FROM unnest(%s) WITH ORDINALITY AS k(attnum, ord)
                       JOIN pg_attribute a ON a.attrelid = %s AND a.attnum = k.attnum ORDER BY k.ord)"""

FK_ACTIONS = {'a': 'NO ACTION', 'r': 'RESTRICT', 'c': 'CASCADE', 'n': 'SET NULL', 'd': 'SET DEFAULT'}


def public_tables(pg_server, dbname):
    rows = pg_server.query(dbname, """
        SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')""")
    return set(row[0] for row in rows)


def public_columns(pg_server, dbname):
    rows = pg_server.query(dbname, """
        SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
               pg_get_expr(d.adbin, d.adrelid)
        FROM pg_attribute a
        JOIN pg_class c ON c.oid = a.attrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
        WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped""")
    columns = {}
    for table, column, type_, not_null, default in rows:
        columns.setdefault(table, {})[column] = (type_, not_null, default)
    return columns


def public_indexes(pg_server, dbname):
    rows = pg_server.query(dbname, """
        SELECT i.relname, t.relname, %s, x.indisunique, pg_get_expr(x.indpred, x.indrelid),
               am.amname, x.indexprs IS NULL
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_am am ON am.oid = i.relam
        WHERE n.nspname = 'public'""" % (ATTNAMES_SQL % ('x.indkey::int2[]', 'x.indrelid')))
    indexes = {}
    for name, table, columns, unique, predicate, method, plain_columns in rows:
        assert method == 'btree' and plain_columns, 'index %s: %s, plain columns %s' % (name, method, plain_columns)
        indexes[name] = (table, tuple(columns), unique, predicate)
    return indexes


def public_constraints(pg_server, dbname):
    """name -> (contype, table, columns, referenced table, referenced columns, on delete, on update)."""
    rows = pg_server.query(dbname, """
        SELECT con.conname, con.contype, con.conrelid::regclass::text, %s,
               NULLIF(con.confrelid, 0)::regclass::text, %s, con.confdeltype, con.confupdtype
        FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE n.nspname = 'public' AND con.contype IN ('p', 'u', 'f', 'c')""" % (
        ATTNAMES_SQL % ('con.conkey', 'con.conrelid'), ATTNAMES_SQL % ('con.confkey', 'con.confrelid')))
    constraints = {}
    for name, contype, table, columns, ref_table, ref_columns, on_delete, on_update in rows:
        constraints[name] = (contype, table, tuple(columns), ref_table, tuple(ref_columns),
                             FK_ACTIONS.get(on_delete.strip()), FK_ACTIONS.get(on_update.strip()))
    return constraints


def check_definitions(pg_server, dbname):
    rows = pg_server.query(dbname, """
        SELECT con.conname, pg_get_constraintdef(con.oid)
        FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
        WHERE n.nspname = 'public' AND con.contype = 'c'""")
    return dict(rows)


def spec_check_definitions(pg_server, dbname):
    """The spec's CHECK rules as PostgreSQL prints them, added to scratch copies of the tables."""
    conn = pg_server.connect(dbname)
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE SCHEMA spec_scratch')
            for table in sorted(set(check[0] for check in EXPECTED_CHECKS.values())):
                cur.execute('CREATE TABLE spec_scratch.%s (LIKE public.%s)' % (table, table))
            for name, (table, rule) in EXPECTED_CHECKS.items():
                cur.execute('ALTER TABLE spec_scratch.%s ADD CONSTRAINT %s CHECK (%s)' % (table, name, rule))
            cur.execute("""
                SELECT con.conname, pg_get_constraintdef(con.oid)
                FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
                WHERE n.nspname = 'spec_scratch' AND con.contype = 'c'""")
            return dict(cur.fetchall())
    finally:
        conn.rollback()
        conn.close()


def objects_in_public(pg_server, dbname):
    """Every relation (table, index, sequence, view...), type and function left in public."""
    return pg_server.query(dbname, """
        SELECT 'relation', c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
        UNION ALL SELECT 'type', t.typname FROM pg_type t WHERE t.typnamespace = 'public'::regnamespace
        UNION ALL SELECT 'function', p.proname FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace
        UNION ALL SELECT 'constraint', o.conname FROM pg_constraint o WHERE o.connamespace = 'public'::regnamespace""")


def extensions(pg_server, dbname):
    return set(row[0] for row in pg_server.query(dbname, 'SELECT extname FROM pg_extension'))


# --- the files themselves --------------------------------------------------


def test_the_directory_holds_an_up_and_a_down_file_for_each_version():
    expected = set(os.path.basename(migration_path(v, d)) for v in VERSIONS for d in ('up', 'down'))
    assert set(os.listdir(MIGRATIONS_DIR)) == expected


@pytest.mark.parametrize('direction', ['up', 'down'])
@pytest.mark.parametrize('version', VERSIONS)
def test_file_has_a_header_and_no_transaction_control(version, direction):
    sql = read_migration(version, direction)
    first_line = sql.splitlines()[0]
    assert re.match(r'-- %06d %s: \S' % (version, direction), first_line), first_line
    # The migration tool wraps each file in its own transaction. Statements as
    # psql cuts them, so that the END of a BEGIN ATOMIC body is no false alarm.
    assert not sql.startswith('\ufeff')
    assert [s.line for s in split_statements(sql) if is_transaction_control(s)] == []
    assert 'schema_migrations' not in sql


# --- up and down -----------------------------------------------------------


def test_each_down_restores_exactly_the_schema_of_the_version_before(pg_server, pg_db):
    previous = pg_server.schema_dump(pg_db)
    for version in VERSIONS:
        run_migration(pg_server, pg_db, version, 'up')
        after_up = pg_server.schema_dump(pg_db)
        assert after_up != previous, 'migration %d changed nothing' % version

        run_migration(pg_server, pg_db, version, 'down')
        assert pg_server.schema_dump(pg_db) == previous, 'down %d is not the reverse of up %d' % (version, version)

        run_migration(pg_server, pg_db, version, 'up')
        assert pg_server.schema_dump(pg_db) == after_up, 'up %d after down %d differs' % (version, version)
        previous = after_up


def test_all_down_leaves_an_empty_schema_and_up_again_is_identical(pg_server, pg_db):
    empty = pg_server.schema_dump(pg_db)
    extensions_before = extensions(pg_server, pg_db)
    migrate_up(pg_server, pg_db)
    at_newest = pg_server.schema_dump(pg_db)

    migrate_down(pg_server, pg_db)
    assert objects_in_public(pg_server, pg_db) == []
    assert extensions(pg_server, pg_db) == extensions_before
    assert pg_server.schema_dump(pg_db) == empty

    migrate_up(pg_server, pg_db)
    assert pg_server.schema_dump(pg_db) == at_newest


def test_initial_schema_creates_no_extension_where_gen_random_uuid_is_core(pg_server, pg_db):
    if pg_server.version_num() < 130000:
        pytest.skip('gen_random_uuid() needs pgcrypto before PostgreSQL 13')
    before = extensions(pg_server, pg_db)
    run_migration(pg_server, pg_db, 1, 'up')
    assert extensions(pg_server, pg_db) == before


# --- the catalog at the newest version ---------------------------------------


@pytest.fixture(scope='module')
def migrated_db(pg_server):
    name = pg_server.create_database(prefix='newest')
    migrate_up(pg_server, name)
    yield name
    pg_server.drop_database(name)


def test_tables_are_the_specified_ones(pg_server, migrated_db):
    assert public_tables(pg_server, migrated_db) == set(EXPECTED_COLUMNS)


def test_columns_have_the_specified_type_nullability_and_default(pg_server, migrated_db):
    assert public_columns(pg_server, migrated_db) == EXPECTED_COLUMNS


def test_indexes_are_the_specified_ones(pg_server, migrated_db):
    assert public_indexes(pg_server, migrated_db) == EXPECTED_INDEXES


def test_constraints_are_the_specified_ones(pg_server, migrated_db):
    expected = {}
    for name, (table, columns) in EXPECTED_PRIMARY_KEYS.items():
        expected[name] = ('p', table, columns, None, (), None, None)
    for name, (table, columns) in EXPECTED_UNIQUE_CONSTRAINTS.items():
        expected[name] = ('u', table, columns, None, (), None, None)
    for name, fk in EXPECTED_FOREIGN_KEYS.items():
        expected[name] = ('f',) + fk
    for name, (table, rule) in EXPECTED_CHECKS.items():
        columns = tuple(sorted(c for c in EXPECTED_COLUMNS[table] if re.search(r'\b%s\b' % c, rule)))
        expected[name] = ('c', table, columns, None, (), None, None)

    actual = public_constraints(pg_server, migrated_db)
    for name, constraint in actual.items():
        if constraint[0] == 'c':
            actual[name] = constraint[:2] + (tuple(sorted(constraint[2])),) + constraint[3:]
    assert actual == expected


def test_check_constraints_have_the_specified_rules(pg_server, migrated_db):
    assert check_definitions(pg_server, migrated_db) == spec_check_definitions(pg_server, migrated_db)


# --- what the constraints do with data -------------------------------------


@pytest.fixture
def cur(pg_server, migrated_db):
    """A cursor in a transaction that is rolled back at the end."""
    conn = pg_server.connect(migrated_db)
    conn.autocommit = False
    try:
        with conn.cursor() as cursor:
            yield cursor
    finally:
        conn.rollback()
        conn.close()


def insert(cur, table, **values):
    columns = sorted(values)
    cur.execute('INSERT INTO %s (%s) VALUES (%s) RETURNING id' % (
        table, ', '.join(columns), ', '.join('%%(%s)s' % c for c in columns)), values)
    return cur.fetchone()[0]


def count(cur, table, where='true', params=None):
    cur.execute('SELECT count(*) FROM %s WHERE %s' % (table, where), params)
    return cur.fetchone()[0]


Owner = collections.namedtuple('Owner', 'user_id email threat_model_id')


@pytest.fixture
def alice(cur):
    """A user who owns a threat model."""
    email = 'alice@example.com'
    user_id = insert(cur, 'users', email=email, name='Alice')
    threat_model_id = insert(cur, 'threat_models', owner_email=email, name='Payments')
    return Owner(user_id, email, threat_model_id)


def provider_row(user_id, **overrides):
    row = dict(user_id=user_id, provider='github', provider_user_id='1234', email='alice@example.com')
    row.update(overrides)
    return row


REFUSED_BY_CHECK = [
    ('user_providers_provider_check', 'user_providers', dict(provider='gitlab')),
    ('user_providers_provider_check', 'user_providers', dict(provider='GitHub')),
    ('user_providers_provider_user_id_check', 'user_providers', dict(provider_user_id='')),
    ('threat_model_access_role_check', 'threat_model_access', dict(role='admin')),
    ('threats_severity_check', 'threats', dict(severity='extreme')),
    ('threats_likelihood_check', 'threats', dict(likelihood='critical')),
    ('threats_risk_level_check', 'threats', dict(risk_level='none')),
    ('diagrams_type_check', 'diagrams', dict(type='flowchart')),
    ('refresh_tokens_expires_at_check', 'refresh_tokens', dict(expires_at='2020-01-01T00:00:00Z')),
    ('refresh_tokens_expires_at_check', 'refresh_tokens',
     dict(created_at='2030-01-01T00:00:00Z', expires_at='2030-01-01T00:00:00Z')),
]


def valid_row(table, alice):
    user_id, email, threat_model_id = alice
    rows = {
        'user_providers': provider_row(user_id),
        'threat_model_access': dict(threat_model_id=threat_model_id, user_email=email, role='owner'),
        'threats': dict(threat_model_id=threat_model_id, name='Spoofing'),
        'diagrams': dict(threat_model_id=threat_model_id, name='Context'),
        'refresh_tokens': dict(user_id=user_id, token='tok-1', expires_at='2999-01-01T00:00:00Z'),
    }
    return rows[table]


@pytest.mark.parametrize('constraint, table, bad', REFUSED_BY_CHECK,
                         ids=['%s-%s' % (case[0], list(case[2].values())[-1]) for case in REFUSED_BY_CHECK])
def test_check_constraint_refuses_bad_data(cur, alice, constraint, table, bad):
    row = valid_row(table, alice)
    insert(cur, table, **row)  # the same row without the bad value is accepted
    cur.execute('DELETE FROM %s' % table)
    row.update(bad)
    with pytest.raises(psycopg2.errors.CheckViolation) as error:
        insert(cur, table, **row)
    assert error.value.diag.constraint_name == constraint


def test_check_constraints_accept_every_allowed_value_and_null(cur, alice):
    user_id, threat_model_id = alice.user_id, alice.threat_model_id
    for provider in ('google', 'github', 'microsoft', 'apple', 'facebook', 'twitter'):
        insert(cur, 'user_providers', **provider_row(user_id, provider=provider))
    for role in ('owner', 'writer', 'reader'):
        member = '%s@example.com' % role
        insert(cur, 'users', email=member, name=role)
        insert(cur, 'threat_model_access', threat_model_id=threat_model_id, user_email=member, role=role)
    for rating in ('low', 'medium', 'high', 'critical', None):
        insert(cur, 'threats', threat_model_id=threat_model_id, name='t', severity=rating, risk_level=rating)
    for likelihood in ('low', 'medium', 'high', None):
        insert(cur, 'threats', threat_model_id=threat_model_id, name='t', likelihood=likelihood)
    for diagram_type in ('data_flow', 'architecture', 'sequence', 'component', 'deployment', None):
        insert(cur, 'diagrams', threat_model_id=threat_model_id, name='d', type=diagram_type)
    assert count(cur, 'user_providers') == 6
    assert count(cur, 'threat_model_access') == 3
    assert count(cur, 'threats') == 9
    assert count(cur, 'diagrams') == 6


DUPLICATES = [
    ('users_email_key', 'users', lambda alice: dict(email=alice.email, name='Other Alice')),
    ('threat_model_access_threat_model_id_user_email_key', 'threat_model_access',
     lambda alice: dict(threat_model_id=alice.threat_model_id, user_email=alice.email, role='reader')),
    ('refresh_tokens_token_key', 'refresh_tokens',
     lambda alice: dict(user_id=alice.user_id, token='tok-1', expires_at='2999-06-01T00:00:00Z')),
    ('user_providers_user_id_provider_key', 'user_providers', lambda alice: provider_row(alice.user_id, provider_user_id='other')),
    ('idx_user_providers_one_primary', 'user_providers',
     lambda alice: provider_row(alice.user_id, provider='google', is_primary=True)),
]


@pytest.mark.parametrize('constraint, table, duplicate', DUPLICATES, ids=[d[0] for d in DUPLICATES])
def test_unique_constraint_refuses_a_duplicate(cur, alice, constraint, table, duplicate):
    user_id, email, threat_model_id = alice
    insert(cur, 'threat_model_access', threat_model_id=threat_model_id, user_email=email, role='owner')
    insert(cur, 'refresh_tokens', user_id=user_id, token='tok-1', expires_at='2999-01-01T00:00:00Z')
    insert(cur, 'user_providers', **provider_row(user_id, is_primary=True))
    with pytest.raises(psycopg2.errors.UniqueViolation) as error:
        insert(cur, table, **duplicate(alice))
    assert error.value.diag.constraint_name == constraint


def test_a_user_may_have_several_non_primary_providers(cur, alice):
    user_id = alice.user_id
    insert(cur, 'user_providers', **provider_row(user_id, provider='github', is_primary=True))
    insert(cur, 'user_providers', **provider_row(user_id, provider='google'))
    insert(cur, 'user_providers', **provider_row(user_id, provider='apple'))
    assert count(cur, 'user_providers') == 3


UNKNOWN = '00000000-0000-0000-0000-000000000000'
ORPHANS = [
    ('user_providers_user_id_fkey', 'user_providers', lambda alice: provider_row(UNKNOWN)),
    ('threat_models_owner_email_fkey', 'threat_models', lambda alice: dict(owner_email='nobody@example.com', name='x')),
    ('threat_model_access_threat_model_id_fkey', 'threat_model_access',
     lambda alice: dict(threat_model_id=UNKNOWN, user_email=alice.email, role='reader')),
    ('threat_model_access_user_email_fkey', 'threat_model_access',
     lambda alice: dict(threat_model_id=alice.threat_model_id, user_email='nobody@example.com', role='reader')),
    ('threats_threat_model_id_fkey', 'threats', lambda alice: dict(threat_model_id=UNKNOWN, name='x')),
    ('diagrams_threat_model_id_fkey', 'diagrams', lambda alice: dict(threat_model_id=UNKNOWN, name='x')),
    ('refresh_tokens_user_id_fkey', 'refresh_tokens',
     lambda alice: dict(user_id=UNKNOWN, token='t', expires_at='2999-01-01T00:00:00Z')),
]


@pytest.mark.parametrize('constraint, table, orphan', ORPHANS, ids=[o[0] for o in ORPHANS])
def test_foreign_key_refuses_an_orphan(cur, alice, constraint, table, orphan):
    with pytest.raises(psycopg2.errors.ForeignKeyViolation) as error:
        insert(cur, table, **orphan(alice))
    assert error.value.diag.constraint_name == constraint


def test_deleting_a_user_who_owns_threat_models_is_refused(cur, alice):
    user_id = alice.user_id
    with pytest.raises(psycopg2.errors.ForeignKeyViolation) as error:
        cur.execute('DELETE FROM users WHERE id = %s', (user_id,))
    assert error.value.diag.constraint_name == 'threat_models_owner_email_fkey'


def test_deleting_a_threat_model_deletes_its_threats_diagrams_and_access(cur, alice):
    user_id, email, threat_model_id = alice
    kept_id = insert(cur, 'threat_models', owner_email=email, name='Kept')
    for model in (threat_model_id, kept_id):
        insert(cur, 'threats', threat_model_id=model, name='Tampering')
        insert(cur, 'diagrams', threat_model_id=model, name='Context')
        insert(cur, 'threat_model_access', threat_model_id=model, user_email=email, role='owner')

    cur.execute('DELETE FROM threat_models WHERE id = %s', (threat_model_id,))

    for table in ('threats', 'diagrams', 'threat_model_access'):
        assert count(cur, table, 'threat_model_id = %s', (threat_model_id,)) == 0, table
        assert count(cur, table, 'threat_model_id = %s', (kept_id,)) == 1, table
    assert count(cur, 'users', 'id = %s', (user_id,)) == 1


def test_deleting_a_user_deletes_their_providers_tokens_and_access(cur, alice):
    threat_model_id = alice.threat_model_id
    bob_email = 'bob@example.com'
    bob_id = insert(cur, 'users', email=bob_email, name='Bob')
    insert(cur, 'user_providers', **provider_row(bob_id, email=bob_email))
    insert(cur, 'refresh_tokens', user_id=bob_id, token='bob-token', expires_at='2999-01-01T00:00:00Z')
    insert(cur, 'threat_model_access', threat_model_id=threat_model_id, user_email=bob_email, role='reader')

    cur.execute('DELETE FROM users WHERE id = %s', (bob_id,))

    assert count(cur, 'user_providers') == 0
    assert count(cur, 'refresh_tokens') == 0
    assert count(cur, 'threat_model_access') == 0
    assert count(cur, 'threat_models', 'id = %s', (threat_model_id,)) == 1


def test_changing_a_user_email_follows_into_threat_models_and_access(cur, alice):
    user_id, email, threat_model_id = alice
    insert(cur, 'threat_model_access', threat_model_id=threat_model_id, user_email=email, role='owner')

    cur.execute('UPDATE users SET email = %s WHERE id = %s', ('alice@new.example.com', user_id))

    assert count(cur, 'threat_models', 'owner_email = %s', ('alice@new.example.com',)) == 1
    assert count(cur, 'threat_model_access', 'user_email = %s', ('alice@new.example.com',)) == 1

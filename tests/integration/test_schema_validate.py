"""Schema validation and SQL generation against a real PostgreSQL."""

import os
import urllib.parse
import uuid

import pytest

from ansible_run import run_module, run_tasks
from migration_files import NEWEST, objects_of
from schema_helpers import (
    DEFINITION_PATH,
    build_from_generated_sql,
    comparable_dump,
    definition_data,
    migrate_with_sql_files,
    problems,
    run_sql,
    tmi_definition,
    validate_db,
)

from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import Session, TransactionEnded
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import (
    Column,
    Constraint,
    Definition,
    Table,
    load_definition,
)

MODULE = 'tmi.postgresql.schema_validate'


@pytest.fixture(scope='session')
def migrated_template(pg_server):
    """A database migrated to the newest version by the SQL files, used as a template for fast copies."""
    name = pg_server.create_database(prefix='tmpl')
    migrate_with_sql_files(pg_server, name)
    yield name
    pg_server.drop_database(name)


@pytest.fixture
def migrated_db(pg_server, migrated_template):
    name = 'm_%s' % uuid.uuid4().hex[:10]
    pg_server.query('postgres', 'CREATE DATABASE "%s" TEMPLATE "%s"' % (name, migrated_template))
    yield name
    pg_server.drop_database(name)


def test_the_migrations_validate_clean(pg_server, pg_db):
    migrate_with_sql_files(pg_server, pg_db)
    result = validate_db(pg_server, pg_db, exact_counts=True)
    assert problems(result) == []
    assert result['valid'] is True
    assert result['summary']['matched'] == objects_of(tmi_definition())
    assert result['migration'] == dict(expected_version=NEWEST, table_exists=True, version=NEWEST, dirty=False)
    assert set(result['tables']) == {'users', 'threat_models', 'threat_model_access', 'threats', 'diagrams',
                                     'refresh_tokens', 'user_providers', 'schema_migrations'}
    assert result['tables']['users'] == dict(status='present', columns='ok', indexes='ok', constraints='ok',
                                             rows=0, row_estimate=result['tables']['users']['row_estimate'],
                                             size_bytes=result['tables']['users']['size_bytes'])
    assert result['tables']['users']['size_bytes'] > 0


def test_row_counts_are_exact(pg_server, migrated_db):
    run_sql(pg_server, migrated_db, "INSERT INTO users (email, name) VALUES ('a@example.org', 'A'), "
                                    "('b@example.org', 'B')")
    result = validate_db(pg_server, migrated_db, exact_counts=True)
    assert result['tables']['users']['rows'] == 2
    assert result['tables']['threats']['rows'] == 0
    assert validate_db(pg_server, migrated_db)['tables']['users']['rows'] is None


def test_generated_sql_builds_the_same_catalog_as_the_migrations(pg_server, pg_db, migrated_db):
    build_from_generated_sql(pg_server, pg_db)
    generated = validate_db(pg_server, pg_db)
    assert problems(generated) == []
    assert generated['summary']['matched'] == objects_of(tmi_definition())
    assert comparable_dump(pg_server, pg_db) == comparable_dump(pg_server, migrated_db)
    assert 'CREATE TABLE public.user_providers' in comparable_dump(pg_server, pg_db)


def _migra_url(pg_server, db):
    return 'postgresql+psycopg2://postgres@/%s?host=%s&port=%d' % (
        db, urllib.parse.quote(pg_server.socketdir, safe=''), pg_server.port)


def _migra_diff(pg_server, db_from, db_to):
    from migra import Migration
    from sqlbag import S
    with S(_migra_url(pg_server, db_from)) as a, S(_migra_url(pg_server, db_to)) as b:
        migration = Migration(a, b)
        migration.set_safety(False)
        migration.add_all_changes()
        return migration.sql


def test_migra_sees_no_difference_either_way(pg_server, pg_db, migrated_db):
    build_from_generated_sql(pg_server, pg_db)
    # The generated database has no history table; apart from the migration tool's tables, nothing differs.
    run_sql(pg_server, migrated_db, 'DROP TABLE IF EXISTS schema_migrations_history')
    assert _migra_diff(pg_server, migrated_db, pg_db) == ''
    assert _migra_diff(pg_server, pg_db, migrated_db) == ''
    # And migra does see a difference when there is one, so the empty diffs above mean something.
    run_sql(pg_server, pg_db, 'ALTER TABLE users ADD COLUMN nickname text')
    assert 'nickname' in _migra_diff(pg_server, migrated_db, pg_db)


# Each mutation of a migrated database and the one finding it must cause; nothing else may be reported.
MUTATIONS = [
    ('drop an index', 'DROP INDEX idx_threats_severity',
     ('error', 'index', 'threats', 'idx_threats_severity')),
    ('shorten a varchar', 'ALTER TABLE diagrams ALTER COLUMN name TYPE varchar(200)',
     ('error', 'column', 'diagrams', 'name')),
    ('change a type', 'ALTER TABLE threats ALTER COLUMN description TYPE varchar(1000)',
     ('error', 'column', 'threats', 'description')),
    ('drop NOT NULL', 'ALTER TABLE users ALTER COLUMN name DROP NOT NULL',
     ('error', 'column', 'users', 'name')),
    ('change a default', 'ALTER TABLE user_providers ALTER COLUMN is_primary SET DEFAULT true',
     ('error', 'column', 'user_providers', 'is_primary')),
    ('drop a column', 'ALTER TABLE threats DROP COLUMN mitigation',
     ('error', 'column', 'threats', 'mitigation')),
    ('change an FK action',
     'ALTER TABLE threat_models DROP CONSTRAINT threat_models_owner_email_fkey, ADD CONSTRAINT '
     'threat_models_owner_email_fkey FOREIGN KEY (owner_email) REFERENCES users (email) '
     'ON DELETE CASCADE ON UPDATE CASCADE',
     ('error', 'foreign key', 'threat_models', 'threat_models_owner_email_fkey')),
    ('drop an FK', 'ALTER TABLE diagrams DROP CONSTRAINT diagrams_threat_model_id_fkey',
     ('error', 'foreign key', 'diagrams', 'diagrams_threat_model_id_fkey')),
    ('drop a CHECK', 'ALTER TABLE threats DROP CONSTRAINT threats_likelihood_check',
     ('error', 'check', 'threats', 'threats_likelihood_check')),
    ('alter a CHECK',
     'ALTER TABLE threat_model_access DROP CONSTRAINT threat_model_access_role_check, ADD CONSTRAINT '
     "threat_model_access_role_check CHECK (role IN ('owner', 'writer', 'reader', 'admin'))",
     ('error', 'check', 'threat_model_access', 'threat_model_access_role_check')),
    ('drop a unique constraint', 'ALTER TABLE refresh_tokens DROP CONSTRAINT refresh_tokens_token_key',
     ('error', 'unique', 'refresh_tokens', 'refresh_tokens_token_key')),
    ('drop a primary key', 'ALTER TABLE diagrams DROP CONSTRAINT diagrams_pkey',
     ('error', 'primary key', 'diagrams', 'diagrams_pkey')),
    ('change an index predicate',
     'DROP INDEX idx_user_providers_one_primary; CREATE UNIQUE INDEX idx_user_providers_one_primary '
     'ON user_providers (user_id) WHERE is_primary AND last_login IS NOT NULL',
     ('error', 'index', 'user_providers', 'idx_user_providers_one_primary')),
    ('reorder index columns',
     'DROP INDEX idx_user_providers_provider_lookup; CREATE INDEX idx_user_providers_provider_lookup '
     'ON user_providers (provider_user_id, provider)',
     ('error', 'index', 'user_providers', 'idx_user_providers_provider_lookup')),
    ('drop a table', 'DROP TABLE refresh_tokens',
     ('error', 'table', 'refresh_tokens', 'refresh_tokens')),
    ('dirty flag', 'UPDATE schema_migrations SET dirty = true',
     ('error', 'migration', 'schema_migrations', 'dirty')),
    ('wrong version', 'UPDATE schema_migrations SET version = 7',
     ('error', 'migration', 'schema_migrations', 'version')),
    ('no version recorded', 'DELETE FROM schema_migrations',
     ('error', 'migration', 'schema_migrations', 'version')),
    ('dirty flag NULL', 'ALTER TABLE schema_migrations ALTER COLUMN dirty DROP NOT NULL; '
                        'UPDATE schema_migrations SET dirty = NULL',
     ('error', 'migration', 'schema_migrations', 'version')),
    ('version -1 clean', 'UPDATE schema_migrations SET version = -1',
     ('error', 'migration', 'schema_migrations', 'version')),
    ('add a column', 'ALTER TABLE users ADD COLUMN nickname text',
     ('warning', 'column', 'users', 'nickname')),
    ('add a table', 'CREATE TABLE audit_log (id bigint PRIMARY KEY)',
     ('warning', 'table', 'audit_log', 'audit_log')),
    ('add an index', 'CREATE INDEX idx_threats_name ON threats (name)',
     ('warning', 'index', 'threats', 'idx_threats_name')),
    ('add a constraint', "ALTER TABLE users ADD CONSTRAINT users_name_check CHECK (name <> '')",
     ('warning', 'check', 'users', 'users_name_check')),
]


@pytest.mark.parametrize('sql, expected', [m[1:] for m in MUTATIONS], ids=[m[0] for m in MUTATIONS])
def test_each_mutation_is_found_with_its_severity_and_nothing_else(pg_server, migrated_db, sql, expected):
    run_sql(pg_server, migrated_db, sql)
    result = validate_db(pg_server, migrated_db)
    assert problems(result) == [expected]
    assert result['valid'] is (expected[0] != 'error')


@pytest.mark.parametrize('sql', [
    # The same rule written differently: PostgreSQL stores both alike.
    'ALTER TABLE threat_model_access DROP CONSTRAINT threat_model_access_role_check, ADD CONSTRAINT '
    "threat_model_access_role_check CHECK (ROLE   in ('owner','writer','reader'))",
    # The same type spelled differently.
    'ALTER TABLE users ALTER COLUMN email TYPE character varying(320), '
    'ALTER COLUMN last_login TYPE timestamp with time zone',
    'ALTER TABLE user_providers ALTER COLUMN is_primary SET DEFAULT FALSE',
], ids=['check spelling', 'type spelling', 'default spelling'])
def test_equivalent_spellings_are_not_findings(pg_server, migrated_db, sql):
    run_sql(pg_server, migrated_db, sql)
    assert problems(validate_db(pg_server, migrated_db)) == []


def test_the_found_values_are_canonical(pg_server, migrated_db):
    run_sql(pg_server, migrated_db, 'ALTER TABLE diagrams ALTER COLUMN name TYPE varchar(200)')
    [f] = [f for f in validate_db(pg_server, migrated_db)['findings'] if f['severity'] == 'error']
    assert (f['expected'], f['actual']) == ('character varying(255)', 'character varying(200)')


def _synthetic_definition(tables):
    data = {'version': 1, 'tables': {}}
    for n in range(tables):
        data['tables']['t%d' % n] = {
            'columns': [{'name': 'id', 'type': 'bigint', 'nullable': False},
                        {'name': 'parent_id', 'type': 'bigint'},
                        {'name': 'state', 'type': 'varchar(10)', 'default': "'new'"}],
            'primary_key': {'name': 't%d_pkey' % n, 'columns': ['id']},
            'foreign_keys': [{'name': 't%d_parent_fkey' % n, 'columns': ['parent_id'],
                              'references': {'table': 't%d' % max(n - 1, 0), 'columns': ['id']}}],
            'checks': [{'name': 't%d_state_check' % n, 'expression': "state IN ('new', 'done')"}],
            'indexes': [{'name': 'idx_t%d_parent' % n, 'columns': ['parent_id'], 'where': 'parent_id IS NOT NULL'}],
        }
    return load_definition(data, 'synthetic-%d' % tables)


def test_the_number_of_queries_does_not_grow_with_the_tables(pg_server):
    counts = {}
    for size in (3, 60):
        db = pg_server.create_database()
        try:
            definition = _synthetic_definition(size)
            build_from_generated_sql(pg_server, db, definition)
            result = validate_db(pg_server, db, definition, exact_counts=True)
            assert problems(result) == []
            assert result['summary']['matched'] > size * 5
            counts[size] = result['queries']
        finally:
            pg_server.drop_database(db)
    assert counts[3] == counts[60]


def test_a_definition_postgresql_rejects_names_the_table(pg_server, migrated_db):
    data = definition_data()
    data['tables']['users']['columns'][1]['type'] = 'citext'
    result = validate_db(pg_server, migrated_db, load_definition(data, 'bad.yml'))
    found = problems(result)
    assert ('error', 'definition', 'users', 'users') in found
    message = [f['message'] for f in result['findings'] if f['object_type'] == 'definition'][0]
    assert 'citext' in message
    # The other tables were still spelled by PostgreSQL and match; users' types are not compared.
    assert found == [('error', 'definition', 'users', 'users')]


def test_validation_leaves_nothing_behind(pg_server, migrated_db):
    before = comparable_dump(pg_server, migrated_db)
    validate_db(pg_server, migrated_db)
    assert comparable_dump(pg_server, migrated_db) == before


# ---- through Ansible -------------------------------------------------------------

def test_module_after_the_migrate_module_is_clean(pg_server, pg_db, tmp_path, target_python):
    params = pg_server.conn_params(pg_db)
    migrate, validate = run_tasks([
        {'name': 'migrate', 'tmi.postgresql.migrate': params},
        {'name': 'validate', MODULE: params},
    ], str(tmp_path), python=target_python)
    assert migrate['version_after'] == NEWEST and not migrate.get('failed')
    assert not validate.get('failed'), validate.get('msg')
    assert validate['changed'] is False and validate['valid'] is True
    assert validate['summary']['errors'] == 0 and validate['summary']['warnings'] == 0
    assert os.path.realpath(validate['definition_path']) == DEFINITION_PATH
    tables = len(tmi_definition().tables)
    assert validate['msg'].startswith('schema valid: %d of %d tables present, 0 errors' % (tables, tables))


def test_module_fails_on_error_unless_told_not_to(pg_server, migrated_db, tmp_path, target_python):
    run_sql(pg_server, migrated_db, 'UPDATE schema_migrations SET dirty = true')
    params = pg_server.conn_params(migrated_db)
    failed = run_module(MODULE, params, str(tmp_path), python=target_python)
    assert failed['failed'] is True
    assert 'the database is dirty at version %d' % NEWEST in failed['msg']
    assert failed['valid'] is False and failed['summary']['errors'] == 1
    passed = run_module(MODULE, dict(params, fail_on_error=False), str(tmp_path), python=target_python)
    assert not passed.get('failed')
    assert passed['valid'] is False
    assert [(f['object_type'], f['object']) for f in passed['errors']] == [('migration', 'dirty')]


def test_module_in_check_mode_reports_the_same(pg_server, migrated_db, tmp_path, target_python):
    run_sql(pg_server, migrated_db, 'ALTER TABLE users ADD COLUMN nickname text')
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), report_matches=False), str(tmp_path),
                        check=True, python=target_python)
    assert not result.get('failed') and result['changed'] is False
    assert [(f['severity'], f['object']) for f in result['findings']] == [('warning', 'nickname')]


def test_module_reads_a_definition_of_the_users_own(pg_server, migrated_db, tmp_path, target_python):
    import yaml
    data = definition_data()
    data['tables'].pop('diagrams')
    path = tmp_path / 'mine.yml'
    path.write_text(yaml.safe_dump(data))
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), definition=str(path)), str(tmp_path),
                        python=target_python)
    assert not result.get('failed'), result.get('msg')
    assert result['definition_path'] == str(path)
    assert [(f['severity'], f['table']) for f in result['findings'] if f['severity'] != 'info'] == [
        ('warning', 'diagrams')]


def test_module_names_the_file_and_key_of_a_bad_definition(pg_server, migrated_db, tmp_path):
    path = tmp_path / 'bad.yml'
    path.write_text('version: %d\ntables:\n  t:\n    columns:\n      - {name: id, typ: int}\n' % NEWEST)
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), definition=str(path)), str(tmp_path))
    assert result['failed'] is True
    assert result['msg'].startswith('%s: tables.t.columns[0].typ: unknown key' % path)


def test_expression_columns_and_compound_predicates_round_trip(pg_server, pg_db):
    data = {'version': 1, 'tables': {'accounts': {
        'columns': [{'name': 'id', 'type': 'int8', 'nullable': False},
                    {'name': 'email', 'type': 'varchar(320)', 'nullable': False},
                    {'name': 'kind', 'type': 'varchar(10)', 'default': "'user'"},
                    {'name': 'deleted_at', 'type': 'timestamptz'},
                    {'name': 'score', 'type': 'numeric(5, 2)', 'default': '0'}],
        'primary_key': {'name': 'accounts_pkey', 'columns': ['id']},
        'checks': [{'name': 'accounts_score_check', 'expression': 'score BETWEEN 0 AND 100'}],
        'indexes': [
            {'name': 'idx_accounts_email_lower', 'columns': ['lower(email)'], 'unique': True,
             'where': "deleted_at IS NULL AND kind IN ('user', 'admin')"},
            {'name': 'idx_accounts_kind_score', 'columns': ['kind', 'score'], 'where': 'score > 50 OR kind = \'admin\''},
        ],
    }}}
    definition = load_definition(data, 'accounts.yml')
    build_from_generated_sql(pg_server, pg_db, definition)
    result = validate_db(pg_server, pg_db, definition)
    assert problems(result) == []
    # version, table, 5 columns, primary key, check, 2 indexes
    assert result['summary']['matched'] == 11
    run_sql(pg_server, pg_db, 'DROP INDEX idx_accounts_email_lower; CREATE UNIQUE INDEX idx_accounts_email_lower '
                              "ON accounts (upper(email)) WHERE deleted_at IS NULL AND kind IN ('user', 'admin')")
    [f] = [f for f in validate_db(pg_server, pg_db, definition)['findings'] if f['severity'] != 'info']
    assert (f['object'], f['expected'], f['actual']) == ('idx_accounts_email_lower', ['lower(email::text)'],
                                                         ['upper(email::text)'])


def test_a_read_only_server_is_named_as_the_cause(pg_server, migrated_db, tmp_path, target_python):
    pg_server.query('postgres', 'ALTER DATABASE "%s" SET default_transaction_read_only = on' % migrated_db)
    result = run_module(MODULE, pg_server.conn_params(migrated_db), str(tmp_path), python=target_python)
    assert result['failed'] is True
    assert 'read-only transaction' in result['msg'] and 'TEMPORARY privilege' in result['msg']
    assert 'findings' not in result


def test_the_filter_through_ansible_gives_the_generated_sql(tmp_path):
    from ansible_collections.tmi.postgresql.plugins.module_utils.schema_sql import generate_sql
    dest = str(tmp_path / 'tmi.sql')
    [result] = run_tasks([{'name': 'write the SQL', 'ansible.builtin.copy': {
        'content': "{{ lookup('ansible.builtin.file', '%s') | from_yaml | tmi.postgresql.schema_sql }}" % DEFINITION_PATH,
        'dest': dest, 'mode': '0644'}}], str(tmp_path))
    assert not result.get('failed'), result.get('msg')
    with open(dest) as f:
        assert f.read() == generate_sql(tmi_definition())


# ---- SQL text from a definition never runs as a statement of its own ----------

# Two CHECK rules that a check for "; outside quotes" passes one by one: the odd
# quote of the first and the first quote of the second enclose the text in
# between, and the ; after them end the CREATE TABLE that both are part of.
ATTACK_CHECKS = [{'name': 'attack_c_one', 'expression': "c <> 'a"},
                 {'name': 'attack_c_two', 'expression': "')); COMMIT; DROP TABLE victim; SELECT (('1'"}]


def _attack_definition():
    data = {'version': NEWEST, 'tables': {'attack': {'columns': [{'name': 'c', 'type': 'text'}],
                                                     'checks': ATTACK_CHECKS}}}
    return data


def _victim_exists(pg_server, db):
    return pg_server.query(db, "SELECT to_regclass('public.victim') IS NOT NULL")[0][0]


def test_module_refuses_a_definition_that_would_commit_sql(pg_server, migrated_db, tmp_path, target_python):
    import yaml
    run_sql(pg_server, migrated_db, 'CREATE TABLE victim (id int); INSERT INTO victim VALUES (1)')
    path = tmp_path / 'attack.yml'
    path.write_text(yaml.safe_dump(_attack_definition()))
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), definition=str(path)), str(tmp_path),
                        python=target_python)
    assert _victim_exists(pg_server, migrated_db)
    assert pg_server.query(migrated_db, 'SELECT id FROM victim') == [(1,)]
    assert result['failed'] is True
    assert result['msg'].startswith('%s: tables.attack.checks[0].expression: table attack, check attack_c_one: '
                                    'unterminated quoted string starting at character 6' % path)


def test_sql_text_past_the_loader_cannot_end_the_validating_transaction(pg_server, migrated_db):
    # Built by hand, so load_definition's checks never see it: the server must refuse on its own.
    run_sql(pg_server, migrated_db, 'CREATE TABLE victim (id int)')
    attack = Table('attack', [Column('c', 'text')],
                   [Constraint(c['name'], 'check', expression=c['expression']) for c in ATTACK_CHECKS], [])
    result = validate_db(pg_server, migrated_db, Definition(NEWEST, 'public', [attack], 'by hand'))
    assert _victim_exists(pg_server, migrated_db)
    [finding] = [f for f in result['findings'] if f['object_type'] == 'definition']
    assert finding['table'] == 'attack' and 'transaction commands' in finding['message']
    assert result['valid'] is False


def test_a_statement_that_ends_the_transaction_stops_the_session(pg_server, pg_db):
    conn = pg_server.connect(pg_db)
    try:
        session = Session(conn)
        with pytest.raises(TransactionEnded):
            with session.rolled_back():
                session.run('CREATE TABLE made_inside (id int)')
                session.run('COMMIT')
                session.run('CREATE TABLE made_after (id int)')
    finally:
        conn.close()
    # The COMMIT itself cannot be taken back, but nothing ran after it.
    assert pg_server.query(pg_db, "SELECT to_regclass('made_after') IS NULL")[0][0]


def test_rows_are_tuples_and_counted_with_both_drivers(pg_server, migrated_db, tmp_path, target_python):
    run_sql(pg_server, migrated_db, "INSERT INTO users (email, name) VALUES ('a@example.org', 'A')")
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), report_matches=False), str(tmp_path),
                        python=target_python)
    assert not result.get('failed'), result.get('msg')
    assert result['server_version'] and result['migration']['version'] == NEWEST
    assert result['tables']['users']['rows'] == 1
    assert result['queries'] == 16


def test_a_port_out_of_range_is_named(pg_server, migrated_db, tmp_path):
    result = run_module(MODULE, dict(pg_server.conn_params(migrated_db), login_port=70000), str(tmp_path))
    assert result['failed'] is True
    assert result['msg'] == 'login_port: 70000 is not a TCP port (1 to 65535)'

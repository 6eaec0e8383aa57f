"""tmi.postgresql.migrate through ansible-playbook against a real PostgreSQL."""

import os
import signal
import zlib

import pytest

from ansible_run import run_module, run_tasks, start_playbook, task_results
from migration_files import NEWEST, VERSIONS, versions_above
from pgserver import wait_for

MODULE = 'tmi.postgresql.migrate'
TMI_TABLES = ['diagrams', 'refresh_tokens', 'threat_model_access', 'threat_models', 'threats', 'user_providers',
              'users']


@pytest.fixture
def work(tmp_path):
    return str(tmp_path)


@pytest.fixture
def migrate(pg_server, pg_db, work, target_python):
    """migrate(**args) -> result of one migrate task on the test database."""
    def run(check=False, diff=False, **args):
        return run_module(MODULE, dict(pg_server.conn_params(pg_db), **args), work, check=check, diff=diff,
                          python=target_python)
    return run


def write_migrations(folder, files):
    os.makedirs(folder, exist_ok=True)
    for name, content in files.items():
        with open(os.path.join(folder, name), 'w') as f:
            f.write(content)
    return folder


def state(pg_server, db):
    """(version rows, history rows as (version, direction)) of a database."""
    if not pg_server.query(db, "SELECT to_regclass('schema_migrations') IS NOT NULL")[0][0]:
        return None, []
    rows = pg_server.query(db, 'SELECT version, dirty FROM schema_migrations')
    history = pg_server.query(db, 'SELECT version, direction FROM schema_migrations_history ORDER BY id')
    return rows, history


def tables(pg_server, db):
    return [r[0] for r in pg_server.query(
        db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]


def test_applies_tmi_migrations_then_changes_nothing(pg_server, pg_db, migrate):
    first = migrate()
    assert not first.get('failed'), first['msg'] if 'msg' in first else first
    assert first['changed'] is True
    assert (first['version_before'], first['version_after'], first['dirty']) == (0, NEWEST, False)
    assert [a['version'] for a in first['applied']] == VERSIONS
    assert first['pending'] == []
    assert set(TMI_TABLES) <= set(tables(pg_server, pg_db))
    assert state(pg_server, pg_db) == ([(NEWEST, False)], [(v, 'up') for v in VERSIONS])

    second = migrate()
    assert second['changed'] is False and second['applied'] == [] and second['version_after'] == NEWEST


def test_version_table_is_golang_migrates(pg_server, pg_db, migrate):
    migrate()
    columns = pg_server.query(pg_db, """
        SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull
        FROM pg_attribute a WHERE a.attrelid = 'schema_migrations'::regclass AND a.attnum > 0 ORDER BY a.attnum""")
    assert columns == [('version', 'bigint', True), ('dirty', 'boolean', True)]
    primary_key = pg_server.query(pg_db, """
        SELECT pg_get_constraintdef(oid) FROM pg_constraint
        WHERE conrelid = 'schema_migrations'::regclass AND contype = 'p'""")
    assert primary_key == [('PRIMARY KEY (version)',)]


def test_reads_a_database_golang_migrate_left_at_version_5(pg_server, pg_db, migrate, work):
    # What golang-migrate leaves: its table with one row and no history of ours.
    path = os.path.join(os.path.dirname(__file__), '..', '..', 'files', 'migrations')
    for name in sorted(os.listdir(path)):
        if name.endswith('.up.sql') and int(name[:6]) <= 5:
            with open(os.path.join(path, name)) as f:
                pg_server.query(pg_db, f.read())
    pg_server.query(pg_db, 'CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)')
    pg_server.query(pg_db, 'INSERT INTO schema_migrations VALUES (5, false)')

    result = migrate()
    assert result['version_before'] == 5 and [a['version'] for a in result['applied']] == versions_above(5)
    assert pg_server.query(pg_db, 'SELECT version, dirty FROM schema_migrations') == [(NEWEST, False)]


def test_down_to_5_and_up_again_gives_the_identical_schema(pg_server, pg_db, migrate):
    migrate()
    at_newest = pg_server.schema_dump(pg_db)

    refused = migrate(target='5')
    assert refused.get('failed') and 'allow_down' in refused['msg']
    assert state(pg_server, pg_db)[0] == [(NEWEST, False)]

    down = migrate(target='5', allow_down=True)
    assert [(a['version'], a['direction']) for a in down['applied']] == [(v, 'down') for v in reversed(versions_above(5))]
    assert down['version_after'] == 5 and state(pg_server, pg_db)[0] == [(5, False)]

    up = migrate()
    assert [a['version'] for a in up['applied']] == versions_above(5)
    assert pg_server.schema_dump(pg_db) == at_newest


def test_down_to_0_leaves_an_empty_version_table(pg_server, pg_db, migrate):
    migrate()
    at_newest = pg_server.schema_dump(pg_db)
    result = migrate(target='0', allow_down=True)
    assert result['version_after'] == 0 and len(result['applied']) == len(VERSIONS)
    assert tables(pg_server, pg_db) == ['schema_migrations', 'schema_migrations_history']
    assert pg_server.query(pg_db, 'SELECT count(*) FROM schema_migrations') == [(0,)]
    assert migrate()['version_after'] == NEWEST
    assert pg_server.schema_dump(pg_db) == at_newest


def test_steps_move_one_version_at_a_time(migrate):
    assert migrate(steps=2)['version_after'] == 2
    assert migrate(steps=1)['version_after'] == 3
    assert migrate(steps=-1, allow_down=True)['version_after'] == 2
    too_far = migrate(steps=len(versions_above(2)) + 1)
    assert too_far.get('failed') and 'only %d exist' % len(versions_above(2)) in too_far['msg']


def test_check_mode_reports_the_plan_and_changes_nothing(pg_server, pg_db, migrate):
    result = migrate(check=True, diff=True)
    assert result['changed'] is True and result['applied'] == []
    assert [p['version'] for p in result['plan']] == VERSIONS
    assert result['version_after'] == NEWEST
    assert 'CREATE TABLE users' in result['diff']['prepared']
    assert '000008_add_additional_constraints.up.sql' in result['diff']['prepared']
    assert state(pg_server, pg_db) == (None, []) and tables(pg_server, pg_db) == []

    migrate(target='5')
    rollback = migrate(target='2', allow_down=True, check=True)
    assert [p['direction'] for p in rollback['plan']] == ['down'] * 3
    assert state(pg_server, pg_db)[0] == [(5, False)]


def test_failing_migration_rolls_back_and_names_the_line(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_base.up.sql': 'CREATE TABLE base (id int);\n',
        '000002_broken.up.sql': ('-- adds a column, then fails\n'
                                 'ALTER TABLE base ADD COLUMN extra int;\n'
                                 'INSERT INTO base (id) VALUES (1);\n'
                                 '\n'
                                 'SELECT no_such_column\n'
                                 '  FROM base;\n'),
    })
    result = migrate(path=folder)
    assert result.get('failed')
    assert result['msg'].startswith('000002_broken.up.sql:5: column "no_such_column" does not exist')
    assert 'rolled back' in result['msg']
    assert [a['version'] for a in result['applied']] == [1] and result['version_after'] == 1
    assert result['changed'] is True and result['dirty'] is False
    assert state(pg_server, pg_db) == ([(1, False)], [(1, 'up')])
    columns = pg_server.query(pg_db, "SELECT column_name FROM information_schema.columns WHERE table_name = 'base'")
    assert columns == [('id',)]
    assert pg_server.query(pg_db, 'SELECT count(*) FROM base') == [(0,)]


def test_a_deferred_constraint_failing_at_commit_names_the_file(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_deferred.up.sql': (
            'CREATE TABLE parent (id int PRIMARY KEY);\n'
            'CREATE TABLE child (parent_id int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);\n'
            'INSERT INTO child VALUES (42);\n'),
    })
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000001_deferred.up.sql: ')
    assert 'while committing' in result['msg'] and 'violates foreign key constraint' in result['msg']
    assert state(pg_server, pg_db) == ([], []) and tables(pg_server, pg_db) == [
        'schema_migrations', 'schema_migrations_history']


def test_bad_files_are_refused_before_the_database_is_touched(pg_server, pg_db, migrate, work):
    cases = {
        'misnamed': {'000001_a.up.sql': 'SELECT 1;', '2_b.sql': 'SELECT 1;'},
        'duplicate': {'000001_a.up.sql': 'SELECT 1;', '1_a.up.sql': 'SELECT 1;'},
        'empty': {'000001_a.up.sql': 'SELECT 1;', '000002_b.up.sql': '-- TODO\n'},
    }
    expected_file = {'misnamed': '2_b.sql', 'duplicate': '1_a.up.sql', 'empty': '000002_b.up.sql'}
    for case, files in cases.items():
        result = migrate(path=write_migrations(os.path.join(work, case), files))
        assert result.get('failed') and result['msg'].startswith(expected_file[case] + ':'), (case, result['msg'])
        assert result['changed'] is False
    assert state(pg_server, pg_db) == (None, [])


def test_missing_down_file_is_refused_before_rolling_back(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': 'CREATE TABLE a (id int);', '000001_a.down.sql': 'DROP TABLE a;',
        '000002_b.up.sql': 'CREATE TABLE b (id int);',
    })
    migrate(path=folder)
    result = migrate(path=folder, target='0', allow_down=True)
    assert result.get('failed') and '000002_b.down.sql' in result['msg']
    assert state(pg_server, pg_db)[0] == [(2, False)] and 'a' in tables(pg_server, pg_db)


def test_tampered_applied_file_is_refused(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {'000001_a.up.sql': 'CREATE TABLE a (id int);\n'})
    migrate(path=folder)
    write_migrations(folder, {'000001_a.up.sql': 'CREATE TABLE a (id bigint);\n',
                              '000002_b.up.sql': 'CREATE TABLE b (id int);\n'})
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000001_a.up.sql:')
    assert 'changed since they ran' in result['msg']
    assert 'b' not in tables(pg_server, pg_db)

    allowed = migrate(path=folder, allow_modified=True)
    assert [a['version'] for a in allowed['applied']] == [2]
    assert any('000001_a.up.sql' in w for w in allowed.get('warnings', []))


def test_out_of_order_version_is_refused(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': 'CREATE TABLE a (id int);', '000003_c.up.sql': 'CREATE TABLE c (id int);'})
    migrate(path=folder)
    write_migrations(folder, {'000002_b.up.sql': 'CREATE TABLE b (id int);'})
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000002_b.up.sql:')
    assert 'out of order' in result['msg']
    assert 'b' not in tables(pg_server, pg_db)


def test_dirty_database_is_refused_until_forced(pg_server, pg_db, migrate, work):
    migrate(target='7')
    pg_server.query(pg_db, 'UPDATE schema_migrations SET dirty = true')  # as a failed golang-migrate run leaves it

    refused = migrate()
    assert refused.get('failed') and 'dirty at version 7' in refused['msg'] and 'force_version' in refused['msg']
    assert refused['dirty'] is True and state(pg_server, pg_db)[0] == [(7, True)]

    forced = migrate(force_version=7)
    assert forced['changed'] is True and forced['dirty'] is False
    assert state(pg_server, pg_db)[0] == [(7, False)]
    assert state(pg_server, pg_db)[1][-1] == (7, 'force')
    assert migrate(force_version=7)['changed'] is False
    assert migrate()['version_after'] == NEWEST


def test_no_transaction_file_runs_outside_a_transaction(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': 'CREATE TABLE a (id int);\n',
        '000002_idx.up.sql': '-- tmi:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n',
        '000002_idx.down.sql': '-- tmi:no-transaction\nDROP INDEX CONCURRENTLY a_id;\n',
    })
    assert migrate(path=folder)['version_after'] == 2
    assert pg_server.query(pg_db, "SELECT to_regclass('a_id') IS NOT NULL") == [(True,)]
    assert migrate(path=folder, target='1', allow_down=True)['version_after'] == 1
    assert pg_server.query(pg_db, "SELECT to_regclass('a_id') IS NULL") == [(True,)]


def test_failed_no_transaction_file_leaves_the_database_dirty(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': '-- tmi:no-transaction\nCREATE TABLE a (id int);\nSELECT broken;\n'})
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000001_a.up.sql:3:')
    assert 'dirty' in result['msg'] and result['dirty'] is True
    assert state(pg_server, pg_db)[0] == [(1, True)]


def test_create_index_concurrently_in_a_transaction_explains_the_marker(migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': 'CREATE TABLE a (id int);\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n'})
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000001_a.up.sql:2:')
    assert '-- tmi:no-transaction' in result['msg']


def golang_migrate_lock_id(database, schema='public', table='schema_migrations'):
    # Written out again from golang-migrate's formula on purpose: an independent check.
    return (zlib.crc32(('%s\x00%s\x00%s' % (schema, table, database)).encode()) * 1486364155) % 2 ** 32


def test_a_lock_held_by_golang_migrate_times_out_with_the_holder_named(pg_server, pg_db, migrate):
    holder = pg_server.connect(pg_db, application_name='golang-migrate-test')
    try:
        with holder.cursor() as cur:
            cur.execute('SELECT pg_advisory_lock(%s), pg_backend_pid()', (golang_migrate_lock_id(pg_db),))
            pid = cur.fetchone()[1]
        result = migrate(lock_timeout=1)
    finally:
        holder.close()
    assert result.get('failed') and 'could not take the migration lock' in result['msg']
    assert 'pid %d' % pid in result['msg'] and 'golang-migrate-test' in result['msg']
    assert state(pg_server, pg_db) == (None, [])


def test_two_runs_at_once_apply_each_migration_once(pg_server, pg_db, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_counter.up.sql': 'CREATE TABLE counter (n int);\n',
        '000002_slow.up.sql': 'SELECT pg_sleep(1);\nINSERT INTO counter VALUES (2);\n',
        '000003_more.up.sql': 'INSERT INTO counter VALUES (3);\n',
    })
    task = [{'name': 'migrate', MODULE: dict(pg_server.conn_params(pg_db), path=folder)}]
    procs = [start_playbook(task, work), start_playbook(task, work)]
    results = [task_results(p)[0] for p in procs]
    assert all(not r.get('failed') for r in results), results
    assert sorted(len(r['applied']) for r in results) == [0, 3]
    assert pg_server.query(pg_db, 'SELECT n FROM counter ORDER BY n') == [(2,), (3,)]
    assert state(pg_server, pg_db) == ([(3, False)], [(1, 'up'), (2, 'up'), (3, 'up')])


def test_killed_run_leaves_no_partial_change_and_no_dirty_flag(pg_server, pg_db, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_slow.up.sql': 'CREATE TABLE partial (id int);\nINSERT INTO partial VALUES (1);\nSELECT pg_sleep(60);\n',
    })
    task = [{'name': 'migrate', MODULE: dict(pg_server.conn_params(pg_db), path=folder)}]
    proc = start_playbook(task, work)
    try:
        wait_for(lambda: pg_server.query(
            pg_db, "SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%%' AND datname = %s",
            (pg_db,)), timeout=60)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    # The killed client's backend may still sleep; nothing it did is visible.
    assert pg_server.query(pg_db, "SELECT to_regclass('partial') IS NULL") == [(True,)]
    rows, history = state(pg_server, pg_db)
    assert not rows and not history  # no version, not dirty, no history row
    pg_server.query(pg_db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = %s AND pid <> pg_backend_pid()", (pg_db,))


def test_wrong_password_fails_with_a_clear_message_and_no_secret(pg_server, pg_db, work):
    args = dict(login_host='127.0.0.1', login_port=pg_server.port, login_user='postgres',
                login_password='not-the-password-XYZ', login_db=pg_db)
    result = run_tasks([{'name': 'migrate', MODULE: args, 'ignore_errors': True}], work)[0]
    assert result.get('failed') and 'unable to connect to database' in result['msg']
    assert 'not-the-password-XYZ' not in str(result)


# --- issue 9: files psql runs are run statement for statement ---------------

def test_routine_bodies_and_multi_action_rules_run_as_psql_runs_them(pg_server, pg_db, migrate, work):
    if pg_server.version_num() < 140000:
        pytest.skip('BEGIN ATOMIC routine bodies exist from PostgreSQL 14')
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_atomic_after_comment.up.sql': (
            '-- the header comment every migration has\n'
            'CREATE FUNCTION answer() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 42;\nEND;\n'),
        '000002_atomic_second.up.sql': (
            'CREATE TABLE counts (n int NOT NULL);\n'
            'CREATE PROCEDURE bump() LANGUAGE sql\nBEGIN ATOMIC\n  INSERT INTO counts VALUES (1);\n'
            '  UPDATE counts SET n = CASE WHEN n > 0 THEN n + 1 ELSE 1 END;\nEND;\nCALL bump();\n'),
        '000003_rule.up.sql': (
            'CREATE TABLE log (n int);\n'
            'CREATE RULE counted AS ON INSERT TO counts DO ALSO (\n'
            '  INSERT INTO log VALUES (NEW.n);\n  INSERT INTO log VALUES (-NEW.n)\n);\n'
            'INSERT INTO counts VALUES (7);\n'),
    })
    result = migrate(path=folder)
    assert not result.get('failed'), result.get('msg')
    assert result['version_after'] == 3 and result['dirty'] is False
    assert pg_server.query(pg_db, 'SELECT answer()') == [(42,)]
    assert pg_server.query(pg_db, 'SELECT n FROM counts ORDER BY n') == [(2,), (7,)]
    assert pg_server.query(pg_db, 'SELECT n FROM log ORDER BY n') == [(-7,), (7,)]


def test_byte_order_mark_is_refused_before_anything_runs(pg_server, pg_db, migrate, work):
    folder = write_migrations(os.path.join(work, 'm'), {
        '000001_a.up.sql': 'CREATE TABLE a (id int);\n',
        '000002_idx.up.sql': '\ufeff-- tmi:no-transaction\nCREATE INDEX CONCURRENTLY a_id ON a (id);\n'})
    result = migrate(path=folder)
    assert result.get('failed') and result['msg'].startswith('000002_idx.up.sql:1:')
    assert 'byte order mark' in result['msg']
    assert result['changed'] is False and result['dirty'] is False
    assert state(pg_server, pg_db) == (None, [])


# --- issue 9: options and what is read back are range-checked ---------------

def test_endless_lock_timeout_is_refused(pg_server, pg_db, migrate):
    for value in ('nan', 'inf', '0'):
        result = migrate(lock_timeout=value)
        assert result.get('failed') and result['msg'].startswith('lock_timeout must be'), result['msg']
    assert state(pg_server, pg_db) == (None, [])


def test_damaged_version_row_is_refused_naming_the_table_and_force_repairs_it(pg_server, pg_db, migrate):
    migrate(target='5')
    damages = {
        'INSERT INTO schema_migrations VALUES (6, false)': 'schema_migrations holds 2 rows',
        'UPDATE schema_migrations SET version = -5': 'schema_migrations holds version -5',
        'ALTER TABLE schema_migrations ALTER dirty DROP NOT NULL; UPDATE schema_migrations SET dirty = NULL':
            'schema_migrations holds dirty = NULL',
    }
    for damage, words in damages.items():
        pg_server.query(pg_db, damage)
        rows = state(pg_server, pg_db)
        result = migrate()
        assert result.get('failed') and words in result['msg'], (damage, result.get('msg'))
        assert result['changed'] is False and state(pg_server, pg_db) == rows
        forced = migrate(force_version=5)
        assert forced['changed'] is True and not forced.get('failed'), forced.get('msg')
        assert state(pg_server, pg_db)[0] == [(5, False)]
    assert migrate()['version_after'] == NEWEST

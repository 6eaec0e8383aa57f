# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The app_user role against a real server: the migration tool's tables are read-only for the application."""

import os
import shutil
import uuid

import psycopg2
import psycopg2.errorcodes
import pytest

from backup_helpers import (
    AS_ROOT, changed_count, failed_task, make_open_dir, run_playbook, server_role_vars, task_result,
)
from migration_files import NEWEST

ROLE_PLAYBOOK = os.path.join(os.path.dirname(__file__), 'app_user_role.yml')
MIGRATION_TABLES = ('schema_migrations', 'schema_migrations_history')
# A throwaway role on a throwaway server: not a secret.
APP_PASSWORD = 'app-test-password-1'

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the roles become postgres and need root')


@pytest.fixture
def provisioned(pg_server):
    """A database migrated and with its application role, as site.yml leaves them; roles dropped afterwards."""
    suffix = uuid.uuid4().hex[:8]
    owner, app, db = 'owner_' + suffix, 'app_' + suffix, 'tmi_' + suffix
    pg_server.query('postgres', 'CREATE ROLE "%s" NOLOGIN' % owner)
    pg_server.query('postgres', 'CREATE DATABASE "%s" OWNER "%s"' % (db, owner))
    pg_server.query(db, 'ALTER SCHEMA public OWNER TO "%s"' % owner)
    work = make_open_dir()
    role_vars = server_role_vars(
        pg_server,
        tmi_postgresql_database=db,
        tmi_postgresql_owner=owner,
        tmi_postgresql_app_user=app,
        tmi_postgresql_app_password=APP_PASSWORD,
    )
    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars)
    assert rc == 0, failed_task(report)
    yield dict(db=db, owner=owner, app=app, work=work, role_vars=role_vars)
    pg_server.drop_database(db)
    pg_server.query('postgres', 'DROP ROLE IF EXISTS "%s"' % app)
    pg_server.query('postgres', 'DROP ROLE IF EXISTS "%s"' % owner)
    shutil.rmtree(work, ignore_errors=True)


def app_cursor(pg_server, provisioned):
    conn = psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=provisioned['db'],
                            user=provisioned['app'], password=APP_PASSWORD)
    return conn, conn.cursor()


def refused(cur, statement):
    cur.execute('SAVEPOINT probe')
    with pytest.raises(psycopg2.Error) as caught:
        cur.execute(statement)
    cur.execute('ROLLBACK TO SAVEPOINT probe')
    assert caught.value.pgcode == psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE, caught.value.pgerror
    return True


@pytest.mark.parametrize('table', MIGRATION_TABLES)
def test_the_application_reads_the_migration_tables_and_cannot_write_them(pg_server, provisioned, table):
    conn, cur = app_cursor(pg_server, provisioned)
    try:
        cur.execute('SELECT count(*) FROM %s' % table)
        assert cur.fetchone()[0] >= 1
        for statement in ('INSERT INTO %s DEFAULT VALUES' % table,
                          'UPDATE %s SET version = version' % table,
                          'DELETE FROM %s' % table,
                          'TRUNCATE %s' % table):
            assert refused(cur, statement), statement
    finally:
        conn.rollback()
        conn.close()
    assert pg_server.query(provisioned['db'], 'SELECT version, dirty FROM schema_migrations') == [(NEWEST, False)]


def test_the_application_still_writes_the_other_tables_old_and_new(pg_server, provisioned):
    pg_server.query(provisioned['db'], 'SET ROLE "%s"; CREATE TABLE public.later_probe (id bigint PRIMARY KEY)'
                    % provisioned['owner'])
    conn, cur = app_cursor(pg_server, provisioned)
    try:
        cur.execute("INSERT INTO users (email, name) VALUES ('probe@example.org', 'Probe') RETURNING id")
        user_id = cur.fetchone()[0]
        cur.execute('UPDATE users SET name = %s WHERE id = %s', ['Probe 2', user_id])
        assert cur.rowcount == 1
        cur.execute('DELETE FROM users WHERE id = %s', [user_id])
        assert cur.rowcount == 1
        cur.execute('INSERT INTO later_probe VALUES (1)')
        cur.execute('UPDATE later_probe SET id = 2')
        cur.execute('DELETE FROM later_probe')
        assert cur.rowcount == 1
    finally:
        conn.rollback()
        conn.close()


CREATE_TASK = 'Create each role, or bring back its attributes, connection limit and password.'


def test_a_second_run_changes_nothing(pg_server, provisioned):
    rc, report = run_playbook(ROLE_PLAYBOOK, provisioned['work'], provisioned['role_vars'])
    assert rc == 0, failed_task(report)
    assert changed_count(report) == 0, report['stats']
    # The read found the role as the role makes it: no postgresql_user call (a round trip saved per role).
    assert task_result(report, CREATE_TASK).get('skipped'), task_result(report, CREATE_TASK)


def test_a_new_password_and_a_changed_role_are_brought_back(pg_server, provisioned):
    pg_server.query('postgres', 'ALTER ROLE "%s" CONNECTION LIMIT 1 CREATEDB' % provisioned['app'])
    rc, report = run_playbook(ROLE_PLAYBOOK, provisioned['work'],
                              dict(provisioned['role_vars'], tmi_postgresql_app_password='app-test-password-2'))
    assert rc == 0, failed_task(report)
    assert task_result(report, CREATE_TASK).get('changed'), task_result(report, CREATE_TASK)
    row = pg_server.query('postgres', "SELECT rolconnlimit, rolcreatedb FROM pg_roles WHERE rolname = '%s'"
                          % provisioned['app'])
    assert row == [(50, False)]  # app_user_connection_limit's default, and NOCREATEDB
    conn = psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=provisioned['db'],
                            user=provisioned['app'], password='app-test-password-2')
    conn.close()


def test_privileges_beyond_the_roles_list_are_taken_back(pg_server, provisioned):
    # A GRANT ALL gives TRUNCATE, REFERENCES and TRIGGER, and MAINTAIN from PostgreSQL 17 on: none is the
    # application's, so the role revokes each by name, and a second run finds nothing to do.
    extra = ['TRUNCATE', 'REFERENCES', 'TRIGGER'] + (['MAINTAIN'] if pg_server.version_num() >= 170000 else [])
    held = ("SELECT c.relname, p FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace, unnest(%s) AS p "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND has_table_privilege(%s, c.oid, p) "
            "ORDER BY 1, 2")
    pg_server.query(provisioned['db'], 'SET ROLE "%s"; GRANT ALL ON ALL TABLES IN SCHEMA public TO "%s"'
                    % (provisioned['owner'], provisioned['app']))
    assert len(pg_server.query(provisioned['db'], held, (extra, provisioned['app']))) >= len(extra)
    rc, report = run_playbook(ROLE_PLAYBOOK, provisioned['work'], provisioned['role_vars'])
    assert rc == 0, failed_task(report)
    assert changed_count(report) > 0
    assert pg_server.query(provisioned['db'], held, (extra, provisioned['app'])) == []
    rc, report = run_playbook(ROLE_PLAYBOOK, provisioned['work'], provisioned['role_vars'])
    assert rc == 0, failed_task(report)
    assert changed_count(report) == 0, report['stats']

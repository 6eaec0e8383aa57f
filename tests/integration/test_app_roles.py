# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""More than one application role: a read-only reporting role from a few lines of vars, each role's own password."""

import os
import shutil
import stat
import subprocess
import uuid

import psycopg2
import psycopg2.errorcodes
import pytest

from backup_helpers import AS_ROOT, changed_count, failed_task, make_open_dir, run_playbook, server_role_vars

ROLE_PLAYBOOK = os.path.join(os.path.dirname(__file__), 'app_user_role.yml')
# Throwaway roles on a throwaway server: not secrets.
APP_PASSWORD = 'app-test-password-1'

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the roles become postgres and need root')


@pytest.fixture
def database(pg_server):
    """A database as the database role leaves it (PUBLIC without TEMPORARY, schema public the owner's and closed to
    PUBLIC: before 15, PUBLIC may create in it), with its owner; all dropped after."""
    suffix = uuid.uuid4().hex[:8]
    names = dict(owner='owner_' + suffix, app='app_' + suffix, other='other_' + suffix, db='tmi_' + suffix)
    pg_server.query('postgres', 'CREATE ROLE "%s" NOLOGIN' % names['owner'])
    pg_server.query('postgres', 'CREATE DATABASE "%(db)s" OWNER "%(owner)s"' % names)
    pg_server.query('postgres', 'REVOKE TEMPORARY ON DATABASE "%s" FROM PUBLIC' % names['db'])
    pg_server.query(names['db'], 'ALTER SCHEMA public OWNER TO "%s"; REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC'
                    % names['owner'])
    work = make_open_dir()
    names['work'] = work
    names['vars'] = server_role_vars(
        pg_server,
        tmi_postgresql_database=names['db'],
        tmi_postgresql_owner=names['owner'],
        tmi_postgresql_app_user=names['app'],
        # The generated passwords go to the test's folder, not to the HOME of whoever runs it.
        app_user_password_dir=os.path.join(work, 'passwords'),
    )
    yield names
    pg_server.drop_database(names['db'])
    for role in ('app', 'other', 'owner'):
        pg_server.query('postgres', 'DROP ROLE IF EXISTS "%s"' % names[role])
    shutil.rmtree(work, ignore_errors=True)


def connect(pg_server, database, user, password):
    return psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname=database['db'], user=user,
                            password=password)


def login_refused(pg_server, database, user, password):
    with pytest.raises(psycopg2.OperationalError) as caught:
        connect(pg_server, database, user, password).close()
    return 'password authentication failed' in str(caught.value)


def refused(cur, statement):
    cur.execute('SAVEPOINT probe')
    with pytest.raises(psycopg2.Error) as caught:
        cur.execute(statement)
    cur.execute('ROLLBACK TO SAVEPOINT probe')
    assert caught.value.pgcode == psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE, (statement, caught.value.pgerror)
    return True


def read_password(path):
    with open(path) as f:
        return f.read().strip()


def test_a_read_only_reporting_role_from_a_few_lines_of_vars(pg_server, database):
    role_vars = dict(database['vars'], tmi_postgresql_app_password=APP_PASSWORD, tmi_postgresql_app_roles=[
        {'name': database['app'], 'rights': 'read-write'},
        {'name': database['other'], 'rights': 'read-only', 'connection_limit': 3},
    ])
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], role_vars)
    assert rc == 0, failed_task(report)

    path = os.path.join(database['work'], 'passwords', database['other'] + '.password')
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    reporting = read_password(path)
    assert reporting != APP_PASSWORD
    assert pg_server.query('postgres', "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s",
                           [database['other']]) == [(3,)]
    # Later tables are readable too (default privileges).
    pg_server.query(database['db'], 'SET ROLE "%s"; CREATE TABLE public.later_probe (id bigint)' % database['owner'])
    conn = connect(pg_server, database, database['other'], reporting)
    try:
        cur = conn.cursor()
        cur.execute('SELECT count(*) FROM users')
        cur.execute('SELECT count(*) FROM later_probe')
        cur.execute('SELECT version FROM schema_migrations')
        for statement in ("INSERT INTO users (email, name) VALUES ('r@example.org', 'R')",
                          "UPDATE users SET name = name",
                          'DELETE FROM later_probe',
                          'TRUNCATE users',
                          'CREATE TABLE public.reporting_probe (id int)',
                          'CREATE TEMPORARY TABLE reporting_probe (id int)',
                          'UPDATE schema_migrations SET dirty = dirty'):
            assert refused(cur, statement)
    finally:
        conn.rollback()
        conn.close()

    # TMI's role keeps its password and its rights.
    conn = connect(pg_server, database, database['app'], APP_PASSWORD)
    try:
        cur = conn.cursor()
        cur.execute("INSERT INTO users (email, name) VALUES ('a@example.org', 'A')")
        cur.execute('INSERT INTO later_probe VALUES (1)')
    finally:
        conn.rollback()
        conn.close()
    assert login_refused(pg_server, database, database['other'], APP_PASSWORD)

    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], role_vars)
    assert rc == 0, failed_task(report)
    assert changed_count(report) == 0, report['stats']
    assert read_password(path) == reporting


def test_a_backup_role_dumps_the_whole_database_and_writes_nothing(pg_server, database):
    role_vars = dict(database['vars'], tmi_postgresql_app_password=APP_PASSWORD, tmi_postgresql_app_roles=[
        {'name': database['app'], 'rights': 'read-write'},
        {'name': database['other'], 'rights': 'backup', 'connection_limit': 2},
    ])
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], role_vars)
    assert rc == 0, failed_task(report)
    password = read_password(os.path.join(database['work'], 'passwords', database['other'] + '.password'))
    # A table and a sequence the owner makes later are read too (default privileges).
    pg_server.query(database['db'], 'SET ROLE "%s"; CREATE TABLE public.later_probe (id serial)' % database['owner'])
    pg_server.query(database['db'], 'INSERT INTO later_probe DEFAULT VALUES')

    # pg_dump as the backup role, the password in the environment of this test's process only.
    dump = subprocess.run([os.path.join(pg_server.bindir, 'pg_dump'), '--format=custom', '--host', pg_server.host,
                           '--port', str(pg_server.port), '--username', database['other'], database['db']],
                          env=dict(os.environ, PGPASSWORD=password), capture_output=True, check=False)
    assert dump.returncode == 0, dump.stderr
    listing = subprocess.run([os.path.join(pg_server.bindir, 'pg_restore'), '--list'], input=dump.stdout,
                             capture_output=True, check=True).stdout.decode()
    for entry in ('TABLE DATA public users ', 'TABLE DATA public later_probe ', 'SEQUENCE SET public later_probe_id_seq '):
        assert entry in listing, listing

    conn = connect(pg_server, database, database['other'], password)
    try:
        cur = conn.cursor()
        for statement in ("INSERT INTO users (email, name) VALUES ('b@example.org', 'B')",
                          'DELETE FROM later_probe',
                          "SELECT nextval('later_probe_id_seq')",
                          'CREATE TABLE public.backup_probe (id int)',
                          'UPDATE schema_migrations SET dirty = dirty'):
            assert refused(cur, statement)
    finally:
        conn.rollback()
        conn.close()

    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], role_vars)
    assert rc == 0 and changed_count(report) == 0, report['stats']


def test_two_generated_passwords_are_each_roles_own(pg_server, database):
    role_vars = dict(database['vars'], tmi_postgresql_app_roles=[
        {'name': database['app'], 'rights': 'read-write'},
        {'name': database['other'], 'rights': 'read-write'},
    ])
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], role_vars)
    assert rc == 0, failed_task(report)
    folder = os.path.join(database['work'], 'passwords')
    first = read_password(os.path.join(folder, database['app'] + '.password'))
    second = read_password(os.path.join(folder, database['other'] + '.password'))
    assert first != second
    connect(pg_server, database, database['app'], first).close()
    connect(pg_server, database, database['other'], second).close()
    assert login_refused(pg_server, database, database['other'], first)


def test_a_second_role_never_gets_tmis_password(pg_server, database):
    # The role applied a second time for another login role, as was the only way before the list:
    # tmi_postgresql_app_password and TMI's password file went to that role too.
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], dict(database['vars'],
                                                                    tmi_postgresql_app_password=APP_PASSWORD))
    assert rc == 0, failed_task(report)
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], dict(
        database['vars'], tmi_postgresql_app_password=APP_PASSWORD, app_user_name=database['other']))
    assert rc == 0, failed_task(report)
    connect(pg_server, database, database['app'], APP_PASSWORD).close()
    assert login_refused(pg_server, database, database['other'], APP_PASSWORD)
    own = read_password(os.path.join(database['work'], 'passwords', database['other'] + '.password'))
    connect(pg_server, database, database['other'], own).close()


@pytest.mark.parametrize('entry, message', [
    ({'name': 'reporting', 'rights': 'readonly'},
     "tmi_postgresql_app_roles[1] (reporting): rights is 'readonly': allowed: read-write, read-only or backup."),
    ({'name': 'OWNER', 'rights': 'read-only'},
     'tmi_postgresql_app_roles[1] (OWNER): name OWNER is the owner role of the database'),
    ({'name': 'APP', 'rights': 'read-only'}, 'tmi_postgresql_app_roles[1] (APP): name APP is already the name of '
                                             'tmi_postgresql_app_roles[0].'),
])
def test_a_wrong_list_stops_the_role_before_anything_changes(pg_server, database, entry, message):
    entry = {key: database['owner'] if value == 'OWNER' else database['app'] if value == 'APP' else value
             for key, value in entry.items()}
    message = message.replace('OWNER', database['owner']).replace('APP', database['app'])
    rc, report = run_playbook(ROLE_PLAYBOOK, database['work'], dict(
        database['vars'], tmi_postgresql_app_password=APP_PASSWORD,
        tmi_postgresql_app_roles=[{'name': database['app'], 'rights': 'read-write'}, entry]))
    name, result = failed_task(report)
    assert rc != 0
    assert name.endswith('Check the ranges of the numeric settings and the list of application roles.'), (name, result)
    assert message in result['msg'], result['msg']
    assert result['msg'].endswith('Nothing was changed.')
    # The playbook migrates first (site.yml's order); the app_user role changed nothing.
    changed = [task['task']['name'] for play in report['plays'] for task in play['tasks']
               if task['hosts'].get('localhost', {}).get('changed')]
    assert not [task for task in changed if 'app_user' in task], changed
    assert pg_server.query('postgres', 'SELECT count(*) FROM pg_roles WHERE rolname = %s', [database['app']]) == [(0,)]

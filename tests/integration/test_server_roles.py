# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role's replication role: written when the read finds a difference, and only then."""

import os
import shutil
import uuid

import psycopg2
import pytest

from backup_helpers import AS_ROOT, changed_count, failed_task, make_open_dir, run_playbook, server_role_vars

PLAYBOOK = os.path.join(os.path.dirname(__file__), 'server_roles.yml')
# Throwaway roles on a throwaway server: not secrets.
PASSWORD = 'repl-test-Password-1'
NEW_PASSWORD = 'repl-test-Password-2'

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the role becomes postgres and needs root')


@pytest.fixture
def replication(pg_server):
    """A replication role name of the test's own and the variables of a run; the role dropped afterwards."""
    role = 'repl_' + uuid.uuid4().hex[:8]
    work = make_open_dir()
    role_vars = server_role_vars(
        pg_server,
        tmi_postgresql_replication_role=role,
        tmi_postgresql_replication_password=PASSWORD,
        # The throwaway server's superuser keeps the password the other tests log in with.
        server_lock_superuser_password=False,
    )
    yield dict(role=role, work=work, role_vars=role_vars)
    pg_server.query('postgres', 'DROP ROLE IF EXISTS "%s"' % role)
    shutil.rmtree(work, ignore_errors=True)


def run(replication, **overrides):
    rc, report = run_playbook(PLAYBOOK, replication['work'], dict(replication['role_vars'], **overrides))
    assert rc == 0, failed_task(report)
    return report


def writes(report):
    """Names of the tasks that ran a module other than the read (neither skipped nor the query)."""
    return [task['task']['name'].split(' : ')[-1] for play in report['plays'] for task in play['tasks']
            if task['task']['name'].startswith('tmi.postgresql.server : ')
            and not task['hosts']['localhost'].get('skipped')
            and 'query_result' not in task['hosts']['localhost']
            and task['hosts']['localhost'].get('action', '').endswith('postgresql_user')]


def attributes(pg_server, role):
    return pg_server.query('postgres', 'SELECT rolcanlogin, rolreplication, rolsuper, rolinherit, rolconnlimit '
                                       'FROM pg_authid WHERE rolname = %s', [role])


def logs_in(pg_server, role, password):
    try:
        psycopg2.connect(host=pg_server.host, port=pg_server.port, dbname='postgres', user=role,
                         password=password).close()
    except psycopg2.OperationalError:
        return False
    return True


def test_a_second_run_reads_and_writes_nothing(pg_server, replication):
    run(replication)
    assert attributes(pg_server, replication['role']) == [(True, True, False, False, 5)]
    assert logs_in(pg_server, replication['role'], PASSWORD)
    report = run(replication)
    assert changed_count(report) == 0, report['stats']
    assert writes(report) == []


def test_a_new_password_is_set(pg_server, replication):
    run(replication)
    report = run(replication, tmi_postgresql_replication_password=NEW_PASSWORD)
    assert changed_count(report) == 1, report['stats']
    assert logs_in(pg_server, replication['role'], NEW_PASSWORD)
    assert not logs_in(pg_server, replication['role'], PASSWORD)


@pytest.mark.parametrize('change', [
    'CONNECTION LIMIT 1', 'INHERIT', 'NOLOGIN', 'NOREPLICATION', 'CREATEDB', 'CREATEROLE', 'BYPASSRLS', 'PASSWORD NULL',
])
def test_an_attribute_changed_by_hand_is_brought_back(pg_server, replication, change):
    run(replication)
    pg_server.query('postgres', 'ALTER ROLE "%s" %s' % (replication['role'], change))
    report = run(replication)
    assert changed_count(report) == 1, report['stats']
    assert attributes(pg_server, replication['role']) == [(True, True, False, False, 5)]
    assert logs_in(pg_server, replication['role'], PASSWORD)

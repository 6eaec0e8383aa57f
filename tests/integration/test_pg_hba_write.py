# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pg_hba role's write: PostgreSQL parses the new file, a refused one is put back, no copy is left.

The role's tasks/write.yml runs against a throwaway server of the test's own, whose pg_hba.conf is the
file written (the role itself depends on the server role, which would provision this host).
"""

import os

import pytest
import yaml

from backup_helpers import AS_ROOT, REPO, SYSTEM_PYTHON, changed_count, failed_task, run_playbook
from pgserver import PgServer

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the check becomes postgres and needs root')

RELOADED = 'stub: tmi_postgresql_settings_changed'


@pytest.fixture
def server():
    server = PgServer().start()
    yield server
    server.stop()


def write_hba(server, workdir, app_lines):
    play = os.path.join(workdir, 'write-hba.yml')
    # Outside the role, the template lookup finds pg_hba.conf.j2 in the play's templates folder.
    if not os.path.exists(os.path.join(workdir, 'templates')):
        os.symlink(os.path.join(REPO, 'roles', 'pg_hba', 'templates'), os.path.join(workdir, 'templates'))
    with open(play, 'w') as f:
        yaml.safe_dump([{
            'hosts': 'localhost',
            'gather_facts': False,
            'vars_files': [os.path.join(REPO, 'roles', 'pg_hba', 'vars', 'main.yml')],
            'handlers': [{'name': 'Reload stub', 'listen': 'tmi_postgresql_settings_changed',
                          'ansible.builtin.debug': {'msg': RELOADED}}],
            'tasks': [{'ansible.builtin.import_tasks': os.path.join(REPO, 'roles', 'pg_hba', 'tasks', 'write.yml')}],
        }], f)
    return run_playbook(play, workdir, dict(
        ansible_python_interpreter=SYSTEM_PYTHON,
        ansible_become_method='su',
        pg_hba_version='15', pg_hba_cluster='test', pg_hba_port=server.port, pg_hba_socket_dir=server.socketdir,
        pg_hba_extra_rules=[], pg_hba_monitoring_user='', pg_hba_monitoring_networks=[],
        __pg_hba_file=os.path.join(server.datadir, 'pg_hba.conf'),
        __pg_hba_app_lines=app_lines,
    ))


def leftovers(server):
    return [name for name in os.listdir(server.datadir) if name.startswith('pg_hba.conf') and name != 'pg_hba.conf']


def test_a_file_postgresql_refuses_is_put_back_and_the_copy_removed(server, tmp_path):
    path = os.path.join(server.datadir, 'pg_hba.conf')
    before = open(path, 'rb').read()
    # The test's server runs without TLS: PostgreSQL refuses a hostssl line.
    rc, report = write_hba(server, str(tmp_path), ['hostssl  tmi  tmi_app  127.0.0.1/32  scram-sha-256'])
    assert rc != 0
    results = {task['task']['name']: task['hosts']['localhost'] for play in report['plays'] for task in play['tasks']}
    assert results['Check that PostgreSQL reads the new file without error.']['failed'] is True
    assert results['Put the previous pg_hba.conf back.']['changed'] is True
    stop = results['Stop, naming the lines PostgreSQL refused.']
    assert 'pg_hba.conf was not accepted' in stop['msg'] and 'SSL is disabled' in stop['msg']
    assert open(path, 'rb').read() == before
    assert leftovers(server) == []


def test_an_accepted_file_stays_notifies_the_reload_and_leaves_no_copy(server, tmp_path):
    path = os.path.join(server.datadir, 'pg_hba.conf')
    rc, report = write_hba(server, str(tmp_path), [])
    assert rc == 0, failed_task(report)
    text = open(path).read()
    assert 'local    all       postgres       peer\n' in text and 'hostssl' not in text
    assert leftovers(server) == []
    assert RELOADED in str(report)

    rc, report = write_hba(server, str(tmp_path), [])
    assert rc == 0 and changed_count(report) == 0, report['stats']

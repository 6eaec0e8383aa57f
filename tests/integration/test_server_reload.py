# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The server role's reload: a setting PostgreSQL refuses stops the play, named by file and line, before a restart.

tasks/reload_wait.yml runs against a throwaway server of the test's own after the test changed its settings
and reloaded it, as the role's handler does after a role wrote a drop-in.
"""

import os

import pytest
import yaml

from backup_helpers import AS_ROOT, REPO, SYSTEM_PYTHON, failed_task, run_playbook
from pgserver import PgServer

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the query becomes postgres and needs root')


@pytest.fixture
def server():
    server = PgServer().start()
    yield server
    server.stop()


def reload_with(server, workdir, lines):
    """Append lines to postgresql.conf, reload, and run the role's wait for that reload."""
    loaded = server.query('postgres', 'SELECT pg_conf_load_time()::text')[0][0]
    conf = os.path.join(server.datadir, 'postgresql.conf')
    with open(conf, 'a') as f:
        f.write(''.join(line + '\n' for line in lines))
    server.query('postgres', 'SELECT pg_reload_conf()')
    play = os.path.join(workdir, 'reload.yml')
    with open(play, 'w') as f:
        yaml.safe_dump([{
            'hosts': 'localhost',
            'gather_facts': False,
            'module_defaults': {'group/community.postgresql.all': {
                'login_unix_socket': server.socketdir, 'login_port': server.port, 'login_db': 'postgres'}},
            'tasks': [{'ansible.builtin.import_tasks': os.path.join(REPO, 'roles', 'server', 'tasks', 'reload_wait.yml')}],
        }], f)
    rc, report = run_playbook(play, workdir, dict(
        ansible_python_interpreter=SYSTEM_PYTHON, ansible_become_method='su',
        __server_loaded_before={'query_result': [{'loaded': loaded}]}))
    return conf, rc, report


def test_a_refused_value_is_named_by_file_and_line(server, tmp_path):
    with open(os.path.join(server.datadir, 'postgresql.conf')) as f:
        before = len(f.readlines())
    conf, rc, report = reload_with(server, str(tmp_path), ["archive_timeout = 'abc'"])
    name, result = failed_task(report)
    assert rc != 0 and name == 'Stop when PostgreSQL refused a setting.'
    assert "%s line %d: archive_timeout = 'abc'" % (conf, before + 1) in result['msg']
    assert 'was not restarted' in result['msg']
    # PostgreSQL kept the old value.
    assert server.query('postgres', 'SHOW archive_timeout')[0][0] == '0'


def test_an_unknown_name_is_named(server, tmp_path):
    conf, rc, report = reload_with(server, str(tmp_path), ['archive_timout = 60'])
    name, result = failed_task(report)
    assert rc != 0 and name == 'Stop when PostgreSQL refused a setting.'
    assert 'archive_timout' in result['msg']


def test_a_setting_that_waits_for_a_restart_is_not_refused(server, tmp_path):
    conf, rc, report = reload_with(server, str(tmp_path), ['shared_buffers = 9MB', 'archive_timeout = 60'])
    assert rc == 0, failed_task(report)
    results = {task['task']['name']: task['hosts']['localhost'] for play in report['plays'] for task in play['tasks']}
    after = results['Wait for the reload and read the settings pending a restart and the refused ones.']
    assert after['query_result'][0]['pending'] == ['shared_buffers']
    assert after['query_result'][0]['refused'] == []
    assert server.query('postgres', 'SHOW archive_timeout')[0][0] == '1min'

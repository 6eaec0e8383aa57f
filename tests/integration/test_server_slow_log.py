# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""server_log_min_duration_statement: the server role's drop-in sets it, PostgreSQL takes it, Patroni gets the same.

The drop-in is the one source of the setting: written into conf.d on a plain
host, handed to Patroni (tmi_postgresql_patroni_dropins) under high
availability. The test renders the role's drop-in with the role's variables,
loads its line into a throwaway server and reads it back, and reads the
Patroni parameters from the same text with the patroni role's filter.
"""

import os

import pytest
import yaml

from backup_helpers import REPO, run_playbook, task_result
from pgserver import PgServer, wait_for

from ansible_collections.tmi.postgresql.plugins.filter.patroni_config import conf_settings


def rendered_dropin(workdir, **settings):
    """The server role's drop-in, rendered with its defaults and vars and the given settings."""
    play = os.path.join(workdir, 'dropin.yml')
    with open(play, 'w') as f:
        yaml.safe_dump([{
            'hosts': 'localhost',
            'gather_facts': False,
            'tasks': [
                {'name': 'Load the role', 'ansible.builtin.include_role': {
                    'name': 'tmi.postgresql.server', 'tasks_from': 'check_ranges.yml', 'public': True}},
                {'name': 'Render the drop-in', 'ansible.builtin.debug': {
                    'msg': "{{ lookup('ansible.builtin.template', '%s') }}"
                           % os.path.join(REPO, 'roles', 'server', 'templates', 'server.conf.j2')}},
            ],
        }], f)
    rc, report = run_playbook(play, workdir, settings)
    assert rc == 0, report
    return task_result(report, 'Render the drop-in')['msg']


@pytest.fixture(scope='module')
def server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.mark.parametrize('settings, shown, parameter', [
    ({}, '1s', '1000'),
    ({'server_log_min_duration_statement': 250}, '250ms', '250'),
    ({'server_log_min_duration_statement': -1}, '-1', '-1'),
    # server_settings win over the role's own settings of the same name.
    ({'server_settings': {'log_min_duration_statement': '2s'}}, '2s', '2s'),
])
def test_the_dropin_sets_log_min_duration_statement_for_postgresql_and_patroni(
        server, tmp_path, settings, shown, parameter):
    content = rendered_dropin(str(tmp_path), **settings)
    lines = [line for line in content.splitlines() if line.startswith('log_min_duration_statement = ')]
    assert lines == ["log_min_duration_statement = '%s'" % parameter]
    loaded = server.query('postgres', 'SELECT pg_conf_load_time()')[0][0]
    with open(os.path.join(server.datadir, 'postgresql.conf'), 'a') as f:
        f.write(lines[0] + '\n')
    server.query('postgres', 'SELECT pg_reload_conf()')
    # The postmaster reloads on its own time; a session started after that reads the new value.
    wait_for(lambda: server.query('postgres', 'SELECT pg_conf_load_time()')[0][0] > loaded)
    assert server.query('postgres', 'SHOW log_min_duration_statement')[0][0] == shown
    assert conf_settings(content, '10-tmi-server.conf')['log_min_duration_statement'] == parameter

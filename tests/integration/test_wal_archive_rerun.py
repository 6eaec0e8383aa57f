"""The whole wal_archive role (pgBackRest method) twice against a throwaway cluster.

The first run writes everything, creates the stanza, checks archiving end to
end and takes the first backup; the second changes nothing and makes no
end-to-end check, since nothing changed and pg_stat_archiver shows archiving
working. Every path is in a temporary folder; the role runs without its
dependencies (wal_archive_role.py), with a stand-in for the server role's
reload handler (the cluster is started with the role's archive_command).
"""

import os
import shutil
import tempfile

import pytest

from pgserver import PgServer
from pitr_helpers import role_archive_command
from repo_server_helpers import needs_tls_server
from wal_archive_role import COMMON_DEFAULTS, NAME, run_play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the role becomes postgres and needs root')
TARGET_PYTHON = '/usr/bin/python3'
STANZA = 'reruntest'
END_TO_END = 'Check archiving end to end and read pg_stat_archiver again.'


@pytest.fixture
def setup():
    root = tempfile.mkdtemp(prefix='tmi-rerun-')
    os.chmod(root, 0o755)
    config = os.path.join(root, 'etc', 'pgbackrest.conf')
    command = role_archive_command(config).replace('--stanza=tmi ', '--stanza=%s ' % STANZA)
    server = PgServer(settings={'archive_mode': 'on', 'wal_level': 'replica',
                                'archive_command': "'%s'" % command}).start()
    os.makedirs(os.path.join(root, 'pgconf', 'conf.d'))
    os.makedirs(os.path.join(root, 'run'))
    variables = {
        'ansible_python_interpreter': TARGET_PYTHON,
        'wal_archive_config_file': config,
        'wal_archive_repo_path': os.path.join(root, 'repo'),
        'wal_archive_log_path': os.path.join(root, 'log'),
        'wal_archive_lock_path': os.path.join(root, 'run', 'pgbackrest'),
        'wal_archive_stanza': STANZA,
        'wal_archive_pg_path': server.datadir,
        'wal_archive_port': server.port,
        'wal_archive_socket_dir': server.socketdir,
        '__wal_archive_tmpfiles_conf': os.path.join(root, 'tmpfiles.conf'),
        '__wal_archive_conf_dir': os.path.join(root, 'pgconf'),
        '__wal_archive_cron_dir': os.path.join(root, 'cron.d'),
        # pgbackrest and cron are installed on this host: no apt call.
        '__wal_archive_missing_packages': [],
    }
    yield root, server, variables
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


def run_role(root, variables):
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars_files': [COMMON_DEFAULTS],
        'tasks': [{'name': 'role', 'ansible.builtin.include_role': {'name': NAME}, 'vars': variables}],
        'handlers': [{'name': 'Reload', 'ansible.builtin.debug': {'msg': 'reload'},
                      'listen': 'tmi_postgresql_settings_changed'}],
    }]
    rc, results, stats = run_play(root, play)
    assert rc == 0, results
    return results, stats


def test_a_second_run_changes_nothing_and_skips_the_end_to_end_check(setup):
    root, server, variables = setup
    results, stats = run_role(root, variables)
    assert stats['changed'] > 0
    assert 'skipped' not in results[END_TO_END] and 'skipped' not in results['Check that a WAL segment reaches the repository.']
    assert 'skipped' not in results['Take a full backup, the base of every point-in-time recovery.']

    results, stats = run_role(root, variables)
    assert stats['changed'] == 0, [name for name, result in results.items() if result.get('changed')]
    assert results[END_TO_END].get('skipped') is True
    state = results["Read the server's data directory, the archiver's state and the stanza's."]
    assert state['works'] is True
    # The stanza came with that read; pgbackrest info runs again only after a change of the configuration.
    assert state['stanza_error'] is None and state['stanza']['status']['code'] == 0 and state['stanza']['backup']
    assert results["Read the state of the stanza and its backups again, after this run's change of the configuration."].get(
        'skipped') is True
    assert results['Take a first backup when there is none of the current database (none at all, or after a major upgrade).'].get('skipped') is True


@needs_tls_server()
def test_a_move_to_a_repository_host_at_the_old_repositorys_path_is_refused_before_any_change(setup):
    # A one-host install with a backup in its local repository...
    root, server, variables = setup
    run_role(root, variables)
    with open(variables['wal_archive_config_file']) as f:
        one_host_config = f.read()
    # ...moved to a repository host whose folder is the old repository's: pgBackRest would refuse repo1 and
    # repo2 at one path (found by the first Molecule run of the move), so the role stops first.
    variables = dict(variables, wal_archive_repo_host='backup1.invalid', wal_archive_previous_repo_path=variables['wal_archive_repo_path'])
    play = [{'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'vars_files': [COMMON_DEFAULTS],
             'tasks': [{'name': 'role', 'ansible.builtin.include_role': {'name': NAME}, 'vars': variables}]}]
    rc, results, stats = run_play(root, play)
    guard = results["Check that the old local repository and the repository host's have different paths."]
    assert rc != 0 and guard.get('failed') is True, results
    assert 'is %s, the folder of the old local repository' % variables['wal_archive_repo_path'] in guard['msg']
    assert guard['msg'].endswith('Nothing was changed.')
    assert stats['changed'] == 0
    with open(variables['wal_archive_config_file']) as f:
        assert f.read() == one_host_config

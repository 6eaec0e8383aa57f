"""Bad settings of wal_archive's repository host stop the role before it changes anything, naming them.

The remote layout itself (two hosts, TLS) is proven by the Molecule scenario repo.
"""

import os

import pytest

from wal_archive_role import COMMON_DEFAULTS, NAME, run_play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the role copy runs as root, as in the other wal_archive tests')


def run_tasks(workdir, tasks_from, **variables):
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars_files': [COMMON_DEFAULTS],
        'vars': variables,
        'tasks': [{'name': 'role', 'ansible.builtin.include_role': {'name': NAME, 'tasks_from': tasks_from}}],
    }]
    return run_play(workdir, play)


def test_a_repository_host_with_the_plain_method_is_refused(tmp_path):
    rc, results, stats = run_tasks(str(tmp_path), 'install.yml', wal_archive_method='plain',
                                   wal_archive_repo_host='backup1.invalid')
    result = results['Check that a repository host goes with the pgbackrest method.']
    assert rc != 0 and result.get('failed') is True
    assert 'wal_archive_repo_host (backup1.invalid) needs wal_archive_method pgbackrest, not plain' in result['msg']
    assert stats['changed'] == 0
    # The package task after it did not run.
    assert "Install pgBackRest and cron from the distribution's packages." not in results


@pytest.mark.parametrize('name', ['wal_archive_repo_host_port', 'wal_archive_tls_server_port'])
def test_a_tls_port_out_of_range_is_named(tmp_path, name):
    rc, results, stats = run_tasks(str(tmp_path), 'check_ranges.yml', **{name: 70000})
    result = results['Check the ranges of the numeric settings.']
    assert rc != 0 and result.get('failed') is True
    assert name in result['msg'] and 'Nothing was changed.' in result['msg']
    assert stats['changed'] == 0


# pgBackRest 2.45 refuses these ('is not valid for archive-push-queue-max') and takes the sizes below.
@pytest.mark.parametrize('value', ['4 GB', 'lots', '4XB', '-1'])
def test_a_queue_limit_that_is_not_a_size_is_named(tmp_path, value):
    rc, results, stats = run_tasks(str(tmp_path), 'check_ranges.yml', wal_archive_archive_push_queue_max=value)
    result = results['Check the ranges of the numeric settings.']
    assert rc != 0 and result.get('failed') is True
    assert ('wal_archive_archive_push_queue_max is %s: a size in bytes or with KB, MB, GB, TB or PB' % value) in result['msg']
    assert stats['changed'] == 0


@pytest.mark.parametrize('value', ['4GB', '1073741824', '512mb', '4GiB', ''])
def test_a_queue_limit_in_pgbackrest_sizes_passes(tmp_path, value):
    rc, results, stats = run_tasks(str(tmp_path), 'check_ranges.yml', wal_archive_archive_push_queue_max=value)
    assert rc == 0, results

"""roles/wal_archive/tasks/check.yml against a real cluster: its verdict on the archiver is
tmi.postgresql.archiver_status's, the same as check_db's."""

import os
import shutil
import tempfile

import pytest

from pgserver import PgServer, wait_for
from wal_archive_role import COMMON_DEFAULTS, NAME, run_play

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason='the role becomes postgres and needs root')
# Modules run as postgres: an interpreter postgres can run, with psycopg2.
TARGET_PYTHON = '/usr/bin/python3'


@pytest.fixture
def archive_root():
    root = tempfile.mkdtemp(prefix='tmi-check-')
    os.makedirs(os.path.join(root, 'wal'))
    for path in (root, os.path.join(root, 'wal')):
        shutil.chown(path, 'postgres', 'postgres')
    yield root
    shutil.rmtree(root, ignore_errors=True)


def archive_command(root):
    # Fails once while ROOT/fail-once exists (and removes it); while ROOT/stuck exists, fails as long as
    # the segment is the only one waiting (it runs in the data directory), then removes it; else copies
    # the segment.
    return ("'if [ -e %(r)s/fail-once ]; then rm %(r)s/fail-once; exit 1; fi; "
            "if [ -e %(r)s/stuck ]; then [ \"$(ls pg_wal/archive_status | grep -c ready)\" -ge 2 ] || exit 1; "
            "rm %(r)s/stuck; fi; "
            "cp %%p %(r)s/wal/%%f'" % {'r': root})


@pytest.fixture
def cluster(archive_root):
    server = PgServer(settings={'archive_mode': 'on', 'wal_level': 'replica',
                                'archive_command': archive_command(archive_root)}).start()
    wal = server.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')[0][0]
    wait_for(lambda: server.query('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver')[0][0] == wal)
    yield server
    server.stop()


def run_check(server, root, workdir, changed, **variables):
    """state.yml then check.yml, as the role runs them; changed: whether this run changed archiving."""
    login = {'login_unix_socket': server.socketdir, 'login_port': server.port}
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'module_defaults': {'group/tmi.postgresql.all': login,
                            'group/community.postgresql.all': dict(login, login_db='postgres')},
        'vars_files': [COMMON_DEFAULTS],
        'vars': dict(dict(ansible_python_interpreter=TARGET_PYTHON, wal_archive_method='plain',
                          wal_archive_plain_dir=root, wal_archive_pg_path=server.datadir), **variables),
        'tasks': [
            {'name': 'state', 'ansible.builtin.include_role': {'name': NAME, 'tasks_from': 'state.yml'}},
            # Task vars: they win over the role's vars/main.yml, which derives it from the role's own tasks.
            {'name': 'check', 'ansible.builtin.include_role': {'name': NAME, 'tasks_from': 'check.yml'},
             'vars': {'__wal_archive_changed': changed}},
            {'name': 'result', 'ansible.builtin.debug': {'var': 'wal_archive_archiver'}},
        ],
    }]
    return run_play(workdir, play)


SWITCH = 'Write a restore point and switch to a new WAL segment (plain method).'
AFTER = "Read the archiver's counters (warns when archiving fails)."
STATE = "Read the server's data directory, the archiver's state and the stanza's."
END_TO_END = 'Check archiving end to end and read pg_stat_archiver again.'


def make_marker(archive_root, name='fail-once'):
    """A marker of archive_command()."""
    marker = os.path.join(archive_root, name)
    open(marker, 'w').close()
    shutil.chown(marker, 'postgres', 'postgres')
    return marker


def test_a_failure_the_archiver_recovered_from_is_not_failing(cluster, archive_root, tmp_path):
    # The check's own segment fails once, then the archiver's retry archives it.
    marker = make_marker(archive_root)
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), True, wal_archive_fail_on_archive_errors=True)
    assert rc == 0, results
    archiver = results['result']['wal_archive_archiver']
    assert archiver['failed_count'] == 1 and archiver['archived_count'] >= 2
    assert archiver['failing'] is False and not os.path.exists(marker)
    assert results[AFTER].get('warnings', []) == []


def test_a_failing_archiver_warns_or_fails_when_told(cluster, archive_root, tmp_path):
    cluster.query('postgres', "ALTER SYSTEM SET archive_command = '/bin/false'")
    cluster.query('postgres', 'SELECT pg_reload_conf()')
    cluster.query('postgres', 'SELECT pg_switch_wal() FROM (SELECT pg_create_restore_point(\'x\')) AS p')
    wait_for(lambda: cluster.query('postgres', 'SELECT failed_count FROM pg_stat_archiver')[0][0] > 0)
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), False, wal_archive_check=False)
    assert rc == 0 and stats['failures'] == 0 and stats['ignored'] == 0
    assert results['result']['wal_archive_archiver']['failing'] is True
    warnings = results[AFTER]['warnings']
    assert len(warnings) == 1 and warnings[0].startswith('WAL archiving fails (archive_mode on): ')
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), False, wal_archive_check=False,
                                   wal_archive_fail_on_archive_errors=True)
    assert rc != 0
    assert results['Fail when archiving fails and the role is told to.']['msg'].startswith('WAL archiving fails')


def test_nothing_changed_and_archiving_works_no_end_to_end_check(cluster, archive_root, tmp_path):
    # A check would fail once on the marker and consume it.
    marker = make_marker(archive_root)
    before = cluster.query('postgres', 'SELECT archived_count FROM pg_stat_archiver')[0][0]
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), False, wal_archive_fail_on_archive_errors=True)
    assert rc == 0, results
    assert results[END_TO_END].get('skipped') is True and SWITCH not in results and AFTER not in results
    assert os.path.exists(marker)
    archiver = results['result']['wal_archive_archiver']
    assert archiver['failing'] is False and archiver['archived_count'] == before and archiver['failed_count'] == 0


def test_nothing_changed_but_failing_the_check_runs(cluster, archive_root, tmp_path):
    # The archiver is stuck on one segment until the check's segment switch queues a second one.
    make_marker(archive_root, 'stuck')
    stuck = cluster.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal()) '
                                      "FROM (SELECT pg_create_restore_point('x')) AS p")[0][0]
    wait_for(lambda: cluster.query('postgres', 'SELECT failed_count FROM pg_stat_archiver')[0][0] > 0)
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), False, wal_archive_fail_on_archive_errors=True)
    assert rc == 0 and stats['failures'] == 0, results
    assert results[STATE]['failing'] is True and results[STATE].get('warnings', []) == []
    assert 'skipped' not in results[SWITCH], results[SWITCH]
    # The report is the archiver after the check: the stuck segment went through, then the check's.
    archiver = results['result']['wal_archive_archiver']
    assert archiver['failing'] is False and archiver['failed_count'] > 0 and archiver['last_archived_wal'] > stuck
    assert os.path.exists(os.path.join(archive_root, 'wal', stuck))


def test_never_archived_the_check_runs(archive_root, tmp_path):
    server = PgServer(settings={'archive_mode': 'on', 'wal_level': 'replica',
                                'archive_command': archive_command(archive_root)}).start()
    try:
        assert server.query('postgres', 'SELECT archived_count FROM pg_stat_archiver')[0][0] == 0
        rc, results, stats = run_check(server, archive_root, str(tmp_path), False)
        assert rc == 0, results
        assert 'skipped' not in results[SWITCH], results[SWITCH]
        archiver = results['result']['wal_archive_archiver']
        assert archiver['archived_count'] >= 1 and archiver['failing'] is False
    finally:
        server.stop()


def test_a_data_directory_that_is_not_pg1_path_stops_the_role(cluster, archive_root, tmp_path):
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), True,
                                   wal_archive_pg_path='/var/lib/postgresql/15/elsewhere')
    assert rc != 0
    assert results['Check that pg1-path is the server\'s data directory.']['msg'] == (
        'wal_archive_pg_path is /var/lib/postgresql/15/elsewhere but the server runs on %s; '
        'set tmi_postgresql_data_dir.' % cluster.datadir)
    assert SWITCH not in results

"""roles/wal_archive/tasks/check.yml against a real cluster: its verdict on the archiver is
tmi.postgresql.archiver_status's, the same as check_db's."""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import pytest
import yaml

from ansible_run import ansible_env
from pgserver import PgServer, wait_for

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
    # Fails once while ROOT/fail-once exists (and removes it), else copies the segment.
    return ("'if [ -e %(r)s/fail-once ]; then rm %(r)s/fail-once; exit 1; fi; cp %%p %(r)s/wal/%%f'"
            % {'r': root})


@pytest.fixture
def cluster(archive_root):
    server = PgServer(settings={'archive_mode': 'on', 'wal_level': 'replica',
                                'archive_command': archive_command(archive_root)}).start()
    wal = server.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')[0][0]
    wait_for(lambda: server.query('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver')[0][0] == wal)
    yield server
    server.stop()


def run_check(server, root, workdir, **variables):
    play = [{
        'hosts': 'localhost', 'connection': 'local', 'gather_facts': False,
        'vars': dict(dict(ansible_python_interpreter=TARGET_PYTHON, wal_archive_method='plain',
                          wal_archive_plain_dir=root, wal_archive_socket_dir=server.socketdir,
                          wal_archive_port=server.port), **variables),
        'tasks': [
            {'name': 'check', 'ansible.builtin.include_role': {'name': 'tmi.postgresql.wal_archive',
                                                               'tasks_from': 'check.yml'}},
            {'name': 'result', 'ansible.builtin.debug': {'var': 'wal_archive_archiver'}},
        ],
    }]
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           path], cwd=workdir, capture_output=True, text=True, timeout=600, check=False,
                          env=ansible_env(workdir, {'ANSIBLE_BECOME_METHOD': 'su', 'ANSIBLE_PIPELINING': '1'}))
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON (rc %d)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
    results = dict((t['task']['name'].split(' : ')[-1], t['hosts'].get('localhost', {}))
                   for t in report['plays'][0]['tasks'])
    return proc.returncode, results, report['stats']['localhost']


def test_a_failure_the_archiver_recovered_from_is_not_failing(cluster, archive_root, tmp_path):
    # The check's own segment fails once, then the archiver's retry archives it.
    marker = os.path.join(archive_root, 'fail-once')
    open(marker, 'w').close()
    shutil.chown(marker, 'postgres', 'postgres')
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), wal_archive_fail_on_archive_errors=True)
    assert rc == 0, results
    archiver = results['result']['wal_archive_archiver']
    assert archiver['failed_count'] == 1 and archiver['archived_count'] >= 2
    assert archiver['failing'] is False and not os.path.exists(marker)
    assert results["Read the archiver's counters (warns when archiving fails)."].get('warnings', []) == []


def test_a_failing_archiver_warns_or_fails_when_told(cluster, archive_root, tmp_path):
    cluster.query('postgres', "ALTER SYSTEM SET archive_command = '/bin/false'")
    cluster.query('postgres', 'SELECT pg_reload_conf()')
    cluster.query('postgres', 'SELECT pg_switch_wal() FROM (SELECT pg_create_restore_point(\'x\')) AS p')
    wait_for(lambda: cluster.query('postgres', 'SELECT failed_count FROM pg_stat_archiver')[0][0] > 0)
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), wal_archive_check=False)
    assert rc == 0 and stats['failures'] == 0 and stats['ignored'] == 0
    assert results['result']['wal_archive_archiver']['failing'] is True
    warnings = results["Read the archiver's counters (warns when archiving fails)."]['warnings']
    assert len(warnings) == 1 and warnings[0].startswith('WAL archiving fails (archive_mode on): ')
    rc, results, stats = run_check(cluster, archive_root, str(tmp_path), wal_archive_check=False,
                                   wal_archive_fail_on_archive_errors=True)
    assert rc != 0
    assert results['Fail when archiving fails and the role is told to.']['msg'].startswith('WAL archiving fails')

"""The wal_archive role gives pgBackRest a lock folder of its own, owned by postgres.

pgBackRest's default lock-path, /tmp/pgbackrest, is created by whoever runs it
first; created by root (mode 0750), it makes every later lock of postgres
fail ("unable to acquire lock ... Permission denied"): archive-push, backups,
stanza-create. The role's file tasks run here with every path in a
temporary folder (nothing under /etc, /run or /tmp/pgbackrest is touched);
then root and postgres each run a command that takes the stanza's lock.
"""

import glob
import os
import pwd
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest
import yaml

from ansible_run import ansible_env
from wal_archive_role import COMMON_DEFAULTS, NAME, roles_path


@pytest.fixture
def root():
    path = tempfile.mkdtemp(prefix='tmi-lock-')
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_file_tasks(root):
    paths = {
        'wal_archive_config_file': os.path.join(root, 'etc', 'pgbackrest.conf'),
        'wal_archive_repo_path': os.path.join(root, 'repo'),
        'wal_archive_log_path': os.path.join(root, 'log'),
        'wal_archive_lock_path': os.path.join(root, 'run', 'pgbackrest'),
        '__wal_archive_tmpfiles_conf': os.path.join(root, 'tmpfiles.conf'),
        '__wal_archive_conf_dir': os.path.join(root, 'pgconf'),
        '__wal_archive_cron_dir': os.path.join(root, 'cron.d'),
        'wal_archive_stanza': 'locktest',
        'wal_archive_pg_path': os.path.join(root, 'pgdata'),
    }
    os.makedirs(os.path.join(root, 'run'), mode=0o755, exist_ok=True)
    os.makedirs(os.path.join(root, 'pgconf', 'conf.d'), mode=0o755, exist_ok=True)
    play = [{
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': False,
        'vars': {'ansible_python_interpreter': sys.executable},
        'vars_files': [COMMON_DEFAULTS],
        'tasks': [{'name': 'The role\'s file tasks',
                   'ansible.builtin.include_role': {'name': NAME, 'tasks_from': 'files.yml'},
                   'vars': paths}],
        # The server role's handler, which the drop-in's change notifies.
        'handlers': [{'name': 'Reload', 'ansible.builtin.debug': {'msg': 'reload'},
                      'listen': 'tmi_postgresql_settings_changed'}],
    }]
    playbook = os.path.join(root, 'play.yml')
    with open(playbook, 'w') as f:
        yaml.safe_dump(play, f)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           playbook], cwd=root,
                          env=ansible_env(root, {'ANSIBLE_STDOUT_CALLBACK': 'default',
                                                 'ANSIBLE_ROLES_PATH': roles_path(root)}),
                          capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return paths, proc.stdout


def pgbackrest(paths, user=None):
    argv = ['pgbackrest', '--config=' + paths['wal_archive_config_file'], '--stanza=' + paths['wal_archive_stanza'],
            '--log-level-console=error', 'expire']
    if user:
        argv = ['runuser', '-u', user, '--'] + argv
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)


def test_the_lock_folder_is_postgres_s_and_a_run_as_root_does_not_lock_postgres_out(root):
    paths = run_file_tasks(root)[0]
    lock = paths['wal_archive_lock_path']
    with open(paths['wal_archive_config_file']) as f:
        assert 'lock-path=%s\n' % lock in f.read()
    info = os.stat(lock)
    assert pwd.getpwuid(info.st_uid).pw_name == 'postgres' and stat.S_IMODE(info.st_mode) == 0o750
    with open(paths['__wal_archive_tmpfiles_conf']) as f:
        assert f.read().splitlines()[-1] == 'd %s 0750 postgres postgres -' % lock

    # expire takes the stanza's backup lock, then fails: the repository has no stanza.
    as_root = pgbackrest(paths)
    as_postgres = pgbackrest(paths, user='postgres')
    for proc in (as_root, as_postgres):
        assert 'unable to acquire lock' not in proc.stderr + proc.stdout, proc.stderr
        assert 'has a stanza-create been performed' in proc.stderr + proc.stdout, proc.stderr
    assert os.listdir(lock) == [], 'a lock file was left behind'


def test_a_second_run_changes_nothing(root):
    out = run_file_tasks(root)[1]
    assert 'RUNNING HANDLER [Reload]' in out, out[-2000:]
    out = run_file_tasks(root)[1]
    assert 'changed=0' in out and 'RUNNING HANDLER' not in out, out[-2000:]


def test_the_cron_file_is_what_ansible_builtin_cron_wrote(root):
    # The role wrote it with ansible.builtin.cron before: hosts keep the same file.
    paths = run_file_tasks(root)[0]
    cron = os.path.join(root, 'cron.d', 'tmi-pgbackrest-locktest')
    config, stanza = paths['wal_archive_config_file'], paths['wal_archive_stanza']
    with open(cron) as f:
        assert f.read() == (
            '#Ansible: tmi pgbackrest full backup of stanza locktest\n'
            '30 1 * * 0 postgres pgbackrest --config=%(c)s --stanza=%(s)s --type=full backup\n'
            '#Ansible: tmi pgbackrest diff backup of stanza locktest\n'
            '30 1 * * 1-6 postgres pgbackrest --config=%(c)s --stanza=%(s)s --type=diff backup\n' % {'c': config, 's': stanza})
    info = os.stat(cron)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o644)
    assert not glob.glob(os.path.join(root, 'cron.d', 'tmi-wal-base-backup-*'))

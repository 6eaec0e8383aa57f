"""The backup role aimed at a server over the network (issue 11: dumps taken by the repository host).

A throwaway server of the test's own with TLS and only hostssl lines for TCP, its certificate signed by a CA the
test makes; the role logs in as a backup role with the least privileges (the app_user role's `backup` rights)
through its pgpass file, over verify-full TLS.
"""

import os
import types

import pytest

from backup_helpers import (
    REPO,
    SYSTEM_PYTHON,
    backups,
    failed_task,
    listing,
    run_playbook,
    task_result,
)
from pgserver import pg_bindir
from tls_server import BACKUP_PASSWORD, BACKUP_ROLE, add_backup_role, start_server

ROLE_PLAYBOOK = os.path.join(os.path.dirname(__file__), 'backup_role.yml')
BACKUP_PLAYBOOK = os.path.join(REPO, 'playbooks', 'backup.yml')


@pytest.fixture
def cron_file(open_dir):
    name = 'tmi-test-remote-' + os.path.basename(open_dir)
    yield name
    if os.path.exists(os.path.join('/etc/cron.d', name)):
        os.unlink(os.path.join('/etc/cron.d', name))


def remote_vars(server, db, work, cron_file, ca, **settings):
    values = dict(
        backup_database=db,
        backup_port=server.port,
        backup_bindir=server.bindir,
        backup_dir=os.path.join(work, 'backups'),
        backup_log_file=os.path.join(work, 'log', 'backup.log'),
        backup_script_path=os.path.join(work, 'bin', 'tmi-pg-backup'),
        backup_config_path=os.path.join(work, 'etc', 'backup.conf'),
        backup_pgpass_file=os.path.join(work, 'etc', 'backup.pgpass'),
        backup_cron_file=cron_file,
        backup_cron_name='tmi-postgresql logical backup ' + cron_file,
        backup_cluster='db1-15-main',
        backup_packages=[],
        backup_login_host='localhost',
        backup_login_user=BACKUP_ROLE,
        backup_login_password=BACKUP_PASSWORD,
        backup_login_sslmode='verify-full',
        backup_login_sslrootcert=ca,
    )
    values.update(settings)
    os.makedirs(os.path.join(work, 'bin'), exist_ok=True)
    return values


def nothing_written(work, cron_file):
    """Neither the role's folders and files (all under work/backups, work/etc, work/log) nor its cron file."""
    cron = os.path.join('/etc/cron.d', cron_file)
    return not set(listing(work)) & {'backups', 'etc', 'log'} and not os.path.exists(cron)


def test_a_remote_backup_runs_over_verified_tls_as_the_backup_role(tls_server, tls_db, tls_files, open_dir,
                                                                   cron_file):
    role_vars = remote_vars(tls_server, tls_db, open_dir, cron_file, tls_files[0])
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc == 0, failed_task(report)
    settings = open(role_vars['backup_config_path']).read()
    assert "TMI_BACKUP_SSLMODE=verify-full\n" in settings
    assert 'TMI_BACKUP_SSLROOTCERT=%s\n' % tls_files[0] in settings
    assert BACKUP_PASSWORD not in settings

    # The installed script as cron runs it: only hostssl lines let it in, so the backup went over TLS.
    rc, report = run_playbook(BACKUP_PLAYBOOK, open_dir, dict(
        tmi_backup_script=role_vars['backup_script_path'], tmi_backup_config=role_vars['backup_config_path'],
        ansible_become_method='su', ansible_python_interpreter=SYSTEM_PYTHON))
    assert rc == 0, failed_task(report)
    made = backups(role_vars['backup_dir'])
    assert len(made) == 1 and made[0].endswith('.db1-15-main.dump'), made
    assert '- File: %s/%s' % (role_vars['backup_dir'], made[0]) in task_result(report, 'Print the summary.')['msg']


def test_a_wrong_password_stops_the_role_before_anything_is_written(tls_server, tls_db, tls_files, open_dir,
                                                                    cron_file):
    role_vars = remote_vars(tls_server, tls_db, open_dir, cron_file, tls_files[0],
                            backup_login_password='not-the-password')
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Fail when the backup role cannot log in.'
    assert 'password authentication failed for user "%s"' % BACKUP_ROLE in result['msg']
    assert 'Nothing was changed' in result['msg'] and 'not-the-password' not in str(report)
    assert nothing_written(open_dir, cron_file)


def test_a_server_without_tls_is_refused_before_anything_is_written(open_dir, tls_files, cron_file):
    server = start_server({})
    try:
        db = server.create_database()
        add_backup_role(server, db)
        role_vars = remote_vars(server, db, open_dir, cron_file, tls_files[0])
        rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    finally:
        server.stop()
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Fail when the backup role cannot log in.'
    assert 'server does not support SSL, but SSL was required' in result['msg']
    assert nothing_written(open_dir, cron_file)


@pytest.mark.parametrize('settings', [
    dict(backup_login_sslmode='require'),
    dict(backup_login_sslmode=''),
    dict(backup_login_sslrootcert=''),
], ids=['require', 'no-sslmode', 'no-ca'])
def test_a_server_over_the_network_needs_verify_full_and_a_ca(open_dir, tls_files, cron_file, settings):
    # No server: the check stops the role before any connection.
    nowhere = types.SimpleNamespace(port=5432, bindir=pg_bindir())
    role_vars = remote_vars(nowhere, 'tmi', open_dir, cron_file, tls_files[0],
                            backup_login_host='db1.example.org', **settings)
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Check that a login over the network is over verified TLS.'
    assert "backup_login_host is 'db1.example.org'" in result['msg'] and 'verify-full' in result['msg']
    assert nothing_written(open_dir, cron_file)

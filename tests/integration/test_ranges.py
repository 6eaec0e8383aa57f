"""Out-of-range numbers stop a role or playbook at its first task, naming the setting.

Every run here points at nothing (empty temporary folders, no server): the
check must fail first, with nothing changed. Without it, each run goes on to
later tasks with the bad value (and the backup role writes its files).
"""

import os
import subprocess
import time

import pytest

from backup_helpers import REPO, changed_count, failed_task, run_playbook, tasks_beyond_checks

CHECK_TASK = 'Check the ranges of the numeric settings'
# 213503982334601 days * 86400 wraps a 64-bit integer: the backup script's
# cut-off, now - days * 86400, then lands in the future.
OVERFLOWING_DAYS = 213503982334601


# Tasks that only check: the range checks and the argument specs' validation,
# of the roles and of their dependency tmi.postgresql.common (its shared ranges).
CHECK_ONLY = (CHECK_TASK, 'Validating arguments against arg spec', 'Check that the PostgreSQL version is set')


def is_check(name):
    # A role's task is named "ROLE : NAME".
    return name is not None and name.split(' : ')[-1].startswith(CHECK_ONLY)


def role_playbook(workdir, role):
    """A play of one role; only roles without dependencies (pg_hba, ssl and wal_archive run the server role first)."""
    path = os.path.join(workdir, 'role-%s.yml' % role)
    with open(path, 'w') as f:
        f.write('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.%s\n' % role)
    return path


def playbook(name):
    return os.path.join(REPO, 'playbooks', name + '.yml')


def nothing_vars(nothing):
    """Settings that point every playbook at an empty folder."""
    return {
        'tmi_postgresql_socket_dir': nothing,
        # Given, so that no password file is generated (the argument spec check reads the default's lookup).
        'tmi_postgresql_app_password': 'not-used-anywhere',
        'tmi_postgresql_backup_dir': os.path.join(nothing, 'backups'),
        'tmi_backup_script': os.path.join(nothing, 'tmi-pg-backup'),
        'dr_pitr_pgbackrest_config': os.path.join(nothing, 'pgbackrest.conf'),
        'dr_pitr_pgdata': os.path.join(nothing, 'pgdata'),
    }


def test_the_backup_scripts_arithmetic_puts_that_cut_off_in_the_future():
    # The hazard the backup role's check refuses, in the shell the script runs in.
    out = subprocess.run(['bash', '-c', 'echo $(($(date -u +%%s) - %d * 86400))' % OVERFLOWING_DAYS],
                         capture_output=True, text=True, check=True).stdout
    assert int(out) > time.time()


def test_a_retention_that_puts_the_cut_off_in_the_future_stops_the_backup_role(tmp_path):
    nothing = tmp_path / 'nothing'
    nothing.mkdir()
    files = {
        'backup_dir': nothing / 'backups',
        'backup_script_path': nothing / 'tmi-pg-backup',
        'backup_config_path': nothing / 'backup.conf',
        'backup_log_file': nothing / 'log' / 'backup.log',
        'backup_pgpass_file': nothing / 'backup.pgpass',
    }
    rc, report = run_playbook(role_playbook(str(tmp_path), 'backup'), str(tmp_path), dict(
        {name: str(path) for name, path in files.items()},
        backup_retention_days=OVERFLOWING_DAYS, backup_socket_dir=str(nothing), backup_cron_state='absent',
        backup_packages=[]))
    name, result = failed_task(report)
    assert rc != 0
    assert is_check(name), name
    assert result['msg'] == ('backup_retention_days is %d: allowed: a whole number, 0 to 36500 (0 keeps every backup). '
                             'Nothing was changed.' % OVERFLOWING_DAYS)
    assert changed_count(report) == 0
    assert sorted(os.listdir(nothing)) == []


@pytest.mark.parametrize('target, extra, named', [
    # A NaN lock timeout: the module's deadline is never reached, the wait endless.
    ('role:migrations', {'migrations_lock_timeout': float('nan')}, 'migrations_lock_timeout is nan'),
    ('role:migrations', {'migrations_lock_timeout': '1e400'}, "migrations_lock_timeout is '1e400'"),
    ('role:app_user', {'app_user_connection_limit': True}, 'app_user_connection_limit is true'),
    ('role:database', {'database_port': 65536}, 'database_port is 65536'),
    # 31,700 years of waiting for the server to promote.
    ('dr_pitr', {'dr_pitr_recovery_timeout': 10 ** 12}, 'dr_pitr_recovery_timeout is 1000000000000'),
    ('dr_pitr', {'dr_pitr_archive_wait': -1}, 'dr_pitr_archive_wait is -1'),
    ('dr_restore', {'dr_restore_jobs': 0}, 'dr_restore_jobs is 0'),
    ('upgrade', {'upgrade_lock_timeout': float('inf')}, 'upgrade_lock_timeout is inf'),
    ('rollback', {'rollback_lock_timeout': 'soon', 'rollback_target_version': 1, 'rollback_confirm': True},
     "rollback_lock_timeout is 'soon'"),
    ('check_db', {'tmi_check_db_port': 0}, 'tmi_check_db_port is 0'),
    ('check_db', {'tmi_check_db_top': 0}, 'tmi_check_db_top is 0'),
    ('role:server', {'server_log_min_duration_statement': -2},
     'server_log_min_duration_statement is -2: allowed: a whole number, -1 to 2147483647 (-1 turns it off).'),
    ('backup', {'tmi_backup_lock_wait': '-5'}, "tmi_backup_lock_wait is '-5'"),
])
def test_an_out_of_range_setting_stops_the_play_at_its_first_task(tmp_path, target, extra, named):
    nothing = tmp_path / 'nothing'
    nothing.mkdir()
    path = role_playbook(str(tmp_path), target[5:]) if target.startswith('role:') else playbook(target)
    rc, report = run_playbook(path, str(tmp_path), dict(nothing_vars(str(nothing)), **extra))
    name, result = failed_task(report)
    assert rc != 0
    assert is_check(name), (name, result)
    assert named in result['msg'] and result['msg'].endswith('Nothing was changed.'), result['msg']
    assert changed_count(report) == 0
    assert os.listdir(nothing) == []


def test_site_checks_every_role_before_the_first_one_runs(tmp_path):
    # Check mode: without the check the server role would go on to provision this host.
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path), {'backup_keep_min': 0}, check=True)
    name, result = failed_task(report)
    assert rc != 0
    assert is_check(name), (name, result)
    assert result['msg'] == 'backup_keep_min is 0: allowed: a whole number, 1 to 100. Nothing was changed.'
    assert tasks_beyond_checks(report) == []


def test_site_refuses_an_exporter_open_to_the_network_before_the_first_role_runs(tmp_path):
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path),
                              {'monitoring_exporter_listen': '0.0.0.0:9187'}, check=True)
    name, result = failed_task(report)
    assert rc != 0
    assert is_check(name), (name, result)
    assert result['msg'].startswith('monitoring_exporter_listen is 0.0.0.0:9187, which is not a loopback address')
    assert result['msg'].endswith('Nothing was changed.')
    # Only the pre_tasks' checks ran (the roles' other checks among them), no role's work.
    assert tasks_beyond_checks(report) == []

"""Bad tmi_metrics settings stop site.yml in its pre_tasks, before its first role, naming the setting.

The monitoring role runs tmi_metrics last: without the check in site.yml's
pre_tasks the server, database and other roles would change the host first.
site.yml runs in check mode, as test_ranges.py runs it: were the check
missing, the run would go on into the server role. The role run alone (also
in check mode) gives the same message: one check, the role's own tasks.
"""

import os

import pytest

from backup_helpers import REPO, assert_refused_at, run_playbook, tasks_beyond_checks

SETTINGS_CHECK = 'Check the ranges of the numeric settings, the time spans, names, paths and backup schedules.'
USER_CHECK = "Check that the host has the program's user."


def role_playbook(workdir):
    path = workdir / 'tmi-metrics.yml'
    path.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.tmi_metrics\n')
    return str(path)


BAD = [
    ({'tmi_metrics_port': 0}, SETTINGS_CHECK, "tmi_metrics_port is 0: allowed: a whole number, 1 to 65535."),
    ({'tmi_metrics_backup_age_margin_seconds': -5}, SETTINGS_CHECK,
     'tmi_metrics_backup_age_margin_seconds is -5: allowed: a whole number, at least 0.'),
    ({'tmi_metrics_standbys_expected': -1}, SETTINGS_CHECK,
     'tmi_metrics_standbys_expected is -1: allowed: a whole number, at least 0.'),
    ({'tmi_metrics_interval': 'soon'}, SETTINGS_CHECK,
     'tmi_metrics_interval (soon) must be a systemd time span such as 5min or 30s.'),
    ({'tmi_metrics_randomized_delay': '2d'}, SETTINGS_CHECK,
     'tmi_metrics_randomized_delay (2d) must be a systemd time span such as 30s.'),
    ({'tmi_metrics_textfile_name': 'tmi.txt'}, SETTINGS_CHECK,
     'tmi_metrics_textfile_name (tmi.txt) must be a file name ending in .prom.'),
    ({'tmi_metrics_unit_name': 'tmi metrics'}, SETTINGS_CHECK,
     'tmi_metrics_unit_name (tmi metrics) must be letters, digits, _ and -.'),
    ({'tmi_metrics_state_dir': 'var/lib/tmi-metrics'}, SETTINGS_CHECK,
     'tmi_metrics_state_dir (var/lib/tmi-metrics) must be an absolute path.'),
    ({'tmi_metrics_lib_dir': 'lib'}, SETTINGS_CHECK, 'tmi_metrics_lib_dir (lib) must be an absolute path.'),
    ({'tmi_metrics_config_path': 'tmi-metrics.json'}, SETTINGS_CHECK,
     'tmi_metrics_config_path (tmi-metrics.json) must be an absolute path.'),
    ({'tmi_metrics_logical_backup_enabled': True, 'tmi_metrics_logical_backup_schedules': [{'minute': '75'}]},
     SETTINGS_CHECK, 'tmi_metrics_logical_backup_schedules: minute: 75 is not from 0 to 59.'),
    ({'tmi_metrics_pgbackrest_enabled': True,
      'tmi_metrics_pgbackrest_schedules': [{'minute': '0', 'hour': '0', 'day': '30', 'month': '2'}]},
     SETTINGS_CHECK, 'tmi_metrics_pgbackrest_schedules: the schedules never run'),
    ({'tmi_metrics_os_user': 'tmi-no-such-user'}, USER_CHECK,
     'tmi_metrics_os_user tmi-no-such-user is not a user of this host'),
]


@pytest.mark.parametrize('settings, check_task, message', BAD)
def test_site_refuses_a_bad_tmi_metrics_setting_before_the_first_role_runs(tmp_path, settings, check_task, message):
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path), settings, check=True)
    msg = assert_refused_at(rc, report, check_task, message, prefix='tmi_metrics: ')
    # Only the pre_tasks' checks and reads ran (the other roles' checks among them), no role's work.
    assert tasks_beyond_checks(report) == []

    # The role alone refuses it with the same message: the pre_tasks ran the role's own check.
    role_rc, role_report = run_playbook(role_playbook(tmp_path), str(tmp_path), settings, check=True)
    assert assert_refused_at(role_rc, role_report, check_task, message, prefix='tmi_metrics: ') == msg


def test_site_does_not_check_tmi_metrics_when_the_monitoring_role_does_not_run_it(tmp_path):
    # monitoring_tmi_metrics_enabled false: a bad tmi_metrics setting is nobody's concern, the run goes on
    # until the next check that refuses (here the patroni role's, whose check runs after tmi_metrics').
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path),
                              {'monitoring_tmi_metrics_enabled': False, 'tmi_metrics_interval': 'soon',
                               'tmi_postgresql_ha_enabled': True, 'app_env_host': 'proxy.invalid', 'patroni_ttl': 1},
                              check=True)
    assert_refused_at(rc, report, 'Check the settings before anything changes.', 'patroni_ttl is 1')

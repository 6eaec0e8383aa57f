"""tmi.postgresql.tmi_metrics_setting_errors: each rule of the tmi_metrics role's check, accepted and refused."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.tmi_metrics_settings import tmi_metrics_setting_errors

# The role's defaults (roles/tmi_metrics/defaults/main.yml), as the check task gives them.
DEFAULTS = {
    'tmi_metrics_port': 5432,
    'tmi_metrics_backup_age_margin_seconds': 7200,
    'tmi_metrics_standbys_expected': 0,
    'tmi_metrics_interval': '5min',
    'tmi_metrics_randomized_delay': '30s',
    'tmi_metrics_textfile_name': 'tmi.prom',
    'tmi_metrics_unit_name': 'tmi-metrics',
    'tmi_metrics_textfile_dir': '/var/lib/prometheus/node-exporter',
    'tmi_metrics_state_dir': '/var/lib/tmi-metrics',
    'tmi_metrics_lib_dir': '/usr/local/lib/tmi-metrics',
    'tmi_metrics_config_path': '/etc/tmi-postgresql/tmi-metrics.json',
    'tmi_metrics_logical_backup_enabled': True,
    'tmi_metrics_logical_backup_schedules': [{'minute': '0', 'hour': '2', 'day': '*', 'month': '*', 'weekday': '*'}],
    'tmi_metrics_pgbackrest_enabled': True,
    'tmi_metrics_pgbackrest_schedules': [{'minute': '30', 'hour': '1', 'weekday': '0'},
                                         {'minute': '30', 'hour': '1', 'weekday': '1-6'}],
}
NEVER = [{'minute': '0', 'hour': '0', 'day': '30', 'month': '2'}]


def errors(**settings):
    return tmi_metrics_setting_errors(dict(DEFAULTS, **settings))


def test_the_defaults_are_accepted():
    assert errors() == []


@pytest.mark.parametrize('name, value', [
    ('tmi_metrics_port', 1), ('tmi_metrics_port', 65535), ('tmi_metrics_port', '5433'),
    ('tmi_metrics_backup_age_margin_seconds', 0), ('tmi_metrics_standbys_expected', 0),
    ('tmi_metrics_standbys_expected', '2'),
    ('tmi_metrics_interval', '30s'), ('tmi_metrics_interval', '1 h'), ('tmi_metrics_interval', '2d'),
    ('tmi_metrics_interval', '1day'), ('tmi_metrics_interval', '10minutes'), ('tmi_metrics_interval', '500ms'),
    ('tmi_metrics_randomized_delay', '10s'), ('tmi_metrics_randomized_delay', '2min'),
    ('tmi_metrics_randomized_delay', '1 hour'), ('tmi_metrics_randomized_delay', '100us'),
    ('tmi_metrics_textfile_name', 'tmi_db-1.prom'), ('tmi_metrics_textfile_name', 'a.b.prom'),
    ('tmi_metrics_unit_name', 'tmi_metrics-2'),
    ('tmi_metrics_textfile_dir', '/srv/textfiles'), ('tmi_metrics_state_dir', '/'),
    ('tmi_metrics_lib_dir', '/opt/tmi'), ('tmi_metrics_config_path', '/etc/tmi.json'),
])
def test_a_good_value_is_accepted(name, value):
    assert errors(**{name: value}) == []


@pytest.mark.parametrize('name, value, message', [
    ('tmi_metrics_port', 0, 'tmi_metrics_port is 0: allowed: a whole number, 1 to 65535.'),
    ('tmi_metrics_port', 65536, 'tmi_metrics_port is 65536: allowed: a whole number, 1 to 65535.'),
    ('tmi_metrics_port', 'pg', "tmi_metrics_port is 'pg': not a whole number; allowed: a whole number, 1 to 65535."),
    ('tmi_metrics_backup_age_margin_seconds', -5,
     'tmi_metrics_backup_age_margin_seconds is -5: allowed: a whole number, at least 0.'),
    ('tmi_metrics_standbys_expected', -1, 'tmi_metrics_standbys_expected is -1: allowed: a whole number, at least 0.'),
    ('tmi_metrics_interval', 'soon', 'tmi_metrics_interval (soon) must be a systemd time span such as 5min or 30s.'),
    ('tmi_metrics_interval', '5', 'tmi_metrics_interval (5) must be a systemd time span such as 5min or 30s.'),
    ('tmi_metrics_interval', 300, 'tmi_metrics_interval (300) must be a systemd time span such as 5min or 30s.'),
    ('tmi_metrics_interval', '5min\n', 'tmi_metrics_interval (5min\n) must be a systemd time span'),
    ('tmi_metrics_interval', '5 weeks', 'tmi_metrics_interval (5 weeks) must be a systemd time span'),
    ('tmi_metrics_interval', '-5min', 'tmi_metrics_interval (-5min) must be a systemd time span'),
    ('tmi_metrics_interval', None, 'tmi_metrics_interval (None) must be a systemd time span'),
    ('tmi_metrics_randomized_delay', '2d', 'tmi_metrics_randomized_delay (2d) must be a systemd time span such as 30s.'),
    ('tmi_metrics_randomized_delay', '30 s ', 'tmi_metrics_randomized_delay (30 s ) must be a systemd time span'),
    ('tmi_metrics_randomized_delay', True, 'tmi_metrics_randomized_delay (True) must be a systemd time span'),
    ('tmi_metrics_textfile_name', 'tmi.txt', 'tmi_metrics_textfile_name (tmi.txt) must be a file name ending in .prom.'),
    ('tmi_metrics_textfile_name', '.prom', 'tmi_metrics_textfile_name (.prom) must be a file name ending in .prom.'),
    ('tmi_metrics_textfile_name', 'sub/tmi.prom', 'tmi_metrics_textfile_name (sub/tmi.prom) must be a file name'),
    ('tmi_metrics_textfile_name', 'tmi.prom.tmp', 'tmi_metrics_textfile_name (tmi.prom.tmp) must be a file name'),
    ('tmi_metrics_unit_name', 'tmi metrics', 'tmi_metrics_unit_name (tmi metrics) must be letters, digits, _ and -.'),
    ('tmi_metrics_unit_name', 'tmi.timer', 'tmi_metrics_unit_name (tmi.timer) must be letters, digits, _ and -.'),
    ('tmi_metrics_unit_name', '', 'tmi_metrics_unit_name () must be letters, digits, _ and -.'),
    ('tmi_metrics_textfile_dir', 'textfiles', 'tmi_metrics_textfile_dir (textfiles) must be an absolute path.'),
    ('tmi_metrics_state_dir', 'var/lib/tmi-metrics', 'tmi_metrics_state_dir (var/lib/tmi-metrics) must be an absolute path.'),
    ('tmi_metrics_state_dir', '', 'tmi_metrics_state_dir () must be an absolute path.'),
    ('tmi_metrics_lib_dir', 'lib', 'tmi_metrics_lib_dir (lib) must be an absolute path.'),
    ('tmi_metrics_lib_dir', None, 'tmi_metrics_lib_dir (None) must be an absolute path.'),
    ('tmi_metrics_config_path', 'tmi-metrics.json', 'tmi_metrics_config_path (tmi-metrics.json) must be an absolute path.'),
    ('tmi_metrics_config_path', '~/tmi.json', 'tmi_metrics_config_path (~/tmi.json) must be an absolute path.'),
    ('tmi_metrics_logical_backup_schedules', [{'minute': '75'}],
     'tmi_metrics_logical_backup_schedules: minute: 75 is not from 0 to 59.'),
    ('tmi_metrics_pgbackrest_schedules', NEVER, 'tmi_metrics_pgbackrest_schedules: the schedules never run'),
    ('tmi_metrics_pgbackrest_schedules', [], 'tmi_metrics_pgbackrest_schedules: no schedule given.'),
])
def test_a_bad_value_is_refused_naming_the_variable_and_its_value(name, value, message):
    found = errors(**{name: value})
    assert len(found) == 1, found
    assert found[0].startswith(message), found


def test_the_schedules_of_a_source_that_is_off_are_not_read():
    assert errors(tmi_metrics_logical_backup_enabled=False, tmi_metrics_logical_backup_schedules=[{'minute': '75'}],
                  tmi_metrics_pgbackrest_enabled=False, tmi_metrics_pgbackrest_schedules='0 2 * * *') == []


def test_every_refusal_is_given_in_the_order_of_the_rules():
    assert errors(tmi_metrics_config_path='c', tmi_metrics_port=0, tmi_metrics_unit_name='u u',
                  tmi_metrics_interval='x', tmi_metrics_logical_backup_schedules=[{'hour': '25'}],
                  tmi_metrics_textfile_dir='t') == [
        'tmi_metrics_port is 0: allowed: a whole number, 1 to 65535.',
        'tmi_metrics_interval (x) must be a systemd time span such as 5min or 30s.',
        'tmi_metrics_unit_name (u u) must be letters, digits, _ and -.',
        'tmi_metrics_textfile_dir (t) must be an absolute path.',
        'tmi_metrics_config_path (c) must be an absolute path.',
        'tmi_metrics_logical_backup_schedules: hour: 25 is not from 0 to 23.',
    ]


@pytest.mark.parametrize('settings, message', [
    (['tmi_metrics_port'], 'expects a mapping of variable name to value, not list'),
    (dict((k, v) for k, v in DEFAULTS.items() if k != 'tmi_metrics_lib_dir'), 'missing: tmi_metrics_lib_dir'),
    (dict(DEFAULTS, tmi_metrics_prot=5432), 'unknown: tmi_metrics_prot'),
    (dict(DEFAULTS, tmi_metrics_pgbackrest_enabled='yes'),
     "tmi_metrics_pgbackrest_enabled must be given as a boolean .*, not 'yes'"),
])
def test_a_wrong_call_is_an_error_of_the_play(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        tmi_metrics_setting_errors(settings)

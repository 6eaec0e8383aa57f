"""tmi.postgresql.prometheus_setting_errors: each rule of the prometheus role's check, accepted and refused."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.prometheus import prometheus_setting_errors

# The role's defaults (roles/prometheus/defaults/main.yml), as the check task gives them.
DEFAULTS = {
    'prometheus_scrape_interval': '15s',
    'prometheus_scrape_timeout': '10s',
    'prometheus_evaluation_interval': '15s',
    'prometheus_retention_time': '15d',
    'prometheus_retention_size': '',
    'prometheus_config_file': '/etc/prometheus/prometheus.yml',
    'prometheus_rules_dir': '/etc/prometheus/rules',
    'prometheus_storage_dir': '/var/lib/prometheus/metrics2',
    'prometheus_secrets_dir': '/etc/prometheus/tmi-exporters',
    'prometheus_exporters_ca_file': '',
}
NOT_A_DURATION = 'is not a duration of Prometheus (a whole number and ms, s, m, h, d, w or y).'


def errors(**settings):
    return prometheus_setting_errors(dict(DEFAULTS, **settings))


def test_the_defaults_are_accepted():
    assert errors() == []


@pytest.mark.parametrize('name, value', [
    ('prometheus_scrape_interval', '1m'), ('prometheus_scrape_timeout', '500ms'), ('prometheus_scrape_interval', '10s'),
    ('prometheus_evaluation_interval', '1h'), ('prometheus_evaluation_interval', '0s'),
    ('prometheus_retention_time', '2w'), ('prometheus_retention_time', '1y'), ('prometheus_retention_time', '90d'),
    ('prometheus_retention_size', '10GB'), ('prometheus_retention_size', '512MB'), ('prometheus_retention_size', '1EB'),
    ('prometheus_retention_size', '100B'),
    ('prometheus_config_file', '/srv/p.yml'), ('prometheus_rules_dir', '/'), ('prometheus_storage_dir', '/data/tsdb'),
    ('prometheus_secrets_dir', '/etc/p-secrets'),
    ('prometheus_exporters_ca_file', '/etc/ssl/certs/tmi-ca.crt'), ('prometheus_exporters_ca_file', '/etc/ssl/a b.crt'),
])
def test_a_good_value_is_accepted(name, value):
    assert errors(**{name: value}) == []


@pytest.mark.parametrize('name, value', [
    ('prometheus_scrape_interval', '15 s'), ('prometheus_scrape_timeout', '10'), ('prometheus_scrape_timeout', 'soon'),
    ('prometheus_evaluation_interval', '1.5m'), ('prometheus_evaluation_interval', '-15s'),
    ('prometheus_retention_time', '15 days'), ('prometheus_retention_time', '15D'),
    ('prometheus_retention_time', '1h30m'), ('prometheus_retention_time', '15d\n'), ('prometheus_retention_time', ''),
    ('prometheus_retention_time', None), ('prometheus_retention_time', True), ('prometheus_scrape_interval', 'ms'),
    ('prometheus_scrape_interval', 30),
])
def test_a_value_that_is_not_a_duration_is_refused_naming_the_variable_and_its_value(name, value):
    assert errors(**{name: value}) == ['%s (%s) %s' % (name, value, NOT_A_DURATION)]


@pytest.mark.parametrize('interval, timeout', [
    ('15s', '15s'), ('1m', '60s'), ('1m', '59s'), ('1s', '1000ms'), ('1y', '365d'), ('2w', '14d'), ('1h', '3599999ms'),
])
def test_a_timeout_no_longer_than_the_interval_is_accepted(interval, timeout):
    assert errors(prometheus_scrape_interval=interval, prometheus_scrape_timeout=timeout) == []


@pytest.mark.parametrize('interval, timeout', [
    ('1m', '61s'), ('59s', '1m'), ('1s', '1001ms'), ('364d', '1y'), ('1y', '53w'), ('10ms', '1s'),
])
def test_a_timeout_longer_than_the_interval_is_refused_naming_both(interval, timeout):
    assert errors(prometheus_scrape_interval=interval, prometheus_scrape_timeout=timeout) == [
        'prometheus_scrape_timeout (%s) is longer than prometheus_scrape_interval (%s): a scrape must end before the '
        'next one starts.' % (timeout, interval)]


def test_the_timeout_is_not_compared_when_either_is_not_a_duration():
    assert errors(prometheus_scrape_interval='1 m', prometheus_scrape_timeout='2m') == [
        'prometheus_scrape_interval (1 m) %s' % NOT_A_DURATION]
    assert errors(prometheus_scrape_interval='1m', prometheus_scrape_timeout='2 h') == [
        'prometheus_scrape_timeout (2 h) %s' % NOT_A_DURATION]


@pytest.mark.parametrize('value', ['10G', '10gb', '10 GB', 'GB', '1.5GB', '10GiB', '10GB\n', 10, None, ' '])
def test_a_retention_size_that_is_not_a_size_nor_empty_is_refused(value):
    assert errors(prometheus_retention_size=value) == [
        'prometheus_retention_size (%s) is not a size (a whole number and B, KB, MB, GB, TB, PB or EB), nor empty.'
        % (value,)]


@pytest.mark.parametrize('name', ['prometheus_config_file', 'prometheus_rules_dir', 'prometheus_storage_dir',
                                  'prometheus_secrets_dir'])
@pytest.mark.parametrize('value', ['rules', 'etc/prometheus', '', '/etc/prom etheus', '/etc/prometheus\t',
                                   '/etc/prometheus\n', None, 5])
def test_a_relative_path_or_one_with_a_blank_is_refused(name, value):
    assert errors(**{name: value}) == ['%s (%s) must be an absolute path without blanks.' % (name, value)]


@pytest.mark.parametrize('value', ['tmi-ca.crt', './ca.crt', None, False])
def test_a_relative_ca_file_is_refused_an_empty_one_is_not(value):
    assert errors(prometheus_exporters_ca_file=value) == [
        'prometheus_exporters_ca_file (%s) must be an absolute path or empty.' % (value,)]
    assert errors(prometheus_exporters_ca_file='') == []


def test_every_refused_setting_has_its_own_message_in_order():
    assert errors(prometheus_scrape_interval='1m', prometheus_scrape_timeout='2m', prometheus_retention_time='15days',
                  prometheus_retention_size='1G', prometheus_rules_dir='rules', prometheus_secrets_dir='s',
                  prometheus_exporters_ca_file='ca.crt') == [
        'prometheus_retention_time (15days) %s' % NOT_A_DURATION,
        'prometheus_scrape_timeout (2m) is longer than prometheus_scrape_interval (1m): a scrape must end before the '
        'next one starts.',
        'prometheus_retention_size (1G) is not a size (a whole number and B, KB, MB, GB, TB, PB or EB), nor empty.',
        'prometheus_rules_dir (rules) must be an absolute path without blanks.',
        'prometheus_secrets_dir (s) must be an absolute path without blanks.',
        'prometheus_exporters_ca_file (ca.crt) must be an absolute path or empty.']


@pytest.mark.parametrize('settings, message', [
    ({}, 'prometheus_setting_errors: missing: prometheus_config_file, prometheus_evaluation_interval'),
    (dict(DEFAULTS, prometheus_scrape_intervall='15s'), 'unknown: prometheus_scrape_intervall'),
    (['prometheus_scrape_interval'], 'expects a mapping of variable name to value, not list'),
])
def test_a_missing_or_unknown_name_is_an_error_of_the_play(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        prometheus_setting_errors(settings)

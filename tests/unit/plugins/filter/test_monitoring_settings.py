"""tmi.postgresql.monitoring_setting_errors: each rule of the monitoring role's check, accepted and refused."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.monitoring import monitoring_setting_errors

# The role's defaults (roles/monitoring/defaults/main.yml, monitoring_user from the common one).
DEFAULTS = {
    'monitoring_web_tls_cert_file': '',
    'monitoring_web_tls_key_file': '',
    'monitoring_user': 'tmi_monitoring',
    'monitoring_textfile_dir': '/var/lib/prometheus/node-exporter',
}


def errors(**settings):
    return monitoring_setting_errors(dict(DEFAULTS, **settings))


def test_the_defaults_are_accepted():
    assert errors() == []


@pytest.mark.parametrize('settings', [
    {'monitoring_web_tls_cert_file': '/etc/ssl/e.crt', 'monitoring_web_tls_key_file': '/etc/ssl/e.key'},
    {'monitoring_web_tls_cert_file': None, 'monitoring_web_tls_key_file': ''},
    {'monitoring_user': 'a'}, {'monitoring_user': '_scraper2'}, {'monitoring_user': 'a' * 63},
    {'monitoring_textfile_dir': '/'}, {'monitoring_textfile_dir': '/srv/text files'},
])
def test_good_values_are_accepted(settings):
    assert errors(**settings) == []


@pytest.mark.parametrize('cert, key, shown', [
    ('/etc/ssl/e.crt', '', 'monitoring_web_tls_cert_file is /etc/ssl/e.crt, monitoring_web_tls_key_file is empty'),
    ('', '/etc/ssl/e.key', 'monitoring_web_tls_cert_file is empty, monitoring_web_tls_key_file is /etc/ssl/e.key'),
    (None, '/etc/ssl/e.key', 'monitoring_web_tls_cert_file is empty, monitoring_web_tls_key_file is /etc/ssl/e.key'),
])
def test_a_certificate_without_its_key_or_a_key_without_its_certificate_is_refused(cert, key, shown):
    assert errors(monitoring_web_tls_cert_file=cert, monitoring_web_tls_key_file=key) == [
        'monitoring_web_tls_cert_file and monitoring_web_tls_key_file go together: set both or neither (%s).' % shown]


@pytest.mark.parametrize('user', ['Bad-Name', 'Monitoring', '2scrape', 'tmi monitoring', 'a' * 64, '', 'tmi\n',
                                  'tmi-monitoring', None, 5])
def test_a_user_that_is_not_a_lower_case_identifier_is_refused(user):
    assert errors(monitoring_user=user) == ['monitoring_user (%s) must be a lower-case identifier.' % (user,)]


@pytest.mark.parametrize('folder', ['textfiles', './textfiles', '', None])
def test_a_relative_textfile_folder_is_refused(folder):
    assert errors(monitoring_textfile_dir=folder) == [
        'monitoring_textfile_dir (%s) must be an absolute path.' % (folder,)]


def test_every_refused_setting_has_its_own_message_in_order():
    assert [e.split(' ')[0] for e in errors(monitoring_web_tls_key_file='/k', monitoring_user='X',
                                            monitoring_textfile_dir='t')] == [
        'monitoring_web_tls_cert_file', 'monitoring_user', 'monitoring_textfile_dir']


@pytest.mark.parametrize('settings, message', [
    ({}, 'monitoring_setting_errors: missing: monitoring_textfile_dir, monitoring_user'),
    (dict(DEFAULTS, monitoring_port=9187), 'unknown: monitoring_port'),
    ('tmi_monitoring', 'expects a mapping of variable name to value, not str'),
])
def test_a_missing_or_unknown_name_is_an_error_of_the_play(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        monitoring_setting_errors(settings)

"""tmi.postgresql.prometheus_targets and prometheus_target_errors: Prometheus's targets from the inventory."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.prometheus import prometheus_target_errors, prometheus_targets

DEFAULTS = {'monitoring_enabled': True, 'exporter_listen': '127.0.0.1:9187', 'node_exporter_listen': '127.0.0.1:9100',
            'web_basic_auth': False, 'web_user': 'prometheus', 'tls_cert_file': '', 'secrets_dir': '/etc/prometheus/tmi'}
WIDE = {'monitoring_exporter_listen': '0.0.0.0:9187', 'monitoring_node_exporter_listen': '0.0.0.0:9100',
        'monitoring_web_basic_auth': True}


def test_exporters_on_loopback_are_scraped_by_a_prometheus_on_the_same_host_under_its_name():
    targets = prometheus_targets({'db1': {}}, ['db1'], 'db1', DEFAULTS)
    assert [(t['job'], t['name'], t['address'], t['instance'], t['scheme'], t['basic_auth_user'], t['password_file'],
             t['resolve']) for t in targets] == [
        ('postgres', 'postgres-db1', '127.0.0.1:9187', 'db1:9187', 'http', '', '', ''),
        ('node', 'node-db1', '127.0.0.1:9100', 'db1:9100', 'http', '', '', '')]


@pytest.mark.parametrize('variable, listen', [('monitoring_exporter_listen', '127.0.0.1:9187'),
                                              ('monitoring_node_exporter_listen', 'localhost:9100'),
                                              ('monitoring_exporter_listen', '[::1]:9187')])
def test_an_exporter_on_loopback_seen_from_another_host_is_refused_naming_host_and_variable(variable, listen):
    hostvars = {'db1': dict(WIDE, **{variable: listen}), 'mon1': {}}
    errors = prometheus_target_errors(hostvars, ['db1'], 'mon1', DEFAULTS)
    assert errors == ['%s of db1 is %s, a loopback address: Prometheus on mon1 cannot reach it. Let the exporters '
                      'of db1 listen on an address mon1 reaches (with monitoring_web_basic_auth), or run Prometheus '
                      'on db1.' % (variable, listen)]
    with pytest.raises(AnsibleFilterError, match='%s of db1 is' % variable):
        prometheus_targets(hostvars, ['db1'], 'mon1', DEFAULTS)


def test_the_defaults_apply_to_a_host_that_sets_nothing_so_another_prometheus_host_is_refused():
    errors = prometheus_target_errors({'db1': {}, 'db2': WIDE}, ['db1', 'db2'], 'mon1', DEFAULTS)
    assert [e.split(',')[0] for e in errors] == ['monitoring_exporter_listen of db1 is 127.0.0.1:9187',
                                                 'monitoring_node_exporter_listen of db1 is 127.0.0.1:9100']


def test_exporters_on_every_address_are_scraped_at_the_hosts_address_with_basic_auth_and_one_instance_name():
    hostvars = {'db1': dict(WIDE, ansible_host='10.0.0.5', monitoring_web_tls_cert_file='/etc/ssl/e.crt'),
                'db2': dict(WIDE, monitoring_web_user='scraper'),
                'db3': dict(WIDE, monitoring_exporter_listen='db3.internal:9187')}
    targets = prometheus_targets(hostvars, ['db1', 'db2', 'db3'], 'mon1', DEFAULTS)
    assert [(t['address'], t['instance'], t['scheme'], t['basic_auth_user'], t['password_file'], t['resolve'],
             t['address_from']) for t in targets] == [
        ('10.0.0.5:9187', 'db1:9187', 'https', 'prometheus', '/etc/prometheus/tmi/db1.password', '',
         'ansible_host of db1'),
        ('10.0.0.5:9100', 'db1:9100', 'https', 'prometheus', '/etc/prometheus/tmi/db1.password', '',
         'ansible_host of db1'),
        ('db2:9187', 'db2:9187', 'http', 'scraper', '/etc/prometheus/tmi/db2.password', 'db2', 'inventory name of db2'),
        ('db2:9100', 'db2:9100', 'http', 'scraper', '/etc/prometheus/tmi/db2.password', 'db2', 'inventory name of db2'),
        ('db3.internal:9187', 'db3:9187', 'http', 'prometheus', '/etc/prometheus/tmi/db3.password', 'db3.internal',
         'monitoring_exporter_listen of db3'),
        ('db3:9100', 'db3:9100', 'http', 'prometheus', '/etc/prometheus/tmi/db3.password', 'db3',
         'inventory name of db3')]


def test_every_address_seen_from_the_same_host_is_scraped_on_loopback():
    hostvars = {'db1': dict(WIDE, monitoring_node_exporter_listen='[::]:9100')}
    assert [t['address'] for t in prometheus_targets(hostvars, ['db1'], 'db1', DEFAULTS)] == [
        '127.0.0.1:9187', '[::1]:9100']


def test_an_ipv6_address_is_bracketed_in_the_target():
    hostvars = {'db1': dict(WIDE, monitoring_exporter_listen='[fd00::5]:9187')}
    assert prometheus_targets(hostvars, ['db1'], 'mon1', DEFAULTS)[0]['address'] == '[fd00::5]:9187'


def test_hosts_with_monitoring_off_are_left_out_and_strings_are_read_as_booleans():
    hostvars = {'db1': {'tmi_postgresql_monitoring_enabled': 'false'}, 'db2': {}}
    assert [t['host'] for t in prometheus_targets(hostvars, ['db1', 'db2'], 'db2', DEFAULTS)] == ['db2', 'db2']


@pytest.mark.parametrize('settings, message', [
    ({'monitoring_exporter_listen': '127.0.0.1'}, "monitoring_exporter_listen of db1 is '127.0.0.1': no port"),
    ({'monitoring_node_exporter_listen': '127.0.0.1:0'}, 'monitoring_node_exporter_listen of db1 is '
                                                         "'127.0.0.1:0': the port 0 is not 1 to 65535."),
    ({'monitoring_exporter_listen': None, 'monitoring_node_exporter_listen': ':x'},
     "monitoring_node_exporter_listen of db1 is ':x': the port x"),
    ({'monitoring_web_basic_auth': 'maybe'}, "monitoring_web_basic_auth of db1 is 'maybe', which is not true or false."),
])
def test_malformed_settings_are_refused_naming_host_and_variable(settings, message):
    errors = prometheus_target_errors({'db1': settings}, ['db1'], 'db1', DEFAULTS)
    assert len(errors) == 1 and errors[0].startswith(message), errors


def test_an_empty_group_or_one_without_monitoring_is_refused_naming_the_group():
    assert prometheus_target_errors({}, [], 'mon1', DEFAULTS, 'pg') == [
        'The group pg (tmi_postgresql_hosts) has no host: Prometheus has no exporter to scrape.']
    assert prometheus_target_errors({'db1': {'tmi_postgresql_monitoring_enabled': False}}, ['db1'], 'mon1',
                                    DEFAULTS, 'pg')[0].startswith('No host of the group pg has monitoring on')


def test_a_host_name_that_cannot_name_a_file_is_refused():
    assert prometheus_target_errors({'db 1': {}}, ['db 1'], 'db 1', DEFAULTS) == [
        "The database host 'db 1' cannot name its targets (letters, digits, _ . - only)."]


def test_missing_defaults_are_a_programming_error():
    with pytest.raises(AnsibleFilterError, match='defaults lack secrets_dir'):
        prometheus_targets({'db1': {}}, ['db1'], 'db1', {k: v for k, v in DEFAULTS.items() if k != 'secrets_dir'})

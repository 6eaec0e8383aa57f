# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus on the container of the group tmi_postgresql_prometheus (issue 13, item 2).

site.yml's last play installed it there; the container shares the host's
network, so the tests ask its HTTP API at prometheus_listen as an operator's
browser would. The collection's rules are loaded, both exporters of the host
are scraped under the job and instance names the rules join on, and an alert
fires for real from a failure made here: a burst of failed logins, counted
from the server log by tmi_metrics, read by the node exporter, evaluated by
Prometheus. The other container has no Prometheus: these tests skip there.
"""

import json
import os
import urllib.parse
import urllib.request

import psycopg2
import pytest
import yaml
from test_monitoring_flips import until
from test_tmi_metrics import config, run_once  # noqa: F401  pylint: disable=unused-import

RULES_FILE = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'files', 'prometheus',
                          'tmi-postgresql.rules.yml')


@pytest.fixture(scope='module')
def prometheus(host):
    """GET of Prometheus's HTTP API (path, query parameters): the answer's data."""
    variables = host.ansible.get_variables()
    if 'tmi_postgresql_prometheus' not in variables['group_names']:
        pytest.skip('no Prometheus on %s' % variables['inventory_hostname'])

    def get(path, **params):
        url = 'http://%s/api/v1/%s' % (variables['prometheus_listen'], path)
        if params:
            url += '?' + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=30) as response:
            answer = json.load(response)
        assert answer['status'] == 'success', answer
        return answer['data']
    return get


def test_the_collections_rules_are_loaded_and_evaluate(prometheus):
    with open(RULES_FILE) as shipped:
        expected = {rule['alert'] for group in yaml.safe_load(shipped)['groups'] for rule in group['rules']}
    loaded = [rule for group in prometheus('rules')['groups'] for rule in group['rules']]
    assert {rule['name'] for rule in loaded} == expected
    assert [rule['name'] for rule in loaded if rule['health'] == 'err'] == []


def test_both_exporters_of_the_host_are_up_under_the_names_the_rules_join_on(host, prometheus):
    name = host.ansible.get_variables()['inventory_hostname']

    def all_up():
        active = prometheus('targets', state='active')['activeTargets']
        health = {(target['labels']['job'], target['labels']['instance']): target['health'] for target in active}
        return health if set(health.values()) == {'up'} else None
    found = until(30, all_up, 'every target up')
    assert set(found) == {('postgres', '%s:29187' % name), ('node', '%s:29100' % name)}


def test_a_burst_of_failed_logins_fires_its_alert(host, prometheus, app_connect, config):  # noqa: F811
    # The counter's value before the burst must be in Prometheus for increase() to see it grow.
    run_once(host, config)
    until(30, lambda: prometheus('query', query='tmi_auth_failures_total')['result'], 'a first sample')
    for attempt in range(12):
        with pytest.raises(psycopg2.OperationalError, match='password authentication failed'):
            app_connect(password='wrong-password-%d' % attempt)
    assert run_once(host, config)['tmi_auth_failures_total'] >= 12

    def firing():
        return [alert for alert in prometheus('alerts')['alerts']
                if alert['labels']['alertname'] == 'PostgresqlAuthFailuresBurst' and alert['state'] == 'firing']
    alerts = until(60, firing, 'PostgresqlAuthFailuresBurst firing')
    assert alerts[0]['labels']['instance'].startswith(host.ansible.get_variables()['inventory_hostname'] + ':')

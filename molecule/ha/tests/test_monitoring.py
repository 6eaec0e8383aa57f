# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's metrics on the Patroni members (issue 13): each member's exporters say which member leads, the leader
counts its streaming standby and its lag by the standby's name, and every member expects the other members as
standbys, which is what the alert rules join on (they read the expectation only on the primary)."""

import re
import urllib.request

import pytest

from test_patroni import cluster

# The exporters of each member (molecule.yml's host vars): postgres, node.
EXPORTERS = {'tmi-ha-1': (29487, 29400), 'tmi-ha-2': (29488, 29401)}


def metrics(port):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=30) as response:
        return response.read().decode()


def samples(text, name):
    """{labels: value} of metric name ('' for a sample without labels)."""
    found = {}
    for match in re.finditer(r'^%s(\{[^}]*\})? (\S+)$' % re.escape(name), text, re.M):
        found[match.group(1) or ''] = float(match.group(2))
    return found


@pytest.fixture(scope='module')
def roles(hosts):
    return dict((name, member['Role']) for name, member in cluster(hosts['tmi-ha-1']).items())


@pytest.mark.parametrize('member', sorted(EXPORTERS))
def test_each_member_says_whether_it_is_a_standby(roles, member):
    text = metrics(EXPORTERS[member][0])
    assert list(samples(text, 'pg_up').values()) == [1]
    assert list(samples(text, 'tmi_replication_is_standby').values()) == [0 if roles[member] == 'Leader' else 1]


def test_the_leader_counts_its_streaming_standby_and_its_lag_by_name(roles):
    leader = [name for name, role in roles.items() if role == 'Leader'][0]
    standby = [name for name in roles if name != leader][0]
    text = metrics(EXPORTERS[leader][0])
    assert list(samples(text, 'tmi_replication_standbys_streaming').values()) == [1]
    lag = samples(text, 'tmi_replication_lag_bytes')
    assert [labels for labels in lag if 'application_name="%s"' % standby in labels], lag


@pytest.mark.parametrize('member', sorted(EXPORTERS))
def test_every_member_expects_the_other_member_as_its_standby(hosts, member):
    hosts[member].run_expect([0], 'systemctl start tmi-metrics.service')
    text = metrics(EXPORTERS[member][1])
    assert list(samples(text, 'tmi_replication_standbys_expected').values()) == [1]
    failing = dict((labels, value) for labels, value in samples(text, 'tmi_metrics_source_error').items() if value)
    assert failing == {}

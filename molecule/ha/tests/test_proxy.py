# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI through the proxy (issue 12, item 2): the .env names the proxy, and the proxy sends tmi_app to the leader.

For molecule/ha: the hosts come from the scenario's inventory (groups
tmi_postgresql, tmi_postgresql_proxy); each query runs in the container that
holds TMI's .env, with the .env's own values (the password never on a command
line), so that the names it holds resolve as they do for TMI.
"""

import csv
import io
import json
import os
import re

import pytest
import testinfra
import yaml

ENV = '/etc/tmi/tmi.env'
CA = '/etc/haproxy/tls/tmi-cluster-ca.crt'
SOCKET = '/run/haproxy/admin.sock'
# psql with the .env's settings; the query comes as $1.
PSQL = ('set -a; . %s; set +a; PGPASSWORD="$POSTGRES_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -A -t -q -v ON_ERROR_STOP=1 '
        '"host=$POSTGRES_HOST port=$POSTGRES_PORT user=$POSTGRES_USER dbname=$POSTGRES_DB sslmode=$POSTGRES_SSLMODE" '
        '-c "$1"' % ENV)
ADMIN = ('import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(%r); s.sendall(b"show stat\\n"); '
         'sys.stdout.write(s.makefile().read())' % SOCKET)


def _inventory():
    path = os.environ['MOLECULE_INVENTORY_FILE']
    with open(path) as f:
        return path, yaml.safe_load(f)


def _group(inventory, name):
    found = []

    def walk(node, inside):
        for key, child in (node or {}).items():
            if key == 'hosts' and inside:
                found.extend(h for h in (child or {}) if h not in found)
            elif isinstance(child, dict):
                walk(child, inside or key == name)
    walk(inventory, False)
    return found


@pytest.fixture(scope='module')
def inventory():
    return _inventory()


def _host(inventory, name):
    return testinfra.get_host('ansible://%s' % name, ansible_inventory=inventory[0])


@pytest.fixture(scope='module')
def members(inventory):
    return {name: _host(inventory, name) for name in _group(inventory[1], 'tmi_postgresql')}


@pytest.fixture(scope='module')
def proxies(inventory):
    names = _group(inventory[1], 'tmi_postgresql_proxy')
    assert names, 'the scenario has no host in the group tmi_postgresql_proxy'
    return {name: _host(inventory, name) for name in names}


@pytest.fixture(scope='module')
def tmi(inventory, members, proxies):
    """(name, host) of the first host holding TMI's .env: a proxy host, else a member."""
    for name, host in list(proxies.items()) + list(members.items()):
        if host.file(ENV).exists:
            return name, host
    pytest.fail('no host of the scenario has %s' % ENV)


def env_values(host):
    text = host.check_output('cat %s', ENV)
    return dict(line.split('=', 1) for line in text.splitlines() if line and not line.startswith('#'))


def tmi_sql(host, query):
    return host.check_output('sh -c %s psql %s', PSQL, query)


def primary_port(proxy):
    config = proxy.file('/etc/haproxy/haproxy.cfg').content_string
    listener = config.split('listen tmi_postgresql_primary', 1)[1]
    return int(re.search(r'^\s*bind\s+\S+:(\d+)\s*$', listener, re.M).group(1))


def rest_ports(proxy):
    """{member: its REST API port}, from the proxy's server lines (`server NAME ADDR:PORT check port N ...`)."""
    config = proxy.file('/etc/haproxy/haproxy.cfg').content_string
    return {m.group(1): int(m.group(2)) for m in re.finditer(r'^\s*server\s+(\S+)\s+\S+\s+check port (\d+)', config, re.M)}


def leader(members, proxies):
    """The member Patroni names leader, asked on any member's REST API with the cluster CA."""
    ports = rest_ports(next(iter(proxies.values())))
    for name, host in members.items():
        run = host.run('python3 -c %s', 'import json, ssl, sys, urllib.request; '
                       'ctx = ssl.create_default_context(cafile="/etc/patroni/tls/ca.crt"); '
                       'cluster = json.load(urllib.request.urlopen("https://%s:%s/cluster", context=ctx, timeout=5)); '
                       'print(json.dumps(cluster))' % (name, ports[name]))
        if run.rc == 0:
            cluster = json.loads(run.stdout)
            return next(m for m in cluster['members'] if m['role'] == 'leader')
    pytest.fail('no member answered /cluster')


def test_the_env_names_the_proxy_not_a_member(tmi, proxies):
    name, host = tmi
    values = env_values(host)
    first = next(iter(proxies))
    expected_host = '127.0.0.1' if name in proxies else first
    assert (values['POSTGRES_HOST'], int(values['POSTGRES_PORT'])) == (expected_host, primary_port(proxies[first]))
    assert values['POSTGRES_USER'] == 'tmi_app'


def test_tmi_app_reaches_the_leader_through_the_proxy_over_tls_and_can_write(tmi, members, proxies):
    host = tmi[1]
    now = leader(members, proxies)
    row = tmi_sql(host, 'SELECT pg_is_in_recovery(), current_setting(\'port\'), current_user, '
                        '(SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid())')
    assert row.split('|') == ['f', str(now['port']), 'tmi_app', 't']
    # Read-write: an insert TMI's role may make, rolled back.
    tmi_sql(host, "BEGIN; INSERT INTO users (email, name) VALUES ('proxy-test@example.org', 'proxy test'); ROLLBACK")


def test_each_proxy_has_the_leader_up_and_every_other_member_down(proxies, members):
    now = leader(members, proxies)['name']
    for name, proxy in proxies.items():
        text = proxy.check_output('python3 -c %s', ADMIN).lstrip('# ')
        rows = {r['svname']: r['status'] for r in csv.DictReader(io.StringIO(text))
                if r['pxname'] == 'tmi_postgresql_primary' and r['svname'] not in ('FRONTEND', 'BACKEND')}
        assert rows == {m: ('UP' if m == now else 'DOWN') for m in members}, name
        assert proxy.file(CA).exists

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy role on a systemd host (issue 12): HAProxy checked, started, reloaded, and refusing bad input.

No member runs here (pg-a and pg-b resolve to 127.0.0.1, nothing listens on
their ports), so both are down: routing to a real Patroni leader is
molecule/ha's tests/test_proxy.py.
"""

import csv
import io
import re

import pytest

CONFIG = '/etc/haproxy/haproxy.cfg'
SOCKET = '/run/haproxy/admin.sock'
PRIMARY, REPLICAS = 25470, 25471
MEMBERS = {'pg-a': (25472, 25474), 'pg-b': (25473, 25475)}
ADMIN = 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(%r); s.sendall(sys.argv[1].encode() + b"\\n"); ' \
        'sys.stdout.write(s.makefile().read())' % SOCKET
# The TCP addresses listening on this (the host's) network, from /proc.
LISTENING = r'''
import socket
for table, family in (("/proc/net/tcp", socket.AF_INET), ("/proc/net/tcp6", socket.AF_INET6)):
    for line in open(table).read().splitlines()[1:]:
        fields = line.split()
        if fields[3] == "0A":
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            print("%s:%d" % (socket.inet_ntop(family, raw), int(port, 16)))
'''


def admin(proxy, command):
    return proxy.check_output('python3 -c %s %s', ADMIN, command)


def stat_rows(proxy):
    text = admin(proxy, 'show stat').lstrip('# ')
    return [row for row in csv.DictReader(io.StringIO(text)) if row['svname'] not in ('FRONTEND', 'BACKEND')]


def test_haproxy_runs_at_boot_with_a_configuration_it_accepts(proxy):
    assert proxy.service('haproxy').is_running and proxy.service('haproxy').is_enabled
    assert proxy.run('haproxy -c -f %s', CONFIG).rc == 0
    config = proxy.file(CONFIG)
    assert (config.user, config.group, config.mode) == ('root', 'haproxy', 0o640)


def test_it_listens_on_the_two_loopback_ports_only_no_statistics_page(proxy):
    # Root in the container cannot read the worker's descriptors (it runs as haproxy, no CAP_SYS_PTRACE): the
    # configuration says where HAProxy binds, /proc that those sockets listen.
    config = proxy.file(CONFIG).content_string
    assert re.findall(r'^\s*bind\s+(\S+)', config, re.M) == ['127.0.0.1:%d' % PRIMARY, '127.0.0.1:%d' % REPLICAS]
    assert not re.search(r'^\s*(stats\s+(uri|enable)|mode\s+http)', config, re.M)
    ours = {a for a in proxy.check_output('python3 -c %s', LISTENING).split()
            if a.rsplit(':', 1)[1] in (str(PRIMARY), str(REPLICAS))}
    assert ours == {'127.0.0.1:%d' % PRIMARY, '127.0.0.1:%d' % REPLICAS}


def test_the_admin_socket_lists_each_member_with_its_address_and_rest_api_check(proxy):
    rows = stat_rows(proxy)
    assert sorted((r['pxname'], r['svname'], r['addr']) for r in rows) == sorted(
        (listener, name, '127.0.0.1:%d' % ports[0])
        for listener in ('tmi_postgresql_primary', 'tmi_postgresql_replicas') for name, ports in MEMBERS.items())
    # Nothing answers on the REST API ports: every member is down, from its check (L4CON), never from traffic.
    assert {(r['status'], r['check_status']) for r in rows} == {('DOWN', 'L4CON')}
    state = admin(proxy, 'show servers state tmi_postgresql_primary').splitlines()
    header = state[1].lstrip('# ').split()
    servers = {line.split()[header.index('srv_name')]: dict(zip(header, line.split())) for line in state[2:] if line}
    assert {name: int(s['srv_check_port']) for name, s in servers.items()} == {n: p[1] for n, p in MEMBERS.items()}


def test_without_a_leader_a_client_is_let_in_and_closed_without_a_byte(proxy):
    script = ('import socket; s = socket.create_connection(("127.0.0.1", %d), 5); s.settimeout(15); '
              'print(repr(s.recv(1)))' % PRIMARY)
    assert proxy.check_output('python3 -c %s', script) == "b''"


def test_the_checks_trust_the_cluster_ca_and_the_proxy_holds_no_key(proxy):
    ca = proxy.file('/etc/haproxy/tls/tmi-cluster-ca.crt')
    assert ca.content_string == proxy.file('/etc/ssl/tmi-pgbackrest-ca/ca.crt').content_string
    assert (ca.user, ca.mode) == ('root', 0o644)
    assert proxy.file('/etc/haproxy/tls').listdir() == ['tmi-cluster-ca.crt']


def test_check_mode_changes_nothing(converge):
    rc, output, changed = converge('--check')
    assert rc == 0 and changed == 0, output[-4000:]


@pytest.mark.parametrize('setting, message', [
    ('proxy_check_fall=0', "proxy_check_fall is '0': allowed: a whole number, 1 to 100. Nothing was changed."),
    ('proxy_replica_port=25470', 'proxy_replica_port (25470) is proxy_primary_port'),
    ('proxy_ca_source_file=/nonexistent/ca.crt', 'has no CA certificate at /nonexistent/ca.crt'),
    ('patroni_restapi_port=http', 'patroni_restapi_port of pg-a is'),
])
def test_bad_input_stops_before_anything_changes(proxy, converge, setting, message):
    before = proxy.file(CONFIG).sha256sum
    rc, output, changed = converge('-e', setting)
    assert rc != 0 and message in ' '.join(output.split()), output[-4000:]
    assert changed == 0 and proxy.file(CONFIG).sha256sum == before


def test_a_member_name_haproxy_cannot_resolve_keeps_the_old_file_and_haproxy_serving(proxy, converge):
    before = proxy.file(CONFIG).sha256sum
    rc, output = converge('-e', 'patroni_connect_host=pg-nowhere.invalid')[:2]
    assert rc != 0 and 'pg-nowhere.invalid' in output, output[-4000:]
    assert proxy.file(CONFIG).sha256sum == before and proxy.service('haproxy').is_running


def test_a_changed_setting_reloads_haproxy_without_restarting_it(proxy, converge):
    master = proxy.check_output('systemctl show -p MainPID --value haproxy')
    worker = admin(proxy, 'show info')
    try:
        rc, output, changed = converge('-e', 'proxy_check_interval=3')
        # The file and the reload.
        assert rc == 0 and changed == 2 and 'RUNNING HANDLER [tmi.postgresql.proxy : Reload haproxy]' in output, output
        assert 'inter 3s' in proxy.file(CONFIG).content_string
        assert proxy.check_output('systemctl show -p MainPID --value haproxy') == master
        assert _line(admin(proxy, 'show info'), 'Pid:') != _line(worker, 'Pid:')
    finally:
        rc, output = converge()[:2]
        assert rc == 0, output[-4000:]
    assert 'inter 2s' in proxy.file(CONFIG).content_string


def _line(text, prefix):
    return next(line for line in text.splitlines() if line.startswith(prefix))

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy role on tmi-ha-3 (issue 12): HAProxy checked, started, reloaded, and refusing bad input.

Routing TMI to the Patroni leader is tests/test_proxy.py; these are the role's own guarantees, with
playbooks/proxy.yml run again from the controller on the scenario's inventory.
"""

import os
import re
import subprocess

import pytest

CONFIG = '/etc/haproxy/haproxy.cfg'
SOCKET = '/run/haproxy/admin.sock'
PRIMARY = 25450
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


@pytest.fixture(scope='module')
def proxy(hosts):
    return hosts['tmi-ha-3']


@pytest.fixture
def converge():
    """Run playbooks/proxy.yml again with extra arguments; return (exit status, output, changed count)."""
    def run(*args):
        argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
                os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'playbooks', 'proxy.yml')] + list(args)
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env=dict(os.environ, NO_COLOR='1', ANSIBLE_NOCOLOR='1'))
        recap = re.search(r'tmi-ha-3\s+:\s+ok=\d+\s+changed=(\d+)', done.stdout)
        return done.returncode, done.stdout + done.stderr, int(recap.group(1)) if recap else None
    return run


def admin(proxy, command):
    return proxy.check_output('python3 -c %s %s', ADMIN, command)


def test_haproxy_runs_at_boot_with_a_configuration_it_accepts(proxy):
    assert proxy.service('haproxy').is_running and proxy.service('haproxy').is_enabled
    assert proxy.run('haproxy -c -f %s', CONFIG).rc == 0
    config = proxy.file(CONFIG)
    assert (config.user, config.group, config.mode) == ('root', 'haproxy', 0o640)


def test_it_listens_on_loopback_only_no_statistics_page(proxy):
    # Root in the container cannot read the worker's descriptors (it runs as haproxy, no CAP_SYS_PTRACE): the
    # configuration says where HAProxy binds, /proc that those sockets listen.
    config = proxy.file(CONFIG).content_string
    assert re.findall(r'^\s*bind\s+(\S+)', config, re.M) == ['127.0.0.1:%d' % PRIMARY]
    assert not re.search(r'^\s*(stats\s+(uri|enable)|mode\s+http)', config, re.M)
    ours = {a for a in proxy.check_output('python3 -c %s', LISTENING).split()
            if a.rsplit(':', 1)[1] == str(PRIMARY)}
    assert ours == {'127.0.0.1:%d' % PRIMARY}


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
    ('{"proxy_replica_enabled": true, "proxy_replica_port": 25450}', 'proxy_replica_port (25450) is proxy_primary_port'),
    ('proxy_ca_source_file=/nonexistent/ca.crt', 'has no CA certificate at /nonexistent/ca.crt'),
    ('patroni_restapi_port=http', 'patroni_restapi_port of tmi-ha-1 is'),
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

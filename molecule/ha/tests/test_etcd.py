# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `molecule verify` checks of the etcd cluster (issue 12): three members over TLS, authentication on,
Patroni's user confined to its prefix, and no write without a quorum."""

import base64
import os
import socket
import subprocess
import ssl
import time

import pytest

from conftest import MEMBERS, PEER_PORTS

PROJECT = os.environ['MOLECULE_PROJECT_DIRECTORY']


def b64(text):
    return base64.b64encode(text.encode()).decode()


def error_text(answer):
    """The gateway's error text: etcd 3.4 (Debian 12) puts it in error, 3.5 (Debian 13) in message."""
    return answer.get('error') or answer.get('message') or ''


def healthy(etcd, member):
    try:
        status, answer = etcd.request(member, '/health', timeout=3)
    except OSError:
        return False
    return status == 200 and answer.get('health') == 'true'


@pytest.mark.parametrize('member', sorted(MEMBERS))
def test_each_member_runs_under_systemd_and_is_healthy_over_tls(hosts, etcd, member):
    service = hosts[member].service('etcd')
    assert service.is_running and service.is_enabled
    assert healthy(etcd, member)


def test_the_cluster_has_the_three_members_with_https_urls_only(etcd, passwords):
    token = etcd.token('tmi-ha-2', 'root', passwords['root'])
    status, answer = etcd.request('tmi-ha-2', '/v3/cluster/member/list', {}, token=token)
    assert status == 200, answer
    members = dict((m['name'], m) for m in answer['members'])
    assert sorted(members) == sorted(MEMBERS)
    for name, port in MEMBERS.items():
        assert members[name]['clientURLs'] == ['https://%s:%d' % (name, port)]
        assert members[name]['peerURLs'] == ['https://%s:%d' % (name, PEER_PORTS[name])]


@pytest.mark.parametrize('port', [MEMBERS['tmi-ha-1'], PEER_PORTS['tmi-ha-1']])
def test_plain_http_is_refused(port):
    # etcd closes a plain connection on a TLS port (or Go answers 400): nothing of etcd's comes back.
    with socket.create_connection(('127.0.0.1', port), timeout=5) as plain:
        plain.sendall(b'GET /health HTTP/1.1\r\nHost: tmi-ha-1\r\nConnection: close\r\n\r\n')
        answer = b''
        try:
            while True:
                chunk = plain.recv(4096)
                if not chunk:
                    break
                answer += chunk
        except ConnectionResetError:
            pass
    assert b'health' not in answer and b' 200 ' not in answer, answer


def test_a_client_without_a_certificate_is_refused(etcd):
    with pytest.raises((ssl.SSLError, ConnectionError)):
        etcd.request('tmi-ha-1', '/health', cert=False)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        etcd.request('tmi-ha-1', '/health', cert=False, port=PEER_PORTS['tmi-ha-1'])


def test_authentication_is_on(etcd, passwords):
    # Without a token: the certificate has no common name to stand for a user.
    status, answer = etcd.request('tmi-ha-3', '/v3/kv/range', {'key': b64('/service/')})
    assert status == 403 and 'permission denied' in error_text(answer), answer
    # With a wrong password.
    for user in ('root', 'patroni'):
        status, answer = etcd.request('tmi-ha-3', '/v3/auth/authenticate', {'name': user, 'password': passwords[user] + 'x'})
        assert status != 200 and 'authentication failed' in error_text(answer), answer


def test_patroni_writes_and_reads_under_its_prefix_only(etcd, passwords):
    token = etcd.token('tmi-ha-1', 'patroni', passwords['patroni'])
    key = b64('/service/tmi-test/leader')
    status, answer = etcd.request('tmi-ha-1', '/v3/kv/put', {'key': key, 'value': b64('tmi-ha-1')}, token=token)
    assert status == 200, answer
    status, answer = etcd.request('tmi-ha-2', '/v3/kv/range', {'key': key},
                                  token=etcd.token('tmi-ha-2', 'patroni', passwords['patroni']))
    assert status == 200 and [kv['value'] for kv in answer['kvs']] == [b64('tmi-ha-1')], answer
    assert etcd.request('tmi-ha-1', '/v3/kv/deleterange', {'key': key}, token=token)[0] == 200
    for path, body in (('/v3/kv/put', {'key': b64('/other/x'), 'value': b64('1')}),
                       ('/v3/kv/range', {'key': b64('/servicex')}),
                       ('/v3/kv/range', {'key': b64('/')})):
        status, answer = etcd.request('tmi-ha-1', path, body, token=token)
        assert status != 200 and 'permission denied' in error_text(answer), (path, answer)


@pytest.mark.parametrize('member', sorted(MEMBERS))
def test_the_configuration_key_and_data_folder_are_etcds_only(hosts, member):
    host = hosts[member]
    expected = {
        '/etc/default/etcd': ('root', 'etcd', 0o640),
        '/etc/etcd/tls/member.key': ('etcd', 'etcd', 0o600),
        '/etc/etcd/tls/member.crt': ('root', 'root', 0o644),
        '/var/lib/etcd/tmi': ('etcd', 'etcd', 0o700),
    }
    for path, wanted in expected.items():
        entry = host.file(path)
        assert (entry.user, entry.group, entry.mode) == wanted, path
    # The package's own one-member etcd never started.
    assert not host.file('/var/lib/etcd/default').exists


def test_a_wrong_root_password_stops_the_role_with_a_clear_message_and_changes_no_user(etcd, passwords, tmp_path):
    wrong = 'Wrong0etcd0root0password'
    extra = tmp_path / 'wrong.yml'
    extra.write_text('tmi_postgresql_etcd_root_password: %s\n' % wrong)
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            os.path.join(PROJECT, 'playbooks', 'etcd.yml'), '-e', '@%s' % extra]
    env = dict(os.environ, NO_COLOR='1', ANSIBLE_COLLECTIONS_PATH=os.path.join(PROJECT, '.venv', 'collections'))
    run = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    output = run.stdout + run.stderr
    assert run.returncode != 0 and "etcd refused root's password" in output, output[-4000:]
    assert wrong not in output and passwords['root'] not in output and passwords['patroni'] not in output
    assert etcd.token('tmi-ha-1', 'root', passwords['root'])
    assert etcd.token('tmi-ha-1', 'patroni', passwords['patroni'])


def test_no_write_without_a_quorum_and_the_cluster_heals(hosts, etcd, passwords):
    token = etcd.token('tmi-ha-1', 'patroni', passwords['patroni'])
    key = b64('/service/tmi-test/quorum')
    try:
        for member in ('tmi-ha-2', 'tmi-ha-3'):
            hosts[member].check_output('systemctl stop etcd')
        # Neither acknowledged nor readable (a linearizable read needs the quorum too). A write that was not
        # acknowledged may still be committed once the quorum is back: Patroni's writes are compare-and-set.
        for path, body in (('/v3/kv/put', {'key': key, 'value': b64('unacknowledged')}), ('/v3/kv/range', {'key': key})):
            try:
                status, answer = etcd.request('tmi-ha-1', path, body, token=token, timeout=4)
            except OSError as error:
                status, answer = None, {'error': repr(error)}
            assert status != 200, (path, answer)
    finally:
        for member in ('tmi-ha-2', 'tmi-ha-3'):
            hosts[member].run('systemctl start --no-block etcd')
    deadline = time.monotonic() + 60
    while not all(healthy(etcd, member) for member in MEMBERS):
        assert time.monotonic() < deadline, 'the cluster did not heal in 60 s'
        time.sleep(1)
    token = etcd.token('tmi-ha-1', 'patroni', passwords['patroni'])
    assert etcd.request('tmi-ha-1', '/v3/kv/put', {'key': key, 'value': b64('kept')}, token=token)[0] == 200
    status, answer = etcd.request('tmi-ha-3', '/v3/kv/range', {'key': key},
                                  token=etcd.token('tmi-ha-3', 'patroni', passwords['patroni']))
    assert status == 200 and [kv['value'] for kv in answer['kvs']] == [b64('kept')], answer
    assert etcd.request('tmi-ha-1', '/v3/kv/deleterange', {'key': key}, token=token)[0] == 200

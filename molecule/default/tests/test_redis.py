# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's cache (tmi.postgresql.redis, issue 15), tried as TMI uses it.

The container shares the host's network: a client here reads TMI's .env and
the CA file it names (as TMI does), connects to Redis on the host's loopback
over TLS, checking the certificate and its name, and logs in as TMI's ACL
user. The client speaks Redis's protocol (RESP) itself, with Python's socket
and ssl: no Redis library is installed for the tests. Only on hosts whose
inventory turns Redis on (tmi_postgresql_redis_enabled).
"""

import os
import socket
import ssl

import pytest

# The .env file, parsed by conftest's app_env fixture.
from conftest import ENV_FILE


@pytest.fixture(scope='module', autouse=True)
def redis_host(host):
    """Skip the module on a host without the redis role."""
    if not host.ansible.get_variables().get('tmi_postgresql_redis_enabled'):
        pytest.skip('Redis is not on this host (tmi_postgresql_redis_enabled)')


class RedisError(Exception):
    pass


class Client(object):
    """A RESP client: commands as arrays of bulk strings, replies read back; an error reply raises RedisError."""

    def __init__(self, sock):
        self.sock = sock
        self.reader = sock.makefile('rb')

    def call(self, *args):
        parts = [b'*%d\r\n' % len(args)]
        for arg in args:
            data = arg.encode() if isinstance(arg, str) else arg
            parts.append(b'$%d\r\n%s\r\n' % (len(data), data))
        self.sock.sendall(b''.join(parts))
        return self._reply()

    def _reply(self):
        line = self.reader.readline()
        if not line:
            raise RedisError('connection closed')
        kind, rest = line[:1], line[1:-2].decode()
        if kind == b'+':
            return rest
        if kind == b'-':
            raise RedisError(rest)
        if kind == b':':
            return int(rest)
        if kind == b'$':
            if rest == '-1':
                return None
            data = self.reader.read(int(rest) + 2)[:-2]
            return data.decode()
        if kind == b'*':
            return [self._reply() for dummy in range(int(rest))]
        raise RedisError('unknown reply %r' % line)

    def close(self):
        self.reader.close()
        self.sock.close()


@pytest.fixture(scope='module')
def open_client(host, app_env):
    """Connect as TMI does, from its .env: TLS with its CA and the host's name checked, when REDIS_TLS is true."""
    opened = []

    def open_():
        sock = socket.create_connection((app_env['REDIS_HOST'], int(app_env['REDIS_PORT'])), timeout=10)
        if app_env['REDIS_TLS'] == 'true':
            context = ssl.create_default_context(cadata=host.file(app_env['REDIS_TLS_CA_FILE']).content_string)
            sock = context.wrap_socket(sock, server_hostname=app_env['REDIS_HOST'])
        client = Client(sock)
        opened.append(client)
        return client
    yield open_
    for client in opened:
        client.close()


@pytest.fixture(scope='module')
def tmi(app_env, open_client):
    """A connection logged in as TMI's user, on TMI's database."""
    client = open_client()
    assert client.call('AUTH', app_env['REDIS_USERNAME'], app_env['REDIS_PASSWORD']) == 'OK'
    assert client.call('SELECT', app_env['REDIS_DB']) == 'OK'
    return client


def test_the_env_file_names_redis_with_an_acl_user_and_tls_when_the_role_has_it(host, app_env):
    tls = bool(host.ansible.get_variables().get('redis_tls', False))
    assert app_env['REDIS_TLS'] == ('true' if tls else 'false')
    assert ('REDIS_TLS_CA_FILE' in app_env) == tls
    assert app_env['REDIS_USERNAME'] == host.ansible.get_variables().get('tmi_postgresql_redis_user', 'tmi_cache')
    assert len(app_env['REDIS_PASSWORD']) >= 32
    assert app_env['REDIS_DB'].isdigit()
    assert host.file(ENV_FILE).mode == 0o600


def test_tmi_s_user_sets_and_gets_over_tls(tmi):
    assert tmi.call('SET', 'tmi:test:key', 'cached value', 'EX', '60') == 'OK'
    assert tmi.call('GET', 'tmi:test:key') == 'cached value'
    assert tmi.call('DEL', 'tmi:test:key') == 1


def test_the_connection_is_tls_1_2_or_newer(tmi, app_env):
    if app_env['REDIS_TLS'] != 'true':
        pytest.skip('plain TCP on loopback on this host')
    assert tmi.sock.version() in ('TLSv1.2', 'TLSv1.3')


def test_plain_tcp_on_the_tls_port_gets_no_answer(app_env):
    if app_env['REDIS_TLS'] != 'true':
        pytest.skip('plain TCP on loopback on this host')
    with socket.create_connection((app_env['REDIS_HOST'], int(app_env['REDIS_PORT'])), timeout=5) as sock:
        sock.sendall(b'*1\r\n$4\r\nPING\r\n')
        try:
            data = sock.recv(100)
        except (ConnectionResetError, socket.timeout):
            data = b''
        assert b'PONG' not in data and b'NOAUTH' not in data


def test_without_login_the_default_user_may_run_nothing(open_client):
    client = open_client()
    with pytest.raises(RedisError, match='NOAUTH'):
        client.call('GET', 'tmi:test:key')


@pytest.mark.parametrize('user, password', [
    ('default', ''), ('default', 'anything'), (None, 'wrong-password'), (None, 'PASSWORD-UPPER'),
])
def test_the_default_user_and_a_wrong_password_are_refused(open_client, app_env, user, password):
    # None: TMI's own user; PASSWORD-UPPER: its password in upper case.
    if password == 'PASSWORD-UPPER':
        password = app_env['REDIS_PASSWORD'].swapcase()
    client = open_client()
    with pytest.raises(RedisError, match='WRONGPASS'):
        client.call('AUTH', user or app_env['REDIS_USERNAME'], password)
    with pytest.raises(RedisError, match='NOAUTH'):
        client.call('GET', 'tmi:test:key')


@pytest.mark.parametrize('command', [
    ('FLUSHALL',), ('FLUSHDB',), ('CONFIG', 'GET', 'maxmemory'), ('CONFIG', 'SET', 'maxmemory', '0'),
    ('KEYS', '*'), ('DEBUG', 'SLEEP', '0'), ('SHUTDOWN',), ('MODULE', 'LIST'), ('ACL', 'LIST'), ('MONITOR',),
    ('REPLICAOF', 'NO', 'ONE'), ('SAVE',),
])
def test_dangerous_commands_are_refused_to_tmi_s_user(tmi, command):
    # DEBUG and MODULE are off for every connection too (enable-debug-command, enable-module-command):
    # Redis may refuse them for that before it reads the ACL.
    with pytest.raises(RedisError, match=r'^NOPERM |^ERR (DEBUG|MODULE) command not allowed'):
        tmi.call(*command)


def test_tmi_s_user_is_still_logged_in_after_the_refusals(tmi):
    assert tmi.call('PING') == 'PONG'


def test_the_server_is_a_cache_with_a_memory_limit_on_loopback(host, app_env):
    lines = host.file('/etc/redis/redis.conf').content_string.splitlines()
    assert 'maxmemory 256mb' in lines
    assert 'maxmemory-policy allkeys-lru' in lines
    assert 'protected-mode yes' in lines
    assert 'bind 127.0.0.1 -::1' in lines
    assert ('port 0' if app_env['REDIS_TLS'] == 'true' else 'port %s' % app_env['REDIS_PORT']) in lines


def test_the_server_listens_on_loopback_only(host, app_env):
    # The listening sockets of Redis's port (state 0A) in the kernel's tables (the image has no ss).
    port = '%04X' % int(app_env['REDIS_PORT'])
    addresses = []
    for table in ('/proc/net/tcp', '/proc/net/tcp6'):
        for line in host.file(table).content_string.splitlines()[1:]:
            fields = line.split()
            address, dummy, local_port = fields[1].partition(':')
            if local_port == port and fields[3] == '0A':
                addresses.append(address)
    assert addresses
    assert set(addresses) <= {'0100007F', '00000000000000000000000001000000'}, addresses


@pytest.mark.parametrize('path, owner, group, mode', [
    ('/etc/redis', 'redis', 'redis', 0o2770),
    ('/etc/redis/redis.conf', 'redis', 'redis', 0o640),
    ('/etc/redis/users.acl', 'redis', 'redis', 0o600),
    ('/etc/ssl/tmi-redis/server.key', 'redis', 'redis', 0o600),
    ('/etc/ssl/tmi-redis/server.crt', 'root', 'root', 0o644),
    ('/etc/ssl/tmi-redis/ca.crt', 'root', 'root', 0o644),
    (ENV_FILE, 'root', 'root', 0o600),
])
def test_redis_file_owner_and_mode(host, app_env, path, owner, group, mode):
    if path.startswith('/etc/ssl/') and app_env['REDIS_TLS'] != 'true':
        pytest.skip('no TLS on this host')
    f = host.file(path)
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_the_password_is_in_no_file_of_the_server_and_no_log(host, app_env):
    password = app_env['REDIS_PASSWORD']
    acl = host.file('/etc/redis/users.acl').content_string
    assert 'user %s on #' % app_env['REDIS_USERNAME'] in acl
    assert 'user default off' in acl
    found = host.run('grep -rlF -e %s /etc/redis /var/log /var/lib/redis', password)
    assert found.rc == 1, found.stdout
    if host.file('/run/systemd/system').is_directory:
        assert password not in host.check_output('journalctl --no-pager')


def test_no_command_line_shows_the_password(host, app_env):
    command_lines = host.check_output("for p in /proc/[0-9]*; do tr '\\000' ' ' < $p/cmdline 2>/dev/null; echo; done")
    assert 'redis-server' in command_lines
    assert app_env['REDIS_PASSWORD'] not in command_lines


def test_the_controller_keeps_the_password_for_its_owner_only(host, app_env):
    variables = host.ansible.get_variables()
    path = os.path.expanduser('~/.config/tmi/%s/redis-%s.password'
                              % (variables['inventory_hostname'], app_env['REDIS_USERNAME']))
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(os.path.dirname(path)).st_mode & 0o777 == 0o700
    with open(path) as f:
        assert f.read().strip() == app_env['REDIS_PASSWORD']


def test_the_service_runs(host):
    if host.file('/run/systemd/system').is_directory:
        assert host.service('redis-server').is_running
        assert host.service('redis-server').is_enabled
    else:
        # Debian's init script (the image has no ps): the pid file names a live redis-server.
        pid = host.file('/run/redis/redis-server.pid').content_string.strip()
        assert host.file('/proc/%s/comm' % pid).content_string.strip() == 'redis-server'

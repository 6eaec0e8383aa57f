# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scenario's hosts as testinfra fixtures, and a client of etcd's HTTP gateway.

The containers share the host's network: the tests reach each member's
client port on loopback from here, with the host name it advertises as the
TLS server name. The passwords are read from the scenario's ephemeral folder,
never put on a command line.
"""

import http.client
import json
import os
import socket
import ssl

import pytest
import testinfra

MEMBERS = {'tmi-ha-1': 22379, 'tmi-ha-2': 22389, 'tmi-ha-3': 22399}
PEER_PORTS = {'tmi-ha-1': 22380, 'tmi-ha-2': 22390, 'tmi-ha-3': 22400}
TLS_DIR = '/etc/etcd/tls'


# The checks of the converged cluster first; then bad input (each test leaves the cluster healthy); then the
# drill, which kills and swaps its members, and the point-in-time recovery of the cluster; etcd's own tests last,
# since their quorum test leaves Patroni without a leader for a while.
ORDER = ('test_patroni.py', 'test_monitoring.py', 'test_archiving.py', 'test_proxy.py', 'test_proxy_role.py',
         'test_bad_input.py', 'test_failover.py', 'test_dr_cluster.py', 'test_etcd.py')


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: ORDER.index(item.fspath.basename) if item.fspath.basename in ORDER else len(ORDER))


def _host(name):
    return testinfra.get_host('ansible://%s' % name, ansible_inventory=os.environ['MOLECULE_INVENTORY_FILE'])


@pytest.fixture(scope='session')
def hosts():
    return dict((name, _host(name)) for name in MEMBERS)


@pytest.fixture(scope='session')
def passwords():
    folder = os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'etcd')
    result = {}
    for user in ('root', 'patroni'):
        with open(os.path.join(folder, user + '.password')) as handle:
            result[user] = handle.read().strip()
    return result


class Etcd(object):
    """POSTs JSON to a member's gateway over TLS, with tmi-ha-1's certificate unless told otherwise."""

    def __init__(self, files):
        self.files = files

    def context(self, cert=True):
        context = ssl.create_default_context(cafile=self.files['ca'])
        if cert:
            context.load_cert_chain(self.files['cert'], self.files['key'])
        return context

    def request(self, member, path, body=None, token=None, cert=True, timeout=5, port=None):
        port = port or MEMBERS[member]
        connection = http.client.HTTPConnection('127.0.0.1', port, timeout=timeout)
        connection.sock = self.context(cert).wrap_socket(
            socket.create_connection(('127.0.0.1', port), timeout=timeout), server_hostname=member)
        headers = {'Content-Type': 'application/json'}
        if token:
            headers['Authorization'] = token
        connection.request('GET' if body is None else 'POST', path, None if body is None else json.dumps(body), headers)
        response = connection.getresponse()
        text = response.read().decode()
        connection.close()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, {'text': text}

    def token(self, member, user, password):
        status, answer = self.request(member, '/v3/auth/authenticate', {'name': user, 'password': password})
        assert status == 200, answer
        return answer['token']


@pytest.fixture(scope='session')
def etcd(hosts, tmp_path_factory):
    folder = tmp_path_factory.mktemp('etcd-client')
    files = {}
    for name, path in (('ca', 'ca.crt'), ('cert', 'member.crt'), ('key', 'member.key')):
        files[name] = str(folder / path)
        with open(os.open(files[name], os.O_WRONLY | os.O_CREAT, 0o600), 'w') as handle:
            handle.write(hosts['tmi-ha-1'].file('%s/%s' % (TLS_DIR, path)).content_string)
    return Etcd(files)

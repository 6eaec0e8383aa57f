# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pgbackrest_tls: one CA on the repository host signs a certificate per host; the hosts then talk mutual TLS.

Two inventory hosts, repo1 (the CA host) and db1, are this machine through the local connection, each with
its files in a folder of its own. The handshake at the end is a real TLS 1.3 handshake between the two
certificates, client certificate required, as pgBackRest's TLS server does.
"""

import datetime
import os
import socket
import ssl
import stat
import subprocess
import threading

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from backup_helpers import AS_ROOT, SYSTEM_PYTHON, run_playbook

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the role gives the files to root')

HOSTS = ('repo1', 'db1')


def files(tmp, host):
    base = os.path.join(tmp, host, 'tls')
    return {'ca': os.path.join(base, 'ca.crt'), 'cert': os.path.join(base, 'server.crt'),
            'key': os.path.join(base, 'server.key')}


def converge(tmp, check=False, **variables):
    tmp = str(tmp)
    inventory = os.path.join(tmp, 'inventory.yml')
    host_vars = {host: dict(ansible_connection='local', ansible_python_interpreter=SYSTEM_PYTHON,
                            pgbackrest_tls_ca_file=files(tmp, host)['ca'],
                            pgbackrest_tls_cert_file=files(tmp, host)['cert'],
                            pgbackrest_tls_key_file=files(tmp, host)['key']) for host in HOSTS}
    with open(inventory, 'w') as f:
        yaml.safe_dump({'all': {'children': {
            'tmi_postgresql_repository': {'hosts': {'repo1': host_vars['repo1']}},
            'tmi_postgresql': {'hosts': {'db1': host_vars['db1']}}}}}, f)
    play = os.path.join(tmp, 'tls.yml')
    with open(play, 'w') as f:
        yaml.safe_dump([{'hosts': 'all', 'gather_facts': False,
                         'roles': [{'role': 'tmi.postgresql.pgbackrest_tls'}]}], f)
    variables.setdefault('pgbackrest_tls_ca_dir', os.path.join(tmp, 'ca'))
    return run_playbook(play, tmp, variables, check=check, inventory=inventory)


def failures(report):
    """{host: (task name, message)} of the failed tasks (the shared helper reads localhost only)."""
    return {host: (task['task']['name'].split(' : ')[-1], result.get('msg'))
            for play in report['plays'] for task in play['tasks'] for host, result in task['hosts'].items()
            if result.get('failed')}


def certificate(path):
    with open(path, 'rb') as f:
        return x509.load_pem_x509_certificate(f.read())


def handshake(tmp, server_host, client_host):
    """A mutual TLS handshake, server_host's certificate against client_host's; returns the client's CN."""
    server_files, client_files = files(tmp, server_host), files(tmp, client_host)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(server_files['cert'], server_files['key'])
    server_ctx.load_verify_locations(server_files['ca'])
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    client_ctx.load_cert_chain(client_files['cert'], client_files['key'])
    client_ctx.load_verify_locations(client_files['ca'])
    listener = socket.socket()
    listener.bind(('127.0.0.1', 0))
    listener.listen(1)
    seen = {}

    def serve():
        conn = listener.accept()[0]
        try:
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                subject = dict(item[0] for item in tls.getpeercert()['subject'])
                seen['client'] = subject['commonName']
        except ssl.SSLError as e:
            seen['error'] = e

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname()) as raw:
            with client_ctx.wrap_socket(raw, server_hostname=server_host) as tls:
                tls.do_handshake()
                tls.recv(1) if tls.version() == 'TLSv1.3' else None
    finally:
        thread.join(10)
        listener.close()
    assert 'error' not in seen, seen
    return seen['client']


def test_each_host_gets_a_certificate_of_the_one_ca_and_they_talk_mutual_tls(tmp_path):
    rc, report = converge(tmp_path)
    assert rc == 0, failures(report)
    ca = certificate(os.path.join(str(tmp_path), 'ca', 'ca.crt'))
    for host in HOSTS:
        paths = files(str(tmp_path), host)
        assert open(paths['ca']).read() == open(os.path.join(str(tmp_path), 'ca', 'ca.crt')).read()
        subprocess.run(['openssl', 'verify', '-CAfile', paths['ca'], paths['cert']], check=True, capture_output=True)
        cert = certificate(paths['cert'])
        assert cert.issuer == ca.subject
        assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == host
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert set(usages) == {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH}
        assert stat.S_IMODE(os.stat(paths['key']).st_mode) == 0o600
    # The CA's key stays in the CA's folder, root's only.
    assert stat.S_IMODE(os.stat(os.path.join(str(tmp_path), 'ca', 'ca.key')).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.join(str(tmp_path), 'ca')).st_mode) == 0o700
    # Both ways, as archive-push (database host to repository host) and a backup (the other way) do.
    assert handshake(str(tmp_path), 'repo1', 'db1') == 'db1'
    assert handshake(str(tmp_path), 'db1', 'repo1') == 'repo1'

    rc, report = converge(tmp_path)
    assert rc == 0 and report['stats']['repo1']['changed'] == 0 and report['stats']['db1']['changed'] == 0


def test_a_certificate_near_its_end_is_made_again_and_the_ca_kept(tmp_path):
    rc, report = converge(tmp_path)
    assert rc == 0, failures(report)
    ca_before = open(os.path.join(str(tmp_path), 'ca', 'ca.crt')).read()
    serial_before = certificate(files(str(tmp_path), 'db1')['cert']).serial_number
    # Certificates of 825 days within a renewal window of 900: made again (now for 2000 days); the CA (3650
    # days) is not.
    rc, report = converge(tmp_path, pgbackrest_tls_renew_days=900, pgbackrest_tls_valid_days=2000)
    assert rc == 0, failures(report)
    assert report['stats']['db1']['changed'] > 0
    assert open(os.path.join(str(tmp_path), 'ca', 'ca.crt')).read() == ca_before
    cert = certificate(files(str(tmp_path), 'db1')['cert'])
    assert cert.serial_number != serial_before
    end = getattr(cert, 'not_valid_after_utc', None) or cert.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    assert end > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1999)
    assert handshake(str(tmp_path), 'repo1', 'db1') == 'db1'


@pytest.mark.parametrize('settings,task,message', [
    ({'pgbackrest_tls_renew_days': 900}, 'Check the ranges of the numeric settings, before anything changes.',
     'pgbackrest_tls_renew_days is 900'),
    ({'pgbackrest_tls_ca_host': 'backup9.invalid'}, 'Check that the CA host is in the inventory, before anything changes.',
     'pgbackrest_tls_ca_host is backup9.invalid'),
], ids=['renewal-window-longer-than-validity', 'ca-host-not-in-inventory'])
def test_a_bad_setting_is_named_and_nothing_made(tmp_path, settings, task, message):
    rc, report = converge(tmp_path, **settings)
    failed = failures(report)
    assert rc != 0 and sorted(failed) == ['db1', 'repo1']
    name, msg = failed['db1']
    assert name == task
    assert message in msg and 'Nothing was changed.' in msg
    assert not os.path.exists(os.path.join(str(tmp_path), 'ca'))
    assert not os.path.exists(os.path.join(str(tmp_path), 'db1'))


def test_check_mode_makes_nothing_and_says_what_it_would(tmp_path):
    rc, report = converge(tmp_path, check=True)
    assert rc == 0, failures(report)
    assert report['stats']['db1']['changed'] > 0
    assert not os.path.exists(os.path.join(str(tmp_path), 'ca'))
    assert not os.path.exists(files(str(tmp_path), 'db1')['cert'])

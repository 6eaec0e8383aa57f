"""A throwaway server with TLS, only hostssl lines for TCP and a least-privilege backup role (issue 11).

Its certificate is signed by a CA the test makes; the fixtures are imported by the tests that use them.
"""

import os
import shutil
import subprocess
import tempfile

import pytest

from backup_helpers import AS_ROOT, load_tmi
from pgserver import PgServer

BACKUP_ROLE = 'tmi_backup'
# A throwaway server's role on loopback: not a secret.
BACKUP_PASSWORD = 'backup-test-only-password'


def openssl(*args):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True)


def make_certificates(folder):
    """A CA and a server certificate for localhost and 127.0.0.1 signed by it; the paths of the three files."""
    ca_key, ca_crt = os.path.join(folder, 'ca.key'), os.path.join(folder, 'ca.crt')
    key, csr, crt = (os.path.join(folder, 'server.' + ext) for ext in ('key', 'csr', 'crt'))
    ext = os.path.join(folder, 'san.ext')
    with open(ext, 'w') as f:
        f.write('subjectAltName = DNS:localhost, IP:127.0.0.1\n')
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
            '-subj', '/CN=tmi test CA', '-keyout', ca_key, '-out', ca_crt)
    openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost',
            '-keyout', key, '-out', csr)
    openssl('x509', '-req', '-in', csr, '-CA', ca_crt, '-CAkey', ca_key, '-CAcreateserial', '-days', '2',
            '-extfile', ext, '-out', crt)
    os.chmod(key, 0o600)
    os.chmod(ca_crt, 0o644)
    if AS_ROOT:
        shutil.chown(key, 'postgres', 'postgres')
    return ca_crt, crt, key


@pytest.fixture(scope='module')
def tls_files():
    folder = tempfile.mkdtemp(prefix='tmi-tls-test-')
    os.chmod(folder, 0o755)
    try:
        yield make_certificates(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def start_server(settings):
    server = PgServer(settings).start()
    # TCP logins over TLS only, as the pg_hba role writes them.
    hba = os.path.join(server.datadir, 'pg_hba.conf')
    with open(hba) as f:
        lines = [line.replace('host ', 'hostssl ', 1) if line.startswith('host ') else line for line in f]
    with open(hba, 'w') as f:
        f.writelines(lines)
    server.query('postgres', 'SELECT pg_reload_conf()')
    return server


def add_backup_role(server, db):
    """The role and grants the app_user role gives a `backup` entry."""
    load_tmi(server, db)
    server.query(db, "CREATE ROLE %s LOGIN PASSWORD '%s'" % (BACKUP_ROLE, BACKUP_PASSWORD))
    server.query(db, 'GRANT CONNECT ON DATABASE %s TO %s; GRANT USAGE ON SCHEMA public TO %s;'
                     'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s;'
                     'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO %s'
                 % (db, BACKUP_ROLE, BACKUP_ROLE, BACKUP_ROLE, BACKUP_ROLE))


@pytest.fixture(scope='module')
def tls_server(tls_files):
    ca, crt, key = tls_files
    server = start_server({'ssl': 'on', 'ssl_cert_file': "'%s'" % crt, 'ssl_key_file': "'%s'" % key})
    yield server
    server.stop()


@pytest.fixture
def tls_db(tls_server):
    db = tls_server.create_database()
    add_backup_role(tls_server, db)
    yield db
    tls_server.drop_database(db)
    tls_server.query('postgres', 'DROP ROLE IF EXISTS %s' % BACKUP_ROLE)

"""A throwaway server with TLS, only hostssl lines for TCP and a least-privilege backup role (issue 11).

Its certificate is signed by a CA the test makes (the fixtures tls_files, tls_server and tls_db of conftest.py).
"""

import os
import shutil
import subprocess

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

"""Fixtures shared by the integration tests."""

import os
import shutil
import tempfile

import pytest

from ansible_run import DRIVERS, target_interpreter
from backup_helpers import make_backup_dir, make_open_dir
from tls_server import BACKUP_ROLE, add_backup_role, make_certificates, start_server


@pytest.fixture(params=DRIVERS)
def target_python(request):
    """The modules' interpreter: psycopg2 only, or psycopg 3 only (test ids name the driver)."""
    return target_interpreter(request.param)


@pytest.fixture
def open_dir():
    """A temporary folder the postgres user can enter (the backup script runs as postgres)."""
    path = make_open_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def backup_dir(open_dir):
    return make_backup_dir(open_dir)


@pytest.fixture(scope='module')
def tls_files():
    """A CA and a server certificate for localhost signed by it: (ca.crt, server.crt, server.key)."""
    folder = tempfile.mkdtemp(prefix='tmi-tls-test-')
    os.chmod(folder, 0o755)
    try:
        yield make_certificates(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope='module')
def tls_server(tls_files):
    """A server of the module's with TLS and only hostssl lines for TCP."""
    crt, key = tls_files[1:]
    server = start_server({'ssl': 'on', 'ssl_cert_file': "'%s'" % crt, 'ssl_key_file': "'%s'" % key})
    yield server
    server.stop()


@pytest.fixture
def tls_db(tls_server):
    """TMI's database with data on the TLS server, and the backup role with its grants."""
    db = tls_server.create_database()
    add_backup_role(tls_server, db)
    yield db
    tls_server.drop_database(db)
    tls_server.query('postgres', 'DROP ROLE IF EXISTS %s' % BACKUP_ROLE)

"""A real, throwaway PostgreSQL server for the test suites.

initdb into a temporary folder, start on a free loopback port with its own
socket folder, stop and remove it at the end. Run as root, the server runs as
the ``postgres`` system user (PostgreSQL refuses to run as root).
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid

import psycopg2

SUPERUSER = 'postgres'
# Password of the superuser for TCP logins (the socket trusts local users).
# A throwaway server on loopback: not a secret.
SUPERUSER_PASSWORD = 'test-only-password'


def pg_bindir():
    explicit = os.environ.get('TMI_PG_BINDIR')
    if explicit:
        return explicit
    candidates = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'),
                        key=lambda p: int(p.split('/')[4]))
    if not candidates:
        raise RuntimeError('no PostgreSQL server binaries under /usr/lib/postgresql/*/bin; '
                           'install postgresql (make setup does)')
    return os.path.dirname(candidates[-1])


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class PgServer(object):
    def __init__(self, settings=None):
        self.bindir = pg_bindir()
        self.basedir = tempfile.mkdtemp(prefix='tmi-pg-')
        self.datadir = os.path.join(self.basedir, 'data')
        self.socketdir = os.path.join(self.basedir, 'sock')
        self.port = free_port()
        self.host = '127.0.0.1'
        self.settings = settings or {}
        self._as_postgres = os.geteuid() == 0

    def _run(self, argv, **kw):
        if self._as_postgres:
            argv = ['runuser', '-u', 'postgres', '--'] + argv
        return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)

    def start(self):
        os.makedirs(self.socketdir)
        if self._as_postgres:
            shutil.chown(self.basedir, 'postgres', 'postgres')
            shutil.chown(self.socketdir, 'postgres', 'postgres')
        pwfile = os.path.join(self.basedir, 'pw')
        with open(os.open(pwfile, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write(SUPERUSER_PASSWORD + '\n')
        if self._as_postgres:
            shutil.chown(pwfile, 'postgres', 'postgres')
        self._run([os.path.join(self.bindir, 'initdb'), '-D', self.datadir, '-U', SUPERUSER,
                   '--pwfile', pwfile, '--auth-local=trust', '--auth-host=scram-sha-256',
                   '-E', 'UTF8', '--locale=C.UTF-8'])
        os.unlink(pwfile)
        conf = {
            'listen_addresses': "'127.0.0.1'",
            'port': str(self.port),
            'unix_socket_directories': "'%s'" % self.socketdir,
            'max_connections': '50',
            'fsync': 'on',
            'logging_collector': 'off',
        }
        conf.update(self.settings)
        with open(os.path.join(self.datadir, 'postgresql.auto.conf'), 'a') as f:
            for k, v in conf.items():
                f.write('%s = %s\n' % (k, v))
        self._run([os.path.join(self.bindir, 'pg_ctl'), '-D', self.datadir, '-w', '-t', '60',
                   '-l', os.path.join(self.basedir, 'server.log'), 'start'])
        return self

    def stop(self):
        try:
            self._run([os.path.join(self.bindir, 'pg_ctl'), '-D', self.datadir, '-m', 'immediate',
                       '-w', 'stop'])
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.basedir, ignore_errors=True)

    # --- helpers for tests -------------------------------------------------

    def connect(self, dbname='postgres', user=SUPERUSER, **kw):
        conn = psycopg2.connect(host=self.socketdir, port=self.port, dbname=dbname, user=user, **kw)
        conn.autocommit = True
        return conn

    def query(self, dbname, sql, params=None):
        """Run one statement in autocommit; return all rows (or [] when none)."""
        conn = self.connect(dbname)
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()

    def version_num(self):
        """The server's version as server_version_num: 130016, 150014, 170002."""
        return int(self.query('postgres', "SELECT current_setting('server_version_num')")[0][0])

    def create_database(self, prefix='t'):
        name = '%s_%s' % (prefix, uuid.uuid4().hex[:10])
        self.query('postgres', 'CREATE DATABASE "%s"' % name)
        return name

    def drop_database(self, name):
        self.query('postgres', 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)

    def schema_dump(self, dbname, exclude_tables=()):
        """pg_dump --schema-only, for comparing two catalogs."""
        argv = [os.path.join(self.bindir, 'pg_dump'), '--schema-only', '--no-owner',
                '-h', self.socketdir, '-p', str(self.port), '-U', SUPERUSER, dbname]
        for t in exclude_tables:
            argv[1:1] = ['--exclude-table', t]
        out = subprocess.run(argv, check=True, capture_output=True, text=True).stdout
        # pg_dump >= 15.14 brackets the script with \restrict/\unrestrict and a random key.
        return ''.join(line for line in out.splitlines(True) if not line.startswith(('\\restrict', '\\unrestrict')))

    def conn_params(self, dbname):
        """Connection options as the modules take them (over the socket)."""
        return dict(login_unix_socket=self.socketdir, login_port=self.port,
                    login_user=SUPERUSER, login_db=dbname)


def wait_for(predicate, timeout=30.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError('condition not met within %.0f s' % timeout)

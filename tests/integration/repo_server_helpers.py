"""A database host and a pgBackRest repository host on this machine, talking over TLS.

The throwaway cluster archives with the wal_archive role's pgbackrest.conf for a
repository host, the repository host is a `pgbackrest server` process with the
pgbackrest_repo role's configuration, each on a free port; the database side
runs its own TLS server too, for the backups the repository side takes. Shared
by tests/integration/test_archiving_repo_host.py and bench/remote_archiving.py.
Runs as root (the servers run as postgres).
"""

import functools
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import jinja2
import pytest

from collection_path import REPO
from pgserver import PgServer, free_port, wait_for
from pitr_helpers import STANZA, render_role_template, role_archive_command

REPO_ROLE = os.path.join(REPO, 'roles', 'pgbackrest_repo')
# The server certificate of both sides (and the client certificate of each): its CN.
HOST = 'localhost'


# `pgbackrest server` and repo1-host-type=tls came with pgBackRest 2.37; Debian 11's package is 2.33.
TLS_SERVER_SINCE = (2, 37)


@functools.lru_cache(maxsize=None)
def missing_tls_server():
    """'' when this host's pgBackRest has the TLS server, else why not (its version and the Debian release)."""
    words = subprocess.run(['pgbackrest', 'version'], check=True, capture_output=True, text=True).stdout.split()
    version = words[-1] if words else ''
    numbers = tuple(int(part) for part in re.findall(r'\d+', version)[:2])
    if numbers >= TLS_SERVER_SINCE:
        return ''
    with open('/etc/debian_version') as f:
        release = f.read().strip()
    return ('pgBackRest %s (Debian %s\'s pgbackrest package) has no TLS server: `pgbackrest server` came with %d.%d'
            % (version, release, TLS_SERVER_SINCE[0], TLS_SERVER_SINCE[1]))


def needs_tls_server():
    """A mark that skips a test on a host whose pgBackRest the repository-host roles refuse (before 2.37)."""
    return pytest.mark.skipif(bool(missing_tls_server()), reason=missing_tls_server() or 'has the TLS server')


def run_as_postgres(argv, check=True):
    return subprocess.run(['runuser', '-u', 'postgres', '--'] + argv, check=check, capture_output=True, text=True)


def make_certificates(folder):
    """A CA and one certificate for HOST (SAN too): (ca, cert, key) paths."""
    ca_key, ca, key, csr, cert = (os.path.join(folder, name) for name in ('ca.key', 'ca.crt', 'server.key', 'server.csr', 'server.crt'))
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    subprocess.run(['openssl', 'req', '-x509'] + ec + ['-keyout', ca_key, '-out', ca, '-subj', '/CN=tmi-test-ca', '-days', '2'],
                   check=True, capture_output=True)
    subprocess.run(['openssl', 'req', '-new'] + ec + ['-keyout', key, '-out', csr, '-subj', '/CN=' + HOST],
                   check=True, capture_output=True)
    extensions = os.path.join(folder, 'san.cnf')
    with open(extensions, 'w') as f:
        f.write('subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' % HOST)
    subprocess.run(['openssl', 'x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key, '-CAcreateserial', '-out', cert,
                    '-days', '2', '-extfile', extensions], check=True, capture_output=True)
    # root's, readable by the group postgres (as PostgreSQL's own rule allows), so that root's checks
    # (check_db without become) and postgres's servers read it alike.
    os.chmod(key, 0o640)
    shutil.chown(key, 'root', 'postgres')
    return ca, cert, key


def render_repo_template(variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(REPO_ROLE, 'templates')),
                             keep_trailing_newline=True, trim_blocks=True)
    return env.get_template('pgbackrest.conf.j2').render(ansible_managed='test', **variables)


class TlsServer(object):
    """`pgbackrest server` of one configuration, as postgres."""

    def __init__(self, config):
        self.config = config
        self.process = None

    def start(self):
        self.process = subprocess.Popen(['runuser', '-u', 'postgres', '--', 'pgbackrest', '--config=' + self.config,
                                         'server'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def stop(self):
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)
        self.process = None


class RemoteLayout(object):
    """A database host archiving to a repository host, both here; archive options as wal_archive_* settings.

    remote=False: the one-host layout instead (the same cluster archiving to a local repo1-path), for comparison.
    """

    def __init__(self, archive_async=False, queue_max='', archive_process_max=2, settings=None, global_options=None,
                 remote=True, cipher_pass=''):
        self.remote = remote
        self.cipher_pass = cipher_pass
        self.base = tempfile.mkdtemp(prefix='tmi-pgbr-remote-')
        self.db_config = os.path.join(self.base, 'db', 'pgbackrest.conf')
        self.repo_config = os.path.join(self.base, 'repo', 'pgbackrest.conf')
        self.repo_port = free_port()
        self.db_tls_port = free_port()
        self.global_options = global_options or {}
        self.archive = dict(wal_archive_archive_async=archive_async, wal_archive_archive_push_queue_max=queue_max,
                            wal_archive_archive_process_max=archive_process_max,
                            wal_archive_spool_path=os.path.join(self.base, 'db', 'spool'))
        pg_settings = {'archive_mode': 'on', 'wal_level': 'replica',
                       'archive_command': "'%s'" % role_archive_command(self.db_config)}
        pg_settings.update(settings or {})
        self.server = PgServer(settings=pg_settings)
        self.repo_server = TlsServer(self.repo_config)
        self.db_server = TlsServer(self.db_config)

    def folder(self, *parts):
        path = os.path.join(self.base, *parts)
        os.makedirs(path, 0o750, exist_ok=True)
        shutil.chown(path, 'postgres', 'postgres')
        return path

    def start(self):
        try:
            return self._start()
        except Exception:
            self.stop()
            raise

    def _start(self):
        os.chmod(self.base, 0o755)
        ca, cert, key = make_certificates(self.folder('tls'))
        tls = dict(ca=ca, cert=cert, key=key)
        self.db_log = self.folder('db', 'log')
        self.folder('db', 'spool')
        db_conf = render_role_template('pgbackrest.conf.j2', dict(
            __wal_archive_remote=self.remote, wal_archive_repo_host=HOST, wal_archive_retention_full=2, wal_archive_repo_host_port=self.repo_port,
            wal_archive_repo_host_cn=HOST, wal_archive_tls_server_address='127.0.0.1', wal_archive_repo_host_config=self.repo_config,
            wal_archive_tls_server_port=self.db_tls_port, wal_archive_tls_ca_file=ca, wal_archive_tls_cert_file=cert,
            wal_archive_tls_key_file=key, wal_archive_compress_type='zst', wal_archive_compress_level=3,
            wal_archive_process_max=1, wal_archive_log_path=self.db_log, wal_archive_lock_path=self.folder('db', 'lock'),
            wal_archive_repo_path=os.path.join(self.base, 'repo', 'repository'),
            wal_archive_global_options=self.global_options, wal_archive_stanza=STANZA, wal_archive_pg_path=self.server.datadir,
            wal_archive_port=self.server.port, wal_archive_socket_dir=self.server.socketdir, **self.archive))
        repo_conf = render_repo_template(dict(
            pgbackrest_repo_path=self.folder('repo', 'repository'), pgbackrest_repo_retention_full=2,
            pgbackrest_repo_cipher_type='aes-256-cbc' if self.cipher_pass else 'none', pgbackrest_repo_cipher_pass=self.cipher_pass,
            pgbackrest_repo_compress_type='zst', pgbackrest_repo_compress_level=3,
            pgbackrest_repo_process_max=1, pgbackrest_repo_log_path=self.folder('repo', 'log'),
            pgbackrest_repo_lock_path=self.folder('repo', 'lock'), pgbackrest_repo_tls_server_address='127.0.0.1',
            pgbackrest_repo_tls_server_port=self.repo_port, pgbackrest_repo_tls_ca_file=tls['ca'],
            pgbackrest_repo_tls_cert_file=tls['cert'], pgbackrest_repo_tls_key_file=tls['key'],
            pgbackrest_repo_global_options={},
            pgbackrest_repo_stanzas=[dict(name=STANZA, host=HOST, host_port=self.db_tls_port, client_cn=HOST,
                                          pg_path=self.server.datadir, pg_port=self.server.port,
                                          pg_socket_path=self.server.socketdir, pg_config=self.db_config)]))
        for path, content in ((self.db_config, db_conf), (self.repo_config, repo_conf)):
            with open(path, 'w') as f:
                f.write(content)
            os.chmod(path, 0o600)
            shutil.chown(path, 'postgres', 'postgres')
        self.server.start()
        if self.remote:
            self.db_server.start()
            self.repo_server.start()
        wait_for(lambda: self.db_pgbackrest('stanza-create', check=False).returncode == 0, timeout=60, interval=0.2)
        return self

    def stop(self):
        for tls_server in (self.repo_server, self.db_server):
            tls_server.stop()
        self.server.stop()
        # The asynchronous archive-push runs on in the background after the cluster stopped (and would write
        # into the folder again): end this layout's, found by its configuration's path.
        for pid in self.processes():
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        wait_for(lambda: not self.processes(), timeout=30)
        shutil.rmtree(self.base, ignore_errors=True)

    def processes(self):
        """The pids of the pgBackRest processes that read this layout's configuration files."""
        pids = []
        for name in os.listdir('/proc'):
            if not name.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % name, 'rb') as f:
                    argv = f.read().split(b'\0')
            except OSError:
                continue
            if any(arg.endswith(self.base.encode()) or self.base.encode() + b'/' in arg for arg in argv
                   if arg.startswith(b'--config=')):
                pids.append(int(name))
        return pids

    def db_pgbackrest(self, *args, check=True):
        return run_as_postgres(['pgbackrest', '--config=' + self.db_config, '--stanza=' + STANZA] + list(args), check=check)

    def repo_pgbackrest(self, *args, check=True):
        return run_as_postgres(['pgbackrest', '--config=' + self.repo_config, '--stanza=' + STANZA] + list(args), check=check)

    def backups(self):
        return json.loads(self.repo_pgbackrest('--output=json', 'info').stdout)[0]['backup']

    def archiver(self):
        """archived_count, failed_count and whether the last failure is newer than the last success."""
        return self.server.query('postgres', 'SELECT archived_count, failed_count, '
                                 'coalesce(last_failed_time > coalesce(last_archived_time, \'-infinity\'), false) '
                                 'FROM pg_stat_archiver')[0]

    def write_wal(self, segments):
        """Fill and switch segments WAL segments; the name of the last one switched away from."""
        self.server.query('postgres', 'CREATE TABLE IF NOT EXISTS filler (id serial PRIMARY KEY, payload text)')
        last = None
        for _segment in range(segments):
            self.server.query('postgres', "INSERT INTO filler (payload) SELECT repeat('x', 200) FROM generate_series(1, 100)")
            last = self.server.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')[0][0]
        return last

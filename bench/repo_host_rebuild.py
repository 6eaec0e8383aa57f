# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: RPO and restore time from a pgBackRest repository host (TLS) for ~1 GB, next to the one-host restore.

    .venv/bin/python bench/repo_host_rebuild.py [--runs 3] [--scale 70] [--no-docs]

A throwaway cluster archives its WAL the way a database host with
wal_archive_repo_host does: the role's archive_command and pgbackrest.conf
template (repo1-host-type=tls), through a `pgbackrest server` on loopback that
plays the repository host (its own configuration: the repository path, its
certificate, tls-server-auth for this client's CN only). pgbench -i -s SCALE
fills a database (scale 70: ~1 GB), one full backup is taken.

Each round writes one row per ~20 ms while recording commit times (for a
different time each round, so that the loss falls at a different point of the
archive_timeout cycle), kills the server (immediate shutdown: the host is
gone, its last unarchived WAL with it) and recovers it to the end of the
archived WAL with playbooks/dr_pitr.yml, the restore dr_rebuild.yml runs on a
new host. The rounds alternate between the two layouts, reading the SAME
repository and backup:

- repository host: dr_pitr_pgbackrest_config is the TLS client configuration:
  the backup and the WAL come through the TLS server;
- one host (the baseline): the local configuration (repo1-path).

RPO: kill time minus the commit time of the newest row that came back (WAL
always went through the TLS server). Restore time: wall time of
ansible-playbook to a promoted, validated, serving server. The whole
dr_rebuild.yml on a fresh container (packages included) is timed by the
Molecule scenario repo's drill on a small database.

Prints the results and replaces the measured part of the "Rebuild from a
repository host" section of docs/benchmarks.md (`--no-docs` to skip). Not a
test: pytest does not collect bench/.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile

# Importing pitr_rto (this folder) puts tests/, tests/integration and the collection on sys.path.
from pitr_rto import fill_database, machine, one_recovery, replace_measured_part, timed_full_backup

from collection_path import REPO
from pgserver import free_port
from pitr_helpers import STANZA, ArchivingCluster, render_role_template, role_archive_command, start_archiving_cluster

DOCS = os.path.join(REPO, 'docs', 'benchmarks.md')
SECTION = '## Rebuild from a repository host (issue 11)'
BEGIN = '<!-- bench/repo_host_rebuild.py: begin -->'
END = '<!-- bench/repo_host_rebuild.py: end -->'
ARCHIVE_TIMEOUT = 60
GOAL_REBUILD_SECONDS = 300
CLIENT_CN = 'tmi-bench-db'


def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), check=True, capture_output=True, cwd=cwd)


def make_certificates(folder):
    """A CA, the repository host's certificate (localhost) and the database host's (CLIENT_CN); keys postgres's, 0600."""
    os.mkdir(folder)
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    openssl('req', '-x509', *ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=tmi-bench-ca', '-days', '2', cwd=folder)
    for name, cn in (('repo', 'localhost'), ('db', CLIENT_CN)):
        openssl('req', *ec, '-keyout', name + '.key', '-out', name + '.csr', '-subj', '/CN=' + cn, cwd=folder)
        with open(os.path.join(folder, name + '.ext'), 'w') as f:
            f.write('subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' % cn)
        openssl('x509', '-req', '-in', name + '.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
                '-out', name + '.crt', '-days', '2', '-extfile', name + '.ext', cwd=folder)
    for name in os.listdir(folder):
        shutil.chown(os.path.join(folder, name), 'postgres', 'postgres')
        os.chmod(os.path.join(folder, name), 0o600 if name.endswith('.key') else 0o644)


class RepoHostCluster(ArchivingCluster):
    """An ArchivingCluster whose WAL goes through a pgBackRest TLS server (the repository host) into its repository."""

    def __init__(self, archive_timeout):
        super().__init__(archive_timeout)
        self.local_config = self.config
        self.remote_config = os.path.join(self.repo_base, 'pgbackrest-remote.conf')
        self.server_config = os.path.join(self.repo_base, 'pgbackrest-repo-host.conf')
        self.server.settings['archive_command'] = "'%s'" % role_archive_command(self.remote_config)
        self.tls_port = free_port()
        self.tls_server = None

    def start(self):
        tls = os.path.join(self.repo_base, 'tls')
        make_certificates(tls)
        for sub in ('server-log', 'server-lock', 'client-log', 'client-lock'):
            os.mkdir(os.path.join(self.repo_base, sub), 0o750)
            shutil.chown(os.path.join(self.repo_base, sub), 'postgres', 'postgres')
        self._write(self.server_config, '\n'.join([
            '[global]',
            'repo1-path=%s' % os.path.join(self.repo_base, 'repo'),
            'log-path=%s' % os.path.join(self.repo_base, 'server-log'),
            'lock-path=%s' % os.path.join(self.repo_base, 'server-lock'),
            'tls-server-address=127.0.0.1',
            'tls-server-port=%d' % self.tls_port,
            'tls-server-ca-file=%s/ca.crt' % tls,
            'tls-server-cert-file=%s/repo.crt' % tls,
            'tls-server-key-file=%s/repo.key' % tls,
            'tls-server-auth=%s=%s' % (CLIENT_CN, STANZA),
            '',
        ]))
        self._write(self.remote_config, render_role_template('pgbackrest.conf.j2', dict(
            __wal_archive_remote=True, wal_archive_repo_host='localhost', wal_archive_repo_host_port=self.tls_port,
            wal_archive_tls_ca_file=tls + '/ca.crt', wal_archive_tls_cert_file=tls + '/db.crt',
            wal_archive_tls_key_file=tls + '/db.key', wal_archive_tls_server_address='127.0.0.1',
            # The database host's own TLS server (for backups started on the repository host) is not run here.
            wal_archive_tls_server_port=free_port(), wal_archive_repo_host_cn='localhost',
            wal_archive_compress_type='zst', wal_archive_compress_level=3, wal_archive_process_max=1,
            wal_archive_log_path=os.path.join(self.repo_base, 'client-log'),
            # The repository host's remote reads the configuration file the client names (default
            # /etc/pgbackrest/pgbackrest.conf), not the one its TLS server was started with.
            wal_archive_global_options={'lock-path': os.path.join(self.repo_base, 'client-lock'),
                                        'repo1-host-config': self.server_config},
            wal_archive_stanza=STANZA, wal_archive_pg_path=self.server.datadir,
            wal_archive_port=self.server.port, wal_archive_socket_dir=self.server.socketdir)))
        self.tls_server = subprocess.Popen(['runuser', '-u', 'postgres', '--', 'pgbackrest', '--config=' + self.server_config,
                                            'server'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return super().start()

    @staticmethod
    def _write(path, text):
        with open(path, 'w') as f:
            f.write(text)
        shutil.chown(path, 'postgres', 'postgres')
        os.chmod(path, 0o640)

    def stop(self):
        if self.tls_server:
            self.tls_server.terminate()
            self.tls_server.wait(30)
        super().stop()


def results_text(args, prep, rounds):
    fill_seconds, size, backup_seconds = prep
    lines = ['Measured by `bench/repo_host_rebuild.py --runs %d --scale %d` on this machine:' % (args.runs, args.scale), '']
    lines += ['| Machine | |', '|---|---|'] + ['| %s | %s |' % item for item in machine()]
    lines += ['', 'Database `bench`: pgbench scale %d, %s (%d bytes), filled in %.0f s; full backup (zst, process-max 2) '
              'in %.0f s. archive_timeout %d s (the role\'s default); WAL archived through the TLS server in every round.'
              % (args.scale, size[1], size[0], fill_seconds, backup_seconds, ARCHIVE_TIMEOUT), '',
              '| Round | Layout | Written before the kill | Restore to serving (dr_pitr.yml wall time) | RPO (data lost) | Rows lost |',
              '|---|---|---|---|---|---|']
    for i, (layout, write_seconds, (rto, rpo, lost, _summary)) in enumerate(rounds, 1):
        lines.append('| %d | %s | %d s | %.1f s | %.1f s | %d |' % (i, layout, write_seconds, rto, rpo, lost))
    remote = [r[2][0] for r in rounds if r[0] == 'repository host']
    local = [r[2][0] for r in rounds if r[0] == 'one host']
    rpos = [r[2][1] for r in rounds]
    # Each pair of rounds (one of each layout, in either order): repository host / one host.
    ratios = [(a[2][0] / b[2][0]) ** (1 if a[0] == 'repository host' else -1) for a, b in zip(rounds[0::2], rounds[1::2])]
    lines += [
        '',
        '- Restore from the repository host, median of %d: **%.1f s** (goal: under %d s); one host (baseline), median '
        'of %d: %.1f s; repository host / one host, median of the pairs: **%.2fx**.'
        % (len(remote), statistics.median(remote), GOAL_REBUILD_SECONDS, len(local), statistics.median(local),
           statistics.median(ratios)),
        '- RPO when the database host is lost, median of %d: **%.1f s**, worst %.1f s (goal: at most archive_timeout, '
        '%d s).' % (len(rpos), statistics.median(rpos), max(rpos), ARCHIVE_TIMEOUT),
        '', 'Summary printed by the last round:', '', '```'] + list(rounds[-1][2][3]) + ['```']
    return '\n'.join(lines)


def write_docs(measured):
    with open(DOCS) as f:
        text = f.read()
    with open(DOCS, 'w') as f:
        f.write(replace_measured_part(text, measured, SECTION, BEGIN, END))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=3, help='rounds of each layout')
    parser.add_argument('--scale', type=int, default=70, help='pgbench scale (70: about 1 GB)')
    parser.add_argument('--no-docs', action='store_true', help='do not write docs/benchmarks.md')
    args = parser.parse_args(argv)
    cluster = start_archiving_cluster(ARCHIVE_TIMEOUT, cluster_class=RepoHostCluster)
    workdir = tempfile.mkdtemp(prefix='tmi-repo-host-bench-')
    try:
        fill_seconds, size = fill_database(cluster, args.scale)
        print('filled %s in %.0f s' % (size[1], fill_seconds), flush=True)
        backup_seconds = timed_full_backup(cluster)
        print('full backup %.0f s' % backup_seconds, flush=True)
        rounds = []
        for i in range(2 * args.runs):
            # Pairs in alternating order, so that neither layout always runs on a warmer cache.
            remote = (i % 2 == 0) == (i // 2 % 2 == 0)
            layout, config = ('repository host', cluster.remote_config) if remote else ('one host', cluster.local_config)
            write_seconds = 20 + (i * 25) % 60
            run_dir = os.path.join(workdir, str(i))
            os.mkdir(run_dir)
            result = one_recovery(cluster, write_seconds, run_dir, dr_pitr_pgbackrest_config=config)
            rounds.append((layout, write_seconds, result))
            print('round %d (%s): restore %.1f s, RPO %.1f s, %d rows lost' % ((i + 1, layout) + result[:3]), flush=True)
        measured = results_text(args, (fill_seconds, size, backup_seconds), rounds)
        print(measured)
        if not args.no_docs:
            write_docs(measured)
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()

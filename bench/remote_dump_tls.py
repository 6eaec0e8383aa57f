# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the backup script over the socket (one host) against over TLS as the backup role (repository host).

    .venv/bin/python bench/remote_dump_tls.py [--runs 5] [--users 50000]

On a throwaway server with TLS (a CA of its own, only hostssl lines for TCP): TMI's schema filled with
generated data (bench/logical_backup_rto.py's fill), then, round-robin --runs times each, the backup script
(pg_dump -Fc, full read-back, rename; no retention):

- socket: as postgres over the Unix socket, the one-host layout (the baseline);
- tls: as a `backup`-rights role over TCP to localhost with sslmode=verify-full and a pgpass file, what the
  repository host runs (here on the same machine: the cost of TLS and TCP, not of a network's bandwidth).

Prints the medians and their ratio. Not a test: pytest does not collect bench/.
"""

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests'))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests', 'integration'))

from backup_helpers import AS_ROOT, make_backup_dir, make_open_dir, run_script  # noqa: E402
from logical_backup_rto import fill  # noqa: E402
from tls_server import BACKUP_PASSWORD, BACKUP_ROLE, make_certificates, start_server  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=5)
    parser.add_argument('--users', type=int, default=50000)
    args = parser.parse_args()
    work = make_open_dir()
    ca, crt, key = make_certificates(work)
    server = start_server({'ssl': 'on', 'ssl_cert_file': "'%s'" % crt, 'ssl_key_file': "'%s'" % key})
    try:
        server.query('postgres', 'CREATE ROLE tmi_owner NOLOGIN')
        server.query('postgres', 'CREATE DATABASE tmi OWNER tmi_owner')
        fill(server, 'tmi', 'tmi_owner', args.users)
        size = server.query('postgres', "SELECT pg_database_size('tmi')")[0][0]
        server.query('tmi', "CREATE ROLE %s LOGIN PASSWORD '%s'; GRANT USAGE ON SCHEMA public TO %s;"
                            'GRANT SELECT ON ALL TABLES IN SCHEMA public TO %s;'
                            'GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO %s'
                     % (BACKUP_ROLE, BACKUP_PASSWORD, BACKUP_ROLE, BACKUP_ROLE, BACKUP_ROLE))
        pgpass = os.path.join(work, 'backup.pgpass')
        with open(os.open(pgpass, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
            f.write('localhost:%d:tmi:%s:%s\n' % (server.port, BACKUP_ROLE, BACKUP_PASSWORD))
        if AS_ROOT:
            shutil.chown(pgpass, 'postgres', 'postgres')
        tls = ('--host', 'localhost', '--user', BACKUP_ROLE, '--pgpass', pgpass, '--sslmode', 'verify-full',
               '--sslrootcert', ca)
        times = {'socket': [], 'tls': []}
        for run in range(args.runs):
            for name, extra in (('socket', ()), ('tls', tls)):
                backup_dir = make_backup_dir(work, '%s-%d' % (name, run))
                subprocess.run(['sync'], check=True)
                rc, result, err = run_script(server, 'tmi', backup_dir, '--retention-days', '0', *extra)
                assert rc == 0, err
                times[name].append(float(result['duration_seconds']))
                shutil.rmtree(backup_dir)
        socket, tls_median = statistics.median(times['socket']), statistics.median(times['tls'])
        print('machine: %s, %d cores, %s' % (platform.node(), os.cpu_count(), platform.platform()))
        print('database: %.0f MB (%d users), runs: %d each, round-robin' % (size / 1e6, args.users, args.runs))
        print('| contender | median s | runs |')
        print('|---|---|---|')
        for name, median in (('socket (one host, baseline)', socket), ('tls (verify-full, backup role)', tls_median)):
            print('| %s | %.2f | %s |' % (name, median, ', '.join('%.2f' % t for t in times[name.split()[0]])))
        print('ratio tls / socket: %.2f' % (tls_median / socket))
    finally:
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()

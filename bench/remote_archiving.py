# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the cost of archiving WAL to a repository host against a local repository, sync and async.

    .venv/bin/python bench/remote_archiving.py [--runs 3] [--rows 1500000] [--layouts remote-sync,remote-async]

Each run starts a fresh throwaway cluster archiving with the wal_archive
role's pgbackrest.conf (tests/integration/repo_server_helpers.py):

- none: archive_command /bin/true (the baseline: the same writes, no archiving);
- local-sync, local-async: the one-host layout, repo1-path on this disk;
- remote-sync, remote-async: a `pgbackrest server` with the pgbackrest_repo
  role's configuration on this host (TLS over loopback: no network latency,
  the TLS and protocol cost only); remote-async1: with one archive-push
  process instead of two.

The write-heavy part is one INSERT of ROWS rows of incompressible text
(md5), then a segment switch. Measured: the time of the INSERT (what the
application sees) and the time from its start until the last segment is
archived (pg_stat_archiver); the layouts run interleaved, round by round, and
each number is the median of the runs, also as a ratio to the baseline of
the same rounds. Not a test: pytest does not collect bench/.
"""

import argparse
import os
import platform
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))

from collection_path import collections_dir  # noqa: E402

sys.path.insert(0, collections_dir())

from pgserver import PgServer, wait_for  # noqa: E402
from repo_server_helpers import RemoteLayout  # noqa: E402

LAYOUTS = ['none', 'local-sync', 'local-async', 'remote-sync', 'remote-async', 'remote-async1']


class Baseline(object):
    """A cluster whose archive_command does nothing."""

    def __init__(self):
        self.server = PgServer(settings={'archive_mode': 'on', 'wal_level': 'replica', 'archive_command': "'/bin/true'"})

    def start(self):
        self.server.start()
        return self

    def stop(self):
        self.server.stop()


def make(layout):
    if layout == 'none':
        return Baseline().start()
    where, mode = layout.split('-')
    # async1: one archive-push process instead of the role's default two.
    return RemoteLayout(archive_async=mode.startswith('async'), archive_process_max=1 if mode == 'async1' else 2,
                        remote=where == 'remote').start()


def archived_up_to(server, segment):
    row = server.query('postgres', 'SELECT last_archived_wal FROM pg_stat_archiver')[0]
    return row[0] is not None and row[0] >= segment


def one_run(layout, rows):
    """(seconds of the INSERT, seconds from its start until its last segment is archived, segments)."""
    cluster = make(layout)
    server = cluster.server
    try:
        server.query('postgres', 'CREATE TABLE payload (id bigint, body text)')
        first = server.query('postgres', 'SELECT pg_walfile_name(pg_current_wal_lsn())')[0][0]
        start = time.monotonic()
        server.query('postgres', 'INSERT INTO payload SELECT i, md5(i::text) || md5((i + 1)::text) || md5(random()::text) '
                                 'FROM generate_series(1, %d) AS i' % rows)
        written = time.monotonic()
        last = server.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')[0][0]
        wait_for(lambda: archived_up_to(server, last), timeout=900, interval=0.05)
        archived = time.monotonic()
        segments = int(last[16:], 16) - int(first[16:], 16) + 1
        return written - start, archived - start, segments
    finally:
        cluster.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--rows', type=int, default=1500000)
    parser.add_argument('--layouts', default=','.join(LAYOUTS), help='comma-separated, from: ' + ', '.join(LAYOUTS))
    args = parser.parse_args()
    layouts = ['none'] + [name for name in args.layouts.split(',') if name != 'none']
    results = dict((layout, []) for layout in layouts)
    for round_number in range(args.runs):
        for layout in layouts:
            write_s, archive_s, segments = one_run(layout, args.rows)
            results[layout].append((write_s, archive_s, segments))
            print('round %d %-13s insert %.2f s, archived after %.2f s (%d segments)'
                  % (round_number + 1, layout, write_s, archive_s, segments), flush=True)
    base_write = statistics.median(r[0] for r in results['none'])
    base_archive = statistics.median(r[1] for r in results['none'])
    print('\nMachine: %s, %d CPUs, Python %s; %d runs, %d rows; medians:' % (
        platform.platform(), os.cpu_count(), platform.python_version(), args.runs, args.rows))
    print('| layout | INSERT s | x baseline | until archived s | x baseline | segments |')
    print('|---|---:|---:|---:|---:|---:|')
    for layout in layouts:
        write_s = statistics.median(r[0] for r in results[layout])
        archive_s = statistics.median(r[1] for r in results[layout])
        row = (layout, write_s, write_s / base_write, archive_s, archive_s / base_archive, results[layout][0][2])
        print('| %s | %.2f | %.2f | %.2f | %.2f | %d |' % row)


if __name__ == '__main__':
    main()

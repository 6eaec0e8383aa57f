# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: RTO and RPO of playbooks/dr_pitr.yml for a ~1 GB database, on a throwaway cluster.

    .venv/bin/python bench/pitr_rto.py [--runs 3] [--scale 70] [--no-docs]

One cluster archives its WAL with pgBackRest (the role's archive_command and
pgbackrest.conf template, archive_timeout 60 s, the role's default) into a
temporary repository. pgbench -i -s SCALE fills a database (scale 70: ~1 GB),
then one full backup is taken. Each run then writes one row per ~20 ms while
recording commit times, for a different time each run (so the kill falls at a
different point of the archive_timeout cycle), kills the server (immediate
shutdown) and recovers it to the end of the archived WAL with the playbook.

- RTO: wall time of ansible-playbook from its start to a promoted, validated,
  serving server (restore of the whole backup, replay, promotion, validation).
- RPO: kill time minus the commit time of the newest row that came back.
- Baseline: `cp -a` of the data directory, in the same run (the machine is
  noisy; the ratio travels better than the seconds).

Prints the results and replaces the measured part of the "Point-in-time
recovery" section of docs/backup-and-restore.md (`--no-docs` to skip). Not a
test: pytest does not collect bench/.
"""

import argparse
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests'))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests', 'integration'))

from collection_path import REPO, collections_dir  # noqa: E402

sys.path.insert(0, collections_dir())

from pitr_helpers import damaged_dirs, recovered_ids, run_dr_pitr, start_archiving_cluster, write_for  # noqa: E402

DOCS = os.path.join(REPO, 'docs', 'backup-and-restore.md')
SECTION = '## Point-in-time recovery'
BEGIN = '<!-- bench/pitr_rto.py: begin -->'
END = '<!-- bench/pitr_rto.py: end -->'
ARCHIVE_TIMEOUT = 60
GOAL_RTO_SECONDS = 300
GOAL_RPO_SECONDS = 60


def fill_database(cluster, scale):
    server = cluster.server
    server.query('postgres', 'CREATE DATABASE bench')
    started = time.monotonic()
    subprocess.run(['runuser', '-u', 'postgres', '--', os.path.join(server.bindir, 'pgbench'), '-i', '-q',
                    '-s', str(scale), '-h', server.socketdir, '-p', str(server.port), 'bench'],
                   check=True, capture_output=True, text=True)
    seconds = time.monotonic() - started
    size = server.query('postgres', "SELECT pg_database_size('bench'), pg_size_pretty(pg_database_size('bench'))")[0]
    return seconds, size


def timed_full_backup(cluster):
    started = time.monotonic()
    cluster.pgbackrest('--type=full', '--process-max=2', 'backup')
    return time.monotonic() - started


def timed_copy_of_data_dir(cluster):
    target = tempfile.mkdtemp(prefix='tmi-pitr-copy-')
    try:
        started = time.monotonic()
        subprocess.run(['cp', '-a', cluster.server.datadir, os.path.join(target, 'data')], check=True)
        subprocess.run(['sync'], check=True)
        return time.monotonic() - started
    finally:
        shutil.rmtree(target, ignore_errors=True)


def one_recovery(cluster, write_seconds, workdir, **extra):
    """Write, kill, recover to the end of the WAL (extra: more variables of the playbook); return (RTO s, RPO s,
    rows lost, reached line)."""
    rows = write_for(cluster, write_seconds)
    archiver = cluster.server.query('postgres', 'SELECT last_archived_wal, last_archived_time, failed_count FROM pg_stat_archiver')[0]
    print('before the kill: last archived %s at %s, %d failures' % archiver, flush=True)
    killed_at = time.time()
    cluster.kill()
    started = time.monotonic()
    tasks = run_dr_pitr(cluster, workdir, **dict(dict(dr_pitr_process_max=2, dr_pitr_recovery_timeout=1800), **extra))
    rto = time.monotonic() - started
    present = set(recovered_ids(cluster))
    recovered = [r for r in rows if r[0] in present]
    rpo = killed_at - (recovered[-1][2] if recovered else rows[0][1])
    for path in damaged_dirs(cluster):
        shutil.rmtree(path)  # the bench's own copies; the playbook itself never deletes them
    summary = tasks['Print the summary for the incident log.']['msg']
    return rto, rpo, len(rows) - len(recovered), summary


def machine():
    with open('/proc/cpuinfo') as f:
        models = re.findall(r'^model name\s*:\s*(.*)$', f.read(), re.M)
    mem = subprocess.run(['free', '-h'], check=True, capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    pgbackrest = subprocess.run(['pgbackrest', 'version'], check=True, capture_output=True, text=True).stdout.strip()
    return [
        ('Date (UTC)', datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')),
        ('CPU', '%s, nproc %d' % (models[0] if models else platform.processor() or 'unknown', os.cpu_count())),
        ('Memory (free -h, total)', mem),
        ('Tools', '%s; PostgreSQL 15 from tests/pgserver.py (fsync on); ansible-playbook, local connection' % pgbackrest),
        ('Load average (1 min) at end', '%.2f' % os.getloadavg()[0]),
    ]


def preparation_line(args, prep):
    fill_seconds, size, backup_seconds, copy_seconds = prep
    return ('Database `bench`: pgbench scale %d, %s (%d bytes), filled in %.0f s; full backup (zst, process-max 2) '
            'in %.0f s; baseline `cp -a` of the data directory: %.1f s.'
            % (args.scale, size[1], size[0], fill_seconds, backup_seconds, copy_seconds))


def runs_table(args, copy_seconds, runs):
    lines = ['| Run | Written before the kill | RTO (playbook wall time) | RTO / baseline | RPO (data lost) | Rows lost |',
             '|---|---|---|---|---|---|']
    for i, (rto, rpo, lost, _summary) in enumerate(runs, 1):
        lines.append('| %d | %d s | %.1f s | %.1f | %.1f s | %d |'
                     % (i, args.write_seconds[i - 1], rto, rto / copy_seconds, rpo, lost))
    return lines


def verdict_lines(runs):
    rtos = [r[0] for r in runs]
    rpos = [r[1] for r in runs]
    return [
        '- RTO, median of %d: **%.1f s** (goal: under %d s; seed: 30 min).'
        % (len(rtos), statistics.median(rtos), GOAL_RTO_SECONDS),
        '- RPO with the default archive_timeout (%d s): median %.1f s, worst %.1f s (goal: at most %d s; seed: 15 min). '
        'The loss is whatever was committed since the last segment switch, so at most archive_timeout plus the '
        'time to archive one segment.' % (ARCHIVE_TIMEOUT, statistics.median(rpos), max(rpos), GOAL_RPO_SECONDS),
    ]


def results_text(args, prep, runs):
    lines = ['Measured by `bench/pitr_rto.py --runs %d --scale %d` on this machine:' % (args.runs, args.scale), '']
    lines += ['| Machine | |', '|---|---|'] + ['| %s | %s |' % item for item in machine()]
    lines += ['', preparation_line(args, prep), '']
    lines += runs_table(args, prep[3], runs)
    lines += [''] + verdict_lines(runs)
    lines += ['', 'Summary printed by the last run:', '', '```'] + list(runs[-1][3]) + ['```']
    return '\n'.join(lines)


def replace_measured_part(text, measured, section=SECTION, begin=BEGIN, end=END):
    block = '%s\n%s\n%s' % (begin, measured, end)
    if begin in text and end in text:
        return text[:text.index(begin)] + block + text[text.index(end) + len(end):]
    if section not in text:
        text = (text.rstrip('\n') + '\n\n' if text.strip() else '# Backup and restore\n\n') + section + '\n'
    # Put the block at the end of the section, before the next `## ` heading.
    start = text.index(section) + len(section)
    following = re.search(r'^## ', text[start:], re.M)
    cut = start + following.start() if following else len(text)
    return text[:cut].rstrip('\n') + '\n\n' + block + '\n' + ('\n' + text[cut:] if following else '')


def write_docs(measured):
    text = ''
    if os.path.exists(DOCS):
        with open(DOCS) as f:
            text = f.read()
    with open(DOCS, 'w') as f:
        f.write(replace_measured_part(text, measured))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--scale', type=int, default=70, help='pgbench scale (70: about 1 GB)')
    parser.add_argument('--no-docs', action='store_true', help='do not write docs/backup-and-restore.md')
    args = parser.parse_args(argv)
    # Kill at different points of the archive_timeout cycle.
    args.write_seconds = [20 + (i * 25) % 60 for i in range(args.runs)]
    return args


def main(argv=None):
    args = parse_args(argv)
    cluster = start_archiving_cluster(ARCHIVE_TIMEOUT)
    workdir = tempfile.mkdtemp(prefix='tmi-pitr-bench-')
    try:
        fill_seconds, size = fill_database(cluster, args.scale)
        print('filled %s in %.0f s' % (size[1], fill_seconds), flush=True)
        backup_seconds = timed_full_backup(cluster)
        copy_seconds = timed_copy_of_data_dir(cluster)
        print('full backup %.0f s, baseline copy %.1f s' % (backup_seconds, copy_seconds), flush=True)
        runs = []
        for i in range(args.runs):
            run_dir = os.path.join(workdir, str(i))
            os.mkdir(run_dir)
            runs.append(one_recovery(cluster, args.write_seconds[i], run_dir))
            print('run %d: RTO %.1f s, RPO %.1f s, %d rows lost' % ((i + 1,) + runs[-1][:3]), flush=True)
        measured = results_text(args, (fill_seconds, size, backup_seconds, copy_seconds), runs)
        print(measured)
        if not args.no_docs:
            write_docs(measured)
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    main()

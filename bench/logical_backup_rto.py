# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: logical backup and dr_restore of a realistic TMI database.

    .venv/bin/python bench/logical_backup_rto.py [--runs 3] [--users 150000]

On a throwaway server: TMI's schema (migrations 1..8, tables owned by a
NOLOGIN owner, tmi_app's grants) filled with generated data (about 200 MB
with the default --users), then, --runs times each:

- backup: the backup script (pg_dump -Fc, full read-back, rename, retention),
  and the floor, a bare ``pg_dump -Fc`` to a file;
- restore: ``playbooks/dr_restore.yml`` through ansible-playbook (verify,
  create, pg_restore --jobs=2, validate, row counts; no swap), whole wall
  time, and the floor, a bare ``createdb`` + ``pg_restore --jobs=2``.

Prints medians and ratios as Markdown (paste into docs/backup-and-restore.md).
Not a test: pytest does not collect bench/.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests'))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests', 'integration'))

from collection_path import collections_dir  # noqa: E402

sys.path.insert(0, collections_dir())

from backup_helpers import (  # noqa: E402
    REPO,
    load_tmi,
    make_backup_dir,
    make_open_dir,
    run_playbook,
    run_script,
)
from pgserver import PgServer  # noqa: E402

PLAYBOOK = os.path.join(REPO, 'playbooks', 'dr_restore.yml')

FILL_SQL = """
INSERT INTO users (email, name, last_login)
  SELECT 'user' || g || '@example.org', 'User number ' || g, now() - g * interval '1 minute'
  FROM generate_series(1, %(users)s) g;
INSERT INTO user_providers (user_id, provider, provider_user_id, email, is_primary)
  SELECT id, 'github', 'gh-' || md5(email), email, true FROM users;
INSERT INTO refresh_tokens (user_id, token, expires_at)
  SELECT id, md5(email) || md5(name) || md5(id::text), now() + interval '30 days' FROM users;
INSERT INTO threat_models (owner_email, name, description)
  SELECT email, 'Threat model of ' || name, repeat('A system description. ', 10) FROM users;
INSERT INTO threat_model_access (threat_model_id, user_email, role)
  SELECT id, owner_email, 'owner' FROM threat_models;
INSERT INTO threats (threat_model_id, name, description, severity, likelihood, risk_level, mitigation)
  SELECT id, 'Threat ' || g, 'Attacker ' || md5(id::text || g) || ' does something bad to the system.',
         (ARRAY['low', 'medium', 'high', 'critical'])[1 + g %% 4], 'medium', 'high', 'Mitigate with care ' || g
  FROM threat_models, generate_series(1, 3) g;
INSERT INTO diagrams (threat_model_id, name, type, content, metadata)
  SELECT id, 'Data flow', 'data_flow', repeat(md5(id::text), 12), jsonb_build_object('cells', 12, 'owner', name)
  FROM threat_models;
"""


def fill(server, db, owner, users):
    load_tmi(server, db, users=0, owner=owner)
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute('SET ROLE "%s"' % owner)
            cur.execute(FILL_SQL, dict(users=users))
            cur.execute('RESET ROLE')
            cur.execute('VACUUM ANALYZE')
    finally:
        conn.close()
    return server.query(db, 'SELECT pg_database_size(current_database())')[0][0]


def timed(fn):
    start = time.monotonic()
    value = fn()
    return time.monotonic() - start, value


def bare_dump(server, db, path):
    subprocess.run([os.path.join(server.bindir, 'pg_dump'), '-Fc', '-h', server.socketdir, '-p', str(server.port),
                    '-U', 'postgres', '-f', path, db], check=True)


def bare_restore(server, path, owner):
    db = server.create_database('bare')
    server.query('postgres', 'ALTER DATABASE "%s" OWNER TO "%s"' % (db, owner))
    subprocess.run([os.path.join(server.bindir, 'pg_restore'), '--exit-on-error', '--jobs=2', '-h', server.socketdir,
                    '-p', str(server.port), '-U', 'postgres', '-d', db, path], check=True)
    server.drop_database(db)


def dr_restore(server, db, owner, backup_dir, work):
    report_path = os.path.join(work, 'dr.json')
    rc, report = run_playbook(PLAYBOOK, work, dict(
        dr_restore_database=db, dr_restore_owner=owner, dr_restore_backup_dir=backup_dir,
        dr_restore_port=server.port, dr_restore_socket_dir=server.socketdir, dr_restore_bindir=server.bindir,
        dr_restore_login_user='postgres', dr_restore_become_user='', dr_restore_report_path=report_path))
    with open(report_path) as f:
        result = json.load(f)
    server.drop_database(result['restored_database'])
    return rc, result


def median(values):
    return statistics.median(values)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--users', type=int, default=55000)
    args = parser.parse_args()

    server = PgServer().start()
    work = make_open_dir()
    try:
        owner = 'tmi_owner'
        server.query('postgres', 'CREATE ROLE tmi_owner NOLOGIN')
        db = 'tmi'
        server.query('postgres', 'CREATE DATABASE tmi OWNER tmi_owner')
        fill_time, size = timed(lambda: fill(server, db, owner, args.users))
        print('filled %d MB in %.0f s' % (size // 2 ** 20, fill_time), file=sys.stderr)

        times = {'script': [], 'bare_dump': [], 'playbook': [], 'bare_restore': []}
        phases = {'verify': [], 'restore': [], 'validate': []}
        dump_size = 0
        for run in range(args.runs):
            backup_dir = make_backup_dir(work, 'backups-%d' % run)
            seconds, (rc, result, err) = timed(lambda: run_script(server, db, backup_dir, '--retention-days', '0'))
            assert rc == 0, err
            times['script'].append(seconds)
            dump_size = result['size_bytes']
            bare_path = os.path.join(work, 'bare.dump')
            times['bare_dump'].append(timed(lambda: bare_dump(server, db, bare_path))[0])
            seconds, (rc, restored) = timed(lambda: dr_restore(server, db, owner, backup_dir, work))
            times['playbook'].append(seconds)
            for phase in phases:
                phases[phase].append(restored['durations_seconds'][phase])
            assert restored['row_counts_match'], restored
            times['bare_restore'].append(timed(lambda: bare_restore(server, bare_path, owner))[0])
            shutil.rmtree(backup_dir)
            print('run %d: %s' % (run + 1, {k: round(v[-1], 1) for k, v in times.items()}), file=sys.stderr)

        m = {k: median(v) for k, v in times.items()}
        print('| Measurement (median of %d) | Time |' % args.runs)
        print('|---|---:|')
        print('| backup script (pg_dump -Fc, full read-back, rename, retention) | %.1f s |' % m['script'])
        print('| bare `pg_dump -Fc` (floor) | %.1f s |' % m['bare_dump'])
        print('| dr_restore.yml through ansible-playbook, whole wall time (no swap) | %.1f s |' % m['playbook'])
        for phase, values in phases.items():
            print('| part of it: %s | %.1f s |' % (phase, median(values)))
        print('| bare createdb + `pg_restore --jobs=2` (floor) | %.1f s |' % m['bare_restore'])
        print()
        print('| Ratio | Value |')
        print('|---|---:|')
        print('| backup script / bare pg_dump | %.2fx |' % (m['script'] / m['bare_dump']))
        print('| dr_restore.yml / bare pg_restore | %.2fx |' % (m['playbook'] / m['bare_restore']))
        print()
        print('- Database: %d MB (pg_database_size), %d users; dump file %d MB' % (
            size // 2 ** 20, args.users, dump_size // 2 ** 20))
        print('- Date: %s UTC' % datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M'))
        print('- Machine: %s, nproc %d, %s, PostgreSQL %s' % (
            platform.platform(), os.cpu_count(), platform.python_version(),
            server.query('postgres', 'SHOW server_version')[0][0]))
        print('- Load average at the end (other work on the machine): %s' % ' '.join(
            open('/proc/loadavg').read().split()[:3]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
        server.stop()


if __name__ == '__main__':
    main()

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: apply N small synthetic migrations three ways, on a throwaway server.

    .venv/bin/python bench/migrate_500.py [--runs 5] [--loop-runs 3] [--count 500]

Contenders, each on a fresh database per run, all with the same files:

- module: ``tmi.postgresql.migrate`` in ONE task of ``ansible-playbook``
  (whole playbook wall time, the task's own time and the module's duration_ms);
- loop: what users write today, one ``community.postgresql.postgresql_script``
  task per up file through ``loop``;
- psql: the floor, ONE ``psql --single-transaction`` with ``-f`` for every up
  file, as the postgres user over the socket.

Prints a table of medians and ratios and replaces its own section in
docs/benchmarks.md (``--no-docs`` to skip). Not a test: pytest does not collect
bench/.
"""

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests'))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests', 'integration'))

from ansible_run import ansible_env, playbook_for  # noqa: E402
from collection_path import REPO  # noqa: E402
from docs_section import write_section  # noqa: E402
from pgserver import SUPERUSER, PgServer, pg_bindir  # noqa: E402

DOCS = os.path.join(REPO, 'docs', 'benchmarks.md')
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), 'ansible-playbook')
GOAL_VS_PSQL = 1.5
GOAL_VS_LOOP = 20.0


# --- the migrations ------------------------------------------------------------

UP_SQL = """CREATE TABLE bench_{n:06d} (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL,
    amount integer NOT NULL DEFAULT 0,
    created_at timestamp with time zone NOT NULL DEFAULT now()
);

CREATE INDEX bench_{n:06d}_name_idx ON bench_{n:06d} (name);

INSERT INTO bench_{n:06d} (name, amount) VALUES ('alpha', 1), ('beta', 2), ('gamma', 3);
"""

DOWN_SQL = 'DROP TABLE bench_{n:06d};\n'


def write_migrations(folder, count):
    """Write `count` up/down pairs; return the up files in version order."""
    os.makedirs(folder)
    ups = []
    for n in range(1, count + 1):
        stem = os.path.join(folder, '%06d_bench_table_%d' % (n, n))
        with open(stem + '.up.sql', 'w') as f:
            f.write(UP_SQL.format(n=n))
        with open(stem + '.down.sql', 'w') as f:
            f.write(DOWN_SQL.format(n=n))
        ups.append(stem + '.up.sql')
    return ups


# --- running the contenders -------------------------------------------------------

class Failed(Exception):
    pass


def parse_time(stamp):
    return datetime.datetime.strptime(stamp.rstrip('Z'), '%Y-%m-%dT%H:%M:%S.%f')


def run_playbook(tasks, workdir, collections):
    """Run a one-play playbook with tmi.postgresql from `collections`; return (wall seconds, JSON report)."""
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(playbook_for(tasks), f)
    argv = [ANSIBLE_PLAYBOOK, '-i', 'localhost,', path]
    started = time.monotonic()
    env = ansible_env(workdir, {'ANSIBLE_COLLECTIONS_PATH': collections})
    proc = subprocess.run(argv, cwd=workdir, env=env, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise Failed('ansible-playbook printed no JSON (rc %d): %s' % (proc.returncode, proc.stderr[-2000:]))
    if proc.returncode != 0:
        raise Failed('ansible-playbook failed (rc %d): %s' % (proc.returncode, proc.stdout[-3000:]))
    return wall, report


def task_seconds(report):
    """Start of the first task to end of the last one, from the json callback's timestamps."""
    tasks = [t['task'] for play in report['plays'] for t in play['tasks']]
    return (parse_time(tasks[-1]['duration']['end']) - parse_time(tasks[0]['duration']['start'])).total_seconds()


def run_module(server, db, folder, workdir, collections):
    task = {'name': 'Apply the migrations', 'tmi.postgresql.migrate': dict(server.conn_params(db), path=folder)}
    wall, report = run_playbook([task], workdir, collections)
    result = report['plays'][0]['tasks'][0]['hosts']['localhost']
    return dict(wall=wall, task=task_seconds(report), db=result['duration_ms'] / 1000.0)


def run_loop(server, db, ups, workdir, collections):
    task = {
        'name': 'Apply the migration files one by one',
        'community.postgresql.postgresql_script': dict(server.conn_params(db), path='{{ item }}'),
        'loop': ups,
    }
    wall, report = run_playbook([task], workdir, collections)
    return dict(wall=wall, task=task_seconds(report))


def run_psql(server, db, ups, workdir):
    argv = [os.path.join(server.bindir, 'psql'), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '--single-transaction',
            '-h', server.socketdir, '-p', str(server.port), '-U', SUPERUSER, '-d', db]
    for path in ups:
        argv += ['-f', path]
    started = time.monotonic()
    proc = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise Failed('psql failed (rc %d): %s' % (proc.returncode, proc.stderr[-2000:]))
    return dict(wall=wall)


def check_applied(server, db, count):
    """Every contender must leave the same thing: `count` tables of three rows each."""
    tables = server.query(db, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'bench\\_%%'")
    rows = server.query(db, 'SELECT count(*) FROM bench_%06d' % count)
    if tables[0][0] != count or rows[0][0] != 3:
        raise Failed('database %s holds %d bench tables (want %d) and %d rows in the last one (want 3)'
                     % (db, tables[0][0], count, rows[0][0]))


def settle(server):
    """Start every timed run from a quiet disk: flush the dirty buffers the previous run left."""
    server.query('postgres', 'CHECKPOINT')
    os.sync()


def run_once(server, fn, count):
    """Run `fn(db, workdir)` on a fresh database; return its timings."""
    db = server.create_database('bench')
    workdir = tempfile.mkdtemp(prefix='tmi-bench-run-')
    try:
        settle(server)
        result = fn(db, workdir)
        check_applied(server, db, count)
    finally:
        server.drop_database(db)
        shutil.rmtree(workdir, ignore_errors=True)
    return result


def measure(server, contenders, count, log):
    """Run the contenders round-robin, so that a noisy neighbour hits them alike.

    Return {contender: [timings of round 1, round 2, ...]}.
    """
    samples = dict((contender[0], []) for contender in contenders)
    rounds = max(contender[1] for contender in contenders)
    for i in range(rounds):
        for name, runs, fn in contenders:
            if i >= runs:
                continue
            result = run_once(server, fn, count)
            samples[name].append(result)
            log('  round %d/%d %-6s %s' % (i + 1, rounds, name, ', '.join('%s %.2f s' % kv for kv in sorted(result.items()))))
    return samples


def medians(samples):
    """{contender: {metric: median}} over the rounds each contender ran."""
    return dict((name, dict((key, statistics.median(r[key] for r in results)) for key in results[0]))
                for name, results in samples.items() if results)


def paired_ratio(samples, a, key_a, b, key_b):
    """Median over the rounds both ran of a/b: steadier than a ratio of medians on a busy machine."""
    pairs = list(zip(samples.get(a, []), samples.get(b, [])))
    return statistics.median(x[key_a] / y[key_b] for x, y in pairs) if pairs else None


# --- report ------------------------------------------------------------------------

def output_of(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=True).stdout


def machine(load_before, version):
    with open('/proc/cpuinfo') as f:
        models = re.findall(r'^model name\s*:\s*(.*)$', f.read(), re.M)
    mem = output_of(['free', '-h']).splitlines()[1].split()[1]
    pg = output_of([os.path.join(pg_bindir(), 'postgres'), '--version']).strip()
    ansible = output_of([ANSIBLE_PLAYBOOK, '--version']).splitlines()[0]
    return [
        ('Date (UTC)', datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M')),
        ('CPU', '%s, nproc %d' % (models[0] if models else platform.processor() or 'unknown', len(os.sched_getaffinity(0)))),
        ('Memory (free -h, total)', mem),
        ('PostgreSQL', pg + '; tests/pgserver.py settings (fsync on, synchronous_commit on), connections over the socket'),
        ('Ansible', '%s, Python %s, default settings (no pipelining), local connection' % (ansible, platform.python_version())),
        ('Module measured', version),
        ('Load average (1 min) at start / end', '%.2f / %.2f' % (load_before, os.getloadavg()[0])),
    ]


# The files whose speed this measures.
MODULE_FILES = ['plugins/action/migrate.py', 'plugins/modules/migrate.py', 'plugins/module_utils/migration_db.py',
                'plugins/module_utils/migration_plan.py', 'plugins/module_utils/migration_source.py',
                'plugins/module_utils/sql_split.py', 'plugins/module_utils/pg_connection.py']


def snapshot_collection(base):
    """Copy the collection's code as it is now; return (collections path, what was copied).

    The playbooks run this copy, so that edits to the checkout during a run
    of several minutes cannot mix two versions of the module in one result.
    """
    def git(*argv):
        # Empty when the checkout is no git repository: the report then says "unknown".
        return subprocess.run(['git', '-C', REPO] + list(argv), capture_output=True, text=True, check=False).stdout.strip()
    collections = os.path.join(base, 'collections')
    copy = os.path.join(collections, 'ansible_collections', 'tmi', 'postgresql')
    for name in ('plugins', 'meta'):
        shutil.copytree(os.path.join(REPO, name), os.path.join(copy, name), ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(os.path.join(REPO, 'galaxy.yml'), copy)
    digest = hashlib.sha256()
    for path in MODULE_FILES:
        with open(os.path.join(copy, path), 'rb') as f:
            digest.update(f.read())
    commit = git('rev-parse', '--short', 'HEAD') or 'unknown'
    changed = git('status', '--porcelain', '--', *MODULE_FILES)
    version = 'commit %s%s (sha256 of its files %s)' % (
        commit, ' with uncommitted changes' if changed else '', digest.hexdigest()[:12])
    return collections, version


CONTENDER_ROWS = [
    # (contender, metric, short name, label)
    ('psql', 'wall', 'psql', 'psql: ONE `psql --single-transaction` with `-f` for every up file (the floor)'),
    ('module', 'wall', 'module playbook', 'module: ONE `tmi.postgresql.migrate` task, whole `ansible-playbook` run'),
    ('module', 'task', 'module task', 'module: that task alone (json callback timestamps)'),
    ('module', 'db', 'module duration_ms', 'module: its `duration_ms` (connected to PostgreSQL)'),
    ('loop', 'wall', 'loop playbook', 'loop: `community.postgresql.postgresql_script` in a `loop`, one item per up file, whole run'),
]

RATIO_ROWS = [
    # (label, numerator, denominator, goal text, goal predicate)
    ('module playbook / psql', ('module', 'wall'), ('psql', 'wall'), '<= %.1fx' % GOAL_VS_PSQL, lambda r: r <= GOAL_VS_PSQL),
    ('module task / psql', ('module', 'task'), ('psql', 'wall'), '<= %.1fx' % GOAL_VS_PSQL, lambda r: r <= GOAL_VS_PSQL),
    ('module duration_ms / psql', ('module', 'db'), ('psql', 'wall'), '<= %.1fx' % GOAL_VS_PSQL, lambda r: r <= GOAL_VS_PSQL),
    ('loop playbook / module playbook', ('loop', 'wall'), ('module', 'wall'), '>= %.0fx' % GOAL_VS_LOOP,
     lambda r: r >= GOAL_VS_LOOP),
]


def fmt_ratio(value):
    return '%.1fx' % value if value >= 10 else '%.2fx' % value


def report_lines(samples, count, command, info):
    med = medians(samples)
    lines = ['| Contender | Runs | Median | Per migration |', '|---|---:|---:|---:|']
    for name, key, dummy, label in CONTENDER_ROWS:
        if name in med:
            lines.append('| %s | %d | %.2f s | %.1f ms |' % (label, len(samples[name]), med[name][key],
                                                             med[name][key] * 1000.0 / count))
    lines += ['', '| Ratio | Of the medians | Median of per-round ratios | Goal | Met |', '|---|---:|---:|---|---|']
    for label, (a, key_a), (b, key_b), goal, met in RATIO_ROWS:
        if a in med and b in med:
            ratio = med[a][key_a] / med[b][key_b]
            paired = paired_ratio(samples, a, key_a, b, key_b)
            verdict = 'yes' if met(ratio) else 'no'
            lines.append('| %s | %s | %s | %s | %s |' % (label, fmt_ratio(ratio), fmt_ratio(paired), goal, verdict))
    lines += ['', 'Per round (the machine is shared; see how much a run varies):', '']
    for name, key, short, dummy in CONTENDER_ROWS:
        if name in med:
            lines.append('- %s: %s' % (short, ', '.join('%.2f s' % r[key] for r in samples[name])))
    if 'module' in med and 'psql' in med:
        lines.append('- module playbook / psql: %s' % ', '.join(
            fmt_ratio(m['wall'] / p['wall']) for m, p in zip(samples['module'], samples['psql'])))
    lines += ['', 'Machine and run:', '']
    lines += ['- %s: %s' % kv for kv in info]
    lines += ['- Command: `%s`' % command]
    return lines


def section_title(count):
    return '## Migrations: %d small files' % count


def section_text(count, table_lines):
    intro = [
        section_title(count), '',
        'Written by `bench/migrate_500.py`. %d synthetic migrations, each a CREATE TABLE '
        'of four columns, a CREATE INDEX and an INSERT of three rows, applied to a fresh database on a '
        'throwaway PostgreSQL server (tests/pgserver.py). Medians; the same files for every contender. '
        'How it measures and where the time goes: bench/README.md.' % count,
        '',
    ]
    return '\n'.join(intro + table_lines) + '\n'


def write_docs(count, table_lines):
    write_section(DOCS, section_title(count), section_text(count, table_lines))


# --- main ----------------------------------------------------------------------------

def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--count', type=int, default=500, help='migrations to generate (default 500)')
    parser.add_argument('--runs', type=int, default=5, help='runs of psql and of the module (default 5)')
    parser.add_argument('--loop-runs', type=int, default=3,
                        help='runs of the slow postgresql_script loop (default 3; 0 skips it)')
    parser.add_argument('--no-docs', action='store_true', help='print only; leave docs/benchmarks.md alone')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = ' '.join(shlex.quote(a) for a in ['.venv/bin/python', 'bench/migrate_500.py'] + sys.argv[1:])

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    base = tempfile.mkdtemp(prefix='tmi-bench-')
    server = PgServer()
    try:
        collections, version = snapshot_collection(base)
        folder = os.path.join(base, 'migrations')
        ups = write_migrations(folder, args.count)
        server.start()
        log('server on port %d, %d migrations in %s' % (server.port, args.count, folder))
        contenders = [
            ('psql', args.runs, lambda db, work: run_psql(server, db, ups, work)),
            ('module', args.runs, lambda db, work: run_module(server, db, folder, work, collections)),
            ('loop', args.loop_runs, lambda db, work: run_loop(server, db, ups, work, collections)),
        ]
        samples = measure(server, contenders, args.count, log)
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    table = report_lines(samples, args.count, command, machine(load_before, version))
    print('\n'.join(table))
    if not args.no_docs:
        write_docs(args.count, table)
        log('section "%s" written to %s' % (section_title(args.count)[3:], os.path.relpath(DOCS, os.getcwd())))
    return 0


if __name__ == '__main__':
    try:
        sys.exit(main())
    except Failed as e:
        print('benchmark failed: %s' % e, file=sys.stderr)
        sys.exit(1)

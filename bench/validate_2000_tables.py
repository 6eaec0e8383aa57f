# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: validate a synthetic schema of 2,000 tables against its definition.

    .venv/bin/python bench/validate_2000_tables.py [--tables 2000] [--runs 5] [--migra-runs 3] [--ansible-runs 3]

On a throwaway server (tests/pgserver.py) a database is built from the
tmi.postgresql.schema_sql output of a synthetic definition: every table has
eight columns (uuid, varchar, numeric, boolean, timestamptz, with defaults), a
primary key, a unique constraint, a foreign key, two CHECK rules, a plain and
a partial index. A copy is made with CREATE DATABASE ... TEMPLATE. Measured
(medians):

- validate: the validation as the module runs it (schema_validation.validate:
  read the catalog, spell the definition through PostgreSQL, compare), with
  the number of statements it sent, for the 2,000 tables and for TMI's 7;
- module: one tmi.postgresql.schema_validate task through ansible-playbook;
- pg_dump: pg_dump --schema-only of the same database, the baseline of
  "reading this catalog once";
- migra: migra diffing the database against its copy.

Prints a table and replaces its own section in docs/benchmarks.md
(``--no-docs`` to skip). Not a test: pytest does not collect bench/.
"""

import datetime
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
import urllib.parse

import yaml

BENCH = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests'))
sys.path.insert(0, os.path.join(BENCH, '..', 'tests', 'integration'))

from collection_path import REPO, collections_dir  # noqa: E402
from docs_section import bench_parser, command_output, memory, write_section  # noqa: E402
from pgserver import SUPERUSER, PgServer, pg_bindir  # noqa: E402

sys.path.insert(0, collections_dir())

from ansible_run import run_module, run_tasks  # noqa: E402
from schema_helpers import migrate_with_sql_files, tmi_definition  # noqa: E402

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import load_definition  # noqa: E402
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_sql import generate_sql  # noqa: E402
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_validation import validate  # noqa: E402

DOCS = os.path.join(REPO, 'docs', 'benchmarks.md')
GOAL_SECONDS = 2.0


def synthetic_data(count):
    """A definition of `count` tables; table n references table n // 2 (a tree, no cycles)."""
    tables = {}
    for n in range(count):
        t = 'bench_%05d' % n
        tables[t] = {
            'columns': [
                {'name': 'id', 'type': 'uuid', 'nullable': False, 'default': 'gen_random_uuid()'},
                {'name': 'parent_id', 'type': 'uuid'},
                {'name': 'name', 'type': 'varchar(255)', 'nullable': False},
                {'name': 'status', 'type': 'varchar(20)', 'nullable': False, 'default': "'new'"},
                {'name': 'amount', 'type': 'numeric(12,2)', 'nullable': False, 'default': 0},
                {'name': 'archived', 'type': 'boolean', 'nullable': False, 'default': False},
                {'name': 'created_at', 'type': 'timestamptz', 'nullable': False, 'default': 'now()'},
                {'name': 'modified_at', 'type': 'timestamptz', 'nullable': False, 'default': 'now()'},
            ],
            'primary_key': {'name': '%s_pkey' % t, 'columns': ['id']},
            'unique': [{'name': '%s_name_key' % t, 'columns': ['name']}],
            'foreign_keys': [{'name': '%s_parent_id_fkey' % t, 'columns': ['parent_id'],
                              'references': {'table': 'bench_%05d' % (n // 2), 'columns': ['id']},
                              'on_delete': 'cascade'}],
            'checks': [
                {'name': '%s_status_check' % t, 'expression': "status IN ('new', 'open', 'closed')"},
                {'name': '%s_amount_check' % t, 'expression': 'amount >= 0 AND modified_at >= created_at'},
            ],
            'indexes': [
                {'name': 'idx_%s_parent_id' % t, 'columns': ['parent_id']},
                {'name': 'idx_%s_open' % t, 'columns': ['status', 'created_at'], 'where': "status <> 'closed'"},
            ],
        }
    return {'version': 1, 'tables': tables}


def run_sql(server, db, sql):
    conn = server.connect(db)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def time_validate(server, db, definition, exact_counts):
    conn = server.connect(db)
    try:
        started = time.monotonic()
        result = validate(conn, definition, exact_counts=exact_counts)
        elapsed = time.monotonic() - started
    finally:
        conn.close()
    problems = [f for f in result['findings'] if f['severity'] != 'info']
    if problems:
        raise SystemExit('validation found differences, the benchmark is void: %s' % problems[:3])
    return elapsed, result['queries'], len(result['findings'])


def time_module(server, db, definition_path, workdir):
    args = dict(server.conn_params(db), definition=definition_path, row_counts='estimate', report_matches=False)
    started = time.monotonic()
    result = run_module('tmi.postgresql.schema_validate', args, workdir)
    elapsed = time.monotonic() - started
    if result.get('failed') or not result.get('valid'):
        raise SystemExit('module run failed: %s' % result.get('msg'))
    return elapsed, result['duration_ms'] / 1000.0


def time_yaml(path):
    loader = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
    started = time.monotonic()
    with open(path) as f:
        yaml.load(f.read(), Loader=loader)
    return time.monotonic() - started


def time_empty_playbook(workdir):
    started = time.monotonic()
    result = run_tasks([{'name': 'baseline', 'ansible.builtin.ping': {}}], workdir)[0]
    if result.get('failed'):
        raise SystemExit('baseline playbook failed: %s' % result.get('msg'))
    return time.monotonic() - started


def time_pg_dump(server, db):
    started = time.monotonic()
    server.schema_dump(db)
    return time.monotonic() - started


def time_migra(server, db_from, db_to):
    from migra import Migration
    from sqlbag import S

    def url(db):
        return 'postgresql+psycopg2://%s@/%s?host=%s&port=%d' % (
            SUPERUSER, db, urllib.parse.quote(server.socketdir, safe=''), server.port)
    started = time.monotonic()
    with S(url(db_from)) as a, S(url(db_to)) as b:
        migration = Migration(a, b)
        migration.set_safety(False)
        migration.add_all_changes()
        sql = migration.sql
    elapsed = time.monotonic() - started
    if sql.strip():
        raise SystemExit('migra found differences between a database and its copy: %s' % sql[:300])
    return elapsed


def median_of(runs, fn, label, log):
    samples = []
    for i in range(runs):
        samples.append(fn())
        log('%s run %d/%d: %s' % (label, i + 1, runs, samples[-1]))
    return samples


def machine():
    out = command_output
    return [
        ('Date', datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')),
        ('nproc', out(['nproc'])),
        ('Load average at the end (other work on the machine)', ' '.join(out(['cat', '/proc/loadavg']).split()[:3])),
        ('free -h (Mem)', memory()),
        ('Python', platform.python_version()),
        ('PostgreSQL', out([os.path.join(pg_bindir(), 'postgres'), '--version'])),
    ]


def report_lines(r, args, command):
    lines = [
        '| Measurement | Runs | Median | Statements |',
        '|---|---:|---:|---:|',
        '| validate %d tables (row counts: estimate) | %d | %.2f s | %d |'
        % (args.tables, args.runs, r['validate'], r['queries']),
        '| validate %d tables (row counts: exact) | %d | %.2f s | %d |'
        % (args.tables, args.runs, r['validate_exact'], r['queries_exact']),
        '| validate TMI\'s 7 tables (row counts: exact) | %d | %.3f s | %d |'
        % (args.runs, r['validate_tmi'], r['queries_tmi']),
    ]
    if 'module' in r:
        lines.append('| module task through ansible-playbook, whole run (%d tables) | %d | %.2f s | |'
                     % (args.tables, args.ansible_runs, r['module']))
        lines.append('| part of it: the module\'s own `duration_ms` | %d | %.2f s | |' % (args.ansible_runs, r['module_db']))
        lines.append('| part of it: parsing the %.1f MB YAML definition on the controller (libyaml) | %d | %.2f s | |'
                     % (r['yaml_size'] / 1e6, args.ansible_runs, r['yaml']))
        lines.append('| part of it: ansible-playbook itself (one ping task) | %d | %.2f s | |'
                     % (args.ansible_runs, r['playbook']))
    lines.append('| pg_dump --schema-only (baseline: reading the catalog once) | %d | %.2f s | |'
                 % (args.runs, r['pg_dump']))
    if 'migra' in r:
        lines.append('| migra diff of the database against its copy | %d | %.2f s | |' % (args.migra_runs, r['migra']))
    lines += ['', '| Ratio | Value | Goal |', '|---|---:|---|']
    lines.append('| validate %d tables | %.2f s | < %.1f s |' % (args.tables, r['validate'], GOAL_SECONDS))
    lines.append('| statements for %d tables / for 7 (row counts: exact) | %d / %d | equal |'
                 % (args.tables, r['queries_exact'], r['queries_tmi']))
    lines.append('| validate / pg_dump --schema-only | %.2fx | |' % (r['validate'] / r['pg_dump']))
    if 'migra' in r:
        lines.append('| migra / validate | %.1fx | |' % (r['migra'] / r['validate']))
    lines += ['', 'Machine:', '']
    lines += ['- %s: %s' % kv for kv in machine()]
    lines += ['- Command: `%s`' % command]
    return lines


def section_title(count):
    return '## Schema validation: %d tables' % count


def section_text(count, table_lines):
    intro = [
        section_title(count), '',
        'Written by `bench/validate_2000_tables.py`. A synthetic definition of %d tables (eight columns with '
        'defaults, a primary key, a unique constraint, a foreign key, two CHECK rules, a plain and a partial '
        'index each), built with the generated SQL on a throwaway PostgreSQL server, validated against that '
        'definition (no differences, so every object is compared and matched). Medians. The goal is '
        'the validation itself (what the module does once connected). Through ansible-playbook most of '
        'the time is Ansible\'s: its start, parsing a definition of this size on the controller, and '
        'handing it to the module as arguments; TMI\'s own definition costs milliseconds there.' % count,
        '',
    ]
    return '\n'.join(intro + table_lines) + '\n'


def write_docs(count, table_lines):
    write_section(DOCS, section_title(count), section_text(count, table_lines))


def parse_args(argv):
    parser = bench_parser(__doc__, tables=2000)
    parser.add_argument('--runs', type=int, default=5, help='runs of the validation and of pg_dump (default 5)')
    parser.add_argument('--migra-runs', type=int, default=3, help='runs of migra (default 3; 0 skips it)')
    parser.add_argument('--ansible-runs', type=int, default=3, help='runs through ansible-playbook (default 3; 0 skips)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    command = ' '.join(shlex.quote(a) for a in ['.venv/bin/python', 'bench/validate_2000_tables.py'] + sys.argv[1:])

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    import tempfile
    workdir = tempfile.mkdtemp(prefix='tmi-bench-validate-')
    server = PgServer(settings={'max_locks_per_transaction': '1024'}).start()
    r = {}
    try:
        data = synthetic_data(args.tables)
        definition = load_definition(data, 'synthetic')
        definition_path = os.path.join(workdir, 'synthetic.yml')
        with open(definition_path, 'w') as f:
            yaml.safe_dump(data, f)
        db = server.create_database('bench')
        started = time.monotonic()
        run_sql(server, db, 'BEGIN;\n%s\nCOMMIT;' % generate_sql(definition))
        log('server on port %d; %d tables built in %.1f s' % (server.port, args.tables, time.monotonic() - started))
        copy = server.create_database('copy')
        server.drop_database(copy)
        server.query('postgres', 'CREATE DATABASE "%s" TEMPLATE "%s"' % (copy, db))
        tmi = server.create_database('tmi')
        migrate_with_sql_files(server, tmi)

        samples = median_of(args.runs, lambda: time_validate(server, db, definition, False), 'validate', log)
        r['validate'] = statistics.median(s[0] for s in samples)
        r['queries'] = samples[0][1]
        samples = median_of(args.runs, lambda: time_validate(server, db, definition, True), 'validate exact', log)
        r['validate_exact'] = statistics.median(s[0] for s in samples)
        r['queries_exact'] = samples[0][1]
        samples = median_of(args.runs, lambda: time_validate(server, tmi, tmi_definition(), True), 'validate TMI', log)
        r['validate_tmi'] = statistics.median(s[0] for s in samples)
        r['queries_tmi'] = samples[0][1]
        r['pg_dump'] = statistics.median(median_of(args.runs, lambda: time_pg_dump(server, db), 'pg_dump', log))
        if args.ansible_runs > 0:
            samples = median_of(args.ansible_runs, lambda: time_module(server, db, definition_path, workdir),
                                'module', log)
            r['module'] = statistics.median(s[0] for s in samples)
            r['module_db'] = statistics.median(s[1] for s in samples)
            r['yaml'] = statistics.median(median_of(args.ansible_runs, lambda: time_yaml(definition_path), 'yaml', log))
            r['playbook'] = statistics.median(median_of(args.ansible_runs, lambda: time_empty_playbook(workdir),
                                                        'ping playbook', log))
            r['yaml_size'] = os.path.getsize(definition_path)
        if args.migra_runs > 0:
            r['migra'] = statistics.median(median_of(args.migra_runs, lambda: time_migra(server, db, copy), 'migra', log))
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    table = report_lines(r, args, command)
    print('\n'.join(table))
    if not args.no_docs:
        write_docs(args.tables, table)
        log('section "%s" written to %s' % (section_title(args.tables)[3:], os.path.relpath(DOCS, os.getcwd())))
    return 0


if __name__ == '__main__':
    sys.exit(main())

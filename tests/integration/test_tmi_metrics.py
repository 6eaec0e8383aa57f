"""The tmi_metrics timer program against a real PostgreSQL with a migrated TMI database.

The program runs as the postgres user with the system's python3 (no Ansible),
from a tree holding exactly the module_utils the role copies to the host.
"""

import json
import os
import re
import shutil
import subprocess
import tempfile

import psycopg2
import pytest
import yaml

from migration_files import NEWEST
from pgserver import PgServer, wait_for
from schema_helpers import REPO, definition_data, migrate_with_sql_files

PROGRAM = os.path.join(REPO, 'roles', 'tmi_metrics', 'files', 'tmi-metrics.py')
MODULE_UTILS = os.path.join(REPO, 'plugins', 'module_utils')
SYSTEM_PYTHON = '/usr/bin/python3'
LINE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def shipped_module_utils():
    with open(os.path.join(REPO, 'roles', 'tmi_metrics', 'vars', 'main.yml')) as f:
        return yaml.safe_load(f)['__tmi_metrics_module_utils']


@pytest.fixture(scope='module')
def log_server():
    """A server that logs as the server role makes it log: collector, prefix, verbose errors."""
    base = tempfile.mkdtemp(prefix='tmi-metrics-log-')
    os.chmod(base, 0o755)
    logdir = os.path.join(base, 'log')
    os.mkdir(logdir, 0o700)
    if os.geteuid() == 0:
        shutil.chown(logdir, 'postgres', 'postgres')
    server = PgServer({
        'logging_collector': 'on',
        'log_directory': "'%s'" % logdir,
        'log_filename': "'postgresql-%a.log'",
        'log_line_prefix': "'%m [%p] %q[%l-1] user=%u,db=%d,app=%a,client=%h '",
        'log_error_verbosity': 'verbose',
        'log_connections': 'on',
        'log_file_mode': '0600',
    }).start()
    server.logdir = logdir
    yield server
    server.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def metrics_host(log_server):
    """The program's files laid out as the role lays them out, a migrated database, a verified dump."""
    root = tempfile.mkdtemp(prefix='tmi-metrics-host-')
    os.chmod(root, 0o755)
    lib = os.path.join(root, 'lib')
    target = os.path.join(lib, 'ansible_collections', 'tmi', 'postgresql', 'plugins', 'module_utils')
    os.makedirs(target)
    for name in shipped_module_utils():
        shutil.copy(os.path.join(MODULE_UTILS, name), target)
    shutil.copy(PROGRAM, lib)
    for folder in ('textfile', 'state', 'backups'):
        os.mkdir(os.path.join(root, folder), 0o700)
        if os.geteuid() == 0:
            shutil.chown(os.path.join(root, folder), 'postgres', 'postgres')
    os.chmod(os.path.join(root, 'textfile'), 0o755)
    definition = os.path.join(root, 'schema.json')
    with open(definition, 'w') as f:
        json.dump(definition_data(), f)
    db = log_server.create_database()
    migrate_with_sql_files(log_server, db)
    dump = os.path.join(root, 'backups', 'tmi_20260101_020000.%s.15-main.dump' % db)
    subprocess.run([os.path.join(log_server.bindir, 'pg_dump'), '-Fc', '-h', log_server.socketdir,
                    '-p', str(log_server.port), '-U', 'postgres', '-f', dump, db], check=True)
    config = dict(
        textfile=os.path.join(root, 'textfile', 'tmi.prom'),
        lib_dir=lib,
        database=dict(name=db, port=log_server.port, socket_dir=log_server.socketdir, schema='public'),
        definition=definition,
        logical_backup=dict(dir=os.path.join(root, 'backups'), prefix='tmi', cluster='15-main'),
        # No such program: the source fails, the others must not.
        pgbackrest=dict(command=os.path.join(root, 'no-pgbackrest'), config='/dev/null', stanza='tmi'),
        max_age_seconds=dict(logical=90000, pgbackrest=608400),
        standbys_expected=2,
        auth_log=dict(directory=log_server.logdir, filename='postgresql-%a.log',
                      state_file=os.path.join(root, 'state', 'auth.json')),
    )
    config_path = os.path.join(root, 'tmi-metrics.json')
    with open(config_path, 'w') as f:
        json.dump(config, f)
    os.chmod(config_path, 0o644)
    yield dict(root=root, config=config_path, textfile=config['textfile'], db=db, dump=dump,
               state=config['auth_log']['state_file'])
    log_server.drop_database(db)
    shutil.rmtree(root, ignore_errors=True)


def run_program(files, stderr=False):
    argv = [SYSTEM_PYTHON, os.path.join(files['root'], 'lib', 'tmi-metrics.py'), '--config', files['config']]
    if os.geteuid() == 0:
        argv = ['runuser', '-u', 'postgres', '--'] + argv
    # Without the test's PYTHONPATH: the program finds its modules in its own tree only.
    env = dict((k, v) for k, v in os.environ.items() if k != 'PYTHONPATH')
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd='/', check=False)
    assert proc.returncode == 0, proc.stderr
    samples = read_textfile(files['textfile'])
    return (samples, proc.stderr) if stderr else samples


def read_textfile(path):
    samples, typed = {}, set()
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            if line.startswith('# TYPE '):
                typed.add(line.split()[2])
                continue
            if line.startswith('#'):
                continue
            match = LINE.match(line)
            assert match, 'not a sample line: %r' % line
            name, labels, value = match.groups()
            assert name in typed, '%s has no TYPE line before it' % name
            samples[name + (labels or '')] = float(value)
    return samples


def test_a_healthy_database_gives_every_metric(metrics_host):
    samples, stderr = run_program(metrics_host, stderr=True)
    assert samples['tmi_schema_migration_version'] == NEWEST
    assert samples['tmi_schema_migration_dirty'] == 0
    assert samples['tmi_schema_valid'] == 1
    assert samples['tmi_schema_validation_duration_seconds'] > 0
    assert samples['tmi_backup_logical_last_size_bytes'] == os.path.getsize(metrics_host['dump'])
    assert samples['tmi_backup_logical_last_timestamp_seconds'] == int(os.path.getmtime(metrics_host['dump']))
    assert samples['tmi_backup_max_age_seconds{kind="logical"}'] == 90000
    assert samples['tmi_backup_max_age_seconds{kind="pgbackrest"}'] == 608400
    assert samples['tmi_replication_standbys_expected'] == 2
    assert 'tmi_auth_failures_total' in samples
    # The failing source is named; the others worked.
    assert samples['tmi_metrics_source_error{source="backup_pgbackrest"}'] == 1
    assert 'tmi_backup_pgbackrest_last_timestamp_seconds' not in samples
    for source in ('migration', 'schema_validation', 'backup_logical', 'auth_log'):
        assert samples['tmi_metrics_source_error{source="%s"}' % source] == 0
    assert 'source backup_pgbackrest failed' in stderr
    assert oct(os.stat(metrics_host['textfile']).st_mode & 0o777) == '0o644'
    assert oct(os.stat(metrics_host['state']).st_mode & 0o777) == '0o600'
    # Nothing but the file in the folder: the temporary file was renamed.
    assert os.listdir(os.path.dirname(metrics_host['textfile'])) == ['tmi.prom']


def test_a_dirty_flag_shows(metrics_host, log_server):
    log_server.query(metrics_host['db'], 'UPDATE schema_migrations SET dirty = true')
    samples = run_program(metrics_host)
    assert samples['tmi_schema_migration_dirty'] == 1
    assert samples['tmi_schema_migration_version'] == NEWEST


def test_a_dropped_index_makes_the_schema_invalid(metrics_host, log_server):
    samples = run_program(metrics_host)
    assert samples['tmi_schema_valid'] == 1
    index = log_server.query(metrics_host['db'],
                             "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' "
                             "AND indexname NOT LIKE '%pkey' AND tablename <> 'schema_migrations' "
                             "ORDER BY indexname LIMIT 1")[0][0]
    log_server.query(metrics_host['db'], 'DROP INDEX "%s"' % index)
    samples = run_program(metrics_host)
    assert samples['tmi_schema_valid'] == 0
    assert samples['tmi_metrics_source_error{source="schema_validation"}'] == 0


def failures_in_log(logdir):
    total = 0
    for name in os.listdir(logdir):
        with open(os.path.join(logdir, name), errors='replace') as f:
            total += sum(1 for line in f if 'FATAL:' in line and 'password authentication failed' in line)
    return total


def test_failed_password_logins_are_counted(metrics_host, log_server):
    before = run_program(metrics_host)
    logged = failures_in_log(log_server.logdir)
    for attempt in range(3):
        with pytest.raises(psycopg2.OperationalError, match='password authentication failed'):
            psycopg2.connect(host='127.0.0.1', port=log_server.port, dbname=metrics_host['db'], user='postgres',
                             password='wrong-%d' % attempt, connect_timeout=10)
    # The logging collector writes on its own time: wait until the three lines are in the file.
    assert wait_for(lambda: failures_in_log(log_server.logdir) == logged + 3)
    after = run_program(metrics_host)
    assert after['tmi_auth_failures_total'] == before['tmi_auth_failures_total'] + 3
    # A run without new failures keeps the count: the state file holds the offset.
    again = run_program(metrics_host)
    assert again['tmi_auth_failures_total'] == after['tmi_auth_failures_total']

"""Shared pieces of the logical-backup tests: the script, TMI data, playbook runs."""

import glob
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import uuid

import yaml

from ansible_run import ansible_env
from migration_files import NEWEST

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SCRIPT = os.path.join(REPO, 'roles', 'backup', 'files', 'tmi-pg-backup.sh')
MIGRATIONS = sorted(glob.glob(os.path.join(REPO, 'files', 'migrations', '*.up.sql')))
TMI_TABLES = ['diagrams', 'refresh_tokens', 'schema_migrations', 'threat_model_access', 'threat_models', 'threats',
              'user_providers', 'users']
# PREFIX_STAMP.DATABASE.CLUSTER.dump, DATABASE and CLUSTER %XX-encoded.
ENCODED = r'(?:[a-z0-9_-]|%[0-9A-F]{2})+'
BACKUP_NAME = r'^tmi_(\d{8}_\d{6})\.(%s)\.(%s)\.dump$' % (ENCODED, ENCODED)
AS_ROOT = os.geteuid() == 0
# The PostgreSQL version each Debian release packages as its own: what tmi_postgresql_version defaults to on this
# host, and so the version in the roles' default cluster labels and paths (written here, not read from the
# collection's table, which the tests check).
DEBIAN_POSTGRESQL = {'11': 13, '12': 15, '13': 17}


def debian_release():
    with open('/etc/debian_version') as f:
        return f.read().strip().split('.')[0]


def platform_postgresql_version():
    """The PostgreSQL major version the roles default to on this Debian host."""
    return DEBIAN_POSTGRESQL[debian_release()]


def as_backup_user(argv):
    """Run as postgres, as cron does, when the tests run as root."""
    return ['runuser', '-u', 'postgres', '--'] + argv if AS_ROOT else argv


def server_role_vars(pg_server, **settings):
    """The variables that point the roles at a throwaway server, run as root becoming postgres with su."""
    return dict(ansible_python_interpreter=SYSTEM_PYTHON, ansible_become_method='su',
                tmi_postgresql_port=pg_server.port, tmi_postgresql_socket_dir=pg_server.socketdir, **settings)


def make_open_dir():
    """A temporary folder that postgres can reach (pytest's tmp_path is under a 0700 folder of root)."""
    path = tempfile.mkdtemp(prefix='tmi-backup-test-')
    os.chmod(path, 0o755)
    return path


def make_backup_dir(parent, name='backups'):
    path = os.path.join(parent, name)
    os.mkdir(path, 0o700)
    if AS_ROOT:
        shutil.chown(path, 'postgres', 'postgres')
    return path


def encode_name(name):
    """The script's encoding of a database name or cluster label in a file name."""
    return ''.join(chr(b) if chr(b) in 'abcdefghijklmnopqrstuvwxyz0123456789_-' else '%%%02X' % b
                   for b in name.encode())


def decode_name(part):
    return urllib.parse.unquote(part, errors='strict')


def series_name(db, stamp, cluster, suffix='.dump'):
    """File name of a backup of `db` on `cluster` taken at `stamp` (YYYYmmdd_HHMMSS)."""
    return 'tmi_%s.%s.%s%s' % (stamp, encode_name(db), encode_name(cluster), suffix)


def local_cluster(pg_server):
    """The cluster label the script gives a server reached over its socket folder."""
    return 'local-%d' % pg_server.port


def script_argv(pg_server, db, backup_dir, *extra):
    return as_backup_user([SCRIPT, '--config', '', '--backup-dir', backup_dir, '--database', db,
                           '--host', pg_server.socketdir, '--port', str(pg_server.port), '--bindir', pg_server.bindir,
                           '--no-syslog', '--json'] + list(extra))


def run_script(pg_server, db, backup_dir, *extra):
    """Run the backup script once; return (exit status, JSON result or None, stderr)."""
    proc = subprocess.run(script_argv(pg_server, db, backup_dir, *extra), capture_output=True, text=True,
                          timeout=300, check=False)
    return proc.returncode, parse_result(proc.stdout), proc.stderr


def start_script(pg_server, db, backup_dir, *extra):
    return subprocess.Popen(script_argv(pg_server, db, backup_dir, *extra), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def parse_result(stdout):
    lines = [line for line in stdout.splitlines() if line.startswith('{')]
    return json.loads(lines[-1]) if lines else None


def listing(folder):
    return sorted(os.listdir(folder))


def backups(folder):
    return [name for name in listing(folder) if name.endswith('.dump') and not name.startswith('.')]


def partials(folder):
    """Temporary files of the script (dumps being written, captured error output)."""
    return [name for name in listing(folder) if name.endswith('.partial')]


def dump_partials(folder):
    return [name for name in listing(folder) if name.endswith('.dump.partial')]


def copy_as(backup_dir, source, name, size=None):
    """Put a copy of a backup (or its first `size` bytes) under another name, owned like the rest."""
    target = os.path.join(backup_dir, name)
    with open(source, 'rb') as src, open(target, 'wb') as dst:
        dst.write(src.read() if size is None else src.read(size))
    if AS_ROOT:
        shutil.chown(target, 'postgres', 'postgres')
    return target


def load_tmi(pg_server, db, users=20, owner=None):
    """TMI's schema at the newest version (created as `owner` when given) with a little data in every table."""
    conn = pg_server.connect(db)
    try:
        with conn.cursor() as cur:
            if owner:
                cur.execute('SET ROLE "%s"' % owner)
            for path in MIGRATIONS:
                with open(path) as f:
                    cur.execute(f.read())
            cur.execute('CREATE TABLE schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);'
                        'INSERT INTO schema_migrations VALUES (%d, false)' % NEWEST)
            cur.execute(SEED_SQL, dict(users=users))
    finally:
        conn.close()


SEED_SQL = """
INSERT INTO users (email, name) SELECT 'user' || g || '@example.org', 'User ' || g FROM generate_series(1, %(users)s) g;
INSERT INTO user_providers (user_id, provider, provider_user_id, email, is_primary)
  SELECT id, 'github', 'gh-' || email, email, true FROM users;
INSERT INTO refresh_tokens (user_id, token, expires_at) SELECT id, md5(email), now() + interval '1 day' FROM users;
INSERT INTO threat_models (owner_email, name, description) SELECT email, 'Model of ' || name, 'desc' FROM users;
INSERT INTO threat_model_access (threat_model_id, user_email, role) SELECT id, owner_email, 'owner' FROM threat_models;
INSERT INTO threats (threat_model_id, name, severity, likelihood, risk_level)
  SELECT id, 'Threat ' || g, 'high', 'low', 'medium' FROM threat_models, generate_series(1, 3) g;
INSERT INTO diagrams (threat_model_id, name, type, content, metadata)
  SELECT id, 'Diagram', 'data_flow', repeat('x', 100), '{"v": 1}' FROM threat_models;
"""


def row_counts(pg_server, db):
    return {table: pg_server.query(db, 'SELECT count(*) FROM "%s"' % table)[0][0] for table in TMI_TABLES}


def databases_like(pg_server, prefix):
    return sorted(r[0] for r in pg_server.query('postgres', 'SELECT datname FROM pg_database WHERE datname LIKE %s',
                                                (prefix.replace('_', r'\_') + '%',)))


def crontab(user):
    proc = subprocess.run(['crontab', '-l', '-u', user], capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else None


def restore_crontab(user, content):
    if content is None:
        subprocess.run(['crontab', '-r', '-u', user], capture_output=True, check=False)
    else:
        subprocess.run(['crontab', '-u', user, '-'], input=content, text=True, check=True)


# Modules that run as postgres cannot use the test venv's Python (under root's home).
SYSTEM_PYTHON = '/usr/bin/python3'


def run_playbook(playbook, workdir, extra_vars, check=False, inventory='localhost,'):
    """ansible-playbook against localhost; return (exit status, the JSON callback's report)."""
    extra_vars = dict(dict(ansible_python_interpreter=sys.executable, tmi_postgresql_hosts='localhost'), **extra_vars)
    vars_file = os.path.join(workdir, 'vars-%s.yml' % uuid.uuid4().hex[:6])
    with open(vars_file, 'w') as f:
        yaml.safe_dump(extra_vars, f)
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-c', 'local',
            '-e', '@' + vars_file, playbook]
    if check:
        argv.append('--check')
    proc = subprocess.run(argv, cwd=workdir, env=ansible_env(workdir), capture_output=True, text=True, timeout=900,
                          check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook (rc %d)\n%s\n%s'
                             % (proc.returncode, proc.stdout, proc.stderr))
    return proc.returncode, report


def task_result(report, name):
    for play in report['plays']:
        for task in play['tasks']:
            # A role's task is named 'ROLE : NAME'.
            if task['task']['name'].split(' : ')[-1] == name:
                return task['hosts']['localhost']
    raise AssertionError('task %r did not run' % name)


# What site.yml's pre_tasks run before its first role: checks, and the reads
# they need (the distribution, the packages' versions, the cut-over's summary).
PRE_TASK_PREFIXES = ('Check ', 'Validating arguments', 'Refuse ', 'Read the distribution',
                     'Read the installed or candidate versions', 'Read whether a logical upgrade moved TMI away')


def tasks_beyond_checks(report):
    """The tasks of a run that were neither checks nor the reads before them (empty when only those ran)."""
    names = [task['task']['name'] for play in report['plays'] for task in play['tasks']]
    return [name for name in names
            if name != 'Gathering Facts' and not name.split(' : ')[-1].startswith(PRE_TASK_PREFIXES)]


def failed_task(report):
    for play in report['plays']:
        for task in play['tasks']:
            result = task['hosts'].get('localhost', {})
            if result.get('failed') and not result.get('ignore_errors'):
                return task['task']['name'].split(' : ')[-1], result
    return None, None


def changed_count(report):
    return report['stats']['localhost']['changed']


def failed_messages(report):
    """The messages of every task that failed on localhost, ignored failures too, in the order they ran."""
    return [task['hosts']['localhost']['msg'] for play in report['plays'] for task in play['tasks']
            if task['hosts'].get('localhost', {}).get('failed')]


def assert_refused_at(rc, report, check_task, message, prefix=''):
    """The run stopped at check_task, its only failure, with a message that starts with prefix, holds
    message and ends with "Nothing was changed.", and changed nothing. Returns the message (to compare
    two runs' refusals)."""
    name, result = failed_task(report)
    assert rc != 0
    assert name == check_task, name
    msg = result['msg']
    assert message in msg, msg
    assert msg.startswith(prefix) and msg.endswith(' Nothing was changed.'), msg
    assert failed_messages(report) == [msg]
    assert changed_count(report) == 0
    return msg


def postgres_uid():
    return pwd.getpwnam('postgres').pw_uid

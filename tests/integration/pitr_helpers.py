"""Throwaway clusters that archive their WAL with pgBackRest, a writer that records commit times,
and a runner for playbooks/dr_pitr.yml: shared by tests/integration/test_dr_pitr.py and bench/pitr_rto.py.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import jinja2
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from ansible_run import ansible_env  # noqa: E402
from collection_path import REPO  # noqa: E402
from pgserver import PgServer  # noqa: E402
from schema_helpers import migrate_with_sql_files  # noqa: E402

PLAYBOOK = os.path.join(REPO, 'playbooks', 'dr_pitr.yml')
ROLE = os.path.join(REPO, 'roles', 'wal_archive')
STANZA = 'tmi'
WAL_SEGMENT_BYTES = 16 * 1024 * 1024
# Modules run as postgres under become: they need an interpreter postgres can
# run, with psycopg2 (Debian's python3-psycopg2).
TARGET_PYTHON = '/usr/bin/python3'


def render_role_template(name, variables):
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROLE, 'templates')),
                             keep_trailing_newline=True, trim_blocks=True)
    return env.get_template(name).render(ansible_managed='test', **variables)


def role_archive_command(config_file):
    """The archive_command of the role, rendered for this repository."""
    with open(os.path.join(ROLE, 'vars', 'main.yml')) as f:
        template = yaml.safe_load(f)['__wal_archive_commands']['pgbackrest']
    return jinja2.Template(template).render(wal_archive_config_file=config_file, wal_archive_stanza=STANZA)


class ArchivingCluster(object):
    """A throwaway cluster archiving its WAL to a pgBackRest repository of its own."""

    def __init__(self, archive_timeout):
        self.repo_base = tempfile.mkdtemp(prefix='tmi-pgbr-')
        self.config = os.path.join(self.repo_base, 'pgbackrest.conf')
        self.server = PgServer(settings={
            'archive_mode': 'on',
            'wal_level': 'replica',
            'archive_timeout': "'%ds'" % archive_timeout,
            'archive_command': "'%s'" % role_archive_command(self.config),
        })

    def start(self):
        shutil.chown(self.repo_base, 'postgres', 'postgres')
        for sub in ('repo', 'log', 'lock'):
            os.mkdir(os.path.join(self.repo_base, sub), 0o750)
            shutil.chown(os.path.join(self.repo_base, sub), 'postgres', 'postgres')
        conf = render_role_template('pgbackrest.conf.j2', dict(
            wal_archive_repo_path=os.path.join(self.repo_base, 'repo'), wal_archive_retention_full=2,
            wal_archive_compress_type='zst', wal_archive_compress_level=3, wal_archive_process_max=1,
            wal_archive_log_path=os.path.join(self.repo_base, 'log'),
            wal_archive_global_options={'lock-path': os.path.join(self.repo_base, 'lock')},
            wal_archive_stanza=STANZA, wal_archive_pg_path=self.server.datadir,
            wal_archive_port=self.server.port, wal_archive_socket_dir=self.server.socketdir,
            __wal_archive_remote=False))
        with open(self.config, 'w') as f:
            f.write(conf)
        shutil.chown(self.config, 'postgres', 'postgres')
        self.server.start()
        self.pgbackrest('stanza-create')
        return self

    def stop(self):
        self.server.stop()
        shutil.rmtree(self.repo_base, ignore_errors=True)

    def pgbackrest(self, *args):
        return subprocess.run(['runuser', '-u', 'postgres', '--', 'pgbackrest', '--config=' + self.config,
                               '--stanza=' + STANZA] + list(args), check=True, capture_output=True, text=True).stdout

    def backups(self):
        return json.loads(self.pgbackrest('--output=json', 'info'))[0]['backup']

    def kill(self):
        """Immediate shutdown: what a crash leaves (no checkpoint, WAL not yet archived stays behind)."""
        self.server._run([os.path.join(self.server.bindir, 'pg_ctl'), '-D', self.server.datadir, '-m', 'immediate',
                          '-w', 'stop'])

    def archived_lsn_end(self):
        """End LSN (as a number) of the newest WAL segment in the repository (0 when there is none)."""
        newest = max((a['max'] or '' for a in json.loads(self.pgbackrest('--output=json', 'info'))[0]['archive']), default='')
        if not newest:
            return 0
        return (int(newest[8:16], 16) << 32) + (int(newest[16:24], 16) + 1) * WAL_SEGMENT_BYTES


def start_archiving_cluster(archive_timeout, cluster_class=ArchivingCluster):
    """A started ArchivingCluster (or cluster_class) with a `probe` database for the writer and a migrated `tmi`
    database."""
    try:
        command = role_archive_command('probe')
    except Exception as e:
        raise AssertionError('cannot read the archive_command of roles/wal_archive: %s' % e)
    assert command.startswith('pgbackrest ')
    cluster = cluster_class(archive_timeout)
    try:
        cluster.start()
        cluster.server.query('postgres', 'CREATE DATABASE probe')
        cluster.server.query('probe', 'CREATE TABLE probe (id serial PRIMARY KEY, note text NOT NULL)')
        cluster.server.query('postgres', 'CREATE DATABASE tmi')
        migrate_with_sql_files(cluster.server, 'tmi')
    except Exception:
        cluster.stop()
        raise
    return cluster


class Writer(threading.Thread):
    """Inserts rows one transaction each and records, per row, times around its commit and an LSN after it."""

    def __init__(self, server, pause=0.02):
        super(Writer, self).__init__(daemon=True)
        self.server = server
        self.pause = pause
        self.rows = []  # (id, seconds before the INSERT, seconds after its commit, insert LSN after the commit)
        self.stopping = threading.Event()

    def run(self):
        conn = self.server.connect('probe')
        try:
            with conn.cursor() as cur:
                while not self.stopping.is_set():
                    before = time.time()
                    cur.execute('INSERT INTO probe (note) VALUES (%s) RETURNING id', ('row',))
                    row_id = cur.fetchone()[0]
                    after = time.time()
                    cur.execute("SELECT pg_current_wal_insert_lsn() - '0/0'")
                    self.rows.append((row_id, before, after, int(cur.fetchone()[0])))
                    time.sleep(self.pause)
        finally:
            conn.close()

    def stop(self):
        self.stopping.set()
        self.join()


def write_for(cluster, seconds):
    writer = Writer(cluster.server)
    writer.start()
    time.sleep(seconds)
    writer.stop()
    assert len(writer.rows) > 10, 'the writer committed almost nothing'
    return writer.rows


def run_dr_pitr(cluster, workdir, inventory_vars=None, playbook=PLAYBOOK, **extra):
    """Run the playbook (dr_pitr.yml or one that imports it) on localhost with the cluster's settings as extra vars
    and inventory_vars as its host vars."""
    server = cluster.server
    extra_vars = dict(
        ansible_python_interpreter=TARGET_PYTHON,
        tmi_postgresql_hosts='localhost',
        dr_pitr_service_manager='pg_ctl',
        dr_pitr_bindir=server.bindir,
        dr_pitr_pgdata=server.datadir,
        dr_pitr_pg_ctl_log=os.path.join(server.basedir, 'pitr-server.log'),
        dr_pitr_port=server.port,
        dr_pitr_socket_dir=server.socketdir,
        dr_pitr_stanza=STANZA,
        dr_pitr_pgbackrest_config=cluster.config,
        dr_pitr_database='tmi',
        dr_pitr_recovery_timeout=120,
    )
    extra_vars.update(extra)
    returncode, tasks = run_playbook(workdir, extra_vars, inventory_vars, playbook)
    assert returncode == 0, json.dumps({k: v for k, v in tasks.items() if v.get('failed')}, indent=1)[:6000]
    print('\n'.join(tasks['Print the summary for the incident log.']['msg']))
    return tasks


def run_playbook(workdir, extra_vars, inventory_vars=None, playbook=PLAYBOOK):
    """ansible-playbook dr_pitr.yml (or playbook) on localhost: (exit status, results by task name without the role's
    prefix, of every play)."""
    vars_file = os.path.join(workdir, 'vars.yml')
    with open(vars_file, 'w') as f:
        yaml.safe_dump(extra_vars, f)
    inventory = os.path.join(workdir, 'inventory.yml')
    with open(inventory, 'w') as f:
        yaml.safe_dump({'all': {'hosts': {'localhost': inventory_vars or {}}}}, f)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-c', 'local',
         '-e', '@' + vars_file, playbook],
        cwd=workdir, env=ansible_env(workdir, {'ANSIBLE_BECOME_METHOD': 'su', 'ANSIBLE_PIPELINING': '1'}),
        check=False, capture_output=True, text=True, timeout=600)
    try:
        plays = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook (rc %d)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
    tasks = {t['task']['name'].split(' : ', 1)[-1]: t['hosts']['localhost']
             for play in plays['plays'] for t in play['tasks'] if 'localhost' in t['hosts']}
    return proc.returncode, tasks


def recovered_ids(cluster):
    return [r[0] for r in cluster.server.query('probe', 'SELECT id FROM probe ORDER BY id')]


def damaged_dirs(cluster):
    parent = os.path.dirname(cluster.server.datadir)
    prefix = os.path.basename(cluster.server.datadir) + '.damaged-'
    return [os.path.join(parent, n) for n in os.listdir(parent) if n.startswith(prefix)]

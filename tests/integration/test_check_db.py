"""playbooks/check_db.yml through ansible-playbook against a real PostgreSQL."""

import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml

from ansible_run import ansible_env
from collection_path import REPO
from migration_files import NEWEST
from pgserver import PgServer, wait_for
from schema_helpers import migrate_with_sql_files, run_sql

PLAYBOOK = os.path.join(REPO, 'playbooks', 'check_db.yml')


@pytest.fixture
def migrated(pg_server, pg_db):
    migrate_with_sql_files(pg_server, pg_db)
    return pg_db


@pytest.fixture(scope='module')
def failing_archiver():
    """A server of its own whose archive_command always fails."""
    server = PgServer(settings={'archive_mode': 'on', 'archive_command': "'/bin/false'"}).start()
    yield server
    server.stop()


def check_db(pg_server, db, workdir, python=None, inventory='localhost,', **extra):
    """Run the playbook; return (return code, JSON report of the plays, JSON file, Markdown file).

    python: the interpreter the modules run with (default: the test runner's, psycopg2).
    An extra value of None leaves that variable out of the extra vars.
    """
    json_path = os.path.join(workdir, 'report.json')
    md_path = os.path.join(workdir, 'report.md')
    extra_vars = dict(
        ansible_python_interpreter=python or sys.executable,
        tmi_postgresql_hosts='localhost',
        tmi_check_db_database=db,
        tmi_check_db_port=pg_server.port,
        tmi_check_db_socket_dir=pg_server.socketdir,
        tmi_check_db_login_user='postgres',
        tmi_check_db_become_user='',
        tmi_check_db_json_path=json_path,
        tmi_check_db_markdown_path=md_path,
    )
    extra_vars.update(extra)
    extra_vars = dict((k, v) for k, v in extra_vars.items() if v is not None)
    vars_file = os.path.join(workdir, 'vars-%s.yml' % uuid.uuid4().hex[:6])
    with open(vars_file, 'w') as f:
        yaml.safe_dump(extra_vars, f)
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-c', 'local',
         '-e', '@' + vars_file, PLAYBOOK],
        cwd=workdir, env=ansible_env(workdir), capture_output=True, text=True, timeout=600, check=False)
    try:
        plays = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON from ansible-playbook (rc %d)\n%s\n%s'
                             % (proc.returncode, proc.stdout, proc.stderr))
    return proc.returncode, plays, read_if_there(json_path, json.load), read_if_there(md_path, lambda f: f.read())


def read_if_there(path, read):
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return read(f)


def task_result(plays, name):
    for task in plays['plays'][0]['tasks']:
        # Tasks of the role are named 'tmi.postgresql.check_db : NAME'.
        if task['task']['name'].split(' : ')[-1] == name:
            return task['hosts']['localhost']
    raise AssertionError('no result of the task %r' % name)


def printed_report(plays):
    return task_result(plays, 'Print the report.')['msg']


def archive_warning(plays):
    """The Ansible warnings of the task that reads the archiver."""
    return task_result(plays, "Read archive_mode and the WAL archiver's counters (warns when archiving fails).").get(
        'warnings', [])


def archive_failure(plays):
    return task_result(plays, 'Fail when WAL archiving fails and tmi_check_db_fail_on_archive_errors is set.')


def archiver_failures(server):
    return server.query('postgres', 'SELECT failed_count FROM pg_stat_archiver')[0][0]


def test_clean_database_gives_a_clean_report(pg_server, migrated, tmp_path, target_python):
    run_sql(pg_server, migrated, "INSERT INTO users (email, name) VALUES ('a@example.org', 'A')")
    rc, plays, report, markdown = check_db(pg_server, migrated, str(tmp_path), python=target_python)
    assert rc == 0, printed_report(plays)
    assert report['connection'] == 'ok' and report['valid'] is True
    assert report['server_version'].startswith(str(pg_server.query('postgres', 'SHOW server_version')[0][0]))
    assert report['migration'] == dict(expected_version=NEWEST, table_exists=True, version=NEWEST, dirty=False)
    assert report['tables']['users']['rows'] == 1 and report['tables']['users']['size_bytes'] > 0
    assert report['findings'] == []
    lines = printed_report(plays)
    assert '- Connection: ok' in lines
    assert '- Migration version: %d (definition: %d), dirty: no' % (NEWEST, NEWEST) in lines
    assert any(line.startswith('| users | present | ok | ok | ok | 1 |') for line in lines)
    assert 'None: every table, column, index and constraint matches the definition.' in lines
    assert report['archiving']['archive_mode'] == 'off' and report['archiving']['failing'] is False
    assert lines[lines.index('## Archiving') + 2] == 'Archiving off (archive_mode = off).'
    assert archive_warning(plays) == []
    assert markdown.splitlines() == lines


def test_drift_is_reported_then_fails_the_play(pg_server, migrated, tmp_path, target_python):
    run_sql(pg_server, migrated, 'UPDATE schema_migrations SET dirty = true; DROP INDEX idx_threats_severity; '
                                 'ALTER TABLE users ADD COLUMN nickname text')
    rc, plays, report, markdown = check_db(pg_server, migrated, str(tmp_path), python=target_python)
    assert rc != 0
    assert report['valid'] is False
    assert sorted((f['severity'], f['object']) for f in report['findings']) == [
        ('error', 'dirty'), ('error', 'idx_threats_severity'), ('warning', 'nickname')]
    assert '| threats | present | ok | error | ok | 0 |' in markdown
    assert '| users | present | warning | ok | ok | 0 |' in markdown
    assert 'dirty: YES' in markdown
    rc, plays, report, markdown = check_db(pg_server, migrated, str(tmp_path), python=target_python,
                                           tmi_check_db_fail_on_error=False)
    assert rc == 0 and report['valid'] is False


def test_a_failed_connection_is_reported(pg_server, tmp_path, target_python):
    rc, plays, report, markdown = check_db(pg_server, 'no_such_database', str(tmp_path), python=target_python)
    assert rc != 0
    assert report['connection'] == 'failed' and 'no_such_database' in report['error']
    assert markdown.splitlines()[2].startswith('- Connection: FAILED: ')


def test_archiving_failures_are_reported_and_warned(failing_archiver, tmp_path):
    db = failing_archiver.create_database()
    migrate_with_sql_files(failing_archiver, db)
    run_sql(failing_archiver, db, "INSERT INTO users (email, name) SELECT 'u' || i || '@example.org', 'U' "
                                  "FROM generate_series(1, 500) AS i")
    failing_archiver.query('postgres', 'SELECT pg_switch_wal()')
    wait_for(lambda: archiver_failures(failing_archiver) > 0)
    rc, plays, report, markdown = check_db(failing_archiver, db, str(tmp_path))
    assert rc == 0, printed_report(plays)
    archiving = report['archiving']
    assert archiving['archive_mode'] == 'on' and archiving['failing'] is True
    assert archiving['failed_count'] > 0 and archiving['last_failed_wal'] and archiving['last_failed_time']
    assert archiving['archived_count'] == 0 and archiving['last_archived_wal'] is None
    warnings = archive_warning(plays)
    assert len(warnings) == 1 and warnings[0].startswith('WAL archiving fails (archive_mode on):')
    assert 'last archived: never' in warnings[0]
    assert plays['stats']['localhost']['ignored'] == 0 and plays['stats']['localhost']['failures'] == 0
    lines = markdown.splitlines()
    assert '- archive_mode: on' in lines and '- Archived: 0 segments, none yet' in lines
    assert any(line.startswith('- Failed: %d attempts, the last of %s at '
                               % (archiving['failed_count'], archiving['last_failed_wal'])) for line in lines)
    assert any(line.startswith('- Status: **FAILING**') for line in lines)
    assert lines == printed_report(plays)


def test_archiving_failures_fail_the_play_when_told_to(failing_archiver, tmp_path):
    db = failing_archiver.create_database()
    migrate_with_sql_files(failing_archiver, db)
    failing_archiver.query('postgres', 'SELECT pg_switch_wal()')
    wait_for(lambda: archiver_failures(failing_archiver) > 0)
    rc, plays, report, markdown = check_db(failing_archiver, db, str(tmp_path), tmi_check_db_fail_on_archive_errors=True)
    assert rc != 0
    assert report['archiving']['failing'] is True and report['valid'] is True
    assert archive_failure(plays)['failed'] is True and plays['stats']['localhost']['ignored'] == 0


def test_settings_in_the_inventory_win_over_the_defaults(pg_server, migrated, tmp_path):
    """host_vars set the report path and the row counts: the play vars of the old playbook outranked them."""
    inventory = tmp_path / 'inventory'
    (inventory / 'host_vars').mkdir(parents=True)
    (inventory / 'hosts.yml').write_text('all:\n  hosts:\n    localhost:\n')
    md_path = str(tmp_path / 'from-host-vars.md')
    (inventory / 'host_vars' / 'localhost.yml').write_text(yaml.safe_dump(dict(
        tmi_check_db_markdown_path=md_path, tmi_check_db_row_counts='estimate')))
    rc, plays, report, markdown = check_db(pg_server, migrated, str(tmp_path), inventory=str(inventory),
                                           tmi_check_db_markdown_path=None)
    assert rc == 0, printed_report(plays)
    assert os.path.exists(md_path) and read_if_there(md_path, lambda f: f.read()).splitlines() == printed_report(plays)
    assert report['tables']['users']['rows'] is None

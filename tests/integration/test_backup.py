"""The logical backup: the script against a real PostgreSQL, the role, and playbooks/backup.yml."""

import os
import re
import shutil
import stat
import subprocess

import pytest

from backup_helpers import (
    AS_ROOT,
    BACKUP_NAME,
    REPO,
    SCRIPT,
    SYSTEM_PYTHON,
    backups,
    changed_count,
    copy_as,
    crontab,
    dump_partials,
    failed_task,
    listing,
    load_tmi,
    partials,
    postgres_uid,
    restore_crontab,
    row_counts,
    run_playbook,
    run_script,
    start_script,
    task_result,
)
from pgserver import SUPERUSER_PASSWORD, wait_for

BACKUP_PLAYBOOK = os.path.join(REPO, 'playbooks', 'backup.yml')
ROLE_PLAYBOOK = os.path.join(os.path.dirname(__file__), 'backup_role.yml')


@pytest.fixture
def tmi_db(pg_server, pg_db):
    load_tmi(pg_server, pg_db)
    return pg_db


def restore_into_new_database(pg_server, path):
    db = pg_server.create_database('restored')
    subprocess.run([os.path.join(pg_server.bindir, 'pg_restore'), '--exit-on-error', '-h', pg_server.socketdir,
                    '-p', str(pg_server.port), '-U', 'postgres', '-d', db, path], check=True, capture_output=True)
    return db


def catalog(pg_server, db):
    """Columns, constraints and indexes by name (CHECK rules are spelled anew by a restore)."""
    return pg_server.query(db, """
        SELECT 'column', table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable
          FROM information_schema.columns WHERE table_schema = 'public'
        UNION ALL SELECT 'constraint', conrelid::regclass || '.' || conname || ' ' || contype::text
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
        UNION ALL SELECT 'index', indexname FROM pg_indexes WHERE schemaname = 'public'
        ORDER BY 1, 2""")


def test_backup_is_created_verified_and_restorable(pg_server, tmi_db, backup_dir, open_dir):
    log_file = os.path.join(open_dir, 'backup.log')
    open(log_file, 'w').close()
    os.chmod(log_file, 0o666)
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--log-file', log_file)
    assert rc == 0, err
    assert result['status'] == 'ok' and result['database'] == tmi_db
    name = os.path.basename(result['file'])
    assert re.match(BACKUP_NAME, name)
    assert listing(backup_dir) == ['.tmi-pg-backup.lock', name]
    info = os.stat(result['file'])
    assert result['size_bytes'] == info.st_size > 0
    assert stat.S_IMODE(info.st_mode) == 0o600
    log = open(log_file).read().splitlines()
    assert len(log) == 1
    assert re.search(r' status=ok database=%s file=%s size=%d duration=\d+\.\d{3}s removed=0$'
                     % (tmi_db, re.escape(result['file']), info.st_size), log[0])
    restored = restore_into_new_database(pg_server, result['file'])
    try:
        assert row_counts(pg_server, restored) == row_counts(pg_server, tmi_db)
        assert catalog(pg_server, restored) == catalog(pg_server, tmi_db)
    finally:
        pg_server.drop_database(restored)


def test_schema_only_dump_on_request(pg_server, tmi_db, backup_dir):
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--schema-only')
    assert rc == 0, err
    assert result['schema_file'] == result['file'][:-len('.dump')] + '_schema.sql'
    schema = open(result['schema_file']).read()
    assert 'CREATE TABLE public.threat_models' in schema
    assert 'user1@example.org' not in schema


def test_a_failing_dump_exits_non_zero_and_keeps_older_backups(pg_server, tmi_db, backup_dir):
    rc, good, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    # Backups that a successful run's retention would remove: a failed run must not.
    for day in (1, 2, 3):
        copy_as(backup_dir, good['file'], 'tmi_2020010%d_020000.dump' % day)
    before = {name: os.stat(os.path.join(backup_dir, name)).st_mtime_ns for name in backups(backup_dir)}

    rc, result, err = run_script(pg_server, 'no_such_database', backup_dir, '--keep-min', '1')
    assert rc == 1
    assert result['status'] == 'failed' and result['step'] == 'pg_dump'
    assert 'no_such_database' in result['error']
    assert 'status=failed database=no_such_database step=pg_dump' in err
    assert partials(backup_dir) == []
    assert {name: os.stat(os.path.join(backup_dir, name)).st_mtime_ns for name in backups(backup_dir)} == before


def test_a_killed_run_leaves_no_partial_file_behind(pg_server, tmi_db, backup_dir):
    blocker = pg_server.connect(tmi_db)
    try:
        blocker.autocommit = False
        blocker.cursor().execute('LOCK TABLE users IN ACCESS EXCLUSIVE MODE')
        proc = start_script(pg_server, tmi_db, backup_dir)
        wait_for(lambda: pg_dump_waits_for_lock(pg_server, tmi_db))
        wait_for(lambda: dump_partials(backup_dir))
        proc.terminate()
        proc.communicate(timeout=60)
    finally:
        blocker.rollback()
        blocker.close()
    assert proc.returncode != 0
    assert partials(backup_dir) == [] and backups(backup_dir) == []


def pg_dump_waits_for_lock(pg_server, db):
    return pg_server.query('postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                       "AND application_name = 'tmi-pg-backup' AND wait_event_type = 'Lock'",
                           (db,))[0][0] == 1


def backup_sessions(pg_server, db):
    return pg_server.query('postgres', "SELECT count(*) FROM pg_stat_activity WHERE datname = %s "
                                       "AND application_name = 'tmi-pg-backup'", (db,))[0][0]


def descendant_commands(pid):
    """Command names of every process below pid (runuser -> bash -> flock ...)."""
    parents = {}
    for entry in os.listdir('/proc'):
        if entry.isdigit():
            try:
                with open('/proc/%s/stat' % entry) as f:
                    fields = f.read().rsplit(')', 1)[1].split()
                with open('/proc/%s/comm' % entry) as f:
                    parents[int(entry)] = (int(fields[1]), f.read().strip())
            except OSError:
                continue
    found, frontier = [], {pid}
    while frontier:
        children = {child for child, (parent, _name) in parents.items() if parent in frontier}
        found += [parents[child][1] for child in children]
        frontier = children
    return found


def waits_in_flock(proc):
    """Whether the script is waiting for the backup lock (its flock child runs)."""
    return 'flock' in descendant_commands(proc.pid)


def test_two_runs_never_write_at_once(pg_server, tmi_db, backup_dir):
    blocker = pg_server.connect(tmi_db)
    try:
        # pg_dump of run A waits for this lock while A holds the backup lock.
        blocker.autocommit = False
        blocker.cursor().execute('LOCK TABLE threats IN ACCESS EXCLUSIVE MODE')
        first = start_script(pg_server, tmi_db, backup_dir)
        wait_for(lambda: pg_dump_waits_for_lock(pg_server, tmi_db))

        rc, impatient, err = run_script(pg_server, tmi_db, backup_dir, '--lock-wait', '0')
        assert rc == 75
        assert impatient['step'] == 'lock' and 'another backup holds' in impatient['error']

        patient = start_script(pg_server, tmi_db, backup_dir, '--lock-wait', '300')
        wait_for(lambda: waits_in_flock(patient))
        assert len(dump_partials(backup_dir)) == 1
        assert backup_sessions(pg_server, tmi_db) == 1
        assert first.poll() is None and patient.poll() is None
    finally:
        blocker.rollback()
        blocker.close()
    out_first, err_first = first.communicate(timeout=120)
    out_patient, err_patient = patient.communicate(timeout=120)
    assert first.returncode == 0, err_first
    assert patient.returncode == 0, err_patient
    assert len(backups(backup_dir)) == 2 and partials(backup_dir) == []


def test_retention_keeps_the_newest_good_backups_however_old(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir, '--retention-days', '0')
    assert rc == 0, err
    for day in (1, 2, 3, 4, 5):
        copy_as(backup_dir, seed['file'], 'tmi_2020010%d_020000.dump' % day)
    # The newest of the old ones is damaged: it must not count as a good backup.
    copy_as(backup_dir, seed['file'], 'tmi_20200106_020000.dump', size=100)
    os.unlink(seed['file'])

    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '3', '--retention-days', '7')
    assert rc == 0, err
    newest = os.path.basename(result['file'])
    assert backups(backup_dir) == sorted([newest, 'tmi_20200105_020000.dump', 'tmi_20200104_020000.dump'])
    assert sorted(result['removed']) == ['tmi_20200101_020000.dump', 'tmi_20200102_020000.dump',
                                         'tmi_20200103_020000.dump', 'tmi_20200106_020000.dump']


def test_retention_removes_only_backups_older_than_the_retention(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    copy_as(backup_dir, seed['file'], 'tmi_20200101_020000.dump')
    copy_as(backup_dir, seed['file'], 'tmi_29990101_020000.dump')  # younger than any retention
    copy_as(backup_dir, seed['file'], 'tmi_20201399_020000.dump')  # no such day: its age is unknown
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '1', '--retention-days', '7')
    assert rc == 0, err
    assert result['removed'] == ['tmi_20200101_020000.dump']
    assert len(backups(backup_dir)) == 4 and 'tmi_20201399_020000.dump' in backups(backup_dir)


@pytest.fixture
def postgres_crontab():
    """The postgres user's crontab as it was, put back after the test."""
    if not AS_ROOT:
        pytest.skip('the role test installs a crontab for postgres and needs root')
    before = crontab('postgres')
    yield before
    restore_crontab('postgres', before)


def test_role_installs_the_script_and_schedule_then_backup_playbook_runs_it(pg_server, tmi_db, open_dir,
                                                                            postgres_crontab):
    work = open_dir
    role_vars = dict(
        backup_database=tmi_db,
        backup_port=pg_server.port,
        backup_socket_dir=pg_server.socketdir,
        backup_bindir=pg_server.bindir,
        backup_dir=os.path.join(work, 'backups'),
        backup_log_file=os.path.join(work, 'log', 'backup.log'),
        backup_script_path=os.path.join(work, 'bin', 'tmi-pg-backup'),
        backup_config_path=os.path.join(work, 'etc', 'backup.conf'),
        backup_cron_hour='3',
        backup_cron_minute='17',
        backup_packages=[],
        # A password login over TCP through the pgpass file the role writes.
        backup_login_host='127.0.0.1',
        backup_login_user='postgres',
        backup_login_password=SUPERUSER_PASSWORD,
        backup_pgpass_file=os.path.join(work, 'etc', 'backup.pgpass'),
    )
    os.makedirs(os.path.join(work, 'bin'))
    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars, check=True)
    assert rc == 0, failed_task(report)
    assert not os.path.exists(role_vars['backup_config_path'])

    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars)
    assert rc == 0, failed_task(report)
    assert changed_count(report) > 0
    entry = crontab('postgres')
    assert '#Ansible: tmi-postgresql logical backup\n' in entry
    assert '17 3 * * * %s --config %s >/dev/null\n' % (role_vars['backup_script_path'],
                                                       role_vars['backup_config_path']) in entry
    folder = os.stat(role_vars['backup_dir'])
    assert stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == postgres_uid()
    assert os.access(role_vars['backup_script_path'], os.X_OK)
    assert open(role_vars['backup_script_path']).read() == open(SCRIPT).read()
    pgpass = os.stat(role_vars['backup_pgpass_file'])
    assert stat.S_IMODE(pgpass.st_mode) == 0o600 and pgpass.st_uid == postgres_uid()
    assert open(role_vars['backup_pgpass_file']).read() == '127.0.0.1:%d:%s:postgres:%s\n' % (
        pg_server.port, tmi_db, SUPERUSER_PASSWORD)
    settings = open(role_vars['backup_config_path']).read()
    assert SUPERUSER_PASSWORD not in settings
    assert 'TMI_BACKUP_PGPASSFILE=%s\n' % role_vars['backup_pgpass_file'] in settings

    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars)
    assert rc == 0 and changed_count(report) == 0, report['stats']

    # The installed script with the role's settings file, as cron runs it: over TCP, where the
    # server asks for a password, so a backup proves the pgpass file was read.
    rc, report = run_playbook(BACKUP_PLAYBOOK, work, dict(tmi_backup_script=role_vars['backup_script_path'],
                                                          tmi_backup_config=role_vars['backup_config_path'],
                                                          ansible_become_method='su',
                                                          ansible_python_interpreter=SYSTEM_PYTHON))
    assert rc == 0, failed_task(report)
    summary = task_result(report, 'Print the summary.')['msg']
    made = backups(role_vars['backup_dir'])
    assert len(made) == 1
    path = os.path.join(role_vars['backup_dir'], made[0])
    assert os.stat(path).st_uid == postgres_uid()
    assert '- File: %s' % path in summary
    assert any(line.startswith('- Size: ') and line.endswith('(%d bytes)' % os.path.getsize(path))
               for line in summary)
    assert any(re.match(r'- Duration: \d+\.\d{3} s$', line) for line in summary)
    log = open(role_vars['backup_log_file']).read().splitlines()
    assert len(log) == 1 and ' status=ok database=%s ' % tmi_db in log[0]

    role_vars['backup_cron_state'] = 'absent'
    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars)
    assert rc == 0, failed_task(report)
    assert 'tmi-postgresql logical backup' not in (crontab('postgres') or '')


def test_backup_playbook_fails_when_the_backup_fails(pg_server, backup_dir, tmp_path):
    work = str(tmp_path)
    rc, report = run_playbook(BACKUP_PLAYBOOK, work, dict(
        tmi_backup_script=SCRIPT, tmi_backup_config='', tmi_backup_become_user='postgres' if AS_ROOT else '',
        ansible_become_method='su', ansible_python_interpreter=SYSTEM_PYTHON, tmi_backup_database='no_such_database', tmi_backup_dir=backup_dir,
        tmi_backup_host=pg_server.socketdir, tmi_backup_port=pg_server.port, tmi_backup_bindir=pg_server.bindir))
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Fail when the backup failed.'
    assert 'step pg_dump' in result['msg'] and 'no_such_database' in result['msg']
    assert listing(backup_dir) == ['.tmi-pg-backup.lock']


def test_a_password_login_reads_the_pgpass_file(pg_server, tmi_db, backup_dir, open_dir):
    tcp = ('--host', '127.0.0.1', '--user', 'postgres')
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, *tcp)
    assert rc == 1 and 'password' in result['error']
    pgpass = os.path.join(open_dir, 'backup.pgpass')
    with open(os.open(pgpass, os.O_WRONLY | os.O_CREAT, 0o600), 'w') as f:
        f.write('127.0.0.1:%d:%s:postgres:%s\n' % (pg_server.port, tmi_db, SUPERUSER_PASSWORD))
    if AS_ROOT:
        shutil.chown(pgpass, 'postgres', 'postgres')
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, *tcp, '--pgpass', pgpass)
    assert rc == 0, err
    assert SUPERUSER_PASSWORD not in err and len(backups(backup_dir)) == 1


def test_the_script_refuses_to_run_as_root(pg_server, tmi_db, backup_dir):
    if not AS_ROOT:
        pytest.skip('needs root')
    proc = subprocess.run([SCRIPT, '--config', '', '--backup-dir', backup_dir, '--database', tmi_db],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and 'run it as the backup user' in proc.stderr
    assert listing(backup_dir) == []

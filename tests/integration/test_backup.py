"""The logical backup: the script against a real PostgreSQL, the role, and playbooks/backup.yml."""

import os
import re
import shutil
import stat
import subprocess
import uuid

import pytest

from backup_helpers import (
    AS_ROOT,
    BACKUP_NAME,
    REPO,
    SCRIPT,
    SYSTEM_PYTHON,
    as_backup_user,
    backups,
    changed_count,
    copy_as,
    crontab,
    decode_name,
    dump_partials,
    failed_task,
    listing,
    load_tmi,
    local_cluster,
    partials,
    platform_postgresql_version,
    postgres_uid,
    restore_crontab,
    row_counts,
    run_playbook,
    run_script,
    script_argv,
    series_name,
    start_script,
    task_result,
)
from pgserver import SUPERUSER_PASSWORD, wait_for

CRON_D = '/etc/cron.d'
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
    _stamp, db, cluster = re.match(BACKUP_NAME, name).groups()
    assert (decode_name(db), decode_name(cluster)) == (tmi_db, local_cluster(pg_server))
    assert result['cluster'] == local_cluster(pg_server)
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
    assert result['schema_file'] == result['file'][:-len('.dump')] + '.schema.sql'
    schema = open(result['schema_file']).read()
    assert 'CREATE TABLE public.threat_models' in schema
    assert 'user1@example.org' not in schema


def test_a_failing_dump_exits_non_zero_and_keeps_older_backups(pg_server, tmi_db, backup_dir):
    rc, good, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    # Backups that a successful run's retention would remove: a failed run must not.
    for day in (1, 2, 3):
        copy_as(backup_dir, good['file'], series_name('no_such_database', '2020010%d_020000' % day,
                                                      local_cluster(pg_server)))
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


def truncated_in_data(path):
    """How many bytes of a dump to keep so that its table of contents is whole and its data section cut."""
    return os.path.getsize(path) - 40


def test_retention_keeps_the_newest_good_backups_however_old(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir, '--retention-days', '0')
    assert rc == 0, err
    name = {day: series_name(tmi_db, '2020010%d_020000' % day, local_cluster(pg_server)) for day in range(1, 7)}
    for day in (1, 2, 3, 4, 5):
        copy_as(backup_dir, seed['file'], name[day])
    # The newest of the old ones is damaged: it must not count as a good backup.
    copy_as(backup_dir, seed['file'], name[6], size=100)
    os.unlink(seed['file'])

    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '3', '--retention-days', '7')
    assert rc == 0, err
    newest = os.path.basename(result['file'])
    assert backups(backup_dir) == sorted([newest, name[5], name[4]])
    assert sorted(result['removed']) == [name[1], name[2], name[3], name[6]]
    assert result['unreadable'] == [name[6]]


def test_retention_never_counts_a_truncated_backup_as_good(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir, '--retention-days', '0')
    assert rc == 0, err
    name = {day: series_name(tmi_db, '2020010%d_020000' % day, local_cluster(pg_server)) for day in range(1, 6)}
    for day in (1, 2, 3):
        copy_as(backup_dir, seed['file'], name[day])
    # Two newer ones cut in their data section: pg_restore --list still reads them.
    for day in (4, 5):
        copy_as(backup_dir, seed['file'], name[day], size=truncated_in_data(seed['file']))
        assert subprocess.run([os.path.join(pg_server.bindir, 'pg_restore'), '--list',
                               os.path.join(backup_dir, name[day])], capture_output=True, check=False).returncode == 0
    os.unlink(seed['file'])

    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '4', '--retention-days', '7')
    assert rc == 0, err
    assert backups(backup_dir) == sorted([os.path.basename(result['file']), name[1], name[2], name[3]])
    assert sorted(result['removed']) == [name[4], name[5]]
    assert sorted(result['unreadable']) == [name[4], name[5]]
    assert 'unreadable backups (failed a full read): ' in err


def test_retention_removes_nothing_while_too_few_backups_read_in_full(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir, '--retention-days', '0')
    assert rc == 0, err
    good = series_name(tmi_db, '20200101_020000', local_cluster(pg_server))
    damaged = [series_name(tmi_db, '2020010%d_020000' % day, local_cluster(pg_server)) for day in (2, 3)]
    copy_as(backup_dir, seed['file'], good)
    for name in damaged:
        copy_as(backup_dir, seed['file'], name, size=truncated_in_data(seed['file']))
    os.unlink(seed['file'])
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '3', '--retention-days', '7')
    assert rc == 0, err
    assert result['removed'] == []
    assert sorted(result['unreadable']) == sorted(damaged)
    assert len(backups(backup_dir)) == 4


def test_retention_removes_only_backups_older_than_the_retention(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    cluster = local_cluster(pg_server)
    old, young, unknown = (series_name(tmi_db, stamp, cluster)
                           for stamp in ('20200101_020000',
                                         '29990101_020000',  # younger than any retention
                                         '20201399_020000'))  # no such day: its age is unknown
    for name in (old, young, unknown):
        copy_as(backup_dir, seed['file'], name)
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '1', '--retention-days', '7')
    assert rc == 0, err
    assert result['removed'] == [old]
    assert len(backups(backup_dir)) == 4 and unknown in backups(backup_dir)


def test_retention_counts_only_the_backups_of_its_database_and_cluster(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    cluster = local_cluster(pg_server)
    others = [series_name('tmi_staging', '20200101_020000', cluster),  # another database
              series_name(tmi_db, '20200101_020000', '15-other'),  # another cluster
              'tmi_20200101_020000.dump',  # named before the database was in the name
              'tmi_20200101_020000_schema.sql']
    for name in others:
        copy_as(backup_dir, seed['file'], name)
    ours = series_name(tmi_db, '20200102_020000', cluster)
    copy_as(backup_dir, seed['file'], ours)
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '1', '--retention-days', '7')
    assert rc == 0, err
    assert result['removed'] == [ours]
    assert set(others) <= set(listing(backup_dir))


@pytest.mark.parametrize('database', ['Tmi.Prod 2', 'tmi_staging', "o'brien/ü%x"])
def test_the_file_name_carries_any_database_name_and_parses_back(pg_server, backup_dir, database):
    db = pg_server.create_database(database)
    try:
        rc, result, err = run_script(pg_server, db, backup_dir, '--cluster', '15/main', '--schema-only')
        assert rc == 0, err
        stamp, name_db, name_cluster = re.match(BACKUP_NAME, os.path.basename(result['file'])).groups()
        assert (decode_name(name_db), decode_name(name_cluster)) == (db, '15/main')
        assert result['file'] == os.path.join(backup_dir, series_name(db, stamp, '15/main'))
        assert result['schema_file'] == os.path.join(backup_dir, series_name(db, stamp, '15/main', '.schema.sql'))
    finally:
        pg_server.drop_database(db)


@pytest.fixture
def cron_file():
    """A cron file name of this test only (two runs of the suite never share one); removed at the end."""
    if not AS_ROOT:
        pytest.skip('the role test writes a file in /etc/cron.d and needs root')
    name = 'tmi-backup-test-' + uuid.uuid4().hex[:12]
    yield name
    if os.path.exists(os.path.join(CRON_D, name)):
        os.unlink(os.path.join(CRON_D, name))


def role_vars_for(pg_server, db, work, cron_file):
    return dict(
        backup_database=db,
        backup_port=pg_server.port,
        backup_socket_dir=pg_server.socketdir,
        backup_bindir=pg_server.bindir,
        backup_dir=os.path.join(work, 'backups'),
        backup_log_file=os.path.join(work, 'log', 'backup.log'),
        backup_script_path=os.path.join(work, 'bin', 'tmi-pg-backup'),
        backup_config_path=os.path.join(work, 'etc', 'backup.conf'),
        backup_cron_file=cron_file,
        # The name the role looks for in the crontab of earlier versions: of this test only.
        backup_cron_name='tmi-postgresql logical backup ' + cron_file,
        backup_cron_hour='3',
        backup_cron_minute='17',
        backup_packages=[],
    )


def test_role_installs_the_script_and_schedule_then_backup_playbook_runs_it(pg_server, tmi_db, open_dir, cron_file):
    work = open_dir
    role_vars = role_vars_for(pg_server, tmi_db, work, cron_file)
    role_vars.update(
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
    assert not os.path.exists(os.path.join(CRON_D, cron_file))

    rc, report = run_playbook(ROLE_PLAYBOOK, work, role_vars)
    assert rc == 0, failed_task(report)
    assert changed_count(report) > 0
    entry = open(os.path.join(CRON_D, cron_file)).read()
    assert '#Ansible: %s\n' % role_vars['backup_cron_name'] in entry
    assert '17 3 * * * postgres %s --config %s >/dev/null\n' % (role_vars['backup_script_path'],
                                                                role_vars['backup_config_path']) in entry
    # backup_cluster's default: the platform's version (tmi_postgresql_version) and the cluster main.
    assert 'TMI_BACKUP_CLUSTER=%d-main\n' % platform_postgresql_version() in open(role_vars['backup_config_path']).read()
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
    assert not os.path.exists(os.path.join(CRON_D, cron_file))


@pytest.fixture
def os_user():
    """An operating system user of this test only, with its own crontab; removed at the end."""
    if not AS_ROOT:
        pytest.skip('creating a user needs root')
    name = 'tmibk' + uuid.uuid4().hex[:8]
    subprocess.run(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], check=True)
    try:
        yield name
    finally:
        subprocess.run(['crontab', '-r', '-u', name], capture_output=True, check=False)
        subprocess.run(['userdel', name], check=True)


def test_the_role_moves_the_entry_of_earlier_versions_out_of_the_users_crontab(pg_server, tmi_db, open_dir,
                                                                               cron_file, os_user):
    role_vars = role_vars_for(pg_server, tmi_db, open_dir, cron_file)
    role_vars['backup_os_user'] = os_user
    other_job = '# a job of its own\n5 4 * * * /bin/true\n'
    legacy = '#Ansible: %s\n0 2 * * * %s --config %s >/dev/null\n' % (
        role_vars['backup_cron_name'], role_vars['backup_script_path'], role_vars['backup_config_path'])
    restore_crontab(os_user, other_job + legacy)
    os.makedirs(os.path.join(open_dir, 'bin'))

    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc == 0, failed_task(report)
    assert crontab(os_user) == other_job
    with open(os.path.join(CRON_D, cron_file)) as f:
        assert ' %s %s --config ' % (os_user, role_vars['backup_script_path']) in f.read()


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


# Each option with a value out of its range; the run must stop before it touches the folder.
@pytest.mark.parametrize('option,value', [
    ('--port', '0'), ('--port', '65536'), ('--port', '5432x'),
    ('--compress', '10'), ('--compress', '-1'),
    ('--keep-min', '0'), ('--keep-min', '101'),
    ('--lock-wait', '86401'), ('--lock-wait', '99999999999999999999999'),
    ('--retention-days', '36501'),
])
def test_numeric_options_out_of_range_are_refused(pg_server, tmi_db, backup_dir, option, value):
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, option, value)
    assert rc == 2 and result is None
    assert re.search(r'%s \(TMI_BACKUP_\w+\) must be a whole number from \d+ to \d+, not \'%s\'$'
                     % (option, re.escape(value)), err.strip())
    assert listing(backup_dir) == []


def test_a_connect_timeout_of_zero_would_wait_forever_and_is_refused(pg_server, tmi_db, backup_dir):
    proc = subprocess.run(script_argv(pg_server, tmi_db, backup_dir), env=dict(os.environ, PGCONNECT_TIMEOUT='0'),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and 'PGCONNECT_TIMEOUT (PGCONNECT_TIMEOUT) must be a whole number from 1' in proc.stderr


def test_a_leading_zero_is_decimal(pg_server, tmi_db, backup_dir):
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--compress', '09', '--retention-days', '010')
    assert rc == 0, err


def test_a_retention_that_overflows_bash_arithmetic_cannot_remove_young_backups(pg_server, tmi_db, backup_dir):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    # 213503982334601 * 86400 wraps to -25216 in 64 bits: the cut-off would be 7 hours in the future.
    rc, result, err = run_script(pg_server, tmi_db, backup_dir, '--keep-min', '1',
                                 '--retention-days', '213503982334601')
    assert rc == 2, err
    assert '--retention-days (TMI_BACKUP_RETENTION_DAYS) must be a whole number from 0 to 36500' in err
    assert backups(backup_dir) == [os.path.basename(seed['file'])]


@pytest.fixture
def small_backup_disk(open_dir):
    """A 1 MB file system (tmpfs) as the backup folder, owned by postgres; unmounted at the end."""
    if not AS_ROOT:
        pytest.skip('mounting a small file system needs root')
    path = os.path.join(open_dir, 'small-disk')
    os.mkdir(path)
    subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmi-backup-test', path], check=True)
    try:
        shutil.chown(path, 'postgres', 'postgres')
        yield path
    finally:
        subprocess.run(['umount', path], check=True)


def test_a_full_backup_disk_reports_no_space_left_and_keeps_older_backups(pg_server, tmi_db, backup_dir,
                                                                          small_backup_disk):
    rc, seed, err = run_script(pg_server, tmi_db, backup_dir)
    assert rc == 0, err
    older = copy_as(small_backup_disk, seed['file'], series_name(tmi_db, '20200101_020000', local_cluster(pg_server)))
    # About 3 MB of random hex, which compresses to about half: more than the disk holds.
    pg_server.query(tmi_db, 'CREATE TABLE filler AS SELECT g, md5(random()::text) || md5(random()::text) AS x '
                            'FROM generate_series(1, 45000) g')

    rc, result, err = run_script(pg_server, tmi_db, small_backup_disk, '--keep-min', '1')
    assert rc == 1
    assert result['status'] == 'failed' and result['step'] == 'pg_dump'
    assert 'No space left on device' in result['error']
    assert 'writing %s/.' % small_backup_disk in result['error'] and '.dump.partial' in result['error']
    assert 'No space left on device' in err
    assert listing(small_backup_disk) == sorted(['.tmi-pg-backup.lock', os.path.basename(older)])


def test_without_a_bindir_the_script_runs_the_pg_dump_on_its_path(pg_server, tmi_db, backup_dir, open_dir):
    # No PostgreSQL version is built into the script: the role writes backup_bindir into its settings file.
    wrappers = os.path.join(open_dir, 'bin')
    os.makedirs(wrappers)
    called = os.path.join(open_dir, 'called')
    open(called, 'w').close()
    os.chmod(called, 0o666)
    for program in ('pg_dump', 'pg_restore'):
        path = os.path.join(wrappers, program)
        with open(path, 'w') as f:
            f.write('#!/bin/sh\necho %s >>%s\nexec %s "$@"\n' % (program, called, os.path.join(pg_server.bindir, program)))
        os.chmod(path, 0o755)
    argv = as_backup_user(['env', 'PATH=%s:/usr/bin:/bin' % wrappers, SCRIPT, '--config', '', '--backup-dir', backup_dir,
                           '--database', tmi_db, '--host', pg_server.socketdir, '--port', str(pg_server.port),
                           '--no-syslog', '--json'])
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert open(called).read().split() == ['pg_dump', 'pg_restore', 'pg_restore']


def test_the_role_writes_the_shared_bindir_into_the_settings_file(pg_server, tmi_db, open_dir, cron_file):
    role_vars = role_vars_for(pg_server, tmi_db, open_dir, cron_file)
    del role_vars['backup_bindir']
    role_vars.update(tmi_postgresql_bindir='/opt/tmi-test/postgresql/bin', backup_cron_state='absent')
    os.makedirs(os.path.join(open_dir, 'bin'))
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc == 0, failed_task(report)
    with open(role_vars['backup_config_path']) as f:
        assert 'TMI_BACKUP_BINDIR=/opt/tmi-test/postgresql/bin\n' in f.read()


def test_a_second_run_of_the_role_does_not_look_at_the_crontab_again(pg_server, tmi_db, open_dir, cron_file):
    role_vars = role_vars_for(pg_server, tmi_db, open_dir, cron_file)
    os.makedirs(os.path.join(open_dir, 'bin'))
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc == 0, failed_task(report)
    assert task_result(report, 'Look for the crontab command.').get('skipped') is not True
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, role_vars)
    assert rc == 0 and changed_count(report) == 0, report['stats']
    # One skipped include instead of the crontab tasks.
    assert task_result(report, 'Remove the entry of earlier versions from the crontab of the backup user.'
                       ).get('skipped') is True
    names = [task['task']['name'] for play in report['plays'] for task in play['tasks']]
    assert not [name for name in names if name.endswith('Look for the crontab command.')], names

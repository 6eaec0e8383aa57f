import json
import os

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.tmi_metrics import (
    Collector,
    SourceError,
    config_sources,
    is_auth_failure,
    log_file_glob,
    migration_metrics,
    newest_logical_backup,
    newest_pgbackrest_backup,
    read_state,
    render,
    scan_logs,
    write_text,
)

P = '2026-12-03 06:00:00.123 UTC [4242] [1-1] user=%s,db=tmi,app=[unknown],client=127.0.0.1 '


@pytest.mark.parametrize('line', [
    P % 'tmi_app' + 'FATAL:  28P01: password authentication failed for user "tmi_app"',
    P % 'tmi_app' + 'FATAL:  password authentication failed for user "tmi_app"',
    P % 'x' + 'FATAL:  28000: no pg_hba.conf entry for host "10.0.0.9", user "x", database "tmi", no encryption',
    P % 'bob' + 'FATAL:  28000: Peer authentication failed for user "bob"',
    P % 'c' + 'FATAL:  28000: certificate authentication failed for user "c"',
])
def test_failed_authentications_are_recognised(line):
    assert is_auth_failure(line)


@pytest.mark.parametrize('line', [
    P % 'tmi_app' + 'DETAIL:  Connection matched pg_hba.conf line 9: "hostssl all all 0.0.0.0/0 scram-sha-256"',
    P % 'tmi_app' + 'LOG:  00000: connection authorized: user=tmi_app database=tmi',
    # A statement or an application name quoting the message is no failure.
    P % 'tmi_app' + "LOG:  statement: SELECT 'FATAL:  password authentication failed for user x'",
    P % 'u' + 'ERROR:  42501: permission denied for table users',
    P % 'u' + 'FATAL:  57P01: terminating connection due to administrator command',
    '\tFATAL:  password authentication failed for user "x"',
    '',
])
def test_other_lines_are_not(line):
    assert not is_auth_failure(line)


def test_log_filename_patterns():
    assert log_file_glob('postgresql-%a.log') == 'postgresql-*.log'
    assert log_file_glob('postgresql-%Y-%m-%d_%H%M%S.log') == 'postgresql-*-*-*_*.log'
    assert log_file_glob('pg-100%%-%a.log') == 'pg-100%-*.log'
    with pytest.raises(SourceError, match='names a folder'):
        log_file_glob('sub/postgresql-%a.log')


FAIL = (P % 'u' + 'FATAL:  28P01: password authentication failed for user "u"\n').encode()
OK = (P % 'u' + 'LOG:  00000: connection authorized: user=u database=tmi\n').encode()


def write(path, data, mode='ab'):
    with open(path, mode) as f:
        f.write(data)


def test_the_count_grows_with_the_log_and_survives_rotation(tmp_path):
    log = tmp_path / 'postgresql-Thu.log'
    write(log, OK + FAIL + FAIL)
    state = scan_logs({}, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 2
    # Nothing new: the same total.
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 2
    # A half-written line is left for the next run.
    write(log, FAIL + FAIL[:20])
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 3
    write(log, FAIL[20:])
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 4
    # The next day's file, and the old one truncated a week later (same inode, written again).
    write(tmp_path / 'postgresql-Fri.log', FAIL)
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 5
    inode = os.stat(log).st_ino
    write(log, OK.replace(b'06:00', b'07:00') + FAIL + FAIL + FAIL + FAIL + FAIL, mode='r+b')
    os.truncate(log, len(OK) + 5 * len(FAIL))
    assert os.stat(log).st_ino == inode and os.path.getsize(log) > state['files']['postgresql-Thu.log']['offset']
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 10
    # A file that is gone is forgotten; the total stays.
    os.unlink(tmp_path / 'postgresql-Fri.log')
    state = scan_logs(state, str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 10 and list(state['files']) == ['postgresql-Thu.log']
    # A file replaced by another one (new inode) is read from its start.
    os.unlink(log)
    write(log, FAIL)
    state = scan_logs(json.loads(json.dumps(state)), str(tmp_path), 'postgresql-*.log')
    assert state['total'] == 11


def test_only_matching_files_count(tmp_path):
    write(tmp_path / 'postgresql-Thu.log', FAIL)
    write(tmp_path / 'postgresql-Thu.csv', FAIL)
    assert scan_logs({}, str(tmp_path), 'postgresql-*.log')['total'] == 1
    with pytest.raises(SourceError, match='cannot list the log folder'):
        scan_logs({}, str(tmp_path / 'missing'), 'postgresql-*.log')


def test_state_and_textfile_are_written_whole(tmp_path):
    path = str(tmp_path / 'state.json')
    assert read_state(path) == {}
    write_text(path, json.dumps({'total': 3}), 0o600)
    assert read_state(path) == {'total': 3}
    assert os.stat(path).st_mode & 0o777 == 0o600
    write(path, b'{broken', mode='wb')
    assert read_state(path) == {}
    assert os.listdir(str(tmp_path)) == ['state.json']


def test_migration_rows():
    assert migration_metrics([(8, False)]) == {'tmi_schema_migration_version': 8, 'tmi_schema_migration_dirty': 0}
    assert migration_metrics([(9, True)]) == {'tmi_schema_migration_version': 9, 'tmi_schema_migration_dirty': 1}
    with pytest.raises(SourceError, match='holds 2 rows'):
        migration_metrics([(8, False), (9, False)])


def test_the_newest_verified_dump(tmp_path):
    with pytest.raises(SourceError, match='no verified logical backup of tmi'):
        newest_logical_backup(str(tmp_path), 'tmi', 'tmi', '15-main')
    for name in ('tmi_20261201_020000.tmi.15-main.dump', 'tmi_20261202_020000.tmi.15-main.dump',
                 '.tmi_20261203_020000.tmi.15-main.dump.partial', 'tmi_20261204_020000.other.15-main.dump'):
        write(tmp_path / name, b'x' * len(name))
    os.utime(tmp_path / 'tmi_20261202_020000.tmi.15-main.dump', (1796263200, 1796263200))
    assert newest_logical_backup(str(tmp_path), 'tmi', 'tmi', '15-main') == (1796263200, 36)
    with pytest.raises(SourceError, match='cannot list the backup folder'):
        newest_logical_backup(str(tmp_path / 'no'), 'tmi', 'tmi', '15-main')


def pgbackrest(backups, name='tmi'):
    status = {'code': 0, 'message': 'ok'} if backups else {'code': 2, 'message': 'no valid backups'}
    return json.dumps([{'name': name, 'backup': backups, 'status': status}])


def test_the_newest_pgbackrest_backup():
    backups = [
        {'label': 'F', 'type': 'full', 'timestamp': {'start': 100, 'stop': 200},
         'info': {'size': 5000, 'delta': 5000, 'repository': {'size': 900, 'delta': 900}}},
        {'label': 'D', 'type': 'diff', 'timestamp': {'start': 300, 'stop': 400},
         'info': {'size': 5100, 'delta': 100, 'repository': {'size': 950, 'delta': 50}}},
    ]
    assert newest_pgbackrest_backup(pgbackrest(backups), 'tmi') == (400, 950)
    with pytest.raises(SourceError, match=r'stanza tmi has no backup \(no valid backups\)'):
        newest_pgbackrest_backup(pgbackrest([]), 'tmi')
    with pytest.raises(SourceError, match='does not know the stanza tmi'):
        newest_pgbackrest_backup(pgbackrest(backups, name='other'), 'tmi')
    with pytest.raises(SourceError, match='did not print JSON'):
        newest_pgbackrest_backup(b'ERROR: [055]: unable to load info file', 'tmi')


def test_the_file_groups_samples_under_help_and_type():
    text = render([('tmi_backup_max_age_seconds', {'kind': 'pgbackrest'}, 608400),
                   ('tmi_schema_valid', None, True),
                   ('tmi_backup_max_age_seconds', {'kind': 'logical'}, 90000),
                   ('tmi_schema_validation_duration_seconds', None, 0.25)])
    assert text == (
        '# HELP tmi_schema_valid 1 when the database matches the schema definition, 0 when it does not.\n'
        '# TYPE tmi_schema_valid gauge\n'
        'tmi_schema_valid 1\n'
        '# HELP tmi_schema_validation_duration_seconds Wall time of the last schema validation.\n'
        '# TYPE tmi_schema_validation_duration_seconds gauge\n'
        'tmi_schema_validation_duration_seconds 0.25\n'
        '# HELP tmi_backup_max_age_seconds Age of the newest backup the schedule allows, margin included.\n'
        '# TYPE tmi_backup_max_age_seconds gauge\n'
        'tmi_backup_max_age_seconds{kind="pgbackrest"} 608400\n'
        'tmi_backup_max_age_seconds{kind="logical"} 90000\n')
    with pytest.raises(ValueError, match='unknown metric tmi_other'):
        render([('tmi_other', None, 1)])


def test_a_failing_source_leaves_the_others_alone():
    collector = Collector()

    def broken():
        raise OSError('pgbackrest: not found')

    def missing():
        raise SourceError('no verified logical backup of tmi in /var/backups/tmi-postgresql yet')
    assert collector.source('migration', lambda: {'tmi_schema_migration_version': 8}) is True
    assert collector.source('backup_pgbackrest', broken) is False
    assert collector.source('backup_logical', missing) is False
    text = collector.finish(['migration', 'backup_logical', 'backup_pgbackrest'], 1796263200.7)
    assert 'tmi_schema_migration_version 8\n' in text
    assert 'tmi_metrics_source_error{source="migration"} 0\n' in text
    assert 'tmi_metrics_source_error{source="backup_pgbackrest"} 1\n' in text
    assert 'tmi_metrics_source_error{source="backup_logical"} 1\n' in text
    assert 'tmi_backup_pgbackrest' not in text
    assert text.endswith('tmi_textfile_timestamp_seconds 1796263200\n')
    assert collector.errors == {'backup_pgbackrest': 'OSError: pgbackrest: not found',
                                'backup_logical': 'no verified logical backup of tmi in /var/backups/tmi-postgresql yet'}


def test_sources_follow_the_configuration():
    assert config_sources({'database': {}}) == ['migration']
    assert config_sources({'definition': '/x.json', 'logical_backup': {'dir': '/b'}, 'pgbackrest': None,
                           'auth_log': {'directory': '/l'}}) == ['migration', 'schema_validation', 'backup_logical',
                                                                 'auth_log']

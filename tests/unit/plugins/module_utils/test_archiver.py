import time

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.archiver import (
    archiver_status,
    dropped_wal,
    is_failing,
    split_row,
    stanza_info,
    waiting,
    works,
)


def row(archive_mode='on', archived=0, last_archived=None, failed=0, last_failed=None, failed_newer=False):
    return (archive_mode, archived, last_archived and last_archived[0], last_archived and last_archived[1],
            failed, last_failed and last_failed[0], last_failed and last_failed[1], failed_newer)


OK = ('000000010000000000000003', '2026-12-01 02:00:00+00')
BAD = ('000000010000000000000004', '2026-12-01 02:05:00+00')


def test_a_failure_and_never_a_success_is_failing():
    status = archiver_status(row(failed=3, last_failed=BAD, failed_newer=True))
    assert status['failing'] is True
    assert status['message'].startswith('WAL archiving fails (archive_mode on): 3 failures, the last of '
                                        '000000010000000000000004 at 2026-12-01 02:05:00+00; last archived: never.')


def test_a_failure_newer_than_the_last_success_is_failing():
    status = archiver_status(row(archived=2, last_archived=OK, failed=1, last_failed=BAD, failed_newer=True))
    assert status['failing'] is True
    assert 'last archived: 000000010000000000000003 at 2026-12-01 02:00:00+00.' in status['message']


def test_a_failure_followed_by_a_success_is_recovered():
    # The wal_archive role called this failing (failed_count grew during its check).
    status = archiver_status(row(archived=5, last_archived=BAD, failed=1, last_failed=OK, failed_newer=False))
    assert status['failing'] is False
    assert status['message'].startswith('WAL archiving works (archive_mode on): 5 segments archived')


def test_old_failures_do_not_count_once_archiving_is_off():
    # pg_stat_archiver survives restarts; the wal_archive role ignored archive_mode.
    status = archiver_status(row(archive_mode='off', failed=7, last_failed=BAD, failed_newer=True))
    assert status['failing'] is False
    assert status['message'] == 'WAL archiving is off (archive_mode off).'


@pytest.mark.parametrize('mode', ['on', 'always'])
def test_archive_mode_on_and_always_are_checked(mode):
    assert is_failing(mode, 1, True) is True


def test_counters_reset_after_a_failure_is_not_failing():
    # pg_stat_reset_shared('archiver') leaves failed_count 0 and no times.
    assert is_failing('on', 0, False) is False
    assert is_failing('on', None, None) is False


def test_a_dict_row_is_read_as_a_tuple_row():
    tuple_status = archiver_status(row(failed=1, last_failed=BAD, failed_newer=True))
    keys = ('archive_mode', 'archived_count', 'last_archived_wal', 'last_archived_time', 'failed_count',
            'last_failed_wal', 'last_failed_time', 'failed_newer')
    assert archiver_status(dict(zip(keys, row(failed=1, last_failed=BAD, failed_newer=True)))) == tuple_status
    assert set(tuple_status) == set(keys) | {'failing', 'message', 'waiting', 'repository'}


def test_a_row_of_the_wrong_width_is_refused():
    with pytest.raises(ValueError, match='3 columns, expected 8'):
        archiver_status(('on', 1, 2))


@pytest.mark.parametrize('status, expected', [
    (row(archived=5, last_archived=OK), True),
    (row(archive_mode='always', archived=5, last_archived=OK), True),
    # A failure the archiver recovered from.
    (row(archived=5, last_archived=BAD, failed=1, last_failed=OK, failed_newer=False), True),
    (row(archived=5, last_archived=OK, failed=1, last_failed=BAD, failed_newer=True), False),
    # Never archived: nothing shows that the archive_command works.
    (row(), False),
    # Off: its old counters say nothing about today.
    (row(archive_mode='off', archived=5, last_archived=OK), False),
])
def test_works_only_when_the_counters_show_a_success_and_no_failure_since(status, expected):
    assert works(archiver_status(status)) is expected


def test_the_query_row_is_split_into_the_archiver_and_the_data_directory():
    archiver, data_directory = split_row(row(archived=1, last_archived=OK) + ('/var/lib/postgresql/15/main',))
    assert archiver == row(archived=1, last_archived=OK)
    assert data_directory == '/var/lib/postgresql/15/main'
    assert split_row(row() + (None,))[1] is None
    with pytest.raises(ValueError, match='8 columns, expected 9'):
        split_row(row())


INFO = ('[{"name": "other", "status": {"code": 0}}, '
        '{"name": "tmi", "status": {"code": 2, "message": "no valid backups"}, "backup": []}]')


def test_the_stanza_asked_about_is_taken_from_pgbackrest_info():
    entry, why = stanza_info(0, INFO, '', 'tmi')
    assert why is None
    assert entry['status'] == {'code': 2, 'message': 'no valid backups'}
    assert entry['backup'] == []


@pytest.mark.parametrize('rc, out, err, message', [
    (41, '', "ERROR: [041]: unable to open missing file '/etc/pgbackrest/pgbackrest.conf'\n",
     "exited with 41: ERROR: [041]: unable to open missing file"),
    (0, 'not json', '', 'printed no JSON'),
    (0, '{"name": "tmi"}', '', 'knows no stanza tmi'),
    (0, INFO, '', 'knows no stanza main'),
])
def test_a_failed_or_unexpected_info_says_why(rc, out, err, message):
    entry, why = stanza_info(rc, out, err, 'tmi' if 'main' not in message else 'main')
    assert entry is None
    assert message in why


# What pgBackRest's asynchronous archive-push log holds when archive-push-queue-max was exceeded (2.45).
DROP_LOG = [
    "2026-12-02 04:53:59.381 P00  ERROR: [103]: unable to find a valid repository:",
    "2026-12-02 04:54:03.117 P00   WARN: dropped WAL file '000000010000000000000002' because archive queue exceeded 32MB",
    "2026-12-02 04:54:03.118 P00   WARN: dropped WAL file '000000010000000000000003' because archive queue exceeded 32MB",
    "2026-12-02 04:54:05.001 P00   INFO: pushed WAL file '000000010000000000000007' to the archive",
]


def local_epoch(text):
    return time.mktime(time.strptime(text, '%Y-%m-%d %H:%M:%S'))


def test_no_drop_in_the_log_is_none():
    assert dropped_wal(DROP_LOG[:1] + DROP_LOG[3:]) is None


def test_drops_without_a_known_backup_are_a_possible_gap():
    dropped = dropped_wal(DROP_LOG)
    assert dropped['count'] == 2 and dropped['last_time'] == '2026-12-02 04:54:03'
    assert dropped['wal'] == ['000000010000000000000003'] and dropped['open'] is None
    assert dropped['message'].startswith('pgBackRest DROPPED WAL (archive-push-queue-max) 2 times, the last at '
                                         '2026-12-02 04:54:03 (000000010000000000000003)')
    assert 'the last backup could not be read' in dropped['message']


def test_drops_after_the_newest_backup_are_an_open_gap():
    dropped = dropped_wal(DROP_LOG, last_backup_stop=local_epoch('2026-12-02 04:00:00'))
    assert dropped['open'] is True
    assert 'gap there until the next full or differential backup' in dropped['message']


def test_drops_before_the_newest_backup_are_closed():
    dropped = dropped_wal(DROP_LOG, last_backup_stop=local_epoch('2026-12-02 04:55:00'))
    assert dropped['open'] is False
    assert dropped['message'].endswith('a backup taken since closes that gap.')


def test_the_message_names_the_repository_and_the_wal_waiting_in_pg_wal():
    wal = waiting((3, '2026-12-02 04:54:00+00', 16 * 1024 * 1024, 80 * 1024 * 1024))
    assert wal['ready_bytes'] == 48 * 1024 * 1024
    status = archiver_status(row(archived=2, last_archived=OK, failed=4, last_failed=BAD, failed_newer=True), wal,
                             'repository host backup1 port 8432')
    assert status['repository'] == 'repository host backup1 port 8432' and status['waiting'] == wal
    assert status['message'].startswith('WAL archiving to repository host backup1 port 8432 fails (archive_mode on):')
    assert ' 3 segments (48 MiB) wait in pg_wal for the archive since 2026-12-02 04:54:00+00 (pg_wal: 80 MiB).' \
        in status['message']


def test_without_the_right_to_list_pg_wal_the_message_says_nothing_of_it():
    status = archiver_status(row(archived=2, last_archived=OK))
    assert status['waiting'] is None and status['repository'] is None
    assert status['message'] == ('WAL archiving works (archive_mode on): 2 segments archived, the last '
                                 '000000010000000000000003 at 2026-12-01 02:00:00+00.')
    assert 'pg_wal' not in status['message']

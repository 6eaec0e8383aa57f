import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.archiver import (
    archiver_status,
    is_failing,
    split_row,
    stanza_info,
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
    assert set(tuple_status) == set(keys) | {'failing', 'message'}


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

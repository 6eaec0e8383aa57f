import json

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_plan import (
    END_OF_WAL,
    PlanError,
    archive_id,
    choose_backup,
    ends_before,
    epoch_from_date,
    history_timelines,
    lsn_value,
    make_plan,
    manifest_lsn,
    newest_archived_wal,
    newest_timeline,
    no_backup_message,
    on_timeline_path,
    parse_history,
    recovery_target,
    restore_options,
    stanza_info,
    wal_gap,
)

# 2026-11-25 02:00:00 UTC
T0 = 1795572000


def backup(label, stop, lsn_stop, timeline=1, kind='full', error=False):
    return {'label': label, 'type': kind, 'error': error, 'timestamp': {'start': stop - 30, 'stop': stop},
            'lsn': {'start': '0/1000028', 'stop': lsn_stop},
            'archive': {'start': '%08X0000000000000001' % timeline, 'stop': '%08X%016X' % (timeline, lsn_value(lsn_stop) >> 24)}}


def target(time_text='', lsn=''):
    return recovery_target(time_text, lsn)


# A history of timeline 3: timeline 1 left at 0/5000060, timeline 2 left at 0/9000000.
HISTORY_3 = '1\t0/5000060\tbefore 2026-11-25 14:03:00+00\n\n2\t0/9000000\tno recovery target specified\n'


class TestLsn(object):
    def test_both_halves_compare_as_numbers(self):
        assert lsn_value('0/5000060') == 0x5000060
        assert lsn_value('1/0') == 1 << 32
        # As text '0/A0000000' > '0/9FFFFFFF' but '0/A000000' < '0/9FFFFFF': the reason for numbers.
        assert lsn_value('0/9FFFFFF') < lsn_value('0/A000000')
        assert lsn_value('0/FFFFFFFF') < lsn_value('1/0')
        assert lsn_value('a/b') == lsn_value('A/B')

    @pytest.mark.parametrize('text', ['', None, '5000060', '0/', '0/5000060/1', 'G/1', '0/123456789', ' 0/1'])
    def test_anything_else_is_refused(self, text):
        with pytest.raises(PlanError, match='is not an LSN like 0/5000060'):
            lsn_value(text)


class TestRecoveryTarget(object):
    def test_neither_is_the_end_of_the_wal(self):
        assert recovery_target('', '') == {'type': 'default', 'target': END_OF_WAL, 'lsn': None}
        assert recovery_target(None, '  ')['type'] == 'default'

    def test_a_time(self):
        expected = {'type': 'time', 'target': '2026-11-25 14:03:00+00', 'lsn': None}
        assert recovery_target(' 2026-11-25 14:03:00+00 ', '') == expected

    def test_an_lsn(self):
        assert recovery_target('', '0/5000060') == {'type': 'lsn', 'target': '0/5000060', 'lsn': 0x5000060}

    def test_not_both(self):
        with pytest.raises(PlanError, match='not both'):
            recovery_target('2026-11-25 14:03:00+00', '0/5000060')

    def test_a_bad_lsn_is_named(self):
        with pytest.raises(PlanError, match="The target LSN '5000060' is not an LSN like 0/5000060"):
            recovery_target('', '5000060')


class TestEpochFromDate(object):
    def test_date_output(self):
        assert epoch_from_date('x', 0, '1795615380.250000000\n', '') == 1795615380.25
        assert epoch_from_date('x', 0, '1795615380\n', '') == 1795615380.0

    def test_date_refuses_it(self):
        with pytest.raises(PlanError, match=r"The target time 'soon' is not a time GNU date can read \(date: invalid date"):
            epoch_from_date('soon', 1, '', "date: invalid date 'soon'\n")

    def test_output_that_is_no_number(self):
        with pytest.raises(PlanError, match='not a time GNU date can read'):
            epoch_from_date('x', 0, 'today\n', '')


class TestInfo(object):
    INFO = [{'name': 'tmi', 'archive': [{'id': '15-1', 'min': '000000010000000000000001', 'max': '000000010000000000000007'},
                                        {'id': '15-2', 'min': '000000020000000000000009', 'max': '00000002000000000000000B'}],
             'backup': [], 'status': {'code': 0, 'message': 'ok'}}]

    def test_the_stanza_and_its_current_archive(self):
        info = stanza_info(json.dumps(self.INFO), 'tmi')
        assert archive_id(info) == '15-2'
        assert newest_archived_wal(info) == '00000002000000000000000B'

    def test_an_empty_archive(self):
        info = {'archive': [{'id': '15-1', 'min': None, 'max': None}]}
        assert archive_id(info) == '15-1'
        assert newest_archived_wal(info) == ''
        assert archive_id({'archive': []}) == '' and newest_archived_wal({}) == ''

    def test_no_json(self):
        with pytest.raises(PlanError, match='pgbackrest info printed no JSON'):
            stanza_info('ERROR: [055]: unable to load info file', 'tmi')

    @pytest.mark.parametrize('stdout', ['[]', '{}', json.dumps([{'name': 'other'}])])
    def test_no_such_stanza(self, stdout):
        with pytest.raises(PlanError, match='pgbackrest info knows no stanza tmi'):
            stanza_info(stdout, 'tmi')


class TestTimelines(object):
    def test_history_files_listed(self):
        listing = json.dumps({'00000002.history': {'type': 'file'}, '0000000A.history': {'type': 'file'},
                              '0000000100000000': {'type': 'path'}})
        assert history_timelines(listing) == [2, 10]
        assert history_timelines('') == [] and history_timelines('{}') == []

    def test_listing_without_json(self):
        with pytest.raises(PlanError, match='repo-ls printed no JSON'):
            history_timelines('oops')

    def test_the_newest_timeline(self):
        assert newest_timeline([], '') == 1
        assert newest_timeline([], '000000030000000000000004') == 3
        assert newest_timeline([2, 4], '000000030000000000000009') == 4
        assert newest_timeline([2], '0000000A0000000000000009') == 10

    def test_history_lines(self):
        assert parse_history(HISTORY_3) == [(1, 0x5000060), (2, 0x9000000)]
        assert parse_history('# comment\nx 0/1\n3 nolsn\n') == []
        assert parse_history(None) == []


class TestTimelinePath(object):
    SWITCHES_2 = [(1, 0x5000060)]
    SWITCHES_3 = parse_history(HISTORY_3)

    def test_on_the_newest_timeline(self):
        assert on_timeline_path(backup('b', T0, '0/A000000', timeline=2), 2, self.SWITCHES_2)

    def test_on_an_ancestor_before_the_fork(self):
        assert on_timeline_path(backup('b', T0, '0/4000000'), 2, self.SWITCHES_2)
        assert on_timeline_path(backup('b', T0, '0/5000060'), 2, self.SWITCHES_2)

    def test_on_an_abandoned_timeline_after_the_fork(self):
        # The DR drill's case: a differential backup taken on timeline 1 after the target the first recovery forked at.
        assert not on_timeline_path(backup('b', T0, '0/6000028'), 2, self.SWITCHES_2)

    def test_several_timelines(self):
        # Timeline 1 is on timeline 3's path only up to where 2 forked off, even though 2 was left later.
        assert on_timeline_path(backup('b', T0, '0/4000000'), 3, self.SWITCHES_3)
        assert not on_timeline_path(backup('b', T0, '0/6000000'), 3, self.SWITCHES_3)
        assert on_timeline_path(backup('b', T0, '0/8000000', timeline=2), 3, self.SWITCHES_3)
        assert not on_timeline_path(backup('b', T0, '0/9000100', timeline=2), 3, self.SWITCHES_3)

    def test_a_timeline_not_in_the_history(self):
        # Timeline 2 of another branch (e.g. 3 forked from 1 directly).
        assert not on_timeline_path(backup('b', T0, '0/3000000', timeline=2), 3, [(1, 0x5000060)])
        assert not on_timeline_path(backup('b', T0, '0/3000000'), 2, [])


class TestChooseBackup(object):
    def test_ends_before_each_kind_of_target(self):
        b = backup('b', T0, '0/3000100')
        assert ends_before(b, target(), None)
        assert ends_before(b, target('t'), T0 + 0.5) and not ends_before(b, target('t'), T0)
        assert ends_before(b, target(lsn='0/3000100'), None)
        assert not ends_before(b, target(lsn='0/30000FF'), None)

    def test_the_newest_that_fits(self):
        backups = [backup('diff', T0 + 600, '0/9000028', kind='diff'), backup('full', T0, '0/3000100')]
        assert choose_backup(backups, target(), None, 1, [])['label'] == 'diff'
        assert choose_backup(backups, target('t'), T0 + 300, 1, [])['label'] == 'full'
        assert choose_backup(backups, target(lsn='0/8000000'), None, 1, [])['label'] == 'full'
        assert choose_backup(backups, target(lsn='0/2000000'), None, 1, []) is None

    def test_a_backup_with_errors_is_skipped(self):
        backups = [backup('full', T0, '0/3000100'), backup('bad', T0 + 600, '0/9000028', error=True)]
        assert choose_backup(backups, target(), None, 1, [])['label'] == 'full'

    def test_a_backup_on_an_abandoned_timeline_is_skipped(self):
        backups = [backup('full', T0, '0/3000100'), backup('diff', T0 + 600, '0/6000028', kind='diff')]
        assert choose_backup(backups, target(), None, 2, [(1, 0x5000060)])['label'] == 'full'

    def test_a_backup_on_the_newest_timeline_wins(self):
        backups = [backup('full', T0, '0/3000100'), backup('diff', T0 + 600, '0/6000028', kind='diff'),
                   backup('full2', T0 + 900, '0/B000028', timeline=2)]
        assert choose_backup(backups, target(), None, 2, [(1, 0x5000060)])['label'] == 'full2'


class TestMessages(object):
    def test_no_backup_names_the_target_and_lists_the_backups(self):
        backups = [backup('diff', T0 + 600, '0/6000028', kind='diff'), backup('full', T0, '0/3000100'),
                   backup('bad', T0 + 60, '0/4000000', error=True)]
        message = no_backup_message('tmi', '0/1000000', backups, 2, [(1, 0x5000060)])
        assert message.startswith('No backup of stanza tmi ended before 0/1000000; nothing was touched. Backups: ')
        assert ('full (full, ended 2026-11-25 02:00:00+00, lsn 0/3000100, timeline 1); '
                'bad (full, ended 2026-11-25 02:01:00+00, lsn 0/4000000, timeline 1, has errors); '
                "diff (diff, ended 2026-11-25 02:10:00+00, lsn 0/6000028, timeline 1, not on timeline 2's path).") in message

    def test_no_backup_at_all(self):
        message = no_backup_message('tmi', END_OF_WAL, [], 1, [], {'code': 1, 'message': 'missing stanza path'})
        assert message == ('No backup of stanza tmi ended before end of the archived WAL; nothing was touched. '
                           'Backups: none. pgBackRest says: missing stanza path.')
        assert 'says' not in no_backup_message('tmi', END_OF_WAL, [], 1, [], {'code': 0, 'message': 'ok'})

    def test_restore_options(self):
        b = backup('full', T0, '0/3000100')
        assert restore_options(b, target()) == ['--set=full', '--type=default']
        assert restore_options(b, target('2026-11-25 14:03:00+00')) == [
            '--set=full', '--type=time', '--target=2026-11-25 14:03:00+00', '--target-action=promote']
        assert restore_options(b, target(lsn='0/5000060')) == [
            '--set=full', '--type=lsn', '--target=0/5000060', '--target-action=promote']

    def test_restore_options_without_the_lsn_type(self):
        b = backup('full', T0, '0/3000100')
        assert restore_options(b, target(lsn='0/5000060'), lsn_type=False) == [
            '--set=full', '--type=default', '--recovery-option=recovery_target_lsn=0/5000060',
            '--recovery-option=recovery_target_action=promote']
        # The other targets do not need it.
        assert restore_options(b, target('2026-11-25 14:03:00+00'), lsn_type=False)[1] == '--type=time'
        assert restore_options(b, target(), lsn_type=False) == ['--set=full', '--type=default']


class TestWalGap(object):
    def test_a_gap(self):
        assert wal_gap('default', '0000000000000005', '0000000000000009')

    def test_no_gap(self):
        assert not wal_gap('default', '0000000000000009', '0000000000000009')
        # The recovery ends in the segment after the newest archived one: the new timeline's first.
        assert not wal_gap('default', '000000000000000A', '0000000000000009')

    def test_only_for_the_end_of_the_wal(self):
        assert not wal_gap('time', '0000000000000005', '0000000000000009')
        assert not wal_gap('lsn', '0000000000000005', '0000000000000009')

    def test_nothing_to_compare(self):
        assert not wal_gap('default', '0000000000000005', '')
        assert not wal_gap('default', '', '0000000000000009')


class FakeRepository(object):
    """pgBackRest's answers by arguments, recording the calls."""

    def __init__(self, info, listing=None, histories=None):
        self.answers = {('--output=json', 'info'): json.dumps(info)}
        if listing is not None:
            self.answers[('--output=json', '--filter=[.]history$', 'repo-ls', 'archive/tmi/15-1')] = json.dumps(listing)
        for name, text in (histories or {}).items():
            self.answers[('repo-get', 'archive/tmi/15-1/' + name)] = text
        self.calls = []

    def __call__(self, args):
        self.calls.append(tuple(args))
        if tuple(args) not in self.answers:
            raise PlanError('pgbackrest %s failed (rc 1)' % ' '.join(args))
        return self.answers[tuple(args)]


def no_date(text):
    raise AssertionError('date was called for %r' % text)


def info(backups, newest_wal):
    return [{'name': 'tmi', 'archive': [{'id': '15-1', 'min': '000000010000000000000001', 'max': newest_wal}],
             'backup': backups, 'status': {'code': 0, 'message': 'ok'}}]


def manifest(lsn_start, lsn_stop):
    """A backup.manifest's head as pgBackRest 2.33 writes it (INI, JSON values)."""
    return ('[backrest]\nbackrest-format=5\nbackrest-version="2.33"\n\n[backup]\n'
            'backup-archive-start="000000010000000000000003"\nbackup-label="full"\n'
            'backup-lsn-start="%s"\nbackup-lsn-stop="%s"\nbackup-timestamp-start=1795571970\n\n'
            '[target:file]\npg_data/PG_VERSION={"size":3,"timestamp":1795571900}\n' % (lsn_start, lsn_stop))


class TestManifestLsn(object):
    def test_the_backup_section_is_read(self):
        assert manifest_lsn(manifest('0/3000028', '0/3000100'), 'full') == {'start': '0/3000028', 'stop': '0/3000100'}

    def test_a_manifest_without_the_lsn_names_the_backup(self):
        with pytest.raises(PlanError, match='The manifest of backup full records no backup-lsn-start and backup-lsn-stop'):
            manifest_lsn('[backup]\nbackup-label="full"\n[other]\nbackup-lsn-stop="0/1"\n', 'full')

    def test_an_unreadable_value_is_named(self):
        with pytest.raises(PlanError, match=r"backup full has an unreadable backup-lsn-stop: '0/3000100'"):
            manifest_lsn('[backup]\nbackup-lsn-start="0/1"\nbackup-lsn-stop=0/3000100\n', 'full')

    def test_a_value_that_is_no_lsn_is_named(self):
        with pytest.raises(PlanError, match="'later' is not an LSN"):
            manifest_lsn(manifest('0/1', 'later'), 'full')


class TestMakePlan(object):
    def test_one_timeline_reads_no_history(self):
        repo = FakeRepository(info([backup('full', T0, '0/3000100')], '000000010000000000000009'), listing={})
        plan = make_plan('tmi', '', '', repo, no_date)
        assert plan['backup'] == {'label': 'full', 'type': 'full', 'stop_time': T0, 'stop_time_text': '2026-11-25 02:00:00+00',
                                  'stop_lsn': '0/3000100', 'timeline': 1}
        assert (plan['target_type'], plan['target'], plan['target_epoch']) == ('default', END_OF_WAL, None)
        assert (plan['archive_id'], plan['newest_wal'], plan['newest_segment']) == (
            '15-1', '000000010000000000000009', '0000000000000009')
        assert (plan['timeline'], plan['history'], plan['backups']) == (1, [], ['full'])
        assert plan['restore_options'] == ['--set=full', '--type=default']
        assert not [c for c in repo.calls if 'repo-get' in c]

    def test_the_drills_abandoned_timeline(self):
        backups = [backup('full', T0, '0/3000100'), backup('diff', T0 + 600, '0/6000028', kind='diff')]
        repo = FakeRepository(info(backups, '00000002000000000000000A'), listing={'00000002.history': {}},
                              histories={'00000002.history': '1\t0/5000060\tbefore 2026-11-25 02:05:00+00\n'})
        plan = make_plan('tmi', '', '', repo, no_date)
        assert plan['backup']['label'] == 'full'
        assert (plan['timeline'], plan['history']) == (2, [[1, '0/5000060']])

    def test_the_newest_history_by_its_name(self):
        repo = FakeRepository(info([backup('full', T0, '0/3000100')], '000000030000000000000010'),
                              listing={'00000002.history': {}, '0000000B.history': {}},
                              histories={'0000000B.history': '1\t0/5000060\treason\n'})
        assert make_plan('tmi', '', '', repo, no_date)['timeline'] == 11

    def test_a_time_target_is_read_with_date(self):
        repo = FakeRepository(info([backup('full', T0, '0/3000100')], '000000010000000000000009'), listing={})
        plan = make_plan('tmi', '2026-11-25 02:05:00+00', '', repo, lambda text: T0 + 300.5)
        assert (plan['target_type'], plan['target_epoch']) == ('time', T0 + 300.5)
        assert plan['restore_options'][1:] == ['--type=time', '--target=2026-11-25 02:05:00+00', '--target-action=promote']

    def test_a_bad_target_reads_nothing(self):
        repo = FakeRepository(info([], ''))
        with pytest.raises(PlanError, match='not both'):
            make_plan('tmi', 't', '0/1', repo, no_date)
        assert repo.calls == []

    def test_an_empty_archive_lists_no_history(self):
        data = info([], '')
        data[0]['archive'] = []
        repo = FakeRepository(data)
        with pytest.raises(PlanError, match='No backup of stanza tmi ended before 0/1000000; nothing was touched. Backups: none.'):
            make_plan('tmi', '', '0/1000000', repo, no_date)
        assert repo.calls == [('--output=json', 'info')]

    def test_no_backup_before_the_target(self):
        repo = FakeRepository(info([backup('full', T0, '0/3000100')], '000000010000000000000009'), listing={})
        with pytest.raises(PlanError, match=r'ended before 0/1000000; nothing was touched. Backups: full \(full, ended'):
            make_plan('tmi', '', '0/1000000', repo, no_date)

    def test_pgbackrest_before_2_36_gives_the_lsn_in_each_manifest(self):
        # Debian 11's pgBackRest 2.33: info has no lsn; the planner reads each backup's manifest instead.
        backups = [backup('full', T0, '0/3000100'), backup('diff', T0 + 600, '0/6000028', kind='diff')]
        for b in backups:
            del b['lsn']
        repo = FakeRepository(info(backups, '000000010000000000000009'), listing={})
        repo.answers[('repo-get', 'backup/tmi/full/backup.manifest')] = manifest('0/3000028', '0/3000100')
        repo.answers[('repo-get', 'backup/tmi/diff/backup.manifest')] = manifest('0/6000000', '0/6000028')
        plan = make_plan('tmi', '', '0/5000000', repo, no_date)
        assert (plan['backup']['label'], plan['backup']['stop_lsn']) == ('full', '0/3000100')
        # ... and restores to the LSN without --type=lsn, which 2.33 refuses.
        assert plan['restore_options'] == ['--set=full', '--type=default', '--recovery-option=recovery_target_lsn=0/5000000',
                                           '--recovery-option=recovery_target_action=promote']
        assert [c for c in repo.calls if c[0] == 'repo-get'] == [
            ('repo-get', 'backup/tmi/full/backup.manifest'), ('repo-get', 'backup/tmi/diff/backup.manifest')]

    def test_an_unreadable_manifest_stops_it(self):
        b = backup('full', T0, '0/3000100')
        del b['lsn']
        repo = FakeRepository(info([b], '000000010000000000000009'), listing={})
        with pytest.raises(PlanError, match='repo-get backup/tmi/full/backup.manifest failed'):
            make_plan('tmi', '', '', repo, no_date)

    def test_a_missing_history_file_stops_it(self):
        repo = FakeRepository(info([backup('full', T0, '0/3000100')], '000000020000000000000009'), listing={})
        with pytest.raises(PlanError, match='repo-get archive/tmi/15-1/00000002.history failed'):
            make_plan('tmi', '', '', repo, no_date)

import json

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.backup_files import (
    backup_script_result,
    newest_backup,
    parse_backup_name,
    pg_restore_toc,
    row_count_comparison,
)

D = '/var/backups/tmi-postgresql/'


def test_names_are_parsed_and_decoded():
    assert parse_backup_name('tmi_20261124_020000.tmi.15-main.dump', 'tmi') == ('20261124_020000', 'tmi', '15-main')
    assert parse_backup_name('tmi_20261124_020000.my%2Edb.15-main.dump', 'tmi') == ('20261124_020000', 'my.db', '15-main')
    assert parse_backup_name('tmi_20261124_020000.dump', 'tmi') == ('20261124_020000', None, None)


@pytest.mark.parametrize('name', [
    'tmi_20261124_020000.tmi.15-main.dump.partial', '.tmi_20261124_020000.tmi.15-main.dump.partial',
    'tmi_20261124_020000.tmi.15-main.schema.sql', 'tmi_2026112_020000.dump', 'tmi_20261124_020000.TMI.15-main.dump',
    'tmi_20261124_020000.my%2edb.15-main.dump', 'tmi_20261124_020000.tmi.dump', 'other_20261124_020000.dump',
    'tmiX20261124_020000.dump'])
def test_other_names_are_not_backups(name):
    assert parse_backup_name(name, 'tmi') is None


def test_a_prefix_is_literal_not_a_regex():
    assert parse_backup_name('a.b_20261124_020000.dump', 'a.b') is not None
    assert parse_backup_name('axb_20261124_020000.dump', 'a.b') is None


def test_the_newest_backup_of_the_database_wins():
    files = [D + 'tmi_20261124_020000.tmi.15-main.dump', D + 'tmi_20261125_020000.tmi.15-main.dump',
             D + 'tmi_20261126_020000.other.15-main.dump', D + 'tmi_20261123_020000.tmi.15-main.dump']
    assert newest_backup(files, 'tmi', 'tmi') == D + 'tmi_20261125_020000.tmi.15-main.dump'
    assert newest_backup(files, 'tmi', 'other') == D + 'tmi_20261126_020000.other.15-main.dump'
    assert newest_backup(files, 'tmi', 'third') == ''
    assert newest_backup([], 'tmi', 'tmi') == ''


def test_the_cluster_filters_when_given():
    files = [D + 'tmi_20261125_020000.tmi.17-main.dump', D + 'tmi_20261124_020000.tmi.15-main.dump']
    assert newest_backup(files, 'tmi', 'tmi') == files[0]
    assert newest_backup(files, 'tmi', 'tmi', '15-main') == files[1]
    assert newest_backup(files, 'tmi', 'tmi', '16-main') == ''


def test_encoded_names_match_the_decoded_database():
    files = [D + 'tmi_20261124_020000.t%C3%A9st%20db.15-main.dump']
    assert newest_backup(files, 'tmi', u't\u00e9st db') == files[0]
    assert newest_backup(files, 'tmi', 'test db') == ''


def test_legacy_names_are_candidates_but_lose_a_tie():
    legacy = D + 'tmi_20261125_020000.dump'
    named = D + 'tmi_20261125_020000.tmi.15-main.dump'
    assert newest_backup([legacy], 'tmi', 'tmi') == legacy
    assert newest_backup([legacy, D + 'tmi_20261124_020000.tmi.15-main.dump'], 'tmi', 'tmi') == legacy
    assert newest_backup([named, legacy], 'tmi', 'tmi') == named
    assert newest_backup([legacy, named], 'tmi', 'tmi') == named
    # A legacy file is anyone's: the table of contents decides.
    assert newest_backup([legacy], 'tmi', 'other', '15-main') == legacy


def test_the_choice_does_not_depend_on_the_order():
    files = [D + 'tmi_20261125_020000.tmi.15-main.dump', D + 'tmi_20261125_020000.tmi.16-main.dump']
    assert newest_backup(files, 'tmi', 'tmi') == newest_backup(files[::-1], 'tmi', 'tmi')


TOC = """;
; Archive created at 2026-11-24 02:00:01 UTC
;     dbname: tmi
;     TOC Entries: 5
;
; Selected TOC Entries:
;
215; 1259 16390 TABLE public users tmi_owner
3340; 0 16390 TABLE DATA public users tmi_owner
""".splitlines()


def test_the_table_of_contents_is_read():
    assert pg_restore_toc(TOC) == dict(dbname='tmi', archive_created='2026-11-24 02:00:01 UTC', entries=2,
                                       table_data=True)


def test_a_toc_without_data_or_dbname():
    assert pg_restore_toc(TOC[:6] + TOC[7:8]) == dict(dbname='tmi', archive_created='2026-11-24 02:00:01 UTC',
                                                      entries=1, table_data=False)
    assert pg_restore_toc([]) == dict(dbname=None, archive_created=None, entries=0, table_data=False)


def test_a_dbname_with_spaces_is_kept_whole():
    assert pg_restore_toc([';     dbname: my db']).get('dbname') == 'my db'


OK = dict(status='ok', database='tmi', cluster='15-main', file=D + 'tmi_20261124_020000.tmi.15-main.dump',
          schema_file='', size_bytes=1234, duration_seconds=1.5, removed=[], unreadable=[], step='done', error='')


def test_a_successful_run():
    result = backup_script_result(0, json.dumps(OK) + '\n')
    assert result['ok'] is True and result['rc'] == 0
    assert dict((k, result[k]) for k in OK) == OK


def test_a_failed_run_keeps_the_scripts_step_and_error():
    failed = dict(OK, status='failed', file='', size_bytes=0, step='dump', error='No space left on device')
    result = backup_script_result(1, json.dumps(failed))
    assert result['ok'] is False and result['step'] == 'dump' and result['error'] == 'No space left on device'


def test_a_script_that_did_not_start():
    result = backup_script_result(2, '', 'tmi-pg-backup: unknown option --foo')
    assert result == dict(status='failed', step='start', error='tmi-pg-backup: unknown option --foo', rc=2, ok=False)
    result = backup_script_result(127, '', '', '[Errno 2] No such file or directory')
    assert result['error'] == '[Errno 2] No such file or directory' and result['ok'] is False
    assert backup_script_result(1, None, None)['error'] == 'no output'


def test_output_that_is_not_the_result():
    result = backup_script_result(0, '{not json')
    assert result['ok'] is False and result['step'] == 'result' and '{not json' in result['error']
    assert backup_script_result(0, '{"a": 1}')['ok'] is False


def test_an_exit_status_that_contradicts_the_json():
    result = backup_script_result(75, json.dumps(OK))
    assert result['ok'] is False and result['status'] == 'failed' and 'exited with status 75' in result['error']
    result = backup_script_result(0, json.dumps(dict(OK, status='locked', error='')))
    assert result['ok'] is False and 'status locked' in result['error']


def test_row_counts_match_only_against_a_live_database():
    restored = {'users': {'rows': 2}, 'threats': {'rows': 0}}
    assert row_count_comparison(restored, {}) == dict(
        row_counts={'threats': {'restored': 0, 'live': None}, 'users': {'restored': 2, 'live': None}},
        row_counts_match=False)
    same = row_count_comparison(restored, {'users': {'rows': 2}, 'threats': {'rows': 0}})
    assert same['row_counts_match'] is True and list(same['row_counts']) == ['threats', 'users']
    assert row_count_comparison(restored, {'users': {'rows': 3}, 'threats': {'rows': 0}})['row_counts_match'] is False
    missing = row_count_comparison(restored, {'users': {'rows': 2}})
    assert missing['row_counts_match'] is False and missing['row_counts']['threats']['live'] is None

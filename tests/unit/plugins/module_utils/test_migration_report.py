import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_report import (
    NO_RESTORE,
    OWN_TRANSACTION,
    rollback_summary,
    upgrade_recovery,
    upgrade_summary,
)


def state(version, without_down=(), dirty=False):
    return dict(changed=False, version=version, dirty=dirty, without_down=list(without_down))


def steps(*versions):
    return [dict(version=v, name='m%d' % v, direction='down') for v in versions]


# --- how a failed upgrade is brought back ------------------------------------


def test_a_version_that_did_not_move_needs_nothing():
    recovery = upgrade_recovery(8, state(8))
    assert recovery == dict(run_rollback=False, method=OWN_TRANSACTION, restore=False, rollback_error='')


def test_applied_steps_with_down_files_are_rolled_back():
    assert upgrade_recovery(5, state(7))['run_rollback'] is True
    recovery = upgrade_recovery(5, state(7), dict(changed=True, applied=steps(7, 6)))
    assert recovery == dict(run_rollback=False, method='rollback migrations (7, 6)', restore=False, rollback_error='')


def test_an_applied_step_without_a_down_file_leaves_only_the_backup():
    recovery = upgrade_recovery(8, state(9, without_down=[9]), backup_file='/b/tmi.dump')
    assert recovery == dict(run_rollback=False, method=NO_RESTORE, restore=False,
                            rollback_error='no down migration for version(s) 9')


def test_restore_on_failure_names_the_backup_and_asks_for_the_restore():
    recovery = upgrade_recovery(8, state(10, without_down=[9, 10]), None, True, '/b/tmi.dump')
    assert recovery['restore'] is True and recovery['run_rollback'] is False
    assert recovery['method'] == 'backup: dr_restore of /b/tmi.dump (runs next, with swap)'
    assert recovery['rollback_error'] == 'no down migration for version(s) 9, 10'


def test_failed_rollback_migrations_fall_back_to_the_backup():
    failed = dict(failed=True, msg='000007_x.down.sql:3: boom', applied=steps(8))
    recovery = upgrade_recovery(5, state(8), failed, True, '/b/f.dump')
    assert recovery['restore'] is True and recovery['rollback_error'] == '000007_x.down.sql:3: boom'
    recovery = upgrade_recovery(5, state(8), failed)
    assert recovery['method'] == NO_RESTORE and recovery['restore'] is False


def test_an_unreadable_version_or_a_dirty_database_is_not_rolled_back():
    unread = upgrade_recovery(5, dict(failed=True, msg='connection refused'))
    assert unread['run_rollback'] is False and unread['method'] == NO_RESTORE
    assert unread['rollback_error'] == 'the version could not be read: connection refused'
    assert upgrade_recovery(5, None)['rollback_error'] == 'the version could not be read'
    dirty = upgrade_recovery(5, state(7, dirty=True))
    assert dirty['run_rollback'] is False and 'dirty at version 7' in dirty['rollback_error']


def test_a_skipped_rollback_counts_as_not_run():
    assert upgrade_recovery(5, state(7), dict(skipped=True))['run_rollback'] is True


# --- the summaries -------------------------------------------------------------


REPORT = dict(host='db1', started='2026-12-01T10:00:00Z', target='latest', database='tmi',
              backup_file='/b/tmi.dump', backup_size='12.3 kB', version_before=5, duration=2.04)


def test_the_summary_of_a_successful_upgrade():
    report = dict(REPORT, ok=True, migrate=dict(version_before=5, version_after=8, applied=steps(6, 7, 8)),
                  validation=dict(summary=dict(errors=0, warnings=1)))
    assert upgrade_summary(report) == [
        'TMI upgrade on db1, started 2026-12-01T10:00:00Z: OK',
        '- Ran: upgrade.yml (backup, migrate target=latest, schema_validate)',
        '- Database: tmi',
        '- Backup: /b/tmi.dump (12.3 kB, verified)',
        '- Version: 5 -> 8',
        '- Up steps: 6, 7, 8',
        '- Validation: 0 errors, 1 warnings',
        '- Duration: total 2.0 s',
    ]
    nothing = dict(report, migrate=dict(version_before=8, version_after=8, applied=[]))
    assert '- Up steps: none' in upgrade_summary(nothing)


@pytest.mark.parametrize('recovery, version_now, expected', [
    (upgrade_recovery(5, state(8), dict(applied=steps(8, 7, 6))), 5,
     ['- Version before the upgrade: 5; now: 5', '- Brought back by: rollback migrations (8, 7, 6)',
      '- Backup not needed', '- Restore: not needed']),
    (upgrade_recovery(5, state(9, [9])), 9,
     ['- Version before the upgrade: 5; now: 9', '- Brought back by: ' + NO_RESTORE,
      '- Rollback migrations not used: no down migration for version(s) 9',
      '- Restore: ansible-playbook tmi.postgresql.dr_restore -e dr_restore_file=/b/tmi.dump -e dr_restore_swap=true']),
    (upgrade_recovery(5, state(9, [9]), None, True, '/b/tmi.dump'), None,
     ['- Version before the upgrade: 5; now: unknown',
      '- Brought back by: backup: dr_restore of /b/tmi.dump (runs next, with swap)',
      '- Rollback migrations not used: no down migration for version(s) 9', '- Restore: dr_restore.yml runs next']),
])
def test_the_summary_of_a_failed_upgrade_says_how_it_was_brought_back(recovery, version_now, expected):
    report = dict(REPORT, ok=False, failed_task='Run the up migrations as the owner role.', error='boom',
                  version_now=version_now, recovery=recovery)
    lines = upgrade_summary(report)
    assert lines[0].endswith(': FAILED')
    assert lines[4] == '- Failed at: Run the up migrations as the owner role.: boom'
    assert lines[5:-1] == expected


def test_a_missing_backup_is_shown_as_unknown():
    report = dict(REPORT, ok=False, backup_file=None, backup_size=None, version_now=8,
                  recovery=upgrade_recovery(8, state(8)))
    assert '- Backup: ? (0 Bytes, verified)' in upgrade_summary(report)


def test_the_summary_of_a_rollback():
    report = dict(host='db1', started='2026-12-01T10:00:00Z', target='5', database='tmi',
                  migrate=dict(version_before=8, version_after=5, applied=steps(8, 7, 6)),
                  validation=dict(migration=dict(version=5, expected_version=8), summary=dict(errors=3, warnings=0)),
                  migrate_duration=0.42, duration=1.26)
    assert rollback_summary(report) == [
        'TMI rollback on db1, started 2026-12-01T10:00:00Z: OK',
        '- Ran: rollback.yml (migrate target=5 allow_down, then schema_validate)',
        '- Database: tmi',
        '- Version: 8 -> 5',
        '- Down steps: 8, 7, 6',
        '- Validation at version 5 (definition describes 8): 3 errors, 0 warnings',
        '- Duration: migrate 0.4 s, total 1.3 s',
    ]
    nothing = dict(report, migrate=dict(version_before=5, version_after=5, applied=[]), validation={})
    assert rollback_summary(nothing)[4:6] == [
        '- Down steps: none', '- Validation at version ? (definition describes ?): ? errors, ? warnings']

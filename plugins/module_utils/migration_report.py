# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions and summaries of the upgrade and rollback flows.

Pure functions of the results the flows' tasks return (tmi.postgresql.migrate,
migration_version, schema_validate, the backup): how a failed upgrade's database
is brought back, and the lines of the summaries printed for the incident log.
The roles tmi.postgresql.upgrade and rollback call them through the filters
upgrade_recovery, upgrade_summary and rollback_summary.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

NOTHING_NEEDED = 'none needed'
OWN_TRANSACTION = 'nothing: the failing step rolled back its own transaction'
NO_RESTORE = 'NONE: restore the backup with dr_restore (see below)'


def _versions(steps):
    return ', '.join(str(step['version']) for step in steps or [])


def _usable(result):
    return bool(result) and not result.get('failed') and not result.get('skipped')


def upgrade_recovery(version_before, state, rollback=None, restore_on_failure=False, backup_file=None):
    """How the database of a failed upgrade is brought back to version_before.

    state: the tmi.postgresql.migration_version result read after the failure
    (with since=version_before). rollback: the result of the rollback
    migrations, None before they ran. Returns a dict:
      run_rollback: run the rollback migrations now (only when rollback is None);
      method: the "Brought back by" text;
      restore: dr_restore.yml must restore backup_file (restore_on_failure asked for it);
      rollback_error: why the rollback migrations were not used ('' when they were, or were not needed).
    """
    result = dict(run_rollback=False, method=None, restore=False, rollback_error='')
    if not _usable(state) or 'version' not in state:
        result['rollback_error'] = 'the version could not be read%s' % (
            ': %s' % state['msg'] if state and state.get('msg') else '')
    elif state.get('dirty'):
        result['rollback_error'] = ('the database is dirty at version %d: a migration outside a transaction '
                                    'failed part-way' % state['version'])
    elif state['version'] == version_before:
        result['method'] = OWN_TRANSACTION
        return result
    elif state.get('without_down'):
        result['rollback_error'] = 'no down migration for version(s) %s' % ', '.join(
            str(v) for v in state['without_down'])
    elif rollback is None or rollback.get('skipped'):
        result['run_rollback'] = True
        return result
    elif _usable(rollback):
        result['method'] = 'rollback migrations (%s)' % _versions(rollback.get('applied'))
        return result
    else:
        result['rollback_error'] = rollback.get('msg') or 'the rollback migrations failed'
    result['restore'] = bool(restore_on_failure)
    if restore_on_failure:
        result['method'] = 'backup: dr_restore of %s (runs next, with swap)' % (backup_file or '?')
    else:
        result['method'] = NO_RESTORE
    return result


def upgrade_summary(report):
    """The lines of the upgrade summary.

    report keys: host, started, target, database, backup_file, backup_size (text), ok (bool),
    migrate and validation (the results, when ok), failed_task, error, version_before,
    version_now (None when unknown), recovery (upgrade_recovery's result), duration (seconds).
    """
    ok = report['ok']
    backup_file = report.get('backup_file') or '?'
    lines = [
        'TMI upgrade on %s, started %s: %s' % (report['host'], report['started'], 'OK' if ok else 'FAILED'),
        '- Ran: upgrade.yml (backup, migrate target=%s, schema_validate)' % report['target'],
        '- Database: %s' % report['database'],
        '- Backup: %s (%s, verified)' % (backup_file, report.get('backup_size') or '0 Bytes'),
    ]
    if ok:
        migrate, summary = report['migrate'], report['validation']['summary']
        lines += [
            '- Version: %s -> %s' % (migrate['version_before'], migrate['version_after']),
            '- Up steps: %s' % (_versions(migrate.get('applied')) or 'none'),
            '- Validation: %s errors, %s warnings' % (summary['errors'], summary['warnings']),
        ]
    else:
        recovery = report['recovery']
        now = report.get('version_now')
        if recovery['method'].startswith('NONE'):
            restore = ('- Restore: ansible-playbook tmi.postgresql.dr_restore -e dr_restore_file=%s '
                       '-e dr_restore_swap=true' % backup_file)
        elif recovery['restore']:
            restore = '- Restore: dr_restore.yml runs next'
        else:
            restore = '- Restore: not needed'
        lines += [
            '- Failed at: %s: %s' % (report.get('failed_task') or '?', report.get('error') or '?'),
            '- Version before the upgrade: %s; now: %s' % (report['version_before'], 'unknown' if now is None else now),
            '- Brought back by: %s' % recovery['method'],
            '- Rollback migrations not used: %s' % recovery['rollback_error'] if recovery['rollback_error']
            else '- Backup not needed',
            restore,
        ]
    lines.append('- Duration: total %.1f s' % float(report['duration']))
    return lines


def rollback_summary(report):
    """The lines of the rollback summary.

    report keys: host, started, target, database, migrate and validation (the results),
    migrate_duration and duration (seconds).
    """
    migrate, validation = report['migrate'], report.get('validation') or {}
    migration, summary = validation.get('migration') or {}, validation.get('summary') or {}
    return [
        'TMI rollback on %s, started %s: OK' % (report['host'], report['started']),
        '- Ran: rollback.yml (migrate target=%s allow_down, then schema_validate)' % report['target'],
        '- Database: %s' % report['database'],
        '- Version: %s -> %s' % (migrate['version_before'], migrate['version_after']),
        '- Down steps: %s' % (_versions(migrate.get('applied')) or 'none'),
        '- Validation at version %s (definition describes %s): %s errors, %s warnings' % (
            migration.get('version', '?'), migration.get('expected_version', '?'),
            summary.get('errors', '?'), summary.get('warnings', '?')),
        '- Duration: migrate %.1f s, total %.1f s' % (float(report['migrate_duration']), float(report['duration'])),
    ]

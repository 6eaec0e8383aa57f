"""playbooks/rollback.yml and playbooks/upgrade.yml through ansible-playbook against a real PostgreSQL."""

import os
import shutil
import uuid

import pytest
import yaml

from backup_helpers import (
    AS_ROOT,
    REPO,
    SCRIPT,
    SYSTEM_PYTHON,
    backups,
    databases_like,
    failed_task,
    load_tmi,
    make_backup_dir,
    row_counts,
    run_playbook,
    run_script,
    task_result,
)
from migration_files import NEWEST, joined, versions_above

ROLLBACK = os.path.join(REPO, 'playbooks', 'rollback.yml')
UPGRADE = os.path.join(REPO, 'playbooks', 'upgrade.yml')
MIGRATIONS_DIR = os.path.join(REPO, 'files', 'migrations')
# Synthetic migrations far above any real one, so that a real 000009 never collides.
BROKEN, ADD_COLUMN = 900002, 900001


@pytest.fixture
def owner(pg_server):
    name = 'tmi_owner_' + uuid.uuid4().hex[:8]
    pg_server.query('postgres', 'CREATE ROLE "%s" NOLOGIN' % name)
    yield name
    pg_server.query('postgres', 'DROP ROLE "%s"' % name)


@pytest.fixture
def live(pg_server, owner):
    """TMI's database at the newest version, owned by the owner role, with a little data."""
    name = 'tmi_' + uuid.uuid4().hex[:8]
    pg_server.query('postgres', 'CREATE DATABASE "%s" OWNER "%s"' % (name, owner))
    load_tmi(pg_server, name, owner=owner)
    yield name
    for db in databases_like(pg_server, name):
        pg_server.drop_database(db)


def version(pg_server, db):
    return pg_server.query(db, 'SELECT version, dirty FROM schema_migrations')


def tables(pg_server, db):
    return sorted(r[0] for r in pg_server.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))


def connection_vars(pg_server, live, owner, prefix):
    return {prefix + 'database': live, prefix + 'owner': owner, prefix + 'port': pg_server.port,
            prefix + 'socket_dir': pg_server.socketdir, prefix + 'login_user': 'postgres',
            prefix + 'become_user': ''}


def inventory(workdir, host_vars):
    """An inventory of localhost (as -i): with host_vars/localhost.yml holding host_vars when given."""
    if not host_vars:
        return 'localhost,'
    folder = os.path.join(workdir, 'inventory-%s' % uuid.uuid4().hex[:6])
    os.makedirs(os.path.join(folder, 'host_vars'))
    with open(os.path.join(folder, 'hosts.yml'), 'w') as f:
        yaml.safe_dump({'all': {'hosts': {'localhost': {}}}}, f)
    with open(os.path.join(folder, 'host_vars', 'localhost.yml'), 'w') as f:
        yaml.safe_dump(host_vars, f)
    return folder


def rollback(pg_server, live, owner, workdir, host_vars=None, **extra):
    extra_vars = connection_vars(pg_server, live, owner, 'rollback_')
    extra_vars.update(extra)
    return run_playbook(ROLLBACK, workdir, extra_vars, inventory=inventory(workdir, host_vars))


def upgrade(pg_server, live, owner, backup_dir, workdir, host_vars=None, **extra):
    extra_vars = connection_vars(pg_server, live, owner, 'upgrade_')
    # The backup step: the backup role's script from the checkout, run as postgres as cron does.
    extra_vars.update(tmi_backup_script=SCRIPT, tmi_backup_config='', tmi_backup_become_user='postgres' if AS_ROOT else '',
                      ansible_become_method='su', ansible_python_interpreter=SYSTEM_PYTHON, tmi_backup_database=live,
                      tmi_backup_dir=backup_dir, tmi_backup_host=pg_server.socketdir, tmi_backup_port=pg_server.port,
                      tmi_backup_bindir=pg_server.bindir)
    extra_vars.update(extra)
    return run_playbook(UPGRADE, workdir, extra_vars, inventory=inventory(workdir, host_vars))


def summary_of(report, name='Print the summary.'):
    return task_result(report, name)['msg']


def upgrade_summary(report):
    return summary_of(report, 'Print the upgrade summary.')


def last_failure(report):
    """The task that failed the play (failed_task returns the first, here the one the rescue handled)."""
    failures = [(task['task']['name'].split(' : ')[-1], task['hosts']['localhost']) for play in report['plays'] for task in play['tasks']
                if task['hosts'].get('localhost', {}).get('failed')]
    return failures[-1] if failures else (None, None)


def test_rollback_without_confirmation_is_refused_and_changes_nothing(pg_server, live, owner, tmp_path):
    before = (version(pg_server, live), tables(pg_server, live), row_counts(pg_server, live))
    rc, report = rollback(pg_server, live, owner, str(tmp_path), rollback_target_version=5)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Refuse without rollback_confirm=true.'
    assert 'rollback_confirm=true' in result['msg']
    assert (version(pg_server, live), tables(pg_server, live), row_counts(pg_server, live)) == before


def test_rollback_without_a_target_is_refused(pg_server, live, owner, tmp_path):
    rc, report = rollback(pg_server, live, owner, str(tmp_path), rollback_confirm=True)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Check that rollback_target_version is a version number.'
    assert 'rollback_target_version' in result['msg']
    assert version(pg_server, live) == [(NEWEST, False)]


def test_rollback_to_5_reports_newest_to_5(pg_server, live, owner, tmp_path):
    rc, report = rollback(pg_server, live, owner, str(tmp_path), rollback_target_version=5, rollback_confirm=True)
    assert rc == 0, failed_task(report)
    assert version(pg_server, live) == [(5, False)]
    summary = summary_of(report)
    assert summary[0].endswith(': OK')
    assert '- Version: %d -> 5' % NEWEST in summary
    assert '- Down steps: %s' % joined(reversed(versions_above(5))) in summary
    assert any(line.startswith('- Validation at version 5 (definition describes %d): ' % NEWEST) for line in summary)


def test_upgrade_from_5_to_latest_takes_a_backup_and_validates(pg_server, live, owner, backup_dir, tmp_path):
    work = str(tmp_path)
    rc, report = rollback(pg_server, live, owner, work, rollback_target_version=5, rollback_confirm=True)
    assert rc == 0, failed_task(report)
    rc, report = upgrade(pg_server, live, owner, backup_dir, work)
    assert rc == 0, failed_task(report)
    assert version(pg_server, live) == [(NEWEST, False)]
    made = backups(backup_dir)
    assert len(made) == 1
    summary = upgrade_summary(report)
    assert summary[0].endswith(': OK')
    assert '- Version: 5 -> %d' % NEWEST in summary
    assert '- Up steps: %s' % joined(versions_above(5)) in summary
    assert '- Validation: 0 errors, 0 warnings' in summary
    assert any(line.startswith('- Backup: %s ' % os.path.join(backup_dir, made[0])) for line in summary)


def test_rollback_settings_in_the_inventory_are_used(pg_server, live, owner, tmp_path):
    # Issue 10: on a play var the inventory value was silently ignored.
    rc, report = rollback(pg_server, live, owner, str(tmp_path),
                          host_vars=dict(rollback_target_version=5, rollback_confirm=True))
    assert rc == 0, failed_task(report)
    assert version(pg_server, live) == [(5, False)]
    assert '- Version: %d -> 5' % NEWEST in summary_of(report)


def test_upgrade_settings_in_the_inventory_are_used(pg_server, live, owner, backup_dir, tmp_path):
    work = str(tmp_path)
    rc, report = rollback(pg_server, live, owner, work, rollback_target_version=5, rollback_confirm=True)
    assert rc == 0, failed_task(report)
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, host_vars=dict(upgrade_target_version=6))
    assert rc == 0, failed_task(report)
    assert version(pg_server, live) == [(6, False)]
    assert '- Version: 5 -> 6' in upgrade_summary(report)


def broken_migrations(folder):
    """TMI's migrations plus a BROKEN migration that fails half-way through its transaction."""
    shutil.copytree(MIGRATIONS_DIR, folder)
    with open(os.path.join(folder, '%06d_broken.up.sql' % BROKEN), 'w') as f:
        f.write('ALTER TABLE users ADD COLUMN nickname text;\nSELECT 1 / 0;\n')
    with open(os.path.join(folder, '%06d_broken.down.sql' % BROKEN), 'w') as f:
        f.write('ALTER TABLE users DROP COLUMN nickname;\n')
    return folder


def unrollable_migrations(folder):
    """TMI's migrations plus an ADD_COLUMN migration without a down file, then the BROKEN one."""
    broken_migrations(folder)
    with open(os.path.join(folder, '%06d_add_column.up.sql' % ADD_COLUMN), 'w') as f:
        f.write('ALTER TABLE threats ADD COLUMN note text;\n')
    return folder


def test_a_failed_upgrade_rolls_back_to_the_version_before(pg_server, live, owner, backup_dir, tmp_path):
    work = str(tmp_path)
    rc, report = rollback(pg_server, live, owner, work, rollback_target_version=5, rollback_confirm=True)
    assert rc == 0, failed_task(report)
    counts = row_counts(pg_server, live)
    schema = pg_server.schema_dump(live, exclude_tables=('schema_migrations_history',))
    path = broken_migrations(os.path.join(work, 'migrations'))
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, upgrade_migrations_path=path)
    assert rc != 0
    name, result = last_failure(report)
    assert name == 'Fail when the upgrade failed.'
    assert 'rollback migrations' in result['msg']
    assert version(pg_server, live) == [(5, False)]
    assert pg_server.schema_dump(live, exclude_tables=('schema_migrations_history',)) == schema
    assert row_counts(pg_server, live) == counts
    assert len(backups(backup_dir)) == 1
    summary = upgrade_summary(report)
    assert summary[0].endswith(': FAILED')
    assert any(line.startswith('- Failed at: Run the up migrations as the owner role.: ') for line in summary)
    assert '- Version before the upgrade: 5; now: 5' in summary
    assert '- Brought back by: rollback migrations (%s)' % joined(reversed(versions_above(5))) in summary
    assert '- Restore: not needed' in summary


def test_a_failed_step_alone_needs_no_rollback(pg_server, live, owner, backup_dir, tmp_path):
    work = str(tmp_path)
    path = broken_migrations(os.path.join(work, 'migrations'))
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, upgrade_migrations_path=path)
    assert rc != 0
    assert version(pg_server, live) == [(NEWEST, False)]  # BROKEN rolled its own transaction back
    summary = upgrade_summary(report)
    assert '- Version before the upgrade: %d; now: %d' % (NEWEST, NEWEST) in summary
    assert '- Brought back by: nothing: the failing step rolled back its own transaction' in summary
    assert '- Restore: not needed' in summary


def test_a_failed_upgrade_without_down_files_points_to_the_backup(pg_server, live, owner, backup_dir, tmp_path):
    work = str(tmp_path)
    path = unrollable_migrations(os.path.join(work, 'migrations'))
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, upgrade_migrations_path=path)
    assert rc != 0
    assert version(pg_server, live) == [(ADD_COLUMN, False)]  # left as it is: only the backup can bring it back
    made = backups(backup_dir)
    assert len(made) == 1
    summary = upgrade_summary(report)
    assert '- Version before the upgrade: %d; now: %d' % (NEWEST, ADD_COLUMN) in summary
    assert '- Brought back by: NONE: restore the backup with dr_restore (see below)' in summary
    assert '- Rollback migrations not used: no down migration for version(s) %d' % ADD_COLUMN in summary
    assert ('- Restore: ansible-playbook tmi.postgresql.dr_restore -e dr_restore_file=%s -e dr_restore_swap=true'
            % os.path.join(backup_dir, made[0])) in summary


@pytest.fixture
def app_role(pg_server):
    name = 'tmi_app_' + uuid.uuid4().hex[:8]
    pg_server.query('postgres', 'CREATE ROLE "%s" LOGIN' % name)
    yield name
    pg_server.query('postgres', 'DROP ROLE "%s"' % name)


def restore_vars(pg_server, live, owner, app_role, backup_dir):
    """Where dr_restore.yml finds the cluster, the roles and the backups."""
    return dict(dr_restore_database=live, dr_restore_owner=owner, dr_restore_app_user=app_role,
                dr_restore_backup_dir=backup_dir, dr_restore_port=pg_server.port,
                dr_restore_socket_dir=pg_server.socketdir, dr_restore_bindir=pg_server.bindir,
                dr_restore_login_user='postgres', dr_restore_become_user='')


def test_a_failed_upgrade_that_cannot_roll_back_restores_the_backup_when_asked(pg_server, live, owner, app_role,
                                                                               backup_dir, tmp_path):
    # dr_restore swaps in only a restore that validates, so the database starts at the definition's version;
    # ADD_COLUMN applies but has no down file, BROKEN fails.
    work = str(tmp_path)
    counts = row_counts(pg_server, live)
    path = unrollable_migrations(os.path.join(work, 'migrations'))
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, upgrade_migrations_path=path,
                         upgrade_restore_on_failure=True, **restore_vars(pg_server, live, owner, app_role, backup_dir))
    assert rc != 0
    name, result = last_failure(report)
    assert name == 'Fail when the upgrade failed.'
    made = backups(backup_dir)
    assert len(made) == 1
    backup = os.path.join(backup_dir, made[0])
    summary = upgrade_summary(report)
    assert '- Version before the upgrade: %d; now: %d' % (NEWEST, ADD_COLUMN) in summary
    assert '- Rollback migrations not used: no down migration for version(s) %d' % ADD_COLUMN in summary
    assert '- Brought back by: backup: dr_restore of %s (runs next, with swap)' % backup in summary
    # The restored backup is the live database again, at the version it had; the failed one is kept aside.
    assert version(pg_server, live) == [(NEWEST, False)]
    assert row_counts(pg_server, live) == counts
    kept = [db for db in databases_like(pg_server, live) if db.startswith(live + '_old_')]
    assert len(kept) == 1 and version(pg_server, kept[0]) == [(ADD_COLUMN, False)]
    assert task_result(report, 'Report the restore.')['msg'].startswith('Brought back by: backup %s restored' % backup)


@pytest.mark.parametrize('where', ['host_vars', 'extra_vars'])
def test_a_failed_upgrade_restores_its_own_backup_whatever_dr_restore_file_says(where, pg_server, live, owner, app_role,
                                                                                backup_dir, tmp_path):
    # Issue 10: the upgrade hands its backup to dr_restore.yml as the fact dr_restore_request, which wins over
    # an operator's dr_restore_file and dr_restore_swap. The play var it used before lost to -e.
    work = str(tmp_path)
    older = make_backup_dir(os.path.dirname(backup_dir), 'older')
    rc, decoy, err = run_script(pg_server, live, older)
    assert rc == 0, err
    pg_server.query(live, 'DELETE FROM refresh_tokens')  # the decoy has rows the upgrade's backup has not
    counts = row_counts(pg_server, live)
    assert counts['refresh_tokens'] == 0
    operator = dict(dr_restore_file=decoy['file'], dr_restore_swap=False)
    path = unrollable_migrations(os.path.join(work, 'migrations'))
    rc, report = upgrade(pg_server, live, owner, backup_dir, work, host_vars=operator if where == 'host_vars' else None,
                         upgrade_migrations_path=path, upgrade_restore_on_failure=True,
                         **dict(restore_vars(pg_server, live, owner, app_role, backup_dir),
                                **(operator if where == 'extra_vars' else {})))
    assert rc != 0
    assert last_failure(report)[0] == 'Fail when the upgrade failed.'
    made = backups(backup_dir)
    assert len(made) == 1
    backup = os.path.join(backup_dir, made[0])
    result = task_result(report, 'Keep the result as dr_restore_result.')['ansible_facts']['dr_restore_result']
    assert result['file'] == backup
    assert result['swap_requested'] and result['swapped']
    assert result['requested_by'] == 'upgrade'
    dr_restore_summary = [task['hosts']['localhost']['msg'] for play in report['plays'] for task in play['tasks']
                          if task['task']['name'].endswith('dr_restore : Print the summary.')]
    assert ('- Asked for by: upgrade (dr_restore_request: its file and swap, not dr_restore_file and dr_restore_swap)'
            in dr_restore_summary[0])
    assert version(pg_server, live) == [(NEWEST, False)]
    assert row_counts(pg_server, live) == counts

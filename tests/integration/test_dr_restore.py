"""playbooks/dr_restore.yml through ansible-playbook against a real PostgreSQL."""

import json
import os
import shutil
import stat
import uuid

import pytest
import yaml

from backup_helpers import (
    AS_ROOT,
    REPO,
    TMI_TABLES,
    copy_as,
    databases_like,
    failed_task,
    load_tmi,
    local_cluster,
    row_counts,
    run_playbook,
    run_script,
    series_name,
    task_result,
)
from migration_files import NEWEST
from rebuild_helpers import rebuild_handover_playbook

PLAYBOOK = os.path.join(REPO, 'playbooks', 'dr_restore.yml')
DEFINITION = os.path.join(REPO, 'files', 'schema', 'tmi.yml')


@pytest.fixture
def roles(pg_server):
    """A NOLOGIN owner and a login application role of this test only, as the provisioning roles make them."""
    tag = uuid.uuid4().hex[:8]
    owner, app = 'tmi_owner_' + tag, 'tmi_app_' + tag
    pg_server.query('postgres', 'CREATE ROLE "%s" NOLOGIN; CREATE ROLE "%s" LOGIN' % (owner, app))
    yield owner, app
    pg_server.query('postgres', 'DROP ROLE "%s"; DROP ROLE "%s"' % (app, owner))


@pytest.fixture
def live(pg_server, roles):
    """TMI's database owned by the owner role, schema public too (as the database role leaves it: before 15, public
    belongs to the bootstrap superuser), with tmi_app's grants and default privileges; dropped with every database
    the restores made from its name."""
    owner, app = roles
    name = 'tmi_' + uuid.uuid4().hex[:8]
    pg_server.query('postgres', 'CREATE DATABASE "%s" OWNER "%s"' % (name, owner))
    pg_server.query(name, 'REVOKE CONNECT, TEMPORARY ON DATABASE "{db}" FROM PUBLIC; '
                          'GRANT CONNECT ON DATABASE "{db}" TO "{app}"; '
                          'ALTER SCHEMA public OWNER TO "{owner}"; '
                          'REVOKE CREATE, USAGE ON SCHEMA public FROM PUBLIC; '
                          'GRANT USAGE ON SCHEMA public TO "{app}"; '
                          'ALTER DEFAULT PRIVILEGES FOR ROLE "{owner}" IN SCHEMA public '
                          'GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{app}"'
                    .format(db=name, app=app, owner=owner))
    load_tmi(pg_server, name, owner=owner)
    yield name
    for db in databases_like(pg_server, name):
        pg_server.drop_database(db)


@pytest.fixture
def backup(pg_server, live, backup_dir):
    rc, result, err = run_script(pg_server, live, backup_dir)
    assert rc == 0, err
    return result['file']


def dr_restore(pg_server, live, roles, backup_dir, workdir, playbook=PLAYBOOK, **extra):
    report_path = os.path.join(workdir, 'dr-%s.json' % uuid.uuid4().hex[:6])
    extra_vars = dict(dr_restore_database=live, dr_restore_owner=roles[0], dr_restore_app_user=roles[1],
                      dr_restore_backup_dir=backup_dir,
                      dr_restore_port=pg_server.port, dr_restore_socket_dir=pg_server.socketdir,
                      dr_restore_bindir=pg_server.bindir, dr_restore_login_user='postgres',
                      dr_restore_become_user='', dr_restore_report_path=report_path)
    extra_vars.update(extra)
    rc, report = run_playbook(playbook, workdir, extra_vars)
    result = json.load(open(report_path)) if os.path.exists(report_path) else None
    return rc, report, result


def as_app(pg_server, db, app, sql):
    conn = pg_server.connect(db, user=app)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@pytest.mark.parametrize('keep', ['all_but_the_end', 'header'])
def test_a_damaged_backup_stops_the_play_before_any_database_is_made(pg_server, live, roles, backup, backup_dir,
                                                                     tmp_path, keep):
    size = os.path.getsize(backup)
    # A newer file than the good one, cut in its data section or in its table of contents.
    damaged = copy_as(backup_dir, backup, series_name(live, '29990101_000000', local_cluster(pg_server)),
                      size=size - 40 if keep == 'all_but_the_end' else 100)
    before = databases_like(pg_server, '')
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path))
    assert rc != 0 and result is None
    name, failure = failed_task(report)
    expected = {'all_but_the_end': 'Read every byte of the backup (a truncated data section fails here).',
                'header': 'Read the table of contents of the backup.'}[keep]
    assert name == expected
    assert damaged in failure['cmd']
    assert databases_like(pg_server, '') == before


def test_restore_into_a_new_database_validates_and_row_counts_match(pg_server, live, roles, backup, backup_dir,
                                                                    tmp_path):
    counts = row_counts(pg_server, live)
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    target = result['restored_database']
    assert target.startswith(live + '_restore_')
    assert databases_like(pg_server, live) == sorted([live, target])
    assert result['file'] == backup and result['valid'] is True and result['errors'] == 0
    assert result['warnings'] == 0
    assert result['migration_version'] == NEWEST
    assert result['row_counts_match'] is True
    assert result['row_counts'] == {t: {'restored': counts[t], 'live': counts[t]} for t in TMI_TABLES}
    assert row_counts(pg_server, target) == counts
    assert result['swap_requested'] is False and result['swapped'] is False
    # Ownership as the dump recorded it: the NOLOGIN owner, not the superuser that restored.
    assert pg_server.query(target, "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'") == [
        (roles[0],)]
    summary = task_result(report, 'Print the summary.')['msg']
    assert summary[0].endswith(': OK')
    assert '- Restored into: %s' % target in summary
    assert '  - users: %d / %d' % (counts['users'], counts['users']) in summary
    assert any(line.startswith('- Swap: not requested') for line in summary)
    assert any(line.startswith('- Duration: verify ') and line.endswith(' s') for line in summary)


def test_a_named_backup_is_restored_and_differences_are_reported(pg_server, live, roles, backup, backup_dir,
                                                                 tmp_path):
    # The newest is damaged: not used.
    copy_as(backup_dir, backup, series_name(live, '29990101_000000', local_cluster(pg_server)), size=100)
    pg_server.query(live, "INSERT INTO users (email, name) VALUES ('late@example.org', 'Late')")
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_file=os.path.basename(backup),
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert result['file'] == backup
    assert result['row_counts_match'] is False
    users = result['row_counts']['users']
    assert users['live'] == users['restored'] + 1
    summary = task_result(report, 'Print the summary.')['msg']
    assert '  - users: %d / %d (-1)' % (users['restored'], users['live']) in summary


def test_swap_renames_keeps_the_old_database_and_the_app_still_works(pg_server, live, roles, backup, backup_dir,
                                                                     tmp_path):
    owner, app = roles
    backed_up = row_counts(pg_server, live)
    pg_server.query(live, "INSERT INTO users (email, name) VALUES ('late@example.org', 'Late')")
    live_oid = pg_server.query('postgres', 'SELECT oid FROM pg_database WHERE datname = %s', (live,))[0][0]
    app_session = pg_server.connect(live, user=app)  # TMI still connected: the swap ends its session

    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_swap=True,
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert app_session.closed or _session_is_gone(app_session)
    assert result['swapped'] is True
    old = result['old_database']
    assert old.startswith(live + '_old_')
    assert databases_like(pg_server, live) == sorted([live, old])
    # The live database was renamed, not copied or dropped; the restored one took its name.
    assert pg_server.query('postgres', 'SELECT oid FROM pg_database WHERE datname = %s', (old,))[0][0] == live_oid
    assert row_counts(pg_server, live) == backed_up
    assert row_counts(pg_server, old)['users'] == backed_up['users'] + 1

    # tmi_app reads and writes the swapped-in database, and tables the owner makes later.
    assert as_app(pg_server, live, app, 'SELECT count(*) FROM users') == [(backed_up['users'],)]
    as_app(pg_server, live, app, "INSERT INTO users (email, name) VALUES ('new@example.org', 'New'); "
                                 "UPDATE users SET name = 'Renamed' WHERE email = 'new@example.org'; "
                                 "DELETE FROM refresh_tokens WHERE user_id IN (SELECT id FROM users LIMIT 1)")
    pg_server.query(live, 'SET ROLE "%s"; CREATE TABLE audit_note (note text)' % owner)
    as_app(pg_server, live, app, "INSERT INTO audit_note VALUES ('after the swap')")
    # PUBLIC still has no CONNECT on the swapped-in database.
    acl = pg_server.query('postgres', 'SELECT datacl::text FROM pg_database WHERE datname = %s', (live,))[0][0]
    entries = acl.strip('{}').split(',')
    assert not [entry for entry in entries if entry.startswith('=')]
    assert '%s=c/%s' % (app, owner) in entries
    summary = task_result(report, 'Print the summary.')['msg']
    assert '- Swap: DONE: %s -> %s (kept), %s -> %s' % (live, old, result['restored_database'], live) in summary


def test_an_invalid_restore_is_reported_and_never_swapped_in(pg_server, live, roles, backup, backup_dir, tmp_path):
    with open(DEFINITION) as f:
        data = yaml.safe_load(f)
    data['tables']['audit_log'] = {'columns': [{'name': 'id', 'type': 'bigint', 'nullable': False}]}
    demanding = os.path.join(str(tmp_path), 'tmi-plus-audit-log.yml')
    with open(demanding, 'w') as f:
        yaml.safe_dump(data, f)
    live_oid = pg_server.query('postgres', 'SELECT oid FROM pg_database WHERE datname = %s', (live,))[0][0]

    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_swap=True,
                                    dr_restore_definition=demanding)
    assert rc != 0
    assert failed_task(report)[0] == 'Fail when the restored database did not validate.'
    assert result['valid'] is False and result['swapped'] is False and result['errors'] >= 1
    assert pg_server.query('postgres', 'SELECT oid FROM pg_database WHERE datname = %s', (live,))[0][0] == live_oid
    assert databases_like(pg_server, live) == sorted([live, result['restored_database']])
    summary = task_result(report, 'Print the summary.')['msg']
    assert summary[0].endswith(': FAILED VALIDATION')
    assert '- Swap: NOT DONE (validation failed); %s is unchanged' % live in summary


def test_a_restore_validates_against_the_shipped_definition(pg_server, live, roles, backup, backup_dir, tmp_path):
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path))
    assert result['errors'] == 0 and rc == 0


def test_a_lost_database_is_restored_under_its_name(pg_server, live, roles, backup, backup_dir, tmp_path):
    owner, app = roles
    backed_up = row_counts(pg_server, live)
    pg_server.drop_database(live)
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_swap=True,
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert result['live_database_existed'] is False and result['swapped'] is True
    assert result['old_database'] is None
    assert databases_like(pg_server, live) == [live]
    assert row_counts(pg_server, live) == backed_up
    assert all(c['live'] is None for c in result['row_counts'].values())
    acl = pg_server.query('postgres', 'SELECT datacl::text FROM pg_database WHERE datname = %s', (live,))[0][0]
    assert sorted(acl.strip('{}').split(',')) == sorted(['%s=CTc/%s' % (owner, owner), '%s=c/%s' % (app, owner)])
    assert as_app(pg_server, live, app, 'SELECT count(*) FROM threats') == [(backed_up['threats'],)]
    summary = task_result(report, 'Print the summary.')['msg']
    assert '- Row counts, restored / live (no live database %s):' % live in summary
    assert '- Swap: DONE: %s -> %s' % (result['restored_database'], live) in summary


def _session_is_gone(conn):
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT 1')
        return False
    except Exception:  # the server ended it: any driver error says so
        return True
    finally:
        conn.close()


def test_check_mode_verifies_the_file_and_touches_nothing(pg_server, live, roles, backup, backup_dir, tmp_path):
    before = databases_like(pg_server, '')
    report_path = os.path.join(str(tmp_path), 'check.json')
    rc, report = run_playbook(PLAYBOOK, str(tmp_path), dict(
        dr_restore_database=live, dr_restore_owner=roles[0], dr_restore_backup_dir=backup_dir,
        dr_restore_port=pg_server.port, dr_restore_socket_dir=pg_server.socketdir, dr_restore_bindir=pg_server.bindir,
        dr_restore_login_user='postgres', dr_restore_become_user='', dr_restore_report_path=report_path,
        dr_restore_swap=True), check=True)
    assert rc == 0, failed_task(report)
    assert task_result(report, 'Read every byte of the backup (a truncated data section fails here).')['rc'] == 0
    assert databases_like(pg_server, '') == before
    assert not os.path.exists(report_path)


@pytest.fixture
def other_db(pg_server):
    """Another database with TMI's schema and fewer rows, as backup.yml's database override backs it up."""
    db = pg_server.create_database('tmi_other')
    load_tmi(pg_server, db, users=3)
    yield db
    pg_server.drop_database(db)


def test_a_newer_backup_of_another_database_in_the_folder_is_never_restored(pg_server, live, roles, backup,
                                                                            backup_dir, other_db, tmp_path):
    counts = row_counts(pg_server, live)
    rc, other, err = run_script(pg_server, other_db, backup_dir)
    assert rc == 0, err
    assert os.path.basename(other['file']) > os.path.basename(backup)
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_swap=True,
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert result['file'] == backup and result['archive_database'] == live
    assert row_counts(pg_server, live) == counts


def legacy_name(stamp):
    return 'tmi_%s.dump' % stamp


def test_a_backup_named_before_the_database_was_in_the_name_is_still_restored(pg_server, live, roles, backup,
                                                                              backup_dir, tmp_path):
    os.rename(backup, os.path.join(backup_dir, legacy_name('20261124_020000')))
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert result['file'] == os.path.join(backup_dir, legacy_name('20261124_020000'))
    assert result['archive_database'] == live and result['row_counts_match'] is True


@pytest.mark.parametrize('how', ['newest_old_style_name', 'named'])
def test_another_databases_backup_stops_the_play_before_any_database_is_made(pg_server, live, roles, backup,
                                                                             backup_dir, other_db, tmp_path, how):
    rc, other, err = run_script(pg_server, other_db, backup_dir)
    assert rc == 0, err
    # Named as before the database was in the name: nothing but its table of contents says whose it is.
    os.rename(backup, os.path.join(backup_dir, legacy_name('20261124_020000')))
    wrong = os.path.join(backup_dir, legacy_name('20261125_020000'))
    os.rename(other['file'], wrong)
    before = databases_like(pg_server, '')
    extra = dict(dr_restore_file=os.path.basename(wrong)) if how == 'named' else {}
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_swap=True,
                                    **extra)
    assert rc != 0 and result is None
    name, failure = failed_task(report)
    assert name == 'Fail when the backup is of another database.'
    assert "%s is a backup of database '%s'" % (wrong, other_db) in failure['msg']
    assert "not of '%s'. Nothing was changed." % live in failure['msg']
    assert databases_like(pg_server, '') == before


def test_another_databases_backup_is_restored_only_when_asked_for(pg_server, live, roles, backup_dir, other_db,
                                                                  tmp_path):
    rc, other, err = run_script(pg_server, other_db, backup_dir)
    assert rc == 0, err
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_source_database=other_db, dr_restore_definition=DEFINITION)
    assert rc == 0, failed_task(report)
    assert result['file'] == other['file'] and result['archive_database'] == other_db
    assert row_counts(pg_server, result['restored_database']) == row_counts(pg_server, other_db)


def test_no_backup_of_the_database_or_cluster_is_a_clear_error(pg_server, live, roles, backup, backup_dir,
                                                               tmp_path):
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), dr_restore_cluster='15-main')
    assert rc != 0
    name, failure = failed_task(report)
    assert name == 'Fail when there is no backup.'
    assert 'No backup of database %s (cluster 15-main) in %s' % (live, backup_dir) in failure['msg']


@pytest.mark.parametrize('variable,value', [('dr_restore_port', 0), ('dr_restore_port', 70000),
                                            ('dr_restore_jobs', 0), ('dr_restore_jobs', 'many'),
                                            ('dr_restore_swap_retries', 1000)])
def test_numeric_settings_out_of_range_are_refused(pg_server, live, roles, backup_dir, tmp_path, variable, value):
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path), **{variable: value})
    assert rc != 0
    name, failure = failed_task(report)
    assert name == 'Check the ranges of the numeric settings, before anything changes.'
    assert failure['msg'].startswith('%s is %r: ' % (variable, value))
    assert 'allowed: a whole number' in failure['msg']


def test_settings_in_the_inventory_win_over_the_defaults(pg_server, live, roles, backup, backup_dir, tmp_path):
    """host_vars ask for the swap and the report: the play vars of the old playbook outranked them."""
    inventory = tmp_path / 'inventory'
    (inventory / 'host_vars').mkdir(parents=True)
    (inventory / 'hosts.yml').write_text('all:\n  hosts:\n    localhost:\n')
    report_path = str(tmp_path / 'from-host-vars.json')
    (inventory / 'host_vars' / 'localhost.yml').write_text(yaml.safe_dump(dict(
        dr_restore_report_path=report_path, dr_restore_swap=True, dr_restore_definition=DEFINITION)))
    rc, report = run_playbook(PLAYBOOK, str(tmp_path), dict(
        dr_restore_database=live, dr_restore_owner=roles[0], dr_restore_app_user=roles[1],
        dr_restore_backup_dir=backup_dir, dr_restore_port=pg_server.port, dr_restore_socket_dir=pg_server.socketdir,
        dr_restore_bindir=pg_server.bindir, dr_restore_login_user='postgres', dr_restore_become_user=''),
        inventory=str(inventory))
    assert rc == 0, failed_task(report)
    with open(report_path) as f:
        result = json.load(f)
    assert result['file'] == backup and result['swapped'] is True
    assert result['old_database'] == live.replace('tmi_', 'tmi_', 1) + '_old_' + result['restored_database'][-15:]
    assert row_counts(pg_server, live) == row_counts(pg_server, result['old_database'])


def test_a_logical_rebuild_restores_its_file_and_swaps_whatever_the_dr_restore_settings_say(
        pg_server, live, roles, backup, backup_dir, tmp_path):
    # Issue 10: dr_rebuild.yml hands its backup to dr_restore.yml as the fact dr_restore_request, which wins over
    # dr_restore_file and dr_restore_swap wherever they are set. The play vars it used before lost to -e.
    work = str(tmp_path)
    decoy = copy_as(backup_dir, backup, series_name(live, '29990101_000000', local_cluster(pg_server)))
    rc, report, result = dr_restore(
        pg_server, live, roles, backup_dir, work, playbook=rebuild_handover_playbook(work, 'dr_restore.yml'),
        dr_restore_file=os.path.basename(decoy), dr_restore_swap=False, dr_restore_definition=DEFINITION,
        dr_rebuild_source='logical', dr_rebuild_file=os.path.basename(backup), tmi_postgresql_backup_dir=backup_dir,
        tmi_postgresql_pgbackrest_repo=os.path.join(work, 'no-repository'), ansible_become_method='su')
    assert rc == 0, failed_task(report)
    assert result['file'] == backup
    assert result['swap_requested'] is True and result['swapped'] is True
    assert result['requested_by'] == 'dr_rebuild'
    assert task_result(report, 'Check and say so when another flow asked for this restore (dr_restore_request).')[
        'msg'].startswith('Restoring %s and swapping it in as dr_rebuild asked' % os.path.basename(backup))
    assert ('- Asked for by: dr_rebuild (dr_restore_request: its file and swap, not dr_restore_file and dr_restore_swap)'
            in task_result(report, 'Print the summary.')['msg'])


def test_a_logical_rebuild_finds_the_backups_by_the_shared_file_prefix(
        pg_server, live, roles, backup, backup_dir, tmp_path):
    # The backup role, dr_restore and dr_rebuild take the prefix of the backups' names from one setting,
    # tmi_postgresql_backup_file_prefix; dr_rebuild looked for tmi_*.dump and dr_restore for tmi_ whatever the
    # backup role wrote.
    work = str(tmp_path)
    renamed = os.path.join(backup_dir, 'acme' + os.path.basename(backup)[len('tmi'):])
    os.rename(backup, renamed)
    rc, report, result = dr_restore(
        pg_server, live, roles, backup_dir, work, playbook=rebuild_handover_playbook(work, 'dr_restore.yml'),
        dr_restore_definition=DEFINITION, dr_rebuild_source='logical', tmi_postgresql_backup_dir=backup_dir,
        tmi_postgresql_backup_file_prefix='acme', tmi_postgresql_pgbackrest_repo=os.path.join(work, 'no-repository'),
        ansible_become_method='su')
    assert rc == 0, failed_task(report)
    assert result['file'] == renamed and result['swapped'] is True


def test_a_malformed_restore_request_stops_the_play_before_anything_is_made(
        pg_server, live, roles, backup, backup_dir, tmp_path):
    before = databases_like(pg_server, '')
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_request={'file': os.path.basename(backup), 'swap': 'yes'})
    assert rc != 0 and result is None
    name, failure = failed_task(report)
    assert name == 'Check and say so when another flow asked for this restore (dr_restore_request).'
    assert failure['msg'].startswith('dr_restore_request, set by another flow, must be a mapping with file')
    assert failure['msg'].endswith('Nothing was changed.')
    assert databases_like(pg_server, '') == before


# A dump from the repository host (dr_restore_repo_host), localhost standing in for it.
NEEDS_ROOT = pytest.mark.skipif(not AS_ROOT, reason='the repository folder is root-only, as on the repository host')


@pytest.fixture
def repo_dir(open_dir):
    """The repository host's folder of this host's dumps: the dump user's only (root stands in for it here)."""
    path = os.path.join(open_dir, 'repository', 'db1')
    os.makedirs(path, mode=0o700)
    return path


def put_on_repository(repo_dir, source, stamp, live, pg_server, size=None):
    path = copy_as(repo_dir, source, series_name(live, stamp, local_cluster(pg_server)), size=size)
    shutil.chown(path, 'root', 'root')
    return path


def from_repository(pg_server, live, roles, backup_dir, workdir, repo_dir, **extra):
    return dr_restore(pg_server, live, roles, backup_dir, workdir, dr_restore_repo_host='localhost',
                      dr_restore_repo_dir=repo_dir, dr_restore_repo_copy_dir=os.path.join(workdir, 'copies'),
                      **extra)


@NEEDS_ROOT
def test_the_newest_dump_on_the_repository_host_is_copied_verified_and_restored(pg_server, live, roles, backup,
                                                                                backup_dir, repo_dir, tmp_path):
    put_on_repository(repo_dir, backup, '20261201_020000', live, pg_server)
    newest = put_on_repository(repo_dir, backup, '20261202_020000', live, pg_server)
    # A newer backup on this host is not the one restored: the repository host's is.
    copy_as(backup_dir, backup, series_name(live, '29990101_000000', local_cluster(pg_server)))
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir)
    assert rc == 0, failed_task(report)
    copy = os.path.join(str(tmp_path), 'copies', os.path.basename(newest))
    assert result['file'] == copy and result['valid'] is True and result['row_counts_match'] is True
    assert stat.S_IMODE(os.stat(copy).st_mode) == 0o600
    assert open(copy, 'rb').read() == open(newest, 'rb').read()
    assert row_counts(pg_server, result['restored_database']) == row_counts(pg_server, live)


@NEEDS_ROOT
def test_a_named_dump_on_the_repository_host_is_restored(pg_server, live, roles, backup, backup_dir, repo_dir,
                                                         tmp_path):
    older = put_on_repository(repo_dir, backup, '20261201_020000', live, pg_server)
    put_on_repository(repo_dir, backup, '20261202_020000', live, pg_server, size=100)
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir,
                                         dr_restore_file=os.path.basename(older))
    assert rc == 0, failed_task(report)
    assert os.path.basename(result['file']) == os.path.basename(older) and result['valid'] is True


@NEEDS_ROOT
def test_a_damaged_dump_on_the_repository_host_stops_the_play_before_any_database_is_made(
        pg_server, live, roles, backup, backup_dir, repo_dir, tmp_path):
    damaged = put_on_repository(repo_dir, backup, '20261202_020000', live, pg_server,
                                size=os.path.getsize(backup) - 40)
    before = databases_like(pg_server, '')
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir)
    assert rc != 0 and result is None
    name, failure = failed_task(report)
    assert name == 'Read every byte of the backup (a truncated data section fails here).'
    assert os.path.basename(damaged) in ' '.join(failure['cmd'])
    assert databases_like(pg_server, '') == before


@NEEDS_ROOT
def test_no_dump_on_the_repository_host_is_a_clear_error(pg_server, live, roles, backup, backup_dir, repo_dir,
                                                         tmp_path):
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir)
    assert rc != 0
    name, failure = failed_task(report)
    assert name == 'Fail when the repository host has no dump.'
    assert 'No dump of database %s in %s on the repository host localhost' % (live, repo_dir) in failure['msg']
    assert not os.path.exists(os.path.join(str(tmp_path), 'copies'))


@NEEDS_ROOT
def test_a_repository_host_missing_from_the_inventory_is_named(pg_server, live, roles, backup, backup_dir, repo_dir,
                                                               tmp_path):
    put_on_repository(repo_dir, backup, '20261202_020000', live, pg_server)
    rc, report, result = dr_restore(pg_server, live, roles, backup_dir, str(tmp_path),
                                    dr_restore_repo_host='backup9.invalid', dr_restore_repo_dir=repo_dir,
                                    dr_restore_repo_copy_dir=os.path.join(str(tmp_path), 'copies'))
    assert rc != 0
    name, failure = failed_task(report)
    assert name == 'Fail when the repository host is not in the inventory.'
    assert 'dr_restore_repo_host is backup9.invalid' in failure['msg'] and 'Nothing was changed.' in failure['msg']
    assert not os.path.exists(os.path.join(str(tmp_path), 'copies'))

"""dr_restore.yml with a dump from the repository host (dr_restore_repo_host), localhost standing in for it."""

import os
import shutil
import stat

import pytest

from backup_helpers import (
    AS_ROOT,
    copy_as,
    databases_like,
    failed_task,
    local_cluster,
    make_backup_dir,
    row_counts,
    series_name,
)
from test_dr_restore import backup, dr_restore, live, roles  # noqa: F401 (fixtures)

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the repository folder is root-only, as on the repository host')


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


def test_a_named_dump_on_the_repository_host_is_restored(pg_server, live, roles, backup, backup_dir, repo_dir,
                                                         tmp_path):
    older = put_on_repository(repo_dir, backup, '20261201_020000', live, pg_server)
    put_on_repository(repo_dir, backup, '20261202_020000', live, pg_server, size=100)
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir,
                                         dr_restore_file=os.path.basename(older))
    assert rc == 0, failed_task(report)
    assert os.path.basename(result['file']) == os.path.basename(older) and result['valid'] is True


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


def test_no_dump_on_the_repository_host_is_a_clear_error(pg_server, live, roles, backup, backup_dir, repo_dir,
                                                         tmp_path):
    rc, report, result = from_repository(pg_server, live, roles, backup_dir, str(tmp_path), repo_dir)
    assert rc != 0
    name, failure = failed_task(report)
    assert name == 'Fail when the repository host has no dump.'
    assert 'No dump of database %s in %s on the repository host localhost' % (live, repo_dir) in failure['msg']
    assert not os.path.exists(os.path.join(str(tmp_path), 'copies'))

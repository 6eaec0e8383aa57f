"""The plain WAL archiving method of roles/wal_archive: its archive_command and base backup scripts.

Against a real throwaway cluster that archives with the script: segments
arrive whole and are never overwritten, base backups are kept by count,
pg_archivecleanup removes only WAL older than the oldest kept backup, and a
backup plus the archive recover the committed rows.
"""

import os
import shutil
import subprocess
import tarfile
import tempfile

import pytest

from collection_path import REPO
from pgserver import PgServer, wait_for

FILES = os.path.join(REPO, 'roles', 'wal_archive', 'files')
PUSH = os.path.join(FILES, 'tmi-wal-archive-push')
BASE_BACKUP = os.path.join(FILES, 'tmi-wal-base-backup')


def as_postgres(argv, **kw):
    return subprocess.run(['runuser', '-u', 'postgres', '--'] + argv, check=False, capture_output=True, text=True, **kw)


@pytest.fixture
def archive_root():
    root = tempfile.mkdtemp(prefix='tmi-plain-')
    for path in (root, os.path.join(root, 'wal'), os.path.join(root, 'base')):
        os.makedirs(path, mode=0o750, exist_ok=True)
        shutil.chown(path, 'postgres', 'postgres')
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def plain_cluster(archive_root):
    server = PgServer(settings={
        'archive_mode': 'on',
        'wal_level': 'replica',
        'archive_command': "'%s %%p %%f %s'" % (PUSH, os.path.join(archive_root, 'wal')),
    }).start()
    yield server
    server.stop()


def write_file(path, data):
    with open(path, 'wb') as f:
        f.write(data)
    shutil.chown(path, 'postgres', 'postgres')


def test_push_copies_accepts_a_retry_and_never_overwrites(archive_root):
    wal_dir = os.path.join(archive_root, 'wal')
    source = os.path.join(archive_root, 'segment')
    write_file(source, b'one' * 1000)
    assert as_postgres([PUSH, source, '000000010000000000000001', wal_dir]).returncode == 0
    assert open(os.path.join(wal_dir, '000000010000000000000001'), 'rb').read() == b'one' * 1000
    # The same content again (a retry after a crash): success.
    assert as_postgres([PUSH, source, '000000010000000000000001', wal_dir]).returncode == 0
    # Different content under the same name: failure, the archived copy stays.
    write_file(source, b'two' * 1000)
    proc = as_postgres([PUSH, source, '000000010000000000000001', wal_dir])
    assert proc.returncode == 1 and 'not overwriting' in proc.stderr
    assert open(os.path.join(wal_dir, '000000010000000000000001'), 'rb').read() == b'one' * 1000
    assert sorted(os.listdir(wal_dir)) == ['000000010000000000000001'], 'a temporary file was left behind'


def base_backup(server, archive_root, keep):
    proc = as_postgres([BASE_BACKUP, os.path.join(archive_root, 'base'), os.path.join(archive_root, 'wal'), str(keep),
                        '--host=' + server.socketdir, '--port=%d' % server.port, '--username=postgres'],
                       env=dict(os.environ, TMI_PG_BINDIR=server.bindir))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def archived_segments(archive_root):
    return sorted(n for n in os.listdir(os.path.join(archive_root, 'wal')) if len(n) == 24)


def switch_and_wait(server, archive_root):
    wal = server.query('postgres', 'SELECT pg_walfile_name(pg_switch_wal())')[0][0]
    wait_for(lambda: wal in archived_segments(archive_root), timeout=60)
    return wal


def test_base_backups_are_kept_by_count_with_the_wal_they_need(plain_cluster, archive_root):
    server = plain_cluster
    server.query('postgres', 'CREATE TABLE probe (id int)')
    base_backup(server, archive_root, keep=2)
    server.query('postgres', 'INSERT INTO probe VALUES (1)')
    switch_and_wait(server, archive_root)
    base_backup(server, archive_root, keep=2)
    server.query('postgres', 'INSERT INTO probe VALUES (2)')
    switch_and_wait(server, archive_root)
    before_third = archived_segments(archive_root)
    out = base_backup(server, archive_root, keep=2)

    backups = sorted(os.listdir(os.path.join(archive_root, 'base')))
    backups = [b for b in backups if b.endswith('Z')]
    assert len(backups) == 2 and 'kept 2' in out
    oldest_start = open(os.path.join(archive_root, 'base', backups[0], 'start_wal')).read().strip()
    remaining = archived_segments(archive_root)
    assert remaining and min(remaining) == oldest_start
    assert [s for s in before_third if s >= oldest_start] == [s for s in remaining if s in before_third]

    # The newest backup and the archive bring back every row committed and archived.
    server.query('postgres', 'INSERT INTO probe VALUES (3)')
    switch_and_wait(server, archive_root)
    server.query('postgres', 'CHECKPOINT')
    recovered = recover_from(server, archive_root, backups[-1])
    try:
        assert [r[0] for r in recovered.query('postgres', 'SELECT id FROM probe ORDER BY id')] == [1, 2, 3]
    finally:
        recovered.stop()


def recover_from(server, archive_root, backup):
    """A second cluster from a base backup, replaying the archive to its end."""
    recovered = PgServer()
    os.makedirs(recovered.datadir, mode=0o700)
    with tarfile.open(os.path.join(archive_root, 'base', backup, 'base.tar.gz')) as tar:
        tar.extractall(recovered.datadir)
    os.makedirs(os.path.join(recovered.datadir, 'pg_wal'), exist_ok=True)
    os.makedirs(recovered.socketdir)
    settings = {
        'port': str(recovered.port),
        'unix_socket_directories': "'%s'" % recovered.socketdir,
        'archive_mode': 'off',
        'restore_command': "'cp %s/%%f %%p'" % os.path.join(archive_root, 'wal'),
    }
    with open(os.path.join(recovered.datadir, 'postgresql.auto.conf'), 'a') as f:
        f.writelines('%s = %s\n' % item for item in settings.items())
    open(os.path.join(recovered.datadir, 'recovery.signal'), 'w').close()
    subprocess.run(['chown', '-R', 'postgres:postgres', recovered.basedir], check=True)
    recovered._run([os.path.join(recovered.bindir, 'pg_ctl'), '-D', recovered.datadir, '-w', '-t', '60',
                    '-l', os.path.join(recovered.basedir, 'server.log'), 'start'])
    wait_for(lambda: recovered.query('postgres', 'SELECT NOT pg_is_in_recovery()')[0][0], timeout=60)
    return recovered

"""Archiving to a repository host that goes down, for real: a throwaway cluster
archives with the wal_archive role's pgbackrest.conf to a `pgbackrest server`
with the pgbackrest_repo role's configuration, both on this host on free ports;
playbooks/check_db.yml reports (JSON, Markdown, exit status) while the
repository host's TLS server is stopped and after it is back.
"""

import os

import pytest

from pgserver import wait_for
from pitr_helpers import TARGET_PYTHON
from repo_server_helpers import HOST, RemoteLayout, needs_tls_server
from schema_helpers import migrate_with_sql_files
from test_check_db import archive_failure, check_db, printed_report

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason='the servers run as postgres, started by root'),
              needs_tls_server()]

# A refused connection costs pgBackRest io-timeout (60 s by default) twice
# before archive-push gives up; an operator can lower it the same way.
FAST_FAILURE = {'io-timeout': 3}
# What the report names.
REPOSITORY = 'repository host %s port %d'


def report_of(layout, workdir, db):
    """check_db as an operator of this layout runs it: (exit status, plays, JSON report, Markdown)."""
    os.makedirs(workdir)
    # As postgres, the default: pgBackRest lets root use only a key of root's, mode 0600.
    return check_db(layout.server, db, workdir, python=TARGET_PYTHON, tmi_check_db_become_user='postgres',
                    ansible_become_method='su', wal_archive_repo_host=HOST, wal_archive_repo_host_port=layout.repo_port,
                    tmi_check_db_pgbackrest_log_path=layout.db_log, tmi_check_db_pgbackrest_config=layout.db_config,
                    tmi_check_db_pgbackrest_stanza='tmi')


def ready_segments(layout):
    return layout.server.query('postgres', "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")[0][0]


@pytest.fixture
def layout_of(request):
    layouts = []

    def start(**options):
        layout = RemoteLayout(global_options=FAST_FAILURE, **options)
        layouts.append(layout)
        layout.start()
        db = layout.server.create_database()
        migrate_with_sql_files(layout.server, db)
        return layout, db
    yield start
    for layout in layouts:
        layout.stop()


@pytest.mark.parametrize('archive_async', [False, True], ids=['sync', 'async'])
def test_a_repository_host_that_is_down_fails_loudly_and_recovers(layout_of, tmp_path, archive_async):
    layout, db = layout_of(archive_async=archive_async)
    layout.write_wal(1)
    wait_for(lambda: layout.archiver()[0] >= 1, timeout=120)
    repository = REPOSITORY % (HOST, layout.repo_port)

    layout.repo_server.stop()
    layout.write_wal(3)
    wait_for(lambda: layout.archiver()[2], timeout=120)
    rc, plays, report, markdown = report_of(layout, str(tmp_path / 'down'), db)
    archiving = report['archiving']
    assert rc != 0, printed_report(plays)
    assert archive_failure(plays)['failed'] is True and report['valid'] is True
    assert archiving['failing'] is True and archiving['repository'] == repository
    assert archiving['message'].startswith('WAL archiving to %s fails (archive_mode on):' % repository)
    # The segments the repository host did not take wait in pg_wal, and the report counts them.
    assert archiving['waiting']['ready_segments'] >= 1
    assert archiving['waiting']['ready_bytes'] == archiving['waiting']['ready_segments'] * 16 * 1024 * 1024
    assert archiving['dropped'] is None and report['archiving_gap'] is False
    lines = markdown.splitlines()
    assert '- Status: **FAILING**: the last attempt to push to %s failed after the last success; read the server log' \
        % repository in lines
    assert any(line.startswith('- Waiting in pg_wal: %d segments (' % archiving['waiting']['ready_segments']) for line in lines)

    layout.repo_server.start()
    # A new segment wakes the archiver, which retries the waiting ones first.
    layout.write_wal(1)
    wait_for(lambda: not layout.archiver()[2] and ready_segments(layout) == 0, timeout=180, interval=0.5)
    rc, plays, report, markdown = report_of(layout, str(tmp_path / 'back'), db)
    assert rc == 0, printed_report(plays)
    assert report['archiving']['failing'] is False and report['archiving']['waiting']['ready_segments'] == 0
    assert '- Status: ok' in markdown.splitlines()
    # pgbackrest check passes from both sides again (the database host's side archives a segment end to end).
    layout.db_pgbackrest('check')
    layout.repo_pgbackrest('check')


def test_a_full_queue_drops_wal_and_the_report_shows_the_gap_until_a_backup(layout_of, tmp_path):
    # The remote layout's defaults: asynchronous, with a queue limit (here two segments).
    layout, db = layout_of(archive_async=True, queue_max='32MB')
    layout.write_wal(1)
    wait_for(lambda: layout.archiver()[0] >= 1, timeout=120)

    layout.repo_server.stop()
    layout.write_wal(5)
    # pgBackRest drops the queue and reports success: nothing waits, nothing fails. The archiver retries a
    # failed segment only after its 60 s back-off, and the async process needs a few failed pushes to fill the
    # queue: two or three back-offs on a quiet machine, more beside Molecule (make test's other lane).
    wait_for(lambda: ready_segments(layout) == 0 and not layout.archiver()[2], timeout=360, interval=0.5)
    rc, plays, report, markdown = report_of(layout, str(tmp_path / 'dropped'), db)
    archiving = report['archiving']
    assert rc != 0, printed_report(plays)
    assert archive_failure(plays)['failed'] is True
    assert archiving['failing'] is False and report['archiving_gap'] is True
    assert archiving['dropped']['count'] >= 1 and archiving['dropped']['wal']
    # The repository host is down: whether a backup covers the drop is unknown, so it counts as a gap.
    assert archiving['dropped']['open'] is None
    assert 'pgBackRest DROPPED WAL (archive-push-queue-max)' in archiving['message']
    assert any(line.startswith('- Dropped WAL: **GAP**: pgBackRest DROPPED WAL') for line in markdown.splitlines())

    layout.repo_server.start()
    layout.repo_pgbackrest('--type=full', 'backup')
    rc, plays, report, markdown = report_of(layout, str(tmp_path / 'backed-up'), db)
    assert rc == 0, printed_report(plays)
    assert report['archiving_gap'] is False and report['archiving']['dropped']['open'] is False
    assert any(line.startswith('- Dropped WAL: pgBackRest dropped WAL') and 'a backup taken since closes that gap' in line
               for line in markdown.splitlines())


def test_the_configuration_files_at_other_paths_are_the_ones_each_side_reads(layout_of):
    # Neither side's pgbackrest.conf is at pgBackRest's default path here, and the passphrase is only in the
    # repository host's: the remote process each side's TLS server starts must read the file the other side
    # names (repo1-host-config, pg1-host-config), not /etc/pgbackrest/pgbackrest.conf.
    layout, _db = layout_of(cipher_pass='tmi-test-passphrase-not-secret')
    layout.write_wal(2)
    wait_for(lambda: layout.archiver()[0] >= 2, timeout=120)
    assert layout.archiver()[1] == 0
    layout.repo_pgbackrest('--type=full', 'backup')
    info = layout.repo_pgbackrest('--output=json', 'info').stdout
    assert '"cipher":"aes-256-cbc"' in info
    assert [backup['type'] for backup in layout.backups()] == ['full']
    layout.db_pgbackrest('check')

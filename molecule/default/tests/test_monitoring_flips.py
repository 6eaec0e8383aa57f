# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each failure the alert rules watch flips its metric where Prometheus reads it (issue 13, item 4).

A dirty schema and a stale logical backup through the node exporter's
textfile collector (tmi_metrics writes the file), an archiver that fails
through the postgres exporter; each test then puts the host back and sees
the metric back. Runs after test_monitoring.py (file order), which expects an
archiver that never failed.
"""

import shlex
import time

import pytest
from test_monitoring import EXPORTER_FILE, NODE_FILE, listen_of, scrape, values
from test_tmi_metrics import config, logical_backup, run_once  # noqa: F401  pylint: disable=unused-import

ARCHIVE_DIR = '/var/lib/pgbackrest/archive/tmi'


def metric(host, exporter_file, name):
    """The value of one sample of name, scraped from the exporter of exporter_file, as a float."""
    found = values(scrape(listen_of(host, exporter_file)), name)
    assert len(found) == 1, '%s: %s' % (name, found)
    return float(found[0])


def until(seconds, check, what):
    deadline = time.monotonic() + seconds
    while True:
        result = check()
        if result:
            return result
        assert time.monotonic() < deadline, '%s did not happen within %d s' % (what, seconds)
        time.sleep(2)


def test_a_dirty_schema_flips_the_dirty_metric_and_back(host, config, superuser_sql):  # noqa: F811
    superuser_sql('UPDATE schema_migrations SET dirty = true')
    try:
        run_once(host, config)
        assert metric(host, NODE_FILE, 'tmi_schema_migration_dirty') == 1
    finally:
        superuser_sql('UPDATE schema_migrations SET dirty = false')
    run_once(host, config)
    assert metric(host, NODE_FILE, 'tmi_schema_migration_dirty') == 0


def test_a_stale_backup_shows_older_than_its_schedule_allows_and_back(host, config, logical_backup):  # noqa: F811
    allowed = config['max_age_seconds']['logical']
    original = int(host.file(logical_backup).mtime.timestamp())
    stale = int(time.time()) - allowed - 3600
    host.run_expect([0], 'touch -d @%d %s' % (stale, shlex.quote(logical_backup)))
    try:
        run_once(host, config)
        assert metric(host, NODE_FILE, 'tmi_backup_logical_last_timestamp_seconds') == stale
        # What the rule computes: the time of the file minus the newest backup's, against the age allowed.
        age = metric(host, NODE_FILE, 'tmi_textfile_timestamp_seconds') \
            - metric(host, NODE_FILE, 'tmi_backup_logical_last_timestamp_seconds')
        assert age > metric(host, NODE_FILE, 'tmi_backup_max_age_seconds{kind="logical"}') == allowed
    finally:
        host.run_expect([0], 'touch -d @%d %s' % (original, shlex.quote(logical_backup)))
    run_once(host, config)
    assert metric(host, NODE_FILE, 'tmi_backup_logical_last_timestamp_seconds') == original


@pytest.fixture
def archiver_counters_reset(superuser_sql):
    """pg_stat_archiver as test_monitoring.py found it (no failure) once the test is over."""
    yield
    superuser_sql("SELECT pg_stat_reset_shared('archiver')")


def test_an_archiver_that_fails_flips_the_failure_metrics_and_recovers(host, superuser_sql, archiver_counters_reset):
    assert metric(host, EXPORTER_FILE, 'tmi_archiver_failed_count') == 0
    # The repository's archive folder closed to postgres: archive-push fails, as with a full or lost disk.
    mode = host.check_output('stat -c %%a %s', ARCHIVE_DIR)
    host.run_expect([0], 'chmod 000 %s' % ARCHIVE_DIR)
    try:
        superuser_sql('CREATE TABLE flip_wal AS SELECT 1 AS a; DROP TABLE flip_wal; SELECT pg_switch_wal()')
        until(120, lambda: metric(host, EXPORTER_FILE, 'tmi_archiver_failed_count') > 0, 'an archiver failure')
        assert metric(host, EXPORTER_FILE, 'tmi_archiver_last_failed_timestamp_seconds') \
            > metric(host, EXPORTER_FILE, 'tmi_archiver_last_archived_timestamp_seconds')
    finally:
        host.run_expect([0], 'chmod %s %s' % (mode, ARCHIVE_DIR))
    # The archiver retries by itself: the failed segment is archived once the folder is back.
    until(180, lambda: metric(host, EXPORTER_FILE, 'tmi_archiver_last_archived_timestamp_seconds')
          > metric(host, EXPORTER_FILE, 'tmi_archiver_last_failed_timestamp_seconds'), 'archiving again')

"""The exporter's custom queries (roles/monitoring/files/postgres-exporter-queries.yaml) on a real primary and standby.

Each query runs as a member of pg_monitor only, as tmi_monitor does, on a
throwaway primary with one streaming standby (pg_basebackup -R) and on that
standby; the metric names the exporter makes of them (key_column) are the
contract's, no more, no less.
"""

import os
import shutil

import psycopg2
import pytest
import yaml

from pgserver import PgServer, wait_for

QUERIES = os.path.join(os.path.dirname(__file__), '..', '..', 'roles', 'monitoring', 'files',
                       'postgres-exporter-queries.yaml')
CONTRACT = {
    'pg_postmaster_start_time_seconds': [],
    'tmi_replication_standbys_streaming': [],
    'tmi_replication_lag_bytes': ['application_name'],
    'tmi_replication_is_standby': [],
    'tmi_archiver_failed_count': [],
    'tmi_archiver_last_failed_timestamp_seconds': [],
    'tmi_archiver_last_archived_timestamp_seconds': [],
    'tmi_database_xid_age': ['datname'],
    'tmi_transaction_longest_seconds': [],
}
MONITOR = 'mon_probe'


def load_queries():
    with open(QUERIES) as f:
        return yaml.safe_load(f)


def metric_names(queries):
    """Metric name to its label columns, as postgres_exporter 0.11 names them."""
    names = {}
    for key, spec in queries.items():
        columns = [(name, desc['usage']) for metric in spec['metrics'] for name, desc in metric.items()]
        labels = [name for name, usage in columns if usage == 'LABEL']
        for name, usage in columns:
            if usage != 'LABEL':
                names['%s_%s' % (key, name)] = labels
    return names


def test_the_queries_make_exactly_the_contract_s_metrics():
    assert metric_names(load_queries()) == CONTRACT


@pytest.fixture(scope='module')
def cluster():
    """A primary with the probe role (pg_monitor, a password) and one standby streaming from it."""
    primary = PgServer({'wal_level': 'replica', 'max_wal_senders': '5'}).start()
    standby = None
    try:
        primary.query('postgres', "CREATE ROLE %s LOGIN PASSWORD 'probe-only' IN ROLE pg_monitor" % MONITOR)
        standby = PgServer()
        os.makedirs(standby.socketdir)
        if standby._as_postgres:
            shutil.chown(standby.basedir, 'postgres', 'postgres')
            shutil.chown(standby.socketdir, 'postgres', 'postgres')
        standby._run([os.path.join(standby.bindir, 'pg_basebackup'), '-h', primary.socketdir, '-p', str(primary.port),
                      '-U', 'postgres', '-D', standby.datadir, '-R', '-X', 'stream',
                      '-d', 'application_name=probe_standby'])
        with open(os.path.join(standby.datadir, 'postgresql.auto.conf'), 'a') as f:
            f.write("port = %d\nunix_socket_directories = '%s'\n" % (standby.port, standby.socketdir))
        standby._run([os.path.join(standby.bindir, 'pg_ctl'), '-D', standby.datadir, '-w', '-t', '60',
                      '-l', os.path.join(standby.basedir, 'server.log'), 'start'])
        wait_for(lambda: primary.query('postgres', "SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'"))
        yield primary, standby
    finally:
        if standby is not None:
            standby.stop()
        primary.stop()


def run_as_monitor(server, sql):
    conn = psycopg2.connect(host=server.socketdir, port=server.port, dbname='postgres', user=MONITOR)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            columns = [d[0] for d in cur.description]
            return [dict(zip(columns, row)) for row in cur.fetchall()]
    finally:
        conn.close()


def results(server):
    return dict((key, run_as_monitor(server, spec['query'])) for key, spec in load_queries().items())


def test_on_the_primary(cluster):
    primary = cluster[0]
    got = results(primary)
    assert got['tmi_replication'] == [{'is_standby': 0, 'standbys_streaming': 1}]
    lag = got['tmi_replication_lag']
    assert [row['application_name'] for row in lag] == ['probe_standby']
    assert lag[0]['bytes'] is not None and lag[0]['bytes'] >= 0
    assert got['tmi_archiver'] == [{'failed_count': 0, 'last_failed_timestamp_seconds': 0,
                                    'last_archived_timestamp_seconds': 0}]
    assert {row['datname'] for row in got['tmi_database']} >= {'postgres', 'template0', 'template1'}
    assert all(row['xid_age'] >= 0 for row in got['tmi_database'])
    assert got['tmi_transaction'] == [{'longest_seconds': 0}]
    assert got['pg_postmaster'][0]['start_time_seconds'] > 1.7e9


def test_on_the_standby(cluster):
    got = results(cluster[1])
    assert got['tmi_replication'] == [{'is_standby': 1, 'standbys_streaming': 0}]
    assert got['tmi_replication_lag'] == []
    assert len(got['tmi_archiver']) == 1
    assert {row['datname'] for row in got['tmi_database']} >= {'postgres'}


def test_the_longest_transaction_of_another_client(cluster):
    primary = cluster[0]
    conn = primary.connect()
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_sleep(0.2)")
        # The transaction is open for at least the sleep.
        assert results(primary)['tmi_transaction'][0]['longest_seconds'] >= 0.2
    finally:
        conn.rollback()
        conn.close()


def test_the_monitor_cannot_read_a_table(cluster):
    primary = cluster[0]
    primary.query('postgres', 'CREATE TABLE IF NOT EXISTS app_rows (secret text)')
    with pytest.raises(psycopg2.errors.InsufficientPrivilege):
        run_as_monitor(primary, 'SELECT * FROM app_rows')


def test_a_query_that_fails_on_a_standby_is_guarded(cluster):
    # What the guard protects against: pg_current_wal_lsn() itself fails in recovery.
    with pytest.raises(psycopg2.errors.ObjectNotInPrerequisiteState):
        run_as_monitor(cluster[1], 'SELECT pg_current_wal_lsn()')

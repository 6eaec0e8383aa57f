# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.logical_cutover between two real servers linked by logical replication.

The source has wal_level=logical, TMI's schema and data, a table with a sequence (TMI's schema has none today)
and the login role tmi_app; the target has the same schema and a subscription to the source's publication.
"""

import time
import uuid

import psycopg2
import pytest
from ansible_run import run_module
from backup_helpers import load_tmi

from pgserver import PgServer, wait_for

APP = 'tmi_app'
SUB = 'tmi_upgrade'
EXTRA_SQL = 'CREATE TABLE cutover_jobs (id bigserial PRIMARY KEY, note text NOT NULL)'


@pytest.fixture(scope='module')
def pair():
    source = PgServer({'wal_level': 'logical'}).start()
    target = PgServer().start()
    try:
        db = source.create_database()
        load_tmi(source, db)
        source.query(db, EXTRA_SQL)
        target.query('postgres', 'CREATE DATABASE "%s"' % db)
        conn = target.connect(db)
        try:
            with conn.cursor() as cur:
                cur.execute(source.schema_dump(db))
        finally:
            conn.close()
        source.query(db, 'CREATE ROLE %s LOGIN' % APP)
        source.query(db, 'GRANT ALL ON ALL TABLES IN SCHEMA public TO %s; '
                         'GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO %s' % (APP, APP))
        source.query(db, 'CREATE PUBLICATION %s FOR ALL TABLES' % SUB)
        target.query(db, "CREATE SUBSCRIPTION %s CONNECTION 'host=%s port=%d dbname=%s user=postgres' "
                         'PUBLICATION %s' % (SUB, source.socketdir, source.port, db, SUB))
        wait_for(lambda: target.query(db, "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'")[0][0]
                 and target.query(db, 'SELECT count(*) FROM pg_subscription_rel')[0][0] > 0, timeout=120)
        yield source, target, db
    finally:
        target.stop()
        source.stop()


@pytest.fixture
def writes_open(pair):
    """tmi_app may log in before and after each test; the subscription runs."""
    source, target, db = pair
    source.query(db, 'ALTER ROLE %s LOGIN' % APP)
    target.query(db, 'ALTER SUBSCRIPTION %s ENABLE' % SUB)
    yield pair
    source.query(db, 'ALTER ROLE %s LOGIN' % APP)
    target.query(db, 'ALTER SUBSCRIPTION %s ENABLE' % SUB)


def can_login(server, db):
    return server.query(db, 'SELECT rolcanlogin FROM pg_roles WHERE rolname = %s', [APP])[0][0]


def app_connection(server, db):
    return server.connect(db, user=APP)


def cutover(server, db, tmp_path, python=None, check=False, **args):
    params = dict(server.conn_params(db), roles=[APP], slot=SUB, timeout=30)
    params.update(args)
    return run_module('tmi.postgresql.logical_cutover', params, str(tmp_path), python=python, check=check)


def test_check_mode_reports_and_changes_nothing(writes_open, tmp_path):
    source, target, db = writes_open
    source.query(db, "INSERT INTO cutover_jobs (note) SELECT 'check' FROM generate_series(1, 3)")
    app = app_connection(source, db)
    try:
        result = cutover(source, db, tmp_path, check=True)
        assert not result.get("failed"), result.get("msg") or result
        assert result['changed'] and result['roles_changed'] == [APP] and result['terminated'] == 1
        assert result['caught_up'] is None
        assert [s['qualified'] for s in result['sequences']] == ['public.cutover_jobs_id_seq']
        assert can_login(source, db)
        with app.cursor() as cur:
            cur.execute('SELECT 1')  # still connected
    finally:
        app.close()


def test_blocks_writes_waits_for_the_subscriber_and_reads_the_sequences(writes_open, tmp_path, target_python):
    source, target, db = writes_open
    app = app_connection(source, db)
    with app.cursor() as cur:
        cur.execute("INSERT INTO cutover_jobs (note) SELECT 'row ' || g FROM generate_series(1, 50) g")
        cur.execute("INSERT INTO users (email, name) VALUES (%s, 'Cut Over')", ['%s@example.org' % uuid.uuid4().hex])
    result = cutover(source, db, tmp_path, python=target_python)
    assert not result.get("failed"), result.get("msg") or result
    assert result['changed'] and result['roles_changed'] == [APP] and result['terminated'] == 1
    assert not can_login(source, db)
    with pytest.raises(psycopg2.Error):
        with app.cursor() as cur:
            cur.execute('SELECT 1')
    with pytest.raises(psycopg2.OperationalError, match='not permitted to log in'):
        app_connection(source, db)
    # The slot confirmed the position read after the sessions ended: the target has every committed row, now.
    assert source.query(db, 'SELECT %s::pg_lsn >= %s::pg_lsn', [result['confirmed_flush_lsn'], result['lsn']])[0][0]
    for table in ('cutover_jobs', 'users'):
        sql = 'SELECT md5(string_agg(t::text, \',\' ORDER BY t::text)) FROM %s t' % table
        assert target.query(db, sql) == source.query(db, sql), table
    last_value = source.query(db, 'SELECT last_value FROM cutover_jobs_id_seq')[0][0]
    assert result['sequences'] == [dict(schema='public', name='cutover_jobs_id_seq', qualified='public.cutover_jobs_id_seq',
                                        table='cutover_jobs', last_value=last_value, is_called=True)]
    assert result['started'] <= result['caught_up'] <= time.time()

    again = cutover(source, db, tmp_path, python=target_python)
    assert not again.get('failed'), again
    assert not again['changed'] and again['roles_changed'] == [] and again['terminated'] == 0

    back = cutover(source, db, tmp_path, python=target_python, writes='open')
    assert not back.get('failed'), back
    assert back['changed'] and back['roles_changed'] == [APP]
    assert can_login(source, db)
    app_connection(source, db).close()


def test_a_subscriber_that_does_not_catch_up_fails_after_the_timeout(writes_open, tmp_path):
    source, target, db = writes_open
    target.query(db, 'ALTER SUBSCRIPTION %s DISABLE' % SUB)
    wait_for(lambda: source.query(db, 'SELECT NOT active FROM pg_replication_slots WHERE slot_name = %s', [SUB])[0][0])
    source.query(db, "INSERT INTO cutover_jobs (note) VALUES ('behind')")
    result = cutover(source, db, tmp_path, timeout=2)
    assert result.get('failed')
    assert 'timeout: the replication slot %s confirmed' % SUB in result['msg'], result['msg']
    assert 'NOLOGIN' in result['msg']
    assert not can_login(source, db)
    # Once the subscriber runs again, the same call finishes.
    target.query(db, 'ALTER SUBSCRIPTION %s ENABLE' % SUB)
    result = cutover(source, db, tmp_path)
    assert not result.get("failed"), result.get("msg") or result
    assert target.query(db, "SELECT count(*) FROM cutover_jobs WHERE note = 'behind'")[0][0] == 1


@pytest.mark.parametrize('args, message', [
    (dict(roles=[APP, 'nobody_here']), 'roles: nobody_here does not exist on this server. Nothing was changed.'),
    (dict(roles=[APP, 'postgres']), 'roles: postgres is a superuser'),
    (dict(slot='no_such_slot'), 'slot: no replication slot no_such_slot on this server'),
    (dict(slot=None), 'slot: set the name of the subscription'),
])
def test_refusals_change_nothing(writes_open, tmp_path, args, message):
    source, target, db = writes_open
    app = app_connection(source, db)
    try:
        result = cutover(source, db, tmp_path, **args)
        assert result.get('failed') and message in result['msg'], result
        assert result['msg'].endswith('Nothing was changed.')
        assert can_login(source, db)
        with app.cursor() as cur:
            cur.execute('SELECT 1')
    finally:
        app.close()

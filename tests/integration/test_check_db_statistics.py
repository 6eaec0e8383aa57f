"""The statistics sections of check_db's report, against known data on a real server.

A server of its own loads pg_stat_statements (shared_preload_libraries), as
the server role sets it up; the session's server does not, for the note of a
missing library. Tables live in a schema of their own (rpt), beside TMI's
migrated schema, which stays valid.
"""

import pytest

from pgserver import PgServer, wait_for
from schema_helpers import migrate_with_sql_files, run_sql
from test_check_db import check_db, printed_report

STATS_SCHEMA = 'monitoring'
KNOWN_DATA = """
CREATE SCHEMA rpt;
CREATE TABLE rpt.big (id int PRIMARY KEY, code text NOT NULL, v int, payload text);
INSERT INTO rpt.big SELECT i, 'c' || i, i % 97, repeat('x', 200) FROM generate_series(1, 20000) AS i;
CREATE INDEX big_v_unused ON rpt.big (v);
CREATE UNIQUE INDEX big_code_unique ON rpt.big (code);
CREATE TABLE rpt.dead (id int) WITH (autovacuum_enabled = false);
INSERT INTO rpt.dead SELECT generate_series(1, 1000);
DELETE FROM rpt.dead WHERE id <= 600;
"""


def with_statements(server, db):
    server.query(db, 'CREATE SCHEMA %s; CREATE EXTENSION pg_stat_statements SCHEMA %s' % (STATS_SCHEMA, STATS_SCHEMA))


def table_stats(server, db, table):
    rows = server.query(db, 'SELECT seq_scan, n_dead_tup, last_vacuum IS NOT NULL FROM pg_stat_user_tables '
                            "WHERE schemaname = 'rpt' AND relname = %s", (table,))
    return rows[0] if rows else None


@pytest.fixture(scope='module')
def stats_server():
    server = PgServer(settings={'shared_preload_libraries': "'pg_stat_statements'"}).start()
    yield server
    server.stop()


@pytest.fixture(scope='module')
def known_db(stats_server):
    """TMI's database migrated, with pg_stat_statements, tables of known statistics, and a slow statement."""
    db = stats_server.create_database()
    with_statements(stats_server, db)
    migrate_with_sql_files(stats_server, db)
    run_sql(stats_server, db, KNOWN_DATA)
    stats_server.query(db, 'VACUUM ANALYZE rpt.big')
    for dummy in range(3):
        stats_server.query(db, 'SELECT count(payload) FROM rpt.big')
    stats_server.query(db, "SELECT pg_sleep(0.5), 'rpt slow statement'")
    # Each statement's counters reach the views when its session ends.
    wait_for(lambda: (table_stats(stats_server, db, 'big') or (0,))[0] >= 3
             and (table_stats(stats_server, db, 'big') or (0, 0, False))[2]
             and (table_stats(stats_server, db, 'dead') or (0, 0))[1] == 600)
    return db


def section(plays, title):
    """The lines of a section of the printed report, up to the next title."""
    lines = printed_report(plays)
    start = lines.index('## ' + title) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith('## ')), len(lines))
    return [line for line in lines[start:end] if line]


def test_each_section_names_the_known_data(stats_server, known_db, tmp_path, target_python):
    idle = [stats_server.connect(known_db) for dummy in range(2)]
    try:
        rc, plays, report, markdown = check_db(stats_server, known_db, str(tmp_path), python=target_python)
    finally:
        for conn in idle:
            conn.close()
    assert rc == 0, printed_report(plays)
    assert report['valid'] is True and report['statistics_error'] is None
    stats = report['statistics']
    assert stats['errors'] == {}

    size = stats['database_size']
    assert size['database'] == known_db and size['size_bytes'] > 0
    big = size['biggest_tables'][0]
    assert (big['schema'], big['table']) == ('rpt', 'big')
    assert big['index_bytes'] > 0 and big['total_bytes'] >= big['table_bytes'] + big['index_bytes']
    assert len(size['biggest_tables']) == 5
    assert section(plays, 'Database size')[0].startswith('- Database %s: ' % known_db)
    assert section(plays, 'Database size')[3].startswith('| rpt.big | ')

    usage = stats['index_usage']
    scans = usage['tables'][0]
    assert (scans['schema'], scans['table']) == ('rpt', 'big')
    assert scans['seq_scan'] >= 3 and scans['seq_tup_read'] >= 3 * 20000
    unused = dict(((i['schema'], i['table'], i['index']), i['size_bytes']) for i in usage['unused_indexes'])
    assert unused[('rpt', 'big', 'big_v_unused')] > 0
    # Never scanned either, but they enforce a primary key and a unique constraint.
    assert not [key for key in unused if key[2] in ('big_pkey', 'big_code_unique')]
    assert usage['unused_count'] >= len(unused) and usage['unused_bytes'] >= sum(unused.values())
    lines = section(plays, 'Index usage')
    assert any(line.startswith('| rpt.big | %d | %d | ' % (scans['seq_scan'], scans['seq_tup_read'])) for line in lines)
    unused_line = [line for line in lines if line.startswith('- Unused indexes')]
    assert len(unused_line) == 1 and 'big_v_unused on rpt.big (' in unused_line[0]

    slow = stats['slow_statements']
    assert slow['available'] is True and slow['schema'] == STATS_SCHEMA and slow['order'] == 'mean_exec_time'
    assert slow['note'] is None and 0 < len(slow['statements']) <= 5
    sleeps = [s for s in slow['statements'] if "'rpt slow statement'" in s['query'] or 'pg_sleep' in s['query']]
    assert len(sleeps) == 1 and sleeps[0]['calls'] == 1 and sleeps[0]['mean_ms'] >= 500
    means = [s['mean_ms'] for s in slow['statements']]
    assert means == sorted(means, reverse=True)
    assert not [s for s in slow['statements'] if 'tmi.postgresql.database_statistics' in s['query']]
    lines = section(plays, 'Slowest statements')
    assert lines[0].startswith('- By mean_exec_time, top %d of ' % len(slow['statements']))
    assert any(line.startswith('| 1 | ') and 'pg_sleep' in line for line in lines)

    vacuum = stats['vacuum']
    dead = vacuum['tables'][0]
    assert (dead['schema'], dead['table'], dead['dead_rows'], dead['live_rows']) == ('rpt', 'dead', 600, 400)
    assert dead['over_threshold'] is True and dead['last_autovacuum'] is None and dead['last_vacuum'] is None
    assert 'rpt.dead' in vacuum['never_vacuumed'] and 'rpt.dead' in vacuum['never_analyzed']
    assert 'rpt.big' not in vacuum['never_vacuumed'] and 'rpt.big' not in vacuum['never_analyzed']
    lines = section(plays, 'Vacuum and analyze')
    assert any(line.startswith('| rpt.dead | 600 (over the threshold) | 60.0 | - | - |') for line in lines)
    assert any(line.startswith('- Never vacuumed: %d of %d tables: ' % (vacuum['never_vacuumed_count'],
                                                                        vacuum['table_count']))
               and 'rpt.dead' in line for line in lines)

    conns = stats['connections']
    assert (conns['max_connections'], conns['superuser_reserved_connections'], conns['limit']) == (50, 3, 47)
    assert conns['by_state'].get('idle', 0) >= 2 and conns['by_state'].get('active', 0) >= 1
    assert conns['total'] == sum(conns['by_state'].values()) and conns['level'] == 'ok'
    assert section(plays, 'Connections')[0].startswith(
        '- Client connections: %d of 47 (50 max_connections - 3 superuser_reserved_connections), ' % conns['total'])
    assert markdown.splitlines() == printed_report(plays)


def test_the_slowest_statements_by_total_time(stats_server, known_db, tmp_path):
    rc, plays, report, markdown = check_db(stats_server, known_db, str(tmp_path), tmi_check_db_top=2,
                                           tmi_check_db_statements_order='total')
    assert rc == 0, printed_report(plays)
    stats = report['statistics']
    slow = stats['slow_statements']
    assert slow['order'] == 'total_exec_time' and len(slow['statements']) == 2
    totals = [s['total_ms'] for s in slow['statements']]
    assert totals == sorted(totals, reverse=True)
    assert len(stats['database_size']['biggest_tables']) == 2 and len(stats['index_usage']['tables']) == 2
    assert section(plays, 'Slowest statements')[0].startswith('- By total_exec_time, top 2 of ')


def test_a_login_role_without_pg_read_all_stats_gets_a_note(stats_server, known_db, tmp_path):
    stats_server.query(known_db, 'REVOKE SELECT ON %s.pg_stat_statements FROM PUBLIC' % STATS_SCHEMA)
    stats_server.query('postgres', 'CREATE ROLE rpt_reader LOGIN')
    # What schema_validate reads beyond the catalog.
    stats_server.query(known_db, 'GRANT SELECT ON schema_migrations TO rpt_reader')
    try:
        rc, plays, report, markdown = check_db(stats_server, known_db, str(tmp_path),
                                               tmi_check_db_login_user='rpt_reader', tmi_check_db_row_counts='estimate')
    finally:
        stats_server.query(known_db, 'GRANT SELECT ON %s.pg_stat_statements TO PUBLIC' % STATS_SCHEMA)
        stats_server.query(known_db, 'DROP OWNED BY rpt_reader')
        stats_server.query('postgres', 'DROP ROLE rpt_reader')
    assert rc == 0, printed_report(plays)
    slow = report['statistics']['slow_statements']
    note = 'The login role may not read monitoring.pg_stat_statements: it needs pg_read_all_stats.'
    assert slow['available'] is False and slow['note'] == note
    assert section(plays, 'Slowest statements') == [note]
    # The other sections read statistics views every role may read.
    assert report['statistics']['errors'] == {} and report['statistics']['vacuum']['table_count'] > 0


@pytest.mark.parametrize('extension, note', [
    (False, 'pg_stat_statements is not installed in this database (the tmi.postgresql.database role creates it '
            'in schema database_stats_schema).'),
    (True, 'pg_stat_statements is installed (schema monitoring) but not loaded: add it to shared_preload_libraries '
           '(server_shared_preload_libraries) and restart the server.'),
])
def test_pg_stat_statements_missing_is_a_one_line_note(pg_server, pg_db, tmp_path, extension, note):
    """The session's server does not load pg_stat_statements."""
    if extension:
        with_statements(pg_server, pg_db)
    migrate_with_sql_files(pg_server, pg_db)
    rc, plays, report, markdown = check_db(pg_server, pg_db, str(tmp_path))
    assert rc == 0, printed_report(plays)
    slow = report['statistics']['slow_statements']
    assert slow['available'] is False and slow['note'] == note and slow['statements'] == []
    assert section(plays, 'Slowest statements') == [note]
    assert report['statistics']['errors'] == {}


def test_a_failed_connection_reads_no_statistics(pg_server, tmp_path):
    rc, plays, report, markdown = check_db(pg_server, 'no_such_database', str(tmp_path))
    assert rc != 0
    assert report['statistics'] is None and report['statistics_error'] == 'the statistics were not read'
    assert '## Database size' not in markdown

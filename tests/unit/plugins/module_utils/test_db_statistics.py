import pytest

from ansible_collections.tmi.postgresql.plugins.filter.statistics_markdown import FilterModule
from ansible_collections.tmi.postgresql.plugins.module_utils.db_statistics import (
    MARKER,
    NOT_INSTALLED_NOTE,
    connections,
    database_size,
    index_usage,
    markdown,
    shorten,
    size_text,
    slow_statements,
    statements_error_note,
    statements_query,
    statements_unavailable,
    vacuum,
)

NEVER_NONE = (3, 0, None, 0, None, 'on', 50, 0.2)


def statistics(**sections):
    stats = {
        'database_size': database_size(('tmi', 8 * 1024 * 1024), [('public', 'threats', 49152, 8192, 40960)]),
        'index_usage': index_usage('2026-12-01 00:00:00+00', [('public', 'threats', 4, 4000, 2, 1000)],
                                   [('public', 'threats', 'idx_threats_severity', 16384, 1, 16384)]),
        'slow_statements': slow_statements('monitoring', 'mean', [(3, 12.3456, 37.0368, 3, 'SELECT\n  1', 9)]),
        'vacuum': vacuum([('public', 'threats', 300, 700, None, None, '2026-12-01 01:00:00+00', None)],
                         (3, 1, ['public.threats'], 0, None, 'on', 50, 0.2)),
        'connections': connections((100, 3, 0), [('active', 1), ('idle', 4)]),
        'errors': {},
    }
    stats.update(sections)
    return stats


def lines_of(stats, title):
    lines = markdown(stats).splitlines()
    start = lines.index('## ' + title) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith('## ')), len(lines))
    return [line for line in lines[start:end] if line]


# -- the queries -------------------------------------------------------------

def test_the_statements_query_quotes_the_schema_and_orders_by_a_known_column():
    query = statements_query('mon"itor', 'total')
    assert 'FROM "mon""itor".pg_stat_statements' in query
    assert 'ORDER BY total_exec_time DESC' in query
    assert statements_query('monitoring', 'mean').count('mean_exec_time') == 2


def test_the_statements_query_leaves_the_modules_own_statements_out():
    query = statements_query('monitoring', 'mean')
    assert query.startswith(MARKER)
    assert "left(query, %d) <> '%s'" % (len(MARKER), MARKER) in query


def test_an_unknown_order_is_refused():
    with pytest.raises(ValueError, match='order must be one of mean, total'):
        statements_query('monitoring', 'calls; DROP TABLE x')


@pytest.mark.parametrize('column', ['total_time', 'mean_time', 'toplevel', 'shared_blk_read_time', 'last_seq_scan',
                                    'stats_since', 'jit_'])
def test_no_query_names_a_column_of_another_version(column):
    # 12 and older call them total_time and mean_time; the others came after 13.
    from ansible_collections.tmi.postgresql.plugins.module_utils import db_statistics
    queries = [value for name, value in vars(db_statistics).items() if name.endswith('_QUERY')]
    queries.append(statements_query('monitoring', 'mean'))
    assert not [q for q in queries if column in q]


# -- decisions -----------------------------------------------------------------

def test_shorten_collapses_whitespace_and_cuts_long_text():
    assert shorten('SELECT  a,\n\tb FROM t') == 'SELECT a, b FROM t'
    long = 'SELECT ' + ', '.join('column_%d' % i for i in range(40)) + ' FROM t'
    short = shorten(long)
    assert len(short) <= 100 and short.endswith('...') and short.startswith('SELECT column_0, column_1')
    assert shorten(None) == ''


def test_index_scan_share_is_none_for_a_table_without_an_index():
    usage = index_usage(None, [('public', 'a', 3, 300, None, 100), ('public', 'b', 1, 10, 3, 10)], [])
    assert [t['index_scan_percent'] for t in usage['tables']] == [None, 75.0]
    assert (usage['unused_count'], usage['unused_bytes'], usage['unused_indexes']) == (0, 0, [])


def test_unused_indexes_keep_the_count_and_size_of_all_of_them():
    usage = index_usage(None, [], [('public', 't', 'i1', 8192, 7, 40960), ('public', 't', 'i2', 8192, 7, 40960)])
    assert usage['unused_count'] == 7 and usage['unused_bytes'] == 40960
    assert usage['unused_indexes'][1] == {'schema': 'public', 'table': 't', 'index': 'i2', 'size_bytes': 8192}


def test_slow_statements_round_and_shorten():
    slow = slow_statements('monitoring', 'total', [(2, 1.23456, 2.46912, 5, 'SELECT\n 1', 40)])
    assert slow == {'available': True, 'schema': 'monitoring', 'order': 'total_exec_time', 'count': 40, 'note': None,
                    'statements': [{'calls': 2, 'mean_ms': 1.235, 'total_ms': 2.469, 'rows': 5, 'query': 'SELECT 1'}]}
    assert slow_statements('monitoring', 'mean', [])['count'] == 0


@pytest.mark.parametrize('state, note', [
    ('55000', 'pg_stat_statements is installed (schema monitoring) but not loaded: add it to shared_preload_libraries '
              '(server_shared_preload_libraries) and restart the server.'),
    ('42501', 'The login role may not read monitoring.pg_stat_statements: it needs pg_read_all_stats.'),
    ('42703', 'monitoring.pg_stat_statements has no mean_exec_time: the report needs PostgreSQL 13 or newer.'),
    ('XX000', 'Cannot read monitoring.pg_stat_statements: boom'),
])
def test_each_error_of_pg_stat_statements_is_one_line(state, note):
    assert statements_error_note('monitoring', state, 'boom') == note


def test_dead_rows_over_autovacuums_threshold():
    # threshold 50 + 0.2 * live rows
    section = vacuum([('s', 'over', 251, 1000, None, None, None, None),
                      ('s', 'under', 250, 1000, None, None, None, None),
                      ('s', 'empty', 0, 0, None, None, None, None)], NEVER_NONE)
    assert [t['over_threshold'] for t in section['tables']] == [True, False, False]
    assert [t['dead_percent'] for t in section['tables']] == [20.1, 20.0, 0.0]
    assert section['never_vacuumed'] == [] and section['never_analyzed'] == [] and section['autovacuum'] is True


@pytest.mark.parametrize('limits, states, limit, percent, level', [
    ((100, 3, 0), [('active', 1), ('idle', 4)], 97, 5.2, 'ok'),
    ((100, 3, 0), [('idle', 78)], 97, 80.4, 'high'),
    ((100, 3, 0), [('idle', 97)], 97, 100.0, 'full'),
    # PostgreSQL 16's reserved_connections leave fewer slots to ordinary roles.
    ((100, 3, 7), [('idle', 80)], 90, 88.9, 'high'),
    ((3, 3, 0), [('active', 1)], 0, None, 'ok'),
])
def test_connections_against_what_ordinary_roles_may_open(limits, states, limit, percent, level):
    section = connections(limits, states)
    assert (section['limit'], section['percent'], section['level']) == (limit, percent, level)
    assert section['total'] == sum(count for dummy, count in states)


# -- Markdown ------------------------------------------------------------------

@pytest.mark.parametrize('size, text', [(None, '-'), (0, '0 B'), (1023, '1023 B'), (1024, '1.0 KiB'),
                                        (1536 * 1024, '1.5 MiB'), (5 * 1024 ** 5, '5120.0 TiB')])
def test_size_text(size, text):
    assert size_text(size) == text


def test_every_section_in_a_few_lines():
    text = markdown(statistics())
    titles = [line for line in text.splitlines() if line.startswith('## ')]
    assert titles == ['## Database size', '## Index usage', '## Slowest statements', '## Vacuum and analyze',
                      '## Connections']
    assert not text.endswith('\n')
    assert lines_of(statistics(), 'Database size') == [
        '- Database tmi: 8.0 MiB', '| table | total | table and TOAST | indexes |', '|---|---:|---:|---:|',
        '| public.threats | 48.0 KiB | 8.0 KiB | 40.0 KiB |']
    assert lines_of(statistics(), 'Index usage') == [
        '- Counters since 2026-12-01 00:00:00+00.',
        '| table | seq scans | rows read by seq scans | index scans | index scans % | live rows |',
        '|---|---:|---:|---:|---:|---:|', '| public.threats | 4 | 4000 | 2 | 33.3 | 1000 |',
        '- Unused indexes (never scanned, no unique or primary key): 1, 16.0 KiB: '
        'idx_threats_severity on public.threats (16.0 KiB)']
    assert lines_of(statistics(), 'Slowest statements') == [
        '- By mean_exec_time, top 1 of 9 statements (pg_stat_statements, schema monitoring):',
        '| calls | mean ms | total ms | rows | query |', '|---:|---:|---:|---:|---|', '| 3 | 12.3 | 37.0 | 3 | `SELECT 1` |']
    assert lines_of(statistics(), 'Vacuum and analyze') == [
        '- Autovacuum: on; 3 tables.',
        '| table | dead rows | dead % | last autovacuum | last vacuum | last autoanalyze | last analyze |',
        '|---|---:|---:|---|---|---|---|',
        '| public.threats | 300 (over the threshold) | 30.0 | - | - | 2026-12-01 01:00:00+00 | - |',
        '- Never vacuumed: 1 of 3 tables: public.threats', '- Never analyzed: none.']
    assert lines_of(statistics(), 'Connections') == [
        '- Client connections: 5 of 97 (100 max_connections - 3 superuser_reserved_connections), 5.2%; '
        'this check is one of them.', '- By state: active 1, idle 4']


def test_a_section_that_was_not_read_says_why_in_one_line():
    stats = statistics(vacuum=None, errors={'vacuum': 'permission denied for view pg_stat_user_tables'})
    assert lines_of(stats, 'Vacuum and analyze') == ['Not read: permission denied for view pg_stat_user_tables']
    assert lines_of(stats, 'Connections')[1] == '- By state: active 1, idle 4'


def test_pg_stat_statements_missing_is_one_line():
    stats = statistics(slow_statements=statements_unavailable(NOT_INSTALLED_NOTE))
    assert lines_of(stats, 'Slowest statements') == [NOT_INSTALLED_NOTE]


def test_no_statistics_at_all():
    assert markdown(None, 'could not connect') == '## Statistics\n\nNot read: could not connect'
    assert markdown(None) == '## Statistics\n\nNot read: unknown'


def test_cells_stay_in_their_column_and_long_lists_say_there_is_more():
    stats = statistics(
        slow_statements=slow_statements('monitoring', 'mean', [(1, 2.0, 2.0, 0, "SELECT a || b, `x` FROM t", 1)]),
        index_usage=index_usage(None, [], [('public', 'a|b', 'i', 8192, 9, 73728)]),
        vacuum=vacuum([], (12, 12, ['public.a', 'public.b'], 2, ['public.a', 'public.b'], 'off', 50, 0.2)),
        connections=connections((100, 3, 2), [('idle in transaction', 90)]))
    assert lines_of(stats, 'Slowest statements')[-1] == "| 1 | 2.0 | 2.0 | 0 | `SELECT a \\|\\| b, 'x' FROM t` |"
    assert lines_of(stats, 'Index usage') == [
        '- Counters since the start of the statistics.', '- No rows read by sequential scans yet.',
        '- Unused indexes (never scanned, no unique or primary key): 9, 72.0 KiB: i on public.a\\|b (8.0 KiB), ...']
    assert lines_of(stats, 'Vacuum and analyze') == [
        '- Autovacuum: **OFF**; 12 tables.', '- Dead rows: none.',
        '- Never vacuumed: 12 of 12 tables: public.a, public.b, ...',
        '- Never analyzed: 2 of 12 tables: public.a, public.b']
    assert lines_of(stats, 'Connections') == [
        '- Client connections: 90 of 95 (100 max_connections - 3 superuser_reserved_connections - 2 '
        'reserved_connections), 94.7% **HIGH**; this check is one of them.', '- By state: idle in transaction 90']


def test_slow_statements_in_seconds_lose_their_decimals():
    stats = statistics(slow_statements=slow_statements('m', 'total', [(10, 1500.25, 15002.5, 10, 'SELECT 2', 1)]))
    assert lines_of(stats, 'Slowest statements')[-1] == '| 10 | 1500 | 15002 | 10 | `SELECT 2` |'
    assert lines_of(stats, 'Slowest statements')[0] == '- By total_exec_time, top 1 of 1 statements (pg_stat_statements, schema m):'


def test_the_filter_is_the_markdown():
    statistics_markdown = FilterModule().filters()['statistics_markdown']
    assert statistics_markdown(statistics()) == markdown(statistics())
    assert statistics_markdown(None, 'the statistics were not read').endswith('Not read: the statistics were not read')

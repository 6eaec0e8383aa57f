# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's statistics of check_db: the queries of TMI's guide, their decisions and their Markdown.

Five sections, each read with one or two cheap queries on catalog and
statistics views (every list with a LIMIT) and each with its own error, so
that a section the login role may not read is a one-line note, not a failed
report:

- database_size: the database, and its biggest tables with their index size;
- index_usage: sequential against index scans of the tables read most by
  sequential scans, and the indexes never scanned that back no constraint;
- slow_statements: the slowest statements of pg_stat_statements, by mean or
  total execution time;
- vacuum: the tables with the most dead rows, their last (auto)vacuum and
  (auto)analyze, the tables never vacuumed or analyzed;
- connections: client connections by state against what ordinary roles may
  open (max_connections minus the reserved slots).

Versions: the queries run unchanged on PostgreSQL 13 to 17. They use no
column newer than 13: pg_stat_statements' total_exec_time and mean_exec_time
appeared in 13 (total_time and mean_time before; an older server gets a note
naming that), and reserved_connections (16) is read with
current_setting(name, true), NULL before 16. No branch on server_version_num.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# Marks this module's own statements, so that pg_stat_statements' list leaves them out.
MARKER = '/* tmi.postgresql.database_statistics */ '
# Table sizes and index scans lock nothing but AccessShareLock; a migration's
# ACCESS EXCLUSIVE lock must not stall the report: the section notes it instead.
SESSION_SETTINGS = ("SET lock_timeout = '2s'", "SET statement_timeout = '30s'")

ORDERS = {'mean': 'mean_exec_time', 'total': 'total_exec_time'}
# Characters of a statement's text kept in the report (whitespace collapsed).
QUERY_CHARS = 100
# Share of the connection limit from which the report says "high".
CONNECTIONS_HIGH_PERCENT = 80

# Names of the user's relations: no system schema, no toast, no other session's temporary tables.
_USER_RELATION = ("n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_)'")

DATABASE_SIZE_QUERY = MARKER + "SELECT current_database(), pg_database_size(current_database())"
BIGGEST_TABLES_QUERY = MARKER + (
    "SELECT n.nspname, c.relname, pg_total_relation_size(c.oid), pg_table_size(c.oid), pg_indexes_size(c.oid) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE c.relkind IN ('r', 'm') AND " + _USER_RELATION + " "
    "ORDER BY 3 DESC NULLS LAST, 1, 2 LIMIT %s")
BIGGEST_TABLES_COLUMNS = ('schema', 'table', 'total_bytes', 'table_bytes', 'index_bytes')

STATS_RESET_QUERY = MARKER + (
    "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()")
SCANS_QUERY = MARKER + (
    "SELECT schemaname, relname, seq_scan, seq_tup_read, idx_scan, n_live_tup FROM pg_stat_user_tables "
    "WHERE seq_tup_read > 0 "
    "ORDER BY seq_tup_read DESC, seq_scan DESC, schemaname, relname LIMIT %s")
SCANS_COLUMNS = ('schema', 'table', 'seq_scan', 'seq_tup_read', 'idx_scan', 'live_rows')
# Never scanned since the counters began, and backing no constraint: unique and
# primary keys enforce one (indisunique), exclusion constraints too.
UNUSED_INDEXES_QUERY = MARKER + (
    "SELECT s.schemaname, s.relname, s.indexrelname, pg_relation_size(s.indexrelid), "
    "count(*) OVER (), sum(pg_relation_size(s.indexrelid)) OVER ()::bigint "
    "FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid "
    "WHERE s.idx_scan = 0 AND NOT i.indisunique AND NOT i.indisprimary AND NOT i.indisexclusion "
    "ORDER BY 4 DESC, 1, 2, 3 LIMIT %s")
UNUSED_INDEXES_COLUMNS = ('schema', 'table', 'index', 'size_bytes')

EXTENSION_QUERY = MARKER + (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
    "WHERE e.extname = 'pg_stat_statements'")
STATEMENTS_COLUMNS = ('calls', 'mean_ms', 'total_ms', 'rows', 'query')

VACUUM_QUERY = MARKER + (
    "SELECT schemaname, relname, n_dead_tup, n_live_tup, last_autovacuum::text, last_vacuum::text, "
    "last_autoanalyze::text, last_analyze::text FROM pg_stat_user_tables WHERE n_dead_tup > 0 "
    "ORDER BY n_dead_tup DESC, schemaname, relname LIMIT %s")
VACUUM_COLUMNS = ('schema', 'table', 'dead_rows', 'live_rows', 'last_autovacuum', 'last_vacuum',
                  'last_autoanalyze', 'last_analyze')
_NEVER_VACUUMED = 'last_vacuum IS NULL AND last_autovacuum IS NULL'
_NEVER_ANALYZED = 'last_analyze IS NULL AND last_autoanalyze IS NULL'
_NAME = "quote_ident(schemaname) || '.' || quote_ident(relname)"
# The tables that matter first: most rows (live and dead), then by name.
_BIGGEST_FIRST = 'n_live_tup + n_dead_tup DESC, schemaname, relname'
NEVER_QUERY = MARKER + (
    "SELECT count(*), "
    "count(*) FILTER (WHERE {v}), (array_agg({n} ORDER BY {o}) FILTER (WHERE {v}))[1:%s], "
    "count(*) FILTER (WHERE {a}), (array_agg({n} ORDER BY {o}) FILTER (WHERE {a}))[1:%s], "
    "current_setting('autovacuum'), current_setting('autovacuum_vacuum_threshold')::bigint, "
    "current_setting('autovacuum_vacuum_scale_factor')::float8 "
    "FROM pg_stat_user_tables").format(v=_NEVER_VACUUMED, a=_NEVER_ANALYZED, n=_NAME, o=_BIGGEST_FIRST)

LIMITS_QUERY = MARKER + (
    "SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int, "
    "coalesce(current_setting('reserved_connections', true), '0')::int")
# Client backends only: WAL senders, autovacuum and parallel workers have slots of their own.
STATES_QUERY = MARKER + (
    "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
    "GROUP BY 1 ORDER BY 1")

# SQLSTATEs that make a note of the slow statements section.
_NOT_LOADED = '55000'  # object_not_in_prerequisite_state: not in shared_preload_libraries
_NO_PRIVILEGE = '42501'
_UNDEFINED_COLUMN = '42703'


def quote_ident(name):
    return '"%s"' % name.replace('"', '""')


def statements_query(schema, order):
    """The query of the slowest statements of this database, pg_stat_statements in schema, by order (mean, total)."""
    if order not in ORDERS:
        raise ValueError('order must be one of %s, not %r' % (', '.join(sorted(ORDERS)), order))
    return MARKER + (
        "SELECT calls, mean_exec_time, total_exec_time, rows, left(query, 2000), count(*) OVER () "
        "FROM {schema}.pg_stat_statements "
        "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND left(query, {marker_length}) <> '{marker}' "
        "ORDER BY {order} DESC, queryid LIMIT %s").format(
            schema=quote_ident(schema), order=ORDERS[order], marker=MARKER.replace("'", "''"),
            marker_length=len(MARKER))


def shorten(query, length=QUERY_CHARS):
    """A statement's text on one line, cut to length characters ("..." marks a cut)."""
    text = re.sub(r'\s+', ' ', query or '').strip()
    if len(text) <= length:
        return text
    return text[:length - 3].rstrip() + '...'


def _records(columns, rows):
    return [dict(zip(columns, row)) for row in rows]


def database_size(size_row, table_rows):
    """The database_size section from DATABASE_SIZE_QUERY's row and BIGGEST_TABLES_QUERY's rows."""
    return {'database': size_row[0], 'size_bytes': size_row[1],
            'biggest_tables': _records(BIGGEST_TABLES_COLUMNS, table_rows)}


def index_usage(stats_reset, scan_rows, unused_rows):
    """The index_usage section: scans per table, with the index scans' share, and the unused indexes."""
    tables = _records(SCANS_COLUMNS, scan_rows)
    for table in tables:
        scans = table['seq_scan'] + (table['idx_scan'] or 0)
        # None: the table has no index at all (idx_scan is NULL then).
        table['index_scan_percent'] = (None if table['idx_scan'] is None or not scans
                                       else round(100.0 * table['idx_scan'] / scans, 1))
    unused = _records(UNUSED_INDEXES_COLUMNS, [row[:4] for row in unused_rows])
    return {'stats_reset': stats_reset, 'tables': tables, 'unused_indexes': unused,
            'unused_count': unused_rows[0][4] if unused_rows else 0,
            'unused_bytes': int(unused_rows[0][5]) if unused_rows else 0}


def slow_statements(schema, order, rows):
    """The slow_statements section from statements_query's rows."""
    statements = []
    for row in rows:
        statement = dict(zip(STATEMENTS_COLUMNS, row[:5]))
        statement['mean_ms'] = round(float(statement['mean_ms']), 3)
        statement['total_ms'] = round(float(statement['total_ms']), 3)
        statement['query'] = shorten(statement['query'])
        statements.append(statement)
    return {'available': True, 'schema': schema, 'order': ORDERS[order], 'count': rows[0][5] if rows else 0,
            'statements': statements, 'note': None}


def statements_unavailable(note, schema=None, order='mean'):
    """The slow_statements section when pg_stat_statements cannot be read: a one-line note why."""
    return {'available': False, 'schema': schema, 'order': ORDERS[order], 'count': 0, 'statements': [],
            'note': note}


def statements_error_note(schema, state, message):
    """The one-line note for an error (SQLSTATE state, message) of the query of pg_stat_statements."""
    view = '%s.pg_stat_statements' % schema
    if state == _NOT_LOADED:
        return ('pg_stat_statements is installed (schema %s) but not loaded: add it to shared_preload_libraries '
                '(server_shared_preload_libraries) and restart the server.' % schema)
    if state == _NO_PRIVILEGE:
        return 'The login role may not read %s: it needs pg_read_all_stats.' % view
    if state == _UNDEFINED_COLUMN:
        return '%s has no mean_exec_time: the report needs PostgreSQL 13 or newer.' % view
    return 'Cannot read %s: %s' % (view, message)


NOT_INSTALLED_NOTE = ('pg_stat_statements is not installed in this database (the tmi.postgresql.database role '
                      'creates it in schema database_stats_schema).')


def _due(table, threshold, scale_factor):
    """Whether the dead rows exceed autovacuum's trigger (the server's settings; a table's own are not read)."""
    return table['dead_rows'] > threshold + scale_factor * table['live_rows']


def vacuum(rows, never_row):
    """The vacuum section from VACUUM_QUERY's rows and NEVER_QUERY's row."""
    (total, never_vacuumed, vacuumed_names, never_analyzed, analyzed_names,
     autovacuum, threshold, scale_factor) = never_row
    tables = _records(VACUUM_COLUMNS, rows)
    for table in tables:
        seen = table['dead_rows'] + table['live_rows']
        table['dead_percent'] = round(100.0 * table['dead_rows'] / seen, 1) if seen else 0.0
        table['over_threshold'] = _due(table, threshold, scale_factor)
    return {'autovacuum': autovacuum == 'on', 'vacuum_threshold': threshold, 'vacuum_scale_factor': scale_factor,
            'tables': tables, 'table_count': total,
            'never_vacuumed_count': never_vacuumed, 'never_vacuumed': list(vacuumed_names or []),
            'never_analyzed_count': never_analyzed, 'never_analyzed': list(analyzed_names or [])}


def connections(limits_row, state_rows):
    """The connections section: client connections by state against what ordinary roles may open."""
    max_connections, superuser_reserved, reserved = limits_row
    limit = max(max_connections - superuser_reserved - reserved, 0)
    by_state = dict((state, count) for state, count in state_rows)
    total = sum(by_state.values())
    percent = round(100.0 * total / limit, 1) if limit else None
    if limit and total >= limit:
        level = 'full'
    elif percent is not None and percent >= CONNECTIONS_HIGH_PERCENT:
        level = 'high'
    else:
        level = 'ok'
    return {'max_connections': max_connections, 'superuser_reserved_connections': superuser_reserved,
            'reserved_connections': reserved, 'limit': limit, 'total': total, 'by_state': by_state,
            'percent': percent, 'level': level}


# --- Markdown ------------------------------------------------------------------

def size_text(size):
    """A size in bytes for people: 0 B, 8.0 KiB, 1.5 MiB, ..."""
    if size is None:
        return '-'
    size = float(size)
    for unit in ('B', 'KiB', 'MiB', 'GiB', 'TiB'):
        if abs(size) < 1024 or unit == 'TiB':
            return '%d B' % size if unit == 'B' else '%.1f %s' % (size, unit)
        size /= 1024.0
    return '-'  # pragma: no cover


def _cell(value):
    """A Markdown table cell: '-' for none, pipes escaped, on one line."""
    if value is None:
        return '-'
    return re.sub(r'\s+', ' ', str(value)).replace('|', '\\|')


def _name(record):
    return '%s.%s' % (record['schema'], record['table'])


def _ms(value):
    return '%.1f' % value if value < 1000 else '%d' % round(value)


def _section(title, section, error, body):
    lines = ['## %s' % title, '']
    if error:
        lines.append('Not read: %s' % error)
    else:
        lines.extend(body(section))
    lines.append('')
    return lines


def _database_size_lines(s):
    lines = ['- Database %s: %s' % (s['database'], size_text(s['size_bytes']))]
    if not s['biggest_tables']:
        return lines + ['- No tables.']
    lines += ['', '| table | total | table and TOAST | indexes |', '|---|---:|---:|---:|']
    for t in s['biggest_tables']:
        lines.append('| %s | %s | %s | %s |' % (_cell(_name(t)), size_text(t['total_bytes']),
                                                size_text(t['table_bytes']), size_text(t['index_bytes'])))
    return lines


def _index_usage_lines(s):
    since = s['stats_reset'] or 'the start of the statistics'
    lines = ['- Counters since %s.' % since]
    if s['tables']:
        lines += ['', '| table | seq scans | rows read by seq scans | index scans | index scans % | live rows |',
                  '|---|---:|---:|---:|---:|---:|']
        for t in s['tables']:
            lines.append('| %s | %d | %d | %s | %s | %d |' % (
                _cell(_name(t)), t['seq_scan'], t['seq_tup_read'], _cell(t['idx_scan']),
                'no index' if t['idx_scan'] is None else _cell(t['index_scan_percent']), t['live_rows']))
        lines.append('')
    else:
        lines.append('- No rows read by sequential scans yet.')
    if s['unused_count']:
        shown = ', '.join('%s on %s (%s)' % (_cell(i['index']), _cell(_name(i)), size_text(i['size_bytes']))
                          for i in s['unused_indexes'])
        more = '' if s['unused_count'] <= len(s['unused_indexes']) else ', ...'
        lines.append('- Unused indexes (never scanned, no unique or primary key): %d, %s: %s%s' % (
            s['unused_count'], size_text(s['unused_bytes']), shown, more))
    else:
        lines.append('- Unused indexes: none (every index that backs no constraint was scanned).')
    return lines


def _slow_statements_lines(s):
    if not s['available']:
        return [s['note']]
    if not s['statements']:
        return ['- pg_stat_statements (schema %s) has no statement of this database yet.' % s['schema']]
    lines = ['- By %s, top %d of %d statements (pg_stat_statements, schema %s):' % (
        s['order'], len(s['statements']), s['count'], s['schema']),
        '', '| calls | mean ms | total ms | rows | query |', '|---:|---:|---:|---:|---|']
    for q in s['statements']:
        lines.append('| %d | %s | %s | %d | `%s` |' % (q['calls'], _ms(q['mean_ms']), _ms(q['total_ms']), q['rows'],
                                                       _cell(q['query']).replace('`', "'")))
    return lines


def _vacuum_lines(s):
    lines = ['- Autovacuum: %s; %d tables.' % ('on' if s['autovacuum'] else '**OFF**', s['table_count'])]
    if s['tables']:
        lines += ['', '| table | dead rows | dead % | last autovacuum | last vacuum | last autoanalyze | last analyze |',
                  '|---|---:|---:|---|---|---|---|']
        for t in s['tables']:
            dead = '%d%s' % (t['dead_rows'], ' (over the threshold)' if t['over_threshold'] else '')
            lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
                _cell(_name(t)), dead, _cell(t['dead_percent']), _cell(t['last_autovacuum']),
                _cell(t['last_vacuum']), _cell(t['last_autoanalyze']), _cell(t['last_analyze'])))
        lines.append('')
    else:
        lines.append('- Dead rows: none.')
    for what, count, names in (('vacuumed', s['never_vacuumed_count'], s['never_vacuumed']),
                               ('analyzed', s['never_analyzed_count'], s['never_analyzed'])):
        if count:
            more = '' if count <= len(names) else ', ...'
            lines.append('- Never %s: %d of %d tables: %s%s' % (
                what, count, s['table_count'], _cell(', '.join(names)), more))
        else:
            lines.append('- Never %s: none.' % what)
    return lines


def _connections_lines(s):
    states = ', '.join('%s %d' % (state, count) for state, count in sorted(s['by_state'].items())) or 'none'
    reserved = '%d superuser_reserved_connections' % s['superuser_reserved_connections']
    if s['reserved_connections']:
        reserved += ' - %d reserved_connections' % s['reserved_connections']
    level = {'ok': '', 'high': ' **HIGH**', 'full': ' **FULL**'}[s['level']]
    percent = '-' if s['percent'] is None else '%s%%' % s['percent']
    return ['- Client connections: %d of %d (%d max_connections - %s), %s%s; this check is one of them.' % (
        s['total'], s['limit'], s['max_connections'], reserved, percent, level),
        '- By state: %s' % states]


SECTIONS = (
    ('database_size', 'Database size', _database_size_lines),
    ('index_usage', 'Index usage', _index_usage_lines),
    ('slow_statements', 'Slowest statements', _slow_statements_lines),
    ('vacuum', 'Vacuum and analyze', _vacuum_lines),
    ('connections', 'Connections', _connections_lines),
)


def markdown(statistics, error=None):
    """The Markdown of the statistics (database_statistics' RV statistics), one section each.

    error: why the statistics were not read at all (then one line says so).
    """
    if not statistics:
        return '## Statistics\n\nNot read: %s' % (error or 'unknown')
    lines = []
    errors = statistics.get('errors') or {}
    for key, title, body in SECTIONS:
        lines.extend(_section(title, statistics.get(key), errors.get(key), body))
    return '\n'.join(lines).rstrip('\n')

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: database_statistics
short_description: Read the sizes, index use, slowest statements, vacuum state and connections of a database
version_added: 0.2.0
description:
  - Reads what the operator's report of TMI's guide shows, from catalog and statistics views only, each list
    cut to O(top) rows; the sections are those of RV(statistics).
  - A section that cannot be read (a privilege the login role lacks, a lock held longer than 2 seconds) does not
    fail the module; its error is in C(errors) of RV(statistics). pg_stat_statements missing from the database or
    from C(shared_preload_libraries) is a one-line C(note) of its section.
  - The queries use no column newer than PostgreSQL 13 (pg_stat_statements' C(total_exec_time) and
    C(mean_exec_time) came with 13), and read C(reserved_connections) (16) only when the server has it; they
    run unchanged on 13 to 17.
  - The module's own statements carry a comment that keeps them out of the slowest statements.
author:
  - TMI operations engineers (@tmi)
options:
  top:
    description:
      - Rows of each list (biggest tables, scans, unused indexes, slowest statements, dead rows, names of the
        tables never vacuumed or analyzed). 1 to 100.
    type: int
    default: 5
  statements_order:
    description:
      - Order of the slowest statements, C(mean) (mean_exec_time, the slowest each time) or C(total)
        (total_exec_time, the most time spent altogether).
    type: str
    choices: [mean, total]
    default: mean
extends_documentation_fragment:
  - tmi.postgresql.read_only
  - community.postgresql.postgres
  - tmi.postgresql.connection
seealso:
  - name: The cumulative statistics system
    description: pg_stat_user_tables, pg_stat_user_indexes and pg_stat_activity in PostgreSQL's documentation.
    link: https://www.postgresql.org/docs/current/monitoring-stats.html
  - name: pg_stat_statements
    description: The extension's view and its columns.
    link: https://www.postgresql.org/docs/current/pgstatstatements.html
'''

EXAMPLES = r'''
- name: Read the statistics of TMI's database
  tmi.postgresql.database_statistics:
    login_db: tmi
    login_unix_socket: /var/run/postgresql
    statements_order: total
  become: true
  become_user: postgres
  register: stats

- name: Show them
  ansible.builtin.debug:
    msg: "{{ (stats.statistics | tmi.postgresql.statistics_markdown).splitlines() }}"
'''

RETURN = r'''
statistics:
  description:
    - C(database_size) - C(database), C(size_bytes), C(biggest_tables) (C(schema), C(table), C(total_bytes),
      C(table_bytes) with TOAST, C(index_bytes)), biggest first.
    - C(index_usage) - C(stats_reset) (since when the counters run; C(null) since the cluster began), C(tables)
      (C(schema), C(table), C(seq_scan), C(seq_tup_read), C(idx_scan), C(null) without an index,
      C(index_scan_percent), C(live_rows)), the tables whose sequential scans read rows, most rows first; C(unused_indexes)
      (C(schema), C(table), C(index), C(size_bytes)), never scanned and backing no unique, primary key or
      exclusion constraint, biggest first, C(unused_count) and C(unused_bytes) of all of them.
    - C(slow_statements) - C(available), C(schema) of pg_stat_statements, C(order), C(count) (statements of this
      database in the view), C(statements) (C(calls), C(mean_ms), C(total_ms), C(rows), C(query) on one line, cut
      to 100 characters) and C(note), why they are not available (C(null) when they are).
    - C(vacuum) - C(autovacuum) (on or off), C(vacuum_threshold), C(vacuum_scale_factor), C(tables) (C(schema),
      C(table), C(dead_rows), C(live_rows), C(dead_percent), C(last_autovacuum), C(last_vacuum),
      C(last_autoanalyze), C(last_analyze), C(over_threshold) - more dead rows than the server's settings let
      autovacuum leave, a table's own settings not read), the tables with dead rows, most first, C(table_count),
      C(never_vacuumed_count), C(never_vacuumed), C(never_analyzed_count), C(never_analyzed) (names, the tables with
      the most rows first); the times as text, C(null) for never.
    - C(connections) - C(max_connections), C(superuser_reserved_connections), C(reserved_connections) (0 before
      PostgreSQL 16), C(limit) (what roles without reserved slots may open), C(total) and C(by_state) (client
      backends, this one included), C(percent) of the limit, C(level) (C(ok), C(high) from 80%, C(full)).
    - C(errors) - section name to why it could not be read; a section in it is C(null).
  returned: success
  type: dict
  sample: {"connections": {"max_connections": 100, "superuser_reserved_connections": 3,
           "reserved_connections": 0, "limit": 97, "total": 2, "by_state": {"active": 1, "idle": 1},
           "percent": 2.1, "level": "ok"}, "errors": {}}
markdown:
  description: The sections as Markdown, as the filter tmi.postgresql.statistics_markdown writes them.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.db_statistics import (
    BIGGEST_TABLES_QUERY,
    DATABASE_SIZE_QUERY,
    EXTENSION_QUERY,
    LIMITS_QUERY,
    NEVER_QUERY,
    NOT_INSTALLED_NOTE,
    SCANS_QUERY,
    SESSION_SETTINGS,
    STATES_QUERY,
    STATS_RESET_QUERY,
    UNUSED_INDEXES_QUERY,
    VACUUM_QUERY,
    connections,
    database_size,
    index_usage,
    markdown,
    slow_statements,
    statements_error_note,
    statements_query,
    statements_unavailable,
    vacuum,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    DATABASE_ERRORS,
    connection_argument_spec,
    describe_database_error,
    fetch_rows,
    module_connection,
    sqlstate,
    tuple_cursor,
)


def read_statements(cur, top, order):
    schemas = fetch_rows(cur, EXTENSION_QUERY)
    if not schemas:
        return statements_unavailable(NOT_INSTALLED_NOTE, order=order)
    schema = schemas[0][0]
    try:
        return slow_statements(schema, order, fetch_rows(cur, statements_query(schema, order), (top,)))
    except DATABASE_ERRORS as e:
        return statements_unavailable(statements_error_note(schema, sqlstate(e), describe_database_error(e)),
                                      schema, order)


def read_sections(cur, top, order):
    readers = (
        ('database_size', lambda: database_size(fetch_rows(cur, DATABASE_SIZE_QUERY)[0],
                                                fetch_rows(cur, BIGGEST_TABLES_QUERY, (top,)))),
        ('index_usage', lambda: index_usage(fetch_rows(cur, STATS_RESET_QUERY)[0][0],
                                            fetch_rows(cur, SCANS_QUERY, (top,)),
                                            fetch_rows(cur, UNUSED_INDEXES_QUERY, (top,)))),
        ('slow_statements', lambda: read_statements(cur, top, order)),
        ('vacuum', lambda: vacuum(fetch_rows(cur, VACUUM_QUERY, (top,)), fetch_rows(cur, NEVER_QUERY, (top, top))[0])),
        ('connections', lambda: connections(fetch_rows(cur, LIMITS_QUERY)[0], fetch_rows(cur, STATES_QUERY))),
    )
    statistics = {'errors': {}}
    for name, read in readers:
        try:
            statistics[name] = read()
        except DATABASE_ERRORS as e:
            statistics[name] = None
            statistics['errors'][name] = describe_database_error(e)
    return statistics


def main():
    spec = connection_argument_spec()
    spec['top'] = dict(type='int', default=5)
    spec['statements_order'] = dict(type='str', default='mean', choices=['mean', 'total'])
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    top = module.params['top']
    if not 1 <= top <= 100:
        module.fail_json(msg='top is %d: allowed: 1 to 100.' % top)
    with module_connection(module, database_message='cannot read the statistics') as conn:
        cur = tuple_cursor(conn)
        for setting in SESSION_SETTINGS:
            fetch_rows(cur, setting)
        statistics = read_sections(cur, top, module.params['statements_order'])
    module.exit_json(changed=False, statistics=statistics, markdown=markdown(statistics))


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare a definition with a live catalog: pure Python, no database.

Input: a Definition (schema_definition), its Canonical spellings
(schema_canonical) and a Catalog (schema_catalog). Output: findings, each
{severity, object_type, table, object, message, expected, actual}:
error   something the definition requires is missing or different, or the
        migration version is wrong or dirty;
warning something the definition does not know (extra table, column,
        index or constraint);
info    an object that matches.
Objects are matched by name, as TMI's validation does.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import MIGRATION_TABLES

ERROR = 'error'
WARNING = 'warning'
INFO = 'info'
_RANK = {INFO: 0, WARNING: 1, ERROR: 2}


# A cast as PostgreSQL prints it: ::text, ::character varying(320), ::text[],
# ::timestamp with time zone, ::"My Type".
_CAST = re.compile(r'::(?:"[^"]+"|[a-z_][a-z0-9_]*)'
                   r'(?:\s+(?:varying|precision|with(?:out)?\s+time\s+zone))*'
                   r'(?:\(\d+(?:,\s*\d+)?\))?(?:\[\])*')


def _without_casts(expression):
    words = ' '.join(_CAST.sub('', expression or '').replace('(', ' ').replace(')', ' ').split())
    return re.sub(r' ?([\[\],]) ?', r'\1', words)


def same_rule(expected, actual):
    """Whether two printed CHECK rules or index predicates are the same rule.

    PostgreSQL prints a rule as it parsed it, and a pg_dump/pg_restore round
    trip parses the printed text again, which moves implicit casts:
    `x::text = ANY ((ARRAY['a'::varchar])::text[])` comes back as
    `x::text = ANY (ARRAY[('a'::varchar)::text])`. So when the texts differ,
    they are compared again without casts and parentheses: values,
    columns and operators must still be the same.
    """
    if expected == actual:
        return True
    if expected is None or actual is None:
        return False
    return _without_casts(expected) == _without_casts(actual)


def finding(severity, object_type, table, obj, message, expected=None, actual=None):
    return dict(severity=severity, object_type=object_type, table=table, object=obj, message=message,
                expected=expected, actual=actual)


class _Collector(object):
    def __init__(self, report_matches):
        self.findings = []
        self.report_matches = report_matches

    def add(self, *args, **kwargs):
        self.findings.append(finding(*args, **kwargs))

    def matched(self, object_type, table, obj, what):
        if self.report_matches:
            self.add(INFO, object_type, table, obj, '%s matches' % what)


def compare(definition, canonical, catalog, report_matches=True):
    """Every finding about catalog measured against definition, in a stable order."""
    out = _Collector(report_matches)
    _compare_migration(out, definition, catalog.migration)
    for table_name, message in canonical.errors:
        out.add(ERROR, 'definition', table_name, table_name,
                'PostgreSQL rejects this table of the definition, so the types, defaults, CHECK rules and index '
                'expressions of %s are not compared: %s' % (table_name, message))
    for table in definition.tables:
        state = catalog.tables.get(table.name)
        if state is None:
            out.add(ERROR, 'table', table.name, table.name, 'table %s is missing' % table.name,
                    expected='present', actual='missing')
            continue
        out.matched('table', table.name, table.name, 'table %s exists and' % table.name)
        _compare_columns(out, table, state, canonical)
        _compare_constraints(out, table, state, canonical)
        _compare_indexes(out, table, state, canonical)
    known = set(definition.table_names()) | set(MIGRATION_TABLES)
    for name in sorted(set(catalog.tables) - known):
        out.add(WARNING, 'table', name, name, 'table %s is not in the definition' % name,
                expected='absent', actual='present')
    return out.findings


def _compare_migration(out, definition, migration):
    expected = definition.version
    if not migration.table_exists:
        out.add(ERROR, 'migration', 'schema_migrations', 'version',
                'no schema_migrations table: the database records no migration version', expected, None)
        return
    if migration.problem:
        out.add(ERROR, 'migration', 'schema_migrations', 'version', migration.problem, expected, None)
        return
    if not migration.rows:
        out.add(ERROR, 'migration', 'schema_migrations', 'version',
                'schema_migrations is empty: no migration version is recorded', expected, None)
        return
    if len(migration.rows) > 1:
        out.add(ERROR, 'migration', 'schema_migrations', 'version',
                'schema_migrations holds %d rows; golang-migrate keeps exactly one' % len(migration.rows),
                expected, [v for v, dummy in migration.rows])
        return
    if migration.dirty:
        out.add(ERROR, 'migration', 'schema_migrations', 'dirty',
                'the database is dirty at version %d: a migration failed part-way' % migration.version,
                False, True)
    if migration.version != expected:
        out.add(ERROR, 'migration', 'schema_migrations', 'version',
                'migration version is %d, the definition describes %d' % (migration.version, expected),
                expected, migration.version)
    elif not migration.dirty:
        out.matched('migration', 'schema_migrations', 'version', 'migration version %d' % expected)


def _compare_columns(out, table, state, canonical):
    for column in table.columns:
        live = state.column(column.name)
        if live is None:
            out.add(ERROR, 'column', table.name, column.name, 'column %s.%s is missing' % (table.name, column.name),
                    canonical.type_of(table, column), None)
            continue
        before = len(out.findings)
        spelled = canonical.spelled(table)
        expected_type = canonical.type_of(table, column)
        if spelled and live.type != expected_type:
            out.add(ERROR, 'column', table.name, column.name,
                    'column %s.%s has type %s, expected %s' % (table.name, column.name, live.type, expected_type),
                    expected_type, live.type)
        if live.nullable != column.nullable:
            out.add(ERROR, 'column', table.name, column.name, 'column %s.%s is %s, expected %s' % (
                table.name, column.name, _nullability(live.nullable), _nullability(column.nullable)),
                _nullability(column.nullable), _nullability(live.nullable))
        expected_default = canonical.default_of(table, column)
        if spelled and live.default != expected_default:
            out.add(ERROR, 'column', table.name, column.name, 'column %s.%s has default %s, expected %s' % (
                table.name, column.name, _shown(live.default), _shown(expected_default)),
                expected_default, live.default)
        if len(out.findings) == before:
            out.matched('column', table.name, column.name, 'column %s.%s' % (table.name, column.name))
    for live in state.columns:
        if table.column(live.name) is None:
            out.add(WARNING, 'column', table.name, live.name,
                    'column %s.%s is not in the definition' % (table.name, live.name), None, live.type)


def _compare_constraints(out, table, state, canonical):
    for constraint in table.constraints:
        live = state.constraints.get(constraint.name)
        if live is None:
            out.add(ERROR, constraint.kind, table.name, constraint.name,
                    '%s %s on %s is missing' % (constraint.kind, constraint.name, table.name),
                    _describe(table, constraint, canonical), None)
            continue
        before = len(out.findings)
        if live.kind != constraint.kind:
            out.add(ERROR, constraint.kind, table.name, constraint.name, '%s is a %s constraint, expected %s' % (
                constraint.name, live.kind, constraint.kind), constraint.kind, live.kind)
        elif constraint.kind == 'check':
            expected = canonical.check_of(table, constraint)
            if canonical.spelled(table) and not same_rule(expected, live.definition):
                out.add(ERROR, 'check', table.name, constraint.name,
                        'check %s has a different rule' % constraint.name, expected, live.definition)
        else:
            _compare_key(out, table, constraint, live)
        if len(out.findings) == before:
            out.matched(constraint.kind, table.name, constraint.name, '%s %s' % (constraint.kind, constraint.name))
    for name in sorted(set(state.constraints) - set(c.name for c in table.constraints)):
        live = state.constraints[name]
        out.add(WARNING, live.kind, table.name, name, '%s %s on %s is not in the definition' % (
            live.kind, name, table.name), None, live.definition)


def _compare_key(out, table, constraint, live):
    """Primary keys, unique constraints and foreign keys."""
    checks = [('columns', constraint.columns, live.columns)]
    if constraint.kind == 'foreign key':
        checks += [('referenced table', constraint.ref_table, live.ref_table),
                   ('referenced columns', constraint.ref_columns, live.ref_columns),
                   ('ON DELETE', constraint.on_delete, live.on_delete),
                   ('ON UPDATE', constraint.on_update, live.on_update)]
    for aspect, expected, actual in checks:
        if expected != actual:
            out.add(ERROR, constraint.kind, table.name, constraint.name, '%s %s: %s is %s, expected %s' % (
                constraint.kind, constraint.name, aspect, _shown(actual), _shown(expected)), expected, actual)


def _compare_indexes(out, table, state, canonical):
    for index in table.indexes:
        live = state.indexes.get(index.name)
        if live is None:
            out.add(ERROR, 'index', table.name, index.name, 'index %s on %s is missing' % (index.name, table.name),
                    canonical.index_columns_of(table, index), None)
            continue
        checks = [('unique', index.unique, live.unique), ('method', index.method, live.method)]
        if canonical.spelled(table):
            checks[:0] = [('columns', canonical.index_columns_of(table, index), live.columns),
                          ('predicate', canonical.index_where_of(table, index), live.where)]
        differs = False
        for aspect, expected, actual in checks:
            if not (same_rule(expected, actual) if aspect == 'predicate' else expected == actual):
                differs = True
                out.add(ERROR, 'index', table.name, index.name, 'index %s: %s is %s, expected %s' % (
                    index.name, aspect, _shown(actual), _shown(expected)), expected, actual)
        if not differs:
            out.matched('index', table.name, index.name, 'index %s' % index.name)
    for name in sorted(set(state.indexes) - set(i.name for i in table.indexes)):
        live = state.indexes[name]
        out.add(WARNING, 'index', table.name, name, 'index %s on %s is not in the definition' % (name, table.name),
                None, live.columns)


def _nullability(nullable):
    return 'NULL' if nullable else 'NOT NULL'


def _shown(value):
    if value is None:
        return 'none'
    if isinstance(value, list):
        return '(%s)' % ', '.join(str(v) for v in value)
    return str(value)


def _describe(table, constraint, canonical):
    if constraint.kind == 'check':
        return canonical.check_of(table, constraint)
    if constraint.kind == 'foreign key':
        return '(%s) -> %s(%s)' % (', '.join(constraint.columns), constraint.ref_table, ', '.join(constraint.ref_columns))
    return constraint.columns


# ---- summaries ---------------------------------------------------------------

_CATEGORIES = {'column': 'columns', 'index': 'indexes', 'primary key': 'constraints', 'unique': 'constraints',
               'foreign key': 'constraints', 'check': 'constraints', 'exclusion': 'constraints'}


def table_report(definition, catalog, findings):
    """One verdict per table and category, with row count and size."""
    report = {}
    expected = definition.table_names()
    known = set(expected)
    for name in expected + sorted(set(catalog.tables) - known):
        state = catalog.tables.get(name)
        if name in known:
            status = 'present' if state is not None else 'missing'
        elif name in MIGRATION_TABLES:
            status = 'migration tool'
        else:
            status = 'extra'
        report[name] = dict(status=status, columns='ok', indexes='ok', constraints='ok',
                            rows=_rows(state), row_estimate=state.row_estimate if state else None,
                            size_bytes=state.size_bytes if state else None)
        if state is None:
            report[name].update(columns='missing', indexes='missing', constraints='missing')
    for f in findings:
        category = _CATEGORIES.get(f['object_type'])
        entry = report.get(f['table'])
        if category is None or entry is None or f['severity'] == INFO or entry[category] == 'missing':
            continue
        if entry[category] == 'ok' or _RANK[f['severity']] > _RANK[entry[category]]:
            entry[category] = f['severity']
    return report


def _rows(state):
    if state is None:
        return None
    return state.row_count


def summarize(definition, catalog, findings):
    counts = dict((s, 0) for s in (ERROR, WARNING, INFO))
    for f in findings:
        counts[f['severity']] += 1
    expected = definition.table_names()
    extra = set(catalog.tables) - set(expected) - set(MIGRATION_TABLES)
    return dict(errors=counts[ERROR], warnings=counts[WARNING], matched=counts[INFO],
                tables_expected=len(expected),
                tables_present=len([n for n in expected if n in catalog.tables]),
                tables_missing=sorted(n for n in expected if n not in catalog.tables),
                tables_extra=sorted(extra),
                valid=counts[ERROR] == 0)

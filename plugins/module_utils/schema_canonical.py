# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Let PostgreSQL spell the definition's types and expressions canonically.

Why PostgreSQL and not a normaliser in Python: the canonical text of a CHECK
rule, an index predicate or a default depends on the types of the columns it
uses (``provider IN ('a')`` on a varchar column is stored as
``(provider)::text = ANY (ARRAY['a'::character varying]::text[])``), and on
the server version. Only the server's own parser and deparser get that right
for every expression; a text normaliser would be a second, partial SQL parser.

How: inside the caller's transaction (which is always rolled back) the
definition is created as temporary tables, then read back with the very
queries that read the live catalog (schema_catalog). To keep this cheap for
thousands of tables, tables whose columns agree on name and type share one
temporary table ("bucket") that carries all their CHECK rules under
generated names. Index predicates are spelled as CHECK constraints too: both
are stored as the same expression tree, and a constraint costs a tenth of an
index; only indexes with expression columns get a temporary index. Defaults
get temporary columns of their own, one per distinct (type, default). The work is one call of
Session.run_statements (each statement on its own inside a function, where
PostgreSQL refuses COMMIT and ROLLBACK) plus four catalog queries, whatever
the size of the definition. If PostgreSQL rejects a statement (an unknown
type, a bad expression), each table is retried alone under a savepoint so
that the error names the table.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.tmi.postgresql.plugins.module_utils.pg_session import (
    DATABASE_ERRORS,
    describe_database_error,
    sqlstate,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_catalog import (
    TEMP_SCHEMA,
    read_tables,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import quote_ident

# Bounds that keep each temporary table small enough to create quickly
# (PostgreSQL allows 1,600 columns; constraint creation slows with many per table).
_MAX_BUCKET_COLUMNS = 1000
_MAX_BUCKET_ITEMS = 200
_MAX_DEFAULT_COLUMNS = 1000
# SQLSTATEs that are about the session, not the definition: a read-only
# transaction or hot standby, no TEMPORARY privilege, resources, connection.
_ENVIRONMENT_SQLSTATES = ('25006', '42501')
_ENVIRONMENT_CLASSES = ('08', '40', '53', '57')


_RUN_CONTEXT = re.compile(r'; context: PL/pgSQL function [\w.]+\(text\[\]\) line \d+ at EXECUTE$')


class CanonicalizeError(Exception):
    """PostgreSQL would not make temporary tables at all."""


class Canonical(object):
    """Canonical spellings of a definition's types and expressions.

    Every lookup falls back to the definition's own text, so the comparison
    can run (and be unit-tested) without a server.
    """

    def __init__(self):
        self.types = {}          # (table, column) -> format_type()
        self.defaults = {}       # (table, column) -> pg_get_expr()
        self.checks = {}         # (table, constraint) -> pg_get_constraintdef()
        self.index_columns = {}  # (table, index) -> [column or pg_get_indexdef(index, n, true)]
        self.index_where = {}    # (table, index) -> pg_get_expr() of the predicate
        self.errors = []         # [(table, message)]: parts of the definition PostgreSQL rejected

    def spelled(self, table):
        """False when PostgreSQL rejected this table of the definition: its SQL text cannot be compared."""
        return all(name != table.name for name, dummy in self.errors)

    def type_of(self, table, column):
        return self.types.get((table.name, column.name), column.type)

    def default_of(self, table, column):
        return self.defaults.get((table.name, column.name), column.default)

    def check_of(self, table, constraint):
        return self.checks.get((table.name, constraint.name), 'CHECK (%s)' % constraint.expression)

    def index_columns_of(self, table, index):
        return self.index_columns.get((table.name, index.name), index.columns)

    def index_where_of(self, table, index):
        return self.index_where.get((table.name, index.name), index.where)


class _Plan(object):
    """Temporary tables for a list of definition tables, and where each answer will be."""

    def __init__(self, prefix):
        self.prefix = prefix
        self.buckets = []         # [{'name', 'columns': {name: type}, 'items': int}]
        self.statements = []
        self.type_slots = {}      # (bucket, column) -> [(table, column)]
        self.check_slots = {}     # temp constraint name -> (table, constraint)
        self.predicate_slots = {}  # temp constraint name -> (table, index)
        self.index_slots = {}     # temp index name -> (table, index): indexes with expression columns
        self.default_slots = {}   # (temp table, temp column) -> [(table, column)]
        self._default_columns = {}  # (type, expression) -> (temp table, temp column)
        self._default_tables = []   # [{'name', 'columns': [(column, type, expression)]}]

    def add_tables(self, tables):
        for table in tables:
            bucket = self._bucket_for(table)
            for column in table.columns:
                bucket['columns'].setdefault(column.name, column.type)
                self.type_slots.setdefault((bucket['name'], column.name), []).append((table.name, column.name))
                if column.default is not None:
                    self._add_default(table, column)
            bucket['tables'].append(table)
            bucket['items'] += len(table.constraints_of('check')) + len(table.indexes)
        self._write_statements()
        return self

    def _bucket_for(self, table):
        for bucket in self.buckets:
            if _fits(bucket, table):
                return bucket
        bucket = dict(name='%sb%d' % (self.prefix, len(self.buckets)), columns={}, tables=[], items=0)
        self.buckets.append(bucket)
        return bucket

    def _add_default(self, table, column):
        key = (' '.join(column.type.lower().split()), column.default)
        if key not in self._default_columns:
            if not self._default_tables or len(self._default_tables[-1]['columns']) >= _MAX_DEFAULT_COLUMNS:
                self._default_tables.append(dict(name='%sd%d' % (self.prefix, len(self._default_tables)), columns=[]))
            target = self._default_tables[-1]
            temp_column = 'd%d' % len(target['columns'])
            target['columns'].append((temp_column, column.type, column.default))
            self._default_columns[key] = (target['name'], temp_column)
        self.default_slots.setdefault(self._default_columns[key], []).append((table.name, column.name))

    def _write_statements(self):
        for bucket in self.buckets:
            self.statements.append(self._bucket_table(bucket))
            self.statements.extend(self._bucket_indexes(bucket))
        for target in self._default_tables:
            columns = ['%s %s DEFAULT %s' % (name, col_type, expr) for name, col_type, expr in target['columns']]
            self.statements.append('CREATE TEMPORARY TABLE %s (%s)' % (target['name'], ', '.join(columns)))

    def _bucket_table(self, bucket):
        parts = ['%s %s' % (quote_ident(n), t) for n, t in bucket['columns'].items()]
        for table in bucket['tables']:
            for check in table.constraints_of('check'):
                temp = '%sc%d' % (self.prefix, len(self.check_slots))
                self.check_slots[temp] = (table.name, check.name)
                parts.append('CONSTRAINT %s CHECK (%s)' % (temp, check.expression))
            for index in table.indexes:
                if index.where is not None:
                    temp = '%sp%d' % (self.prefix, len(self.predicate_slots))
                    self.predicate_slots[temp] = (table.name, index.name)
                    parts.append('CONSTRAINT %s CHECK (%s)' % (temp, index.where))
        return 'CREATE TEMPORARY TABLE %s (%s)' % (bucket['name'], ', '.join(parts))

    def _bucket_indexes(self, bucket):
        statements = []
        for table in bucket['tables']:
            names = table.column_names()
            for index in table.indexes:
                if not index.has_expression_columns(names):
                    continue
                temp = '%si%d' % (self.prefix, len(self.index_slots))
                self.index_slots[temp] = (table.name, index.name)
                keys = ', '.join(quote_ident(c) if c in names else '(%s)' % c for c in index.columns)
                statements.append('CREATE INDEX %s ON pg_temp.%s USING %s (%s)' % (
                    temp, bucket['name'], index.method, keys))
        return statements

    def collect(self, temp_tables, canonical):
        """Copy the read-back spellings into canonical."""
        for (bucket, column), slots in self.type_slots.items():
            state = temp_tables[bucket].column(column)
            for slot in slots:
                canonical.types[slot] = state.type
        for (temp_table, temp_column), slots in self.default_slots.items():
            state = temp_tables[temp_table].column(temp_column)
            for slot in slots:
                canonical.defaults[slot] = state.default
        for bucket in self.buckets:
            state = temp_tables[bucket['name']]
            for temp, constraint in state.constraints.items():
                if temp in self.check_slots:
                    canonical.checks[self.check_slots[temp]] = constraint.definition
                elif temp in self.predicate_slots:
                    canonical.index_where[self.predicate_slots[temp]] = constraint.expression
            for temp, index in state.indexes.items():
                if temp in self.index_slots:
                    canonical.index_columns[self.index_slots[temp]] = index.columns


def _fits(bucket, table):
    if bucket['items'] >= _MAX_BUCKET_ITEMS:
        return False
    new_columns = 0
    for column in table.columns:
        existing = bucket['columns'].get(column.name)
        if existing is None:
            new_columns += 1
        elif ' '.join(existing.lower().split()) != ' '.join(column.type.lower().split()):
            return False
    return len(bucket['columns']) + new_columns <= _MAX_BUCKET_COLUMNS


def canonicalize(session, definition):
    """Build the definition as temporary objects and read their canonical spellings.

    Runs inside the caller's transaction, which the caller rolls back.
    """
    canonical = Canonical()
    plans = [_Plan('_tmi_').add_tables(definition.tables)]
    session.run('SAVEPOINT tmi_canonical')
    try:
        session.run_statements(plans[0].statements)
    except DATABASE_ERRORS as e:
        if _about_the_session(e):
            raise CanonicalizeError(
                'PostgreSQL refused the temporary tables that spell the definition in its canonical form: %s. '
                'The login role needs the TEMPORARY privilege on the database, and the server must accept '
                'writes (not a hot standby); nothing is ever committed.' % describe_database_error(e))
        session.run('ROLLBACK TO SAVEPOINT tmi_canonical')
        plans = _retry_table_by_table(session, definition, canonical)
    temp_tables = read_tables(session, TEMP_SCHEMA)
    for plan in plans:
        plan.collect(temp_tables, canonical)
    return canonical


def _about_the_session(error):
    state = sqlstate(error)
    return state in _ENVIRONMENT_SQLSTATES or state[:2] in _ENVIRONMENT_CLASSES


def _retry_table_by_table(session, definition, canonical):
    plans = []
    for number, table in enumerate(definition.tables):
        plan = _Plan('_tmi%d_' % number).add_tables([table])
        session.run('SAVEPOINT tmi_table')
        try:
            session.run_statements(plan.statements)
        except DATABASE_ERRORS as e:
            session.run('ROLLBACK TO SAVEPOINT tmi_table')
            # The context line would only name the function that ran the statements.
            canonical.errors.append((table.name, _RUN_CONTEXT.sub('', describe_database_error(e))))
            continue
        session.run('RELEASE SAVEPOINT tmi_table')
        plans.append(plan)
    return plans

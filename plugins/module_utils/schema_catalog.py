# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the catalog of one schema with a fixed number of queries.

One query per object kind (tables, columns, constraints, indexes) covers every
table of the schema at once, so reading 8 tables or 2,000 costs the same
number of round trips. Types come from format_type(), expressions from
pg_get_constraintdef()/pg_get_expr()/pg_get_indexdef(): PostgreSQL's own
canonical spelling. The same reader reads the temporary objects that
schema_canonical builds from a definition, so both sides are spelled alike.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import (
    FK_ACTION_CODES,
    MAX_VERSION,
    quote_ident,
)

CONSTRAINT_KINDS = {'p': 'primary key', 'u': 'unique', 'f': 'foreign key', 'c': 'check', 'x': 'exclusion'}

# {ns} is replaced by a condition on c.relnamespace: a named schema or our temporary one.
NAMED_SCHEMA = "(SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = %(schema)s)"
TEMP_SCHEMA = "pg_catalog.pg_my_temp_schema()"

TABLES_SQL = """
SELECT c.relname::text, c.reltuples::bigint, pg_catalog.pg_total_relation_size(c.oid)
FROM pg_catalog.pg_class c
WHERE c.relnamespace = {ns} AND c.relkind IN ('r', 'p') AND NOT c.relispartition
"""

COLUMNS_SQL = """
SELECT c.relname::text, a.attname::text, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_catalog.pg_get_expr(d.adbin, d.adrelid)
FROM pg_catalog.pg_attribute a
JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
WHERE c.relnamespace = {ns} AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY c.relname, a.attnum
"""

CONSTRAINTS_SQL = """
SELECT c.relname::text, con.conname::text, con.contype::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum ORDER BY k.i),
       r.relname::text,
       ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(attnum, i)
             JOIN pg_catalog.pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum ORDER BY k.i),
       con.confdeltype::text, con.confupdtype::text,
       CASE WHEN con.contype IN ('c', 'x') THEN pg_catalog.pg_get_constraintdef(con.oid) END,
       CASE WHEN con.contype = 'c' THEN pg_catalog.pg_get_expr(con.conbin, con.conrelid) END
FROM pg_catalog.pg_constraint con
JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
LEFT JOIN pg_catalog.pg_class r ON r.oid = con.confrelid
WHERE c.relnamespace = {ns} AND con.contype IN ('p', 'u', 'f', 'c', 'x')
"""

# Indexes that back a primary key, unique or exclusion constraint are reported
# as that constraint. A key column is its name; an expression column is
# spelled by pg_get_indexdef(index, column number, pretty). The predicate is
# spelled like a CHECK expression (pg_get_expr, not pretty), because
# schema_canonical spells the expected predicates as CHECK constraints.
INDEXES_SQL = """
SELECT c.relname::text, i.relname::text, x.indisunique, am.amname::text,
       ARRAY(SELECT CASE WHEN x.indkey[k] = 0 THEN pg_catalog.pg_get_indexdef(x.indexrelid, k + 1, true)
                         ELSE (SELECT a.attname::text FROM pg_catalog.pg_attribute a
                               WHERE a.attrelid = x.indrelid AND a.attnum = x.indkey[k]) END
             FROM generate_series(0, x.indnkeyatts - 1) k ORDER BY k),
       pg_catalog.pg_get_expr(x.indpred, x.indrelid)
FROM pg_catalog.pg_index x
JOIN pg_catalog.pg_class c ON c.oid = x.indrelid
JOIN pg_catalog.pg_class i ON i.oid = x.indexrelid
JOIN pg_catalog.pg_am am ON am.oid = i.relam
WHERE c.relnamespace = {ns} AND c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint con
                  WHERE con.conindid = x.indexrelid AND con.conrelid = x.indrelid AND con.contype IN ('p', 'u', 'x'))
"""


class ColumnState(object):
    def __init__(self, name, type, nullable, default):
        self.name = name
        self.type = type
        self.nullable = nullable
        self.default = default


class ConstraintState(object):
    def __init__(self, name, kind, columns, ref_table, ref_columns, on_delete, on_update, definition,
                 expression=None):
        self.name = name
        self.kind = kind
        self.columns = columns
        self.ref_table = ref_table
        self.ref_columns = ref_columns
        self.on_delete = on_delete
        self.on_update = on_update
        self.definition = definition
        self.expression = expression  # a CHECK's bare expression, pg_get_expr(conbin)


class IndexState(object):
    def __init__(self, name, unique, method, columns, where):
        self.name = name
        self.unique = unique
        self.method = method
        self.columns = columns
        self.where = where


class TableState(object):
    def __init__(self, name, row_estimate=None, size_bytes=None):
        self.name = name
        self.row_estimate = row_estimate
        self.row_count = None
        self.size_bytes = size_bytes
        self.columns = []
        self.constraints = {}
        self.indexes = {}

    def column(self, name):
        for c in self.columns:
            if c.name == name:
                return c
        return None


class MigrationState(object):
    def __init__(self, table_exists=False, rows=(), problem=None):
        self.table_exists = table_exists
        self.rows = list(rows)  # [(version, dirty)]
        self.problem = problem  # what is wrong with a row golang-migrate could not have written

    @property
    def version(self):
        return self.rows[0][0] if len(self.rows) == 1 and not self.problem else None

    @property
    def dirty(self):
        return bool(self.rows[0][1]) if len(self.rows) == 1 and not self.problem else None


class Catalog(object):
    def __init__(self, tables, migration=None, server_version=None):
        self.tables = tables  # {name: TableState}
        self.migration = migration or MigrationState()
        self.server_version = server_version


def read_tables(session, ns, params=None):
    """Tables, columns, constraints and indexes of one namespace: four queries."""
    tables = {}
    for name, estimate, size in session.rows(TABLES_SQL.format(ns=ns), params):
        # reltuples is -1 for a table that was never vacuumed or analyzed: no estimate.
        tables[name] = TableState(name, estimate if estimate >= 0 else None, size)
    for table, name, col_type, notnull, default in session.rows(COLUMNS_SQL.format(ns=ns), params):
        tables[table].columns.append(ColumnState(name, col_type, not notnull, default))
    for row in session.rows(CONSTRAINTS_SQL.format(ns=ns), params):
        table, name, contype, columns, ref_table, ref_columns, deltype, updtype, definition, expression = row
        is_fk = contype == 'f'
        tables[table].constraints[name] = ConstraintState(
            name, CONSTRAINT_KINDS[contype], list(columns), ref_table, list(ref_columns),
            FK_ACTION_CODES.get(deltype) if is_fk else None, FK_ACTION_CODES.get(updtype) if is_fk else None,
            definition, expression)
    for table, name, unique, method, columns, where in session.rows(INDEXES_SQL.format(ns=ns), params):
        tables[table].indexes[name] = IndexState(name, unique, method, list(columns), where)
    return tables


def read_migration_state(session, schema, tables):
    if 'schema_migrations' not in tables:
        return MigrationState(False)
    rows = session.rows('SELECT version, dirty FROM %s.schema_migrations ORDER BY version'
                        % quote_ident(schema))
    for version, dirty in rows:
        problem = migration_row_problem(version, dirty)
        if problem:
            return MigrationState(True, rows, '%s.schema_migrations: %s' % (schema, problem))
    return MigrationState(True, rows)


def migration_row_problem(version, dirty):
    """What is wrong with a (version, dirty) row of schema_migrations, or None.

    golang-migrate writes versions from 0 up, and -1 with dirty true while it
    rolls back to no version at all.
    """
    if isinstance(version, bool) or not isinstance(version, int) or not -1 <= version <= MAX_VERSION:
        return 'version %r is not a migration version (an integer from 0 to %d)' % (version, MAX_VERSION)
    if not isinstance(dirty, bool):
        return 'dirty is %r for version %d, not true or false' % (dirty, version)
    if version == -1 and not dirty:
        return 'version -1 (no version) is recorded as clean; golang-migrate writes it only with dirty true'
    return None


def count_rows(session, schema, tables):
    """Exact row counts of every table, in one statement."""
    names = sorted(tables)
    if not names:
        return
    parts = ['SELECT %d, count(*) FROM %s.%s' % (i, quote_ident(schema), quote_ident(n)) for i, n in enumerate(names)]
    for i, count in session.rows('\nUNION ALL\n'.join(parts)):
        tables[names[i]].row_count = int(count)


def read_catalog(session, schema, exact_counts=False):
    """The live catalog of a schema; the caller holds the transaction."""
    tables = read_tables(session, NAMED_SCHEMA, dict(schema=schema))
    migration = read_migration_state(session, schema, tables)
    if exact_counts:
        count_rows(session, schema, tables)
    return Catalog(tables, migration)

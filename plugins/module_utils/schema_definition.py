# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load and check a schema definition (files/schema/tmi.yml and the like).

The definition arrives as plain data (the action plugin parses the YAML on
the controller). Every key is checked here, and an error names the file and
the key at fault, e.g. ``tmi.yml: tables.users.columns[2].nulable: unknown key``.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_fragment import fragment_problem

FK_ACTIONS = ('no action', 'restrict', 'cascade', 'set null', 'set default')
# pg_constraint.confdeltype / confupdtype letters.
FK_ACTION_CODES = {'a': 'no action', 'r': 'restrict', 'c': 'cascade', 'n': 'set null', 'd': 'set default'}
# serial types are not types: CREATE TABLE turns them into integer + sequence + default.
_PSEUDO_TYPES = ('serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial')
_IDENTIFIER = re.compile(r'^[a-z_][a-z0-9_$]*$')
# golang-migrate's and the migrate module's own tables: never part of a definition.
MIGRATION_TABLES = ('schema_migrations', 'schema_migrations_history')
# schema_migrations.version is a bigint.
MAX_VERSION = 2 ** 63 - 1


class DefinitionError(Exception):
    pass


class Column(object):
    def __init__(self, name, type, nullable=True, default=None):
        self.name = name
        self.type = type
        self.nullable = nullable
        self.default = default


class Constraint(object):
    """A primary key, unique, foreign key or check constraint."""

    def __init__(self, name, kind, columns=(), ref_table=None, ref_columns=(), on_delete='no action',
                 on_update='no action', expression=None):
        self.name = name
        self.kind = kind  # 'primary key' | 'unique' | 'foreign key' | 'check'
        self.columns = list(columns)
        self.ref_table = ref_table
        self.ref_columns = list(ref_columns)
        self.on_delete = on_delete
        self.on_update = on_update
        self.expression = expression


class Index(object):
    def __init__(self, name, columns, unique=False, where=None, method='btree'):
        self.name = name
        self.columns = list(columns)
        self.unique = unique
        self.where = where
        self.method = method

    def has_expression_columns(self, column_names):
        """Whether an entry of columns is an expression (lower(email)) rather than a column."""
        return any(c not in column_names for c in self.columns)


class Table(object):
    def __init__(self, name, columns, constraints, indexes):
        self.name = name
        self.columns = columns
        self.constraints = constraints
        self.indexes = indexes

    def column(self, name):
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def column_names(self):
        return [c.name for c in self.columns]

    def constraints_of(self, kind):
        return [c for c in self.constraints if c.kind == kind]


class Definition(object):
    def __init__(self, version, schema, tables, source):
        self.version = version
        self.schema = schema
        self.tables = tables  # ordered as in the file
        self.source = source
        self._by_name = dict((t.name, t) for t in tables)

    def table(self, name):
        return self._by_name.get(name)

    def table_names(self):
        return [t.name for t in self.tables]


class _Reader(object):
    """Walks the raw data; every error names the file and the key path."""

    def __init__(self, source):
        self.source = source

    def fail(self, path, message):
        raise DefinitionError('%s: %s: %s' % (self.source, path or '(top level)', message))

    def mapping(self, value, path, allowed, required=()):
        if not isinstance(value, dict):
            self.fail(path, 'must be a mapping, got %s' % type(value).__name__)
        for key in value:
            if key not in allowed:
                self.fail(_join(path, key), 'unknown key (expected one of: %s)' % ', '.join(allowed))
        for key in required:
            if key not in value or value[key] is None:
                self.fail(_join(path, key), 'required key is missing')
        return value

    def items(self, value, path, allow_empty=True):
        if value is None:
            value = []
        if not isinstance(value, list):
            self.fail(path, 'must be a list, got %s' % type(value).__name__)
        if not value and not allow_empty:
            self.fail(path, 'must not be empty')
        return value

    def text(self, value, path):
        if not isinstance(value, str) or not value.strip():
            self.fail(path, 'must be a non-empty string')
        return value.strip()

    def sql(self, value, path, what):
        """SQL text put into statements: it must stay inside the statement it is part of.

        what names the object the text belongs to, e.g. "check users_name_check".
        """
        value = self.text(value, path)
        problem = fragment_problem(value)
        if problem:
            self.fail(path, '%s: %s: %s' % (what, problem, value))
        return value

    def name(self, value, path):
        value = self.text(value, path)
        if len(value) > 63:
            self.fail(path, '%r is longer than PostgreSQL\'s 63-byte identifier limit' % value)
        return value

    def boolean(self, value, path):
        if not isinstance(value, bool):
            self.fail(path, 'must be true or false')
        return value

    def sql_literal(self, value, path, what):
        """A default: SQL text; YAML's false/0 are accepted as the SQL they spell."""
        if isinstance(value, bool):
            return 'true' if value else 'false'
        if isinstance(value, int) or (isinstance(value, float) and math.isfinite(value)):
            return str(value)
        return self.sql(value, path, what)

    def identifier(self, value, path):
        """A plain lower-case name that is written into statements unquoted."""
        value = self.name(value, path).lower()
        if not _IDENTIFIER.match(value):
            self.fail(path, '%r is not a plain lower-case name (letters, digits, _)' % value)
        return value

    def names(self, value, path, what, known=None):
        value = self.items(value, path, allow_empty=False)
        result = [self.sql(v, '%s[%d]' % (path, i), what) for i, v in enumerate(value)]
        if len(set(result)) != len(result):
            self.fail(path, 'lists a column twice')
        for i, n in enumerate(result):
            if known is not None and n not in known:
                self.fail('%s[%d]' % (path, i), 'no column %r in this table' % n)
        return result

    def choice(self, value, path, choices):
        value = self.text(value, path).lower()
        if value not in choices:
            self.fail(path, '%r is not one of: %s' % (value, ', '.join(choices)))
        return value


def _join(path, key):
    return '%s.%s' % (path, key) if path else str(key)


def load_definition(data, source='definition'):
    """Check raw definition data; return a Definition or raise DefinitionError."""
    r = _Reader(source)
    r.mapping(data, '', ('version', 'schema', 'tables'), required=('version', 'tables'))
    version = data['version']
    if isinstance(version, bool) or not isinstance(version, int) or not 0 <= version <= MAX_VERSION:
        r.fail('version', 'must be a migration version (an integer from 0 to %d), got %r' % (MAX_VERSION, version))
    schema = r.name(data.get('schema') or 'public', 'schema')
    raw_tables = data['tables']
    r.mapping(raw_tables, 'tables', list(raw_tables) if isinstance(raw_tables, dict) else ())
    if not raw_tables:
        r.fail('tables', 'must list at least one table')
    tables = [_load_table(r, name, raw, 'tables.%s' % name) for name, raw in raw_tables.items()]
    definition = Definition(version, schema, tables, source)
    _check_references(r, definition)
    _check_relation_names(r, definition)
    return definition


def _load_table(r, name, raw, path):
    name = r.name(name, path)
    if name in MIGRATION_TABLES:
        r.fail(path, '%s belongs to the migration tool and cannot be part of a definition' % name)
    r.mapping(raw, path, ('columns', 'primary_key', 'unique', 'foreign_keys', 'indexes', 'checks'),
              required=('columns',))
    columns = [_load_column(r, c, '%s.columns[%d]' % (path, i), name)
               for i, c in enumerate(r.items(raw['columns'], path + '.columns', allow_empty=False))]
    names = [c.name for c in columns]
    for i, n in enumerate(names):
        if n in names[:i]:
            r.fail('%s.columns[%d].name' % (path, i), 'column %r is defined twice' % n)
    constraints = []
    if raw.get('primary_key') is not None:
        constraints.append(_load_key(r, raw['primary_key'], path + '.primary_key', 'primary key', name, names))
    for i, u in enumerate(r.items(raw.get('unique'), path + '.unique')):
        constraints.append(_load_key(r, u, '%s.unique[%d]' % (path, i), 'unique', name, names))
    for i, fk in enumerate(r.items(raw.get('foreign_keys'), path + '.foreign_keys')):
        constraints.append(_load_foreign_key(r, fk, '%s.foreign_keys[%d]' % (path, i), name, names))
    for i, ck in enumerate(r.items(raw.get('checks'), path + '.checks')):
        p = '%s.checks[%d]' % (path, i)
        r.mapping(ck, p, ('name', 'expression'), required=('name', 'expression'))
        check_name = r.name(ck['name'], p + '.name')
        constraints.append(Constraint(check_name, 'check', expression=r.sql(
            ck['expression'], p + '.expression', 'table %s, check %s' % (name, check_name))))
    indexes = [_load_index(r, ix, '%s.indexes[%d]' % (path, i), name)
               for i, ix in enumerate(r.items(raw.get('indexes'), path + '.indexes'))]
    seen = set()
    for c in constraints:
        if c.name in seen:
            r.fail(path, 'constraint %r is defined twice' % c.name)
        seen.add(c.name)
    return Table(name, columns, constraints, indexes)


def _load_column(r, raw, path, table_name):
    r.mapping(raw, path, ('name', 'type', 'nullable', 'default'), required=('name', 'type'))
    name = r.name(raw['name'], path + '.name')
    what = 'table %s, column %s' % (table_name, name)
    col_type = r.sql(raw['type'], path + '.type', what)
    if col_type.lower() in _PSEUDO_TYPES:
        r.fail(path + '.type', '%s is not a type but a shorthand for a sequence and a default; write the '
                               'integer type, and `generated ... as identity` or a nextval() default' % col_type)
    default = raw.get('default')
    return Column(name, col_type,
                  nullable=r.boolean(raw.get('nullable', True), path + '.nullable'),
                  default=None if default is None else r.sql_literal(default, path + '.default', what))


def _load_key(r, raw, path, kind, table_name, column_names):
    r.mapping(raw, path, ('name', 'columns'), required=('name', 'columns'))
    name = r.name(raw['name'], path + '.name')
    return Constraint(name, kind, columns=r.names(raw['columns'], path + '.columns',
                                                  'table %s, %s %s' % (table_name, kind, name), column_names))


def _load_foreign_key(r, raw, path, table_name, column_names):
    r.mapping(raw, path, ('name', 'columns', 'references', 'on_delete', 'on_update'),
              required=('name', 'columns', 'references'))
    ref = r.mapping(raw['references'], path + '.references', ('table', 'columns'), required=('table', 'columns'))
    name = r.name(raw['name'], path + '.name')
    what = 'table %s, foreign key %s' % (table_name, name)
    return Constraint(name, 'foreign key',
                      columns=r.names(raw['columns'], path + '.columns', what, column_names),
                      ref_table=r.name(ref['table'], path + '.references.table'),
                      ref_columns=r.names(ref['columns'], path + '.references.columns', what),
                      on_delete=r.choice(raw.get('on_delete', 'no action'), path + '.on_delete', FK_ACTIONS),
                      on_update=r.choice(raw.get('on_update', 'no action'), path + '.on_update', FK_ACTIONS))


def _load_index(r, raw, path, table_name):
    r.mapping(raw, path, ('name', 'columns', 'unique', 'where', 'method'), required=('name', 'columns'))
    where = raw.get('where')
    name = r.name(raw['name'], path + '.name')
    what = 'table %s, index %s' % (table_name, name)
    return Index(name,
                 # An entry that is not a column of the table is an index expression, e.g. lower(email).
                 r.names(raw['columns'], path + '.columns', what),
                 unique=r.boolean(raw.get('unique', False), path + '.unique'),
                 where=None if where is None else r.sql(where, path + '.where', what),
                 # Written into CREATE INDEX ... USING unquoted.
                 method=r.identifier(raw.get('method', 'btree'), path + '.method'))


def _check_references(r, definition):
    for t in definition.tables:
        for i, fk in enumerate(t.constraints_of('foreign key')):
            path = 'tables.%s.foreign_keys[%d].references' % (t.name, i)
            target = definition.table(fk.ref_table)
            if target is None:
                r.fail(path + '.table', 'no table %r in this definition' % fk.ref_table)
            for n in fk.ref_columns:
                if target.column(n) is None:
                    r.fail(path + '.columns', 'table %r has no column %r' % (fk.ref_table, n))
            if len(fk.ref_columns) != len(fk.columns):
                r.fail(path + '.columns', 'lists %d columns for %d referencing columns'
                       % (len(fk.ref_columns), len(fk.columns)))


def _check_relation_names(r, definition):
    """Tables, indexes, primary keys and unique constraints share one namespace in PostgreSQL."""
    owner = {}
    for t in definition.tables:
        relations = [('tables.%s' % t.name, t.name)]
        relations += [('tables.%s.indexes' % t.name, i.name) for i in t.indexes]
        relations += [('tables.%s' % t.name, c.name) for c in t.constraints if c.kind in ('primary key', 'unique')]
        for path, name in relations:
            if name in owner:
                r.fail(path, 'relation name %r is already used by %s' % (name, owner[name]))
            owner[name] = path


def quote_ident(name):
    """Quote an identifier unless it is a plain lower-case name."""
    if _IDENTIFIER.match(name) and name not in _RESERVED:
        return name
    return '"%s"' % name.replace('"', '""')


def is_plain_identifier(text):
    return bool(_IDENTIFIER.match(text))


# Reserved words that cannot be column or table names unquoted (PostgreSQL's
# "reserved" category; "type", "name", "role" ... are not reserved).
_RESERVED = frozenset((
    'all', 'analyse', 'analyze', 'and', 'any', 'array', 'as', 'asc', 'asymmetric', 'both', 'case', 'cast',
    'check', 'collate', 'column', 'constraint', 'create', 'current_catalog', 'current_date', 'current_role',
    'current_time', 'current_timestamp', 'current_user', 'default', 'deferrable', 'desc', 'distinct', 'do',
    'else', 'end', 'except', 'false', 'fetch', 'for', 'foreign', 'from', 'grant', 'group', 'having', 'in',
    'initially', 'intersect', 'into', 'lateral', 'leading', 'limit', 'localtime', 'localtimestamp', 'not',
    'null', 'offset', 'on', 'only', 'or', 'order', 'placing', 'primary', 'references', 'returning', 'select',
    'session_user', 'some', 'symmetric', 'table', 'then', 'to', 'trailing', 'true', 'union', 'unique', 'user',
    'using', 'variadic', 'when', 'where', 'window', 'with',
))

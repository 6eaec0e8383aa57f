"""The comparison alone: hand-made catalogs, no server."""
import os

import pytest
import yaml
from migration_files import objects_of

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_canonical import Canonical
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_catalog import (
    Catalog,
    ColumnState,
    ConstraintState,
    IndexState,
    MigrationState,
    TableState,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_compare import compare, same_rule, summarize, table_report
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import load_definition

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))


@pytest.fixture(scope='module')
def definition():
    with open(os.path.join(REPO, 'files', 'schema', 'tmi.yml')) as f:
        return load_definition(yaml.safe_load(f), 'tmi.yml')


def matching_catalog(definition):
    """A catalog exactly as the definition says, spelled as the definition spells it."""
    tables = {}
    for t in definition.tables:
        state = TableState(t.name, 0, 8192)
        state.columns = [ColumnState(c.name, c.type, c.nullable, c.default) for c in t.columns]
        for c in t.constraints:
            state.constraints[c.name] = ConstraintState(
                c.name, c.kind, list(c.columns), c.ref_table, list(c.ref_columns),
                c.on_delete if c.kind == 'foreign key' else None, c.on_update if c.kind == 'foreign key' else None,
                'CHECK (%s)' % c.expression if c.kind == 'check' else 'whatever')
        for i in t.indexes:
            state.indexes[i.name] = IndexState(i.name, i.unique, i.method, list(i.columns), i.where)
        tables[t.name] = state
    tables['schema_migrations'] = TableState('schema_migrations', 1, 8192)
    tables['schema_migrations_history'] = TableState('schema_migrations_history', 8, 8192)
    return Catalog(tables, MigrationState(True, [(definition.version, False)]))


def problems(definition, catalog, canonical=None):
    findings = compare(definition, canonical or Canonical(), catalog)
    return [(f['severity'], f['object_type'], f['table'], f['object']) for f in findings if f['severity'] != 'info']


def test_matching_catalog_gives_only_info(definition):
    catalog = matching_catalog(definition)
    findings = compare(definition, Canonical(), catalog)
    assert findings and set(f['severity'] for f in findings) == {'info'}
    summary = summarize(definition, catalog, findings)
    assert summary['valid'] and summary['errors'] == 0 and summary['warnings'] == 0
    assert summary['tables_present'] == len(definition.tables) and summary['tables_extra'] == []
    # Every table, column, constraint and index of the definition, and the version.
    assert summary['matched'] == objects_of(definition)


def test_report_matches_false_leaves_no_info(definition):
    assert compare(definition, Canonical(), matching_catalog(definition), report_matches=False) == []


def _users(catalog):
    return catalog.tables['users']


@pytest.mark.parametrize('mutate, expected', [
    (lambda c: c.tables.pop('diagrams'), [('error', 'table', 'diagrams', 'diagrams')]),
    (lambda c: c.tables.__setitem__('audit', TableState('audit')), [('warning', 'table', 'audit', 'audit')]),
    (lambda c: _users(c).columns.pop(), [('error', 'column', 'users', 'last_login')]),
    (lambda c: _users(c).columns.append(ColumnState('nickname', 'text', True, None)),
     [('warning', 'column', 'users', 'nickname')]),
    (lambda c: setattr(_users(c).column('email'), 'type', 'varchar(255)'), [('error', 'column', 'users', 'email')]),
    (lambda c: setattr(_users(c).column('email'), 'nullable', True), [('error', 'column', 'users', 'email')]),
    (lambda c: setattr(_users(c).column('id'), 'default', None), [('error', 'column', 'users', 'id')]),
    (lambda c: _users(c).indexes.pop('idx_users_email'), [('error', 'index', 'users', 'idx_users_email')]),
    (lambda c: setattr(_users(c).indexes['idx_users_email'], 'unique', True),
     [('error', 'index', 'users', 'idx_users_email')]),
    (lambda c: _users(c).indexes.__setitem__('idx_x', IndexState('idx_x', False, 'btree', ['name'], None)),
     [('warning', 'index', 'users', 'idx_x')]),
    (lambda c: setattr(c.tables['threat_models'].constraints['threat_models_owner_email_fkey'], 'on_delete', 'cascade'),
     [('error', 'foreign key', 'threat_models', 'threat_models_owner_email_fkey')]),
    (lambda c: setattr(c.tables['threats'].constraints['threats_severity_check'], 'definition', 'CHECK (true)'),
     [('error', 'check', 'threats', 'threats_severity_check')]),
    (lambda c: _users(c).constraints.pop('users_email_key'), [('error', 'unique', 'users', 'users_email_key')]),
    # Dirty at the definition's version; then the version below it.
    (lambda c: setattr(c, 'migration', MigrationState(True, [(c.migration.version, True)])),
     [('error', 'migration', 'schema_migrations', 'dirty')]),
    (lambda c: setattr(c, 'migration', MigrationState(True, [(c.migration.version - 1, False)])),
     [('error', 'migration', 'schema_migrations', 'version')]),
    (lambda c: setattr(c, 'migration', MigrationState(False)),
     [('error', 'migration', 'schema_migrations', 'version')]),
    (lambda c: setattr(c, 'migration', MigrationState(True, [])),
     [('error', 'migration', 'schema_migrations', 'version')]),
])
def test_each_difference_is_one_finding(definition, mutate, expected):
    catalog = matching_catalog(definition)
    mutate(catalog)
    assert problems(definition, catalog) == expected


def test_fk_action_finding_says_what_and_what_was_expected(definition):
    catalog = matching_catalog(definition)
    catalog.tables['threat_models'].constraints['threat_models_owner_email_fkey'].on_delete = 'cascade'
    [f] = [f for f in compare(definition, Canonical(), catalog) if f['severity'] == 'error']
    assert (f['expected'], f['actual']) == ('restrict', 'cascade')
    assert 'ON DELETE is cascade, expected restrict' in f['message']


def test_canonical_spellings_are_what_is_compared(definition):
    catalog = matching_catalog(definition)
    catalog.tables['users'].column('email').type = 'character varying(320)'
    assert problems(definition, catalog) == [('error', 'column', 'users', 'email')]
    canonical = Canonical()
    canonical.types[('users', 'email')] = 'character varying(320)'
    assert problems(definition, catalog, canonical) == []


def test_rejected_table_of_the_definition_is_an_error(definition):
    canonical = Canonical()
    canonical.errors.append(('users', 'type "citext" does not exist'))
    catalog = matching_catalog(definition)
    catalog.tables['users'].column('email').type = 'character varying(320)'  # not comparable: not reported
    catalog.tables['users'].column('name').nullable = True  # still compared
    assert problems(definition, catalog, canonical) == [('error', 'definition', 'users', 'users'),
                                                        ('error', 'column', 'users', 'name')]


def test_table_report_gives_verdicts(definition):
    catalog = matching_catalog(definition)
    catalog.tables.pop('diagrams')
    catalog.tables['users'].columns.append(ColumnState('nickname', 'text', True, None))
    catalog.tables['threats'].indexes.pop('idx_threats_severity')
    catalog.tables['audit'] = TableState('audit', 0, 0)
    findings = compare(definition, Canonical(), catalog)
    report = table_report(definition, catalog, findings)
    assert report['diagrams']['status'] == 'missing'
    assert (report['users']['columns'], report['users']['indexes']) == ('warning', 'ok')
    assert report['threats']['indexes'] == 'error'
    assert report['audit']['status'] == 'extra'
    assert report['schema_migrations']['status'] == 'migration tool'
    summary = summarize(definition, catalog, findings)
    assert summary['tables_missing'] == ['diagrams'] and summary['tables_extra'] == ['audit']
    assert (summary['errors'], summary['warnings'], summary['valid']) == (2, 2, False)


@pytest.mark.parametrize('expected, actual, same', [
    # What migration 8 leaves, and what pg_dump/pg_restore turns it into.
    ("CHECK (((provider)::text = ANY ((ARRAY['google'::character varying, 'github'::character varying])::text[])))",
     "CHECK (((provider)::text = ANY (ARRAY[('google'::character varying)::text, ('github'::character varying)::text])))",
     True),
    ("CHECK (((provider)::text = ANY ((ARRAY['google'::character varying, 'github'::character varying])::text[])))",
     "CHECK (((provider)::text = ANY (ARRAY[('google'::character varying)::text, ('gitlab'::character varying)::text])))",
     False),
    ('CHECK ((expires_at > created_at))', 'CHECK ((expires_at >= created_at))', False),
    ('CHECK ((expires_at > created_at))', 'CHECK ((created_at > expires_at))', False),
    ('is_primary', None, False),
    (None, None, True),
])
def test_same_rule_ignores_only_casts_and_parentheses(expected, actual, same):
    assert same_rule(expected, actual) is same

import copy
import os

import pytest
import yaml

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import (
    DefinitionError,
    load_definition,
    quote_ident,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..', '..'))
TMI_YML = os.path.join(REPO, 'files', 'schema', 'tmi.yml')


def tmi_data():
    with open(TMI_YML) as f:
        return yaml.safe_load(f)


def minimal():
    return {
        'version': 3,
        'tables': {
            'parents': {
                'columns': [{'name': 'id', 'type': 'uuid', 'nullable': False}],
                'primary_key': {'name': 'parents_pkey', 'columns': ['id']},
            },
            'children': {
                'columns': [{'name': 'id', 'type': 'uuid', 'nullable': False},
                            {'name': 'parent_id', 'type': 'uuid'}],
                'foreign_keys': [{'name': 'children_parent_id_fkey', 'columns': ['parent_id'],
                                  'references': {'table': 'parents', 'columns': ['id']}}],
            },
        },
    }


def test_tmi_definition_describes_the_specification():
    d = load_definition(tmi_data(), 'tmi.yml')
    assert d.schema == 'public'
    assert d.table_names() == ['users', 'threat_models', 'threat_model_access', 'threats', 'diagrams',
                               'refresh_tokens', 'user_providers']
    assert sum(len(t.indexes) for t in d.tables) == 18
    assert sum(len(t.constraints_of('check')) for t in d.tables) == 8
    for t in d.tables:
        assert [c.name for c in t.constraints_of('primary key')] == ['%s_pkey' % t.name]
        assert t.column('created_at').default == 'now()' and not t.column('created_at').nullable
        assert t.column('id').type == 'uuid' and t.column('id').default == 'gen_random_uuid()'
    fk = [c for c in d.table('threat_models').constraints if c.kind == 'foreign key'][0]
    assert (fk.ref_table, fk.ref_columns, fk.on_delete, fk.on_update) == ('users', ['email'], 'restrict', 'cascade')
    primary = [i for i in d.table('user_providers').indexes if i.name == 'idx_user_providers_one_primary'][0]
    assert (primary.unique, primary.where, primary.columns) == (True, 'is_primary', ['user_id'])
    assert d.table('user_providers').column('is_primary').default == 'false'
    assert d.table('users').column('email').type == 'varchar(320)'


def test_defaults_are_filled_in():
    d = load_definition(minimal())
    fk = d.table('children').constraints[0]
    assert (fk.on_delete, fk.on_update) == ('no action', 'no action')
    assert d.table('children').column('parent_id').nullable is True
    assert d.schema == 'public'


def _mutated(mutate):
    data = minimal()
    mutate(data)
    return data


@pytest.mark.parametrize('mutate, where, what', [
    (lambda d: d.pop('version'), 'version', 'required'),
    (lambda d: d.update(version='8'), 'version', 'integer'),
    (lambda d: d.update(extra=1), 'extra', 'unknown key'),
    (lambda d: d.update(tables={}), 'tables', 'at least one table'),
    (lambda d: d['tables']['parents']['columns'][0].update(nulable=True), 'tables.parents.columns[0].nulable',
     'unknown key'),
    (lambda d: d['tables']['parents']['columns'][0].pop('type'), 'tables.parents.columns[0].type', 'required'),
    (lambda d: d['tables']['parents']['columns'][0].update(type='serial'), 'tables.parents.columns[0].type',
     'not a type'),
    (lambda d: d['tables']['parents']['columns'][0].update(nullable='no'), 'tables.parents.columns[0].nullable',
     'true or false'),
    (lambda d: d['tables']['parents']['columns'].append({'name': 'id', 'type': 'int'}),
     'tables.parents.columns[1].name', 'defined twice'),
    (lambda d: d['tables']['parents']['primary_key'].update(columns=['nope']),
     'tables.parents.primary_key.columns[0]', "no column 'nope'"),
    (lambda d: d['tables']['children']['foreign_keys'][0]['references'].update(table='ghosts'),
     'tables.children.foreign_keys[0].references.table', "no table 'ghosts'"),
    (lambda d: d['tables']['children']['foreign_keys'][0]['references'].update(columns=['nope']),
     'tables.children.foreign_keys[0].references.columns', "no column 'nope'"),
    (lambda d: d['tables']['children']['foreign_keys'][0].update(on_delete='explode'),
     'tables.children.foreign_keys[0].on_delete', 'not one of'),
    (lambda d: d['tables']['children'].update(checks=[{'name': 'c', 'expression': "1 = 1; DROP TABLE parents"}]),
     'tables.children.checks[0].expression', 'end the statement'),
    (lambda d: d['tables']['children'].update(indexes=[{'name': 'parents_pkey', 'columns': ['id']}]),
     'tables.children.indexes', "'parents_pkey' is already used"),
    (lambda d: d['tables'].update(schema_migrations={'columns': [{'name': 'v', 'type': 'int'}]}),
     'tables.schema_migrations', 'migration tool'),
    (lambda d: d['tables']['parents'].update(indexs=[]), 'tables.parents.indexs', 'unknown key'),
])
def test_errors_name_the_file_and_the_key(mutate, where, what):
    with pytest.raises(DefinitionError) as e:
        load_definition(_mutated(mutate), 'my.yml')
    assert str(e.value).startswith('my.yml: %s: ' % where)
    assert what in str(e.value)


def test_semicolon_inside_a_literal_is_accepted():
    data = minimal()
    data['tables']['children']['checks'] = [{'name': 'c', 'expression': "parent_id::text <> ';'"}]
    assert load_definition(data).table('children').constraints_of('check')[0].expression == "parent_id::text <> ';'"


def test_yaml_scalars_become_sql_defaults():
    data = copy.deepcopy(minimal())
    data['tables']['parents']['columns'].append({'name': 'flag', 'type': 'boolean', 'default': False})
    data['tables']['parents']['columns'].append({'name': 'n', 'type': 'int', 'default': 0})
    t = load_definition(data).table('parents')
    assert (t.column('flag').default, t.column('n').default) == ('false', '0')


@pytest.mark.parametrize('name, quoted', [('users', 'users'), ('type', 'type'), ('user', '"user"'),
                                          ('Mixed', '"Mixed"'), ('a"b', '"a""b"')])
def test_quote_ident(name, quoted):
    assert quote_ident(name) == quoted


def test_version_is_the_newest_migration():
    versions = [int(name.split('_')[0]) for name in os.listdir(os.path.join(REPO, 'files', 'migrations'))
                if name.endswith('.up.sql')]
    version = load_definition(tmi_data()).version
    assert version == max(versions), (
        'files/schema/tmi.yml describes version %d but the newest migration is %d: update the definition to what '
        'that migration leaves, and its version (docs/migrations.md, "Adding a migration")' % (version, max(versions)))


def test_index_and_check_names_are_the_specifications():
    d = load_definition(tmi_data())
    assert sorted(i.name for t in d.tables for i in t.indexes) == sorted([
        'idx_users_email', 'idx_users_last_login', 'idx_user_providers_user_id', 'idx_user_providers_provider_lookup',
        'idx_user_providers_email', 'idx_user_providers_one_primary', 'idx_threat_models_owner_email',
        'idx_threat_model_access_threat_model_id', 'idx_threat_model_access_user_email', 'idx_threat_model_access_role',
        'idx_threats_threat_model_id', 'idx_threats_threat_model_id_created_at', 'idx_threats_severity',
        'idx_threats_risk_level', 'idx_diagrams_threat_model_id', 'idx_diagrams_threat_model_id_type',
        'idx_diagrams_type', 'idx_refresh_tokens_user_id'])
    assert sorted(c.name for t in d.tables for c in t.constraints_of('check')) == sorted([
        'user_providers_provider_check', 'user_providers_provider_user_id_check', 'threat_model_access_role_check',
        'threats_severity_check', 'threats_likelihood_check', 'threats_risk_level_check', 'diagrams_type_check',
        'refresh_tokens_expires_at_check'])
    assert sorted(c.name for t in d.tables for c in t.constraints_of('unique')) == sorted([
        'users_email_key', 'user_providers_user_id_provider_key', 'threat_model_access_threat_model_id_user_email_key',
        'refresh_tokens_token_key'])


def test_a_check_with_an_unbalanced_quote_is_refused_with_table_and_check():
    data = minimal()
    data['tables']['parents']['columns'].append({'name': 'c', 'type': 'text'})
    data['tables']['parents']['checks'] = [
        {'name': 'c_one', 'expression': "c <> 'a"},
        {'name': 'c_two', 'expression': "')); COMMIT; DROP TABLE victim; SELECT (('1'"}]
    with pytest.raises(DefinitionError) as e:
        load_definition(data, 'evil.yml')
    assert str(e.value).startswith("evil.yml: tables.parents.checks[0].expression: table parents, check c_one: "
                                   "unterminated quoted string starting at character 6")


@pytest.mark.parametrize('where, value, what', [
    ('columns[0].type', 'uuid); DROP TABLE parents; --', 'table parents, column id: a ) at character 5'),
    ('columns[0].default', "'x", 'table parents, column id: unterminated quoted string'),
    ('indexes[0].where', 'id IS NOT NULL -- x', 'table parents, index i: a -- comment'),
    ('indexes[0].columns[0]', 'lower(id', 'table parents, index i: 1 unclosed parenthesis'),
    ('indexes[0].method', 'btree (id); DROP TABLE parents; --', 'is not a plain lower-case name'),
])
def test_every_sql_text_is_checked(where, value, what):
    data = minimal()
    table = data['tables']['parents']
    table['indexes'] = [{'name': 'i', 'columns': ['id']}]
    parent, key = where.rsplit('.', 1)
    target = table
    for part in parent.replace(']', '').split('.'):
        name, index = part.split('[')
        target = target[name][int(index)]
    if key.endswith(']'):
        key, index = key[:-1].split('[')
        target[key][int(index)] = value
    else:
        target[key] = value
    with pytest.raises(DefinitionError) as e:
        load_definition(data, 'evil.yml')
    assert str(e.value).startswith('evil.yml: tables.parents.%s: ' % where)
    assert what in str(e.value)


def test_a_version_beyond_bigint_is_refused():
    with pytest.raises(DefinitionError, match=r'version: must be a migration version \(an integer from 0 to '):
        load_definition(_mutated(lambda d: d.update(version=2 ** 63)))

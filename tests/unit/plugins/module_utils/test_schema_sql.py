import pytest

from ansible_collections.tmi.postgresql.plugins.filter.schema_sql import schema_sql
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import load_definition
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_sql import dependency_order, generate_sql

from ansible.errors import AnsibleFilterError


def col(name, type='uuid', **kw):
    return dict(name=name, type=type, **kw)


def fk(name, column, table):
    return dict(name=name, columns=[column], references=dict(table=table, columns=['id']))


def definition(tables):
    return load_definition({'version': 2, 'tables': tables})


def test_referenced_tables_come_first():
    d = definition({
        'c': {'columns': [col('id'), col('b_id')], 'foreign_keys': [fk('c_b', 'b_id', 'b')]},
        'b': {'columns': [col('id'), col('a_id')], 'foreign_keys': [fk('b_a', 'a_id', 'a')]},
        'a': {'columns': [col('id')], 'primary_key': {'name': 'a_pkey', 'columns': ['id']}},
    })
    assert [t.name for t in dependency_order(d)] == ['a', 'b', 'c']


def test_a_cycle_is_closed_with_alter_table():
    d = definition({
        'a': {'columns': [col('id'), col('b_id')], 'primary_key': {'name': 'a_pkey', 'columns': ['id']},
              'foreign_keys': [fk('a_b', 'b_id', 'b')]},
        'b': {'columns': [col('id'), col('a_id')], 'primary_key': {'name': 'b_pkey', 'columns': ['id']},
              'foreign_keys': [fk('b_a', 'a_id', 'a')]},
    })
    sql = generate_sql(d)
    assert sql.index('CREATE TABLE public.a') < sql.index('CREATE TABLE public.b')
    assert 'ALTER TABLE public.a ADD CONSTRAINT a_b FOREIGN KEY (b_id) REFERENCES public.b (id);' in sql
    assert 'CONSTRAINT b_a FOREIGN KEY (a_id) REFERENCES public.a (id)' in sql.split('CREATE TABLE public.b')[1]


def test_columns_keys_indexes_and_version():
    d = definition({'t': {
        'columns': [col('id', nullable=False, default='gen_random_uuid()'), col('user', 'varchar(20)'),
                    col('on', 'boolean', default=False)],
        'primary_key': {'name': 't_pkey', 'columns': ['id']},
        'unique': [{'name': 't_user_key', 'columns': ['user']}],
        'checks': [{'name': 't_user_check', 'expression': "\"user\" <> ''"}],
        'indexes': [{'name': 't_lower', 'columns': ['lower("user")', 'id'], 'unique': True, 'where': '"on"'}],
    }})
    sql = generate_sql(d)
    assert 'id uuid NOT NULL DEFAULT gen_random_uuid(),' in sql
    assert '"user" varchar(20),' in sql and '"on" boolean DEFAULT false,' in sql
    assert 'CONSTRAINT t_user_key UNIQUE ("user"),' in sql
    assert 'CREATE UNIQUE INDEX t_lower ON public.t USING btree ((lower("user")), id) WHERE "on";' in sql
    assert sql.endswith('INSERT INTO public.schema_migrations (version, dirty) VALUES (2, false);\n')
    assert 'schema_migrations' not in generate_sql(d, record_version=False)


def test_filter_reports_definition_errors():
    with pytest.raises(AnsibleFilterError, match='mine.yml: version'):
        schema_sql({'version': -1, 'tables': {}}, source='mine.yml')

import hashlib

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import (
    MigrationError,
    load_migrations,
)

UP = 'CREATE TABLE t (id int);\n'
DOWN = 'DROP TABLE t;\n'


def refused(files):
    with pytest.raises(MigrationError) as e:
        load_migrations(files)
    return e.value


def test_pairs_sorted_by_number_not_by_name():
    migrations = load_migrations({
        '10_ten.up.sql': UP, '000002_two.up.sql': UP, '000002_two.down.sql': DOWN, '.gitkeep': '',
    })
    assert [(m.version, m.name, m.down is not None) for m in migrations] == [(2, 'two', True), (10, 'ten', False)]


def test_checksum_is_sha256_of_the_text():
    m = load_migrations({'000001_a.up.sql': 'SELECT 1;\n'})[0]
    assert m.up.sha256 == hashlib.sha256(b'SELECT 1;\n').hexdigest()


@pytest.mark.parametrize('name', [
    'README.md', '000001_a.sql', '000001_a.up.SQL', '000001.up.sql', 'v1_a.up.sql', '000001_a.sideways.sql',
    '000001_a b.up.sql', '000001_.up.sql',
])
def test_bad_names_are_refused_with_the_file_named(name):
    error = refused({'000001_a.up.sql': UP, name: UP})
    assert error.filename == name
    assert 'NNNNNN_name.up.sql' in str(error)


def test_version_zero_is_refused():
    assert refused({'000000_zero.up.sql': UP}).filename == '000000_zero.up.sql'


def test_duplicate_versions_are_refused_naming_both_files():
    error = refused({'000001_a.up.sql': UP, '1_a.up.sql': UP})
    assert '000001_a.up.sql' in str(error) and error.filename == '1_a.up.sql'


def test_up_and_down_with_different_names_are_refused():
    error = refused({'000001_a.up.sql': UP, '000001_b.down.sql': DOWN})
    assert 'two names' in str(error)


def test_down_without_up_is_refused():
    assert refused({'000001_a.down.sql': DOWN}).filename == '000001_a.down.sql'


@pytest.mark.parametrize('content', ['', '  \n\n', '-- only a comment\n', ';\n', 'BEGIN;\nCOMMIT;\n'])
def test_empty_files_are_refused(content):
    error = refused({'000001_a.up.sql': content})
    assert error.filename == '000001_a.up.sql' and 'empty' in str(error)


def test_unterminated_quote_names_file_and_line():
    error = refused({'000001_a.up.sql': "SELECT 1;\nSELECT 'x;\n"})
    assert (error.filename, error.line) == ('000001_a.up.sql', 2)


def test_begin_commit_wrapper_is_dropped():
    m = load_migrations({'000001_a.up.sql': 'BEGIN;\nCREATE TABLE t (id int);\nCOMMIT;\n'})[0]
    assert [s.text for s in m.up.statements] == ['CREATE TABLE t (id int)']


def test_commit_in_the_middle_is_refused_with_its_line():
    error = refused({'000001_a.up.sql': 'CREATE TABLE t (id int);\nCOMMIT;\nCREATE TABLE u (id int);\n'})
    assert (error.filename, error.line) == ('000001_a.up.sql', 2)
    assert 'tmi:no-transaction' in str(error)


def test_no_transaction_marker_on_the_first_line():
    m = load_migrations({
        '000001_a.up.sql': '-- tmi:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (id);\n',
        '000001_a.down.sql': 'SELECT 1; -- tmi:no-transaction\n',
    })[0]
    assert m.up.no_transaction and not m.down.no_transaction


ATOMIC = ('CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;\n')


@pytest.mark.parametrize('content, lines', [
    ('-- the leading comment every migration has\n' + ATOMIC, [2]),
    ('CREATE TABLE t (id int);\n' + ATOMIC + 'SELECT f();\n', [1, 2, 6]),
    ('BEGIN;\n' + ATOMIC + 'COMMIT;\n', [2]),
])
def test_begin_atomic_bodies_are_not_transaction_control(content, lines):
    m = load_migrations({'000001_a.up.sql': content})[0]
    assert [s.line for s in m.up.statements] == lines


def test_multi_action_rule_is_one_statement():
    m = load_migrations({'000001_a.up.sql': 'CREATE RULE r AS ON INSERT TO t DO ALSO (\n'
                                            '  INSERT INTO a VALUES (1);\n  UPDATE b SET n = n + 1\n);\n'})[0]
    assert len(m.up.statements) == 1


@pytest.mark.parametrize('statement', [
    'PREPARE q AS SELECT 1', 'SAVEPOINT s', 'RELEASE SAVEPOINT s', 'ROLLBACK TO SAVEPOINT s', 'ROLLBACK WORK TO s',
])
def test_statements_that_keep_the_transaction_are_allowed(statement):
    m = load_migrations({'000001_a.up.sql': 'SELECT 1;\n%s;\nSELECT 2;\n' % statement})[0]
    assert [s.text for s in m.up.statements][1] == statement


@pytest.mark.parametrize('statement', [
    'ROLLBACK', 'ABORT', 'END', 'START TRANSACTION', 'PREPARE TRANSACTION \'x\'', 'COMMIT PREPARED \'x\'',
])
def test_statements_that_end_the_transaction_are_refused(statement):
    error = refused({'000001_a.up.sql': 'SELECT 1;\n%s;\nSELECT 2;\n' % statement})
    assert error.line == 2 and 'transaction control' in str(error)


@pytest.mark.parametrize('first_line', ['-- tmi:no-transaction\n', 'SELECT 1;\n'])
def test_byte_order_mark_is_refused_naming_the_file(first_line):
    error = refused({'000001_a.up.sql': '\ufeff' + first_line + 'CREATE INDEX CONCURRENTLY i ON t (id);\n'})
    assert (error.filename, error.line) == ('000001_a.up.sql', 1)
    assert 'byte order mark' in str(error)


def test_nul_character_is_refused_with_its_line():
    error = refused({'000001_a.up.sql': 'SELECT 1;\nSELECT \'\x00\';\n'})
    assert (error.filename, error.line) == ('000001_a.up.sql', 2) and 'NUL' in str(error)

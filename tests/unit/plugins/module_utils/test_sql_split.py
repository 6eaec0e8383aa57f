import glob
import os
import re

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.sql_split import SqlSyntaxError, split_statements, tokens


def texts(sql):
    return [s.text for s in split_statements(sql)]


def test_splits_on_top_level_semicolons_and_keeps_lines():
    statements = split_statements('-- header\nCREATE TABLE a (id int);\n\nINSERT INTO a VALUES (1);\n')
    assert [s.text for s in statements] == ['CREATE TABLE a (id int)', 'INSERT INTO a VALUES (1)']
    assert [s.line for s in statements] == [2, 4]


@pytest.mark.parametrize('sql, expected', [
    ("SELECT 'a;b'; SELECT 2", ["SELECT 'a;b'", 'SELECT 2']),
    ("SELECT 'it''s;'; SELECT 2", ["SELECT 'it''s;'", 'SELECT 2']),
    ("SELECT E'\\';'; SELECT 2", ["SELECT E'\\';'", 'SELECT 2']),
    ('SELECT 1 AS "a;b"; SELECT 2', ['SELECT 1 AS "a;b"', 'SELECT 2']),
    ('SELECT 1 /* a; /* nested; */ b; */; SELECT 2', ['SELECT 1 /* a; /* nested; */ b; */', 'SELECT 2']),
    ('SELECT 1 -- a; b\n; SELECT 2', ['SELECT 1 -- a; b', 'SELECT 2']),
    ('DO $$ BEGIN PERFORM 1; END $$; SELECT 2', ['DO $$ BEGIN PERFORM 1; END $$', 'SELECT 2']),
    ('DO $x$ BEGIN RAISE NOTICE $$;$$; END $x$; SELECT 2', ['DO $x$ BEGIN RAISE NOTICE $$;$$; END $x$', 'SELECT 2']),
    ('PREPARE p AS SELECT $1; SELECT 2', ['PREPARE p AS SELECT $1', 'SELECT 2']),
    ('CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END; SELECT 3',
     ['CREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; SELECT CASE WHEN true THEN 2 END; END',
      'SELECT 3']),
    ('SELECT 1;;  ; -- only a comment\n', ['SELECT 1']),
    # issue 9: a BEGIN ATOMIC body after a comment or after another statement
    ('-- header\nCREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND;\nSELECT 2',
     ['CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\nEND', 'SELECT 2']),
    ('SELECT 1; create or replace procedure p() language sql begin atomic insert into t values (1); '
     'update t set a = case when a > 1 then 2 end; end; SELECT 3',
     ['SELECT 1', 'create or replace procedure p() language sql begin atomic insert into t values (1); '
      'update t set a = case when a > 1 then 2 end; end', 'SELECT 3']),
    ('/* c */ CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END; COMMIT',
     ['CREATE FUNCTION g() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1; END', 'COMMIT']),
    # issue 9: a multi-action rule is one statement
    ('CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); UPDATE b SET n = n + 1); SELECT 2',
     ['CREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1); UPDATE b SET n = n + 1)', 'SELECT 2']),
    # BEGIN/END count only in CREATE [OR REPLACE] FUNCTION|PROCEDURE, outside parentheses
    ('BEGIN; SELECT 1; END; SELECT 2', ['BEGIN', 'SELECT 1', 'END', 'SELECT 2']),
    ('CREATE TABLE begin_end (begin int); SELECT 2', ['CREATE TABLE begin_end (begin int)', 'SELECT 2']),
    ('CREATE FUNCTION f(begin int) RETURNS int RETURN CASE WHEN begin > 0 THEN 1 END; SELECT 2',
     ['CREATE FUNCTION f(begin int) RETURNS int RETURN CASE WHEN begin > 0 THEN 1 END', 'SELECT 2']),
    # the other quote forms of psqlscan.l
    ("SELECT U&'d\\0061t;' UESCAPE '!'; SELECT 2", ["SELECT U&'d\\0061t;' UESCAPE '!'", 'SELECT 2']),
    ('SELECT 1 AS U&"a;b"; SELECT 2', ['SELECT 1 AS U&"a;b"', 'SELECT 2']),
    ("SELECT B'01', X'1F', N'a;b'; SELECT 2", ["SELECT B'01', X'1F', N'a;b'", 'SELECT 2']),
    ("SELECT e'\\\\'; SELECT 'a\\'; SELECT 2", ["SELECT e'\\\\'", "SELECT 'a\\'", 'SELECT 2']),
    ('SELECT 1$$; SELECT $$ AS a; SELECT 2', ['SELECT 1$$; SELECT $$ AS a', 'SELECT 2']),
    ('SELECT a$$b; SELECT $1; SELECT 2', ['SELECT a$$b', 'SELECT $1', 'SELECT 2']),
    ('SELECT $é$;$é$; SELECT 2', ['SELECT $é$;$é$', 'SELECT 2']),
    ('SELECT 1 -- a\r; SELECT 2', ['SELECT 1 -- a', 'SELECT 2']),
    ('SELECT 1', ['SELECT 1']),
])
def test_quotes_comments_and_bodies_do_not_split(sql, expected):
    assert texts(sql) == expected


def test_tokens_have_a_kind_a_span_and_a_line():
    sql = "SELECT 'a''b', $q$x;$q$ -- c\n(1_e)/* ; */;"
    assert [(kind, sql[start:end], line) for kind, start, end, line in tokens(sql)] == [
        ('word', 'SELECT', 1), ('quoted', "'a''b'", 1), (',', ',', 1), ('quoted', '$q$x;$q$', 1),
        ('comment', '-- c', 1), ('(', '(', 2), ('number', '1_e', 2), (')', ')', 2), ('comment', '/* ; */', 2),
        (';', ';', 2)]


def test_unterminated_tokens_name_their_offset():
    with pytest.raises(SqlSyntaxError) as e:
        list(tokens("SELECT 1,\n E'it\\'s"))
    assert (str(e.value), e.value.line, e.value.offset) == ("unterminated E'' string", 2, 11)


def test_comment_only_script_has_no_statement():
    assert split_statements('-- nothing\n/* at all */\n\n') == []


@pytest.mark.parametrize('sql, line', [
    ("SELECT 1;\nSELECT 'open", 2),
    ('SELECT 1;\n\nSELECT "open', 3),
    ('/* open', 1),
    ('SELECT $$ open', 1),
    ('SELECT 1;\nCREATE RULE r AS ON INSERT TO t DO ALSO (INSERT INTO a VALUES (1);\nSELECT 2;', 2),
    ('SELECT 1;\n\nCREATE FUNCTION f() RETURNS int LANGUAGE sql BEGIN ATOMIC SELECT 1;\nSELECT 2;', 3),
])
def test_unterminated_tokens_name_their_line(sql, line):
    with pytest.raises(SqlSyntaxError) as e:
        split_statements(sql)
    assert e.value.line == line


def test_line_of_position_counts_newlines_inside_the_statement():
    statement = split_statements('\n\nSELECT\n  1,\n  nope')[0]
    assert statement.line == 3
    assert statement.line_of_position(statement.text.index('nope') + 1) == 5


# --- SQL written elsewhere, against PostgreSQL's own parser (pglast) --------

# psql meta-commands (\echo ... \quit in extension scripts) are psql's, not SQL.
_META_LINE = re.compile(r'^\s*\\.*$', re.M)
# Placeholders CREATE EXTENSION substitutes before running a script.
_EXTENSION_PLACEHOLDER = re.compile(r'@[a-z_]+(:[a-z_]+)?@')


CORPUS = os.path.join(os.path.dirname(__file__), 'sql_corpus')


def corpus_files():
    """Extension scripts of the installed PostgreSQL, an excerpt of its
    regression tests (sql_corpus/README.md), and all of them when
    TMI_PG_REGRESS_SQL names a copy of src/test/regress/sql."""
    files = sorted(glob.glob('/usr/share/postgresql/*/extension/*.sql')) + sorted(glob.glob(CORPUS + '/*.sql'))
    regress = os.environ.get('TMI_PG_REGRESS_SQL')
    if regress:
        files += sorted(glob.glob(os.path.join(regress, '*.sql')))
    return files


def corpus_text(path):
    with open(path, encoding='utf-8') as f:
        return _EXTENSION_PLACEHOLDER.sub('public', _META_LINE.sub('', f.read()))


def parser_split(sql):
    """Statement texts as PostgreSQL's parser sees them, or None if it cannot parse the text."""
    import pglast  # a test dependency (requirements.txt); the module never needs it
    try:
        return [sql[s] for s in pglast.split(sql, with_parser=True, only_slices=True)]
    except pglast.parser.ParseError:
        return None


def test_corpus_splits_like_postgresqls_parser():
    files = corpus_files()
    assert len(files) >= 100, 'the PostgreSQL server package (make setup) installs the extension scripts'
    compared, disagreements = 0, []
    for path in files:
        sql = corpus_text(path)
        expected = parser_split(sql)
        if expected is None:
            continue
        compared += 1
        got = texts(sql)
        if got != expected:
            first = next(i for i, (a, b) in enumerate(zip(got + [None], expected + [None])) if a != b)
            disagreements.append('%s statement %d: %r != %r' % (path, first + 1, (got + [None])[first],
                                                                (expected + [None])[first]))
    assert not disagreements, '\n'.join(disagreements)
    # most files must parse, or this test compares nothing
    assert compared >= 0.9 * len(files), '%d of %d files parsed' % (compared, len(files))


def test_no_statement_of_the_corpus_holds_two():
    """Where a whole file does not parse (newer syntax, psql variables), each
    statement that does parse must be exactly one statement."""
    for path in corpus_files():
        for statement in split_statements(corpus_text(path)):
            parsed = parser_split(statement.text)
            assert parsed is None or len(parsed) == 1, '%s:%d' % (path, statement.line)

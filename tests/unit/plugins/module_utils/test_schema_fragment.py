import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.schema_fragment import fragment_problem


@pytest.mark.parametrize('text', [
    "role IN ('owner', 'writer', 'reader')",
    "name <> 'it''s; fine'",
    r"email ~ '^[^@]+@[^@]+\.[a-z]+$'",            # a backslash inside a standard string is plain text
    r"note <> E'it\'s; \\ fine'",                   # E'' strings: backslash escapes the quote
    "body <> $$ ; ' \" $$",
    "body <> $tag$ $$ ; $tag$",
    'a$b$ > 1',                                    # $ continues an identifier: no dollar quote here
    '"odd;name" > 0',
    '"say ""hi"";" IS NOT NULL',
    "x > 0 /* outer /* nested ; ' */ still a comment ) */",
    "x > 0 -- a ; comment\n AND y > 0",
    "U&'d\\0061t'  <> B'1010'::text",
    'lower(email)',
    'numeric(12, 2)',
    'varchar(320)[]',
    "(a > 0) AND ((b > 0) OR c)",
])
def test_accepts_sql_that_stays_in_its_place(text):
    assert fragment_problem(text) is None


@pytest.mark.parametrize('text, problem', [
    # The attack: an odd quote here and one in another fragment enclose the ; for a naive check.
    ("c <> 'a", 'unterminated quoted string starting at character 6'),
    ("')); COMMIT; DROP TABLE victim; SELECT (('1'", 'unterminated quoted string starting at character 44'),
    ('x = 1; DROP TABLE users', 'a ; at character 6'),
    ("note <> E'it\\'s", "unterminated E'' string"),
    ('"unclosed', 'unterminated quoted identifier'),
    ('body <> $q$ never closed $Q$', 'unterminated dollar-quoted string $q$'),
    ('x > 0 /* /* nested */ not closed', 'unterminated /* comment'),
    ('x > 0 -- swallows the rest', 'a -- comment runs to the end of the text'),
    ('lower(email', '1 unclosed parenthesis'),
    ('((x', '2 unclosed parentheses'),
    ('x) OR (y', 'a ) at character 2 closes a parenthesis this text did not open'),
    ('x > 0 \\! rm -rf /', 'a backslash outside quotes at character 7'),
    ('x\x00', 'a NUL character'),
    # Before PostgreSQL 15 the server read an E'' string, or an identifier, after the number: the ; was outside.
    ("x > 1e'\\'' OR true; --'", 'character 7 is glued to the number before it'),
    ('x > 1_$1$q$; DROP TABLE t; --$q$', 'character 7 is glued to the number before it'),
])
def test_refuses_sql_that_could_leave_its_place(text, problem):
    assert problem in (fragment_problem(text) or '')

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a SQL script into statements exactly where psql would.

Why by hand: the module must run each statement on its own, to name the
line of a failing statement and to run `-- tmi:no-transaction` files (CREATE
INDEX CONCURRENTLY cannot run in a multi-statement query string), and it runs
on the target, where no SQL parser can be assumed. psql finds statement ends
with a lexer (src/fe_utils/psqlscan.l) whose rules are few, and this module
follows them: a `;` ends a statement unless it is inside a quote, a comment,
parentheses, or the BEGIN ... END body of CREATE [OR REPLACE]
FUNCTION/PROCEDURE. tests/unit checks the result against PostgreSQL's own
parser (pglast) on SQL written elsewhere.

Strings follow standard_conforming_strings = on (the default since
PostgreSQL 9.1): backslashes escape only in E'' strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# psqlscan.l's character classes; bytes \200-\377 there are any non-ASCII
# character here.
_IDENT = re.compile(r'[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*')
_DOLLAR_DELIMITER = re.compile(r'\$(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_\x80-\U0010ffff]*)?\$')
_PARAM = re.compile(r'\$[0-9]+')
# A number and any identifier characters glued to it (the server rejects
# those as "trailing junk"): none of it counts as an identifier.
_NUMBER = re.compile(r'[0-9][0-9_]*(?:[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)?')
_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*')
_SPACE = ' \t\n\r\f\v'
# Prefixes that open a literal or quoted identifier, longest first:
# (prefix, closing quote, backslash escapes).
_QUOTE_OPENERS = (
    ('u&"', '"', False), ('U&"', '"', False), ("u&'", "'", False), ("U&'", "'", False),
    ("e'", "'", True), ("E'", "'", True),
    ("b'", "'", False), ("B'", "'", False), ("x'", "'", False), ("X'", "'", False),
    ("n'", "'", False), ("N'", "'", False),
    ("'", "'", False), ('"', '"', False),
)
# The words psql remembers among the first four identifiers of a statement.
_ROUTINE_WORDS = ('create', 'function', 'procedure', 'or', 'replace')


class Statement(object):
    """One statement: its text (no trailing semicolon) and where it starts."""

    def __init__(self, text, line, offset):
        self.text = text
        self.line = line      # 1-based line of the first character
        self.offset = offset  # 0-based character offset in the script

    def line_of_position(self, position):
        """Line in the script of a 1-based character position in this statement."""
        return self.line + self.text.count('\n', 0, max(position - 1, 0))

    def words(self, count):
        """The first `count` words of the statement, lower case (fewer if it has fewer)."""
        words = []
        position = 0
        while len(words) < count:
            match = _WORD.search(self.text, position)
            if not match:
                break
            words.append(match.group(0).lower())
            position = match.end()
        return words

    def first_word(self):
        match = _WORD.match(self.text)
        return match.group(0).lower() if match else ''

    def __repr__(self):
        return 'Statement(line=%d, %r)' % (self.line, self.text[:40])


class SqlSyntaxError(ValueError):
    def __init__(self, message, line):
        super(SqlSyntaxError, self).__init__(message)
        self.line = line


def _skip_quoted(sql, i, quote, backslash_escapes, what, line):
    """Return the index after the closing quote of a literal whose body starts at i."""
    n = len(sql)
    while i < n:
        c = sql[i]
        if backslash_escapes and c == '\\':
            i += 2
            continue
        if c == quote:
            if i + 1 < n and sql[i + 1] == quote:
                i += 2
                continue
            return i + 1
        i += 1
    raise SqlSyntaxError('unterminated %s' % what, line)


def _skip_block_comment(sql, i, line):
    """Return the index after the /* comment that starts at i; they nest."""
    depth = 0
    n = len(sql)
    while i < n:
        if sql.startswith('/*', i):
            depth += 1
            i += 2
        elif sql.startswith('*/', i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    raise SqlSyntaxError('unterminated /* comment', line)


class _Scanner(object):
    """psqlscan.l's state: parenthesis depth and BEGIN ... END depth."""

    def __init__(self, sql):
        self.sql = sql
        self.statements = []
        self.start = None        # offset of the first token of the current statement
        self.open_parens = []    # offsets of the unclosed '('
        self.begin_lines = []    # offsets of the unclosed BEGIN/CASE of a routine body
        self.identifiers = []    # first letters of psql's remembered words, by position
        self.identifier_count = 0

    def line_at(self, position):
        return self.sql.count('\n', 0, position) + 1

    def end_statement(self, end):
        text = self.sql[self.start:end].rstrip(_SPACE)
        self.statements.append(Statement(text, self.line_at(self.start), self.start))
        self.start = None
        self.identifier_count = 0

    def in_routine_header(self):
        """CREATE [OR REPLACE] FUNCTION|PROCEDURE, as psql recognises it."""
        first = (self.identifiers + [''] * 4)[:4]
        return first[0] == 'c' and (first[1] in ('f', 'p') or (first[1:3] == ['o', 'r'] and first[3] in ('f', 'p')))

    def identifier(self, word, position):
        if self.identifier_count == 0:
            self.identifiers = []
        if self.identifier_count < 4:
            self.identifiers.append(word[0] if word in _ROUTINE_WORDS else '')
        self.identifier_count += 1
        if not self.open_parens and self.in_routine_header():
            if word == 'begin' or (word == 'case' and self.begin_lines):
                self.begin_lines.append(position)
            elif word == 'end' and self.begin_lines:
                self.begin_lines.pop()

    def quoted(self, i):
        """Return the index after the literal or quoted identifier at i, or None."""
        for prefix, quote, escapes in _QUOTE_OPENERS:
            if self.sql.startswith(prefix, i):
                what = 'quoted identifier' if quote == '"' else 'string literal'
                return _skip_quoted(self.sql, i + len(prefix), quote, escapes, what, self.line_at(i))
        return None

    def scan(self):
        sql = self.sql
        n = len(sql)
        i = 0
        while i < n:
            c = sql[i]
            if c in _SPACE:
                i += 1
                continue
            if sql.startswith('--', i):
                while i < n and sql[i] not in '\r\n':
                    i += 1
                continue
            if sql.startswith('/*', i):
                i = _skip_block_comment(sql, i, self.line_at(i))
                continue
            if c == ';' and not self.open_parens and not self.begin_lines:
                if self.start is not None:
                    self.end_statement(i)
                self.identifier_count = 0
                i += 1
                continue
            if self.start is None:
                self.start = i
            i = self.token(i)
        self.finish()
        return self.statements

    def token(self, i):
        """Consume the token at i (not a space, comment or ending ';'); return the index after it."""
        sql = self.sql
        c = sql[i]
        end = self.quoted(i)
        if end is not None:
            return end
        if c == '$':
            match = _DOLLAR_DELIMITER.match(sql, i)
            if match:
                close = sql.find(match.group(0), match.end())
                if close < 0:
                    raise SqlSyntaxError('unterminated dollar-quoted string %s' % match.group(0), self.line_at(i))
                return close + len(match.group(0))
            match = _PARAM.match(sql, i)
            return match.end() if match else i + 1
        match = _NUMBER.match(sql, i)
        if match:
            return match.end()
        match = _IDENT.match(sql, i)
        if match:
            self.identifier(match.group(0).lower(), i)
            return match.end()
        if c == '(':
            self.open_parens.append(i)
        elif c == ')' and self.open_parens:
            self.open_parens.pop()
        return i + 1

    def finish(self):
        # psql would send the rest of the file as one query string; refusing
        # it here keeps a hidden COMMIT in it from ending the transaction.
        if self.open_parens:
            raise SqlSyntaxError('unclosed parenthesis: this "(" has no matching ")"',
                                 self.line_at(self.open_parens[0]))
        if self.begin_lines:
            raise SqlSyntaxError('the BEGIN of this function or procedure body has no matching END (psql would '
                                 'not end the statement before the end of the file)', self.line_at(self.begin_lines[0]))
        if self.start is not None:
            self.end_statement(len(self.sql))


def split_statements(sql):
    """Return the list of Statement in a SQL script.

    Empty statements and statements made only of comments are dropped.
    Raises SqlSyntaxError for an unterminated quote or comment, an unclosed
    parenthesis or a routine body without END, with the line where it opens.
    """
    return _Scanner(sql).scan()

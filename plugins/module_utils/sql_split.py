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
parser (pglast) on SQL written elsewhere. The token reader, tokens(), is
also the one schema_fragment checks the SQL text of schema definitions with.

Strings follow standard_conforming_strings = on (the default since
PostgreSQL 9.1): backslashes escape only in E'' strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# psqlscan.l's tokens; bytes \200-\377 there are any non-ASCII character here.
# Kinds of token: a comment, a quoted token (string, quoted identifier or
# dollar-quoted string), an identifier or key word, a number, a $n
# parameter; any other character is a token of one character, its own kind.
COMMENT, QUOTED, WORD, NUMBER, PARAM = 'comment', 'quoted', 'word', 'number', 'param'
_IDENT_START = r'A-Za-z_\x80-\U0010ffff'
_TOKEN = re.compile(r'''
    (?P<space>[ \t\n\r\f\v]+)
  | (?P<comment>--[^\r\n]*)
  | (?P<block>/\*)
    # B'', X'', N'' and U&'' only change how the text between the quotes
    # is read, not where it ends. A doubled quote is always the quote
    # character, never the end and a new start: hence (?!').
  | (?P<quoted>(?:[uU]&|[bBxXnN])?'[^']*(?:''[^']*)*'(?!')
      | [eE]'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'(?!')
      | (?:[uU]&)?"[^"]*(?:""[^"]*)*"(?!"))
  | (?P<unterminated>[eE]'|(?:[uU]&)?['"])
  | (?P<dollar>\$(?:[%(start)s][0-9%(start)s]*)?\$)
  | (?P<param>\$[0-9]+)
    # A number and any identifier characters glued to it (the server rejects
    # those as "trailing junk"): none of it counts as an identifier.
  | (?P<number>[0-9][0-9_]*(?:[%(start)s][0-9$%(start)s]*)?)
  | (?P<word>[%(start)s][0-9$%(start)s]*)
  | (?P<char>.)
''' % {'start': _IDENT_START}, re.X | re.S)
_COMMENT_MARK = re.compile(r'/\*|\*/')
_UNTERMINATED = {"'": 'quoted string', '"': 'quoted identifier'}
_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*')
_SPACE = ' \t\n\r\f\v'
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
    def __init__(self, message, line, offset=None):
        super(SqlSyntaxError, self).__init__(message)
        self.line = line
        self.offset = offset  # 0-based character offset where the faulty token starts


def tokens(sql):
    """Yield (kind, start, end, line) for each token of sql but spaces, in order.

    kind is COMMENT, QUOTED, WORD, NUMBER, PARAM or the character itself (``;``,
    ``(``, ...); line is the 1-based line of start. Raises SqlSyntaxError for an
    unterminated quote or /* comment, with its line and offset.
    """
    n = len(sql)
    i = 0
    line, counted = 1, 0
    match = _TOKEN.match
    while i < n:
        m = match(sql, i)
        kind = m.lastgroup
        end = m.end()
        if kind == 'space':
            i = end
            continue
        line += sql.count('\n', counted, i)
        counted = i
        if kind == 'char':
            kind = m.group()
        elif kind == 'dollar':
            close = sql.find(m.group(), end)
            if close < 0:
                raise SqlSyntaxError('unterminated dollar-quoted string %s' % m.group(), line, i)
            kind, end = QUOTED, close + len(m.group())
        elif kind == 'block':
            end = _block_comment_end(sql, i)
            if end is None:
                raise SqlSyntaxError('unterminated /* comment', line, i)
            kind = COMMENT
        elif kind == 'unterminated':
            opener = m.group()
            what = "E'' string" if opener[0] in 'eE' else _UNTERMINATED[opener[-1]]
            raise SqlSyntaxError('unterminated %s' % what, line, i)
        yield kind, i, end, line
        i = end


def _block_comment_end(sql, i):
    """The index after the /* comment that starts at i (they nest), or None."""
    depth = 0
    for mark in _COMMENT_MARK.finditer(sql, i):
        if mark.group() == '/*':
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return mark.end()
    return None


class _Scanner(object):
    """psqlscan.l's state: parenthesis depth and BEGIN ... END depth."""

    def __init__(self, sql):
        self.sql = sql
        self.statements = []
        self.start = None        # offset of the first token of the current statement
        self.start_line = None
        self.open_parens = []    # lines of the unclosed '('
        self.begin_lines = []    # lines of the unclosed BEGIN/CASE of a routine body
        self.identifiers = []    # first letters of psql's remembered words, by position
        self.identifier_count = 0

    def end_statement(self, end):
        text = self.sql[self.start:end].rstrip(_SPACE)
        self.statements.append(Statement(text, self.start_line, self.start))
        self.start = None

    def in_routine_header(self):
        """CREATE [OR REPLACE] FUNCTION|PROCEDURE, as psql recognises it."""
        first = (self.identifiers + [''] * 4)[:4]
        return first[0] == 'c' and (first[1] in ('f', 'p') or (first[1:3] == ['o', 'r'] and first[3] in ('f', 'p')))

    def identifier(self, word, line):
        if self.identifier_count == 0:
            self.identifiers = []
        if self.identifier_count < 4:
            self.identifiers.append(word[0] if word in _ROUTINE_WORDS else '')
        self.identifier_count += 1
        if not self.open_parens and self.in_routine_header():
            if word == 'begin' or (word == 'case' and self.begin_lines):
                self.begin_lines.append(line)
            elif word == 'end' and self.begin_lines:
                self.begin_lines.pop()

    def scan(self):
        sql = self.sql
        for kind, start, end, line in tokens(sql):
            if kind == COMMENT:
                continue
            if kind == ';' and not self.open_parens and not self.begin_lines:
                if self.start is not None:
                    self.end_statement(start)
                self.identifier_count = 0
                continue
            if self.start is None:
                self.start, self.start_line = start, line
            if kind == WORD:
                self.identifier(sql[start:end].lower(), line)
            elif kind == '(':
                self.open_parens.append(line)
            elif kind == ')' and self.open_parens:
                self.open_parens.pop()
        self.finish()
        return self.statements

    def finish(self):
        # psql would send the rest of the file as one query string; refusing
        # it here keeps a hidden COMMIT in it from ending the transaction.
        if self.open_parens:
            raise SqlSyntaxError('unclosed parenthesis: this "(" has no matching ")"', self.open_parens[0])
        if self.begin_lines:
            raise SqlSyntaxError('the BEGIN of this function or procedure body has no matching END (psql would '
                                 'not end the statement before the end of the file)', self.begin_lines[0])
        if self.start is not None:
            self.end_statement(len(self.sql))


def split_statements(sql):
    """Return the list of Statement in a SQL script.

    Empty statements and statements made only of comments are dropped.
    Raises SqlSyntaxError for an unterminated quote or comment, an unclosed
    parenthesis or a routine body without END, with the line where it opens.
    """
    return _Scanner(sql).scan()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a SQL script into statements, the way psql does.

Why by hand: the module must run each statement on its own, to name the
line of a failing statement and to run `-- tmi:no-transaction` files (CREATE
INDEX CONCURRENTLY cannot run in a multi-statement query string). Pulling a
full SQL parser onto every target for that is too heavy; the lexical rules
psql itself uses to find statement ends are few: quotes, dollar quotes,
comments, and BEGIN ATOMIC bodies of SQL-standard functions.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

_DOLLAR_TAG = re.compile(r'\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$')
_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*')
_ROUTINE_HEAD = re.compile(r'^\s*create\s+(or\s+replace\s+)?(function|procedure)\b', re.I)


class Statement(object):
    """One statement: its text (no trailing semicolon) and where it starts."""

    def __init__(self, text, line, offset):
        self.text = text
        self.line = line      # 1-based line of the first character
        self.offset = offset  # 0-based character offset in the script

    def line_of_position(self, position):
        """Line in the script of a 1-based character position in this statement."""
        return self.line + self.text.count('\n', 0, max(position - 1, 0))

    def first_word(self):
        match = _WORD.match(self.text)
        return match.group(0).lower() if match else ''

    def __repr__(self):
        return 'Statement(line=%d, %r)' % (self.line, self.text[:40])


class SqlSyntaxError(ValueError):
    def __init__(self, message, line):
        super(SqlSyntaxError, self).__init__(message)
        self.line = line


def _skip_to(sql, i, closing, what, start_line):
    end = sql.find(closing, i)
    if end < 0:
        raise SqlSyntaxError('unterminated %s' % what, start_line)
    return end + len(closing)


def _skip_quoted(sql, i, quote, backslash_escapes, start_line):
    """Return the index after the closing quote of a literal opened at i."""
    i += 1
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
    raise SqlSyntaxError('unterminated %s' % ('identifier' if quote == '"' else 'string literal'), start_line)


def _skip_block_comment(sql, i, start_line):
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
    raise SqlSyntaxError('unterminated /* comment', start_line)


def split_statements(sql):
    """Return the list of Statement in a SQL script.

    Empty statements and statements made only of comments are dropped.
    Raises SqlSyntaxError for an unterminated quote or comment.
    """
    statements = []
    n = len(sql)
    i = 0
    start = None          # offset of the first significant character of the statement
    atomic_depth = 0      # nesting of BEGIN ATOMIC ... END inside CREATE FUNCTION
    routine = False

    def line_at(pos):
        return sql.count('\n', 0, pos) + 1

    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
            continue
        if sql.startswith('--', i):
            end = sql.find('\n', i)
            i = n if end < 0 else end + 1
            continue
        if sql.startswith('/*', i):
            i = _skip_block_comment(sql, i, line_at(i))
            continue
        if c == ';' and atomic_depth == 0:
            if start is not None:
                statements.append(Statement(sql[start:i].rstrip(), line_at(start), start))
            start = None
            routine = False
            i += 1
            continue
        if start is None:
            start = i
            routine = bool(_ROUTINE_HEAD.match(sql, start))
        if c == "'":
            escapes = i > 0 and sql[i - 1] in 'eE' and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == '_'))
            i = _skip_quoted(sql, i, "'", escapes, line_at(i))
        elif c == '"':
            i = _skip_quoted(sql, i, '"', False, line_at(i))
        elif c == '$':
            match = _DOLLAR_TAG.match(sql, i)
            if match and not (i > 0 and (sql[i - 1].isalnum() or sql[i - 1] == '_')):
                i = _skip_to(sql, match.end(), match.group(0), 'dollar-quoted string %s' % match.group(0), line_at(i))
            else:
                i += 1
        elif c.isalpha() or c == '_':
            match = _WORD.match(sql, i)
            word = match.group(0).lower()
            if routine:
                if word in ('begin', 'case'):
                    atomic_depth += 1
                elif word == 'end' and atomic_depth > 0:
                    atomic_depth -= 1
            i = match.end()
        else:
            i += 1
    if start is not None:
        statements.append(Statement(sql[start:].rstrip(), line_at(start), start))
    return statements

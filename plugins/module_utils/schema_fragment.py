# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check that a piece of SQL text from a definition stays inside its statement.

Types, defaults, CHECK expressions, index predicates and index expressions
are spliced into the statements that schema_canonical and schema_sql write.
A fragment must therefore be a run of complete PostgreSQL tokens that cannot
end or leave the place it is put in: every quote and comment closed,
parentheses balanced (never closing one it did not open), no ``;`` and no
backslash outside quotes (the server has no use for one, psql would read it
as a meta-command), and no ``--`` comment running to the end of the text
(it would comment out the rest of the statement).

The token rules are PostgreSQL's (src/backend/parser/scan.l) with
standard_conforming_strings on, which the module sets for the statements it
runs: '...' with '' inside, E'...' with backslash escapes, $tag$...$tag$,
"..." identifiers with "" inside, nested /* */ and -- comments. The prefixes
B'', X'', N'' and U&'' only change how the text between the quotes is read,
not where it ends, so they are read as plain strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# An identifier or key word: PostgreSQL lets $ continue one, so "a$b$" is one
# token and not the start of a dollar quote.
_IDENTIFIER = re.compile(r'[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*')
_DOLLAR_TAG = re.compile(r'\$([A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$')
_PARAMETER = re.compile(r'\$[0-9]+')


def fragment_problem(text):
    """None when text is safe to splice into a statement, else what is wrong with it."""
    depth = 0
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '\x00':
            return 'a NUL character at character %d' % (i + 1)
        if ch in 'eE' and text.startswith("'", i + 1):
            end = _quoted_end(text, i + 1, "'", backslashes=True)
            if end is None:
                return 'unterminated E\'\' string starting at character %d' % (i + 1)
            i = end
        elif ch == "'" or ch == '"':
            end = _quoted_end(text, i, ch)
            if end is None:
                return 'unterminated %s starting at character %d' % (
                    'quoted string' if ch == "'" else 'quoted identifier', i + 1)
            i = end
        elif ch == '$':
            tag = _DOLLAR_TAG.match(text, i)
            if tag:
                end = text.find(tag.group(0), tag.end())
                if end < 0:
                    return 'unterminated dollar-quoted string %s starting at character %d' % (tag.group(0), i + 1)
                i = end + len(tag.group(0))
            else:
                parameter = _PARAMETER.match(text, i)
                i = parameter.end() if parameter else i + 1
        elif text.startswith('--', i):
            end = _line_end(text, i)
            if end is None:
                return ('a -- comment runs to the end of the text (character %d) and would comment out the rest '
                        'of the statement; end it with a new line or write /* */' % (i + 1))
            i = end
        elif text.startswith('/*', i):
            end = _block_comment_end(text, i)
            if end is None:
                return 'unterminated /* comment starting at character %d' % (i + 1)
            i = end
        elif ch == '(':
            depth += 1
            i += 1
        elif ch == ')':
            depth -= 1
            if depth < 0:
                return 'a ) at character %d closes a parenthesis this text did not open' % (i + 1)
            i += 1
        elif ch == ';':
            return 'a ; at character %d would end the statement this SQL text is part of' % (i + 1)
        elif ch == '\\':
            return 'a backslash outside quotes at character %d' % (i + 1)
        else:
            word = _IDENTIFIER.match(text, i)
            i = word.end() if word else i + 1
    if depth:
        return '%d unclosed parenthes%s' % (depth, 'is' if depth == 1 else 'es')
    return None


def _quoted_end(text, start, quote, backslashes=False):
    """Index after the closing quote of the quoted token that starts at start, or None."""
    i, n = start + 1, len(text)
    while i < n:
        ch = text[i]
        if backslashes and ch == '\\':
            i += 2
        elif ch == quote:
            if text.startswith(quote, i + 1):  # doubled: the quote character itself
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return None


def _line_end(text, start):
    for i in range(start, len(text)):
        if text[i] in '\r\n':
            return i + 1
    return None


def _block_comment_end(text, start):
    depth, i, n = 0, start, len(text)
    while i < n:
        if text.startswith('/*', i):
            depth += 1
            i += 2
        elif text.startswith('*/', i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return None

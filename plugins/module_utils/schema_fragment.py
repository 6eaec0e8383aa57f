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

The tokens are read by sql_split's token reader, the one that splits
migration files (psql's rules, which are the server's for where a token ends,
with standard_conforming_strings on, which the module sets for the statements
it runs).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.sql_split import COMMENT, NUMBER, PARAM, QUOTED, SqlSyntaxError, tokens


def fragment_problem(text):
    """None when text is safe to splice into a statement, else what is wrong with it."""
    depth = 0
    number_end = None
    try:
        for kind, start, end, _line in tokens(text):
            if kind == NUMBER:
                number_end = end
            elif start == number_end and kind in (QUOTED, PARAM, '$'):
                # Never valid SQL, and read differently before PostgreSQL 15: 1e'...' as 1 and an E'' string,
                # 1_$q$ as 1 and an identifier; the quote would end elsewhere than where this reader ends it.
                return 'character %d is glued to the number before it' % (start + 1)
            if kind == '\x00':
                return 'a NUL character at character %d' % (start + 1)
            if kind == COMMENT and end == len(text) and text.startswith('--', start):
                return ('a -- comment runs to the end of the text (character %d) and would comment out the rest '
                        'of the statement; end it with a new line or write /* */' % (start + 1))
            if kind == '(':
                depth += 1
            elif kind == ')':
                depth -= 1
                if depth < 0:
                    return 'a ) at character %d closes a parenthesis this text did not open' % (start + 1)
            elif kind == ';':
                return 'a ; at character %d would end the statement this SQL text is part of' % (start + 1)
            elif kind == '\\':
                return 'a backslash outside quotes at character %d' % (start + 1)
    except SqlSyntaxError as e:
        return '%s starting at character %d' % (e, e.offset + 1)
    if depth:
        return '%d unclosed parenthes%s' % (depth, 'is' if depth == 1 else 'es')
    return None

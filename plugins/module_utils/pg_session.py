# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The driver-level half of pg_connection, free of Ansible imports.

Reads rows as tuples whatever the driver (psycopg 3 makes every cursor of a
connection that community.postgresql opened return dicts, psycopg2 returns
tuples), describes driver errors, and holds Session: it counts the
statements it sends, holds a transaction that is always rolled back, and
runs SQL text that comes from a file through a function, where PostgreSQL
refuses COMMIT and ROLLBACK.

Nothing here imports Ansible, so the schema validation built on it also runs
on a database host without Ansible: the tmi_metrics role's timer program
imports it from a copy of these files (pg_connection re-exports all of it
for the modules).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from contextlib import contextmanager

# The errors of whichever drivers are installed: community.postgresql connects
# with psycopg 3 when it is there, else psycopg2; the timer program with psycopg2.
_ERRORS = []
try:
    import psycopg
    _ERRORS.append(psycopg.Error)
except ImportError:
    pass
try:
    import psycopg2
    _ERRORS.append(psycopg2.Error)
except ImportError:
    pass
DATABASE_ERRORS = tuple(_ERRORS)

# libpq's PQtransactionStatus, which both drivers report as conn.info.transaction_status.
_IN_TRANSACTION = (2, 3)  # PQTRANS_INTRANS, PQTRANS_INERROR
# Runs each statement of its text[] argument with EXECUTE. Inside a function
# PostgreSQL refuses transaction control (COMMIT, ROLLBACK, SAVEPOINT), so
# nothing in the statements can end the caller's transaction, and the caller
# rolls that back. The statements arrive as a bound parameter, never spliced
# into SQL; the function's own SET makes '...' strings read as schema_fragment
# checked them, whatever the session's setting.
_RUN_FUNCTION = 'pg_temp.tmi_run_statements'
_CREATE_RUN_FUNCTION = (
    'CREATE OR REPLACE FUNCTION %s(statements text[]) RETURNS void LANGUAGE plpgsql '
    'SET standard_conforming_strings = on AS '
    '$tmi$DECLARE statement text; BEGIN FOREACH statement IN ARRAY statements LOOP EXECUTE statement; '
    'END LOOP; END$tmi$' % _RUN_FUNCTION)


def sqlstate(error):
    """The SQLSTATE of a driver error ('' when there is none), psycopg2 or psycopg 3."""
    return getattr(getattr(error, 'diag', None), 'sqlstate', None) or ''


def describe_database_error(error):
    """PostgreSQL's message with its SQLSTATE, detail and hint, on one line."""
    diag = getattr(error, 'diag', None)
    primary = getattr(diag, 'message_primary', None)
    if not primary:
        return str(error).strip()
    parts = [primary]
    if sqlstate(error):
        parts[0] += ' (SQLSTATE %s)' % sqlstate(error)
    for label, attr in (('detail', 'message_detail'), ('hint', 'message_hint'), ('context', 'context')):
        value = getattr(diag, attr, None)
        if value:
            parts.append('%s: %s' % (label, value.strip().replace('\n', ' / ')))
    return '; '.join(parts)


def tuple_cursor(conn):
    """A cursor of conn whose rows are tuples, with psycopg 3 (dict_row by default) and psycopg2."""
    if hasattr(conn, 'row_factory'):  # psycopg 3
        from psycopg.rows import tuple_row
        return conn.cursor(row_factory=tuple_row)
    return conn.cursor()


def fetch_rows(cursor, sql, params=None):
    """Execute sql; return its rows as a list of tuples ([] for a statement without rows)."""
    cursor.execute(sql, params)
    return [tuple(r) for r in cursor.fetchall()] if cursor.description else []


class TransactionEnded(Exception):
    """A statement ended the transaction a Session holds."""


class Session(object):
    """A connection in autocommit mode and a count of the statements sent through it."""

    def __init__(self, conn):
        self.conn = conn
        self.statements = 0
        self._in_transaction = False
        self._run_function = False

    def rows(self, sql, params=None):
        self.statements += 1
        cur = tuple_cursor(self.conn)
        try:
            return fetch_rows(cur, sql, params)
        finally:
            cur.close()
            # Checked after every statement: once the transaction ended, every
            # further statement would commit on its own.
            if self._in_transaction and int(self.conn.info.transaction_status) not in _IN_TRANSACTION:
                self._in_transaction = False
                raise TransactionEnded('the transaction ended before the work in it was done (a statement sent '
                                       'COMMIT or ROLLBACK): stopped before anything else ran')

    def run(self, sql, params=None):
        self.rows(sql, params)

    @contextmanager
    def rolled_back(self, begin='BEGIN'):
        """Run the body in a transaction that is rolled back however the body ends."""
        self.run(begin)
        self._in_transaction = True
        try:
            yield self
        finally:
            ended_early = not self._in_transaction
            self._in_transaction = False
            self._run_function = False
            if not ended_early:
                self._rollback()

    def _rollback(self):
        try:
            self.run('ROLLBACK')
        except DATABASE_ERRORS:
            # Without a working connection the server rolls back on its own;
            # closing makes sure nothing else runs on this one.
            self.conn.close()

    def run_statements(self, statements):
        """Run SQL text from a file, each statement on its own, inside the transaction: one round trip.

        The text cannot end the transaction (see _CREATE_RUN_FUNCTION); the
        function lives in pg_temp and vanishes with the rollback.
        """
        if not self._in_transaction:
            raise TransactionEnded('run_statements needs the transaction of rolled_back()')
        if not statements:
            return
        try:
            if not self._run_function:
                self.run(_CREATE_RUN_FUNCTION)
                self._run_function = True
            self.run('SELECT %s(%%s)' % _RUN_FUNCTION, (list(statements),))
        except BaseException:
            # The caller rolls back to a savepoint, which may take the function with it.
            self._run_function = False
            raise

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Talking to PostgreSQL for the migrate module: lock, version, history, run.

Compatible with golang-migrate, which TMI runs at start-up: the same
schema_migrations table (one row: version, dirty) and the same advisory lock
id, so the module, the migrate CLI and TMI's start-up exclude each other.
Unlike golang-migrate, a migration's statements, its version row and its
history row commit in one transaction.

The connection is in autocommit mode; this class issues BEGIN/COMMIT itself.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time
import zlib

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_plan import (
    HISTORY_TABLE,
    NIL_VERSION,
    VERSION_TABLE,
    check_history_rows,
    check_version_rows,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import (
    NO_TRANSACTION_MARK,
    MigrationError,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    DATABASE_ERRORS,
    describe_database_error,
    fetch_rows,
    sqlstate,
    tuple_cursor,
)

# golang-migrate's salt for advisory lock ids (database.GenerateAdvisoryLockId).
_LOCK_SALT = 1486364155
_SQLSTATE_ACTIVE_TRANSACTION = '25001'


def advisory_lock_id(database, *additional_names):
    """golang-migrate's database.GenerateAdvisoryLockId, as an int.

    Its postgres driver passes (database, schema, migrations table): the key
    is "schema\\x00table\\x00database".
    """
    key = '\x00'.join(list(additional_names) + [database]).encode('utf-8')
    return (zlib.crc32(key) * _LOCK_SALT) & 0xFFFFFFFF


def quote_ident(name):
    return '"%s"' % name.replace('"', '""')


class LockTimeout(Exception):
    pass


class DatabaseState(object):
    """What the database says was applied."""

    def __init__(self, version=0, dirty=False, applied_sha256=None, history_versions=None):
        self.version = version
        self.dirty = dirty
        self.applied_sha256 = applied_sha256 or {}
        self.history_versions = history_versions or set()


class MigrationDatabase(object):

    def __init__(self, conn):
        self.conn = conn
        self.cursor = tuple_cursor(conn)
        schema, self.database = self._row('SELECT current_schema(), current_database()')
        if schema is None:
            raise MigrationError('no current schema: the search_path of user names no existing schema')
        self.schema = schema
        self.lock_id = advisory_lock_id(self.database, schema, VERSION_TABLE)
        self.version_table = '%s.%s' % (quote_ident(schema), quote_ident(VERSION_TABLE))
        self.history_table = '%s.%s' % (quote_ident(schema), quote_ident(HISTORY_TABLE))
        self.locked = False

    # --- small helpers ---------------------------------------------------

    def _execute(self, sql, params=None):
        self.cursor.execute(sql, params)

    def _rows(self, sql, params=None):
        return fetch_rows(self.cursor, sql, params)

    def _row(self, sql, params=None):
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _table_exists(self, qualified_name):
        return self._row('SELECT to_regclass(%s) IS NOT NULL', (qualified_name,))[0]

    # --- lock --------------------------------------------------------------

    def lock(self, timeout, poll_interval=0.1):
        """Take golang-migrate's advisory lock, polling a try-lock until timeout.

        A try-lock, not pg_advisory_lock: a blocked waiter could otherwise
        deadlock with CREATE INDEX CONCURRENTLY run by the lock holder
        (golang-migrate #960), and could not give up with a clear message.
        """
        deadline = time.monotonic() + timeout
        while True:
            if self._row('SELECT pg_try_advisory_lock(%s)', (self.lock_id,))[0]:
                self.locked = True
                return
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    'could not take the migration lock on database %s within %s s (advisory lock %d, the one '
                    'golang-migrate and TMI take). It is held by %s. Wait for that migration to finish, or '
                    'raise lock_timeout' % (self.database, timeout, self.lock_id, self.describe_lock_holders()))
            time.sleep(poll_interval)

    def describe_lock_holders(self):
        rows = self._rows(
            "SELECT a.pid, a.usename, coalesce(a.application_name, '') AS application, "
            "coalesce(host(a.client_addr), 'local') AS client, "
            "to_char(a.backend_start, 'YYYY-MM-DD HH24:MI:SS TZ') AS since "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.classid::bigint = %s AND l.objid::bigint = %s AND l.objsubid = 1",
            (self.lock_id >> 32, self.lock_id & 0xFFFFFFFF))
        if not rows:
            return 'a session that released it meanwhile'
        return ', '.join('pid %s (user %s, application "%s", from %s, connected %s)' % r for r in rows)

    def unlock(self):
        if self.locked:
            self._execute('SELECT pg_advisory_unlock(%s)', (self.lock_id,))
            self.locked = False

    # --- state -------------------------------------------------------------

    def ensure_tables(self):
        self._execute('CREATE TABLE IF NOT EXISTS %s (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL)'
                      % self.version_table)
        self._execute(
            "CREATE TABLE IF NOT EXISTS %s ("
            "id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
            "version bigint NOT NULL, "
            "name text NOT NULL, "
            "direction text NOT NULL CHECK (direction IN ('up', 'down', 'force')), "
            "sha256 text, "
            "applied_at timestamp with time zone NOT NULL DEFAULT clock_timestamp(), "
            "applied_by text NOT NULL DEFAULT current_user, "
            "duration_ms integer NOT NULL DEFAULT 0)" % self.history_table)

    def read_state(self):
        state = DatabaseState()
        if self._table_exists(self.version_table):
            rows = self._rows('SELECT version, dirty FROM %s' % self.version_table)
            state.version, state.dirty = check_version_rows(rows)
        if self._table_exists(self.history_table):
            rows = self._rows(
                "SELECT version, (array_agg(sha256 ORDER BY id DESC) FILTER (WHERE direction = 'up'))[1] "
                "FROM %s GROUP BY version" % self.history_table)
            state.history_versions, state.applied_sha256 = check_history_rows(rows)
        return state

    def _version_sql(self, version, dirty):
        """Statements and parameters that make `version` the one recorded row."""
        statements = ['DELETE FROM %s' % self.version_table]
        if version > 0 or dirty:
            statements.append('INSERT INTO %s (version, dirty) VALUES (%%s, %%s)' % self.version_table)
            return statements, [version if version > 0 else NIL_VERSION, dirty]
        return statements, []

    def _history_sql(self, direction, version, name, sha256, duration_ms):
        return (['INSERT INTO %s (version, name, direction, sha256, duration_ms) VALUES (%%s, %%s, %%s, %%s, %%s)'
                 % self.history_table], [version, name, direction, sha256, duration_ms])

    def _execute_together(self, *parts):
        """Send several (statements, params) parts as one query string: one round trip.

        psycopg binds the parameters on the client (community.postgresql
        uses ClientCursor with psycopg 3), so the server gets one simple
        query; callers wrap it in BEGIN ... COMMIT so that it is atomic.
        """
        statements, params = [], []
        for part_statements, part_params in parts:
            statements.extend(part_statements)
            params.extend(part_params)
        self._execute('; '.join(statements), params or None)

    # --- changes -------------------------------------------------------------

    def force(self, version, name):
        """Record `version` as applied and clean, running nothing (golang-migrate force)."""
        try:
            self._execute_together((['BEGIN'], []), self._version_sql(version, False),
                                   self._history_sql('force', version, name, None, 0), (['COMMIT'], []))
        except BaseException:
            self._rollback()
            raise

    def apply(self, step):
        """Run one Step; return its duration in milliseconds.

        The commit does not wait for its WAL to reach disk (synchronous_commit
        off for this transaction): flush() at the end of the run makes every
        step durable at once. A crash before that can only lose the newest
        steps together with their version rows, as if the run had stopped
        earlier; the database never holds a migration without its version.
        """
        if step.file.no_transaction:
            return self._apply_outside_transaction(step)
        started = time.monotonic()
        try:
            self._execute('BEGIN; SET LOCAL synchronous_commit = off')
            self._run_statements(step.file, in_transaction=True)
            duration_ms = int((time.monotonic() - started) * 1000)
            try:
                self._execute_together(self._version_sql(step.version_after, False),
                                       self._step_history_sql(step, duration_ms), (['COMMIT'], []))
            except DATABASE_ERRORS as e:  # deferred constraints are checked here, at COMMIT
                raise MigrationError('%s while committing. The migration was rolled back: nothing of it was '
                                     'applied and the version is unchanged' % describe_database_error(e),
                                     step.file.filename)
        except BaseException:
            self._rollback()
            raise
        return duration_ms

    def flush(self, quietly=False):
        """Wait until every commit of this session is on disk.

        A synchronous commit waits for the WAL up to its own record, which
        covers every earlier commit; txid_current() gives the transaction an
        id so that it writes a commit record at all.
        """
        try:
            self._execute('BEGIN; SET LOCAL synchronous_commit = on; SELECT txid_current(); COMMIT')
        except DATABASE_ERRORS:
            self._rollback()
            if not quietly:  # quietly: another error is already being reported
                raise

    def _apply_outside_transaction(self, step):
        # golang-migrate's protocol: mark dirty, run, mark clean. A failure in
        # between leaves the database dirty on purpose: part of the file ran.
        self._execute_together((['BEGIN'], []), self._version_sql(step.version_after, True), (['COMMIT'], []))
        started = time.monotonic()
        self._run_statements(step.file, in_transaction=False)
        duration_ms = int((time.monotonic() - started) * 1000)
        try:
            self._execute_together((['BEGIN'], []), self._version_sql(step.version_after, False),
                                   self._step_history_sql(step, duration_ms), (['COMMIT'], []))
        except BaseException:
            self._rollback()
            raise
        return duration_ms

    def _step_history_sql(self, step, duration_ms):
        return self._history_sql(step.direction, step.migration.version, step.migration.name,
                                 step.file.sha256, duration_ms)

    def _run_statements(self, migration_file, in_transaction):
        for statement in migration_file.statements:
            try:
                self.cursor.execute(statement.text)
            except DATABASE_ERRORS as e:
                raise self._statement_error(migration_file, statement, e, in_transaction)

    def _statement_error(self, migration_file, statement, error, in_transaction):
        diag = getattr(error, 'diag', None)
        position = getattr(diag, 'statement_position', None)
        line = statement.line_of_position(int(position)) if position else statement.line
        message = describe_database_error(error)
        if in_transaction:
            message += '. The migration was rolled back: nothing of it was applied and the version is unchanged'
            if sqlstate(error) == _SQLSTATE_ACTIVE_TRANSACTION:
                message += ('. This statement cannot run in a transaction: put it in a file of its own whose '
                            'first line is "%s"' % NO_TRANSACTION_MARK)
        else:
            message += ('. This file runs outside a transaction (%s), so the statements before line %d stay '
                        'applied and the database is now marked dirty. Repair by hand, then run with '
                        'force_version set to the version the schema really is at' % (NO_TRANSACTION_MARK, line))
        return MigrationError(message, migration_file.filename, line)

    def _rollback(self):
        try:
            self._execute('ROLLBACK')
        except DATABASE_ERRORS:
            pass  # the connection is gone: the server has rolled back already

    def close(self):
        try:
            self.unlock()
        except DATABASE_ERRORS:
            pass
        self.conn.close()

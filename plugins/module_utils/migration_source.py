# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading migrations: file names, pairs of up/down files, statements.

Knows nothing of the database. Every problem is a MigrationError that names
the file (and the line where there is one), raised before anything runs.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

from ansible_collections.tmi.postgresql.plugins.module_utils.sql_split import (
    SqlSyntaxError,
    split_statements,
)

# golang-migrate's pattern, narrowed to .sql files and plain names.
FILENAME_PATTERN = re.compile(r'^(?P<version>[0-9]+)_(?P<name>[A-Za-z0-9][A-Za-z0-9_-]*)\.(?P<direction>up|down)\.sql$')
NO_TRANSACTION_MARK = '-- tmi:no-transaction'
MAX_VERSION = 2 ** 63 - 1
_TRANSACTION_CONTROL = frozenset(['begin', 'start', 'commit', 'end', 'rollback', 'abort'])
BOM = '\ufeff'


class MigrationError(Exception):
    """A problem with one migration, located by file and line when known."""

    def __init__(self, message, filename=None, line=None):
        super(MigrationError, self).__init__(message)
        self.message = message
        self.filename = filename
        self.line = line

    def __str__(self):
        where = self.filename or ''
        if self.filename and self.line:
            where = '%s:%d' % (self.filename, self.line)
        return '%s: %s' % (where, self.message) if where else self.message


class MigrationFile(object):
    """One .up.sql or .down.sql file, split into statements."""

    def __init__(self, filename, content):
        self.filename = filename
        self.content = content
        self.sha256 = hashlib.sha256(content.encode('utf-8')).hexdigest()
        self._check_characters()
        self.no_transaction = content.split('\n', 1)[0].strip() == NO_TRANSACTION_MARK
        self.statements = self._parse_statements()

    def _check_characters(self):
        # psql skips a leading BOM, but golang-migrate (TMI's start-up, the
        # migrate CLI) sends the file as it is and the server fails on it,
        # after marking the database dirty: the same file must work for both.
        if self.content.startswith(BOM):
            raise MigrationError(
                'the file starts with a UTF-8 byte order mark (BOM): golang-migrate sends it to the server, '
                'which fails on it. Save the file as UTF-8 without BOM', self.filename, 1)
        nul = self.content.find('\x00')
        if nul >= 0:
            raise MigrationError('the file holds a NUL character, which no SQL statement can contain',
                                 self.filename, self.content.count('\n', 0, nul) + 1)

    def _parse_statements(self):
        try:
            statements = split_statements(self.content)
        except SqlSyntaxError as e:
            raise MigrationError(str(e), self.filename, e.line)
        if not statements:
            raise MigrationError('the file is empty: it holds no SQL statement', self.filename)
        if not self.no_transaction:
            statements = self._unwrap_transaction(statements)
        return statements

    def _unwrap_transaction(self, statements):
        """Drop a BEGIN ... COMMIT wrapper; refuse any other transaction control.

        golang-migrate users often wrap files in BEGIN/COMMIT because that tool
        does not; here the module owns the transaction, so a wrapper is
        redundant, and a COMMIT in the middle would break the all-or-nothing rule.
        """
        if (len(statements) >= 2 and statements[0].first_word() in ('begin', 'start')
                and statements[-1].first_word() in ('commit', 'end')):
            statements = statements[1:-1]
        for statement in statements:
            if is_transaction_control(statement):
                raise MigrationError(
                    'transaction control statement %r: each migration already runs in one '
                    'transaction; remove it, or mark the file with "%s" on its first line'
                    % (statement.text.split(None, 1)[0], NO_TRANSACTION_MARK),
                    self.filename, statement.line)
        if not statements:
            raise MigrationError('the file is empty: it holds no SQL statement', self.filename)
        return statements


def is_transaction_control(statement):
    """Whether a top-level statement begins or ends a transaction.

    Savepoints (SAVEPOINT, RELEASE, ROLLBACK TO) stay inside the module's
    transaction, and PREPARE name AS ... prepares a statement, not a transaction.
    """
    words = statement.words(4)
    if not words:
        return False
    if words[0] == 'prepare':
        return words[1:2] == ['transaction']
    if words[0] == 'rollback':
        return 'to' not in words[1:3]
    return words[0] in _TRANSACTION_CONTROL


class Migration(object):
    """A version with its up file and, when there is one, its down file."""

    def __init__(self, version, name, up=None, down=None):
        self.version = version
        self.name = name
        self.up = up
        self.down = down

    def file_for(self, direction):
        return self.up if direction == 'up' else self.down

    def __repr__(self):
        return 'Migration(%d, %r)' % (self.version, self.name)


def parse_filename(filename):
    """Return (version, name, direction) of a migration file name."""
    match = FILENAME_PATTERN.match(filename)
    if not match:
        raise MigrationError(
            'not a migration file name: expected NNNNNN_name.up.sql or NNNNNN_name.down.sql '
            '(digits, underscore, letters/digits/_/-, .up.sql or .down.sql)', filename)
    version = int(match.group('version'))
    if version < 1 or version > MAX_VERSION:
        raise MigrationError('version must be between 1 and %d' % MAX_VERSION, filename)
    return version, match.group('name'), match.group('direction')


def load_migrations(files):
    """Build the sorted list of Migration from {filename: content}.

    Hidden files (starting with a dot) are ignored; every other file must be a
    migration. Raises MigrationError on the first problem found, in file name
    order so the same directory always reports the same error.
    """
    by_version = {}
    for filename in sorted(files):
        if filename.startswith('.'):
            continue
        version, name, direction = parse_filename(filename)
        migration = by_version.get(version)
        if migration is None:
            migration = by_version[version] = Migration(version, name)
        existing = migration.file_for(direction)
        if existing is not None:
            raise MigrationError('duplicate version %d: %s is already a %s migration of that version'
                                 % (version, existing.filename, direction), filename)
        other = migration.up or migration.down
        if other is not None and migration.name != name:
            raise MigrationError('version %d has two names: %s and %s; an up file and its down '
                                 'file must share the name' % (version, other.filename, filename), filename)
        setattr(migration, direction, MigrationFile(filename, files[filename]))
    for version in sorted(by_version):
        migration = by_version[version]
        if migration.up is None:
            raise MigrationError('%s has no matching .up.sql file' % migration.down.filename,
                                 migration.down.filename)
    return [by_version[v] for v in sorted(by_version)]

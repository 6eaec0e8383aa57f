# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The core of the migrate module: which steps to run, and whether it is safe.

Pure functions of the migrations read from disk and of the state read from the
database; they neither read files nor talk to PostgreSQL, so every rule here
is unit-tested without a server.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import MAX_VERSION, MigrationError

VERSION_TABLE = 'schema_migrations'
HISTORY_TABLE = 'schema_migrations_history'
# golang-migrate writes -1 with dirty=true while rolling back to "no version".
NIL_VERSION = -1
# A day: longer than any migration TMI ships; no value may make the wait endless.
MAX_LOCK_TIMEOUT = 86400
_TARGET = re.compile(r'^[0-9]+$')
_SHA256 = re.compile(r'^[0-9a-f]{64}$')


class Step(object):
    """Run one migration in one direction, moving the version to version_after."""

    def __init__(self, migration, direction, version_after):
        self.migration = migration
        self.direction = direction
        self.version_after = version_after

    @property
    def file(self):
        return self.migration.file_for(self.direction)

    def summary(self):
        return dict(version=self.migration.version, name=self.migration.name, direction=self.direction)

    def __repr__(self):
        return 'Step(%d %s)' % (self.migration.version, self.direction)


def _versions(migrations):
    return [m.version for m in migrations]


def _describe_versions(migrations):
    versions = _versions(migrations)
    if not versions:
        return 'there are no migration files'
    if len(versions) > 12:
        return 'versions %s ... %s' % (', '.join(str(v) for v in versions[:6]),
                                       ', '.join(str(v) for v in versions[-3:]))
    return 'versions %s' % ', '.join(str(v) for v in versions)


def check_current_version(migrations, current):
    if current and current not in _versions(migrations):
        newest = migrations[-1].version if migrations else 0
        raise MigrationError(
            'the database is at version %d, but no migration file has that version (%s; newest %d). '
            'The migration files are not the ones this database was migrated with: point `path` at the '
            'right directory, or use force_version if the recorded version itself is wrong'
            % (current, _describe_versions(migrations), newest))


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def parse_target(target):
    """Return the target version, or None for 'latest'."""
    if target is None or target == 'latest':
        return None
    if _is_integer(target) or (isinstance(target, str) and _TARGET.match(target)):
        if 0 <= int(target) <= MAX_VERSION:
            return int(target)
    raise MigrationError('target must be "latest" or a version number from 0 to %d, not %r' % (MAX_VERSION, target))


def check_options(params):
    """Refuse numeric options out of range, naming the option."""
    parse_target(params.get('target'))
    steps = params.get('steps')
    if steps is not None and (steps == 0 or abs(steps) > MAX_VERSION):
        raise MigrationError('steps must be a number of versions from 1 to %d (negative to roll back), not %d'
                             % (MAX_VERSION, steps))
    force_version = params.get('force_version')
    if force_version is not None and not 0 <= force_version <= MAX_VERSION:
        raise MigrationError('force_version must be a version from 0 to %d, not %d' % (MAX_VERSION, force_version))
    timeout = params.get('lock_timeout')
    if timeout is not None and not (math.isfinite(timeout) and 0 < timeout <= MAX_LOCK_TIMEOUT):
        raise MigrationError('lock_timeout must be a number of seconds above 0 and at most %d, not %s'
                             % (MAX_LOCK_TIMEOUT, timeout))
    port = params.get('login_port')
    if port is not None and not 1 <= port <= 65535:
        raise MigrationError('login_port must be a TCP port from 1 to 65535, not %d' % port)


def check_version_rows(rows):
    """Return (version, dirty) from the rows of schema_migrations; refuse what golang-migrate never writes."""
    if len(rows) > 1:
        raise MigrationError('%s holds %d rows; golang-migrate keeps exactly one. Fix it by hand or '
                             'use force_version' % (VERSION_TABLE, len(rows)))
    if not rows:
        return 0, False
    version, dirty = rows[0]
    if not _is_integer(version) or not NIL_VERSION <= version <= MAX_VERSION:
        raise MigrationError('%s holds version %r; a version is a whole number from 0 to %d (-1 while dirty). '
                             'Fix the row by hand or use force_version' % (VERSION_TABLE, version, MAX_VERSION))
    if not isinstance(dirty, bool):
        raise MigrationError('%s holds dirty = %s; it must be true or false. Fix the row by hand or use '
                             'force_version' % (VERSION_TABLE, 'NULL' if dirty is None else repr(dirty)))
    if version == NIL_VERSION and not dirty:
        raise MigrationError('%s holds version -1 without the dirty flag, which golang-migrate never writes. '
                             'Fix the row by hand or use force_version' % VERSION_TABLE)
    return max(version, 0), dirty


def check_history_rows(rows):
    """Return (versions, {version: sha256 of its newest up step}) from (version, sha256) rows of the history."""
    versions, applied_sha256 = set(), {}
    for version, sha256 in rows:
        if not _is_integer(version) or not 0 <= version <= MAX_VERSION:
            raise MigrationError('%s holds version %r; a version is a whole number from 0 to %d. Fix the row '
                                 'by hand' % (HISTORY_TABLE, version, MAX_VERSION))
        if sha256 is not None and not (isinstance(sha256, str) and _SHA256.match(sha256)):
            raise MigrationError('%s holds sha256 %r for version %d; it must be 64 lower-case hex digits or '
                                 'NULL. Fix the row by hand' % (HISTORY_TABLE, sha256, version))
        versions.add(version)
        if sha256:
            applied_sha256[version] = sha256
    return versions, applied_sha256


def resolve_target(migrations, current, target=None, steps=None):
    """Return the version to move to, from `target` ('latest' or int) or `steps`."""
    if steps is not None:
        if steps == 0:
            raise MigrationError('steps must not be 0: give a positive number to apply, a negative one to roll back')
        if steps > 0:
            ahead = [m for m in migrations if m.version > current]
            if len(ahead) < steps:
                raise MigrationError('steps: %d asks for %d migrations above version %d, but only %d exist'
                                     % (steps, steps, current, len(ahead)))
            return ahead[steps - 1].version
        applied = [m for m in migrations if m.version <= current]
        if len(applied) < -steps:
            raise MigrationError('steps: %d asks to roll back %d migrations from version %d, but only %d are applied'
                                 % (steps, -steps, current, len(applied)))
        remaining = applied[:len(applied) + steps]
        return remaining[-1].version if remaining else 0
    version = parse_target(target)
    if version is None:
        return migrations[-1].version if migrations else 0
    if version != 0 and version not in _versions(migrations):
        raise MigrationError('target %d is not a migration version (%s); use 0 to roll back everything'
                             % (version, _describe_versions(migrations)))
    return version


def plan_steps(migrations, current, target_version, allow_down=False):
    """Return the ordered list of Step that moves the database to target_version."""
    check_current_version(migrations, current)
    if target_version >= current:
        ups = [m for m in migrations if current < m.version <= target_version]
        return [Step(m, 'up', m.version) for m in ups]
    downs = [m for m in migrations if target_version < m.version <= current]
    if not allow_down:
        raise MigrationError(
            'target %d is below the database version %d: that rolls back %s and can lose data. '
            'Set allow_down: true to do it' % (target_version, current, _describe_versions(downs)))
    missing = [m for m in downs if m.down is None]
    if missing:
        raise MigrationError('cannot roll back: no %s' % ', '.join(
            '%06d_%s.down.sql' % (m.version, m.name) for m in missing), missing[0].up.filename)
    steps = []
    for index in range(len(downs) - 1, -1, -1):
        below = [m for m in migrations if m.version < downs[index].version]
        steps.append(Step(downs[index], 'down', below[-1].version if below else 0))
    return steps


def check_out_of_order(migrations, state):
    """Refuse versions below the applied one that were never applied.

    Only the history table can tell: versions below its oldest entry are taken
    as applied by an earlier tool (golang-migrate), as golang-migrate would.
    """
    if not state.history_versions:
        return
    oldest_recorded = min(state.history_versions)
    skipped = [m for m in migrations
               if oldest_recorded < m.version < state.version and m.version not in state.history_versions]
    if skipped:
        raise MigrationError(
            'version %d is below the database version %d but was never applied: it was added out of order '
            '(for example merged after a higher version was deployed). Renumber it above %d'
            % (skipped[0].version, state.version, state.version), skipped[0].up.filename)


def check_applied_files(migrations, state, allow_modified=False):
    """Compare applied files with the checksums recorded when they ran.

    Returns the list of warnings; raises MigrationError when a file changed
    and allow_modified is false.
    """
    changed = [m for m in migrations
               if m.version <= state.version and m.version in state.applied_sha256
               and state.applied_sha256[m.version] != m.up.sha256]
    if not changed:
        return []
    names = ', '.join(m.up.filename for m in changed)
    if not allow_modified:
        raise MigrationError(
            'applied migration file(s) changed since they ran: %s. The database holds what the old '
            'text did, not the new one. Restore the original file(s), or put the change in a new '
            'migration; set allow_modified: true only if you are sure the change is harmless' % names,
            changed[0].up.filename)
    return ['applied migration file(s) changed since they ran (allowed by allow_modified): %s' % names]


def pending_migrations(migrations, version):
    return [dict(version=m.version, name=m.name) for m in migrations if m.version > version]


def versions_without_down(migrations, current, since=0):
    """The applied versions above `since` (up to `current`) that have no .down.sql file.

    Rolling back from `current` to `since` is possible only when this is empty.
    """
    return [m.version for m in migrations if since < m.version <= current and m.down is None]

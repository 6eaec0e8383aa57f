# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one definition of "WAL archiving is failing", for check_db and the wal_archive role.

Archiving is failing when archive_mode is not off and the archiver's last
failure is newer than its last success, or it failed and never succeeded.

Two other readings were in use and both raise false alarms:
- "failed_count grew during the check" (the wal_archive role): the archiver
  retries the same segment until it is archived, so a failure followed by a
  success is a recovered hiccup (a full disk that was cleaned, a network
  share back), not a failing archive; nothing is stuck.
- ignoring archive_mode (the wal_archive role too): pg_stat_archiver keeps its
  counters across restarts, so after archiving is turned off the last failure
  before that would be reported for ever, although no segment waits.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_plan import PlanError, stanza_info as stanza_entry

# archive_mode and pg_stat_archiver in one row; times as text (ISO, with zone).
# failed_newer is computed by the server, which compares the timestamps exactly.
# The data directory comes in the same row (the wal_archive role checks its
# pg1-path against it): pg_settings hides it from a role that may not read it,
# which then gets NULL where current_setting() would raise an error.
ARCHIVER_QUERY = (
    "SELECT current_setting('archive_mode') AS archive_mode, "
    "archived_count, last_archived_wal, last_archived_time::text AS last_archived_time, "
    "failed_count, last_failed_wal, last_failed_time::text AS last_failed_time, "
    "coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false) AS failed_newer, "
    "(SELECT setting FROM pg_settings WHERE name = 'data_directory') AS data_directory "
    "FROM pg_stat_archiver")

COLUMNS = ('archive_mode', 'archived_count', 'last_archived_wal', 'last_archived_time',
           'failed_count', 'last_failed_wal', 'last_failed_time', 'failed_newer')
# The columns of ARCHIVER_QUERY: the archiver's, then the server's data directory.
QUERY_COLUMNS = COLUMNS + ('data_directory',)


def is_failing(archive_mode, failed_count, failed_newer):
    """Whether archiving is failing (see the module docstring)."""
    return archive_mode != 'off' and (failed_count or 0) > 0 and bool(failed_newer)


def works(status):
    """Whether pg_stat_archiver alone shows archiving working: on, a segment archived, not failing.

    Anything else (off, never archived, failing) needs an end-to-end check to
    say more; so does a change of the configuration, which these counters
    cannot show.
    """
    return status['archive_mode'] != 'off' and bool(status['last_archived_wal']) and not status['failing']


def last_archived(status):
    """'WAL at TIME' of the last archived segment, or 'never'."""
    if not status.get('last_archived_wal'):
        return 'never'
    return '%s at %s' % (status['last_archived_wal'], status.get('last_archived_time'))


def describe(status):
    """One sentence for the operator: why archiving is failing, or that it is not."""
    if status['archive_mode'] == 'off':
        return 'WAL archiving is off (archive_mode off).'
    if not status['failing']:
        return 'WAL archiving works (archive_mode %s): %d segments archived, the last %s.' % (
            status['archive_mode'], status['archived_count'] or 0, last_archived(status))
    return ('WAL archiving fails (archive_mode %s): %d failures, the last of %s at %s; last archived: %s. '
            'Point-in-time recovery cannot reach past the last archived segment, and pg_wal grows; '
            "read the server log for the archive_command's error."
            % (status['archive_mode'], status['failed_count'], status['last_failed_wal'],
               status['last_failed_time'], last_archived(status)))


def archiver_status(row):
    """The status of the archiver from one row of ARCHIVER_QUERY (a tuple or a dict).

    Returns the columns plus failing (bool) and message (str).
    """
    if not isinstance(row, dict):
        if len(row) != len(COLUMNS):
            raise ValueError('archiver row has %d columns, expected %d' % (len(row), len(COLUMNS)))
        row = dict(zip(COLUMNS, row))
    status = dict((name, row.get(name)) for name in COLUMNS)
    status['failing'] = is_failing(status['archive_mode'], status['failed_count'], status['failed_newer'])
    status['message'] = describe(status)
    return status


def split_row(row):
    """One row of ARCHIVER_QUERY (a tuple) as (the archiver's columns, the data directory or None)."""
    if len(row) != len(QUERY_COLUMNS):
        raise ValueError('archiver row has %d columns, expected %d' % (len(row), len(QUERY_COLUMNS)))
    return tuple(row[:len(COLUMNS)]), row[len(COLUMNS)]


def stanza_info(rc, out, err, stanza):
    """The entry of stanza in the output of `pgbackrest --output=json info`, as (entry, None), or (None, why).

    why is pgBackRest's message when the command failed (no configuration yet, a repository it cannot
    reach), or pgbackrest_plan's when the output is not the JSON list it prints or lacks the stanza.
    """
    if rc != 0:
        return None, 'pgbackrest info exited with %d: %s' % (rc, (err or out or '').strip())
    try:
        return stanza_entry(out, stanza), None
    except PlanError as e:
        return None, str(e)

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

import re
import time

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


# Whether the login role may list pg_wal (superusers and pg_monitor may).
WAL_ALLOWED_QUERY = (
    "SELECT has_function_privilege('pg_ls_waldir()', 'EXECUTE') "
    "AND has_function_privilege('pg_ls_archive_statusdir()', 'EXECUTE')")
# The WAL waiting for archive_command (a .ready file each), since when, and all of pg_wal.
WAL_QUERY = (
    "SELECT (SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready_segments, "
    "(SELECT min(modification)::text FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready') AS ready_since, "
    "(SELECT setting::bigint FROM pg_settings WHERE name = 'wal_segment_size') AS segment_bytes, "
    "(SELECT coalesce(sum(size), 0)::bigint FROM pg_ls_waldir()) AS pg_wal_bytes")
WAL_COLUMNS = ('ready_segments', 'ready_since', 'segment_bytes', 'pg_wal_bytes')

# A line of pgBackRest's archive-push log saying it dropped WAL (archive-push-queue-max).
DROPPED_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\S* .*WARN: (dropped WAL file.*)$')
WAL_NAME = re.compile(r'[0-9A-F]{24}')


def waiting(row):
    """The WAL waiting for archive_command, from one row of WAL_QUERY (a tuple), with its size in bytes."""
    waiting = dict(zip(WAL_COLUMNS, row))
    waiting['ready_bytes'] = (waiting['ready_segments'] or 0) * (waiting['segment_bytes'] or 0)
    return waiting


def mebibytes(size):
    return '%d MiB' % ((size or 0) // (1024 * 1024))


def dropped_wal(lines, last_backup_stop=None):
    """The drops in pgBackRest's archive-push log lines.

    Returns None when there are none, else a dict: count (drop warnings),
    last_time (local time of the last, as in the log), wal (segment names
    of the last warning), open (True when the last drop is newer than
    last_backup_stop, epoch seconds of the newest backup's end: then
    point-in-time recovery has a gap that no backup closed yet; None when
    that time is unknown) and message.
    """
    drops = []
    for line in lines:
        match = DROPPED_LINE.match(line.rstrip('\n'))
        if match:
            drops.append((match.group(1), match.group(2)))
    if not drops:
        return None
    last_time, last_message = max(drops)
    if last_backup_stop is None:
        still_open = None
    else:
        still_open = time.mktime(time.strptime(last_time, '%Y-%m-%d %H:%M:%S')) >= last_backup_stop
    result = dict(count=len(drops), last_time=last_time, wal=WAL_NAME.findall(last_message), open=still_open)
    if still_open is False:
        result['message'] = ('pgBackRest dropped WAL %d times (archive-push-queue-max), the last at %s; a backup '
                             'taken since closes that gap.' % (len(drops), last_time))
    else:
        result['message'] = ('pgBackRest DROPPED WAL (archive-push-queue-max) %d times, the last at %s (%s): it told '
                             'PostgreSQL the segments were archived, so point-in-time recovery has a gap there%s.'
                             % (len(drops), last_time, ', '.join(result['wal']) or last_message,
                                ' until the next full or differential backup' if still_open else
                                '; a backup after it closes the gap (the last backup could not be read)'))
    return result


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


def describe_waiting(wal):
    """What waits in pg_wal for archive_command, as a sentence, or '' when that is unknown."""
    if wal is None:
        return ''
    if not wal['ready_segments']:
        return ' No WAL waits in pg_wal for the archive (pg_wal: %s).' % mebibytes(wal['pg_wal_bytes'])
    return ' %d segments (%s) wait in pg_wal for the archive since %s (pg_wal: %s).' % (
        wal['ready_segments'], mebibytes(wal['ready_bytes']), wal['ready_since'], mebibytes(wal['pg_wal_bytes']))


def describe(status, repository=None):
    """One sentence for the operator: why archiving is failing, or that it is not."""
    if status['archive_mode'] == 'off':
        return 'WAL archiving is off (archive_mode off).'
    target = ' to %s' % repository if repository else ''
    if not status['failing']:
        return 'WAL archiving%s works (archive_mode %s): %d segments archived, the last %s.%s' % (
            target, status['archive_mode'], status['archived_count'] or 0, last_archived(status),
            describe_waiting(status.get('waiting')))
    return ('WAL archiving%s fails (archive_mode %s): %d failures, the last of %s at %s; last archived: %s.%s '
            'Point-in-time recovery cannot reach past the last archived segment, and pg_wal grows; '
            "read the server log for the archive_command's error."
            % (target, status['archive_mode'], status['failed_count'], status['last_failed_wal'],
               status['last_failed_time'], last_archived(status), describe_waiting(status.get('waiting'))))


def archiver_status(row, wal=None, repository=None):
    """The status of the archiver from one row of ARCHIVER_QUERY (a tuple or a dict).

    wal: waiting() of WAL_QUERY's row, or None when pg_wal could not be read.
    repository: where archive_command pushes to, named in the message.
    Returns the columns plus waiting, repository, failing (bool) and message (str).
    """
    if not isinstance(row, dict):
        if len(row) != len(COLUMNS):
            raise ValueError('archiver row has %d columns, expected %d' % (len(row), len(COLUMNS)))
        row = dict(zip(COLUMNS, row))
    status = dict((name, row.get(name)) for name in COLUMNS)
    status['waiting'] = wal
    status['repository'] = repository or None
    status['failing'] = is_failing(status['archive_mode'], status['failed_count'], status['failed_newer'])
    status['message'] = describe(status, repository)
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

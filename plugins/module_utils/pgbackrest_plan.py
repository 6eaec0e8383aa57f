# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which pgBackRest backup a point-in-time recovery starts from, and what it reads to know.

Pure functions: the module tmi.postgresql.pgbackrest_restore_plan hands
make_plan() two readers (pgBackRest's output, GNU date's) and returns its
answer. Nothing here changes anything.

After an earlier recovery the archive holds several timelines, and a recovery
follows the newest. A backup taken on an older timeline after the point where
the newest one forked off cannot start that recovery (PostgreSQL stops:
"requested timeline N is not a child of this server's history"), so the
newest timeline's history decides which backups fit.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re
import time

LSN = re.compile(r'^([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$')
HISTORY_FILE = re.compile(r'^([0-9A-Fa-f]{8})[.]history$')
END_OF_WAL = 'end of the archived WAL'
# Sorts after every LSN: a timeline nobody left has no switch point.
NO_SWITCH = 0xFFFFFFFFFFFFFFFF


class PlanError(Exception):
    """Bad input or output that cannot be read: the recovery must not start."""


def lsn_value(text):
    """An LSN such as 0/5000060 as a number that sorts and compares (hi << 32 | lo)."""
    match = LSN.match(text or '')
    if not match:
        raise PlanError("%r is not an LSN like 0/5000060" % (text,))
    return (int(match.group(1), 16) << 32) | int(match.group(2), 16)


def recovery_target(target_time, target_lsn):
    """The kind of recovery target: dict(type=time|lsn|default, target=text, lsn=number or None)."""
    target_time = (target_time or '').strip()
    target_lsn = (target_lsn or '').strip()
    if target_time and target_lsn:
        raise PlanError('Set the target time or the target LSN (an LSN like 0/5000060), not both: got %r and %r.'
                        % (target_time, target_lsn))
    if target_lsn:
        if not LSN.match(target_lsn):
            raise PlanError('The target LSN %r is not an LSN like 0/5000060.' % target_lsn)
        return dict(type='lsn', target=target_lsn, lsn=lsn_value(target_lsn))
    if target_time:
        return dict(type='time', target=target_time, lsn=None)
    return dict(type='default', target=END_OF_WAL, lsn=None)


def epoch_from_date(target_time, rc, stdout, stderr):
    """Seconds since the epoch from `date --utc --date TIME +%s.%N`, or a PlanError that says why not."""
    text = (stdout or '').strip()
    if rc == 0 and re.match(r'^-?[0-9]+([.][0-9]+)?$', text):
        return float(text)
    raise PlanError('The target time %r is not a time GNU date can read (%s); write it with its time zone, '
                    'e.g. "2026-11-25 14:03:00+00".' % (target_time, (stderr or text or 'no output').strip()))


def stanza_info(stdout, stanza):
    """The stanza's entry of `pgbackrest --output=json info`."""
    try:
        info = json.loads(stdout)
    except ValueError as e:
        raise PlanError('pgbackrest info printed no JSON (%s): %.200s' % (e, stdout))
    entries = [i for i in info if isinstance(i, dict) and i.get('name', stanza) == stanza] if isinstance(info, list) else []
    if not entries:
        raise PlanError('pgbackrest info knows no stanza %s.' % stanza)
    return entries[0]


def archive_id(info):
    """Archive of the stanza's current database (e.g. 15-1), '' when there is none."""
    ids = [a.get('id') for a in info.get('archive') or [] if a.get('id')]
    return ids[-1] if ids else ''


def newest_archived_wal(info):
    """Name (24 hex digits) of the newest archived WAL segment, '' when the archive is empty."""
    return max((a.get('max') or '' for a in info.get('archive') or []), default='')


def history_timelines(listing):
    """Timelines of the history files that `pgbackrest --output=json repo-ls` lists."""
    try:
        names = json.loads(listing or '{}')
    except ValueError as e:
        raise PlanError('pgbackrest repo-ls printed no JSON (%s): %.200s' % (e, listing))
    return sorted(int(m.group(1), 16) for m in (HISTORY_FILE.match(n) for n in names) if m)


def newest_timeline(timelines, newest_wal):
    """The timeline a recovery follows: the highest one with a history file or an archived segment."""
    return max(list(timelines) + [int(newest_wal[:8] or '1', 16)])


def parse_history(text):
    """[(parent timeline, switch LSN as a number)] per line of a timeline history file, in its order."""
    switches = []
    for line in (text or '').splitlines():
        field = line.split()
        if len(field) >= 2 and field[0].isdigit() and LSN.match(field[1]):
            switches.append((int(field[0]), lsn_value(field[1])))
    return switches


def manifest_lsn(text, label):
    """The start and stop LSN a backup's manifest (backup.manifest, INI with JSON values) records in [backup]."""
    section, found = None, {}
    for line in (text or '').splitlines():
        line = line.strip()
        if line.startswith('['):
            section = line
        elif section == '[backup]' and line.startswith('backup-lsn-'):
            key, _sep, value = line.partition('=')
            try:
                found[key[len('backup-lsn-'):]] = json.loads(value)
            except ValueError:
                raise PlanError('The manifest of backup %s has an unreadable %s: %r.' % (label, key, value))
    if not (found.get('start') and found.get('stop')):
        raise PlanError('The manifest of backup %s records no backup-lsn-start and backup-lsn-stop.' % label)
    lsn_value(found['stop'])
    return dict(start=found['start'], stop=found['stop'])


def with_lsn(backups, stanza, pgbackrest):
    """The backups, each with its start and stop LSN.

    pgbackrest info prints a backup's LSNs from pgBackRest 2.36 on; older
    releases (Debian 11 has 2.33) record them only in the backup's manifest.
    """
    for backup in backups:
        if 'lsn' not in backup:
            backup['lsn'] = manifest_lsn(
                pgbackrest(['repo-get', 'backup/%s/%s/backup.manifest' % (stanza, backup['label'])]), backup['label'])
    return backups


def backup_timeline(backup):
    return int(backup['archive']['stop'][:8], 16)


def on_timeline_path(backup, timeline, switches):
    """Whether the backup lies on the newest timeline's path: on that timeline, or on an ancestor before it was left."""
    own = backup_timeline(backup)
    if own == timeline:
        return True
    # The backup's timeline stays on the path up to the lowest switch point at
    # or after its own line of the history.
    seen, left_at = False, NO_SWITCH
    for parent, switch in switches:
        seen = seen or parent == own
        if seen:
            left_at = min(left_at, switch)
    return seen and lsn_value(backup['lsn']['stop']) <= left_at


def ends_before(backup, target, target_epoch):
    """Whether the backup ended before the recovery target."""
    if target['type'] == 'time':
        return backup['timestamp']['stop'] < target_epoch
    if target['type'] == 'lsn':
        return lsn_value(backup['lsn']['stop']) <= target['lsn']
    return True


def utc_text(epoch):
    return time.strftime('%Y-%m-%d %H:%M:%S+00', time.gmtime(epoch))


def describe_backup(backup):
    """What the summary and the result tell of a backup."""
    return dict(label=backup['label'], type=backup['type'], stop_time=backup['timestamp']['stop'],
                stop_time_text=utc_text(backup['timestamp']['stop']), stop_lsn=backup['lsn']['stop'],
                timeline=backup_timeline(backup))


def choose_backup(backups, target, target_epoch, timeline, switches):
    """The newest backup without error that lies on the timeline's path and ended before the target, or None."""
    chosen = None
    for backup in sorted((b for b in backups if not b.get('error')), key=lambda b: b['timestamp']['stop']):
        if on_timeline_path(backup, timeline, switches) and ends_before(backup, target, target_epoch):
            chosen = backup
    return chosen


def no_backup_message(stanza, target, backups, timeline, switches, status=None):
    """Why no backup fits, naming the target and listing every backup."""
    listed = []
    for backup in sorted(backups, key=lambda b: b['timestamp']['stop']):
        notes = [backup['type'], 'ended %s' % utc_text(backup['timestamp']['stop']), 'lsn %s' % backup['lsn']['stop'],
                 'timeline %d' % backup_timeline(backup)]
        if backup.get('error'):
            notes.append('has errors')
        elif not on_timeline_path(backup, timeline, switches):
            notes.append("not on timeline %d's path" % timeline)
        listed.append('%s (%s)' % (backup['label'], ', '.join(notes)))
    message = 'No backup of stanza %s ended before %s; nothing was touched. Backups: %s.' % (
        stanza, target, '; '.join(listed) or 'none')
    if status and status.get('code'):
        message += ' pgBackRest says: %s.' % status.get('message')
    return message


def restore_options(backup, target, lsn_type=True):
    """pgbackrest restore options for the chosen backup and target.

    lsn_type False: this pgBackRest has no --type=lsn (2.33 refuses it), so an
    LSN target goes to PostgreSQL's own recovery settings through
    --recovery-option, as --type=lsn --target-action=promote would write them.
    """
    options = ['--set=' + backup['label']]
    if target['type'] == 'lsn' and not lsn_type:
        return options + ['--type=default', '--recovery-option=recovery_target_lsn=' + target['target'],
                          '--recovery-option=recovery_target_action=promote']
    options.append('--type=' + target['type'])
    if target['type'] != 'default':
        options += ['--target=' + target['target'], '--target-action=promote']
    return options


def wal_gap(target_type, reached_segment, newest_segment):
    """Whether a recovery to the end of the WAL stopped at a missing segment: it ended before the newest archived one.

    Segments without their timeline (16 hex digits): the recovery ends on a new timeline.
    """
    return bool(target_type == 'default' and reached_segment and newest_segment and reached_segment < newest_segment)


def make_plan(stanza, target_time, target_lsn, pgbackrest, date):
    """Read the repository and choose the backup; raise PlanError when nothing fits.

    pgbackrest(args) returns the stdout of pgbackrest with those arguments;
    date(text) returns the epoch seconds of a time (see epoch_from_date).
    """
    target = recovery_target(target_time, target_lsn)
    target_epoch = date(target['target']) if target['type'] == 'time' else None
    info = stanza_info(pgbackrest(['--output=json', 'info']), stanza)
    archive = archive_id(info)
    newest_wal = newest_archived_wal(info)
    timelines = []
    if archive:
        timelines = history_timelines(pgbackrest(['--output=json', '--filter=[.]history$', 'repo-ls',
                                                  'archive/%s/%s' % (stanza, archive)]))
    timeline = newest_timeline(timelines, newest_wal)
    switches = []
    if timeline > 1:
        # repo-get, not archive-get: archive-get checks the local cluster's
        # system identifier, which a blank cluster on a new host does not share.
        switches = parse_history(pgbackrest(['repo-get', 'archive/%s/%s/%08X.history' % (stanza, archive, timeline)]))
    backups = info.get('backup') or []
    # An info without the backups' LSNs comes from a pgBackRest before 2.36,
    # which may lack --type=lsn as well (2.33 does): see restore_options.
    lsn_type = all('lsn' in backup for backup in backups)
    backups = with_lsn(backups, stanza, pgbackrest)
    chosen = choose_backup(backups, target, target_epoch, timeline, switches)
    if chosen is None:
        raise PlanError(no_backup_message(stanza, target['target'], backups, timeline, switches, info.get('status')))
    return dict(
        target_type=target['type'], target=target['target'], target_epoch=target_epoch,
        archive_id=archive, newest_wal=newest_wal, newest_segment=newest_wal[8:], timeline=timeline,
        history=[[parent, '%X/%X' % (switch >> 32, switch & 0xFFFFFFFF)] for parent, switch in switches],
        backup=describe_backup(chosen), backups=[b['label'] for b in backups],
        restore_options=restore_options(chosen, target, lsn_type))

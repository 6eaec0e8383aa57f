# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decisions about the logical backups: which file to restore, what a dump's
table of contents says, what the backup script answered, whether the row
counts of a restored database match the live one's.

Pure functions; the filters tmi.postgresql.newest_backup, pg_restore_toc,
backup_script_result and row_count_comparison expose them to the roles.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import posixpath
import re

try:
    from urllib.parse import unquote
except ImportError:  # Python 2, for ansible-test's import sanity only
    from urllib import unquote

# DATABASE and CLUSTER of the names the backup script writes: every byte but
# a-z, 0-9, '_' and '-' is written %XX.
_ENCODED = r'(?:[a-z0-9_-]|%[0-9A-F]{2})+'
_DBNAME = re.compile(r'^;\s+dbname: (.*)$')
_CREATED = re.compile(r'^;\s+Archive created at (.*)$')


def backup_name_pattern(prefix):
    """Regex of PREFIX_STAMP.DATABASE.CLUSTER.dump and of the legacy PREFIX_STAMP.dump.

    Groups: stamp (YYYYmmdd_HHMMSS), database and cluster (still %XX-encoded; None for a legacy name).
    """
    return re.compile(r'^%s_([0-9]{8}_[0-9]{6})(?:\.(%s)\.(%s))?\.dump$' % (re.escape(prefix), _ENCODED, _ENCODED))


def parse_backup_name(name, prefix):
    """(stamp, database, cluster) of a backup file name, database and cluster decoded
    (None for a legacy PREFIX_STAMP.dump); None when the name is not a backup's."""
    match = backup_name_pattern(prefix).match(name)
    if not match:
        return None
    stamp, database, cluster = match.groups()
    if database is None:
        return stamp, None, None
    return stamp, unquote(database), unquote(cluster)


def newest_backup(paths, prefix, database, cluster=''):
    """The path of the newest backup of database (and of cluster, when given) among paths, or ''.

    Legacy PREFIX_STAMP.dump files (named before the database was in the name)
    are candidates too, since they may be the only backups after an upgrade: the
    caller checks the table of contents. Of two files of the same time, the one
    that names its database wins; then the greater path, so the choice never
    depends on the order of paths.
    """
    best = None
    for path in paths:
        parsed = parse_backup_name(posixpath.basename(path), prefix)
        if parsed is None:
            continue
        stamp, name_database, name_cluster = parsed
        legacy = name_database is None
        if not legacy and (name_database != database or (cluster and name_cluster != cluster)):
            continue
        key = (stamp, not legacy, path)
        if best is None or key > best:
            best = key
    return best[2] if best else ''


def pg_restore_toc(lines):
    """What `pg_restore --list` printed: the dump's dbname, when it was created, its entries,
    and whether it holds table data."""
    dbname = created = None
    entries = 0
    table_data = False
    for line in lines:
        if line.startswith(';'):
            match = _DBNAME.match(line)
            if match and dbname is None:
                dbname = match.group(1)
            match = _CREATED.match(line)
            if match and created is None:
                created = match.group(1)
        elif line.strip():
            entries += 1
            table_data = table_data or ' TABLE DATA ' in line
    return dict(dbname=dbname, archive_created=created, entries=entries, table_data=table_data)


def backup_script_result(rc, stdout, stderr='', msg=''):
    """The backup script's JSON result (tmi-pg-backup --json) with `ok`, whatever happened.

    ok is true only when the script exited 0 and said status ok. A script that
    could not start, printed no JSON, or printed something that is not its
    result, gives status failed, step start (or result) and the reason in error.
    """
    text = (stdout or '').strip()
    result = None
    if text.startswith('{'):
        try:
            result = json.loads(text.splitlines()[-1] if '\n' in text else text)
        except ValueError:
            result = None
        if not isinstance(result, dict) or 'status' not in result:
            result = dict(status='failed', step='result',
                          error='the script printed something that is not its JSON result: %s' % text[:200])
    if result is None:
        result = dict(status='failed', step='start',
                      error=(stderr or '').strip() or (msg or '').strip() or 'no output')
    result = dict(result)
    result['rc'] = rc
    if rc != 0 and result.get('status') == 'ok':
        result.update(status='failed', step=result.get('step') or 'end',
                      error='the script said ok but exited with status %s' % rc)
    elif rc == 0 and result.get('status') != 'ok' and not result.get('error'):
        result['error'] = 'the script exited 0 with status %s' % result.get('status')
    result['ok'] = rc == 0 and result.get('status') == 'ok'
    for key in ('step', 'error'):
        result.setdefault(key, '')
    return result


def row_count_comparison(restored, live):
    """Row counts per table of a restored database and the live one.

    restored and live: schema_validate's `tables` (name -> {'rows': n, ...}); live
    is {} when there is no live database. Returns row_counts (table -> restored,
    live; sorted by table) and row_counts_match: true only when there is a live
    database and every table of the restored one has the same count there.
    """
    live = live or {}
    counts = {}
    for name in sorted(restored):
        counts[name] = dict(restored=restored[name].get('rows'),
                            live=live[name].get('rows') if name in live else None)
    match = bool(live) and all(c['restored'] == c['live'] for c in counts.values())
    return dict(row_counts=counts, row_counts_match=match)

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: archiver_status
short_description: Read archive_mode and pg_stat_archiver and say whether WAL archiving is failing
version_added: 0.2.0
description:
  - Reads C(archive_mode), the WAL archiver's counters (C(pg_stat_archiver)) and the server's
    C(data_directory) with one query.
  - Archiving is failing when C(archive_mode) is not C(off) and the archiver's last failure is newer
    than its last success, or it failed and never succeeded. A failure followed by a success is a
    recovered hiccup, and the counters left from before archiving was turned off are history.
  - When archiving is failing, the module returns an Ansible warning (unless O(warn=false)); it
    never fails because of it. Decide with the returned RV(failing).
  - With O(pgbackrest_stanza), it also reads the other end of archiving, the stanza in the pgBackRest
    repository (C(pgbackrest info)), in the same round trip. The wal_archive role decides from this one
    read whether the stanza must be created and whether a first backup is due.
author:
  - TMI operations engineers (@tmi)
options:
  login_db:
    description:
      - Database to connect to; any database of the cluster shows the same archiver.
    type: str
    required: false
    default: postgres
    aliases: [ db ]
  warn:
    description:
      - Return an Ansible warning with RV(message) when archiving is failing.
    type: bool
    default: true
  pgbackrest_stanza:
    description:
      - Also run C(pgbackrest --output=json info) for this stanza, as the user the module runs as, and
        return its entry as RV(stanza). A failure of that command (no configuration yet, a repository out
        of reach, pgBackRest not installed) does not fail the module; RV(stanza) is then C(null) and
        RV(stanza_error) says why.
    type: str
  pgbackrest_config:
    description:
      - The pgBackRest configuration file of O(pgbackrest_stanza) (C(--config)); pgBackRest's default when
        not given.
    type: path
  pgbackrest_info:
    description:
      - Whether to run C(pgbackrest info) for O(pgbackrest_stanza) on every call. When false, it runs only when
        O(pgbackrest_log_path) shows dropped WAL, to tell whether a backup was taken after the drop.
    type: bool
    default: true
  pgbackrest_log_path:
    description:
      - pgBackRest's log folder (log-path). With O(pgbackrest_stanza), its archive-push logs
        (C(STANZA-archive-push*.log), the last 4 MiB of each) are searched for WAL that pgBackRest dropped because
        more than C(archive-push-queue-max) waited for the repository; see C(dropped) in RV(archiver), and RV(gap).
    type: path
  repository:
    description:
      - Where archive_command pushes the WAL, for the operator (for example C(repository host backup1 port 8432));
        named in RV(message).
    type: str
extends_documentation_fragment:
  - tmi.postgresql.read_only
  - community.postgresql.postgres
  - tmi.postgresql.connection
seealso:
  - name: The pg_stat_archiver view
    description: The archiver's counters in PostgreSQL's documentation.
    link: https://www.postgresql.org/docs/current/monitoring-stats.html#MONITORING-PG-STAT-ARCHIVER-VIEW
'''

EXAMPLES = r'''
- name: Warn when WAL archiving fails
  tmi.postgresql.archiver_status:
    login_unix_socket: /var/run/postgresql
  become: true
  become_user: postgres
  register: archiver

- name: Stop when it does
  ansible.builtin.assert:
    that: not archiver.failing
    fail_msg: "{{ archiver.message }}"
'''

RETURN = r'''
archiver:
  description:
    - C(archive_mode) (C(off), C(on) or C(always)) and the counters of C(pg_stat_archiver), times as text and
      C(null) when there was no such event, C(failed_newer) (the last failure is newer than the last
      success, or there never was one), C(failing) and C(message) as below.
    - C(waiting) - the WAL that waits in pg_wal for archive_command (C(ready_segments), C(ready_bytes),
      C(ready_since), the time of the oldest) and the size of pg_wal (C(pg_wal_bytes)); C(null) when the login
      role may not list pg_wal (neither a superuser nor a member of C(pg_monitor)).
    - C(repository) - O(repository). C(dropped) - C(null), or the WAL pgBackRest dropped (see O(pgbackrest_log_path))
      - C(count), C(last_time), C(wal) (the segments named in the last warning), C(open) (whether the last drop is
      newer than the newest backup; C(null) when unknown) and C(message).
  returned: success
  type: dict
  sample: {"archive_mode": "on", "archived_count": 42, "last_archived_wal": "000000010000000000000029",
           "last_archived_time": "2026-12-01 02:00:04.123+00", "failed_count": 0, "last_failed_wal": null,
           "last_failed_time": null, "failed_newer": false, "failing": false,
           "waiting": {"ready_segments": 0, "ready_since": null, "segment_bytes": 16777216, "ready_bytes": 0,
                       "pg_wal_bytes": 83886080},
           "repository": null, "dropped": null,
           "message": "WAL archiving works (archive_mode on): 42 segments archived, the last ..."}
gap:
  description:
    - Whether pgBackRest dropped WAL after the newest backup (or when that backup could not be read) - it reported
      the segments archived, so point-in-time recovery has a gap until the next backup.
  returned: success
  type: bool
  sample: false
failing:
  description: Whether WAL archiving is failing (see the description).
  returned: success
  type: bool
  sample: false
works:
  description:
    - Whether the counters alone show archiving working - C(archive_mode) is not C(off), a segment was
      archived and archiving is not failing. When false (off, never archived, failing), only an end-to-end
      check (C(pgbackrest check), a segment switch) says more.
  returned: success
  type: bool
  sample: true
data_directory:
  description:
    - The server's C(data_directory); C(null) when the login role may not read it (neither a superuser nor a
      member of C(pg_read_all_settings)).
  returned: success
  type: str
  sample: /var/lib/postgresql/15/main
stanza:
  description:
    - The entry of O(pgbackrest_stanza) in C(pgbackrest --output=json info) (C(status) with C(code) and
      C(message), C(backup), C(archive), ...); C(null) when the command failed or O(pgbackrest_stanza) was
      not given.
  returned: success
  type: dict
  sample: {"name": "tmi", "status": {"code": 0, "message": "ok"}, "backup": []}
stanza_error:
  description: Why RV(stanza) is C(null) when O(pgbackrest_stanza) was given; C(null) otherwise.
  returned: success
  type: str
  sample: "pgbackrest info exited with 41: ERROR: [041]: unable to open missing file '/etc/pgbackrest/pgbackrest.conf'"
message:
  description: One sentence for the operator on the state of archiving.
  returned: success
  type: str
  sample: "WAL archiving is off (archive_mode off)."
'''

import glob
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.archiver import (
    ARCHIVER_QUERY,
    WAL_ALLOWED_QUERY,
    WAL_QUERY,
    archiver_status,
    dropped_wal,
    split_row,
    stanza_info,
    waiting,
    works,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    connection_argument_spec,
    fetch_rows,
    module_connection,
    tuple_cursor,
)


def read_stanza(module):
    """(entry, why) of pgbackrest info for the stanza asked about, (None, None) when none was asked."""
    stanza = module.params['pgbackrest_stanza']
    if not stanza:
        return None, None
    binary = module.get_bin_path('pgbackrest')
    if binary is None:
        return None, 'pgbackrest is not installed'
    argv = [binary]
    if module.params['pgbackrest_config']:
        argv.append('--config=' + module.params['pgbackrest_config'])
    argv += ['--stanza=' + stanza, '--output=json', 'info']
    rc, out, err = module.run_command(argv)
    return stanza_info(rc, out, err, stanza)


# Enough of each log for months of warnings; the file may be large.
LOG_TAIL_BYTES = 4 * 1024 * 1024


def log_lines(folder, stanza):
    """The last lines of the stanza's archive-push logs in folder (synchronous and asynchronous)."""
    lines = []
    for path in sorted(glob.glob(os.path.join(folder, glob.escape(stanza) + '-archive-push*.log'))):
        try:
            with open(path, 'rb') as f:
                f.seek(max(0, os.path.getsize(path) - LOG_TAIL_BYTES))
                lines.extend(f.read().decode('utf-8', 'replace').splitlines())
        except (IOError, OSError):
            continue
    return lines


def last_backup_stop(stanza):
    """Epoch seconds of the end of the stanza's newest backup, or None."""
    backups = (stanza or {}).get('backup') or []
    if not backups:
        return None
    return backups[-1].get('timestamp', {}).get('stop')


def read_waiting(cur):
    """waiting() of pg_wal, or None when the login role may not list it."""
    if not fetch_rows(cur, WAL_ALLOWED_QUERY)[0][0]:
        return None
    return waiting(fetch_rows(cur, WAL_QUERY)[0])


def main():
    spec = connection_argument_spec()
    spec['login_db'] = dict(type='str', default='postgres', aliases=['db'])
    spec['warn'] = dict(type='bool', default=True)
    spec['pgbackrest_stanza'] = dict(type='str')
    spec['pgbackrest_config'] = dict(type='path')
    spec['pgbackrest_info'] = dict(type='bool', default=True)
    spec['pgbackrest_log_path'] = dict(type='path')
    spec['repository'] = dict(type='str')
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    with module_connection(module, database_message='cannot read pg_stat_archiver') as conn:
        cur = tuple_cursor(conn)
        rows = fetch_rows(cur, ARCHIVER_QUERY)
        wal = read_waiting(cur)
    archiver_row, data_directory = split_row(rows[0])
    status = archiver_status(archiver_row, wal, module.params['repository'])
    lines = []
    if module.params['pgbackrest_log_path'] and module.params['pgbackrest_stanza']:
        lines = log_lines(module.params['pgbackrest_log_path'], module.params['pgbackrest_stanza'])
    stanza, stanza_error = None, None
    if module.params['pgbackrest_info'] or dropped_wal(lines):
        stanza, stanza_error = read_stanza(module)
    status['dropped'] = dropped_wal(lines, last_backup_stop(stanza))
    gap = bool(status['dropped']) and status['dropped']['open'] is not False
    if status['dropped']:
        status['message'] += ' ' + status['dropped']['message']
    if (status['failing'] or gap) and module.params['warn']:
        module.warn(status['message'])
    module.exit_json(changed=False, archiver=status, failing=status['failing'], gap=gap, works=works(status),
                     data_directory=data_directory, message=status['message'], stanza=stanza,
                     stanza_error=stanza_error)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: pgbackrest_restore_plan
short_description: Choose the pgBackRest backup a point-in-time recovery starts from
version_added: 0.1.0
description:
  - Reads a pgBackRest repository with C(pgbackrest info), C(repo-ls) and C(repo-get) and chooses the newest
    backup (without error) that lies on the path of the archive's newest timeline and ended before the
    recovery target, a time, an LSN or the end of the archived WAL.
  - After an earlier recovery the archive holds several timelines and a recovery follows the newest. A backup
    taken on an older timeline after the newest one forked off cannot start that recovery, so the newest
    timeline's history file decides which backups fit. The history is read with C(repo-get), not
    C(archive-get), which would check the system identifier of the local cluster (a blank cluster on a new
    host has another one).
  - Fails, naming the target and listing the backups, when no backup fits, and on a bad target (both a time
    and an LSN, an LSN not written like C(0/5000060), a time GNU C(date) cannot read).
  - Run it as the owner of the repository (C(become_user=postgres)). It only reads.
author:
  - TMI operations engineers (@tmi)
options:
  stanza:
    description: pgBackRest stanza.
    type: str
    required: true
  config:
    description: pgBackRest configuration file.
    type: path
    default: /etc/pgbackrest/pgbackrest.conf
  target_time:
    description:
      - Recover up to this time, in any form PostgreSQL and GNU C(date) read, with its time zone
        (C(2026-11-25 14:03:00+00)). Empty for none.
    type: str
    default: ""
  target_lsn:
    description: Recover up to this LSN (C(0/5000060)). Empty for none. Not together with O(target_time).
    type: str
    default: ""
notes:
  - Neither O(target_time) nor O(target_lsn) means the end of the archived WAL.
extends_documentation_fragment:
  - tmi.postgresql.read_only
seealso:
  - name: pgBackRest restore command
    description: The options that RV(restore_options) holds.
    link: https://pgbackrest.org/command.html#command-restore
'''

EXAMPLES = r'''
- name: Choose the backup for a recovery to a time
  tmi.postgresql.pgbackrest_restore_plan:
    stanza: tmi
    target_time: "2026-11-25 14:03:00+00"
  become: true
  become_user: postgres
  register: plan

- name: Restore it
  ansible.builtin.command:
    argv: "{{ ['pgbackrest', '--stanza=tmi'] + plan.restore_options + ['restore'] }}"
  become: true
  become_user: postgres
  changed_when: true
'''

RETURN = r'''
target_type:
  description: C(time), C(lsn) or C(default) (the end of the archived WAL), as pgbackrest's C(--type).
  returned: success
  type: str
  sample: time
target:
  description: The target as given, or C(end of the archived WAL).
  returned: success
  type: str
  sample: "2026-11-25 14:03:00+00"
target_epoch:
  description: The target time in seconds since the epoch; C(null) unless RV(target_type=time).
  returned: success
  type: float
  sample: 1795615380.0
archive_id:
  description: The archive of the stanza's current database; empty when there is none.
  returned: success
  type: str
  sample: 15-1
newest_wal:
  description: The newest archived WAL segment; empty when the archive is empty.
  returned: success
  type: str
  sample: "000000020000000000000009"
newest_segment:
  description: RV(newest_wal) without its timeline (16 hex digits), what a recovery's last segment is compared with.
  returned: success
  type: str
  sample: "0000000000000009"
timeline:
  description: The newest timeline of the archive, the one the recovery follows.
  returned: success
  type: int
  sample: 2
history:
  description: The newest timeline's history, as [parent timeline, switch LSN] per line; empty on timeline 1.
  returned: success
  type: list
  elements: list
  sample: [[1, "0/5000060"]]
backup:
  description: The chosen backup set, with its stop time as seconds since the epoch and as UTC text.
  returned: success
  type: dict
  sample: {"label": "20261125-020000F", "type": "full", "stop_time": 1795572060,
           "stop_time_text": "2026-11-25 02:01:00+00", "stop_lsn": "0/3000100", "timeline": 1}
backups:
  description: Labels of every backup set of the stanza.
  returned: success
  type: list
  elements: str
  sample: ["20261125-020000F", "20261125-020000F_20261125-120000D"]
restore_options:
  description: The options of C(pgbackrest restore) for this backup and target.
  returned: success
  type: list
  elements: str
  sample: ["--set=20261125-020000F", "--type=time", "--target=2026-11-25 14:03:00+00", "--target-action=promote"]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_plan import (
    PlanError,
    epoch_from_date,
    make_plan,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            stanza=dict(type='str', required=True),
            config=dict(type='path', default='/etc/pgbackrest/pgbackrest.conf'),
            target_time=dict(type='str', default=''),
            target_lsn=dict(type='str', default=''),
        ),
        supports_check_mode=True,
    )
    p = module.params
    base = [module.get_bin_path('pgbackrest', required=True), '--config=' + p['config'], '--stanza=' + p['stanza']]

    def pgbackrest(args):
        rc, out, err = module.run_command(base + args)
        if rc != 0:
            raise PlanError('pgbackrest %s failed (rc %d): %s' % (' '.join(args), rc, (err or out).strip()))
        return out

    def date(text):
        rc, out, err = module.run_command([module.get_bin_path('date', required=True), '--utc', '--date', text, '+%s.%N'])
        return epoch_from_date(text, rc, out, err)

    try:
        plan = make_plan(p['stanza'], p['target_time'], p['target_lsn'], pgbackrest, date)
    except PlanError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=False, **plan)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: patroni_member_wait
short_description: Wait until a Patroni member runs as the leader or streams from it, and say why it does not
version_added: 0.2.0
description:
  - Polls the member's Patroni REST API (C(GET /patroni)) until it runs as the leader, or as a standby that the
    leader lists among its WAL senders as C(streaming) (the leader's C(GET /patroni), found through C(GET /cluster)).
    Patroni 3.0 shows a standby whose WAL receiver cannot log in as C(running), so its own answer is not enough.
  - Meanwhile it reads what the member logged since the module started, Patroni's journal (O(unit)) and
    PostgreSQL's log files (O(log_dir)), for the leader refusing one of O(roles) (a wrong password, no pg_hba
    line, a missing role). It stops at the first such line instead of waiting until O(timeout) - the cause is
    known and waiting longer does not fix it - and returns it as RV(cause).
  - It never fails because the member does not run; decide with RV(ready), RV(cause) and RV(state).
  - It only reads, and runs in check mode too. Run it as root (the journal and the log files).
author:
  - TMI operations engineers (@tmi)
options:
  name:
    description: The member's name in the cluster (the C(application_name) of its WAL receiver).
    type: str
    required: true
  url:
    description: The member's REST API, for example C(https://db1:8008).
    type: str
    required: true
  ca_path:
    description: The CA that signed the REST API's certificates.
    type: path
  timeout:
    description: Seconds to wait at most.
    type: int
    default: 180
  delay:
    description: Seconds between two polls.
    type: int
    default: 2
  roles:
    description: The roles the member logs in to the leader as (replication, pg_rewind) whose refusal is a cause.
    type: list
    elements: str
    default: []
  unit:
    description: Patroni's systemd unit, whose journal shows pg_basebackup's errors.
    type: str
  log_dir:
    description: PostgreSQL's log folder, which shows the WAL receiver's errors.
    type: path
  old_start:
    description:
      - A C(postmaster_start_time) of the member read before it was asked to rebuild or restart; a PostgreSQL
        started then does not count as running.
    type: str
seealso:
  - module: ansible.builtin.uri
'''

EXAMPLES = r'''
- name: Wait until this member runs
  tmi.postgresql.patroni_member_wait:
    name: db2
    url: https://db2:8008
    ca_path: /etc/patroni/tls/ca.crt
    roles: [tmi_replication]
    unit: patroni@15-main
    log_dir: /var/log/postgresql/15-main
  register: member

- name: Stop when it does not
  ansible.builtin.assert:
    that: member.ready
    fail_msg: "{{ member.state }} {{ member.cause }}"
'''

RETURN = r'''
ready:
  description: Whether the member runs as the leader or as a standby streaming from it.
  returned: always
  type: bool
  sample: true
role:
  description: C(leader) or C(standby) when RV(ready), else C(null).
  returned: always
  type: str
  sample: standby
state:
  description: What the last poll saw, in words.
  returned: always
  type: str
  sample: running as a standby that does not stream from the leader
cause:
  description:
    - The first log line since the start in which the leader refused one of O(roles), or C(null) - C(kind)
      (C(password), C(hba), C(missing_role)), C(role), C(host) (for C(hba)), C(source) (the journal or the log
      file) and C(line).
  returned: always
  type: dict
  sample: {"kind": "password", "role": "tmi_replication", "host": null, "source": "/var/log/postgresql/15-main/postgresql-Thu.log",
           "line": "FATAL:  could not connect to the primary server: ... password authentication failed for user \"tmi_replication\""}
waited:
  description: Seconds waited.
  returned: always
  type: float
  sample: 4.1
log_tail:
  description: The last lines of Patroni's journal since the start, when the member is not ready (for the operator).
  returned: always
  type: list
  elements: str
  sample: ["INFO: no action. I am (db2), a secondary, and following a leader (db1)"]
'''

import glob
import json
import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.tmi.postgresql.plugins.module_utils.patroni_member import (
    failure_cause,
    leader_api_url,
    member_progress,
)

# Enough of a log for the lines of one wait.
READ_AT_MOST = 1 << 20


def get_json(url, ca_path):
    try:
        response = open_url(url, method='GET', ca_path=ca_path, timeout=5, validate_certs=True)
        return json.loads(response.read().decode('utf-8', 'replace'))
    except Exception:  # pylint: disable=broad-except
        # An error answer (503 of a member that does not run) or no answer: the poll says it did not answer.
        return None


def get_patroni(url, ca_path):
    """GET /patroni, which answers 503 with the member's state when PostgreSQL does not run."""
    try:
        response = open_url(url.rstrip('/') + '/patroni', method='GET', ca_path=ca_path, timeout=5, validate_certs=True)
        return json.loads(response.read().decode('utf-8', 'replace'))
    except Exception as exc:  # pylint: disable=broad-except
        body = getattr(exc, 'read', None)
        if body is not None:
            try:
                return json.loads(body().decode('utf-8', 'replace'))
            except Exception:  # pylint: disable=broad-except
                return None
        return None


class Logs(object):
    """The lines written since the start: Patroni's journal and PostgreSQL's log files."""

    def __init__(self, module, unit, log_dir):
        self.module = module
        self.unit = unit
        self.log_dir = log_dir
        self.started = int(time.time())
        self.offsets = dict((path, os.path.getsize(path)) for path in self._files())

    def _files(self):
        return sorted(glob.glob(os.path.join(self.log_dir, '*'))) if self.log_dir else []

    def journal(self):
        if not self.unit:
            return []
        journalctl = self.module.get_bin_path('journalctl')
        if journalctl is None:
            return []
        rc, out, _err = self.module.run_command([journalctl, '-u', self.unit, '--since', '@%d' % self.started,
                                                 '-o', 'cat', '--no-pager', '-q'])
        return out.splitlines() if rc == 0 else []

    def lines(self):
        found = [('the journal of %s' % self.unit, line) for line in self.journal()]
        for path in self._files():
            try:
                size = os.path.getsize(path)
                start = self.offsets.get(path, 0)
                if size < start:
                    start = 0
                start = max(start, size - READ_AT_MOST)
                with open(path, 'rb') as handle:
                    handle.seek(start)
                    text = handle.read().decode('utf-8', 'replace')
            except (IOError, OSError):
                continue
            found += [(path, line) for line in text.splitlines()]
        return found


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            url=dict(type='str', required=True),
            ca_path=dict(type='path'),
            timeout=dict(type='int', default=180),
            delay=dict(type='int', default=2),
            roles=dict(type='list', elements='str', default=[]),
            unit=dict(type='str'),
            log_dir=dict(type='path'),
            old_start=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    params = module.params
    logs = Logs(module, params['unit'], params['log_dir'])
    started = time.monotonic()
    while True:
        member = get_patroni(params['url'], params['ca_path'])
        leader = None
        if isinstance(member, dict) and member.get('state') == 'running':
            api = leader_api_url(get_json(params['url'].rstrip('/') + '/cluster', params['ca_path']))
            leader = get_json(api, params['ca_path']) if api else None
        ready, state = member_progress(params['name'], member, leader, params['old_start'])
        waited = round(time.monotonic() - started, 1)
        result = dict(changed=False, ready=bool(ready), role={'leader': 'leader', 'streaming': 'standby'}.get(ready),
                      state=state, cause=None, waited=waited, log_tail=[])
        if ready:
            module.exit_json(**result)
        cause = failure_cause(logs.lines(), params['roles'])
        if cause or waited >= params['timeout']:
            result['cause'] = cause
            result['log_tail'] = [line for _source, line in logs.lines() if _source.startswith('the journal')][-5:]
            module.exit_json(**result)
        time.sleep(params['delay'])


if __name__ == '__main__':
    main()

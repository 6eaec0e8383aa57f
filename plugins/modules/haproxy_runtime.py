#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: haproxy_runtime
short_description: Read HAProxy's servers and send it runtime commands through its admin socket
version_added: 0.2.0
description:
  - Reads C(show stat) from HAProxy's admin socket (RV(servers)), then sends each of O(commands) on a connection of
    its own (e.g. C(disable health BACKEND/SERVER), C(set server BACKEND/SERVER health up),
    C(set server BACKEND/SERVER state maint)), then reads C(show stat) again (RV(servers_after)).
  - What a command changes lives in the running HAProxy only; a reload or restart reads the configuration file
    again and undoes it. failover.yml uses it to send TMI to a member promoted outside Patroni; the proxy role
    undoes it once Patroni leads again.
  - HAProxy answers nothing to a change it made; any answer to one of O(commands) (C(No such server.),
    C(Unknown command ...)) fails the task, with the commands sent before it reported in the message.
  - Needs no program on the host (no socat). Run it as root or as a member of the socket's group.
  - In check mode nothing is sent but the reads.
author:
  - TMI operations engineers (@tmi)
options:
  socket:
    description: HAProxy's admin socket (C(stats socket ... level admin)).
    type: path
    default: /run/haproxy/admin.sock
  commands:
    description: Runtime commands to send, in this order; empty to read only.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: Send TMI to db2 whatever its health check says.
  tmi.postgresql.haproxy_runtime:
    commands:
      - disable health tmi_postgresql_primary/db2
      - set server tmi_postgresql_primary/db2 health up
      - set server tmi_postgresql_primary/db1 state maint
  become: true
'''

RETURN = r'''
servers:
  description: The servers of C(show stat) before the commands (not the frontends and backends themselves).
  returned: always
  type: list
  elements: dict
  sample: [{"backend": "tmi_postgresql_primary", "server": "db2", "status": "no check", "check_status": ""}]
servers_after:
  description: The same after the commands (equal to RV(servers) without commands or in check mode).
  returned: always
  type: list
  elements: dict
'''

import csv
import socket

from ansible.module_utils.basic import AnsibleModule


def send(path, command, timeout=10):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(path)
        sock.sendall(command.encode('utf-8') + b'\n')
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        sock.close()
    return b''.join(chunks).decode('utf-8', errors='replace')


def servers(text):
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith('# '):
        return []
    rows = csv.DictReader([lines[0][2:]] + lines[1:])
    return [{'backend': row['pxname'], 'server': row['svname'], 'status': row.get('status', ''),
             'check_status': row.get('check_status', '')}
            for row in rows if row.get('svname') not in ('FRONTEND', 'BACKEND')]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            socket=dict(type='path', default='/run/haproxy/admin.sock'),
            commands=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    path = module.params['socket']
    commands = [c.strip() for c in module.params['commands'] if c.strip()]
    try:
        before = servers(send(path, 'show stat'))
    except (OSError, socket.error) as exc:
        module.fail_json(msg='HAProxy\'s admin socket %s does not answer: %s' % (path, exc))
    if module.check_mode or not commands:
        module.exit_json(changed=bool(commands), servers=before, servers_after=before)
    sent = []
    for command in commands:
        try:
            answer = send(path, command).strip()
        except (OSError, socket.error) as exc:
            module.fail_json(msg='HAProxy\'s admin socket %s failed on %r: %s (sent before: %s)' % (
                path, command, exc, sent), changed=bool(sent), servers=before)
        if answer:
            module.fail_json(msg='HAProxy refused %r: %s (sent before: %s)' % (command, answer, sent),
                             changed=bool(sent), servers=before)
        sent.append(command)
    module.exit_json(changed=True, servers=before, servers_after=servers(send(path, 'show stat')))


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: logical_cutover
short_description: Stop the application's writes on a logical-replication source and wait until the subscriber has them all
version_added: 0.1.0
description:
  - The source side of the cut-over of a major-version upgrade to a new host by logical replication
    (playbooks/upgrade_logical.yml), in one connection so that the write pause is short.
  - With O(writes=blocked), in this order, C(ALTER ROLE ... NOLOGIN) for every role of O(roles), terminates their
    sessions (and waits until they are gone), reads C(pg_current_wal_lsn()), waits until the replication slot
    O(slot) has confirmed that position (the subscriber has applied every committed write), and reads the
    C(last_value) and C(is_called) of every sequence of the database, which logical replication does not copy.
  - With O(writes=open), the way back, C(ALTER ROLE ... LOGIN) for every role of O(roles); nothing else.
  - Refuses before any change a role that does not exist, a superuser, the role it connects as, and (with
    O(writes=blocked)) a slot that does not exist or is not a logical slot of the database.
author:
  - TMI operations engineers (@tmi)
options:
  roles:
    description:
      - The application's login roles whose writes stop (TMI's C(tmi_app) and the other entries of
        C(tmi_postgresql_app_roles)).
    type: list
    elements: str
    required: true
  slot:
    description:
      - Name of the subscription's replication slot on this server (by default the subscription's name).
      - Required with O(writes=blocked).
    type: str
  writes:
    description:
      - C(blocked) stops the writes and waits for the subscriber; C(open) lets the roles log in again.
    type: str
    choices: [blocked, open]
    default: blocked
  timeout:
    description:
      - Seconds to wait for the sessions to end and then for the slot to confirm the position; the module fails
        with the positions it saw when they run out (the roles stay NOLOGIN; O(writes=open) opens them again).
    type: int
    default: 60
extends_documentation_fragment:
  - community.postgresql.postgres
  - tmi.postgresql.connection
attributes:
  check_mode:
    support: full
    description: Reports the roles it would block or open, their sessions, the positions and the sequences; changes nothing and does not wait.
  diff_mode:
    support: none
    description: The roles it changes are in RV(roles_changed).
seealso:
  - module: community.postgresql.postgresql_subscription
  - module: community.postgresql.postgresql_publication
'''

EXAMPLES = r'''
- name: Stop TMI's writes and wait until the new host has them all
  tmi.postgresql.logical_cutover:
    login_db: tmi
    roles: [tmi_app]
    slot: tmi_upgrade
    timeout: 60
  become: true
  become_user: postgres
  register: cutover

- name: The way back, TMI may write on the old host again
  tmi.postgresql.logical_cutover:
    login_db: tmi
    roles: [tmi_app]
    writes: open
  become: true
  become_user: postgres
'''

RETURN = r'''
roles_changed:
  description: The roles whose LOGIN attribute this run changed (or would change, in check mode).
  returned: success
  type: list
  elements: str
  sample: [tmi_app]
terminated:
  description: Number of sessions of the roles that were ended (that would be, in check mode).
  returned: success
  type: int
  sample: 3
lsn:
  description: C(pg_current_wal_lsn()) once the roles' sessions were gone (with O(writes=blocked)).
  returned: success
  type: str
  sample: 0/3000148
confirmed_flush_lsn:
  description: The slot's C(confirmed_flush_lsn) at the end (at or past RV(lsn) after a successful wait).
  returned: success
  type: str
  sample: 0/3000180
sequences:
  description:
    - Every sequence of the database outside the system schemas, with the values to give it on the target, and
      C(table), the table whose column owns it (C(SERIAL), identity; null for a free-standing sequence).
  returned: success
  type: list
  elements: dict
  sample: [{"schema": "public", "name": "jobs_id_seq", "qualified": "public.jobs_id_seq", "table": "jobs", "last_value": 42,
            "is_called": true}]
started:
  description: Epoch seconds of the first statement (the write pause starts here).
  returned: success
  type: float
caught_up:
  description: Epoch seconds when the slot had confirmed RV(lsn) (null in check mode).
  returned: success
  type: float
seconds_wait:
  description: Seconds from RV(started) to RV(caught_up).
  returned: success
  type: float
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    connection_argument_spec,
    fetch_rows,
    module_connection,
    tuple_cursor,
)

NOTHING = 'Nothing was changed.'
ROLES_SQL = ('SELECT rolname, rolcanlogin, rolsuper, rolname = session_user FROM pg_roles '
             'WHERE rolname = ANY(%s) ORDER BY rolname')
SESSIONS_SQL = ('SELECT count(*) FROM pg_stat_activity WHERE usename = ANY(%s) AND pid <> pg_backend_pid()')
TERMINATE_SQL = ('SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity '
                 'WHERE usename = ANY(%s) AND pid <> pg_backend_pid()')
SLOT_SQL = ('SELECT slot_type, database, confirmed_flush_lsn::text, '
            '(confirmed_flush_lsn >= %s::pg_lsn) FROM pg_replication_slots WHERE slot_name = %s')
SEQUENCES_SQL = ("SELECT s.schemaname, s.sequencename, quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename), "
                 "(SELECT t.relname FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid "
                 "WHERE d.classid = 'pg_class'::regclass AND d.objid = (quote_ident(s.schemaname) || '.' || "
                 "quote_ident(s.sequencename))::regclass AND d.refclassid = 'pg_class'::regclass "
                 "AND d.deptype IN ('a', 'i') LIMIT 1) "
                 "FROM pg_sequences s "
                 "WHERE s.schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2")


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        roles=dict(type='list', elements='str', required=True),
        slot=dict(type='str'),
        writes=dict(type='str', choices=['blocked', 'open'], default='blocked'),
        timeout=dict(type='int', default=60),
    )
    return spec


class CutoverError(Exception):
    pass


def one(cur, sql, params=None):
    rows = fetch_rows(cur, sql, params)
    return rows[0] if rows else None


def quote_ident(cur, name):
    return one(cur, 'SELECT quote_ident(%s)', [name])[0]


def check_roles(cur, names):
    """The existing roles' LOGIN attributes; refuses a missing role, a superuser and the session's own role."""
    found = dict((row[0], row) for row in fetch_rows(cur, ROLES_SQL, [names]))
    errors = []
    missing = [name for name in names if name not in found]
    if missing:
        errors.append('roles: %s does not exist on this server' % ', '.join(missing))
    supers = [name for name, row in sorted(found.items()) if row[2]]
    if supers:
        errors.append('roles: %s is a superuser, whose logins the cut-over must not block' % ', '.join(supers))
    own = [name for name, row in sorted(found.items()) if row[3]]
    if own:
        errors.append('roles: %s is the role this module connects as (login_user)' % ', '.join(own))
    if errors:
        raise CutoverError('%s. %s' % ('; '.join(errors), NOTHING))
    return dict((name, row[1]) for name, row in found.items())


def check_slot(cur, slot, database):
    row = one(cur, SLOT_SQL, ['0/0', slot])
    if row is None:
        raise CutoverError('slot: no replication slot %s on this server (pg_replication_slots): is the subscription '
                           'on the new host created and enabled? %s' % (slot, NOTHING))
    if row[0] != 'logical' or row[1] != database:
        raise CutoverError('slot: %s is a %s slot of database %s, not a logical slot of %s. %s'
                           % (slot, row[0], row[1], database, NOTHING))


def read_sequences(cur):
    sequences = []
    for schema, name, qualified, table in fetch_rows(cur, SEQUENCES_SQL):
        last_value, is_called = one(cur, 'SELECT last_value, is_called FROM %s' % qualified)
        sequences.append(dict(schema=schema, name=name, qualified=qualified, table=table, last_value=int(last_value),
                              is_called=bool(is_called)))
    return sequences


def confirmed(cur, lsn, slot):
    """The slot's row once its confirmed_flush_lsn reached lsn, else None."""
    row = one(cur, SLOT_SQL, [lsn, slot])
    return row if row and row[3] else None


def wait_until(deadline, predicate, interval=0.05):
    while True:
        value = predicate()
        if value or time.time() >= deadline:
            return value
        time.sleep(interval)


def block(module, cur, roles, login):
    params = module.params
    database, slot, timeout = params['login_db'], params['slot'], params['timeout']
    if not slot:
        raise CutoverError('slot: set the name of the subscription\'s replication slot (writes=blocked). %s' % NOTHING)
    check_slot(cur, slot, database)
    result = dict(roles_changed=[name for name in roles if login[name]], terminated=0, lsn=None, sequences=[],
                  started=None, caught_up=None, seconds_wait=None)
    if module.check_mode:
        result['terminated'] = one(cur, SESSIONS_SQL, [roles])[0]
        result['lsn'] = one(cur, 'SELECT pg_current_wal_lsn()::text')[0]
        result['confirmed_flush_lsn'] = one(cur, SLOT_SQL, ['0/0', slot])[2]
        result['sequences'] = read_sequences(cur)
        return result
    result['started'] = time.time()
    deadline = result['started'] + timeout
    for name in result['roles_changed']:
        cur.execute('ALTER ROLE %s NOLOGIN' % quote_ident(cur, name))
    result['terminated'] = one(cur, TERMINATE_SQL, [roles])[0]
    if not wait_until(deadline, lambda: one(cur, SESSIONS_SQL, [roles])[0] == 0):
        raise CutoverError('timeout: sessions of %s were still there after %d s; the roles are NOLOGIN (writes=open '
                           'lets them log in again)' % (', '.join(roles), timeout))
    result['lsn'] = lsn = one(cur, 'SELECT pg_current_wal_lsn()::text')[0]
    row = wait_until(deadline, lambda: confirmed(cur, lsn, slot))
    if not row:
        row = one(cur, SLOT_SQL, [lsn, slot])
        raise CutoverError('timeout: the replication slot %s confirmed %s, not yet %s (the last write on this server), '
                           'after %d s: the subscriber is behind or not running. The roles %s are NOLOGIN '
                           '(writes=open lets them log in again).'
                           % (slot, row[2] if row else 'nothing (the slot is gone)', lsn, timeout, ', '.join(roles)))
    result['caught_up'] = time.time()
    result['confirmed_flush_lsn'] = row[2]
    result['seconds_wait'] = round(result['caught_up'] - result['started'], 3)
    result['sequences'] = read_sequences(cur)
    return result


def open_writes(module, cur, roles, login):
    result = dict(roles_changed=[name for name in roles if not login[name]], terminated=0, lsn=None,
                  confirmed_flush_lsn=None, sequences=[], started=time.time(), caught_up=None, seconds_wait=None)
    if not module.check_mode:
        for name in result['roles_changed']:
            cur.execute('ALTER ROLE %s LOGIN' % quote_ident(cur, name))
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    roles = sorted(set(module.params['roles']))
    if not roles:
        module.fail_json(msg='roles: name at least one login role. %s' % NOTHING)
    if module.params['timeout'] < 1:
        module.fail_json(msg='timeout: %d is not a number of seconds (1 or more). %s' % (module.params['timeout'], NOTHING))
    with module_connection(module, CutoverError) as conn:
        cur = tuple_cursor(conn)
        login = check_roles(cur, roles)
        if module.params['writes'] == 'blocked':
            result = block(module, cur, roles, login)
        else:
            result = open_writes(module, cur, roles, login)
    module.exit_json(changed=bool(result['roles_changed'] or result['terminated']), **result)


if __name__ == '__main__':
    main()

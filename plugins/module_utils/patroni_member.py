# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a Patroni member runs (as the leader, or as a standby that streams from it), and why it does not.

The decisions of the patroni_member_wait module, kept apart from its HTTP and file reads so that they are
tested without a cluster. Patroni 3.0's REST API shows a standby as "running" with a received location even
while its WAL receiver cannot log in to the leader (the location falls back to the replayed one): only the
leader's list of WAL senders tells that it streams, and only the logs tell why it does not.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

LEADER_ROLES = ('master', 'primary', 'leader')

# What PostgreSQL (the WAL receiver, pg_basebackup, pg_rewind) logs when the leader refuses a member's login.
_CAUSES = (
    ('password', re.compile(r'password authentication failed for user "(?P<role>[^"]+)"')),
    ('hba', re.compile(r'no pg_hba\.conf entry for replication connection from host "(?P<host>[^"]+)", '
                       r'user "(?P<role>[^"]+)"')),
    ('missing_role', re.compile(r'role "(?P<role>[^"]+)" does not exist')),
)


def member_progress(name, member, leader=None, old_start=None):
    """(ready, state): member is the member's GET /patroni (None when it did not answer), leader the leader's.

    ready is 'leader' or 'streaming' when the member runs as one, else None; state says what was seen. With
    old_start (a postmaster_start_time of the member), a PostgreSQL started then does not count: it is the one
    that a rebuild is about to stop.
    """
    if not isinstance(member, dict):
        return None, "Patroni's REST API does not answer"
    state = member.get('state') or 'in no known state'
    if state != 'running':
        return None, 'Patroni says PostgreSQL is %s' % state
    if old_start and member.get('postmaster_start_time') == old_start:
        return None, 'still running the PostgreSQL started at %s' % old_start
    if member.get('role') in LEADER_ROLES:
        return 'leader', 'running as the leader'
    if not isinstance(leader, dict):
        return None, 'running as a standby, and the cluster has no leader that answers'
    senders = [entry for entry in leader.get('replication') or [] if entry.get('application_name') == name]
    if any(entry.get('state') == 'streaming' for entry in senders):
        return 'streaming', 'streaming from the leader'
    if senders:
        return None, 'connected to the leader but %s, not streaming' % senders[0].get('state')
    return None, 'running as a standby that does not stream from the leader'


# The clients that connect to the leader: the WAL receiver, pg_basebackup, pg_rewind. A refusal logged by
# another (the member's own server refusing a client, Patroni's connection to its own PostgreSQL) is not the
# leader refusing the member.
_TO_THE_LEADER = re.compile(r'could not connect to the primary server|pg_basebackup|pg_rewind')


def failure_cause(lines, roles):
    """The first line of lines ((source, text) pairs) in which the leader refused one of roles, as a dict, or None.

    The dict has kind ('password', 'hba' or 'missing_role'), role, host (for 'hba'), source and line.
    """
    for source, line in lines:
        if not _TO_THE_LEADER.search(line):
            continue
        for kind, pattern in _CAUSES:
            found = pattern.search(line)
            if found and found.group('role') in roles:
                return {'kind': kind, 'role': found.group('role'), 'host': found.groupdict().get('host'),
                        'source': source, 'line': line.strip()}
    return None


def leader_api_url(cluster):
    """The REST API address of the leader in GET /cluster's answer, or None."""
    if not isinstance(cluster, dict):
        return None
    for member in cluster.get('members') or []:
        if member.get('role') in LEADER_ROLES and member.get('api_url'):
            return member['api_url']
    return None

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.patroni_failover_plan and patroni_failover_postmaster_options: failover.yml's decision.

failover.yml promotes a member by hand when Patroni cannot (etcd without a quorum). Patroni's guarantees do not
hold there, so the playbook refuses unless the operator named the member, confirmed with the cluster's name, the
DCS really is out of reach, no reachable member runs as a primary and no reachable member is further ahead than the
one named. Documentation: patroni_failover_plan.yml and patroni_failover_postmaster_options.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import shlex

from ansible.errors import AnsibleFilterError


def lsn_int(text):
    """'16/B374D848' -> an integer (None for no LSN)."""
    if text in (None, ''):
        return None
    try:
        high, low = str(text).split('/')
        return (int(high, 16) << 32) + int(low, 16)
    except ValueError:
        raise AnsibleFilterError('patroni_failover_plan: %r is not a WAL location (X/Y)' % (text,))


def _position(postgres):
    """(timeline, LSN): how far a member's WAL goes; what it received counts, since a promotion replays it."""
    if postgres.get('in_recovery'):
        lsns = [lsn_int(postgres.get('received_lsn')), lsn_int(postgres.get('replayed_lsn'))]
    else:
        lsns = [lsn_int(postgres.get('current_lsn'))]
    lsns = [lsn for lsn in lsns if lsn is not None]
    return (int(postgres.get('timeline') or 0), max(lsns) if lsns else 0)


def _lsn_text(lsn):
    return '%X/%X' % (lsn >> 32, lsn & 0xFFFFFFFF)


def failover_plan(reports, members, scope, candidate='', confirm=''):
    """{'candidate', 'timeline', 'lsn', 'stop', 'unreachable', 'members', 'errors'}: errors empty when it may run.

    reports: one dict per reachable member: name; postgres (None when PostgreSQL does not answer, else
    in_recovery, received_lsn, replayed_lsn, current_lsn, timeline); patroni ({'answers', 'role', 'state'});
    etcd ({'answers', 'leader'}).
    """
    if not isinstance(reports, list) or not all(isinstance(r, dict) and r.get('name') for r in reports):
        raise AnsibleFilterError('patroni_failover_plan: expects a list of member reports, each with a name')
    members = list(members or [])
    by_name = dict((r['name'], r) for r in reports)
    plan = {'candidate': candidate or '', 'timeline': None, 'lsn': '', 'stop': sorted(by_name),
            'unreachable': sorted(m for m in members if m not in by_name), 'members': {}, 'errors': []}
    errors = plan['errors']

    for name in sorted(by_name):
        report = by_name[name]
        postgres = report.get('postgres')
        if postgres is None:
            plan['members'][name] = 'PostgreSQL does not answer'
        else:
            timeline, lsn = _position(postgres)
            plan['members'][name] = '%s, timeline %d, WAL to %s' % (
                'standby' if postgres.get('in_recovery') else 'PRIMARY', timeline, _lsn_text(lsn))
    for name in plan['unreachable']:
        plan['members'][name] = 'unreachable'

    if not candidate:
        errors.append('patroni_failover_candidate is empty: name the member to promote '
                      '(-e patroni_failover_candidate=NAME; members: %s).' % ', '.join(members))
    elif candidate not in members:
        errors.append('%s is not a member of cluster %s (members: %s).' % (candidate, scope, ', '.join(members)))
    if confirm != scope:
        errors.append('patroni_failover_confirm is not the cluster\'s name: a manual promotion bypasses Patroni\'s '
                      'guarantees; confirm with -e patroni_failover_confirm=%s.' % scope)

    quorum = sorted(r['name'] for r in reports if (r.get('etcd') or {}).get('answers'))
    if quorum:
        leaders = sorted(set((by_name[n].get('etcd') or {}).get('leader') or '' for n in quorum) - set(['']))
        errors.append('etcd answers %s (it has a quorum)%s: Patroni decides, failover.yml is for a lost quorum only. '
                      'Read patronictl list; a planned change is switchover.yml.'
                      % ('on ' + ', '.join(quorum),
                         ' and %s holds the leader key' % ', '.join(leaders) if leaders else ', with no leader key'))
    primaries = sorted(n for n, r in by_name.items() if r.get('postgres') and not r['postgres'].get('in_recovery'))
    if primaries:
        errors.append('%s runs as a primary already: promoting another member would split the cluster '
                      '(TMI reaches it through the proxy only while Patroni there says it leads).'
                      % ', '.join(primaries))
    silent = sorted(n for n, r in by_name.items() if r.get('postgres') is None and n != candidate)
    if silent:
        errors.append('PostgreSQL does not answer on %s, so how far its WAL goes is unknown: start it (read-only), '
                      'or make the host unreachable (shut it down) if it is lost.' % ', '.join(silent))

    if candidate in members:
        if candidate not in by_name:
            errors.append('%s is unreachable: it cannot be promoted.' % candidate)
        elif by_name[candidate].get('postgres') is None:
            errors.append('PostgreSQL does not answer on %s: it cannot be promoted.' % candidate)
        else:
            mine = _position(by_name[candidate]['postgres'])
            plan['timeline'], plan['lsn'] = mine[0], _lsn_text(mine[1])
            ahead = sorted(n for n, r in by_name.items()
                           if n != candidate and r.get('postgres') and _position(r['postgres']) > mine)
            for name in ahead:
                errors.append('%s is further ahead (%s) than %s (%s): promoting %s would lose what only %s has; '
                              'name %s instead.' % (name, plan['members'][name], candidate,
                                                    plan['members'][candidate], candidate, name, name))
    return plan


def postmaster_options(opts, data_dir):
    """The options (after -D DATA) of the postmaster.opts PostgreSQL wrote, as one shell string for pg_ctl -o.

    Patroni starts PostgreSQL with settings on the command line (port, listen_addresses, ...); starting it again
    outside Patroni with the same ones keeps it where the proxy and the other members look for it.
    """
    try:
        argv = shlex.split(opts or '')
    except ValueError as exc:
        raise AnsibleFilterError('patroni_failover_postmaster_options: postmaster.opts cannot be read: %s' % exc)
    if len(argv) < 3 or argv[1] != '-D' or argv[2].rstrip('/') != str(data_dir).rstrip('/'):
        raise AnsibleFilterError('patroni_failover_postmaster_options: postmaster.opts does not start PostgreSQL '
                                 'with -D %s: %r' % (data_dir, opts))
    rest = argv[3:]
    for arg in rest:
        if not arg.startswith('--') or '=' not in arg:
            raise AnsibleFilterError('patroni_failover_postmaster_options: unexpected option %r in postmaster.opts' % arg)
    return ' '.join(shlex.quote(arg) for arg in rest)


class FilterModule(object):
    def filters(self):
        return {'patroni_failover_plan': failover_plan, 'patroni_failover_postmaster_options': postmaster_options}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.patroni_switchover_plan: whether a planned switchover may run, and to which member.

Patroni refuses some switchovers itself, with an HTTP error and a short
text; this filter refuses them before the request, with the reason an
operator needs in an incident, and also the ones Patroni would let through
but that could lose commits (a candidate far behind, or not synchronous while
synchronous mode is on). Documentation: patroni_switchover_plan.yml.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

LEADER_ROLES = ('leader', 'master', 'primary', 'standby_leader')
HEALTHY_STATES = ('running', 'streaming')


def _lag(member):
    lag = member.get('lag', 0)
    return lag if isinstance(lag, int) else None


def switchover_plan(cluster, candidate='', maximum_lag=1048576, synchronous_mode=False):
    """{'leader', 'candidate', 'errors'}: errors empty when the switchover may run."""
    if not isinstance(cluster, dict) or not isinstance(cluster.get('members'), list):
        raise AnsibleFilterError('patroni_switchover_plan: expects the JSON of Patroni\'s GET /cluster')
    members = cluster['members']
    names = [member.get('name') for member in members]
    leaders = [member for member in members if member.get('role') in LEADER_ROLES]
    plan = {'leader': leaders[0]['name'] if leaders else '', 'candidate': candidate or '', 'errors': []}
    errors = plan['errors']
    if not leaders:
        errors.append('The cluster has no leader: a switchover needs one (failover.yml promotes a member when '
                      'Patroni cannot).')
    if cluster.get('pause'):
        errors.append('The cluster is in maintenance mode (paused): resume it first (patronictl resume).')

    def refusals(member):
        reasons = []
        if member.get('role') in LEADER_ROLES:
            reasons.append('%s leads already' % member['name'])
        if member.get('state') not in HEALTHY_STATES:
            reasons.append('%s is %s, not running' % (member['name'], member.get('state', 'in no known state')))
        lag = _lag(member)
        if lag is None:
            reasons.append('the lag of %s is unknown' % member['name'])
        elif lag > int(maximum_lag):
            reasons.append('%s is %d bytes behind, more than patroni_maximum_lag_on_failover (%d)'
                           % (member['name'], lag, int(maximum_lag)))
        if synchronous_mode and member.get('role') != 'sync_standby':
            reasons.append('%s is not a synchronous standby, so it may lack acknowledged commits' % member['name'])
        if (member.get('tags') or {}).get('nofailover'):
            reasons.append('%s is tagged nofailover' % member['name'])
        return reasons

    if candidate:
        if candidate not in names:
            errors.append('%s is not a member of cluster %s (members: %s).'
                          % (candidate, cluster.get('scope', '?'), ', '.join(sorted(n for n in names if n))))
        else:
            reasons = refusals(members[names.index(candidate)])
            if reasons:
                errors.append('Refused: %s.' % '; '.join(reasons))
    elif leaders:
        fit = sorted((member for member in members if not refusals(member)), key=lambda m: (_lag(m), m['name']))
        if fit:
            plan['candidate'] = fit[0]['name']
        else:
            errors.append('No member can take over without losing commits: no %s standby is running within '
                          'patroni_maximum_lag_on_failover.' % ('synchronous' if synchronous_mode else 'healthy'))
    return plan


class FilterModule(object):
    def filters(self):
        return {'patroni_switchover_plan': switchover_plan}

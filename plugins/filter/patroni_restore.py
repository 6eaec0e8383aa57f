# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.patroni_restore_plan: on which member a point-in-time recovery of the Patroni cluster runs.

dr_pitr.yml under Patroni stops Patroni on every member, restores one member and rebuilds the others as its
replicas. This filter decides, before anything changes, which member is restored (the one the operator named, else
the leader at the start), in which order Patroni stops (the standbys first, so that none is promoted while the
leader stops) and which members are rebuilt; it refuses what would go wrong half-way. Documentation:
patroni_restore_plan.yml.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError

LEADER_ROLES = ('leader', 'master', 'primary', 'standby_leader')


def restore_plan(answers, hosts, member='', repo_host='', service_manager='pg_ctlcluster', scope='tmi'):
    """{'member', 'leader', 'stop_order', 'replicas', 'errors'}: errors empty when the recovery may run.

    answers: what each host's Patroni said to GET /cluster (a mapping with members, or anything else for a member
    that did not answer); hosts: the inventory's members, in their order.
    """
    if not isinstance(hosts, list) or not hosts:
        raise AnsibleFilterError('patroni_restore_plan: expects the list of the cluster\'s hosts')
    if not isinstance(answers, list):
        raise AnsibleFilterError('patroni_restore_plan: expects a list of the answers of Patroni\'s GET /cluster')
    clusters = [answer for answer in answers if isinstance(answer, dict) and isinstance(answer.get('members'), list)]
    leaders = []
    paused = False
    for cluster in clusters:
        paused = paused or bool(cluster.get('pause'))
        for found in cluster['members']:
            if found.get('role') in LEADER_ROLES and found.get('name') not in leaders:
                leaders.append(found.get('name'))
    leader = leaders[0] if len(leaders) == 1 else ''
    errors = []
    if len(leaders) > 1:
        errors.append('The members disagree on who leads cluster %s (%s): settle that first.' % (scope, ', '.join(leaders)))
    if leader and leader not in hosts:
        errors.append('%s leads cluster %s but is not one of its hosts in the inventory (%s): the recovery would '
                      'leave it running.' % (leader, scope, ', '.join(hosts)))
    if paused:
        errors.append('Cluster %s is in maintenance mode (paused), where stopping Patroni leaves PostgreSQL '
                      'running: resume it first (patronictl resume).' % scope)
    chosen = member or leader
    if member and member not in hosts:
        errors.append('dr_pitr_member (%s) is not one of the cluster\'s hosts (%s).' % (member, ', '.join(hosts)))
    elif not chosen and len(leaders) <= 1:
        errors.append('dr_pitr_member is empty and no member of cluster %s leads (Patroni answered on %d of %d '
                      'members): name the member to restore on (-e dr_pitr_member=NAME).'
                      % (scope, len(clusters), len(hosts)))
    if not repo_host:
        errors.append('wal_archive_repo_host is empty: under Patroni the recovery takes a new full backup on the '
                      'repository host, from which the other members are rebuilt.')
    if service_manager == 'systemd':
        errors.append('dr_pitr_service_manager is systemd: under Patroni the restored server runs under '
                      'pg_ctlcluster (or pg_ctl) until Patroni takes it over; postgresql@ must stay disabled.')
    others = [host for host in hosts if host != chosen]
    return {
        'member': chosen if not errors else '',
        'leader': leader,
        # The standbys first, the leader last: no standby is promoted while the leader stops.
        'stop_order': [host for host in hosts if host != leader] + ([leader] if leader in hosts else []),
        'replicas': others,
        'errors': errors,
    }


class FilterModule(object):
    def filters(self):
        return {'patroni_restore_plan': restore_plan}

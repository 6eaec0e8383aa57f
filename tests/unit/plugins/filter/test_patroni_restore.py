import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.patroni_restore import restore_plan

HOSTS = ['db1', 'db2', 'db3']
LEADER = {'name': 'db2', 'role': 'leader', 'state': 'running'}
SYNC = {'name': 'db1', 'role': 'sync_standby', 'state': 'streaming'}
REPLICA = {'name': 'db3', 'role': 'replica', 'state': 'streaming'}
CLUSTER = {'members': [SYNC, LEADER, REPLICA]}


def test_the_leader_is_restored_and_stops_last():
    plan = restore_plan([CLUSTER, CLUSTER, None], HOSTS, '', 'backup1')
    assert plan == {'member': 'db2', 'leader': 'db2', 'stop_order': ['db1', 'db3', 'db2'],
                    'replicas': ['db1', 'db3'], 'errors': []}


def test_a_named_member_is_restored_even_when_patroni_is_down_everywhere():
    plan = restore_plan([None, {'status': 503}, None], HOSTS, 'db3', 'backup1')
    assert plan['errors'] == []
    assert (plan['member'], plan['leader'], plan['replicas']) == ('db3', '', ['db1', 'db2'])
    assert plan['stop_order'] == HOSTS


@pytest.mark.parametrize('answers, member, repo, manager, message', [
    ([CLUSTER], 'db9', 'backup1', 'pg_ctlcluster', 'dr_pitr_member (db9) is not one of the cluster\'s hosts (db1, db2, db3).'),
    ([None, None, None], '', 'backup1', 'pg_ctlcluster',
     'dr_pitr_member is empty and no member of cluster tmi leads (Patroni answered on 0 of 3 members)'),
    ([CLUSTER], '', '', 'pg_ctlcluster', 'wal_archive_repo_host is empty'),
    ([CLUSTER], '', 'backup1', 'systemd', 'dr_pitr_service_manager is systemd'),
    ([dict(CLUSTER, pause=True)], '', 'backup1', 'pg_ctlcluster', 'Cluster tmi is in maintenance mode (paused)'),
    ([{'members': [dict(LEADER, name='db7')]}], 'db1', 'backup1', 'pg_ctlcluster',
     'db7 leads cluster tmi but is not one of its hosts in the inventory'),
    ([CLUSTER, {'members': [dict(SYNC, role='leader')]}], '', 'backup1', 'pg_ctlcluster',
     'The members disagree on who leads cluster tmi (db2, db1)'),
])
def test_what_would_go_wrong_half_way_is_refused(answers, member, repo, manager, message):
    plan = restore_plan(answers, HOSTS, member, repo, manager)
    assert len(plan['errors']) == 1, plan['errors']
    assert plan['errors'][0].startswith(message)
    assert plan['member'] == ''


def test_what_is_not_a_list_is_an_error():
    with pytest.raises(AnsibleFilterError, match='hosts'):
        restore_plan([CLUSTER], [])
    with pytest.raises(AnsibleFilterError, match='GET /cluster'):
        restore_plan(CLUSTER, HOSTS)

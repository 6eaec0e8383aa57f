import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.patroni_switchover import switchover_plan


def cluster(*members, **extra):
    return dict({'scope': 'tmi', 'members': list(members)}, **extra)


LEADER = {'name': 'db1', 'role': 'leader', 'state': 'running', 'timeline': 2}
SYNC = {'name': 'db2', 'role': 'sync_standby', 'state': 'streaming', 'lag': 0}
REPLICA = {'name': 'db3', 'role': 'replica', 'state': 'running', 'lag': 4096}


def test_without_a_candidate_the_synchronous_standby_is_chosen():
    assert switchover_plan(cluster(LEADER, REPLICA, SYNC), synchronous_mode=True) == {
        'leader': 'db1', 'candidate': 'db2', 'errors': []}


def test_without_synchronous_mode_the_least_behind_is_chosen():
    behind = dict(SYNC, role='replica', lag=9000)
    assert switchover_plan(cluster(LEADER, behind, REPLICA))['candidate'] == 'db3'


def test_a_named_synchronous_standby_is_accepted():
    assert switchover_plan(cluster(LEADER, SYNC), 'db2', synchronous_mode=True)['errors'] == []


@pytest.mark.parametrize('candidate, members, sync, message', [
    ('db9', [LEADER, SYNC], True, 'db9 is not a member of cluster tmi (members: db1, db2).'),
    ('db1', [LEADER, SYNC], True, 'db1 leads already'),
    ('db3', [LEADER, SYNC, REPLICA], True, 'db3 is not a synchronous standby'),
    ('db3', [LEADER, dict(REPLICA, lag=2000000)], False, 'db3 is 2000000 bytes behind, more than patroni_maximum_lag_on_failover (1048576)'),
    ('db3', [LEADER, dict(REPLICA, lag='unknown')], False, 'the lag of db3 is unknown'),
    ('db3', [LEADER, dict(REPLICA, state='stopped')], False, 'db3 is stopped, not running'),
    ('db3', [LEADER, dict(REPLICA, tags={'nofailover': True})], False, 'db3 is tagged nofailover'),
])
def test_a_candidate_that_could_lose_commits_or_does_not_exist_is_refused(candidate, members, sync, message):
    plan = switchover_plan(cluster(*members), candidate, synchronous_mode=sync)
    assert len(plan['errors']) == 1
    assert message in plan['errors'][0]


def test_no_fit_candidate_is_refused_with_the_reason():
    plan = switchover_plan(cluster(LEADER, REPLICA), synchronous_mode=True)
    assert plan['candidate'] == ''
    assert plan['errors'] == ['No member can take over without losing commits: no synchronous standby is running '
                              'within patroni_maximum_lag_on_failover.']


def test_no_leader_or_a_paused_cluster_is_refused():
    errors = switchover_plan(cluster(SYNC, pause=True), 'db2', synchronous_mode=True)['errors']
    assert errors[0].startswith('The cluster has no leader')
    assert errors[1].startswith('The cluster is in maintenance mode')


def test_what_is_not_patronis_cluster_json_is_an_error():
    with pytest.raises(AnsibleFilterError, match='GET /cluster'):
        switchover_plan({'status': 'ok'})

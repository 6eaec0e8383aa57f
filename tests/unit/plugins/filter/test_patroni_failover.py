import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.patroni_failover import (
    failover_plan, lsn_int, postmaster_options)

MEMBERS = ['db1', 'db2', 'db3']
NO_DCS = {'answers': False, 'leader': ''}
NO_PATRONI = {'answers': False}


def standby(name, received='0/5000000', replayed='0/5000000', timeline=2, etcd=None):
    return {'name': name, 'patroni': NO_PATRONI, 'etcd': etcd or NO_DCS,
            'postgres': {'in_recovery': True, 'received_lsn': received, 'replayed_lsn': replayed,
                         'current_lsn': None, 'timeline': timeline}}


def plan(reports, candidate='db2', confirm='tmi'):
    return failover_plan(reports, MEMBERS, 'tmi', candidate, confirm)


def test_the_named_standby_is_promoted_when_it_is_the_furthest_and_etcd_has_no_quorum():
    result = plan([standby('db2', received='0/5000100'), standby('db3', received='0/4000000', replayed='0/4000000')])
    assert result['errors'] == []
    assert result['candidate'] == 'db2'
    assert (result['timeline'], result['lsn']) == (2, '0/5000100')
    assert result['stop'] == ['db2', 'db3']
    assert result['unreachable'] == ['db1']
    assert result['members'] == {'db1': 'unreachable', 'db2': 'standby, timeline 2, WAL to 0/5000100',
                                 'db3': 'standby, timeline 2, WAL to 0/4000000'}


def test_a_member_level_with_the_candidate_does_not_stop_it():
    assert plan([standby('db2'), standby('db3')])['errors'] == []


@pytest.mark.parametrize('candidate, confirm, message', [
    ('', 'tmi', 'patroni_failover_candidate is empty: name the member to promote '
                '(-e patroni_failover_candidate=NAME; members: db1, db2, db3).'),
    ('db9', 'tmi', 'db9 is not a member of cluster tmi (members: db1, db2, db3).'),
    ('db2', '', 'patroni_failover_confirm is not the cluster\'s name'),
    ('db2', 'yes', 'confirm with -e patroni_failover_confirm=tmi.'),
])
def test_the_operator_must_name_a_member_and_confirm_with_the_clusters_name(candidate, confirm, message):
    errors = plan([standby('db2')], candidate, confirm)['errors']
    assert len(errors) == 1 and message in errors[0]


def test_etcd_with_a_quorum_leaves_the_decision_to_patroni():
    errors = plan([standby('db2', etcd={'answers': True, 'leader': 'db1'}), standby('db3')])['errors']
    assert errors == ['etcd answers on db2 (it has a quorum) and db1 holds the leader key: Patroni decides, '
                      'failover.yml is for a lost quorum only. Read patronictl list; a planned change is '
                      'switchover.yml.']


def test_etcd_with_a_quorum_and_no_leader_key_is_refused_too():
    errors = plan([standby('db2', etcd={'answers': True, 'leader': ''})])['errors']
    assert errors and 'with no leader key' in errors[0]


def test_a_reachable_primary_is_never_split():
    primary = {'name': 'db1', 'etcd': NO_DCS, 'patroni': NO_PATRONI,
               'postgres': {'in_recovery': False, 'current_lsn': '0/4000000', 'timeline': 2}}
    errors = plan([primary, standby('db2')])['errors']
    assert errors == ['db1 runs as a primary already: promoting another member would split the cluster '
                      '(TMI reaches it through the proxy only while Patroni there says it leads).']


def test_a_member_further_ahead_than_the_candidate_is_named_instead():
    errors = plan([standby('db2', received='0/5000000'), standby('db3', replayed='0/5000008')])['errors']
    assert errors == ['db3 is further ahead (standby, timeline 2, WAL to 0/5000008) than db2 (standby, timeline 2, '
                      'WAL to 0/5000000): promoting db2 would lose what only db3 has; name db3 instead.']


def test_what_a_member_received_counts_as_well_as_what_it_replayed():
    errors = plan([standby('db2', received='0/5000000', replayed='0/5000000'),
                   standby('db3', received='0/6000000', replayed='0/4000000')])['errors']
    assert len(errors) == 1 and errors[0].startswith('db3 is further ahead')


def test_a_higher_timeline_is_further_ahead_whatever_its_lsn():
    behind_on_a_newer_timeline = standby('db3', received='0/1000000', replayed='0/1000000', timeline=3)
    errors = plan([standby('db2', timeline=2), behind_on_a_newer_timeline])['errors']
    assert len(errors) == 1 and errors[0].startswith('db3 is further ahead')


def test_a_reachable_member_whose_postgresql_does_not_answer_is_an_unknown_position():
    silent = {'name': 'db3', 'etcd': NO_DCS, 'patroni': NO_PATRONI, 'postgres': None}
    result = plan([standby('db2'), silent])
    assert result['errors'] == ['PostgreSQL does not answer on db3, so how far its WAL goes is unknown: start it '
                                '(read-only), or make the host unreachable (shut it down) if it is lost.']
    assert result['members']['db3'] == 'PostgreSQL does not answer'


@pytest.mark.parametrize('reports, message', [
    ([standby('db3')], 'db2 is unreachable: it cannot be promoted.'),
    ([{'name': 'db2', 'etcd': NO_DCS, 'patroni': NO_PATRONI, 'postgres': None}, standby('db3')],
     'PostgreSQL does not answer on db2: it cannot be promoted.'),
])
def test_a_candidate_that_cannot_be_read_is_refused(reports, message):
    assert plan(reports)['errors'] == [message]


def test_every_reason_is_given_at_once():
    errors = plan([standby('db2', etcd={'answers': True, 'leader': ''})], '', '')['errors']
    assert len(errors) == 3


def test_reports_without_names_are_an_error():
    with pytest.raises(AnsibleFilterError, match='expects a list of member reports'):
        failover_plan([{'postgres': None}], MEMBERS, 'tmi', 'db2', 'tmi')


@pytest.mark.parametrize('text, value', [('0/0', 0), ('0/5000100', 0x5000100), ('16/B374D848', (0x16 << 32) + 0xB374D848),
                                         (None, None)])
def test_lsn_int(text, value):
    assert lsn_int(text) == value


def test_a_wrong_lsn_is_an_error():
    with pytest.raises(AnsibleFilterError, match='is not a WAL location'):
        lsn_int('5000100')


OPTS = ('/usr/lib/postgresql/15/bin/postgres "-D" "/var/lib/postgresql/15/main" '
        '"--config-file=/etc/postgresql/15/main/postgresql.conf" "--listen_addresses=127.0.0.1,::1" '
        '"--port=25452" "--cluster_name=tmi"\n')


def test_the_postmaster_options_are_kept_for_pg_ctl():
    assert postmaster_options(OPTS, '/var/lib/postgresql/15/main/') == (
        '--config-file=/etc/postgresql/15/main/postgresql.conf --listen_addresses=127.0.0.1,::1 --port=25452 '
        '--cluster_name=tmi')


def test_an_option_with_a_space_is_quoted_for_the_shell():
    opts = '/usr/bin/postgres "-D" "/data" "--application_name=a b"'
    assert postmaster_options(opts, '/data') == "'--application_name=a b'"


@pytest.mark.parametrize('opts', ['', '/usr/bin/postgres "-D" "/other"', '/usr/bin/postgres "-D" "/data" "-c" "x=1"',
                                  '/usr/bin/postgres "-D" "/data" "--port'])
def test_postmaster_options_of_another_cluster_or_unexpected_form_are_refused(opts):
    with pytest.raises(AnsibleFilterError):
        postmaster_options(opts, '/data')

from ansible_collections.tmi.postgresql.plugins.module_utils.patroni_member import (
    failure_cause,
    leader_api_url,
    member_progress,
)

LEADER = {'state': 'running', 'role': 'master', 'postmaster_start_time': '2026-12-03 00:10:00+00',
          'replication': [{'usename': 'tmi_replication', 'application_name': 'db2', 'state': 'streaming',
                           'sync_state': 'sync'}]}
STANDBY = {'state': 'running', 'role': 'replica', 'postmaster_start_time': '2026-12-03 00:11:00+00',
           'xlog': {'received_location': 100, 'replayed_location': 100}}
ROLES = ['tmi_replication', 'tmi_rewind']
WALRECEIVER = ('2026-12-03 00:12:01 UTC [812]: FATAL:  could not connect to the primary server: connection to server at '
               '"127.0.0.1", port 25451 failed: FATAL:  password authentication failed for user "tmi_replication"')


def test_the_leader_runs():
    assert member_progress('db1', LEADER) == ('leader', 'running as the leader')


def test_a_standby_the_leader_lists_as_streaming_runs():
    assert member_progress('db2', STANDBY, LEADER) == ('streaming', 'streaming from the leader')


def test_a_running_standby_that_the_leader_does_not_list_does_not():
    # Patroni 3.0 calls it running, with a received location (its replayed one): not enough.
    ready, state = member_progress('db3', STANDBY, LEADER)
    assert ready is None
    assert state == 'running as a standby that does not stream from the leader'


def test_a_standby_still_catching_up_does_not():
    leader = dict(LEADER, replication=[dict(LEADER['replication'][0], state='catchup')])
    assert member_progress('db2', STANDBY, leader) == (None, 'connected to the leader but catchup, not streaming')


def test_a_standby_without_a_leader_does_not():
    assert member_progress('db2', STANDBY, None)[0] is None


def test_a_member_that_does_not_answer_or_does_not_run_does_not():
    assert member_progress('db2', None) == (None, "Patroni's REST API does not answer")
    assert member_progress('db2', {'state': 'creating replica', 'role': 'uninitialized'}) == (
        None, 'Patroni says PostgreSQL is creating replica')


def test_the_postgresql_a_rebuild_stops_does_not_count():
    old = STANDBY['postmaster_start_time']
    assert member_progress('db2', STANDBY, LEADER, old) == (None, 'still running the PostgreSQL started at %s' % old)
    assert member_progress('db2', STANDBY, LEADER, '2026-12-03 00:00:00+00')[0] == 'streaming'


def test_a_wrong_replication_password_is_the_cause():
    cause = failure_cause([('the journal', 'INFO: no action'), ('/var/log/postgresql/15-main/postgresql-Thu.log', WALRECEIVER)],
                          ROLES)
    assert cause == {'kind': 'password', 'role': 'tmi_replication', 'host': None,
                     'source': '/var/log/postgresql/15-main/postgresql-Thu.log', 'line': WALRECEIVER}


def test_pg_basebackups_refusal_in_the_journal_is_the_cause():
    line = ('pg_basebackup: error: connection to server at "127.0.0.1", port 25451 failed: FATAL:  no pg_hba.conf entry '
            'for replication connection from host "10.0.0.12", user "tmi_replication", SSL encryption')
    cause = failure_cause([('the journal of patroni@15-main', line)], ROLES)
    assert (cause['kind'], cause['role'], cause['host']) == ('hba', 'tmi_replication', '10.0.0.12')


def test_a_missing_rewind_role_is_the_cause():
    cause = failure_cause([('j', 'pg_rewind: error: FATAL:  role "tmi_rewind" does not exist')], ROLES)
    assert (cause['kind'], cause['role']) == ('missing_role', 'tmi_rewind')


def test_a_refusal_that_is_not_the_leaders_is_not_the_cause():
    # Seen in molecule ha: Patroni 3.0 reads a standby's timeline over a replication connection to its own
    # PostgreSQL (localhost), which pg_hba refuses; and the member's server logs the clients it refuses.
    lines = [('the journal', 'psycopg2.OperationalError: connection to server at "localhost" (::1), port 25452 failed: '
                             'FATAL:  no pg_hba.conf entry for replication connection from host "::1", user '
                             '"tmi_replication", SSL encryption'),
             ('log', '2026-12-03 00:12:01 UTC [900]: FATAL:  password authentication failed for user "tmi_replication"')]
    assert failure_cause(lines, ROLES) is None


def test_another_roles_refusal_is_not_the_members_cause():
    # The member's own log also shows the failed logins of TMI's clients.
    assert failure_cause([('log', 'FATAL:  could not connect to the primary server: ... password authentication '
                                  'failed for user "tmi_app"')], ROLES) is None
    assert failure_cause([], ROLES) is None


def test_the_leaders_rest_api_is_found_in_the_cluster():
    cluster = {'members': [{'name': 'db2', 'role': 'replica', 'api_url': 'https://db2:8008/patroni'},
                           {'name': 'db1', 'role': 'leader', 'api_url': 'https://db1:8008/patroni'}]}
    assert leader_api_url(cluster) == 'https://db1:8008/patroni'
    assert leader_api_url({'members': [cluster['members'][0]]}) is None
    assert leader_api_url(None) is None

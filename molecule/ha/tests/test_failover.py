# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failover drill of issue 12, while a writer commits as TMI does, through the .env file and the proxy.

1. The leader's container is killed (`docker kill`): Patroni promotes the synchronous standby by itself, the
   writer resumes through the same .env, and every acknowledged row is on the new leader.
2. The old leader's container starts again: it rejoins as a standby (pg_rewind).
3. switchover.yml swaps back, with nothing lost; a switchover to a member that does not exist is refused.
4. etcd loses its quorum: no member is promoted, the leader stops taking writes once it cannot renew its lock
   (Patroni's documented behaviour without failsafe mode), and nothing splits; with the quorum back the cluster
   has a leader again.
5. etcd down to 1 of 3 and the leader's container killed: failover.yml refuses without confirmation, then
   promotes the standby by hand and the writer resumes; with the quorum back, site.yml puts the cluster under
   Patroni again (the promoted member leads, the old leader rejoins it), and no acknowledged row is lost.

conftest.py runs these tests after the checks of the converged cluster. They run with TMI_HA_DRILL=1
(`make drill-ha`); `make test` leaves them out to stay within its 45 minutes. The measurements are printed and
written to build/molecule-ha-drill.json in the checkout.
"""

import time

import pytest

from ha_writer import (
    DATA_DIR, PATRONI_UNIT, PG_VERSION, ROW_EMAIL, Writer, docker, drill_only, leader, members, parse_env, run_playbook, utc_now,
    wait_for, write_measured,
)

pytestmark = drill_only

DB_MEMBERS = {'tmi-ha-1': 25451, 'tmi-ha-2': 25452}
SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p %s -d tmi -c %s"


def unique_first():
    """A first row number no earlier writer used, even on a cluster that a previous verify drilled."""
    return int(time.time() * 100)


def numbers_on(host, member):
    result = host.run(SQL, str(DB_MEMBERS[member]), "SELECT email FROM users WHERE email LIKE 'ha-%'")
    assert result.rc == 0, result.stderr
    return set(int(ROW_EMAIL.match(line).group(1)) for line in result.stdout.split())


@pytest.fixture(scope='module')
def drill(hosts):
    state = {'measured': {}}
    env = parse_env(hosts['tmi-ha-1'].file('/etc/tmi/tmi.env').content_string)
    state['env'] = env
    yield state
    write_measured('molecule-ha-drill.json', 'HA drill', state['measured'])


def test_the_leaders_container_is_killed_and_the_standby_takes_over(hosts, drill):
    old = leader('tmi-ha-1')
    new = [m for m in DB_MEMBERS if m != old][0]
    drill['old'], drill['new'] = old, new
    writer = Writer(drill['env'], first=unique_first())
    writer.start()
    wait_for('the writer commits', lambda: len(writer.acked) > 40, 30)
    killed = utc_now()
    docker('kill', old)
    # The first failure after the kill, and the first commit acknowledged after it.
    outage = wait_for('the writer fails, then commits again', lambda: next(
        (o for o in writer.outages if o[0] >= killed and o[1] is not None), None), 120)
    wait_for('a few more commits', lambda: len(writer.acked_after(outage[1])) > 20, 30)
    writer.stop()
    last_before = max(at for n, at in writer.acked if at <= outage[0])
    drill['measured']['failover_seconds'] = round((outage[1] - killed).total_seconds(), 1)
    drill['measured']['writes_refused_seconds'] = round((outage[1] - last_before).total_seconds(), 1)
    drill['measured']['first_error'] = outage[2]
    assert leader(new) == new
    present = numbers_on(hosts[new], new)
    acked = [n for n, _at in writer.acked]
    lost = sorted(set(acked) - present)
    drill['measured']['rows_acknowledged'] = len(acked)
    drill['measured']['rows_lost'] = len(lost)
    assert lost == [], 'acknowledged rows missing on the new leader: %s' % lost[:20]


def test_the_old_leader_comes_back_and_rejoins_as_the_synchronous_standby(hosts, drill):
    started = time.monotonic()
    docker('start', drill['old'])
    wait_for('%s streams from %s' % (drill['old'], drill['new']),
             lambda: members(drill['new']).get(drill['old'], {}).get('State') in ('running', 'streaming')
             and members(drill['new'])[drill['old']]['Role'] == 'Sync Standby', 180)
    drill['measured']['rejoin_seconds'] = round(time.monotonic() - started, 1)
    journal = hosts[drill['old']].run('journalctl -u %s --no-pager' % PATRONI_UNIT).stdout
    assert 'pg_rewind' in journal, 'the old leader was not rewound'


def test_a_switchover_to_a_member_that_does_not_exist_is_refused(hosts):
    output = run_playbook('switchover.yml', expect_rc=2, patroni_switchover_candidate='tmi-ha-9')
    assert 'tmi-ha-9 is not a member of cluster tmi (members: tmi-ha-1, tmi-ha-2). Nothing was changed.' in output


def test_switchover_swaps_back_with_nothing_lost(hosts, drill):
    writer = Writer(drill['env'], first=unique_first())
    writer.start()
    wait_for('the writer commits', lambda: len(writer.acked) > 20, 30)
    started = utc_now()
    run_playbook('switchover.yml', patroni_switchover_candidate=drill['old'])
    done = utc_now()
    wait_for('the writer commits after the switchover', lambda: len(writer.acked_after(done)) > 0, 60)
    writer.stop()
    pauses = [(back - failed).total_seconds() for failed, back, _error in writer.outages if back and failed >= started]
    drill['measured']['switchover_pause_seconds'] = round(max(pauses), 1) if pauses else 0.0
    assert leader(drill['old']) == drill['old']
    present = numbers_on(hosts[drill['old']], drill['old'])
    lost = sorted(set(n for n, _at in writer.acked) - present)
    assert lost == [], 'acknowledged rows missing after the switchover: %s' % lost[:20]


def test_without_an_etcd_quorum_nothing_is_promoted_and_nothing_splits(hosts, drill):
    standby = [m for m in DB_MEMBERS if m != leader('tmi-ha-1')][0]
    seen = []
    for member in ('tmi-ha-2', 'tmi-ha-3'):
        hosts[member].run('systemctl stop etcd')
    try:
        # ttl 30 s: the leader cannot renew its lock and demotes itself; the standby cannot take it.
        def read_only_everywhere():
            states = dict((m, hosts[m].run(SQL, str(DB_MEMBERS[m]), 'SELECT pg_is_in_recovery()').stdout.strip())
                          for m in DB_MEMBERS)
            seen.append(states)
            return list(states.values()) == ['t', 't']
        wait_for('both members read-only without a quorum', read_only_everywhere, 90)
    finally:
        for member in ('tmi-ha-2', 'tmi-ha-3'):
            hosts[member].run('systemctl start etcd')
    assert not [s for s in seen if s[standby] == 'f'], 'the standby was promoted without a quorum: %s' % seen
    drill['measured']['quorum_loss_polls'] = len(seen)
    back = wait_for('a leader once the quorum is back', lambda: leader('tmi-ha-1'), 120)
    assert back in DB_MEMBERS
    drill['measured']['leader_after_quorum'] = back


def in_recovery(host, member):
    return host.run(SQL, str(DB_MEMBERS[member]), 'SELECT pg_is_in_recovery()').stdout.strip()


def test_failover_yml_promotes_the_standby_by_hand_without_a_quorum_and_site_yml_brings_patroni_back(hosts, drill):
    """etcd down to 1 of 3 (tmi-ha-3's stopped, the leader's container killed with its own): Patroni promotes
    nobody; failover.yml refuses without confirmation, then promotes the standby, and the writer resumes through the
    same .env. With the quorum back, site.yml (without the lost member) starts Patroni on the promoted member first
    and it leads; the old leader's container comes back and rejoins it (pg_rewind); nothing acknowledged is lost."""
    old = leader('tmi-ha-1')
    new = [m for m in DB_MEMBERS if m != old][0]
    record = DATA_DIR + '.failover'
    writer = Writer(drill['env'], first=unique_first())
    writer.start()
    wait_for('the writer commits', lambda: len(writer.acked) > 20, 30)
    hosts['tmi-ha-3'].run('systemctl stop etcd')
    killed = utc_now()
    docker('kill', old)
    try:
        wait_for('the writer fails', lambda: any(o[0] >= killed for o in writer.outages), 60)
        output = ' '.join(run_playbook('failover.yml', expect_rc=2, patroni_failover_candidate=new).split())
        assert "patroni_failover_confirm is not the cluster's name" in output and 'Nothing was changed.' in output
        output = ' '.join(run_playbook('failover.yml', expect_rc=2, patroni_failover_candidate='tmi-ha-3',
                                       patroni_failover_confirm='tmi').split())
        assert 'tmi-ha-3 is not a member of cluster tmi (members: tmi-ha-1, tmi-ha-2).' in output
        output = ' '.join(run_playbook('failover.yml', '--check', patroni_failover_candidate=new,
                                       patroni_failover_confirm='tmi').split())
        assert 'Check mode, nothing changed. failover.yml would stop and disable Patroni on %s' % new in output
        assert in_recovery(hosts[new], new) == 't', 'promoted without a quorum, or by the check run'
        assert hosts[new].service(PATRONI_UNIT).is_running
        started = utc_now()
        output = ' '.join(run_playbook('failover.yml', patroni_failover_candidate=new,
                                       patroni_failover_confirm='tmi').split())
        assert 'failover.yml promoted %s of cluster tmi by hand' % new in output
        assert 'Unreachable, not stopped: %s.' % old in output
        wait_for('the writer commits through the same .env', lambda: writer.acked_after(started), 120)
        drill['measured']['failover_yml_to_next_commit_seconds'] = round(
            (min(at for _n, at in writer.acked if at > started) - started).total_seconds(), 1)
        wait_for('a few more commits', lambda: len(writer.acked_after(started)) > 20, 30)
        assert in_recovery(hosts[new], new) == 'f'
        assert not hosts[new].service(PATRONI_UNIT).is_running
        assert not hosts[new].service(PATRONI_UNIT).is_enabled
        assert hosts[new].file(record).contains('promoted %s' % new)
    finally:
        # The way back: etcd's quorum (without the lost member), site.yml on the members the controller reaches.
        hosts['tmi-ha-3'].run('systemctl start etcd')
    run_playbook('site.yml', '--limit', 'all:!%s' % old)
    assert leader(new) == new
    assert hosts[new].file(record).exists is False
    assert hosts[new].run('ls /var/lib/postgresql/%s/' % PG_VERSION).stdout.count('main.failover.resolved-') >= 1
    docker('start', old)
    wait_for('%s rejoins %s as its synchronous standby' % (old, new),
             lambda: members(new).get(old, {}).get('State') in ('running', 'streaming')
             and members(new)[old]['Role'] == 'Sync Standby', 240)
    journal = hosts[old].run('journalctl -u ' + PATRONI_UNIT + ' --no-pager --since %s',
                             killed.strftime('%Y-%m-%d %H:%M:%S')).stdout
    assert 'running pg_rewind from %s' % new in journal, 'the old leader was not rewound onto the promoted member'
    run_playbook('site.yml')
    writer.stop()
    assert leader(new) == new and leader(old) == new
    acked = [n for n, _at in writer.acked]
    for member in DB_MEMBERS:
        lost = sorted(set(acked) - numbers_on(hosts[member], member))
        assert lost == [], 'acknowledged rows missing on %s after the way back: %s' % (member, lost[:20])
    drill['measured']['manual_failover_rows_acknowledged'] = len(acked)

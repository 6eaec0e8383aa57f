# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bad input to the high-availability layout (issue 12) is refused with a clear message, and leaves the cluster as
it was: a switchover to a member that does not exist or lags, a reinit of the leader or of a stranger, a
patroni_connect_host that does not resolve, a replication password the leader does not take. Also check mode of
site.yml on the converged cluster, and reinit.yml rebuilding the standby.

Each test leaves one leader and one synchronous standby streaming, for the tests after it (conftest.py's ORDER).
"""

import json
import os
import re
import subprocess
import time

import pytest

from ha_writer import PATRONI_CONFIG, drill_only
from test_patroni import PATRONICTL

DB_MEMBERS = {'tmi-ha-1': 25451, 'tmi-ha-2': 25452}
SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p %s -d postgres -c %s"
PROJECT = os.environ['MOLECULE_PROJECT_DIRECTORY']
# site.yml's step that waits for each member, alone.
WAIT_MEMBER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'wait_member.yml')


def cluster(host):
    result = host.run(PATRONICTL + 'list -f json')
    assert result.rc == 0, result.stderr
    return dict((m['Member'], m) for m in json.loads(result.stdout))


def roles(hosts):
    """(leader, standby) as the cluster has them now."""
    members = cluster(hosts['tmi-ha-1'])
    leader = [name for name, m in members.items() if m['Role'] == 'Leader'][0]
    return leader, [name for name in DB_MEMBERS if name != leader][0]


def sql(host, statement):
    result = host.run(SQL, str(DB_MEMBERS[host.backend.host]), statement)
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


def healthy(hosts, seconds=90):
    """Wait until one leader and one synchronous standby that streams (the leader lists it as streaming)."""
    deadline = time.monotonic() + seconds
    seen = None
    while time.monotonic() < deadline:
        members = cluster(hosts['tmi-ha-1'])
        seen = members
        if sorted(m['Role'] for m in members.values()) == ['Leader', 'Sync Standby']:
            leader, standby = roles(hosts)
            if sql(hosts[leader], "SELECT state FROM pg_stat_replication WHERE application_name = '%s'" % standby) \
                    == 'streaming':
                return leader, standby
        time.sleep(1)
    raise AssertionError('the cluster is not healthy after %d s: %s' % (seconds, seen))


def lag_mb(member):
    """A member's lag as patronictl list shows it, 0 when unknown."""
    lag = member.get('Lag in MB')
    return lag if isinstance(lag, (int, float)) else 0


def wait_for_lag(hosts, leader, standby, seconds=60):
    """The standby's line of patronictl list once Patroni shows it more than 1 MB behind."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        member = cluster(hosts[leader])[standby]
        if lag_mb(member) > 1:
            return member
        time.sleep(1)
    raise AssertionError('%s did not fall behind: %s' % (standby, cluster(hosts[leader])))


def playbook(name, *args, **expect):
    """Run a playbook of the collection on the scenario's inventory, with Ansible's JSON output.

    Returns (text, stats, seconds): text has one line per failed task and host, "HOST: MESSAGE" (unwrapped, as
    the operator reads it), stats the recap per host.
    """
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])] + list(args) \
        + [name if os.path.isabs(name) else os.path.join(PROJECT, 'playbooks', name)]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, check=False,
                            env=dict(os.environ, NO_COLOR='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'))
    took = time.monotonic() - started
    report = json.loads(result.stdout[result.stdout.index('{'):])
    failed = []
    for play in report['plays']:
        for task in play['tasks']:
            for host, answer in task['hosts'].items():
                if answer.get('failed'):
                    failed.append('%s: %s: %s' % (host, task['task']['name'], answer.get('msg')))
    text = '\n'.join(failed)
    assert result.returncode == expect.get('rc', 0), '%s\n%s' % (text, result.stderr[-2000:])
    return text, report['stats'], took


def test_a_switchover_to_a_member_that_does_not_exist_is_refused(hosts):
    leader, _standby = healthy(hosts)
    output, _stats, _took = playbook('switchover.yml', '-e', 'patroni_switchover_candidate=tmi-ha-9', rc=2)
    assert 'tmi-ha-9 is not a member of cluster tmi (members: tmi-ha-1, tmi-ha-2). Nothing was changed.' in output
    assert roles(hosts)[0] == leader


def test_a_switchover_to_a_lagging_member_is_refused_and_changes_nothing(hosts):
    leader, standby = healthy(hosts)
    # The standby must stay behind while the leader writes a few MB of WAL, so that Patroni's /cluster shows it
    # behind. It cannot log in to stream again (NOLOGIN; a connection limit does not hold WAL senders), and its
    # startup process is stopped (SIGSTOP): that process replays and also fetches the segments archive_timeout pushes
    # to the repository host. pg_wal_replay_pause() is not enough: Patroni resumes a paused replay on 14 and newer at
    # each of its loops (ci49 and ci52 failed on that race).
    sql(hosts[leader], 'ALTER ROLE tmi_replication NOLOGIN')
    startup = sql(hosts[standby], "SELECT pid FROM pg_stat_activity WHERE backend_type = 'startup'")
    assert startup.isdigit(), startup
    assert hosts[standby].run('kill -STOP %s', startup).rc == 0
    try:
        sql(hosts[leader], "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = '%s'"
            % standby)
        sql(hosts[leader], 'SET synchronous_commit = local; CREATE TABLE hin_lag AS SELECT g, md5(g::text) AS t '
                           'FROM generate_series(1, 60000) AS g; DROP TABLE hin_lag')
        wait_for_lag(hosts, leader, standby)
        output, _stats, _took = playbook('switchover.yml', '-e', 'patroni_switchover_candidate=' + standby, rc=2)
        # The refusal lists every reason; the one this test is about is the lag.
        assert output.count('Refused: ') == 1 and 'Nothing was changed.' in output, output[-3000:]
        assert re.search(r'Refused: .*%s is \d+ bytes behind, more than patroni_maximum_lag_on_failover \(1048576\)'
                         % standby, output), output[-3000:]
        assert roles(hosts)[0] == leader
    finally:
        assert hosts[standby].run('kill -CONT %s', startup).rc == 0
        sql(hosts[leader], 'ALTER ROLE tmi_replication LOGIN')
    healthy(hosts)


def test_a_wrong_replication_password_is_a_clear_error_soon(hosts):
    leader, standby = healthy(hosts)
    saved = sql(hosts[leader], "SELECT rolpassword FROM pg_authid WHERE rolname = 'tmi_replication'")
    assert saved.startswith('SCRAM-SHA-256$')
    # Another password for the replication role on the leader (generated in SQL: none on a command line), then
    # the standby's WAL receiver must log in again.
    sql(hosts[leader], "DO $$BEGIN EXECUTE format('ALTER ROLE tmi_replication PASSWORD %L', "
                       "'Wrong-' || md5(random()::text)); END$$")
    try:
        sql(hosts[leader], "SELECT pg_terminate_backend(pid) FROM pg_stat_replication WHERE application_name = '%s'"
            % standby)
        # site.yml's step that waits for each member (the whole site.yml takes minutes; it also gives the leader's
        # role the file's password back, and the standby then reconnects by itself: seen, not tested here).
        output, stats, took = playbook(WAIT_MEMBER, rc=2)
        found = re.search(r'%s does not stream from the leader after ([\d.]+) s: the leader refuses the password of '
                          r'the replication role tmi_replication \((.*)$' % standby, output, re.M)
        assert found, output[-5000:]
        # The line of the log that shows it.
        assert 'could not connect to the primary server' in found.group(2)
        assert 'password authentication failed for user "tmi_replication"' in found.group(2)
        assert 'server_replication_password_file, under tmi_postgresql_password_dir' in output
        assert os.path.join(os.environ['MOLECULE_EPHEMERAL_DIRECTORY'], 'passwords', 'tmi_replication.password') in output
        # The cause was known: no waiting out the timeout (180 s).
        assert float(found.group(1)) < 30, found.group(0)
        assert stats[leader]['failures'] == 0
        print('\nwith a wrong replication password: refused after %s s of waiting (%.0f s in all)'
              % (found.group(1), took))
    finally:
        # The verifier of the file's password, as it was: the standby reconnects by itself.
        sql(hosts[leader], "ALTER ROLE tmi_replication PASSWORD '%s'" % saved)
    healthy(hosts, 60)
    playbook(WAIT_MEMBER)


def test_an_unresolvable_patroni_connect_host_is_refused_before_anything_changes(hosts, tmp_path):
    before = dict((m, hosts[m].file(PATRONI_CONFIG).md5sum) for m in DB_MEMBERS)
    typo = tmp_path / 'typo.yml'
    typo.write_text('all:\n  hosts:\n    tmi-ha-2:\n      patroni_connect_host: tmi-ha-2x.invalid\n')
    output, stats, _took = playbook('site.yml', '-i', str(typo), rc=2)
    for member in DB_MEMBERS:
        assert ('patroni_connect_host does not resolve on %s: tmi-ha-2x.invalid of member tmi-ha-2. Fix the inventory '
                '(or the name service of the hosts). Nothing was changed.' % member) in output, output[-4000:]
    # Stopped in site.yml's pre_tasks: no role of the play ran.
    assert stats['tmi-ha-1']['changed'] == stats['tmi-ha-2']['changed'] == 0
    assert dict((m, hosts[m].file(PATRONI_CONFIG).md5sum) for m in DB_MEMBERS) == before


@drill_only
def test_check_mode_of_site_changes_nothing_on_the_converged_cluster(hosts):
    healthy(hosts)
    output, stats, took = playbook('site.yml', '--check', '--diff')
    recap = dict((host, (s['changed'], s['failures'], s['unreachable'])) for host, s in stats.items())
    assert recap == {'tmi-ha-1': (0, 0, 0), 'tmi-ha-2': (0, 0, 0), 'tmi-ha-3': (0, 0, 0)}, output
    print('\nsite.yml --check --diff: %.0f s' % took)


@pytest.mark.parametrize('member, message', [
    ('leader', '{0} leads the cluster: switch over first (switchover.yml), then rebuild it. Nothing was changed.'),
    ('tmi-ha-9', 'tmi-ha-9 is not a member of cluster tmi (members: tmi-ha-1, tmi-ha-2). Nothing was changed.'),
    ('', 'patroni_reinit_member is empty: name the standby to rebuild (-e patroni_reinit_member=NAME). '
         'Nothing was changed.'),
])
def test_reinit_refuses_the_leader_and_a_stranger(hosts, member, message):
    leader, standby = healthy(hosts)
    started = sql(hosts[standby], 'SELECT pg_postmaster_start_time()')
    member = leader if member == 'leader' else member
    output, _stats, _took = playbook('reinit.yml', '-e', 'patroni_reinit_member=' + member, rc=2)
    assert message.format(leader) in output, output[-3000:]
    assert roles(hosts) == (leader, standby)
    assert sql(hosts[standby], 'SELECT pg_postmaster_start_time()') == started


def test_reinit_rebuilds_the_standby_which_streams_when_it_ends(hosts):
    leader, standby = healthy(hosts)
    started = sql(hosts[standby], 'SELECT pg_postmaster_start_time()')
    system = sql(hosts[leader], 'SELECT system_identifier FROM pg_control_system()')
    _output, stats, took = playbook('reinit.yml', '-e', 'patroni_reinit_member=' + standby)
    assert stats[standby]['changed'] == 1
    # At the playbook's end, not later: the rebuilt standby streams from the leader.
    assert sql(hosts[leader], "SELECT state FROM pg_stat_replication WHERE application_name = '%s'" % standby) \
        == 'streaming'
    assert sql(hosts[standby], 'SELECT pg_postmaster_start_time()') != started
    assert sql(hosts[standby], 'SELECT system_identifier FROM pg_control_system()') == system
    assert roles(hosts) == (leader, standby)
    healthy(hosts)
    print('\nreinit.yml of %s: %.0f s' % (standby, took))

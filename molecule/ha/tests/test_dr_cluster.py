# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Point-in-time recovery of the Patroni cluster (issue 12) with dr_pitr.yml, as an operator runs it.

Rows are committed as TMI does (through the .env and the proxy), the time is noted, more rows are committed and
the rows before the target are deleted (the damage); dr_pitr.yml then recovers the cluster to the noted time:
Patroni stopped everywhere, the leader restored, Patroni leading with its data, a new full backup on the
repository host, the other member rebuilt from it. Afterwards one leader and one synchronous standby stream, the
rows before the target are back, those after it are gone, TMI logs in through the .env, and the new timeline
archives to the repository host. A refusal and a check-mode run come first: neither changes anything. Last,
a standby whose data directory is lost comes back with site.yml, and dr_rebuild.yml rebuilds the cluster after
both members' containers are replaced by empty ones.

It runs with TMI_HA_DRILL=1 (`make drill-ha`), after the failover drill and before etcd's tests (conftest.py).
The time of the recovery is printed and written to build/molecule-ha-dr.json in the checkout.
"""

import json
import time

import pytest

from ha_writer import DATA_DIR, PATRONI_UNIT, connect, docker, drill_only, leader, members, parse_env, run_playbook, utc_now, wait_for, write_measured

pytestmark = drill_only

DB_MEMBERS = {'tmi-ha-1': 25451, 'tmi-ha-2': 25452}
SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p %s -d tmi -c %s"
PGBACKREST = 'runuser -u postgres -- pgbackrest --stanza=tmi --log-level-console=warn '


def sql(host, member, statement):
    result = host.run(SQL, str(DB_MEMBERS[member]), statement)
    assert result.rc == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def commit_rows(env, prefix, count):
    conn = connect(env)
    conn.autocommit = True
    with conn.cursor() as cur:
        for n in range(count):
            cur.execute('INSERT INTO users (email, name) VALUES (%s, %s)',
                        ('%s-%d@example.org' % (prefix, n), 'DR drill row %d' % n))
    conn.close()


def emails(host, member, prefix):
    return set(sql(host, member, "SELECT email FROM users WHERE email LIKE '%s-%%'" % prefix))


def timeline(host, member):
    return int(sql(host, member, 'SELECT timeline_id FROM pg_control_checkpoint()')[0])


def leader_and_synchronous_standby():
    """The members when one leads and the other is its synchronous standby, both running; else None."""
    found = members('tmi-ha-1')
    roles = sorted(m['Role'] for m in found.values())
    return found if roles == ['Leader', 'Sync Standby'] and all(
        m['State'] in ('running', 'streaming') for m in found.values()) else None


@pytest.fixture(scope='module')
def drill(hosts):
    # Row names no earlier run used, on a cluster that a previous verify recovered already.
    state = {'measured': {}, 'env': parse_env(hosts['tmi-ha-1'].file('/etc/tmi/tmi.env').content_string),
             'before': 'pitr%d-before' % time.time(), 'after': 'pitr%d-after' % time.time()}
    yield state
    write_measured('molecule-ha-dr.json', 'HA DR drill', state['measured'])


def test_a_member_that_is_not_in_the_cluster_is_refused_and_nothing_changes(hosts):
    before = leader('tmi-ha-1')
    output = run_playbook('dr_pitr.yml', expect_rc=2, dr_pitr_member='tmi-ha-9')
    assert "dr_pitr_member (tmi-ha-9) is not one of the cluster's hosts (tmi-ha-1, tmi-ha-2). Nothing was changed." in output
    assert leader('tmi-ha-1') == before


def test_check_mode_says_what_it_would_do_and_changes_nothing(hosts):
    before = leader('tmi-ha-1')
    other = [m for m in DB_MEMBERS if m != before][0]
    # The YAML callback folds long messages: compare with the whitespace collapsed.
    output = ' '.join(run_playbook('dr_pitr.yml', '--check').split())
    assert 'Check mode: would stop Patroni on %s, then %s, remove cluster tmi from etcd, restore %s' % (
        other, before, before) in output
    assert 'changed=0' in output and 'failed=0' in output
    assert leader('tmi-ha-1') == before
    assert members('tmi-ha-1')[other]['State'] in ('running', 'streaming')


def test_the_cluster_is_recovered_to_a_point_in_time(hosts, drill):
    env = drill['env']
    old_leader = leader('tmi-ha-1')
    old_timeline = timeline(hosts[old_leader], old_leader)
    before, after = drill['before'], drill['after']
    commit_rows(env, before, 20)
    time.sleep(1.5)
    target = utc_now()
    time.sleep(1.5)
    commit_rows(env, after, 20)
    # The damage: the rows before the target are deleted.
    sql(hosts[old_leader], old_leader, "DELETE FROM users WHERE email LIKE '%s-%%'" % before)
    assert emails(hosts[old_leader], old_leader, before) == set()

    started = time.monotonic()
    output = run_playbook('dr_pitr.yml', dr_pitr_target_time=target.strftime('%Y-%m-%d %H:%M:%S.%f+00'))
    drill['measured']['pitr_seconds'] = round(time.monotonic() - started, 1)
    drill['output'] = output = ' '.join(output.split())
    assert 'Patroni leads on %s with the restored data' % old_leader in output
    assert 'Validation of tmi: schema valid' in output
    assert 'Last WAL of the old server (the leader, %s) archived before the stop: yes (' % old_leader in output

    found = wait_for('a leader and a synchronous standby', leader_and_synchronous_standby, 120)
    drill['measured']['pitr_to_sync_standby_seconds'] = round(time.monotonic() - started, 1)
    new_leader = [name for name, m in found.items() if m['Role'] == 'Leader'][0]
    assert new_leader == old_leader
    drill['leader'] = new_leader
    assert timeline(hosts[new_leader], new_leader) > old_timeline

    # The rows committed before the target are back, on both members; those after it are gone.
    for member in DB_MEMBERS:
        host = hosts[member]
        assert emails(host, member, before) == set('%s-%d@example.org' % (before, n) for n in range(20)), member
        assert emails(host, member, after) == set(), member


def test_tmi_logs_in_through_the_env_and_writes_after_the_recovery(hosts, drill):
    conn = connect(drill['env'])
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('INSERT INTO users (email, name) VALUES (%s, %s)', ('%s-later@example.org' % drill['after'], 'after the PITR'))
        cur.execute('SELECT count(*) FROM users WHERE email LIKE %s', (drill['before'] + '-%',))
        assert cur.fetchone()[0] == 20
    conn.close()


def test_the_new_timeline_archives_to_the_repository_host(hosts, drill):
    member = drill['leader']
    result = hosts[member].run(PGBACKREST + 'check')
    assert result.rc == 0, result.stdout + result.stderr
    info = json.loads(hosts['tmi-ha-3'].check_output('runuser -u pgbackrest -- pgbackrest --stanza=tmi --output=json info'))
    newest = info[0]['backup'][-1]
    assert newest['type'] == 'full'
    assert 'New full backup on tmi-ha-3: %s' % newest['label'] in drill['output']
    drill['new_backup'] = newest['label']


def test_the_other_member_was_rebuilt_from_the_new_backup(hosts, drill):
    replica = [m for m in DB_MEMBERS if m != drill['leader']][0]
    log = hosts[replica].file('/var/log/pgbackrest/tmi-restore.log').content_string
    last = log.split('restore command begin')[-1]
    assert '--type=standby' in last and 'restore backup set %s' % drill['new_backup'] in last, last[:2000]


@pytest.mark.parametrize('member', sorted(DB_MEMBERS))
def test_every_members_old_data_directory_is_kept_aside(hosts, member):
    kept = hosts[member].run('ls -d %s.damaged-*' % DATA_DIR).stdout.split()
    assert kept, 'no old data directory kept on %s' % member
    assert hosts[member].file(kept[-1] + '/PG_VERSION').exists


def test_a_lost_standby_comes_back_with_site_yml(hosts, drill):
    """A standby's disk is lost (its data directory gone, Patroni down): site.yml starts Patroni, which restores it
    from the repository host's newest backup, and it is the synchronous standby again."""
    standby = [m for m in DB_MEMBERS if m != leader('tmi-ha-1')][0]
    host = hosts[standby]
    assert host.run('systemctl stop %s && rm -rf %s' % (PATRONI_UNIT, DATA_DIR)).rc == 0
    started = time.monotonic()
    run_playbook('site.yml')

    def synchronous():
        found = members('tmi-ha-1').get(standby, {})
        return found.get('Role') == 'Sync Standby' and found.get('State') in ('running', 'streaming')
    wait_for('%s is the synchronous standby again' % standby, synchronous, 180)
    drill['measured']['lost_standby_site_yml_seconds'] = round(time.monotonic() - started, 1)
    last = host.file('/var/log/pgbackrest/tmi-restore.log').content_string.split('restore command begin')[-1]
    assert '--type=standby' in last and 'restore command end: completed successfully' in last, last[:2000]


def recreate_empty(name):
    """Remove the container with its disk and start a new one from the same image, options and command."""
    spec = json.loads(docker('inspect', name).stdout)[0]
    host, config = spec['HostConfig'], spec['Config']
    docker('rm', '-f', name)
    argv = ['run', '-d', '--name', name, '--hostname', config['Hostname'], '--network', host['NetworkMode'],
            '--cgroupns', host['CgroupnsMode']]
    argv += ['--add-host=%s' % h.replace(' ', ':') for h in host.get('ExtraHosts') or []]
    argv += ['-v=%s' % b for b in host.get('Binds') or []]
    argv += ['--tmpfs=%s' % path for path in host.get('Tmpfs') or {}]
    argv += ['-e=%s' % e for e in config.get('Env') or [] if e.startswith('container=')]
    argv += [config['Image']] + (config['Cmd'] or [])
    docker(*argv)


def test_all_members_lost_are_rebuilt_on_new_hosts(hosts, drill):
    """dr_rebuild.yml: both members' containers are replaced by empty ones (etcd loses two of its three members
    with them: its survivor's data is moved aside, as docs/high-availability.md says), and the cluster comes back
    from the repository host to the end of the archived WAL."""
    env = drill['env']
    member = leader('tmi-ha-1')
    tag = 'rebuild%d' % time.time()
    commit_rows(env, tag, 20)
    # The rows' WAL reaches the repository (check switches the segment and waits for it).
    result = hosts[member].run(PGBACKREST + 'check')
    assert result.rc == 0, result.stdout + result.stderr
    for name in DB_MEMBERS:
        recreate_empty(name)
    survivor = hosts['tmi-ha-3']
    assert survivor.run('systemctl stop etcd && mv /var/lib/etcd/tmi /var/lib/etcd/tmi.lost-%s' % tag).rc == 0

    started = time.monotonic()
    output = ' '.join(run_playbook('dr_rebuild.yml').split())
    drill['measured']['rebuild_seconds'] = round(time.monotonic() - started, 1)
    assert 'Validation of tmi: schema valid' in output
    assert "TMI login (.env settings, TLS): ok" in output

    found = wait_for('a leader and a synchronous standby', leader_and_synchronous_standby, 180)
    new_leader = [name for name, m in found.items() if m['Role'] == 'Leader'][0]
    for name in DB_MEMBERS:
        assert emails(hosts[name], name, tag) == set('%s-%d@example.org' % (tag, n) for n in range(20)), name
    conn = connect(env)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('INSERT INTO users (email, name) VALUES (%s, %s)', ('%s-later@example.org' % tag, 'after the rebuild'))
    conn.close()
    result = hosts[new_leader].run(PGBACKREST + 'check')
    assert result.rc == 0, result.stdout + result.stderr

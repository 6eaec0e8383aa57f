# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `molecule verify` checks of the Patroni cluster (issue 12): two members, one leader and one synchronous
standby, running with the settings the server, ssl and pg_hba roles handed over, and nothing of theirs left in
files that Patroni would override."""

import json
import os
import subprocess

import pytest

from ha_writer import PATRONICTL as PATRONICTL_ARGV
from ha_writer import CONF_DIR, DATA_DIR, PATRONI_CONFIG, PATRONI_UNIT, PG_VERSION, drill_only

DB_MEMBERS = {"tmi-ha-1": 25451, "tmi-ha-2": 25452}
# The drill's patronictl command line, for host.run.
PATRONICTL = ' '.join(PATRONICTL_ARGV) + ' '
SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p %s -d %s -c %s"


def cluster(host):
    result = host.run(PATRONICTL + 'list -f json')
    assert result.rc == 0, result.stderr
    return dict((m['Member'], m) for m in json.loads(result.stdout))


def rows(host, sql, database='postgres'):
    result = host.run(SQL, str(DB_MEMBERS[host.backend.host]), database, sql)
    assert result.rc == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_one_leader_and_one_synchronous_standby_streaming(hosts):
    members = cluster(hosts['tmi-ha-1'])
    assert sorted(members) == sorted(DB_MEMBERS)
    roles = sorted(m['Role'] for m in members.values())
    assert roles == ['Leader', 'Sync Standby'], members
    assert all(m['State'] in ('running', 'streaming') for m in members.values()), members
    assert all(m.get('Lag in MB', 0) in (0, '', None) for m in members.values()), members


@pytest.mark.parametrize('member', sorted(DB_MEMBERS))
def test_patroni_runs_under_systemd_and_owns_the_cluster(hosts, member):
    host = hosts[member]
    service = host.service(PATRONI_UNIT)
    assert service.is_running and service.is_enabled
    assert not host.service('postgresql@%s-main' % PG_VERSION).is_running
    assert host.file(CONF_DIR + '/start.conf').content_string.strip() == 'manual'
    # postgresql-common still knows the cluster: the other roles and the operator's tools find it.
    listed = json.loads(host.check_output('pg_lsclusters --json'))
    assert [(str(c['version']), c['cluster'], c['pgdata']) for c in listed] == [(PG_VERSION, 'main', DATA_DIR)]
    config = host.file(PATRONI_CONFIG)
    assert (config.user, config.group, config.mode) == ('postgres', 'postgres', 0o600)


@pytest.mark.parametrize('member', sorted(DB_MEMBERS))
def test_the_roles_settings_reach_postgresql_through_patroni(hosts, member):
    host = hosts[member]
    names = ('ssl', 'log_connections', 'password_encryption', 'max_connections', 'shared_preload_libraries', 'port',
             'cluster_name', 'log_directory')
    settings = dict(line.split('|', 1) for line in rows(
        host, "SELECT name || '|' || setting FROM pg_settings WHERE name IN (%s)" % ', '.join("'%s'" % n for n in names)))
    assert settings['ssl'] == 'on'
    assert settings['log_connections'] == 'on'
    assert settings['password_encryption'] == 'scram-sha-256'
    assert settings['max_connections'] == '100'
    assert 'pgaudit' in settings['shared_preload_libraries']
    assert settings['port'] == str(DB_MEMBERS[member])
    assert settings['cluster_name'] == 'tmi'
    assert settings['log_directory'] == '/var/log/postgresql/%s-main' % PG_VERSION
    # No drop-in of ours: Patroni's file is the only place the settings are written.
    assert host.run('ls %s/conf.d/ 2>/dev/null' % CONF_DIR).stdout.split() == []


def test_pg_hba_is_the_same_on_both_members_tls_only_with_replication_from_the_members(hosts):
    texts = [hosts[m].file(CONF_DIR + '/pg_hba.conf').content_string for m in sorted(DB_MEMBERS)]
    rules = [[' '.join(line.split()) for line in text.splitlines() if line.strip() and not line.startswith('#')] for text in texts]
    assert rules[0] == rules[1]
    assert 'local all postgres peer' in rules[0]
    assert 'hostssl replication tmi_replication 127.0.0.1/32 scram-sha-256' in rules[0]
    assert 'local replication tmi_replication scram-sha-256' in rules[0]
    # The monitoring role's lines, handed over by the pg_hba role with the others.
    assert 'hostssl tmi tmi_monitor 127.0.0.1/32 scram-sha-256' in rules[0]
    assert not [r for r in rules[0] if r.split()[0] in ('host', 'hostnossl') or r.split()[-1] in ('trust', 'md5', 'password')]


def test_every_member_reports_its_timeline_so_patroni_reaches_its_own_postgresql(hosts):
    # A standby's timeline comes from Patroni's replication connection to its own PostgreSQL; when pg_hba
    # refuses that connection the member shows no timeline (and the refusal floods the server log).
    members = cluster(hosts['tmi-ha-1'])
    assert sorted(members) == sorted(DB_MEMBERS)
    assert [name for name, member in members.items() if not member.get('TL')] == []


def test_the_replication_and_rewind_roles_have_nothing_more_than_they_need(hosts):
    leader = hosts['tmi-ha-1'] if cluster(hosts['tmi-ha-1'])['tmi-ha-1']['Role'] == 'Leader' else hosts['tmi-ha-2']
    replication = rows(leader, "SELECT rolcanlogin, rolreplication, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
                               "rolinherit, rolconnlimit FROM pg_roles WHERE rolname = 'tmi_replication'")
    assert replication == ['t|t|f|f|f|f|f|5']
    rewind = rows(leader, "SELECT rolcanlogin, rolreplication, rolsuper, rolcreaterole FROM pg_roles WHERE rolname = 'tmi_rewind'")
    assert rewind == ['t|f|f|f']


def test_the_standby_refuses_writes(hosts):
    members = cluster(hosts['tmi-ha-1'])
    standby = [name for name, m in members.items() if m['Role'] != 'Leader'][0]
    result = hosts[standby].run(SQL, str(DB_MEMBERS[standby]), 'tmi', 'CREATE TABLE no_write (a int)')
    assert result.rc != 0
    assert 'read-only transaction' in result.stderr


def postmaster_start(host):
    return rows(host, 'SELECT pg_postmaster_start_time()')[0]


def site(*extra, **expect):
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], 'playbooks', 'site.yml')]
    for value in extra:
        argv += ['-e', json.dumps(value)]
    result = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, NO_COLOR='1'), check=False)
    assert result.returncode == expect.get('rc', 0), result.stdout[-4000:] + result.stderr[-2000:]
    return result.stdout + result.stderr


@drill_only
def test_site_applies_a_reload_change_without_a_restart_and_only_flags_a_restart_change(hosts):
    started = dict((m, postmaster_start(hosts[m])) for m in DB_MEMBERS)
    try:
        output = site({'server_settings': {'work_mem': '8MB'}, 'server_max_connections': 120})
        for member in DB_MEMBERS:
            host = hosts[member]
            assert rows(host, "SELECT setting FROM pg_settings WHERE name = 'work_mem'") == ['8192']
            # max_connections is Patroni's shared setting: patched in etcd, applied at the next restart only.
            assert rows(host, "SELECT setting, pending_restart FROM pg_settings WHERE name = 'max_connections'") == ['100|t']
            assert postmaster_start(host) == started[member], 'site.yml restarted %s' % member
        assert 'Patch the shared settings that differ' in output
    finally:
        site()
    for member in DB_MEMBERS:
        assert rows(hosts[member], "SELECT setting FROM pg_settings WHERE name = 'work_mem'") == ['4096']


def test_archiving_without_a_repository_host_and_logical_backups_are_refused_under_patroni(hosts):
    before = hosts['tmi-ha-1'].file(PATRONI_CONFIG).md5sum
    output = site({'wal_archive_repo_host': '', 'tmi_postgresql_backup_enabled': True}, rc=2)
    assert 'every member archives to the same pgBackRest repository, on a repository host' in output
    assert 'The nightly logical backups of a Patroni cluster are not there yet' in output
    assert 'Nothing was changed.' in output
    assert hosts['tmi-ha-1'].file(PATRONI_CONFIG).md5sum == before


def test_failover_yml_refuses_while_etcd_has_a_quorum_and_changes_nothing(hosts):
    # Imported here: ha_writer needs the scenario's environment, which only verify sets.
    from ha_writer import leader, run_playbook
    before = leader('tmi-ha-1')
    standby = [m for m in DB_MEMBERS if m != before][0]
    output = ' '.join(run_playbook('failover.yml', expect_rc=2, patroni_failover_candidate=standby,
                                   patroni_failover_confirm='tmi').split())
    assert ('etcd answers on tmi-ha-1, tmi-ha-2 (it has a quorum) and %s holds the leader key: Patroni decides'
            % before) in output
    assert '%s runs as a primary already' % before in output
    assert 'Nothing was changed.' in output
    assert leader('tmi-ha-1') == before
    for member in DB_MEMBERS:
        assert hosts[member].service(PATRONI_UNIT).is_running
        assert hosts[member].service(PATRONI_UNIT).is_enabled
        assert rows(hosts[member], 'SELECT pg_is_in_recovery()') == ['f' if member == before else 't']
        assert not hosts[member].file(DATA_DIR + '.failover').exists
    stat = hosts['tmi-ha-3'].run("echo 'show stat' | python3 -c \"%s\"" % PROXY_STAT)
    assert stat.rc == 0, stat.stderr
    assert 'no check' not in stat.stdout and 'MAINT' not in stat.stdout, stat.stdout


# Reads `show stat` from HAProxy's admin socket (no socat on the proxy host).
PROXY_STAT = ("import socket; s = socket.socket(socket.AF_UNIX); s.connect('/run/haproxy/admin.sock'); "
              "s.sendall(b'show stat\\n'); print(s.makefile().read())")

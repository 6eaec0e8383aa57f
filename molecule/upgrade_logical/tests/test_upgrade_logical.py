# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two hosts after upgrade_logical.yml moved TMI from 15 (source) to 17 (target) (molecule/upgrade_logical).

The tests run once each (they reach both containers themselves, not through the `host` fixture), in file order:
the writer's rows and the pause, the state of both hosts, then the refusals (each changing nothing), then the
confirmation, or with TMI_UPGRADE_LOGICAL_WAY_BACK=1 the way back instead (one cut-over has one end).
"""

import json
import os
import re
import subprocess
import sys

import pytest
import testinfra

SOURCE, TARGET = 'tmi-ul-debian12', 'tmi-ul-debian13'
PORTS = {SOURCE: '27432', TARGET: '27442'}
SUMMARY = '/var/lib/postgresql/tmi-logical-upgrade.json'
EPHEMERAL = os.environ.get('MOLECULE_EPHEMERAL_DIRECTORY', '')
WRITER_LOG = os.path.join(EPHEMERAL, 'writer.jsonl')
PAUSE_FILE = os.path.join(EPHEMERAL, 'write-pause.json')
WAY_BACK = os.environ.get('TMI_UPGRADE_LOGICAL_WAY_BACK', '') not in ('', '0')


def on(name):
    return testinfra.get_host('docker://' + name)


def sql(name, statement):
    return on(name).check_output("runuser -u postgres -- psql -X -A -t -q -p %s -d tmi -c %s", PORTS[name], statement)


def playbook(name, *extra):
    """Run one of the collection's playbooks against the scenario's inventory; return (rc, output)."""
    env = dict(os.environ)
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.venv', 'collections')
    env['NO_COLOR'] = '1'
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               '-i', os.environ['MOLECULE_INVENTORY_FILE'], 'tmi.postgresql.' + name] + list(extra)
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=1800, check=False)
    return result.returncode, result.stdout


def upgrade_logical(*extra):
    return playbook('upgrade_logical', *extra)


def writer_log():
    with open(WRITER_LOG) as f:
        return [json.loads(line) for line in f if line.strip()]


def snapshot():
    """What the refusals must leave alone on both hosts."""
    return (sql(SOURCE, "SELECT rolcanlogin FROM pg_roles WHERE rolname IN ('tmi_app', 'tmi_upgrade_repl') ORDER BY 1"),
            sql(SOURCE, 'SELECT count(*) FROM users'), sql(TARGET, 'SELECT count(*) FROM users'),
            sql(SOURCE, 'SELECT pubname FROM pg_publication'), sql(TARGET, 'SELECT subname FROM pg_subscription'),
            on(SOURCE).file('/etc/tmi/tmi.env').content_string)


def test_every_acknowledged_row_is_on_the_target_and_the_pause_is_recorded():
    events = writer_log()
    acks = [e for e in events if 'ack' in e]
    refused = [e for e in events if 'refused' in e]
    on_source = [e for e in acks if e['at'].endswith(':' + PORTS[SOURCE])]
    on_target = [e for e in acks if e['at'].endswith(':' + PORTS[TARGET])]
    assert on_source and on_target, 'the writer wrote on both hosts'
    emails = set(sql(TARGET, "SELECT email FROM users WHERE email LIKE 'w%@writer.test'").splitlines())
    lost = [e['ack'] for e in acks if e['ack'] not in emails]
    pause = on_target[0]['t'] - on_source[-1]['t']
    record = {'acknowledged': len(acks), 'acknowledged_on_source': len(on_source),
              'acknowledged_on_target': len(on_target), 'lost': len(lost),
              'refused_attempts': len(refused), 'pause_seconds': round(pause, 3),
              'last_ack_on_source': on_source[-1]['t'], 'first_ack_on_target': on_target[0]['t']}
    with open(PAUSE_FILE, 'w') as f:
        json.dump(record, f, indent=2)
    print('\nwrite pause: %s' % json.dumps(record))
    assert lost == []
    assert on_source[-1]['t'] < on_target[0]['t']


def test_the_target_runs_17_with_a_valid_schema_and_the_summary_names_the_way_back():
    assert sql(TARGET, 'SHOW server_version_num').startswith('17')
    summary = json.loads(on(SOURCE).file(SUMMARY).content_string)
    print('\nsummary: %s' % json.dumps(summary))
    assert (str(summary['from_version']), str(summary['to_version'])) == ('15', '17')
    assert summary['schema_valid'] in (True, 'True', 'true')
    assert 'logical_upgrade_back=true' in summary['way_back']
    assert float(summary['seconds_pause']) > 0


def test_the_source_is_intact_with_tmi_app_nologin():
    assert sql(SOURCE, 'SHOW server_version_num').startswith('15')
    assert sql(SOURCE, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tmi_app'") == 'f'
    assert sql(SOURCE, "SELECT count(*) FROM users WHERE email LIKE '%@upgrade.test'") == '1000'
    assert sql(TARGET, "SELECT count(*) FROM users WHERE email LIKE '%@upgrade.test'") == '1000'
    for table in ('threat_models', 'user_providers'):
        query = 'SELECT count(*) FROM %s' % table
        assert sql(SOURCE, query) == sql(TARGET, query), table


def test_tmi_env_on_the_source_names_the_target():
    env = on(SOURCE).file('/etc/tmi/tmi.env')
    assert env.mode == 0o600
    assert 'POSTGRES_PORT=%s' % PORTS[TARGET] in env.content_string.splitlines()


def test_the_subscription_and_its_slot_are_gone_and_no_password_is_in_the_catalog():
    assert sql(TARGET, 'SELECT count(*) FROM pg_subscription') == '0'
    assert sql(SOURCE, 'SELECT count(*) FROM pg_replication_slots') == '0'
    passfile = on(TARGET).file('/var/lib/postgresql/tmi-logical-upgrade/pgpass')
    assert passfile.mode == 0o600 and passfile.user == 'postgres'


def test_a_second_cutover_is_refused_and_changes_nothing():
    before = snapshot()
    rc, out = upgrade_logical('-e', 'logical_upgrade_cutover=true')
    assert rc != 0 and 'cut-over to 17 is done' in out and 'Nothing was changed.' in out, out[-3000:]
    assert snapshot() == before


def test_a_downgrade_is_refused_and_changes_nothing():
    before = snapshot()
    rc, out = upgrade_logical('-e', 'logical_upgrade_version=13')
    assert rc != 0 and 'a downgrade' in out and 'Nothing was changed.' in out, out[-3000:]
    assert snapshot() == before


def test_site_yml_on_the_source_is_refused_and_changes_nothing():
    before = snapshot()
    rc, out = playbook('site', '--limit', SOURCE)
    assert rc != 0 and 'moved TMI' in out and 'Nothing was changed.' in out, out[-3000:]
    assert snapshot() == before


def test_the_way_back_in_check_mode_prints_the_plan_and_runs_no_later_play():
    # Without the plan set aside, back.yml ran in check mode on the source (tmi_app LOGIN and .env reported changed).
    before = snapshot()
    rc, out = upgrade_logical('--check', '-e', 'logical_upgrade_back=true')
    assert rc == 0 and 'Going back to %s' % SOURCE in out, out[-3000:]
    assert set(re.findall(r'changed=(\d+)', out)) == {'0'}, out[-3000:]
    assert snapshot() == before


@pytest.mark.skipif(not WAY_BACK, reason='TMI_UPGRADE_LOGICAL_WAY_BACK is not set: this run confirms the upgrade')
def test_the_way_back_lets_tmi_write_on_the_source_again():
    rc, out = upgrade_logical('-e', 'logical_upgrade_back=true')
    assert rc == 0, out[-3000:]
    assert sql(SOURCE, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tmi_app'") == 't'
    assert 'POSTGRES_PORT=%s' % PORTS[SOURCE] in on(SOURCE).file('/etc/tmi/tmi.env').content_string.splitlines()
    assert not on(SOURCE).file(SUMMARY).exists
    assert on(SOURCE).check_output('ls %s.back-*', SUMMARY)
    # Only the tasks tagged always run: site.yml's checks, the moved-away one among them.
    rc, out = playbook('site', '--limit', SOURCE, '--tags', 'tmi-no-such-tag')
    assert rc == 0, out[-3000:]
    before = snapshot()
    for flag in ('logical_upgrade_back', 'logical_upgrade_confirm'):
        rc, out = upgrade_logical('-e', flag + '=true')
        assert rc != 0 and 'no finished cut-over' in out and 'Nothing was changed.' in out, (flag, out[-3000:])
    assert snapshot() == before


@pytest.mark.skipif(WAY_BACK, reason='TMI_UPGRADE_LOGICAL_WAY_BACK is set: this run went back instead')
def test_confirm_drops_the_publication_and_the_replication_role():
    rc, out = upgrade_logical('-e', 'logical_upgrade_confirm=true')
    assert rc == 0, out[-3000:]
    assert sql(SOURCE, 'SELECT count(*) FROM pg_publication') == '0'
    assert sql(SOURCE, "SELECT count(*) FROM pg_roles WHERE rolname = 'tmi_upgrade_repl'") == '0'
    assert 'tmi_upgrade_repl' not in on(SOURCE).file('/etc/postgresql/15/main/pg_hba.conf').content_string
    assert sql(SOURCE, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tmi_app'") == 'f'
    rc, out = upgrade_logical('-e', 'logical_upgrade_confirm=true')
    assert rc == 0 and 'confirmed already' in out, out[-3000:]
    # The source keeps TMI's data: site.yml still refuses it (only its checks run here).
    rc, out = playbook('site', '--limit', SOURCE, '--tags', 'tmi-no-such-tag')
    assert rc != 0 and 'moved TMI' in out, out[-3000:]

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host after upgrade_major.yml took it from PostgreSQL 15 to 17 in place (molecule/upgrade).

The tests run in file order: the refusals (each changing nothing) before the confirmation that drops 15.
"""

import json
import os
import subprocess
import sys

PORT = '23432'
SUMMARY = '/var/lib/postgresql/tmi-major-upgrade-main.json'


def clusters(host):
    listing = json.loads(host.check_output('pg_lsclusters --json'))
    return {int(c['version']): (str(c['port']), int(c['running'])) for c in listing if c['cluster'] == 'main'}


def sql(host, statement, port=PORT):
    return host.check_output("runuser -u postgres -- psql -X -A -t -q -p %s -d tmi -c %s", port, statement)


def upgrade_major(*extra):
    """Run playbooks/upgrade_major.yml against the scenario's inventory; return (rc, output)."""
    env = dict(os.environ)
    env['ANSIBLE_COLLECTIONS_PATH'] = os.path.join(os.environ['MOLECULE_PROJECT_DIRECTORY'], '.venv', 'collections')
    env['NO_COLOR'] = '1'
    command = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'),
               '-i', os.environ['MOLECULE_INVENTORY_FILE'], 'tmi.postgresql.upgrade_major'] + list(extra)
    result = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=900, check=False)
    return result.returncode, result.stdout


def test_17_runs_on_the_old_port_and_15_is_kept_stopped_on_another(host):
    found = clusters(host)
    assert found[17] == (PORT, 1)
    assert found[15][1] == 0 and found[15][0] != PORT
    assert host.file('/var/lib/postgresql/15/main/PG_VERSION').content_string.strip() == '15'
    assert sql(host, 'SHOW server_version_num').startswith('17')


def test_every_row_is_there(host):
    assert sql(host, "SELECT count(*) FROM users WHERE email LIKE '%@upgrade.test'") == '1000'


def test_the_summary_says_valid_and_names_the_way_back(host):
    summary = json.loads(host.file(SUMMARY).content_string)
    assert (str(summary['from_version']), str(summary['to_version'])) == ('15', '17')
    assert summary['schema_valid'] in (True, 'True', 'true')
    assert 'backup' in summary['way_back']
    assert summary['backup_file']


def test_the_stanza_is_upgraded_to_17(host):
    info = json.loads(host.check_output(
        'runuser -u postgres -- pgbackrest --stanza=tmi --output=json info'))
    databases = info[0]['db']
    assert max(databases, key=lambda db: db['id'])['version'] == '17'
    assert info[0]['status']['code'] == 0
    newest = info[0]['backup'][-1]
    assert newest['type'] == 'full' and newest['database']['id'] == max(db['id'] for db in databases)


def test_tmi_env_points_at_the_upgraded_cluster(host):
    assert 'POSTGRES_PORT=%s' % PORT in host.file('/etc/tmi/tmi.env').content_string.splitlines()


def refused(host, words, *extra):
    before = clusters(host)
    rc, output = upgrade_major(*extra)
    assert rc != 0, output[-3000:]
    assert 'Nothing was changed.' in output, output[-3000:]
    for word in words:
        assert word in output, output[-3000:]
    assert clusters(host) == before


def test_a_downgrade_to_15_is_refused_and_changes_nothing(host):
    refused(host, ['a downgrade is not possible', 'tmi_postgresql_version is 15'], '-e', 'tmi_postgresql_version=15')


def test_an_unconfirmed_upgrade_is_refused_and_changes_nothing(host):
    refused(host, ['is not confirmed', 'major_upgrade_confirm=true'], '-e', 'tmi_postgresql_version=17')


def test_an_unfinished_upgrade_with_the_new_cluster_down_is_refused_even_with_confirm(host):
    host.check_output('pg_ctlcluster 17 main stop')
    try:
        refused(host, ['unfinished', 'new cluster 17/main is down'],
                '-e', 'tmi_postgresql_version=17', '-e', 'major_upgrade_confirm=true')
    finally:
        host.check_output('pg_ctlcluster 17 main start')


def test_the_confirmation_drops_15_and_a_second_one_changes_nothing(host):
    rc, output = upgrade_major('-e', 'tmi_postgresql_version=17', '-e', 'major_upgrade_confirm=true')
    assert rc == 0, output[-3000:]
    assert clusters(host) == {17: (PORT, 1)}
    assert not host.file('/var/lib/postgresql/15/main').exists
    rc, output = upgrade_major('-e', 'tmi_postgresql_version=17', '-e', 'major_upgrade_confirm=true')
    assert rc == 0 and 'changed=0' in output, output[-3000:]
    assert sql(host, "SELECT count(*) FROM users WHERE email LIKE '%@upgrade.test'") == '1000'

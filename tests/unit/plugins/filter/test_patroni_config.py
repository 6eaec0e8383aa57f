import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.patroni_config import (
    conf_settings,
    dcs_changes,
    hba_rules,
    patroni_config,
    patroni_members,
)

SERVER_DROPIN = """# Ansible managed
# Settings of tmi.postgresql.server for cluster 15/main.
listen_addresses = 'localhost,10.0.0.1'
log_line_prefix = '%m [%p] %q[%l-1] user=%u,db=%d,app=%a,client=%h '
logging_collector = on
max_connections = '100'
port = '5432'
unix_socket_directories = '/var/run/postgresql'
"""
SSL_DROPIN = """# TLS settings
ssl = on
ssl_cert_file = '/etc/postgresql/15/main/tls/server.crt'
ssl_passphrase_command = '/bin/cat /etc/tmi-postgresql/tls-passphrase/15-main/server.key.pass'
"""
HBA = """# Client authentication
# TYPE   DATABASE  USER  ADDRESS  METHOD
local    all       postgres       peer

hostssl  "tmi"  "tmi_app"  10.0.0.0/24  scram-sha-256   # TMI
"""


def settings(**changes):
    base = {
        'scope': 'tmi', 'namespace': '/service/', 'name': 'db1', 'port': 5432, 'connect_host': 'db1',
        'data_dir': '/var/lib/postgresql/15/main', 'config_dir': '/etc/postgresql/15/main',
        'bin_dir': '/usr/lib/postgresql/15/bin', 'pgpass': '/var/lib/postgresql/15-main.pgpass',
        'custom_conf': '/etc/postgresql/15/main/tmi-patroni-base.conf',
        'dropins': [{'name': '10-tmi-server.conf', 'content': SERVER_DROPIN},
                    {'name': '20-tmi-ssl.conf', 'content': SSL_DROPIN}],
        'hba': HBA,
        'members': [{'name': 'db1', 'address': '10.0.0.1'}, {'name': 'db2', 'address': '10.0.0.2'}],
        'restapi': {'listen': '10.0.0.1:8008', 'connect_address': 'db1:8008'},
        'etcd3': {'hosts': ['e1:2379'], 'protocol': 'https'},
        'dcs': {'ttl': 30, 'loop_wait': 10, 'postgresql': {'use_pg_rewind': True}},
        'initdb': [{'encoding': 'UTF8'}, 'data-checksums'],
        'replication': {'username': 'tmi_replication', 'password': 'r', 'sslmode': 'require'},
        'rewind': {'username': 'tmi_rewind', 'password': 'w', 'sslmode': 'require'},
        'replica_methods': [{'name': 'basebackup', 'checkpoint': 'fast'}],
    }
    base.update(changes)
    return base


def test_conf_settings_reads_quoted_bare_and_commented_values():
    assert conf_settings("a = 'it''s # not a comment'  # a comment\nb = on\nc 5\n# d = 1\n") == {
        'a': "it's # not a comment", 'b': 'on', 'c': '5'}


@pytest.mark.parametrize('line, message', [
    ("a = 'open", 'line 1: the value of a is not a closed quoted string'),
    ("a = 'x' y", 'line 1: the value of a is not a closed quoted string'),
    ('a = two words', 'line 1: a has no value'),
    ("include_dir = 'conf.d'", 'line 1: include_dir cannot be handed to Patroni'),
    ('= 5', 'line 1: not a setting line'),
])
def test_conf_settings_names_the_file_and_line_it_cannot_read(line, message):
    with pytest.raises(AnsibleFilterError, match=message):
        conf_settings(line, '10-tmi-server.conf')
    with pytest.raises(AnsibleFilterError, match='^10-tmi-server.conf, '):
        conf_settings(line, '10-tmi-server.conf')


def test_hba_rules_keep_the_rule_lines_only():
    assert hba_rules(HBA) == ['local all postgres peer', 'hostssl "tmi" "tmi_app" 10.0.0.0/24 scram-sha-256']


def test_shared_settings_go_to_the_dcs_and_the_member_keeps_the_rest():
    built = patroni_config(settings())
    parameters = built['config']['postgresql']['parameters']
    assert built['dcs']['postgresql']['parameters'] == {'max_connections': '100'}
    assert built['config']['bootstrap']['dcs'] is built['dcs']
    assert 'max_connections' not in parameters
    assert 'listen_addresses' not in parameters and 'port' not in parameters
    assert parameters['ssl'] == 'on'
    assert parameters['ssl_passphrase_command'].startswith('/bin/cat ')
    assert parameters['log_line_prefix'].endswith('client=%h ')
    assert built['dcs']['postgresql']['use_pg_rewind'] is True


def test_listen_and_connect_address_come_from_the_server_settings():
    postgresql = patroni_config(settings())['config']['postgresql']
    assert postgresql['listen'] == 'localhost,10.0.0.1:5432'
    assert postgresql['connect_address'] == 'db1:5432'
    assert postgresql['custom_conf'] == '/etc/postgresql/15/main/tmi-patroni-base.conf'


def test_a_later_dropin_wins_as_in_conf_d():
    later = {'name': '30-extra.conf', 'content': "max_connections = 300\nwork_mem = '8MB'\n"}
    built = patroni_config(settings(dropins=settings()['dropins'] + [later]))
    assert built['dcs']['postgresql']['parameters']['max_connections'] == '300'
    assert built['config']['postgresql']['parameters']['work_mem'] == '8MB'


def test_members_may_replicate_and_rewind_over_tls_only_and_patroni_over_its_socket():
    built = patroni_config(settings())['config']['postgresql']
    rules = built['pg_hba']
    assert rules[:2] == hba_rules(HBA)
    assert built['use_unix_socket_repl'] is True
    assert rules[2:] == [
        'local replication tmi_replication scram-sha-256',
        'hostssl replication tmi_replication 10.0.0.1/32 scram-sha-256',
        'hostssl postgres tmi_rewind 10.0.0.1/32 scram-sha-256',
        'hostssl replication tmi_replication 10.0.0.2/32 scram-sha-256',
        'hostssl postgres tmi_rewind 10.0.0.2/32 scram-sha-256',
    ]


def test_without_a_rewind_role_no_rewind_rule_nor_user():
    built = patroni_config(settings(rewind=None, members=[{'name': 'db1', 'address': 'fd00::1'}]))
    assert built['config']['postgresql']['pg_hba'][-1] == 'hostssl replication tmi_replication fd00::1/128 scram-sha-256'
    assert 'rewind' not in built['config']['postgresql']['authentication']


def test_replica_methods_keep_their_order_and_options():
    methods = [{'name': 'pgbackrest', 'command': '/usr/bin/pgbackrest restore', 'no_params': True},
               {'name': 'basebackup', 'checkpoint': 'fast'}]
    postgresql = patroni_config(settings(replica_methods=methods))['config']['postgresql']
    assert postgresql['create_replica_methods'] == ['pgbackrest', 'basebackup']
    assert postgresql['pgbackrest'] == {'command': '/usr/bin/pgbackrest restore', 'no_params': True}
    assert postgresql['basebackup'] == {'checkpoint': 'fast'}


def test_restore_command_goes_to_recovery_conf_not_to_the_parameters():
    archive = {'name': '20-tmi-wal-archive.conf',
               'content': "archive_mode = on\nrestore_command = 'pgbackrest --stanza=tmi archive-get %f \"%p\"'\n"}
    postgresql = patroni_config(settings(dropins=settings()['dropins'] + [archive]))['config']['postgresql']
    assert postgresql['recovery_conf'] == {'restore_command': 'pgbackrest --stanza=tmi archive-get %f "%p"'}
    assert 'restore_command' not in postgresql['parameters']
    assert postgresql['parameters']['archive_mode'] == 'on'


def test_without_recovery_settings_no_recovery_conf():
    assert 'recovery_conf' not in patroni_config(settings())['config']['postgresql']


def test_initdb_options_go_to_the_bootstrap():
    assert patroni_config(settings())['config']['bootstrap']['initdb'] == [{'encoding': 'UTF8'}, 'data-checksums']


@pytest.mark.parametrize('name', ['hba_file', 'data_directory', 'primary_conninfo', 'recovery_target_time'])
def test_a_setting_patroni_owns_is_refused(name):
    dropin = {'name': '30-extra.conf', 'content': "%s = '/tmp/x'\n" % name}
    with pytest.raises(AnsibleFilterError, match='Patroni sets %s itself' % name):
        patroni_config(settings(dropins=[dropin]))


def test_a_missing_input_is_named():
    with pytest.raises(AnsibleFilterError, match='missing connect_host, restapi'):
        patroni_config(settings(connect_host='', restapi=None))


def test_a_member_without_address_is_named():
    with pytest.raises(AnsibleFilterError, match='member db2 has no address'):
        patroni_config(settings(members=[{'name': 'db2', 'address': ''}]))


def test_dcs_changes_compare_as_patroni_reads_values():
    current = {'ttl': 30, 'loop_wait': 10, 'synchronous_mode': True,
               'postgresql': {'use_pg_rewind': True, 'parameters': {'max_connections': 100, 'wal_level': 'replica'}}}
    wanted = {'ttl': '30', 'loop_wait': 5, 'synchronous_mode': 'on',
              'postgresql': {'use_pg_rewind': 'true', 'parameters': {'max_connections': '200'}}}
    assert dcs_changes(current, wanted) == {'loop_wait': 5, 'postgresql': {'parameters': {'max_connections': '200'}}}
    assert dcs_changes(current, {'ttl': 30, 'postgresql': {'parameters': {'max_connections': '100'}}}) == {}
    assert dcs_changes({}, {'synchronous_mode': False}) == {'synchronous_mode': False}


def test_members_come_from_the_inventory():
    hostvars = {'db1': {'patroni_member_address': '10.0.0.1', 'ansible_host': 'x'}, 'db2': {'ansible_host': '10.0.0.2'},
                'db3': {}, 'e1': {'etcd_client_port': 22379}}
    assert patroni_members(hostvars, ['db1', 'db2', 'db3']) == [
        {'name': 'db1', 'address': '10.0.0.1'}, {'name': 'db2', 'address': '10.0.0.2'}, {'name': 'db3', 'address': 'db3'}]


def test_a_member_address_that_is_a_name_is_refused():
    with pytest.raises(AnsibleFilterError, match='member db2: db2.example is not an IP address or network'):
        patroni_config(settings(members=[{'name': 'db2', 'address': 'db2.example'}]))

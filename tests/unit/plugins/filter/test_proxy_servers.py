import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.proxy_servers import proxy_servers

DEFAULTS = {'port': 5432, 'restapi_port': 8008}


def test_members_without_settings_get_their_name_and_the_defaults():
    assert proxy_servers({'db1': {}, 'db2': {}}, ['db1', 'db2'], DEFAULTS) == [
        {'name': 'db1', 'address': 'db1', 'port': 5432, 'check_port': 8008},
        {'name': 'db2', 'address': 'db2', 'port': 5432, 'check_port': 8008}]


def test_a_members_own_settings_win_and_strings_from_the_command_line_are_read_as_ports():
    hostvars = {'db1': {'patroni_connect_host': 'db1.internal', 'tmi_postgresql_port': '5433',
                        'patroni_restapi_port': 8010},
                'db2': {'ansible_host': '10.0.0.2'}}
    assert proxy_servers(hostvars, ['db2', 'db1'], DEFAULTS) == [
        {'name': 'db2', 'address': 'db2', 'port': 5432, 'check_port': 8008},
        {'name': 'db1', 'address': 'db1.internal', 'port': 5433, 'check_port': 8010}]


def test_an_empty_group_is_refused_naming_it():
    with pytest.raises(AnsibleFilterError, match='the group pg_ha .tmi_postgresql_hosts. has no host'):
        proxy_servers({}, [], DEFAULTS, 'pg_ha')


@pytest.mark.parametrize('variable, value', [
    ('tmi_postgresql_port', 0), ('tmi_postgresql_port', '70000'), ('patroni_restapi_port', 'http'),
    ('patroni_restapi_port', True), ('tmi_postgresql_port', 5432.5), ('patroni_restapi_port', None)])
def test_a_port_out_of_range_is_refused_naming_the_host_and_the_variable(variable, value):
    with pytest.raises(AnsibleFilterError, match='%s of db2 is' % variable):
        proxy_servers({'db1': {}, 'db2': {variable: value}}, ['db1', 'db2'], DEFAULTS)


@pytest.mark.parametrize('hostvars, message', [
    ({'db 1': {}}, "member name 'db 1'"),
    ({'db1': {'patroni_connect_host': 'db1 backup 10.0.0.9:5432'}}, 'patroni_connect_host of db1'),
    ({'db1': {'patroni_connect_host': 'db1"'}}, 'patroni_connect_host of db1')])
def test_names_and_addresses_haproxy_would_misread_are_refused(hostvars, message):
    with pytest.raises(AnsibleFilterError, match=message):
        proxy_servers(hostvars, list(hostvars), DEFAULTS)


def test_defaults_must_be_complete():
    with pytest.raises(AnsibleFilterError, match='defaults lack restapi_port'):
        proxy_servers({'db1': {}}, ['db1'], {'port': 5432})

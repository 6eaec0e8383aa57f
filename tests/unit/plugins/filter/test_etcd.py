import base64

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.etcd import (
    etcd_auth_requests, etcd_members, etcd_precondition_failed, prefix_range_end)

HOSTVARS = {
    'e1': {},
    'e2': {'etcd_client_port': 22389, 'etcd_peer_port': '22390'},
    'e3': {'etcd_client_port': 22399},
}


def b64(data):
    return base64.b64encode(data if isinstance(data, bytes) else data.encode()).decode()


def test_members_take_their_own_ports_else_the_defaults():
    members = etcd_members(HOSTVARS, ['e1', 'e2', 'e3'], {'client_port': 12379, 'peer_port': 12380})
    assert members[0] == {'name': 'e1', 'host': 'e1', 'client_port': 12379, 'peer_port': 12380,
                          'client_address': 'e1:12379', 'client_url': 'https://e1:12379',
                          'peer_url': 'https://e1:12380', 'initial_cluster': 'e1=https://e1:12380'}
    assert [(m['client_port'], m['peer_port']) for m in members] == [(12379, 12380), (22389, 22390), (22399, 12380)]
    assert ','.join(m['initial_cluster'] for m in members) == (
        'e1=https://e1:12380,e2=https://e2:22390,e3=https://e3:12380')


def test_without_defaults_the_ports_are_etcds():
    assert [m['client_url'] for m in etcd_members(HOSTVARS, ['e1', 'e3'])] == ['https://e1:2379', 'https://e3:22399']


@pytest.mark.parametrize('value', [0, 65536, 'abc', '', None, True, 2.5, '0x10'])
def test_a_bad_port_names_the_host_and_the_variable(value):
    with pytest.raises(AnsibleFilterError, match='etcd_peer_port of e1 is'):
        etcd_members({'e1': {'etcd_peer_port': value}}, ['e1'])


def test_the_same_port_twice_and_an_empty_group_are_errors():
    with pytest.raises(AnsibleFilterError, match='both 2379'):
        etcd_members({'e1': {'etcd_peer_port': 2379}}, ['e1'])
    with pytest.raises(AnsibleFilterError, match='no hosts'):
        etcd_members({}, [])


def test_the_range_end_of_a_prefix_is_its_last_byte_plus_one():
    assert prefix_range_end('/service/') == b'/service0'
    assert prefix_range_end('a\xff') == b'a\xc3\xc0'
    assert prefix_range_end(u'\u00ff') == b'\xc3\xc0'


USERS = [{'name': 'root', 'password': 'r00tpw', 'roles': ['root']},
         {'name': 'patroni', 'password': 'patpw', 'roles': ['patroni']}]
ROLES = [{'name': 'root'}, {'name': 'patroni', 'prefix': '/service/'}]
PERM = {'permType': 'READWRITE', 'key': b64('/service/'), 'range_end': b64('/service0')}


def read(kind, name, json=None):
    """A read's result: json None is a user or role that does not exist (412)."""
    return {'item': {'kind': kind, 'name': name}, 'status': 412 if json is None else 200, 'json': json or {}}


def login(name, ok):
    return {'item': {'name': name}, 'status': 200 if ok else 400}


CONVERGED = [read('user', 'root', {'roles': ['root']}), read('user', 'patroni', {'roles': ['patroni']}),
             read('role', 'root', {}), read('role', 'patroni', {'perm': [PERM]})]


def test_a_new_cluster_gets_everything_and_authentication_last():
    requests = etcd_auth_requests([read('user', 'root'), read('user', 'patroni'), read('role', 'root'),
                                   read('role', 'patroni')], USERS, ROLES, False)
    assert [(r['path'], r['body']) for r in requests] == [
        ('/v3/auth/role/add', {'name': 'root'}),
        ('/v3/auth/role/add', {'name': 'patroni'}),
        ('/v3/auth/role/grant', {'name': 'patroni', 'perm': PERM}),
        ('/v3/auth/user/add', {'name': 'root', 'password': 'r00tpw'}),
        ('/v3/auth/user/grant', {'user': 'root', 'role': 'root'}),
        ('/v3/auth/user/add', {'name': 'patroni', 'password': 'patpw'}),
        ('/v3/auth/user/grant', {'user': 'patroni', 'role': 'patroni'}),
        ('/v3/auth/enable', {}),
    ]
    assert all('pw' not in r['what'] for r in requests)


def test_a_converged_cluster_with_the_right_passwords_needs_nothing():
    assert etcd_auth_requests(CONVERGED, USERS, ROLES, True, [login('root', True), login('patroni', True)]) == []


def test_a_changed_password_is_set_again_and_only_that_one():
    requests = etcd_auth_requests(CONVERGED, USERS, ROLES, True, [login('root', True), login('patroni', False)])
    assert [(r['path'], r['body']) for r in requests] == [
        ('/v3/auth/user/changepw', {'name': 'patroni', 'password': 'patpw'})]


def test_with_authentication_off_existing_users_get_their_passwords_before_it_is_turned_on():
    # An interrupted first run: etcd checks no password while authentication is off.
    requests = etcd_auth_requests(CONVERGED, USERS, ROLES, False)
    assert [r['path'] for r in requests] == ['/v3/auth/user/changepw', '/v3/auth/user/changepw', '/v3/auth/enable']


def test_other_permissions_and_roles_are_taken_away():
    reads = [read('user', 'root', {'roles': ['root']}), read('user', 'patroni', {'roles': ['patroni', 'admin']}),
             read('role', 'root', {}),
             read('role', 'patroni', {'perm': [{'key': b64('/')}, PERM]})]
    requests = etcd_auth_requests(reads, USERS, ROLES, True, [login('root', True), login('patroni', True)])
    assert [(r['path'], r['body']) for r in requests] == [
        # A READ permission: the gateway leaves out permType and an empty range_end.
        ('/v3/auth/role/revoke', {'role': 'patroni', 'key': b64('/'), 'range_end': ''}),
        ('/v3/auth/user/revoke', {'name': 'patroni', 'role': 'admin'}),
    ]


def test_a_permission_on_another_prefix_is_replaced():
    reads = CONVERGED[:3] + [read('role', 'patroni', {'perm': [dict(PERM, key=b64('/old/'), range_end=b64('/old0'))]})]
    requests = etcd_auth_requests(reads, USERS, ROLES, True, [login('root', True), login('patroni', True)])
    assert [r['path'] for r in requests] == ['/v3/auth/role/revoke', '/v3/auth/role/grant']


# The gateway's answers to a login while authentication is off, as etcd 3.4 (Debian 12) and 3.5 (Debian 13) send them.
AUTH_OFF_34 = {'status': 412, 'json': {'error': 'etcdserver: authentication is not enabled', 'code': 9}}
AUTH_OFF_35 = {'status': 400, 'json': {'code': 9, 'message': 'etcdserver: authentication is not enabled'}}
WRONG_PASSWORD_35 = {'status': 400, 'json': {'code': 3, 'message': 'etcdserver: authentication failed, invalid user ID or password'}}


@pytest.mark.parametrize('answer,expected', [(AUTH_OFF_34, True), (AUTH_OFF_35, True), (WRONG_PASSWORD_35, False),
                                             ({'status': 200, 'json': {'token': 't'}}, False), ({'status': -1}, False)])
def test_failed_precondition_is_read_from_the_status_or_the_body(answer, expected):
    assert etcd_precondition_failed(answer) is expected


def test_a_user_etcd_3_5_does_not_have_is_added():
    missing = dict(read('user', 'patroni'), status=400, json={'code': 9, 'message': 'etcdserver: user name not found'})
    requests = etcd_auth_requests([CONVERGED[0], missing] + CONVERGED[2:], USERS, ROLES, True,
                                  [login('root', True), login('patroni', True)])
    assert [r['path'] for r in requests][:1] == ['/v3/auth/user/add']


def test_another_answer_to_a_read_is_an_error_naming_it():
    refused = dict(read('role', 'patroni'), status=400, json={'code': 7, 'message': 'etcdserver: permission denied'})
    with pytest.raises(AnsibleFilterError, match='answered the read of the role patroni with 400: etcdserver: permission denied'):
        etcd_auth_requests(CONVERGED[:3] + [refused], USERS, ROLES, True)


def test_an_empty_password_or_a_missing_read_is_an_error_of_the_play():
    with pytest.raises(AnsibleFilterError, match='password of etcd user patroni is empty'):
        etcd_auth_requests(CONVERGED, [USERS[0], dict(USERS[1], password='')], ROLES, True)
    with pytest.raises(AnsibleFilterError, match='no read of the role patroni'):
        etcd_auth_requests(CONVERGED[:3], USERS, ROLES, True)

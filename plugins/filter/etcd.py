# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.etcd_members and tmi.postgresql.etcd_auth_requests: the etcd cluster from the inventory, and
what the etcd role must send to etcd's HTTP gateway to bring its users and roles to the wanted ones.

Documentation: etcd_members.yml and etcd_auth_requests.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64

from ansible.errors import AnsibleFilterError

# Ports a member uses when its host variables set none (the role's defaults).
DEFAULT_PORTS = {'client_port': 2379, 'peer_port': 2380}
PORT_VARIABLES = (('client_port', 'etcd_client_port'), ('peer_port', 'etcd_peer_port'))
# gRPC's status code FailedPrecondition.
FAILED_PRECONDITION = 9


def _port(host, variable, value):
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = None
    if number is None or not 1 <= number <= 65535 or str(value).strip().lstrip('+') != str(number):
        raise AnsibleFilterError('%s of %s is %r: allowed: a whole number, 1 to 65535.' % (variable, host, value))
    return number


def etcd_members(hostvars, hosts, defaults=None):
    """One entry per host of hosts: its member name, ports and https URLs, each port from its own host
    variables, else defaults."""
    if not hosts:
        raise AnsibleFilterError('etcd_members: the etcd group has no hosts; put three (or another odd number) in it.')
    ports = dict(DEFAULT_PORTS)
    ports.update(defaults or {})
    members = []
    for host in hosts:
        variables = hostvars[host]
        member = {'name': host, 'host': host}
        for key, variable in PORT_VARIABLES:
            member[key] = _port(host, variable, variables.get(variable, ports[key]))
        if member['client_port'] == member['peer_port']:
            raise AnsibleFilterError('etcd_client_port and etcd_peer_port of %s are both %s: give them two ports.'
                                     % (host, member['client_port']))
        member['client_address'] = '%s:%d' % (host, member['client_port'])
        member['client_url'] = 'https://%s' % member['client_address']
        member['peer_url'] = 'https://%s:%d' % (host, member['peer_port'])
        member['initial_cluster'] = '%s=%s' % (host, member['peer_url'])
        members.append(member)
    return members


def _b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def prefix_range_end(prefix):
    """The range_end that makes a key range of every key that starts with prefix (etcdctl's --prefix)."""
    data = bytearray(prefix.encode('utf-8'))
    while data:
        if data[-1] < 0xff:
            data[-1] += 1
            return bytes(data)
        data.pop()
    # Every key: etcd's "\0".
    return b'\0'


def etcd_precondition_failed(answer):
    """Whether the gateway's answer is gRPC's FailedPrecondition: "authentication is not enabled", or a user or role
    that does not exist. etcd 3.4's gateway (Debian 12) sends it as HTTP 412, 3.5's (Debian 13) as 400; both put the
    gRPC code in the body."""
    return answer.get('status') == 412 or (answer.get('json') or {}).get('code') == FAILED_PRECONDITION


def _read(reads, kind, name):
    """The JSON of the read of this user or role, or None when etcd said it does not exist."""
    for read in reads:
        item = read.get('item') or {}
        if item.get('kind') == kind and item.get('name') == name:
            if read.get('status') == 200:
                return read.get('json') or {}
            if etcd_precondition_failed(read):
                return None
            body = read.get('json') or {}
            raise AnsibleFilterError('etcd_auth_requests: etcd answered the read of the %s %s with %s: %s' % (
                kind, name, read.get('status'), body.get('message') or body.get('error') or read.get('msg', '')))
    raise AnsibleFilterError('etcd_auth_requests: no read of the %s %s' % (kind, name))


def _wanted_perm(prefix):
    if not prefix:
        raise AnsibleFilterError('etcd_auth_requests: a role needs a non-empty key prefix')
    return {'permType': 'READWRITE', 'key': _b64(prefix),
            'range_end': base64.b64encode(prefix_range_end(prefix)).decode('ascii')}


def _same_perm(perm, wanted):
    # The gateway leaves out fields at their default: READ (0) and empty keys.
    return (perm.get('permType', 'READ') == wanted['permType'] and perm.get('key', '') == wanted['key']
            and perm.get('range_end', '') == wanted['range_end'])


def etcd_auth_requests(reads, users, roles, auth_enabled, logins=None):
    """The gateway requests (path and body, in order) that bring etcd's users and roles to users and roles,
    and turn authentication on when it is off. logins: the results of logging in as the users (status 200
    when the password is right)."""
    passwords_ok = dict(((login.get('item') or {}).get('name'), login.get('status') == 200)
                        for login in logins or [] if 'status' in login)
    requests = []
    for role in roles:
        name = role['name']
        current = _read(reads, 'role', name)
        if name == 'root':
            if current is None:
                requests.append({'path': '/v3/auth/role/add', 'body': {'name': name}, 'what': 'add role root'})
            continue
        wanted = _wanted_perm(role['prefix'])
        perms = [] if current is None else current.get('perm') or []
        if current is None:
            requests.append({'path': '/v3/auth/role/add', 'body': {'name': name}, 'what': 'add role %s' % name})
        for perm in perms:
            if not _same_perm(perm, wanted):
                requests.append({'path': '/v3/auth/role/revoke',
                                 'body': {'role': name, 'key': perm.get('key', ''), 'range_end': perm.get('range_end', '')},
                                 'what': 'revoke a permission of role %s' % name})
        if not any(_same_perm(perm, wanted) for perm in perms):
            requests.append({'path': '/v3/auth/role/grant', 'body': {'name': name, 'perm': wanted},
                             'what': 'let role %s read and write under %s' % (name, role['prefix'])})
    for user in users:
        name = user['name']
        if not user.get('password'):
            raise AnsibleFilterError('etcd_auth_requests: the password of etcd user %s is empty' % name)
        current = _read(reads, 'user', name)
        if current is None:
            requests.append({'path': '/v3/auth/user/add', 'body': {'name': name, 'password': user['password']},
                             'what': 'add user %s' % name})
            held = []
        else:
            held = current.get('roles') or []
            # With authentication off etcd cannot say whether the password is right: it is set again (only
            # before authentication is turned on, once).
            if not auth_enabled or not passwords_ok.get(name, False):
                requests.append({'path': '/v3/auth/user/changepw', 'body': {'name': name, 'password': user['password']},
                                 'what': 'set the password of user %s' % name})
        for role in held:
            if role not in user['roles']:
                requests.append({'path': '/v3/auth/user/revoke', 'body': {'name': name, 'role': role},
                                 'what': 'take role %s from user %s' % (role, name)})
        for role in user['roles']:
            if role not in held:
                requests.append({'path': '/v3/auth/user/grant', 'body': {'user': name, 'role': role},
                                 'what': 'give role %s to user %s' % (role, name)})
    if not auth_enabled:
        requests.append({'path': '/v3/auth/enable', 'body': {}, 'what': 'turn authentication on'})
    return requests


class FilterModule(object):
    def filters(self):
        return {'etcd_members': etcd_members, 'etcd_auth_requests': etcd_auth_requests,
                'etcd_precondition_failed': etcd_precondition_failed}

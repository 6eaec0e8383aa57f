# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.proxy_servers: HAProxy's server lines for the Patroni members, from the inventory.

The proxy (tmi.postgresql.proxy) runs on other hosts than the members; it reads
each member's own settings (where its PostgreSQL and its REST API listen)
from hostvars, with the same defaults the patroni role uses, so that the
operator writes each member once. Documentation: proxy_servers.yml beside
this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

DEFAULT_KEYS = ('port', 'restapi_port')
# What HAProxy takes as a server's name (and what may follow `verifyhost`).
NAME = re.compile(r'^[A-Za-z0-9_.:-]+$')
# A host name or an address: no blank, no quote, nothing HAProxy's parser would split on.
ADDRESS = re.compile(r'^[A-Za-z0-9_.:\[\]-]+$')


def _port(host, variable, value):
    if isinstance(value, bool):
        value = None
    try:
        number = int(str(value).strip()) if isinstance(value, (int, string_types)) else None
    except ValueError:
        number = None
    if number is None or not 1 <= number <= 65535:
        raise AnsibleFilterError('proxy_servers: %s of %s is %r: allowed: a whole number, 1 to 65535.'
                                 % (variable, host, value))
    return number


def proxy_servers(hostvars, hosts, defaults, group='tmi_postgresql'):
    """One entry per member of hosts: name, address (patroni_connect_host), port, check_port (the REST API)."""
    missing = [key for key in DEFAULT_KEYS if key not in (defaults or {})]
    if missing:
        raise AnsibleFilterError('proxy_servers: defaults lack %s' % ', '.join(missing))
    if not hosts:
        raise AnsibleFilterError('proxy_servers: the group %s (tmi_postgresql_hosts) has no host: the proxy has no '
                                 'PostgreSQL member to send TMI to.' % group)
    servers = []
    for host in hosts:
        variables = hostvars[host]
        if not NAME.match(host):
            raise AnsibleFilterError('proxy_servers: the member name %r cannot be an HAProxy server name (letters, '
                                     'digits, _ . : - only).' % host)
        address = str(variables.get('patroni_connect_host') or host).strip()
        if not ADDRESS.match(address):
            raise AnsibleFilterError('proxy_servers: patroni_connect_host of %s is %r, which is not a host name or an '
                                     'address.' % (host, address))
        servers.append({
            'name': host,
            'address': address,
            'port': _port(host, 'tmi_postgresql_port', variables.get('tmi_postgresql_port', defaults['port'])),
            'check_port': _port(host, 'patroni_restapi_port',
                                variables.get('patroni_restapi_port', defaults['restapi_port'])),
        })
    return servers


class FilterModule(object):
    def filters(self):
        return {'proxy_servers': proxy_servers}

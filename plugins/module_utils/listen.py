# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Listen addresses HOST:PORT of the exporters and of Prometheus: split, and whether one is loopback only.

Used by the filters of tmi.postgresql.monitoring (where an exporter listens)
and tmi.postgresql.prometheus (where Prometheus scrapes it, and listens).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress

LOOPBACK_NAMES = frozenset(('localhost', 'ip6-localhost', 'ip6-loopback'))


def split_listen(listen):
    """Return (host, port) of HOST:PORT or [V6]:PORT; raise ValueError saying why it is not one."""
    if not isinstance(listen, str) or not listen.strip():
        raise ValueError('not HOST:PORT')
    text = listen.strip()
    if text.startswith('['):
        host, sep, rest = text[1:].partition(']')
        if not sep or not rest.startswith(':'):
            raise ValueError('not [ADDRESS]:PORT')
        port = rest[1:]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise ValueError('%s is not an IPv6 address' % host)
    else:
        host, sep, port = text.rpartition(':')
        if not sep:
            raise ValueError('no port: write HOST:PORT')
        if ':' in host:
            raise ValueError('an IPv6 address goes in brackets: [ADDRESS]:PORT')
    if not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError('the port %s is not 1 to 65535' % (port or '(empty)'))
    return host, int(port)


def is_loopback(host):
    """True when host (an address or name, '' meaning every address) reaches this machine's loopback only."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        # '' (all addresses), 0.0.0.0 is handled above as an address; any other name may resolve anywhere.
        return False

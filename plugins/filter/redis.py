# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of tmi.postgresql.redis: the settings it refuses, and how a changed configuration is applied.

redis_setting_errors: one message per refused setting of the role.
redis_apply_plan: from the configuration file as it was and as written, what
the running server needs: nothing, the changed settings set at run time
(CONFIG SET) and the ACL file loaded again (ACL LOAD), or a restart.
redis_quote: a value as a double-quoted string of redis.conf.
Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils.listen import is_loopback
from ansible_collections.tmi.postgresql.plugins.plugin_utils.setting_names import check_setting_names

SETTINGS = frozenset((
    'redis_user', 'redis_admin_user', 'redis_bind', 'redis_port', 'redis_tls', 'redis_tls_port', 'redis_db',
    'redis_databases', 'redis_maxmemory', 'redis_maxmemory_policy', 'redis_save', 'redis_appendonly',
    'redis_acl_commands', 'redis_client_host'))
# A Redis ACL user name as the role writes it (no space, no ACL rule character).
USER_NAME = re.compile(r'[a-z_][a-z0-9_-]{0,62}')
HOST_NAME = re.compile(r'[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?')
# maxmemory: bytes, or a number with Redis's unit (1k = 1000, 1kb = 1024, ...).
MEMORY = re.compile(r'([0-9]+)(k|kb|m|mb|g|gb)?', re.IGNORECASE)
POLICIES = ('allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random',
            'volatile-ttl', 'noeviction')
# One ACL command rule: +name, -name, +name|sub, +@category or -@category.
ACL_COMMAND = re.compile(r'[+-](@[a-z]+|[a-z][a-z0-9_-]*(\|[a-z][a-z0-9_-]*)?)')
# The commands TMI's user must never get back, whatever redis_acl_commands adds (issue 15).
FORBIDDEN = frozenset(('flushall', 'flushdb', 'config', 'debug', 'keys', 'shutdown', 'module', 'acl', 'monitor',
                       'replicaof', 'slaveof', 'save', 'bgsave', 'bgrewriteaof', 'migrate', 'restore', 'swapdb',
                       'cluster', 'failover', 'sync', 'psync'))
DANGER = ('TMI\'s user must never run FLUSHALL, FLUSHDB, CONFIG, DEBUG, KEYS, SHUTDOWN, MODULE, ACL or the other'
          ' dangerous commands')
# redis.conf settings the server takes at run time with CONFIG SET; any other change needs a restart.
RUNTIME = frozenset(('maxmemory', 'maxmemory-policy', 'maxmemory-samples', 'save', 'appendonly', 'appendfsync',
                     'loglevel', 'timeout', 'tcp-keepalive', 'slowlog-log-slower-than', 'slowlog-max-len',
                     'maxclients'))


def _shown(value):
    return 'empty' if value in ('', None) else str(value)


def _port(value):
    try:
        port = int(value)
    except (TypeError, ValueError):
        return None
    return port if not isinstance(value, bool) else None


def _address_error(address):
    if not isinstance(address, str) or not address:
        return 'an empty address'
    text = address[1:] if address.startswith('-') else address
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return '%s, which is not an IP address' % address
    return None


def redis_setting_errors(settings):
    """One message per setting of the redis role (variable name -> value) that the role refuses."""
    check_setting_names('redis_setting_errors', settings, SETTINGS)
    errors = []
    for name in ('redis_user', 'redis_admin_user'):
        user = settings[name]
        if not isinstance(user, str) or not USER_NAME.fullmatch(user) or user == 'default':
            errors.append('%s (%s) must be a lower-case name (letters, digits, _ and -), not default.'
                          % (name, _shown(user)))
    if settings['redis_user'] == settings['redis_admin_user']:
        errors.append('redis_user and redis_admin_user are both %s: TMI\'s user must not be the role\'s own.'
                      % settings['redis_user'])
    bind = settings['redis_bind']
    if not isinstance(bind, list) or not bind:
        errors.append('redis_bind (%s) must be a non-empty list of IP addresses.' % _shown(bind))
        bind = []
    for address in bind:
        problem = _address_error(address)
        if problem:
            errors.append('redis_bind has %s.' % problem)
    loopback = all(isinstance(a, str) and is_loopback(a.lstrip('-')) for a in bind)
    tls = settings['redis_tls']
    if not isinstance(tls, bool):
        errors.append('redis_tls (%s) must be true or false.' % _shown(tls))
    elif not tls and not loopback:
        errors.append('redis_tls is false and redis_bind (%s) has an address other than loopback: TMI\'s password'
                      ' and data would cross the network in clear. Set redis_tls to true or bind to 127.0.0.1 and'
                      ' ::1 only.' % ', '.join(str(a) for a in bind))
    ports = {}
    for name in ('redis_port', 'redis_tls_port'):
        port = _port(settings[name])
        if port is None or not 1 <= port <= 65535:
            errors.append('%s (%s) must be a port, 1 to 65535.' % (name, _shown(settings[name])))
        ports[name] = port
    if ports['redis_port'] is not None and ports['redis_port'] == ports['redis_tls_port']:
        errors.append('redis_port and redis_tls_port are both %d: the plain and the TLS port must differ.'
                      % ports['redis_port'])
    databases = _port(settings['redis_databases'])
    if databases is None or not 1 <= databases <= 1024:
        errors.append('redis_databases (%s) must be 1 to 1024.' % _shown(settings['redis_databases']))
        databases = None
    db = _port(settings['redis_db'])
    if db is None or db < 0 or (databases is not None and db >= databases):
        errors.append('redis_db (%s) must be a database number, 0 to redis_databases - 1 (%s).'
                      % (_shown(settings['redis_db']), databases - 1 if databases else '?'))
    memory = settings['redis_maxmemory']
    match = MEMORY.fullmatch(str(memory)) if isinstance(memory, (str, int)) and not isinstance(memory, bool) else None
    if not match or int(match.group(1)) == 0:
        errors.append('redis_maxmemory (%s) must be a size above 0, such as 256mb or 1gb: a cache without a limit'
                      ' grows until the host runs out of memory.' % _shown(memory))
    policy = settings['redis_maxmemory_policy']
    if policy not in POLICIES:
        errors.append('redis_maxmemory_policy (%s) must be one of %s.' % (_shown(policy), ', '.join(POLICIES)))
    save = settings['redis_save']
    if not isinstance(save, list) or not all(
            isinstance(s, str) and re.fullmatch(r'[0-9]+ [0-9]+', s.strip()) for s in save):
        errors.append('redis_save (%s) must be a list of "SECONDS CHANGES" pairs, empty for no RDB snapshot.'
                      % _shown(save))
    if not isinstance(settings['redis_appendonly'], bool):
        errors.append('redis_appendonly (%s) must be true or false.' % _shown(settings['redis_appendonly']))
    commands = settings['redis_acl_commands']
    if not isinstance(commands, list):
        errors.append('redis_acl_commands (%s) must be a list of ACL command rules.' % _shown(commands))
        commands = []
    # Read in order, as Redis does: +@all (or +@dangerous, +@admin) opens the dangerous commands, a later
    # -@dangerous closes them again; they must be closed at the end.
    dangerous_open = False
    for rule in commands:
        if not isinstance(rule, str) or not ACL_COMMAND.fullmatch(rule):
            errors.append('redis_acl_commands has %s, which is not +COMMAND, -COMMAND, +COMMAND|SUB or'
                          ' +@CATEGORY/-@CATEGORY.' % _shown(rule))
        elif rule in ('+@all', '+@dangerous', '+@admin'):
            dangerous_open = True
        elif rule == '-@dangerous':
            dangerous_open = False
        elif rule.startswith('+') and rule[1:].split('|')[0] in FORBIDDEN:
            errors.append('redis_acl_commands has %s: %s.' % (rule, DANGER))
    if dangerous_open:
        errors.append('redis_acl_commands (%s) leaves the dangerous commands to TMI\'s user: end the +@all,'
                      ' +@dangerous or +@admin with -@dangerous; %s.' % (' '.join(map(str, commands)), DANGER))
    host = settings['redis_client_host']
    if not isinstance(host, str) or not HOST_NAME.fullmatch(host.strip('[]')) and _address_error(host.strip('[]')):
        errors.append('redis_client_host (%s) must be a host name or an IP address.' % _shown(host))
    return errors


def _settings(text):
    """redis.conf text as {directive: [value lines]} (directives in lower case, comments and blanks left out)."""
    settings = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        key, dummy, value = line.partition(' ')
        settings.setdefault(key.lower(), []).append(value.strip())
    return settings


def redis_apply_plan(new_text, old_text, acl_changed=False, started=False, restart=False):
    """How the running server takes new_text, the redis.conf written, when it ran with old_text.

    Returns {'restart': bool, 'config_set': [[directive, value], ...], 'acl_load': bool}. A restart when a
    directive other than those of RUNTIME changed, was added or removed (and then neither CONFIG SET nor
    ACL LOAD: the restart reads both files); else CONFIG SET for each changed run-time directive (several
    save lines become one value) and ACL LOAD when the ACL file changed. started: the server was just
    started (a new install): nothing more to do. restart: a restart whatever changed (a new certificate).
    """
    if not isinstance(new_text, str) or not new_text.strip():
        raise AnsibleFilterError('redis_apply_plan: the new configuration is empty')
    plan = {'restart': False, 'config_set': [], 'acl_load': False}
    if started:
        return plan
    new, old = _settings(new_text), _settings(old_text)
    changed = sorted(k for k in set(new) | set(old) if new.get(k) != old.get(k))
    if restart or not old or [k for k in changed if k not in RUNTIME]:
        plan['restart'] = True
        return plan
    for key in changed:
        values = new.get(key)
        if key == 'save':
            value = ' '.join(v.strip('"') for v in values) if values else ''
        elif values is None:
            # A run-time directive taken out of the file: only a restart brings back its default.
            plan['restart'] = True
            plan['config_set'] = []
            return plan
        else:
            value = values[-1].strip('"')
        plan['config_set'].append([key, value])
    plan['acl_load'] = bool(acl_changed)
    return plan


def redis_quote(value):
    """value as a double-quoted redis.conf string (backslash and double quote escaped)."""
    if not isinstance(value, str):
        raise AnsibleFilterError('redis_quote expects a string, not %s' % type(value).__name__)
    if any(c in value for c in '\r\n\0'):
        raise AnsibleFilterError('redis_quote: a redis.conf value cannot hold a line break or NUL')
    return '"%s"' % value.replace('\\', '\\\\').replace('"', '\\"')


class FilterModule(object):
    def filters(self):
        return {
            'redis_apply_plan': redis_apply_plan,
            'redis_quote': redis_quote,
            'redis_setting_errors': redis_setting_errors,
        }

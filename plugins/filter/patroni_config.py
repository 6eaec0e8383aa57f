# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.patroni_config: Patroni's configuration of one member, from the roles' own settings.

Under Patroni the server, ssl, wal_archive and pg_hba roles write no file:
Patroni owns postgresql.conf and pg_hba.conf and would override them. Each
role still renders the drop-in (or pg_hba.conf) it would write, from its one
template, and this filter turns those texts into Patroni's configuration: so
each setting keeps one source (the role's variable) in both layouts.
Documentation: patroni_config.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types

# Settings Patroni passes on postgres's command line, from its shared
# (DCS) configuration only: the same on every member, changed through the
# DCS (patroni/postgresql/config.py, CMDLINE_OPTIONS). listen_addresses,
# port and cluster_name come from the member's own `listen` and scope.
SHARED_SETTINGS = frozenset((
    'wal_level', 'hot_standby', 'max_connections', 'max_wal_senders', 'wal_keep_segments', 'wal_keep_size',
    'max_prepared_transactions', 'max_locks_per_transaction', 'track_commit_timestamp', 'max_replication_slots',
    'max_worker_processes', 'wal_log_hints',
))
MEMBER_SETTINGS = frozenset(('listen_addresses', 'port', 'cluster_name'))
# Patroni points these at its own files; a drop-in must not.
PATRONI_FILES = frozenset(('hba_file', 'ident_file', 'data_directory', 'config_file'))
# Recovery settings Patroni writes only while the member is a standby, from
# postgresql.recovery_conf: Patroni drops them from postgresql.parameters.
RECOVERY_SETTINGS = frozenset(('restore_command', 'archive_cleanup_command', 'recovery_end_command',
                               'recovery_min_apply_delay'))
# Recovery settings Patroni decides itself (whom a standby follows, over which
# slot, where recovery ends): a drop-in must not.
PATRONI_RECOVERY = frozenset(('primary_conninfo', 'primary_slot_name', 'promote_trigger_file', 'standby_mode',
                              'recovery_target', 'recovery_target_action', 'recovery_target_inclusive',
                              'recovery_target_lsn', 'recovery_target_name', 'recovery_target_time',
                              'recovery_target_timeline', 'recovery_target_xid'))

_SETTING = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_.]*)\s*=?\s*(.*?)\s*$")


def _value(text, name, source, number):
    """The value of one setting line: a quoted string ('' is a quote) or a bare word, comment removed."""
    if text.startswith("'"):
        value, index = [], 1
        while index < len(text):
            char = text[index]
            if char == "'":
                if text[index + 1:index + 2] == "'":
                    value.append("'")
                    index += 2
                    continue
                rest = text[index + 1:].strip()
                if rest and not rest.startswith('#'):
                    break
                return ''.join(value)
            value.append(char)
            index += 1
        raise AnsibleFilterError('%s, line %d: the value of %s is not a closed quoted string' % (source, number, name))
    value = text.split('#', 1)[0].strip()
    if not value or ' ' in value:
        raise AnsibleFilterError('%s, line %d: %s has no value PostgreSQL would read' % (source, number, name))
    return value


def conf_settings(content, source='settings'):
    """The name: value pairs of a postgresql.conf text, in order; a later line wins, as in PostgreSQL."""
    settings = {}
    for number, line in enumerate((content or '').splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith('#'):
            continue
        match = _SETTING.match(stripped)
        if not match:
            raise AnsibleFilterError('%s, line %d: not a setting line: %s' % (source, number, stripped))
        name, rest = match.group(1).lower(), match.group(2)
        if name in ('include', 'include_dir', 'include_if_exists'):
            raise AnsibleFilterError('%s, line %d: %s cannot be handed to Patroni' % (source, number, name))
        settings[name] = _value(rest, name, source, number)
    return settings


def hba_rules(content):
    """The rule lines of a pg_hba.conf text, blanks collapsed, comments dropped."""
    rules = []
    for line in (content or '').splitlines():
        rule = line.split('#', 1)[0].split()
        if rule:
            rules.append(' '.join(rule))
    return rules


def _require(settings, keys):
    missing = [key for key in keys if settings.get(key) in (None, '')]
    if missing:
        raise AnsibleFilterError('patroni_config: missing %s' % ', '.join(missing))


def split_settings(dropins):
    """(shared, member, recovery, merged) settings from the drop-ins, in order: shared ones go to the DCS."""
    merged = {}
    for dropin in dropins:
        merged.update(conf_settings(dropin.get('content'), dropin.get('name', 'settings')))
    wrong = sorted(PATRONI_FILES.union(PATRONI_RECOVERY).intersection(merged))
    if wrong:
        raise AnsibleFilterError('patroni_config: Patroni sets %s itself; remove it from the settings' % ', '.join(wrong))
    shared = dict((name, value) for name, value in merged.items() if name in SHARED_SETTINGS)
    recovery = dict((name, value) for name, value in merged.items() if name in RECOVERY_SETTINGS)
    member = dict((name, value) for name, value in merged.items()
                  if name not in SHARED_SETTINGS and name not in MEMBER_SETTINGS and name not in RECOVERY_SETTINGS)
    return shared, member, recovery, merged


def _listen(merged, settings):
    addresses = merged.get('listen_addresses') or 'localhost'
    return '%s:%s' % (addresses, merged.get('port') or settings['port'])


def _replication_rules(settings):
    """hostssl lines that let the members stream from and rewind against each other, and nothing else.

    The local line is for Patroni's own replication connection to its PostgreSQL (IDENTIFY_SYSTEM, for a
    standby's timeline), which goes over the socket (use_unix_socket_repl): over TCP it goes to `localhost`,
    often ::1, which no member line covers, and it was refused every few seconds.
    """
    rules = ['local replication %s scram-sha-256' % settings['replication']['username']]
    for member in settings.get('members') or []:
        address = member.get('address')
        if not address:
            raise AnsibleFilterError('patroni_config: member %s has no address (patroni_member_address)'
                                     % member.get('name'))
        try:
            cidr = str(ipaddress.ip_network(u'%s' % address, strict=False))
        except ValueError:
            raise AnsibleFilterError('patroni_config: member %s: %s is not an IP address or network '
                                     '(patroni_member_address, else ansible_host)' % (member.get('name'), address))
        rules.append('hostssl replication %s %s scram-sha-256' % (settings['replication']['username'], cidr))
        if settings.get('rewind'):
            rules.append('hostssl postgres %s %s scram-sha-256' % (settings['rewind']['username'], cidr))
    return rules


def patroni_config(settings):
    """{'config': the member's YAML as a dict, 'dcs': the shared configuration Patroni keeps in the DCS}."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('patroni_config: expects a dict, got %s' % type(settings).__name__)
    _require(settings, ('scope', 'namespace', 'name', 'port', 'connect_host', 'data_dir', 'config_dir', 'bin_dir',
                        'pgpass', 'restapi', 'etcd3', 'dcs', 'replication'))
    dropins = settings.get('dropins') or []
    if any(not isinstance(dropin, dict) or not isinstance(dropin.get('content'), string_types) for dropin in dropins):
        raise AnsibleFilterError('patroni_config: each dropin needs a name and a content string')
    shared, member, recovery, merged = split_settings(dropins)

    dcs = dict(settings['dcs'])
    dcs_postgresql = dict(dcs.pop('postgresql', {}))
    dcs_postgresql['parameters'] = dict(dcs_postgresql.get('parameters') or {}, **shared)
    dcs['postgresql'] = dcs_postgresql

    restapi = settings['restapi']
    _require(restapi, ('listen', 'connect_address'))
    authentication = {'superuser': {'username': settings.get('superuser', 'postgres')},
                      'replication': dict(settings['replication'])}
    if settings.get('rewind'):
        authentication['rewind'] = dict(settings['rewind'])

    postgresql = {
        'listen': _listen(merged, settings),
        'connect_address': '%s:%s' % (settings['connect_host'], merged.get('port') or settings['port']),
        'data_dir': settings['data_dir'],
        'config_dir': settings['config_dir'],
        'bin_dir': settings['bin_dir'],
        'pgpass': settings['pgpass'],
        'use_unix_socket': True,
        'use_unix_socket_repl': True,
        'authentication': authentication,
        'parameters': member,
        'pg_hba': hba_rules(settings.get('hba')) + _replication_rules(settings),
        'create_replica_methods': [method['name'] for method in settings.get('replica_methods') or []]
        or ['basebackup'],
    }
    if recovery:
        postgresql['recovery_conf'] = recovery
    for method in settings.get('replica_methods') or []:
        options = dict((key, value) for key, value in method.items() if key != 'name')
        if options:
            postgresql[method['name']] = options
    for key in ('custom_conf', 'callbacks', 'remove_data_directory_on_rewind_failure',
                'remove_data_directory_on_diverged_timelines'):
        if key in settings:
            postgresql[key] = settings[key]

    config = {
        'scope': settings['scope'],
        'namespace': settings['namespace'],
        'name': settings['name'],
        'restapi': dict(restapi),
        'etcd3': dict(settings['etcd3']),
        'bootstrap': dict({'dcs': dcs}, **({'initdb': list(settings['initdb'])} if settings.get('initdb') else {})),
        'postgresql': postgresql,
    }
    if settings.get('ctl'):
        config['ctl'] = dict(settings['ctl'])
    if settings.get('tags'):
        config['tags'] = dict(settings['tags'])
    return {'config': config, 'dcs': dcs}


def dcs_changes(current, wanted):
    """The PATCH body that brings the DCS configuration `current` to `wanted` ({} when they agree).

    Values are compared as text, as Patroni and PostgreSQL read them (10 and '10', on and true differ in
    form only).
    """
    changes = {}
    for key, value in (wanted or {}).items():
        have = (current or {}).get(key)
        if isinstance(value, dict):
            nested = dcs_changes(have if isinstance(have, dict) else {}, value)
            if nested:
                changes[key] = nested
        elif _text(have) != _text(value):
            changes[key] = value
    return changes


def patroni_members(hostvars, hosts):
    """[{name, address}] of the members: each host's patroni_member_address, else its ansible_host, else its name."""
    members = []
    for host in hosts or []:
        variables = hostvars[host]
        address = variables.get('patroni_member_address') or variables.get('ansible_host') or host
        members.append({'name': host, 'address': str(address)})
    return members


def _text(value):
    if isinstance(value, bool):
        return 'on' if value else 'off'
    text = '' if value is None else str(value).strip().lower()
    return {'true': 'on', 'false': 'off', 'yes': 'on', 'no': 'off'}.get(text, text)


class FilterModule(object):
    def filters(self):
        return {
            'patroni_config': patroni_config,
            'patroni_dcs_changes': dcs_changes,
            'patroni_members': patroni_members,
            'postgresql_conf_settings': conf_settings,
        }

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scrape targets of tmi.postgresql.prometheus, worked out from the inventory.

Prometheus (its own host group) scrapes the two exporters that
tmi.postgresql.monitoring runs on each database host. Each host's own
settings (where its exporters listen, basic auth, TLS) are read from hostvars,
with the monitoring role's defaults for the ones it does not set, so that the
operator writes them once. The collection's alert rules expect the jobs
`postgres` and `node` and the same host name in the `instance` of both
exporters of a host: every target is labelled `instance: HOST:PORT` with the
host's inventory name.

prometheus_targets: one entry per target. prometheus_target_errors: the
settings that cannot give a target Prometheus reaches, one message each.
prometheus_setting_errors: the role's own settings it refuses (durations, the
scrape timeout against the interval, the retention size, the paths, the CA
file), one message each. Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.six import string_types
from ansible_collections.tmi.postgresql.plugins.module_utils.listen import is_loopback, split_listen
from ansible_collections.tmi.postgresql.plugins.plugin_utils.setting_names import check_setting_names, setting_text

DEFAULT_KEYS = ('monitoring_enabled', 'exporter_listen', 'node_exporter_listen', 'web_basic_auth', 'web_user',
                'tls_cert_file', 'secrets_dir')
# The two jobs the rules name, and the variable of the monitoring role that says where each exporter listens.
JOBS = (('postgres', 'monitoring_exporter_listen', 'exporter_listen'),
        ('node', 'monitoring_node_exporter_listen', 'node_exporter_listen'))
# An inventory name that can be a label value and a file name.
HOST_NAME = re.compile(r'^[A-Za-z0-9_.-]+$')
# Addresses that mean every address of the host.
WILDCARDS = ('', '0.0.0.0', '::')

# A duration as the role's check takes it (one whole number and one unit of Prometheus), and the
# milliseconds of each unit (Prometheus's year is 365 days).
DURATION = re.compile(r'([0-9]+)(ms|s|m|h|d|w|y)')
UNIT_MILLISECONDS = {'ms': 1, 's': 1000, 'm': 60000, 'h': 3600000, 'd': 86400000, 'w': 604800000,
                     'y': 31536000000}
DURATIONS = ('prometheus_scrape_interval', 'prometheus_scrape_timeout', 'prometheus_evaluation_interval',
             'prometheus_retention_time')
# --storage.tsdb.retention.size: a whole number and a unit, or empty (no size limit).
SIZE = re.compile(r'[0-9]+(B|KB|MB|GB|TB|PB|EB)')
# Written unquoted into Prometheus's arguments (its environment file): no blank.
PATHS = ('prometheus_config_file', 'prometheus_rules_dir', 'prometheus_storage_dir', 'prometheus_secrets_dir')
ABSOLUTE_PATH = re.compile(r'/[^\s]*')
SETTINGS = frozenset(DURATIONS + PATHS + ('prometheus_retention_size', 'prometheus_exporters_ca_file'))


def _setting(variables, name, defaults, key):
    value = variables.get(name)
    return defaults[key] if value is None else value


def _bool(host, name, value):
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise AnsibleFilterError('%s of %s is %r, which is not true or false.' % (name, host, value))


def _bracketed(address):
    return '[%s]' % address if ':' in address else address


def _work_out(hostvars, hosts, prometheus_host, defaults, group):
    missing = [key for key in DEFAULT_KEYS if key not in (defaults or {})]
    if missing:
        raise AnsibleFilterError('prometheus_targets: defaults lack %s' % ', '.join(missing))
    if not hosts:
        return [], ['The group %s (tmi_postgresql_hosts) has no host: Prometheus has no exporter to scrape.' % group]
    targets, errors = [], []
    for host in hosts:
        variables = hostvars[host]
        try:
            enabled = _bool(host, 'tmi_postgresql_monitoring_enabled',
                            _setting(variables, 'tmi_postgresql_monitoring_enabled', defaults, 'monitoring_enabled'))
            basic_auth = _bool(host, 'monitoring_web_basic_auth',
                               _setting(variables, 'monitoring_web_basic_auth', defaults, 'web_basic_auth'))
        except AnsibleFilterError as e:
            errors.append(str(e))
            continue
        if not enabled:
            continue
        if not HOST_NAME.match(host):
            errors.append('The database host %r cannot name its targets (letters, digits, _ . - only).' % host)
            continue
        tls = bool(_setting(variables, 'monitoring_web_tls_cert_file', defaults, 'tls_cert_file'))
        for job, variable, key in JOBS:
            listen = _setting(variables, variable, defaults, key)
            try:
                address, port = split_listen(listen)
            except ValueError as e:
                errors.append('%s of %s is %r: %s.' % (variable, host, listen, e))
                continue
            source = variable
            if is_loopback(address):
                if host != prometheus_host:
                    errors.append('%s of %s is %s, a loopback address: Prometheus on %s cannot reach it. Let the '
                                  'exporters of %s listen on an address %s reaches (with monitoring_web_basic_auth), '
                                  'or run Prometheus on %s.' % (variable, host, listen, prometheus_host, host,
                                                                prometheus_host, host))
                    continue
            elif address in WILDCARDS:
                if host == prometheus_host:
                    address = '::1' if address == '::' else '127.0.0.1'
                else:
                    source = 'ansible_host' if variables.get('ansible_host') else 'inventory name'
                    address = str(variables.get('ansible_host') or host).strip()
            targets.append({
                'job': job,
                'host': host,
                'name': '%s-%s' % (job, host),
                'address': '%s:%d' % (_bracketed(address), port),
                'resolve': '' if _is_address(address) else address,
                'address_from': '%s of %s' % (source, host),
                'instance': '%s:%d' % (host, port),
                'scheme': 'https' if tls else 'http',
                'basic_auth_user': str(_setting(variables, 'monitoring_web_user', defaults, 'web_user'))
                if basic_auth else '',
                'password_file': '%s/%s.password' % (defaults['secrets_dir'], host) if basic_auth else '',
            })
    if not targets and not errors:
        errors.append('No host of the group %s has monitoring on (tmi_postgresql_monitoring_enabled): Prometheus '
                      'has no exporter to scrape.' % group)
    return targets, errors


def _is_address(text):
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def prometheus_targets(hostvars, hosts, prometheus_host, defaults, group='tmi_postgresql'):
    """One entry per exporter of the hosts with monitoring on; an error when a setting gives none."""
    if not isinstance(prometheus_host, string_types):
        raise AnsibleFilterError('prometheus_targets: the Prometheus host must be an inventory name')
    targets, errors = _work_out(hostvars, hosts or [], prometheus_host, defaults, group)
    if errors:
        raise AnsibleFilterError('prometheus_targets: %s' % ' '.join(errors))
    return targets


def prometheus_target_errors(hostvars, hosts, prometheus_host, defaults, group='tmi_postgresql'):
    """The messages of the settings that give no target Prometheus reaches (none: an empty list)."""
    return _work_out(hostvars, hosts or [], prometheus_host, defaults, group)[1]


def _milliseconds(value):
    """The duration in milliseconds, or None when it is not one."""
    match = DURATION.fullmatch(setting_text(value) or '')
    return int(match.group(1)) * UNIT_MILLISECONDS[match.group(2)] if match else None


def prometheus_setting_errors(settings):
    """One message per setting of the prometheus role (variable name -> value) that the role refuses."""
    check_setting_names('prometheus_setting_errors', settings, SETTINGS)
    errors = ['%s (%s) is not a duration of Prometheus (a whole number and ms, s, m, h, d, w or y).'
              % (name, settings[name]) for name in DURATIONS if _milliseconds(settings[name]) is None]
    timeout = _milliseconds(settings['prometheus_scrape_timeout'])
    interval = _milliseconds(settings['prometheus_scrape_interval'])
    if timeout is not None and interval is not None and timeout > interval:
        errors.append('prometheus_scrape_timeout (%s) is longer than prometheus_scrape_interval (%s): a scrape must '
                      'end before the next one starts.' % (settings['prometheus_scrape_timeout'],
                                                           settings['prometheus_scrape_interval']))
    size = settings['prometheus_retention_size']
    if size != '' and not SIZE.fullmatch(setting_text(size) or ''):
        errors.append('prometheus_retention_size (%s) is not a size (a whole number and B, KB, MB, GB, TB, PB or EB),'
                      ' nor empty.' % (size,))
    for name in PATHS:
        value = settings[name]
        if not isinstance(value, str) or not ABSOLUTE_PATH.fullmatch(value):
            errors.append('%s (%s) must be an absolute path without blanks.' % (name, value))
    ca_file = settings['prometheus_exporters_ca_file']
    if not isinstance(ca_file, str) or (ca_file and not ca_file.startswith('/')):
        errors.append('prometheus_exporters_ca_file (%s) must be an absolute path or empty.' % (ca_file,))
    return errors


class FilterModule(object):
    def filters(self):
        return {
            'prometheus_targets': prometheus_targets,
            'prometheus_setting_errors': prometheus_setting_errors,
            'prometheus_target_errors': prometheus_target_errors,
        }

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.repo_stanzas: the stanzas a repository host serves, from the inventory.

The database hosts say where their WAL goes (wal_archive_repo_host); the
repository host's role reads the same inventory, so that the operator does not
write each database host a second time. Documentation: repo_stanzas.yml beside
this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils.postgresql_versions import platform_postgresql_version

DEFAULT_KEYS = ('stanza', 'tls_server_port', 'version', 'cluster', 'port', 'socket_dir', 'config')


def _value(variables, own, shared, default):
    """The host's own wal_archive_* variable, else its tmi_postgresql_* one (when there is one), else default."""
    if shared and shared in variables:
        default = variables[shared]
    return variables.get(own, default)


def repo_stanzas(hostvars, hosts, names, defaults):
    """One pgbackrest_repo_stanzas entry per host of hosts whose wal_archive_repo_host is one of names."""
    missing = [key for key in DEFAULT_KEYS if key not in (defaults or {})]
    if missing:
        raise AnsibleFilterError('repo_stanzas: defaults lack %s' % ', '.join(missing))
    wanted = set(names)
    stanzas = []
    for host in hosts:
        variables = hostvars[host]
        if variables.get('wal_archive_repo_host') not in wanted:
            continue
        # A host that sets no version runs its platform's own (the default of tmi_postgresql_version there),
        # known from its facts once a play has read them; this host's own default is the last resort.
        platform = platform_postgresql_version(variables.get('ansible_facts'))
        version = _value(variables, 'wal_archive_version', 'tmi_postgresql_version',
                         defaults['version'] if platform is None else platform)
        cluster = _value(variables, 'wal_archive_cluster', 'tmi_postgresql_cluster', defaults['cluster'])
        stanzas.append({
            'name': _value(variables, 'wal_archive_stanza', 'tmi_postgresql_pgbackrest_stanza', defaults['stanza']),
            'host': host,
            'host_port': _value(variables, 'wal_archive_tls_server_port', None, defaults['tls_server_port']),
            'client_cn': host,
            # Debian's layout, as the common role's tmi_postgresql_data_dir.
            'pg_path': _value(variables, 'wal_archive_pg_path', 'tmi_postgresql_data_dir',
                              '/var/lib/postgresql/%s/%s' % (version, cluster)),
            'pg_port': _value(variables, 'wal_archive_port', 'tmi_postgresql_port', defaults['port']),
            'pg_socket_path': _value(variables, 'wal_archive_socket_dir', 'tmi_postgresql_socket_dir',
                                     defaults['socket_dir']),
            # Its pgbackrest.conf: the remote process the repository host starts there reads this file, not
            # the one its TLS server was started with.
            'pg_config': _value(variables, 'wal_archive_config_file', 'tmi_postgresql_pgbackrest_config', defaults['config']),
        })
    return stanzas


class FilterModule(object):
    def filters(self):
        return {'repo_stanzas': repo_stanzas}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filters of the PostgreSQL major version: platform_postgresql_version,
platform_postgresql_version_error, stat_statements_views, stanza_postgresql_version,
stanzas_without_current_backup and cluster_version_error (module_utils/postgresql_versions.py).

Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils import postgresql_versions


def platform_postgresql_version(facts):
    """The PostgreSQL major version the host's platform packages, None when unknown (or the facts lack it)."""
    return postgresql_versions.platform_postgresql_version(facts)


def platform_postgresql_version_error(facts, version=None):
    """'' when version is set or the platform gives one, else the message that refuses the host."""
    return postgresql_versions.platform_postgresql_version_error(facts, version)


def stat_statements_views(server_version_num):
    """The views pg_stat_statements creates on a server of that server_version_num (e.g. 150004)."""
    try:
        return postgresql_versions.stat_statements_views(server_version_num)
    except ValueError as e:
        raise AnsibleFilterError(str(e))


def stanza_postgresql_version(info):
    """The major version of the cluster a pgBackRest stanza's backups come from (pgbackrest info's entry or
    backup.info's text); None when it does not say."""
    return postgresql_versions.stanza_postgresql_version(info)


def stanzas_without_current_backup(stanzas):
    """Names of the stanzas (pgbackrest info's entries) with no backup of their current database."""
    return postgresql_versions.stanzas_without_current_backup(stanzas)


def cluster_version_error(clusters, version, cluster):
    """'' unless the host has the cluster at another major version only: then the message that refuses."""
    return postgresql_versions.cluster_version_error(clusters, version, cluster)


class FilterModule(object):
    def filters(self):
        return {
            'platform_postgresql_version': platform_postgresql_version,
            'platform_postgresql_version_error': platform_postgresql_version_error,
            'stat_statements_views': stat_statements_views,
            'stanza_postgresql_version': stanza_postgresql_version,
            'stanzas_without_current_backup': stanzas_without_current_backup,
            'cluster_version_error': cluster_version_error,
        }

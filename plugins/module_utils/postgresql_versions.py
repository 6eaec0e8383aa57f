# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tmi.postgresql decides from the PostgreSQL major version.

- platform_postgresql_version: the version a platform packages as its own
  (Debian's postgresql-common default), the default of tmi_postgresql_version;
- platform_postgresql_version_error: the message that refuses a host whose
  version is neither set nor known from its platform;
- stat_statements_views: the views of pg_stat_statements a server version has
  (from its server_version_num, read at run time);
- stanza_postgresql_version: the major version of the cluster a pgBackRest
  stanza's backups were taken from (a restore needs the same);
- cluster_version_error: the message that refuses to create a cluster of one
  version beside the same cluster of another (a host whose default changed).

The filters of plugins/filter/postgresql_versions.py and repo_stanzas use them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six.moves.collections_abc import Mapping

# (distribution, major release) -> the PostgreSQL major version its own
# packages install (postgresql-common's default there). Only versions the
# collection supports (13 and newer).
PLATFORM_VERSIONS = {
    ('Debian', '11'): 13,
    ('Debian', '12'): 15,
    ('Debian', '13'): 17,
    ('Ubuntu', '22'): 14,
    ('Ubuntu', '24'): 16,
}

# pg_stat_statements_info came with pg_stat_statements 1.9, in PostgreSQL 14.
STAT_STATEMENTS_INFO_FROM = 140000


def _platform(facts):
    """(distribution, major release) from ansible_facts, or None when the facts do not say."""
    if not isinstance(facts, Mapping):
        return None
    distribution = facts.get('distribution')
    release = facts.get('distribution_major_version')
    if not isinstance(distribution, str) or not distribution or release is None or str(release) == '':
        return None
    return distribution, str(release)


def _known():
    ordered = sorted(PLATFORM_VERSIONS.items(), key=lambda item: (item[0][0], int(item[0][1])))
    return ', '.join('%s %s: %d' % (distribution, release, version) for (distribution, release), version in ordered)


def platform_postgresql_version(facts):
    """The PostgreSQL major version the host's platform packages, None when unknown (or the facts lack it)."""
    platform = _platform(facts)
    if platform is None:
        return None
    return PLATFORM_VERSIONS.get(platform)


def platform_postgresql_version_error(facts, version=None):
    """'' when version is set or the platform gives one, else the message that refuses the host."""
    if version is not None and version != '':
        return ''
    platform = _platform(facts)
    if platform is None:
        where = 'the facts name no distribution and release of this host (ansible_facts.distribution, distribution_major_version)'
    elif platform in PLATFORM_VERSIONS:
        return ''
    else:
        where = '%s %s has no PostgreSQL version known to tmi.postgresql' % platform
    return ('tmi_postgresql_version is not set and %s (known: %s). Set tmi_postgresql_version to the major version '
            'to install (13 to 18) in the inventory. Nothing was changed.' % (where, _known()))


def stat_statements_views(server_version_num):
    """The views pg_stat_statements creates on a server of that server_version_num (e.g. 150004)."""
    try:
        number = int(server_version_num)
    except (TypeError, ValueError):
        raise ValueError('stat_statements_views expects server_version_num, a whole number such as 150004, '
                         'not %r' % (server_version_num,))
    if isinstance(server_version_num, bool) or number < 100000:
        raise ValueError('stat_statements_views expects server_version_num, a whole number such as 150004, '
                         'not %r' % (server_version_num,))
    views = ['pg_stat_statements']
    if number >= STAT_STATEMENTS_INFO_FROM:
        views.append('pg_stat_statements_info')
    return views


def _major(text):
    match = re.match(r'^\s*"?(\d+)', str(text)) if text is not None else None
    return int(match.group(1)) if match else None


def stanza_postgresql_version(info):
    """The PostgreSQL major version of a pgBackRest stanza's current database, None when the input does not say.

    info: the stanza's entry of `pgbackrest info --output=json` (its db list, each with id and version), or the
    text of the stanza's backup.info (section [db], db-version="15").
    """
    if isinstance(info, Mapping):
        databases = [db for db in info.get('db') or [] if isinstance(db, Mapping)]
        if not databases:
            return None
        return _major(max(databases, key=lambda db: db.get('id') or 0).get('version'))
    if isinstance(info, str):
        section = None
        version = None
        for line in info.splitlines():
            line = line.strip()
            if line.startswith('['):
                section = line
            elif section == '[db]' and line.startswith('db-version='):
                version = _major(line.split('=', 1)[1])
        return version
    return None


def stanza_current_backups(info):
    """The backups of a pgBackRest stanza's current database, from its entry of `pgbackrest info --output=json`.

    After `pgbackrest stanza-upgrade` (a major upgrade) the stanza has a new database id and still lists the old
    version's backups, which cannot be restored into the new cluster: a first full backup of the new one is due
    although the list is not empty. The current database of each repository (repo-key) is its highest id; a
    stanza that lists no database (not created yet, or unreadable) has no current backups to tell apart: all
    its backups count.
    """
    if not isinstance(info, Mapping):
        return []
    backups = [backup for backup in info.get('backup') or [] if isinstance(backup, Mapping)]
    current = {}
    for db in info.get('db') or []:
        if isinstance(db, Mapping) and isinstance(db.get('id'), int):
            key = db.get('repo-key', 1)
            current[key] = max(current.get(key, db['id']), db['id'])
    if not current:
        return backups

    def of_current(backup):
        database = backup.get('database')
        if not isinstance(database, Mapping):
            return False
        return current.get(database.get('repo-key', 1)) == database.get('id')
    return [backup for backup in backups if of_current(backup)]


def stanzas_without_current_backup(stanzas):
    """Names of the stanzas (pgbackrest info's entries) that have no backup of their current database."""
    return [stanza.get('name') for stanza in stanzas or []
            if isinstance(stanza, Mapping) and not stanza_current_backups(stanza)]


def cluster_version_error(clusters, version, cluster):
    """'' unless the host has cluster at another major version and not at version: then the refusal.

    clusters: pg_lsclusters --json's list (None or [] before PostgreSQL is installed). A host upgraded to a newer
    Debian release keeps its old cluster; with the platform's newer default the server role would install the new
    version and make a second, empty cluster of the same name beside it.
    """
    found = [entry for entry in clusters or [] if isinstance(entry, Mapping) and entry.get('cluster') == cluster]
    if not found or any(str(entry.get('version')) == str(version) for entry in found):
        return ''
    others = ', '.join(sorted('%s/%s' % (entry.get('version'), cluster) for entry in found))
    return ('This host has cluster %s and no %s/%s: tmi_postgresql_version is %s (the platform\'s own unless the '
            'inventory sets it), which would install PostgreSQL %s and create a second, empty cluster %s beside it. '
            'Set tmi_postgresql_version to the version of the cluster to keep running, or upgrade it first. '
            'Nothing was changed.' % (others, version, cluster, version, version, cluster))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.verified_full_backups and unverified_stanzas: which full backups `pgbackrest verify` passed.

The repository host (role pgbackrest_repo) verifies the newest full backup of a
stanza that has no verified one and marks it with the annotation tmi-verified;
`pgbackrest info --output=json` shows the annotation to every reader of the
repository, so a database host that moves from the one-host layout (role
wal_archive) knows, from its own `pgbackrest info`, when it may retire its old
local repository. Documentation: verified_full_backups.yml and
unverified_stanzas.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# The annotation key (pgbackrest annotate --annotation=tmi-verified=<time>).
VERIFIED = 'tmi-verified'
# Stanza status codes of `pgbackrest info`: 0 ok, 2 no valid backups.
STANZA_OK = (0, 2)


def verified_full_backups(backups, repo_key=None):
    """Labels of the full backups marked verified, oldest first; only those of repository repo_key when given."""
    return [backup['label'] for backup in backups or []
            if backup.get('type') == 'full' and VERIFIED in (backup.get('annotation') or {})
            and (repo_key is None or backup.get('database', {}).get('repo-key') == repo_key)]


def unverified_stanzas(info):
    """Names of the stanzas of `pgbackrest info` that exist and have no verified full backup."""
    return [stanza['name'] for stanza in info or []
            if stanza.get('status', {}).get('code') in STANZA_OK and not verified_full_backups(stanza.get('backup'))]


class FilterModule(object):
    def filters(self):
        return {'verified_full_backups': verified_full_backups, 'unverified_stanzas': unverified_stanzas}

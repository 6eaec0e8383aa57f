# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading `pgbackrest --output=json info` of a repository that may not open (module pgbackrest_info).

When pgBackRest cannot decrypt an info file (another passphrase, or none for
an encrypted repository), its message quotes the file's first bytes: binary,
which Ansible refuses to carry back from a command task. The module decodes
pgBackRest's output with replacement characters and keeps the printable part
of each message.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json

# pgBackRest's stanza status "other": an info file could not be read.
UNREADABLE = 99
MESSAGE_LIMIT = 300


def printable(message):
    """The message in printable ASCII (pgBackRest writes its own text so), at most MESSAGE_LIMIT long.

    A quoted binary file decodes to arbitrary letters of other scripts: dropped with the rest.
    """
    kept = ''.join(c for c in message or '' if c == '\n' or ' ' <= c <= '~')
    return kept[:MESSAGE_LIMIT]


def parse_info(raw):
    """`pgbackrest --output=json info` (bytes or text) as a list of stanzas, every status message printable."""
    if isinstance(raw, bytes):
        raw = raw.decode('utf-8', errors='replace')
    # strict=False: control characters inside strings, as in a quoted binary file, are no error.
    stanzas = json.loads(raw or '[]', strict=False)
    for stanza in stanzas:
        for status in [stanza.get('status')] + [repo.get('status') for repo in stanza.get('repo', [])]:
            if status and 'message' in status:
                status['message'] = printable(status['message'])
    return stanzas


def unreadable_stanzas(stanzas):
    """[{name, message}] of the stanzas whose info files pgBackRest could not read in some repository (first line)."""
    found = []
    for stanza in stanzas:
        statuses = [repo.get('status', {}) for repo in stanza.get('repo', [])] or [stanza.get('status', {})]
        for status in statuses:
            if status.get('code') == UNREADABLE:
                # Its first line names the error and the file; the next ones quote the file's bytes.
                found.append({'name': stanza.get('name'), 'message': status.get('message', '').split('\n')[0]})
                break
    return found

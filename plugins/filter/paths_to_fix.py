# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.paths_to_fix: the folders and files whose owner, group or mode is not the wanted one.

A role reads the state of all its paths with one ansible.builtin.find and
runs ansible.builtin.file only for the paths this filter returns, instead of
one file task (one round trip to the host) per path on every run.
Documentation: paths_to_fix.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib

from ansible.errors import AnsibleFilterError

# The keys of a tmi.postgresql.file_set entry; backup changes how a file is
# written, not what it must be.
WANTED_KEYS = frozenset(('path', 'owner', 'group', 'mode', 'state', 'content', 'backup'))
STATES = ('directory', 'file', 'absent')


def _mode(value, where):
    try:
        return int(str(value), 8)
    except ValueError:
        raise AnsibleFilterError('paths_to_fix: the mode of %s is not an octal number: %r' % (where, value))


def _sha1(content):
    return hashlib.sha1(content.encode('utf-8') if isinstance(content, str) else content).hexdigest()


def _wrong(want, have):
    """True when have (a find result, or None when absent) is not the wanted path."""
    if want.get('state') == 'absent':
        return have is not None
    if have is None:
        return True
    if want.get('content') is not None and have.get('checksum') != _sha1(want['content']):
        return True
    if bool(have.get('isdir')) != (want.get('state', 'file') == 'directory'):
        return True
    if 'owner' in want and have.get('pw_name') != want['owner']:
        return True
    if 'group' in want and have.get('gr_name') != want['group']:
        return True
    return 'mode' in want and _mode(have.get('mode'), have.get('path')) != _mode(want['mode'], want['path'])


def paths_to_fix(wanted, found):
    """The entries of wanted (path, owner, group, mode, state, content) that found (find's files) does not match.

    A content is compared with the SHA-1 checksum of the entry found (a file found without one differs).
    """
    if not isinstance(wanted, list):
        raise AnsibleFilterError('paths_to_fix expects a list of {path, owner, group, mode, state}, not %s'
                                 % type(wanted).__name__)
    by_path = {}
    for entry in found or []:
        if not isinstance(entry, dict) or 'path' not in entry:
            raise AnsibleFilterError('paths_to_fix: each found entry must be a mapping with a path, not %r' % (entry,))
        by_path[entry['path'].rstrip('/') or '/'] = entry
    result = []
    for want in wanted:
        if not isinstance(want, dict) or not want.get('path'):
            raise AnsibleFilterError('paths_to_fix: each wanted entry must be a mapping with a path, not %r' % (want,))
        unknown = sorted(set(want) - WANTED_KEYS)
        if unknown:
            raise AnsibleFilterError('paths_to_fix: unknown key(s) %s for %s' % (', '.join(unknown), want['path']))
        if want.get('state', 'file') not in STATES:
            raise AnsibleFilterError('paths_to_fix: the state of %s must be directory, file or absent, not %r'
                                     % (want['path'], want['state']))
        if 'mode' in want:
            _mode(want['mode'], want['path'])
        if _wrong(want, by_path.get(want['path'].rstrip('/') or '/')):
            result.append(want)
    return result


class FilterModule(object):
    def filters(self):
        return {'paths_to_fix': paths_to_fix}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the file_set module must change for each entry, decided without touching the disk.

plan_entries() checks every entry against a snapshot of the paths (a look(path, read_content) function) and
returns either the list of plans or the list of errors: the module writes only when there is no error, so a
bad entry anywhere in the list changes nothing.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import collections
import os
import re

# kind: 'file', 'directory', 'link' or 'other'; content: the bytes of a file, read only when asked;
# empty: whether a directory has no entries.
PathState = collections.namedtuple('PathState', 'kind uid gid mode content empty')
PathState.__new__.__defaults__ = (None, None, None, None, None)

KIND_NAMES = {
    'file': 'a regular file',
    'directory': 'a folder',
    'link': 'a symbolic link',
    'other': 'neither a regular file nor a folder',
}

_MODE = re.compile(r'^[0-7]{3,4}$')


def parse_mode(value):
    """The mode as an int, from an octal string ('0640', '640') or an int (YAML's 0640); ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if 0 <= value <= 0o7777:
            return value
        raise ValueError(value)
    if isinstance(value, str) and _MODE.match(value):
        return int(value, 8)
    raise ValueError(value)


def mode_text(mode):
    return None if mode is None else '%04o' % mode


def _account_id(value, resolve):
    """uid/gid of a name or number; None when unknown."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    if text.isdigit():
        return int(text)
    return resolve(text)


class Plan(object):
    """What to do for one entry.

    action: 'create' (file or folder), 'write' (new content), 'attributes', 'remove' or None (nothing);
    changes: the attributes that differ ('owner', 'group', 'mode'); uid/gid/mode: the values to set
    (None: keep); parents: missing folders above a new folder, created first, top down; backup: keep a copy
    of the file that new content replaces.
    """

    def __init__(self, path, state, content=None, uid=None, gid=None, mode=None):
        self.path = path
        self.state = state
        self.content = content
        self.uid = uid
        self.gid = gid
        self.mode = mode
        self.action = None
        self.changes = []
        self.parents = []
        self.before = None
        self.backup = False

    @property
    def changed(self):
        return self.action is not None

    def diffs(self):
        """The --diff entries of this plan: the text for content, the attributes and state otherwise."""
        if not self.changed:
            return []
        header = dict(before_header=self.path, after_header=self.path)
        before = self.before
        if self.action in ('create', 'write') and self.state == 'file':
            old = before.content if before is not None and before.content is not None else b''
            result = [dict(header, before=old.decode('utf-8', 'replace'), after=self.content.decode('utf-8', 'replace'))]
            if self.action == 'write' and self.changes:
                result.append(dict(header, **self._attribute_diff()))
            return result
        if self.action == 'create':
            return [dict(before_header=path, after_header=path, before={'path': path, 'state': 'absent'},
                         after={'path': path, 'state': 'directory', 'mode': mode_text(self.mode)})
                    for path in self.parents + [self.path]]
        if self.action == 'remove':
            return [dict(header, before={'path': self.path, 'state': before.kind}, after={'path': self.path, 'state': 'absent'})]
        return [dict(header, **self._attribute_diff())]

    def _attribute_diff(self):
        names = {'owner': ('uid', 'uid'), 'group': ('gid', 'gid'), 'mode': ('mode', 'mode')}
        before, after = {'path': self.path}, {'path': self.path}
        for change in self.changes:
            attr = names[change][0]
            old, new = getattr(self.before, attr), getattr(self, attr)
            before[change], after[change] = (mode_text(old), mode_text(new)) if change == 'mode' else (old, new)
        return dict(before=before, after=after)


def plan_entries(entries, look, resolve_user, resolve_group, umask=0o022, check_mode=False):
    """Check every entry and decide what must change.

    entries: dicts with path, state, content, owner, group, mode (None where not given), in order.
    look(path, read_content): a PathState, or None when nothing is at path.
    resolve_user/resolve_group(name): the uid/gid, or None when the account does not exist.
    check_mode: an unknown owner or group is a warning (an earlier task, skipped in check mode, may create
    it), not an error.
    Returns (plans, errors, warnings); plans is empty when there is any error.
    """
    plans, errors, warnings = [], [], []
    # The kind each path will have once the earlier entries are applied.
    planned = {}
    seen = {}

    def kind_of(path, read_content=False):
        if path in planned:
            return PathState(planned[path]) if planned[path] else None
        return look(path, read_content)

    for index, entry in enumerate(entries):
        path = entry.get('path') or ''
        state = entry.get('state') or 'file'
        label = 'files[%d] (%s)' % (index, path or 'no path')
        problems = []

        def problem(text):
            problems.append('%s: %s' % (label, text))

        def missing(text):
            # In check mode an earlier task that would create it did not run.
            if check_mode:
                warnings.append('%s: %s (yet: a real run fails unless an earlier task creates it)' % (label, text))
            else:
                problem(text)

        if not os.path.isabs(path):
            problem('the path must be absolute')
        elif '..' in path.split('/') or path != '/' and path.endswith('/') or '//' in path:
            problem("the path must be plain: no '..', no doubled or trailing '/'")
        elif path == '/':
            problem('the path must not be /')
        elif path in seen:
            problem('the same path as files[%d]' % seen[path])
        else:
            seen[path] = index

        content = entry.get('content')
        if content is not None and state != 'file':
            problem('content is given, but state is %s (content is for state file only)' % state)
        if entry.get('backup') and content is None:
            problem('backup is set, but no content is given (a copy is kept when content replaces a file)')
        mode = None
        if entry.get('mode') is not None:
            try:
                mode = parse_mode(entry['mode'])
            except ValueError:
                problem("mode %r is not an octal mode such as '0640'" % (entry['mode'],))
        ids = {}
        for key, resolve in (('owner', resolve_user), ('group', resolve_group)):
            value = entry.get(key)
            if value is None or value == '':
                ids[key] = None
                continue
            ids[key] = _account_id(value, resolve)
            if ids[key] is None:
                missing('%s %s does not exist on the host' % (key, value))
        if problems:
            errors.extend(problems)
            continue

        plan = Plan(path, state, content=None if content is None else content.encode('utf-8', 'surrogateescape'),
                    uid=ids['owner'], gid=ids['group'], mode=mode)
        plan.backup = bool(entry.get('backup'))
        unknown = [key for key in ('owner', 'group') if entry.get(key) not in (None, '') and ids[key] is None]
        current = kind_of(path, read_content=plan.content is not None)
        plan.before = current
        problem_count = len(problems)
        if state == 'absent':
            _plan_absent(plan, current, problem)
        elif current is not None and current.kind != state:
            problem('is %s, not %s' % (KIND_NAMES[current.kind], KIND_NAMES[state]))
        elif current is None:
            if state == 'file' and plan.content is None:
                missing('does not exist, and no content is given to create it')
            else:
                _plan_create(plan, kind_of, problem, missing, umask)
        else:
            _plan_existing(plan, current, unknown)
        if len(problems) > problem_count:
            errors.extend(problems)
            continue
        planned[path] = None if state == 'absent' else state
        for parent in plan.parents:
            planned[parent] = 'directory'
        plans.append(plan)
    if errors:
        return [], errors, warnings
    return plans, errors, warnings


def _plan_absent(plan, current, problem):
    if current is None:
        return
    if current.kind == 'directory' and not current.empty:
        problem('is a folder with files in it: file_set removes empty folders only')
        return
    plan.action = 'remove'


def _plan_create(plan, kind_of, problem, missing_folder, umask):
    missing = []
    parent = os.path.dirname(plan.path)
    while True:
        above = kind_of(parent)
        if above is not None:
            break
        missing.insert(0, parent)
        parent = os.path.dirname(parent)
    if above.kind != 'directory':
        problem('%s is %s, not a folder' % (parent, KIND_NAMES[above.kind]))
        return
    if missing and plan.state == 'file':
        missing_folder('its folder %s does not exist: list it first, with state directory' % missing[-1])
        missing = []
    plan.parents = missing
    plan.action = 'create'
    if plan.mode is None:
        plan.mode = (0o666 if plan.state == 'file' else 0o777) & ~umask


def _plan_existing(plan, current, unknown):
    for change, wanted, have in (('owner', plan.uid, current.uid), ('group', plan.gid, current.gid),
                                 ('mode', plan.mode, current.mode)):
        if change in unknown or wanted is not None and wanted != have:
            plan.changes.append(change)
    if plan.content is not None and plan.content != current.content:
        plan.action = 'write'
    elif plan.changes:
        plan.action = 'attributes'

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: file_set
short_description: Bring several files and folders to their content, owner, group and mode in one task
version_added: 0.1.0
description:
  - Applies a list of files and folders in order, in one module run (one round trip to the host). A role that
    writes N files with M(ansible.builtin.template) or M(ansible.builtin.copy) pays two round trips per
    unchanged file, this module one for all of them. Render templates on the controller with a lookup,
    C(content) set to C({{ lookup('ansible.builtin.template', 'x.j2') }}).
  - Checks every entry before it changes anything, and changes nothing when one is wrong. The message names
    each entry at fault by its index and path (a relative path, content for a folder, a file to enforce without
    content that does not exist, an unknown owner or group, a file whose folder does not exist, a path of the
    wrong kind).
  - Content is written atomically. A temporary file is created in the same folder with mode 0600, filled,
    synced to disk, given its owner, group and mode, and renamed over the old file, so a secret file is never
    readable by others, not even for a moment, and a reader sees the old file or the new one, never half of it.
    When only the owner, group or mode differ, the file is not rewritten.
  - A new folder whose parent folders are missing gets them too, with the same owner, group and mode, as
    M(ansible.builtin.file) does. A file's folder must exist or come earlier in the list.
  - Symbolic links are refused for O(files[].state=file) and O(files[].state=directory); this module writes
    regular files and folders only.
author:
  - TMI operations engineers (@tmi)
options:
  files:
    description: The files and folders, applied in this order (folders before the files in them).
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path, without C(..) and without a trailing C(/).
        type: str
        required: true
      state:
        description:
          - V(file) a regular file, V(directory) a folder, V(absent) nothing (a file, a link or an empty folder
            is removed; a folder with files in it is an error).
        type: str
        choices: [file, directory, absent]
        default: file
      content:
        description:
          - The whole content of the file (O(files[].state=file) only), written as UTF-8.
          - Without it only the owner, group and mode are enforced, and the file must exist.
        type: str
      owner:
        description: Owner, a user name or uid; unset keeps the owner (a new path gets the user the module runs as).
        type: str
      group:
        description: Group, a group name or gid; unset keeps the group.
        type: str
      mode:
        description:
          - Mode as an octal string, such as C("0640"); unset keeps the mode (a new path gets 0666 or 0777 less
            the umask).
        type: raw
      backup:
        description:
          - When new content replaces the file, keep a copy of the old one first (named like
            M(ansible.builtin.template)'s, C(PATH.PID.DATE@TIME~)); RV(backup_files) names it. Needs O(files[].content).
        type: bool
        default: false
notes:
  - Put a secret file in a task of its own with C(no_log) set, since the content is a module argument and
    C(--diff) shows it.
  - An owner or group that does not exist is a warning in check mode (a task skipped in check mode may create
    it), an error otherwise.
attributes:
  check_mode:
    support: full
    description: Reports what would change (RV(paths), and the diffs with C(--diff)) and writes nothing.
  diff_mode:
    support: full
    description: One diff per changed path; the before and after text for content, the attributes otherwise.
  platform:
    support: full
    platforms: posix
    description: Uses POSIX owners, groups and modes.
seealso:
  - module: ansible.builtin.template
  - module: ansible.builtin.file
'''

EXAMPLES = r'''
- name: Write the backup folder, its settings and its schedule in one round trip
  tmi.postgresql.file_set:
    files:
      - path: /var/backups/tmi
        state: directory
        owner: postgres
        group: postgres
        mode: "0700"
      - path: /etc/tmi-postgresql/backup.conf
        content: "{{ lookup('ansible.builtin.template', 'backup.conf.j2') }}"
        owner: root
        group: postgres
        mode: "0640"
      - path: /etc/cron.d/tmi-old-schedule
        state: absent
  register: backup_files

- name: Enforce owner and mode of a file another tool writes
  tmi.postgresql.file_set:
    files:
      - path: /etc/postgresql/15/main/pg_ident.conf
        owner: postgres
        group: postgres
        mode: "0640"

- name: Write a secret (no_log keeps its content out of every log and diff)
  tmi.postgresql.file_set:
    files:
      - path: /etc/tmi/tmi.env
        content: "{{ lookup('ansible.builtin.template', 'tmi.env.j2') }}"
        mode: "0600"
  no_log: true
'''

RETURN = r'''
paths:
  description: The paths that changed (or would change, in check mode), in the order of O(files); a new folder's
    missing parents come before it.
  returned: always
  type: list
  elements: str
  sample: ["/etc/tmi-postgresql/backup.conf"]
backup_files:
  description: For each entry with O(files[].backup) whose content was replaced, the copy of the old file.
  returned: always
  type: dict
  sample: {"/etc/postgresql/15/main/pg_hba.conf": "/etc/postgresql/15/main/pg_hba.conf.4242.2026-12-01@02:00:00~"}
'''

import errno
import grp
import os
import pwd
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible_collections.tmi.postgresql.plugins.module_utils.atomic_file import write_atomically as replace_file
from ansible_collections.tmi.postgresql.plugins.module_utils.file_set import (
    PathState,
    plan_entries,
)

KINDS = ((stat.S_ISREG, 'file'), (stat.S_ISDIR, 'directory'), (stat.S_ISLNK, 'link'))


def look(path, read_content=False):
    try:
        st = os.lstat(path)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            return None
        raise
    kind = next((name for test, name in KINDS if test(st.st_mode)), 'other')
    content = empty = None
    if kind == 'file' and read_content:
        with open(path, 'rb') as f:
            content = f.read()
    elif kind == 'directory':
        empty = not os.listdir(path)
    return PathState(kind, st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode), content, empty)


def resolve_user(name):
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def resolve_group(name):
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def current_umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


def fsync_folder(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(plan):
    """Write the file through a temporary file of mode 0600 in the same folder, attributes set before the rename."""
    before = plan.before
    uid = plan.uid if plan.uid is not None else (before.uid if before else -1)
    gid = plan.gid if plan.gid is not None else (before.gid if before else -1)
    mode = plan.mode if plan.mode is not None else before.mode
    replace_file(plan.path, plan.content, mode, uid, gid, suffix='.file_set')
    fsync_folder(os.path.dirname(plan.path))


def make_folder(module, path, plan):
    # Created closed (0700, the module's user), then opened up to its mode once it has its owner.
    os.mkdir(path, 0o700)
    set_attributes(module, path, plan)


def set_attributes(module, path, plan):
    if plan.uid is not None:
        module.set_owner_if_different(path, plan.uid, False, expand=False)
    if plan.gid is not None:
        module.set_group_if_different(path, plan.gid, False, expand=False)
    if plan.mode is not None:
        module.set_mode_if_different(path, plan.mode, False, expand=False)


def apply(module, plan):
    if plan.action == 'create' and plan.state == 'directory':
        for path in plan.parents + [plan.path]:
            make_folder(module, path, plan)
    elif plan.action in ('create', 'write'):
        write_atomically(plan)
    elif plan.action == 'attributes':
        set_attributes(module, plan.path, plan)
    elif plan.action == 'remove':
        if plan.before.kind == 'directory':
            os.rmdir(plan.path)
        else:
            os.unlink(plan.path)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type='list', elements='dict', required=True, options=dict(
                path=dict(type='str', required=True),
                state=dict(type='str', choices=['file', 'directory', 'absent'], default='file'),
                content=dict(type='str'),
                owner=dict(type='str'),
                group=dict(type='str'),
                mode=dict(type='raw'),
                backup=dict(type='bool', default=False),
            )),
        ),
        supports_check_mode=True,
    )
    try:
        plans, errors, warnings = plan_entries(module.params['files'], look, resolve_user, resolve_group,
                                               umask=current_umask(), check_mode=module.check_mode)
    except (IOError, OSError) as e:
        module.fail_json(msg='file_set changed nothing: reading the paths failed: %s' % to_native(e))
    for warning in warnings:
        module.warn(warning)
    if errors:
        module.fail_json(msg='file_set changed nothing: %s' % ' '.join(errors), errors=errors)

    changed = [plan for plan in plans if plan.changed]
    paths = [path for plan in changed for path in (plan.parents + [plan.path])]
    result = dict(changed=bool(changed), paths=paths, backup_files={})
    if module._diff:
        result['diff'] = [diff for plan in changed for diff in plan.diffs()]
    if not module.check_mode:
        done = []
        for plan in changed:
            try:
                if plan.backup and plan.action == 'write':
                    result['backup_files'][plan.path] = module.backup_local(plan.path)
                apply(module, plan)
            except Exception as e:  # OSError, or the Exception of backup_local
                module.fail_json(msg='file_set: writing %s failed: %s. Changed before it: %s.'
                                 % (plan.path, to_native(e), ', '.join(done) or 'nothing'), paths=done,
                                 backup_files=result['backup_files'])
            done.extend(plan.parents + [plan.path])
    module.exit_json(**result)


if __name__ == '__main__':
    main()

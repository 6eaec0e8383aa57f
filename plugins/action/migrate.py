# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the migration directory on the controller and hand the files to the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

DEFAULT_PATH = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'files', 'migrations'))


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def _resolve_path(self, path):
        if not path:
            return DEFAULT_PATH
        path = os.path.expanduser(path)
        if os.path.isabs(path):
            return path
        try:
            return self._find_needle('files', path)
        except AnsibleError:
            raise AnsibleError('migration directory %r not found in the role or playbook files folders' % path)

    @staticmethod
    def _read_files(path):
        if not os.path.isdir(path):
            raise AnsibleError('migration directory %s does not exist or is not a directory' % path)
        files = []
        for filename in sorted(os.listdir(path)):
            full = os.path.join(path, filename)
            if filename.startswith('.'):
                continue
            if not os.path.isfile(full):
                raise AnsibleError('%s: not a regular file; the migration directory holds only migration files' % full)
            with open(full, 'rb') as f:
                raw = f.read()
            try:
                content = raw.decode('utf-8')
            except UnicodeDecodeError as e:
                raise AnsibleError('%s: not valid UTF-8 (byte %d)' % (full, e.start))
            files.append(dict(filename=filename, content=content))
        return files

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        try:
            path = self._resolve_path(args.get('path'))
            args['_migrations'] = self._read_files(path)
        except AnsibleError as e:
            result.update(failed=True, msg=to_text(e))
            return result
        args['path'] = path
        result.update(self._execute_module(module_name='tmi.postgresql.migrate', module_args=args,
                                           task_vars=task_vars))
        # The file contents are not worth echoing back in the task result.
        module_args = result.get('invocation', {}).get('module_args', {})
        if '_migrations' in module_args:
            module_args['_migrations'] = '%d files read from %s' % (len(args['_migrations']), path)
        result['migrations_path'] = path
        return result

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action plugins' shared part: read input on the controller, hand it to the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

COLLECTION_ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..'))


class ControllerInputAction(ActionBase):
    """Resolve the path option, read it, pass it to the module as an internal option.

    Subclasses set MODULE, PATH_OPTION, INTERNAL_OPTION, DEFAULT_PATH,
    RESULT_PATH (the result key that tells the path used) and WHAT (words
    for messages), and implement read(path) -> (value, description).
    """

    TRANSFERS_FILES = False
    MODULE = None
    PATH_OPTION = None
    INTERNAL_OPTION = None
    DEFAULT_PATH = None
    RESULT_PATH = None
    WHAT = None

    def read(self, path):
        raise NotImplementedError

    def _resolve_path(self, path):
        if not path:
            return self.DEFAULT_PATH
        path = os.path.expanduser(path)
        if os.path.isabs(path):
            return path
        try:
            return self._find_needle('files', path)
        except AnsibleError:
            raise AnsibleError('%s %r not found in the role or playbook files folders' % (self.WHAT, path))

    def run(self, tmp=None, task_vars=None):
        result = super(ControllerInputAction, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        try:
            path = self._resolve_path(args.get(self.PATH_OPTION))
            args[self.INTERNAL_OPTION], description = self.read(path)
        except AnsibleError as e:
            result.update(failed=True, msg=to_text(e))
            return result
        args[self.PATH_OPTION] = path
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        # What was read is not worth echoing back in the task result.
        module_args = result.get('invocation', {}).get('module_args', {})
        if self.INTERNAL_OPTION in module_args:
            module_args[self.INTERNAL_OPTION] = description
        result[self.RESULT_PATH] = path
        return result

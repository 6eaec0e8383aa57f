# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the schema definition on the controller and hand its content to the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import yaml

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

try:
    # libyaml's loader: five times faster on definitions of thousands of tables.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:
    from yaml import SafeLoader as _SafeLoader

DEFAULT_PATH = os.path.normpath(os.path.join(os.path.dirname(__file__), '..', '..', 'files', 'schema', 'tmi.yml'))


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
            raise AnsibleError('schema definition %r not found in the role or playbook files folders' % path)

    @staticmethod
    def _read_definition(path):
        if not os.path.isfile(path):
            raise AnsibleError('schema definition %s does not exist or is not a file' % path)
        try:
            with open(path, 'rb') as f:
                data = yaml.load(f.read().decode('utf-8'), Loader=_SafeLoader)
        except UnicodeDecodeError as e:
            raise AnsibleError('%s: not valid UTF-8 (byte %d)' % (path, e.start))
        except yaml.YAMLError as e:
            raise AnsibleError('%s: not valid YAML: %s' % (path, e))
        if not isinstance(data, dict):
            raise AnsibleError('%s: a schema definition is a YAML mapping (version, schema, tables)' % path)
        return data

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        args = dict(self._task.args)
        try:
            path = self._resolve_path(args.get('definition'))
            args['_definition'] = self._read_definition(path)
        except AnsibleError as e:
            result.update(failed=True, msg=to_text(e))
            return result
        args['definition'] = path
        result.update(self._execute_module(module_name='tmi.postgresql.schema_validate', module_args=args,
                                           task_vars=task_vars))
        # The definition is not worth echoing back in the task result.
        module_args = result.get('invocation', {}).get('module_args', {})
        if '_definition' in module_args:
            module_args['_definition'] = 'read from %s' % path
        result['definition_path'] = path
        return result

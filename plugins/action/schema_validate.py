# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the schema definition on the controller and hand its content to the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import yaml

from ansible.errors import AnsibleError
from ansible_collections.tmi.postgresql.plugins.plugin_utils.controller_files import (
    COLLECTION_ROOT,
    ControllerInputAction,
)

try:
    # libyaml's loader: five times faster on definitions of thousands of tables.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:
    from yaml import SafeLoader as _SafeLoader


class ActionModule(ControllerInputAction):

    MODULE = 'tmi.postgresql.schema_validate'
    PATH_OPTION = 'definition'
    INTERNAL_OPTION = '_definition'
    DEFAULT_PATH = os.path.join(COLLECTION_ROOT, 'files', 'schema', 'tmi.yml')
    RESULT_PATH = 'definition_path'
    WHAT = 'schema definition'

    def read(self, path):
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
        return data, 'read from %s' % path

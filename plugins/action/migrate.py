# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the migration directory on the controller and hand the files to the module."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible_collections.tmi.postgresql.plugins.plugin_utils.controller_files import (
    COLLECTION_ROOT,
    ControllerInputAction,
)


class ActionModule(ControllerInputAction):

    MODULE = 'tmi.postgresql.migrate'
    PATH_OPTION = 'path'
    INTERNAL_OPTION = '_migrations'
    DEFAULT_PATH = os.path.join(COLLECTION_ROOT, 'files', 'migrations')
    RESULT_PATH = 'migrations_path'
    WHAT = 'migration directory'

    def read(self, path):
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
        return files, '%d files read from %s' % (len(files), path)

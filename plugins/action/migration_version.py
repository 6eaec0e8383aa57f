# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the migration directory on the controller and hand the files to migration_version."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.action.migrate import ActionModule as MigrateAction


class ActionModule(MigrateAction):

    MODULE = 'tmi.postgresql.migration_version'

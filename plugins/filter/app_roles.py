# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.app_roles, app_role_errors, app_role_grants, app_role_hba_lines: the application login roles.

Thin wrappers of plugins/module_utils/app_roles.py. Documentation: the .yml files beside this one.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils.app_roles import (
    AppRoleError,
    errors,
    grants,
    hba_lines,
    normalise,
    verifiers,
)


def app_roles(roles, **settings):
    try:
        return normalise(roles, **settings)
    except AppRoleError as e:
        raise AnsibleFilterError(str(e))


def app_role_errors(roles, **settings):
    return errors(roles, **settings)


def app_role_grants(rows, roles, database, schema, owner, **privileges):
    try:
        return grants(roles, rows, database, schema, owner, **privileges)
    except ValueError as e:
        raise AnsibleFilterError('app_role_grants: %s' % e)


def app_role_hba_lines(roles, database):
    return hba_lines(roles, database)


def app_role_verifiers(rows, roles):
    return verifiers(roles, rows)


class FilterModule(object):
    def filters(self):
        return {
            'app_roles': app_roles,
            'app_role_errors': app_role_errors,
            'app_role_grants': app_role_grants,
            'app_role_hba_lines': app_role_hba_lines,
            'app_role_verifiers': app_role_verifiers,
        }

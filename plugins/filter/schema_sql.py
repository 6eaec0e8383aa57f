# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.schema_sql: the CREATE statements of a schema definition.

A filter and not a module: generating SQL needs neither a database nor a
managed host, only the definition on the controller, and a filter's result
composes with whatever runs or stores the SQL (community.postgresql.postgresql_script,
ansible.builtin.copy, a template). Documentation: schema_sql.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError


def schema_sql(definition, record_version=True, source='definition'):
    """Return the SQL that creates every table, constraint and index of definition (a dict)."""
    # Imported here, not with the file: Ansible loads every filter file of the
    # collection in the worker process of each task that uses any of its
    # filters, and these modules compile their regular expressions on import
    # (about 40 ms for every such task of a play).
    from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import (
        DefinitionError,
        load_definition,
    )
    from ansible_collections.tmi.postgresql.plugins.module_utils.schema_sql import generate_sql

    try:
        return generate_sql(load_definition(definition, source), record_version=record_version)
    except DefinitionError as e:
        raise AnsibleFilterError(str(e))


class FilterModule(object):
    def filters(self):
        return {'schema_sql': schema_sql}

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: migration_version
short_description: Read the migration version of a database, and what rolling back from it would need
version_added: 0.1.0
description:
  - Reads golang-migrate's C(schema_migrations) row (version and dirty flag) and compares it with the
    migration files, without taking the migration lock and without changing anything.
  - Tells which applied versions have no C(.down.sql) file, so a flow knows before it tries whether the
    rollback migrations can bring the database back to an older version.
  - The migration files are read on the controller by the action plugin and handed to the module, as for
    M(tmi.postgresql.migrate).
author:
  - TMI operations engineers (@tmi)
options:
  path:
    description:
      - Directory on the controller that holds the migration files, as for M(tmi.postgresql.migrate).
      - Defaults to the C(files/migrations) directory of this collection, TMI's migrations.
    type: path
  since:
    description:
      - Version a rollback would go back to; RV(without_down) lists the applied versions above it.
    type: int
    default: 0
  _migrations:
    description:
      - Internal, set by the action plugin; do not set it.
    type: list
    elements: dict
extends_documentation_fragment:
  - tmi.postgresql.read_only
  - community.postgresql.postgres
  - tmi.postgresql.connection
seealso:
  - module: tmi.postgresql.migrate
'''

EXAMPLES = r'''
- name: Read the version of TMI's database
  tmi.postgresql.migration_version:
    login_db: tmi
  become: true
  become_user: postgres
  register: tmi_version

- name: Can the rollback migrations bring the database back to version 5?
  tmi.postgresql.migration_version:
    login_db: tmi
    since: 5
  register: back_to_5
  # back_to_5.without_down == [] when they can
'''

RETURN = r'''
version:
  description: Version recorded in schema_migrations (0 when none).
  returned: success
  type: int
  sample: 8
dirty:
  description: Whether the database is marked dirty (a migration outside a transaction failed part-way).
  returned: success
  type: bool
  sample: false
newest:
  description: Newest version among the migration files (0 when there is none).
  returned: success
  type: int
  sample: 8
pending:
  description: Up migrations above the recorded version.
  returned: success
  type: list
  elements: dict
  sample: [{"version": 8, "name": "add_additional_constraints"}]
without_down:
  description: Applied versions above O(since), up to the recorded one, that have no C(.down.sql) file.
  returned: success
  type: list
  elements: int
  sample: [9]
migrations_path:
  description: Directory on the controller the migrations were read from.
  returned: always
  type: str
  sample: /home/ops/collections/ansible_collections/tmi/postgresql/files/migrations
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_db import MigrationDatabase
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_plan import (
    pending_migrations,
    versions_without_down,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import (
    MigrationError,
    load_migrations,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    connection_argument_spec,
    module_connection,
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        path=dict(type='path'),
        since=dict(type='int', default=0),
        _migrations=dict(type='list', elements='dict'),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if module.params['_migrations'] is None:
        module.fail_json(msg='tmi.postgresql.migration_version must run through its action plugin, which reads '
                             'the migration files on the controller')
    try:
        migrations = load_migrations(dict((f['filename'], f['content']) for f in module.params['_migrations']))
    except MigrationError as e:
        module.fail_json(msg=str(e))
    with module_connection(module, MigrationError, wrap=MigrationDatabase) as db:
        state = db.read_state()
    module.exit_json(changed=False, version=state.version, dirty=state.dirty,
                     newest=migrations[-1].version if migrations else 0,
                     pending=pending_migrations(migrations, state.version),
                     without_down=versions_without_down(migrations, state.version, module.params['since']))


if __name__ == '__main__':
    main()

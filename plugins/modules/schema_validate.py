#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: schema_validate
short_description: Compare a live database with a schema definition
version_added: 0.1.0
description:
  - Compares the tables, columns (type with length and precision, nullability, default), primary
    keys, unique constraints, foreign keys (columns, target, C(ON DELETE) and C(ON UPDATE)), CHECK
    rules and indexes (ordered columns, uniqueness, predicate, method) of a database with a schema
    definition, and the migration version and dirty flag that golang-migrate's
    C(schema_migrations) table records.
  - Returns findings per table and object with a severity. C(error) for anything the definition
    requires that is missing or different, and for a dirty or wrong migration version; C(warning)
    for tables, columns, indexes and constraints the definition does not know; C(info) for what
    matches.
  - Types, defaults, CHECK rules and index predicates are compared in PostgreSQL's own canonical
    spelling (C(format_type), C(pg_get_constraintdef), C(pg_get_expr)), so C(varchar(320)) and
    C(character varying(320)), or C(timestamptz) and C(timestamp with time zone), are the same,
    and a CHECK rule written C(IN (...)) matches the C(= ANY (ARRAY[...])) that PostgreSQL stores.
    The module lets the server spell the definition by creating it as temporary tables in a
    transaction that it rolls back.
  - The catalog is read with a fixed number of queries, one per kind of object over all tables,
    whatever the number of tables.
  - The migration tool's own tables, C(schema_migrations) and C(schema_migrations_history), are
    expected and never reported as extra.
  - The definition is read on the controller by the action plugin and handed to the module.
author:
  - TMI operations engineers (@tmi)
options:
  definition:
    description:
      - Schema definition file (YAML) on the controller.
      - A relative path is searched like the C(src) of M(ansible.builtin.copy) (the role's and
        the playbook's C(files) folders).
      - Defaults to the C(files/schema/tmi.yml) file of this collection, TMI's schema at migration
        version 8.
      - See that file for the format.
    type: path
  schema:
    description:
      - PostgreSQL schema to validate. Defaults to the C(schema) of the definition (C(public)).
    type: str
  fail_on_error:
    description:
      - Fail the task when any finding has severity C(error). The result is returned either way.
    type: bool
    default: true
  row_counts:
    description:
      - C(exact) counts the rows of every table with C(count(*)) (one statement for all tables);
        C(estimate) reports only the planner's estimate C(reltuples), which costs nothing.
    type: str
    choices: [exact, estimate]
    default: exact
  report_matches:
    description:
      - Return an C(info) finding for every object that matches. Turn off to keep the result small
        for very large schemas; the summary still counts errors and warnings.
    type: bool
    default: true
  _definition:
    description:
      - Internal, set by the action plugin; do not set it. The parsed content of the O(definition) file.
    type: dict
extends_documentation_fragment:
  - tmi.postgresql.read_only
  - community.postgresql.postgres
  - tmi.postgresql.connection
seealso:
  - module: tmi.postgresql.migrate
  - module: community.postgresql.postgresql_info
  - name: System catalog pg_constraint
    description: Where PostgreSQL keeps constraints and their canonical definition.
    link: https://www.postgresql.org/docs/current/catalog-pg-constraint.html
notes:
  - The login role needs the C(TEMPORARY) privilege on the database (PostgreSQL grants it to
    C(PUBLIC) by default) and a server that accepts writes, because the definition is spelled
    through temporary tables; they are never committed. On a hot standby the module fails.
  - The SQL text in the definition (types, defaults, CHECK rules, predicates, index expressions)
    becomes part of the statements that create the temporary tables. Each piece is checked with
    PostgreSQL's token rules when the definition is loaded, and refused with the table and object
    it belongs to when it could leave its place (an unterminated quote or comment, unbalanced
    parentheses, a C(;) or a backslash outside quotes).
  - Those statements run inside a temporary PL/pgSQL function, where PostgreSQL refuses C(COMMIT)
    and C(ROLLBACK), in a transaction that is always rolled back. The module checks after every
    statement that this transaction is still open and stops otherwise.
  - Objects are matched by name, as TMI's own validation does. Index sort order (C(DESC)) and
    operator classes are not compared.
'''

EXAMPLES = r'''
- name: Validate the TMI database against the schema the collection ships
  tmi.postgresql.schema_validate:
    login_db: tmi
  become: true
  become_user: postgres

- name: Report drift without failing the play, then show the errors
  tmi.postgresql.schema_validate:
    login_host: db.example.org
    login_user: tmi_monitor
    login_password: "{{ vault_tmi_monitor_password }}"
    login_db: tmi
    fail_on_error: false
  register: tmi_schema

- name: Show what does not match
  ansible.builtin.debug:
    var: tmi_schema.errors
  when: not tmi_schema.valid

- name: Validate an application's own schema from the playbook's files folder
  tmi.postgresql.schema_validate:
    login_db: app
    definition: app-schema.yml
    row_counts: estimate
'''

RETURN = r'''
valid:
  description: Whether no finding has severity C(error).
  returned: success or when errors were found
  type: bool
  sample: true
summary:
  description: Counts of findings by severity, and the expected, present, missing and extra tables.
  returned: success or when errors were found
  type: dict
  sample: {"errors": 0, "warnings": 1, "matched": 103, "tables_expected": 7, "tables_present": 7,
           "tables_missing": [], "tables_extra": ["audit_log"], "valid": true}
findings:
  description:
    - Every finding, errors first in the order of the definition.
    - C(object_type) is one of C(migration), C(definition), C(table), C(column), C(primary key), C(unique),
      C(foreign key), C(check), C(exclusion), C(index).
  returned: success or when errors were found
  type: list
  elements: dict
  sample: [{"severity": "error", "object_type": "foreign key", "table": "threat_models",
            "object": "threat_models_owner_email_fkey",
            "message": "foreign key threat_models_owner_email_fkey: ON DELETE is cascade, expected restrict",
            "expected": "restrict", "actual": "cascade"}]
errors:
  description: The findings with severity C(error).
  returned: success or when errors were found
  type: list
  elements: dict
tables:
  description:
    - Per table of the definition and of the database, its status (C(present), C(missing), C(extra),
      C(migration tool)), a verdict for its columns, indexes and constraints (C(ok), C(warning), C(error),
      C(missing)), its row count (C(null) when O(row_counts=estimate)), the planner's estimate (C(null) for
      a table never vacuumed or analyzed) and its size on disk with indexes and TOAST.
  returned: success or when errors were found
  type: dict
  sample: {"users": {"status": "present", "columns": "ok", "indexes": "ok", "constraints": "ok",
                     "rows": 42, "row_estimate": 42, "size_bytes": 81920}}
migration:
  description: The version the definition describes and what C(schema_migrations) records.
  returned: success or when errors were found
  type: dict
  sample: {"expected_version": 8, "table_exists": true, "version": 8, "dirty": false}
server_version:
  description: The server's C(server_version).
  returned: success or when errors were found
  type: str
  sample: "15.14 (Debian 15.14-0+deb12u1)"
schema:
  description: The PostgreSQL schema that was validated.
  returned: success or when errors were found
  type: str
  sample: public
queries:
  description: Number of statements sent to the server. It does not grow with the number of tables.
  returned: success or when errors were found
  type: int
  sample: 15
duration_ms:
  description: Time spent connected to the database, in milliseconds.
  returned: success or when errors were found
  type: int
  sample: 80
definition_path:
  description: The definition file on the controller.
  returned: always
  type: str
  sample: /home/ops/collections/ansible_collections/tmi/postgresql/files/schema/tmi.yml
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    TransactionEnded,
    connection_argument_spec,
    module_connection,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_canonical import CanonicalizeError
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import (
    DefinitionError,
    load_definition,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_validation import (
    summary_line,
    validate,
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        definition=dict(type='path'),
        schema=dict(type='str'),
        fail_on_error=dict(type='bool', default=True),
        row_counts=dict(type='str', choices=['exact', 'estimate'], default='exact'),
        report_matches=dict(type='bool', default=True),
        # Filled in by the action plugin: the parsed YAML of the definition file.
        _definition=dict(type='dict'),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if module.params['_definition'] is None:
        module.fail_json(msg='tmi.postgresql.schema_validate must run through its action plugin, which reads '
                             'the definition file on the controller')
    try:
        definition = load_definition(module.params['_definition'], module.params['definition'] or 'definition')
    except DefinitionError as e:
        module.fail_json(msg=str(e))
    if module.params['schema']:
        definition.schema = module.params['schema']

    with module_connection(module, CanonicalizeError, TransactionEnded,
                           database_message='database error while reading the catalog of schema %s'
                           % definition.schema) as conn:
        result = validate(conn, definition, exact_counts=module.params['row_counts'] == 'exact',
                          report_matches=module.params['report_matches'])

    result['msg'] = summary_line(result)
    if not result['valid'] and module.params['fail_on_error']:
        first = '; '.join(f['message'] for f in result['errors'][:5])
        more = ' (and %d more)' % (len(result['errors']) - 5) if len(result['errors']) > 5 else ''
        module.fail_json(msg='%s: %s%s' % (result['msg'], first, more), changed=False, **_without_msg(result))
    module.exit_json(changed=False, **result)


def _without_msg(result):
    return dict((k, v) for k, v in result.items() if k != 'msg')


if __name__ == '__main__':
    main()

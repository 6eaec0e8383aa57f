#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: migrate
short_description: Apply or roll back golang-migrate style SQL migrations, one transaction each
version_added: 0.1.0
description:
  - Applies the C(NNNNNN_name.up.sql) files of a migration directory that the database has not
    applied yet, or rolls back with the C(.down.sql) files, and records the version in
    golang-migrate's C(schema_migrations) table, so TMI's own start-up migration, the C(migrate)
    CLI and this module read and write the same state and exclude each other with the same
    advisory lock.
  - Each migration runs in one transaction together with its version update and its history
    row, so a failing migration leaves the database exactly as it was, and the error names the
    file, the line and PostgreSQL's message. A file whose first line is C(-- tmi:no-transaction)
    (for C(CREATE INDEX CONCURRENTLY) and the like) runs outside a transaction with
    golang-migrate's dirty-flag protocol.
  - Every applied step is recorded in C(schema_migrations_history) with the SHA-256 of its file.
    An applied file that has changed since stops the run before anything executes.
  - The migration files are read on the controller by the action plugin and handed to the module.
  - Everything about the files (names, duplicate versions, empty files, missing down files,
    versions added out of order) is checked before the database is changed.
author:
  - TMI operations engineers (@tmi)
options:
  path:
    description:
      - Directory on the controller that holds the migration files.
      - A relative path is searched like the C(src) of M(ansible.builtin.copy) (the role's and
        the playbook's C(files) folders).
      - Defaults to the C(files/migrations) directory of this collection, TMI's migrations.
      - Hidden files are ignored; any other file whose name is not C(NNNNNN_name.up.sql) or
        C(NNNNNN_name.down.sql) is an error.
    type: path
  target:
    description:
      - Version to move to. C(latest) applies every pending migration.
      - A version below the current one rolls back and requires O(allow_down=true). C(0) rolls
        back everything.
      - Mutually exclusive with O(steps) and O(force_version).
    type: str
    default: latest
  steps:
    description:
      - Move this many versions from the current one instead of to a target. A positive
        number applies, a negative one rolls back (and requires O(allow_down=true)).
    type: int
  allow_down:
    description:
      - Allow rolling back. Down migrations usually drop columns or tables and the data in them.
    type: bool
    default: false
  force_version:
    description:
      - Record this version as applied and clear the dirty flag without running any migration,
        like golang-migrate's C(force). C(0) records that no migration is applied.
      - Use it after repairing a database that a failed migration left dirty.
    type: int
  allow_modified:
    description:
      - Accept applied migration files whose SHA-256 differs from the one recorded when they ran.
        A warning names them.
    type: bool
    default: false
  lock_timeout:
    description:
      - Seconds to wait for the migration lock held by another run (this module, TMI's
        start-up or the migrate CLI) before failing with the holder named.
      - Above 0 and at most 86400 (a day).
    type: float
    default: 60
  _migrations:
    description:
      - Internal, set by the action plugin; do not set it. The migration files read on the
        controller, as a list of C(filename) and C(content).
    type: list
    elements: dict
extends_documentation_fragment:
  - community.postgresql.postgres
  - tmi.postgresql.connection
attributes:
  check_mode:
    support: full
    description: Reports the plan (the versions that would be applied or rolled back) and changes nothing.
  diff_mode:
    support: full
    description: Shows the version before and after, and the SQL of every planned step.
seealso:
  - module: community.postgresql.postgresql_script
  - name: golang-migrate
    description: The migration tool TMI runs at start-up, whose table and lock this module shares.
    link: https://github.com/golang-migrate/migrate
notes:
  - The module takes C(pg_try_advisory_lock) with golang-migrate's lock id for the current schema,
    C(schema_migrations) and the database, polling until O(lock_timeout).
  - A file wrapped in C(BEGIN;) ... C(COMMIT;) runs as written in one transaction (the wrapper is
    dropped); any other transaction control statement is refused.
'''

EXAMPLES = r'''
- name: Bring the TMI database to the newest schema version
  tmi.postgresql.migrate:
    login_db: tmi
    login_user: tmi_owner
  become: true
  become_user: postgres

- name: Show what would run, with the SQL, without changing anything
  tmi.postgresql.migrate:
    login_db: tmi
  check_mode: true
  diff: true

- name: Roll back to version 5 (drops what 6..8 added)
  tmi.postgresql.migrate:
    login_db: tmi
    target: "5"
    allow_down: true

- name: Apply only the next migration
  tmi.postgresql.migrate:
    login_db: tmi
    steps: 1

- name: Record version 8 as clean after repairing a failed no-transaction migration by hand
  tmi.postgresql.migrate:
    login_db: tmi
    force_version: 8

- name: Apply an application's own migrations from the playbook's files/db folder
  tmi.postgresql.migrate:
    login_host: db.example.org
    login_user: app_owner
    login_password: "{{ vault_app_owner_password }}"
    ssl_mode: verify-full
    ca_cert: /etc/ssl/certs/db-ca.pem
    login_db: app
    path: db
'''

RETURN = r'''
version_before:
  description: Version recorded before the run (0 when none).
  returned: always
  type: int
  sample: 5
version_after:
  description: Version recorded after the run (in check mode, the version the run would reach).
  returned: always
  type: int
  sample: 8
dirty:
  description: Whether the database is marked dirty after the run.
  returned: always
  type: bool
  sample: false
applied:
  description: Steps that ran, in order (empty in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{"version": 6, "name": "update_schema", "direction": "up", "duration_ms": 12}]
plan:
  description: Steps the run planned, in order (the same as RV(applied) without durations unless it failed).
  returned: always
  type: list
  elements: dict
  sample: [{"version": 6, "name": "update_schema", "direction": "up"}]
pending:
  description: Up migrations not applied after the run (in check mode, those that would still be pending).
  returned: always
  type: list
  elements: dict
  sample: [{"version": 8, "name": "add_additional_constraints"}]
without_down:
  description:
    - Versions the run applies (in check mode, would apply) that have no C(.down.sql) file, so that the rollback
      migrations could not undo the run. Empty when rolling back.
  returned: always
  type: list
  elements: int
  sample: [9]
duration_ms:
  description: Time the module spent connected to the database, in milliseconds.
  returned: success
  type: int
  sample: 84
migrations_path:
  description: Directory on the controller the migrations were read from.
  returned: always
  type: str
  sample: /home/ops/collections/ansible_collections/tmi/postgresql/files/migrations
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_db import (
    LockTimeout,
    MigrationDatabase,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_plan import (
    check_applied_files,
    check_options,
    check_out_of_order,
    pending_migrations,
    plan_steps,
    resolve_target,
    versions_without_down,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import (
    MigrationError,
    load_migrations,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import (
    DATABASE_ERRORS,
    connection_argument_spec,
    module_connection,
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        path=dict(type='path'),
        target=dict(type='str', default='latest'),
        steps=dict(type='int'),
        allow_down=dict(type='bool', default=False),
        force_version=dict(type='int'),
        allow_modified=dict(type='bool', default=False),
        lock_timeout=dict(type='float', default=60),
        # Filled in by the action plugin: [{filename, content}] read on the controller.
        _migrations=dict(type='list', elements='dict'),
    )
    return spec


def dirty_message(state):
    return ('the database is dirty at version %d: a migration that runs outside a transaction (or a '
            'golang-migrate run) failed part-way, so the schema may be half changed. Inspect it, finish or undo '
            'that migration by hand, then run this module with force_version: <the version the schema is '
            'really at> (%d if the migration completed, the version below it if nothing of it remains)'
            % (state.version, state.version))


def diff_of(steps, version_before, version_after):
    sql = '\n'.join('-- %s (%s)\n%s' % (s.file.filename, s.direction, s.file.content.rstrip()) for s in steps)
    return dict(before='version: %d\n' % version_before, after='version: %d\n' % version_after,
                before_header='schema_migrations', after_header='schema_migrations', prepared=sql)


def force(module, db, migrations, result):
    version = module.params['force_version']
    names = dict((m.version, m.name) for m in migrations)
    if version != 0 and version not in names:
        raise MigrationError('force_version %d is not a migration version (or 0)' % version)
    result.update(version_after=version, dirty=False, pending=pending_migrations(migrations, version))
    try:
        state = db.read_state()
    except MigrationError as e:  # force_version is how a damaged schema_migrations row is repaired
        module.warn('replacing what the database recorded: %s' % e)
    else:
        result['version_before'] = state.version
        if state.version == version and not state.dirty:
            return
    result['changed'] = True
    if not module.check_mode:
        db.ensure_tables()
        db.force(version, names.get(version, ''))


def migrate(module, db, migrations, result):
    state = db.read_state()
    result.update(version_before=state.version, version_after=state.version, dirty=state.dirty)
    if state.dirty:
        raise MigrationError(dirty_message(state))
    check_out_of_order(migrations, state)
    for warning in check_applied_files(migrations, state, module.params['allow_modified']):
        module.warn(warning)
    target = resolve_target(migrations, state.version, module.params['target'], module.params['steps'])
    steps = plan_steps(migrations, state.version, target, module.params['allow_down'])
    result['plan'] = [s.summary() for s in steps]
    result['pending'] = pending_migrations(migrations, target)
    result['without_down'] = versions_without_down(migrations, target, since=state.version)
    if module._diff and steps:
        result['diff'] = diff_of(steps, state.version, target)
    if not steps:
        return
    result['changed'] = True
    if module.check_mode:
        result['version_after'] = target
        return
    db.ensure_tables()
    try:
        for step in steps:
            duration_ms = db.apply(step)
            result['applied'].append(dict(step.summary(), duration_ms=duration_ms))
            result['version_after'] = step.version_after
    except BaseException:
        if result['applied']:
            db.flush(quietly=True)
        raise
    db.flush()


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        mutually_exclusive=[('steps', 'force_version')],
        supports_check_mode=True,
    )
    if module.params['_migrations'] is None:
        module.fail_json(msg='tmi.postgresql.migrate must run through its action plugin, which reads the '
                             'migration files on the controller')
    if module.params['target'] != 'latest' and (module.params['steps'] is not None
                                                or module.params['force_version'] is not None):
        module.fail_json(msg='target cannot be combined with steps or force_version')

    result = dict(changed=False, applied=[], plan=[], pending=[], without_down=[], version_before=0, version_after=0,
                  dirty=False)
    try:
        check_options(module.params)
        migrations = load_migrations(dict((f['filename'], f['content']) for f in module.params['_migrations']))
    except MigrationError as e:
        module.fail_json(msg=str(e), **result)

    started = time.monotonic()
    with module_connection(module, MigrationError, LockTimeout, wrap=MigrationDatabase,
                           fail=lambda msg, handle: fail(module, handle, result, msg)) as db:
        if not module.check_mode:
            db.lock(module.params['lock_timeout'])
        if module.params['force_version'] is not None:
            force(module, db, migrations, result)
        else:
            migrate(module, db, migrations, result)
    result['duration_ms'] = int((time.monotonic() - started) * 1000)
    module.exit_json(**result)


def fail(module, db, result, msg):
    """Fail with what did happen: the steps that committed and the dirty flag as it is now."""
    if not module.check_mode:
        result['changed'] = bool(result['applied'])
    if db is not None:
        try:
            result['dirty'] = db.read_state().dirty
        except DATABASE_ERRORS + (MigrationError,):
            pass
    module.fail_json(msg=msg, **result)


if __name__ == '__main__':
    main()

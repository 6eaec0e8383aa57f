# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database layer shared by the modules of tmi.postgresql.

The options and the connect call are community.postgresql's; this file adds
``login_db`` and hands back a connection in autocommit mode (the modules
decide themselves where each transaction begins and ends), and
module_connection, the way every module of the collection holds one: errors
turned into the module's failure, the connection closed however it ends. The rest (rows as
tuples whatever the driver, error descriptions, Session) lives in pg_session,
which imports nothing of Ansible, and is re-exported here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from contextlib import contextmanager

from ansible_collections.community.postgresql.plugins.module_utils.postgres import (
    connect_to_db,
    ensure_required_libs,
    get_conn_params,
    postgres_common_argument_spec,
)
# Re-exported for the modules (the schema validation imports pg_session itself).
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_session import (  # noqa: F401 pylint: disable=unused-import
    DATABASE_ERRORS,
    Session,
    TransactionEnded,
    describe_database_error,
    fetch_rows,
    sqlstate,
    tuple_cursor,
)


def connection_argument_spec():
    """Return community.postgresql's connection options plus login_db."""
    spec = postgres_common_argument_spec()
    spec['login_db'] = dict(type='str', required=True, aliases=['db'])
    return spec


def connect(module):
    """Open an autocommit connection with the module's connection options.

    Fails the module with community.postgresql's message when the server
    cannot be reached.
    """
    port = module.params.get('login_port')
    if port is not None and not 1 <= port <= 65535:
        module.fail_json(msg='login_port: %s is not a TCP port (1 to 65535)' % port)
    ensure_required_libs(module)
    conn_params = get_conn_params(module, module.params, warn_db_default=False)
    conn, dummy = connect_to_db(module, conn_params, autocommit=True)
    return conn


@contextmanager
def module_connection(module, *expected_errors, **options):
    """Yield a connection of connect(module); fail the module on an error of the body; always close it.

    An error of one of the classes in expected_errors (the module's own:
    input it refuses, a state it cannot work with) fails the module with its
    text; a driver error fails it with options['database_message'] (default
    'database error'), ': ' and the server's description of the error.

    Options:
    - wrap: called with the connection; its result is yielded instead and its
      close() called at the end (MigrationDatabase, which unlocks first). When
      wrap raises, the connection itself is closed.
    - fail: called as fail(msg, handle) instead of module.fail_json(msg=msg),
      handle being what was yielded (None when wrap raised); it must not
      return (module.fail_json exits), so that nothing after the with runs.
    """
    wrap = options.pop('wrap', None)
    fail = options.pop('fail', None) or (lambda msg, handle: module.fail_json(msg=msg))
    database_message = options.pop('database_message', 'database error')
    if options:
        raise TypeError('module_connection: unknown options %s' % ', '.join(sorted(options)))
    conn = handle = None
    try:
        conn = connect(module)
        handle = wrap(conn) if wrap is not None else conn
        yield handle
    except expected_errors as e:
        fail(str(e), handle)
    except DATABASE_ERRORS as e:
        fail('%s: %s' % (database_message, describe_database_error(e)), handle)
    finally:
        if handle is not None:
            handle.close()
        elif conn is not None:
            conn.close()

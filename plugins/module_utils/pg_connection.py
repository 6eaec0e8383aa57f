# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database layer shared by the modules of tmi.postgresql.

The options and the connect call are community.postgresql's; this file adds
``login_db`` and hands back a connection in autocommit mode (the modules
decide themselves where each transaction begins and ends). The rest (rows as
tuples whatever the driver, error descriptions, Session) lives in pg_session,
which imports nothing of Ansible, and is re-exported here.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

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

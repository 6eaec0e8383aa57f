# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and connect call shared by the modules of tmi.postgresql.

The options and the connect call are community.postgresql's; this file only
adds ``login_db`` and hands back a connection in autocommit mode, because the
modules here decide themselves where each transaction begins and ends.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.community.postgresql.plugins.module_utils.postgres import (
    connect_to_db,
    ensure_required_libs,
    get_conn_params,
    postgres_common_argument_spec,
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
    ensure_required_libs(module)
    conn_params = get_conn_params(module, module.params, warn_db_default=False)
    conn, dummy = connect_to_db(module, conn_params, autocommit=True)
    return conn

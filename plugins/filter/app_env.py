# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filters of TMI's .env (module_utils/app_env.py): app_env_errors, database_url, redis_url.

Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils import app_env


def app_env_errors(settings):
    """The messages of the app_env settings refused; settings has the keyword arguments of app_env.errors."""
    try:
        return app_env.errors(**settings)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError('app_env_errors: %s' % error)


def database_url(user, password, host, port, database, sslmode, sslrootcert=''):
    """DATABASE_URL, each part percent-encoded."""
    try:
        return app_env.database_url(user, password, host, port, database, sslmode, sslrootcert)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError('database_url: %s' % error)


def redis_url(user, password, host, port, db, tls):
    """REDIS_URL, each part percent-encoded; rediss:// with TLS."""
    try:
        return app_env.redis_url(user, password, host, port, db, tls)
    except (TypeError, ValueError) as error:
        raise AnsibleFilterError('redis_url: %s' % error)


class FilterModule(object):
    def filters(self):
        return {'app_env_errors': app_env_errors, 'database_url': database_url, 'redis_url': redis_url}

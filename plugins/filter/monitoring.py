# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of tmi.postgresql.monitoring: where an exporter listens, and its connection string.

exporter_listen_errors: the listen addresses that are malformed, or wider than
loopback without basic auth. monitoring_setting_errors: the role's other
settings it refuses (the TLS certificate without its key, the user's name, the
textfile folder). exporter_dsn: the exporter's DATA_SOURCE_NAME, a
postgresql:// URL whose parts are percent-encoded. Documentation: one .yml per
filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.urllib.parse import quote
from ansible_collections.tmi.postgresql.plugins.module_utils.listen import is_loopback, split_listen
from ansible_collections.tmi.postgresql.plugins.plugin_utils.setting_names import check_setting_names

# A PostgreSQL role name written unquoted (63 bytes at most), lower case.
IDENTIFIER = re.compile(r'[a-z_][a-z0-9_]{0,62}')
SETTINGS = frozenset(('monitoring_web_tls_cert_file', 'monitoring_web_tls_key_file', 'monitoring_user',
                      'monitoring_textfile_dir'))


def exporter_listen_errors(listeners, basic_auth=False):
    """One message per listen address of listeners (variable name -> HOST:PORT) that is refused.

    A malformed address is refused; an address other than loopback is refused
    without basic auth (basic_auth true), since the exporters would answer
    anyone who reaches it.
    """
    if not isinstance(listeners, dict):
        raise AnsibleFilterError('exporter_listen_errors expects a mapping of variable name to HOST:PORT, not %s'
                                 % type(listeners).__name__)
    errors = []
    ports = {}
    for name, listen in listeners.items():
        try:
            host, port = split_listen(listen)
        except ValueError as e:
            errors.append('%s is %r: %s.' % (name, listen, e))
            continue
        if port in ports:
            errors.append('%s and %s both use port %d: each exporter needs its own.' % (ports[port], name, port))
        ports.setdefault(port, name)
        if not is_loopback(host) and not basic_auth:
            errors.append('%s is %s, which is not a loopback address, and monitoring_web_basic_auth is false:'
                          ' the exporter would answer anyone who reaches it. Set monitoring_web_basic_auth'
                          ' (and the TLS certificate and key) or listen on 127.0.0.1.' % (name, listen))
    return errors


def _shown(value):
    return 'empty' if value in ('', None) else str(value)


def monitoring_setting_errors(settings):
    """One message per setting of the monitoring role (variable name -> value) that the role refuses.

    The ranges and the listen addresses are range_errors' and exporter_listen_errors'.
    """
    check_setting_names('monitoring_setting_errors', settings, SETTINGS)
    errors = []
    cert, key = settings['monitoring_web_tls_cert_file'], settings['monitoring_web_tls_key_file']
    if (cert in ('', None)) != (key in ('', None)):
        errors.append('monitoring_web_tls_cert_file and monitoring_web_tls_key_file go together: set both or neither'
                      ' (monitoring_web_tls_cert_file is %s, monitoring_web_tls_key_file is %s).'
                      % (_shown(cert), _shown(key)))
    user = settings['monitoring_user']
    if not isinstance(user, str) or not IDENTIFIER.fullmatch(user):
        errors.append('monitoring_user (%s) must be a lower-case identifier.' % (user,))
    textfile_dir = settings['monitoring_textfile_dir']
    if not isinstance(textfile_dir, str) or not textfile_dir.startswith('/'):
        errors.append('monitoring_textfile_dir (%s) must be an absolute path.' % (textfile_dir,))
    return errors


def exporter_listen_is_loopback(listen):
    """True when the exporter's listen address HOST:PORT is a loopback one."""
    try:
        host, dummy = split_listen(listen)
    except ValueError as e:
        raise AnsibleFilterError('exporter_listen_is_loopback: %r: %s' % (listen, e))
    return is_loopback(host)


def exporter_dsn(user, password, database, host, port, sslmode='disable'):
    """The exporter's DATA_SOURCE_NAME: postgresql://USER:PASSWORD@/DATABASE?host=...&port=...&sslmode=...

    Every part is percent-encoded, so the URL has no quote, space, backslash or
    dollar sign: it is written as is in a shell or systemd environment file.
    A host that starts with / is the folder of the Unix socket.
    """
    for name, value in (('user', user), ('password', password), ('database', database), ('host', host)):
        if not isinstance(value, str) or not value:
            raise AnsibleFilterError('exporter_dsn: the %s must be a non-empty string' % name)
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise AnsibleFilterError('exporter_dsn: the port must be a number, not %r' % (port,))

    def part(value):
        return quote(value, safe='')
    return 'postgresql://%s:%s@/%s?host=%s&port=%d&sslmode=%s' % (
        part(user), part(password), part(database), part(host), port, part(sslmode))


class FilterModule(object):
    def filters(self):
        return {
            'exporter_dsn': exporter_dsn,
            'exporter_listen_errors': exporter_listen_errors,
            'exporter_listen_is_loopback': exporter_listen_is_loopback,
            'monitoring_setting_errors': monitoring_setting_errors,
        }

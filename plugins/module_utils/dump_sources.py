# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database hosts whose logical dumps a repository host takes (tmi.postgresql.dump_repo).

Pure functions, no Ansible and no database: plugins/filter/dump_sources.py exposes them.

check() checks the list an inventory gives (every problem at once, each naming the entry and the field,
never a password) and fills in what an entry leaves out from the role's settings. Each entry comes back with
a `label`: its name with every character cron and file names cannot carry written '_', unique in the list.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import re

KEYS = ('name', 'host', 'port', 'database', 'cluster', 'user', 'password', 'password_file', 'ca_certificate',
        'ca_path')
DEFAULTED = ('port', 'database', 'cluster', 'user', 'ca_path')
NOT_LABEL = re.compile(r'[^A-Za-z0-9_-]')
LABEL_MAX = 64
PEM_CERTIFICATE = '-----BEGIN CERTIFICATE-----'


def _show(value):
    return "'%s'" % value if isinstance(value, str) else repr(value)


def _port(value):
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and re.match(r'^[0-9]{1,5}$', value):
        number = int(value)
    else:
        return None
    return number if 1 <= number <= 65535 else None


def check(sources, variable='dump_repo_sources', password_dir='', **defaults):
    """(entries, errors): the entries complete, or every fault of the list (then no entry is used).

    defaults: port, database, cluster, user, ca_path of an entry that gives none; password_dir: the controller
    folder of the database hosts' generated passwords, PASSWORD_DIR/NAME/USER.password by default (the
    app_user role's file of that role on that host).
    """
    if not isinstance(sources, list):
        return [], ['%s must be a list of database hosts, each a mapping with name; it is a %s.'
                    % (variable, type(sources).__name__)]
    result, errors, labels = [], [], {}
    for index, entry in enumerate(sources):
        where = '%s[%d]' % (variable, index)
        if not isinstance(entry, dict):
            errors.append('%s is a %s, not a mapping with name.' % (where, type(entry).__name__))
            continue
        name = entry.get('name')
        if isinstance(name, str) and name:
            where = '%s (%s)' % (where, name)
        unknown = sorted(str(key) for key in entry if key not in KEYS)
        if unknown:
            errors.append('%s: unknown field(s) %s; allowed: %s.' % (where, ', '.join(unknown), ', '.join(KEYS)))
        if not isinstance(name, str) or not name.strip():
            errors.append('%s: name is %s: give the database host (its inventory name) or a label.'
                          % (where, _show(name)))
            continue
        out = dict((key, entry.get(key, defaults.get(key))) for key in DEFAULTED)
        out.update(name=name, host=entry.get('host', name))
        label = NOT_LABEL.sub('_', name)[:LABEL_MAX]
        if label in labels:
            errors.append('%s: name %s gives the file names of %s (%s) again.' % (where, name, labels[label], label))
        labels[label] = where
        out['label'] = label
        port = _port(out['port'])
        if port is None:
            errors.append('%s: port is %s: a whole number from 1 to 65535.' % (where, _show(out['port'])))
        out['port'] = port
        for key in ('host', 'database', 'cluster', 'user', 'ca_path'):
            if not isinstance(out[key], str) or not out[key]:
                errors.append('%s: %s is %s: a non-empty string.' % (where, key, _show(out[key])))
        if 'password' in entry and 'password_file' in entry:
            errors.append('%s: give password or password_file, not both.' % where)
        elif 'password' in entry:
            if not isinstance(entry['password'], str) or not entry['password']:
                errors.append('%s: password is empty or not a string.' % where)
            out['password'] = entry['password']
        else:
            default_file = os.path.join(password_dir, name, '%s.password' % out['user'])
            out['password_file'] = entry.get('password_file') or default_file
        if 'ca_certificate' in entry:
            certificate = entry['ca_certificate']
            if not isinstance(certificate, str) or PEM_CERTIFICATE not in certificate:
                errors.append('%s: ca_certificate is not a PEM certificate (%s ...).' % (where, PEM_CERTIFICATE))
            out['ca_certificate'] = certificate
        result.append(out)
    return (result, []) if not errors else ([], errors)

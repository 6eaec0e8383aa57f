# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The application login roles: the list an inventory gives, checked and completed, and what each needs.

Pure functions, no Ansible and no database: the filters in plugins/filter/app_roles.py expose them to the
app_user, pg_hba and app_env roles.

- check() checks the list (every problem at once, each naming the entry and the field) and fills in
  what an entry leaves out from the roles' settings, so that TMI's role is still built from
  tmi_postgresql_app_user, tmi_postgresql_app_password and the app_user_* settings.
- grants() compares the privileges each role needs with those one catalog query found (the app_user
  role's __app_user_privileges_query: rows of kind, obj, role, privilege, grantable) and returns the
  few community.postgresql.postgresql_privs calls that close the gap: none when nothing is missing or
  extra.
- hba_lines() returns the pg_hba.conf lines of the roles.
- verifiers() tells which roles already exist as app_user makes them (rows of the role's
  __app_user_roles_query), with the SCRAM verifier each holds: the role then calls
  community.postgresql.postgresql_user only for the others, or when the password changed.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import ipaddress
import os
import re

# backup: what pg_dump needs to read TMI's schema whole (its tables and the state of its sequences), nothing more.
RIGHTS = ('read-write', 'read-only', 'backup')
KEYS = ('name', 'rights', 'connection_limit', 'networks', 'password', 'password_file', 'temporary')
# Lower-case unquoted identifiers only: the name goes unquoted into pg_hba.conf and SQL keeps its case.
NAME = re.compile(r'^[a-z_][a-z0-9_]*$')
NAME_MAX_BYTES = 63
CONNECTION_LIMIT_MAX = 262143
# Roles no application may take the name of (pg_* is reserved by PostgreSQL itself).
RESERVED = ('postgres', 'public', 'all')

# Every privilege of each kind of object, in PostgreSQL's order (what aclexplode() reports). MAINTAIN
# (VACUUM, ANALYZE, REINDEX...) exists from PostgreSQL 17 on: a GRANT ALL there gives it, and no role needs it.
ALL_PRIVILEGES = {
    'database': ('CREATE', 'CONNECT', 'TEMPORARY'),
    'schema': ('USAGE', 'CREATE'),
    'table': ('SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER', 'MAINTAIN'),
    'sequence': ('USAGE', 'SELECT', 'UPDATE'),
}
ALL_PRIVILEGES['default_tables'] = ALL_PRIVILEGES['table']
ALL_PRIVILEGES['default_sequences'] = ALL_PRIVILEGES['sequence']
KINDS = ('database', 'schema', 'table', 'sequence', 'default_tables', 'default_sequences')


class AppRoleError(ValueError):
    """The list of application roles is wrong; the message names every entry and field at fault."""


def _show(value):
    return "'%s'" % value if isinstance(value, str) else repr(value)


def _int(value):
    """value as an int when it is a whole number (a string from -e included), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.match(r'^\s*[+-]?[0-9]+\s*$', value):
        return int(value)
    return None


def _bool(value):
    """value as a bool when it is one (YAML or -e spelling), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'yes', 'on', '1', 'false', 'no', 'off', '0'):
        return value.lower() in ('true', 'yes', 'on', '1')
    return None


def _networks(value, where, errors):
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        errors.append('%s: networks is %s: allowed: a list of networks in CIDR notation.' % (where, _show(value)))
        return []
    good = []
    for network in value:
        try:
            if not isinstance(network, str) or '/' not in network:
                raise ValueError(network)
            good.append(str(ipaddress.ip_network(network.strip(), strict=True)))
        except ValueError:
            errors.append('%s: networks has %s: allowed: a network in CIDR notation with no host bits set, '
                          'e.g. 10.20.0.0/24 or 127.0.0.1/32.' % (where, _show(network)))
    return good


def normalise(roles, **settings):
    """The list of application roles, complete (see check()); AppRoleError naming every fault if it is wrong."""
    result, errors = check(roles, **settings)
    if errors:
        raise AppRoleError(' '.join(errors) + ' Nothing was changed.')
    return result


def errors(roles, **settings):
    """One message per fault of the list of application roles (entry and field named); empty when right."""
    return check(roles, **settings)[1]


def check(roles, variable='tmi_postgresql_app_roles', app_user=None, owner=None, connection_limit=None,
          networks=None, password_dir=None, app_password=None, app_password_file=None):
    """Check the list of application roles; return it complete and the messages of its faults.

    Each entry comes back with name, rights, temporary and, when the caller gave their defaults,
    connection_limit, networks and either password or password_file. TMI's role (named app_user) takes
    app_password, else app_password_file; every other role keeps its generated password in
    password_dir/NAME.password, its own file.
    """
    if isinstance(roles, dict) or isinstance(roles, str) or not isinstance(roles, (list, tuple)):
        return [], ['%s must be a list of roles, each a mapping with name and rights; it is a %s.'
                    % (variable, type(roles).__name__)]
    errors = []
    result = []
    seen = {}
    files = {}
    for index, entry in enumerate(roles):
        where = '%s[%d]' % (variable, index)
        if not isinstance(entry, dict):
            errors.append('%s is a %s, not a mapping with name and rights.' % (where, type(entry).__name__))
            continue
        name = entry.get('name')
        if isinstance(name, str) and name:
            where += ' (%s)' % name
        unknown = sorted(set(entry) - set(KEYS))
        if unknown:
            errors.append('%s: unknown field(s) %s: allowed: %s.' % (where, ', '.join(unknown), ', '.join(KEYS)))
        if not isinstance(name, str) or not NAME.match(name) or len(name.encode()) > NAME_MAX_BYTES:
            errors.append('%s: name is %s: allowed: a lower-case name of letters, digits and _ (not starting '
                          'with a digit), at most 63 bytes.' % (where, _show(name)))
            name = None
        elif name in RESERVED or name.startswith('pg_'):
            errors.append('%s: name %s is reserved by PostgreSQL.' % (where, name))
        elif owner is not None and name == owner:
            errors.append('%s: name %s is the owner role of the database: an application role must not own '
                          'what it uses.' % (where, name))
        elif name in seen:
            errors.append('%s: name %s is already the name of %s[%d].' % (where, name, variable, seen[name]))
        else:
            seen[name] = index
        rights = entry.get('rights')
        if rights not in RIGHTS:
            errors.append('%s: rights is %s: allowed: %s.' % (where, _show(rights), ', '.join(RIGHTS[:-1]) + ' or ' + RIGHTS[-1]))
        out = {'name': name, 'rights': rights}

        temporary = _bool(entry.get('temporary', False))
        if temporary is None:
            errors.append('%s: temporary is %s: allowed: true or false.' % (where, _show(entry.get('temporary'))))
        out['temporary'] = bool(temporary)

        if 'connection_limit' in entry or connection_limit is not None:
            given = entry.get('connection_limit', connection_limit)
            limit = _int(given)
            if limit is None or not 1 <= limit <= CONNECTION_LIMIT_MAX:
                errors.append('%s: connection_limit is %s: allowed: a whole number, 1 to %d (a limit for every '
                              'login role).' % (where, _show(given), CONNECTION_LIMIT_MAX))
            out['connection_limit'] = limit

        if 'networks' in entry or networks is not None:
            out['networks'] = _networks(entry.get('networks', networks), where, errors)

        if 'password' in entry:
            if 'password_file' in entry:
                errors.append('%s: give password or password_file, not both.' % where)
            # Never shown: it is a secret.
            if not isinstance(entry['password'], str) or not entry['password']:
                errors.append('%s: password is empty or not a string.' % where)
            out['password'] = entry['password']
        elif name is not None and name == app_user and app_password:
            out['password'] = app_password
        else:
            path = entry.get('password_file')
            if path is None and name is not None:
                if name == app_user and app_password_file:
                    path = app_password_file
                elif password_dir:
                    path = os.path.join(password_dir, name + '.password')
            if path is not None:
                if not isinstance(path, str) or not path.strip():
                    errors.append('%s: password_file is %s: allowed: a path on the controller.' % (where, _show(path)))
                else:
                    key = os.path.normpath(os.path.expanduser(path))
                    if key in files:
                        errors.append('%s: password_file %s is already the password file of %s: each role '
                                      'keeps its own.' % (where, path, files[key]))
                    else:
                        files[key] = where
                    out['password_file'] = path
        result.append(out)

    if app_user is not None and not errors:
        tmi = [entry for entry in result if entry['name'] == app_user]
        if not tmi:
            errors.append('%s has no entry named %s, the role TMI logs in as (tmi_postgresql_app_user).'
                          % (variable, app_user))
        elif tmi[0]['rights'] != 'read-write':
            errors.append('%s[%d] (%s): rights is %s: TMI logs in as this role and writes its data: allowed: '
                          'read-write.' % (variable, seen[app_user], app_user, _show(tmi[0]['rights'])))
    return result, errors


def wanted(role, read_only_tables=(), table_privileges=('SELECT', 'INSERT', 'UPDATE', 'DELETE'),
           read_only_table_privileges=('SELECT',), sequence_privileges=('USAGE', 'SELECT')):
    """The privileges role (a normalised entry) needs: kind -> privileges, tables as a function of their name."""
    if role['rights'] == 'read-write':
        tables, sequences = set(table_privileges), set(sequence_privileges)
        read_only = set(read_only_table_privileges)
    elif role['rights'] == 'backup':
        tables, sequences, read_only = {'SELECT'}, {'SELECT'}, {'SELECT'}
    else:
        tables, sequences, read_only = {'SELECT'}, set(), {'SELECT'}
    database = {'CONNECT', 'TEMPORARY'} if role.get('temporary') else {'CONNECT'}
    return {
        'database': lambda obj: database,
        'schema': lambda obj: {'USAGE'},
        'table': lambda obj: read_only if obj in read_only_tables else tables,
        'sequence': lambda obj: sequences,
        'default_tables': lambda obj: tables,
        'default_sequences': lambda obj: sequences,
    }


def _ordered(kind, privileges):
    """The privileges in PostgreSQL's order; one this list does not know yet (a newer server's) comes last."""
    known = [p for p in ALL_PRIVILEGES[kind] if p in privileges]
    return ','.join(known + sorted(set(privileges) - set(known)))


def grants(roles, rows, database, schema, owner, **privileges):
    """The postgresql_privs calls (dicts of its options) that make the roles hold exactly what they need.

    rows: the privileges query's result (kind, obj, role, privilege, grantable; role None for an object
    the roles hold nothing on). Objects of one kind that lack (or hold too much of) the same
    privileges are granted (or revoked) in one call. Privileges held WITH GRANT OPTION lose the option.
    """
    held = {}
    objects = {kind: set() for kind in KINDS}
    for row in rows:
        if row['kind'] not in objects:
            raise ValueError('unknown kind of object %r in the privileges query' % row['kind'])
        obj = row['obj']
        objects[row['kind']].add(obj)
        if row['role'] is not None:
            held.setdefault((row['role'], row['kind'], obj), {})[row['privilege']] = bool(row['grantable'])
    # A schema without default privileges of the owner has no row: nothing is held there.
    for kind in ('default_tables', 'default_sequences', 'database', 'schema'):
        objects[kind] = {None}

    calls = {}
    for role in roles:
        need = wanted(role, **privileges)
        for kind in KINDS:
            for obj in sorted(objects[kind], key=lambda o: o or ''):
                have = held.get((role['name'], kind, obj), {})
                needed = need[kind](obj)
                for state, privs, grant_option in (
                        ('present', needed - set(have), None),
                        ('absent', set(have) - needed, None),
                        ('present', {p for p, grantable in have.items() if grantable and p in needed}, False)):
                    if privs:
                        key = (role['name'], kind, state, _ordered(kind, privs), grant_option)
                        calls.setdefault(key, []).append(obj)
    result = []
    for (name, kind, state, privs, grant_option), objs in calls.items():
        call = {'roles': name, 'state': state, 'privs': privs, 'grant_option': grant_option,
                'schema': None, 'target_roles': None}
        if kind == 'database':
            call.update(type='database', objs=database)
        elif kind == 'schema':
            call.update(type='schema', objs=schema)
        elif kind in ('table', 'sequence'):
            call.update(type=kind, objs=','.join(sorted(objs)), schema=schema)
        else:
            call.update(type='default_privs', objs='TABLES' if kind == 'default_tables' else 'SEQUENCES',
                        schema=schema, target_roles=owner)
        result.append(call)
    return result


def hba_lines(roles, database):
    """One `hostssl DATABASE ROLE NETWORK scram-sha-256` line per network of each role, in the list's order."""
    lines = []
    for role in roles:
        for network in role.get('networks') or []:
            lines.append('hostssl  %s  %s  %s  scram-sha-256' % (database, role['name'], network))
    return lines


def verifiers(roles, rows):
    """name -> SCRAM verifier (or None) of each role that exists with app_user's attributes and connection limit.

    rows: the roles query's result (name, attributes_ok, connection_limit, verifier). A role missing from
    the result is missing from the database, or holds another attribute or connection limit.
    """
    found = dict((row['name'], row) for row in rows)
    result = {}
    for role in roles:
        row = found.get(role['name'])
        if row and row['attributes_ok'] and row['connection_limit'] == _int(role['connection_limit']):
            result[role['name']] = row['verifier']
    return result

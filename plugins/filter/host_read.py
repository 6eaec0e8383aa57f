# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.host_read: what the server role's one read of the host found, as data.

The server role runs roles/server/files/read_host.sh once (one round trip) and
decides from its output which packages to install and which files to write.
Documentation: host_read.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import json

from ansible.errors import AnsibleFilterError

# Fields after the tag of each kind of line.
FIELDS = {'clusters': 1, 'clusters_error': 1, 'package': 2, 'home': 1, 'path': 5, 'sha1': 2, 'umask': 2, 'pem': 2, 'fqdn': 1, 'init': 1, 'roles': 1, 'unit': 2}


def _fields(number, line):
    tag, _sep, rest = line.partition('\t')
    if tag not in FIELDS:
        raise AnsibleFilterError('host_read: line %d has the unknown tag %r: %r' % (number, tag, line))
    fields = rest.split('\t', FIELDS[tag] - 1)
    if len(fields) != FIELDS[tag]:
        raise AnsibleFilterError('host_read: line %d (%s) has %d field(s), not %d: %r'
                                 % (number, tag, len(fields), FIELDS[tag], line))
    return tag, fields


def host_read(text):
    """Parse read_host.sh's output into clusters, installed packages, the postgres home and files.

    A read of files only (no clusters line) has clusters None. So has a read where pg_lsclusters --json
    failed (clusters_error line: postgresql-common of Debian 11 prints JSON only with libjson-perl, which
    the server role installs): clusters_error then says why.
    """
    if not isinstance(text, str):
        raise AnsibleFilterError('host_read expects the text of read_host.sh, not %s' % type(text).__name__)
    result = {'clusters': None, 'clusters_error': None, 'packages': {}, 'home': None, 'files': [], 'fqdn': None,
              'service_mgr': None, 'roles': None, 'unit': None}
    files = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line:
            continue
        tag, fields = _fields(number, line)
        if tag == 'clusters':
            try:
                result['clusters'] = json.loads(fields[0])
            except ValueError as e:
                raise AnsibleFilterError('host_read: line %d: pg_lsclusters printed no JSON list: %s' % (number, e))
        elif tag == 'clusters_error':
            result['clusters_error'] = fields[0]
        elif tag == 'package':
            # The second letter of the status is the state: i is installed (ii, hi, ...).
            status, name = fields
            if status[1:2] == 'i':
                result['packages'][name] = [{'name': name, 'source': 'apt'}]
        elif tag == 'home':
            result['home'] = fields[0]
        elif tag == 'fqdn':
            result['fqdn'] = fields[0]
        elif tag == 'init':
            result['service_mgr'] = fields[0]
        elif tag == 'unit':
            result['unit'] = {'enabled': fields[0], 'active': fields[1]}
        elif tag == 'roles':
            try:
                result['roles'] = json.loads(fields[0])
            except ValueError as e:
                raise AnsibleFilterError('host_read: line %d: the roles query printed no JSON: %s' % (number, e))
        elif tag == 'path':
            kind, owner, group, mode, path = fields
            try:
                mode = int(mode, 8)
            except ValueError:
                raise AnsibleFilterError('host_read: line %d: the mode is not an octal number: %r' % (number, line))
            files[path] = {'path': path, 'isdir': kind == 'directory', 'pw_name': owner, 'gr_name': group,
                           'mode': '%04o' % mode}
            result['files'].append(files[path])
        elif fields[1 if tag == 'sha1' else 0] not in files:
            raise AnsibleFilterError('host_read: line %d (%s) names a path with no path line before it: %r'
                                     % (number, tag, line))
        elif tag == 'sha1':
            files[fields[1]]['checksum'] = fields[0]
        elif tag == 'umask':
            files[fields[0]]['umask'] = fields[1]
        else:
            try:
                files[fields[0]]['content'] = base64.b64decode(fields[1], validate=True).decode('utf-8')
            except (binascii.Error, ValueError):
                raise AnsibleFilterError('host_read: line %d: the content is not base64 of UTF-8 text' % number)
    return result


def cluster_info(clusters, version, cluster):
    """The pg_lsclusters entry of version/cluster, {} when there is none (the version is a number or a string)."""
    for entry in clusters or []:
        if str(entry.get('version')) == str(version) and entry.get('cluster') == cluster:
            return entry
    return {}


def login_files_to_fix(host, line, owner='postgres', group='postgres', mode='0640'):
    """The postgres user's login files that need line (their last umask line) or their owner, group or mode.

    .profile always counts (it is created when missing); .bash_profile and .bash_login when they exist.
    """
    if not host.get('home'):
        raise AnsibleFilterError('login_files_to_fix: the read found no home folder of the postgres user')
    files = dict((entry['path'], entry) for entry in host.get('files', []))
    names = ['.profile', '.bash_profile', '.bash_login']
    paths = ['%s/%s' % (host['home'].rstrip('/'), name) for name in names]
    result = []
    for path in paths:
        entry = files.get(path)
        if entry is None:
            if path == paths[0]:
                result.append(path)
            continue
        if (entry['isdir'] or entry['pw_name'] != owner or entry['gr_name'] != group
                or int(entry['mode'], 8) != int(mode, 8) or entry.get('umask') != line):
            result.append(path)
    return result


class FilterModule(object):
    def filters(self):
        return {'host_read': host_read, 'cluster_info': cluster_info, 'login_files_to_fix': login_files_to_fix}

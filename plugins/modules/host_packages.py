#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: host_packages
short_description: Read which of a role's packages and users are missing, package versions, and whether systemd runs, in one round trip
version_added: 0.1.0
description:
  - A role that runs M(ansible.builtin.apt), M(ansible.builtin.user) and M(ansible.builtin.setup) on every run pays
    a round trip for each, and apt the longest, even when everything is in place. This module reads the three in
    one run, so the role calls them only for what is missing.
  - With O(versions), also the installed and candidate version of packages (C(apt-cache policy)), which the
    roles check against the settings that need a newer one (filter P(tmi.postgresql.package_version_errors#filter)).
  - Reads only; changes nothing.
author:
  - TMI operations engineers (@tmi)
options:
  packages:
    description: Debian package names; those that C(dpkg-query) does not show installed (status C(ii)) are missing.
    type: list
    elements: str
    default: []
  users:
    description: User names; those the host's user database does not know are missing.
    type: list
    elements: str
    default: []
  versions:
    description:
      - Debian package names whose installed and candidate versions to read with C(apt-cache policy), which
        reads apt's lists and the dpkg database only. Without apt's lists (before C(apt-get update)) a missing
        package has no candidate.
    type: list
    elements: str
    default: []
    version_added: 0.2.0
extends_documentation_fragment:
  - tmi.postgresql.read_only
notes:
  - Debian and its derivatives (C(dpkg-query), C(apt-cache)).
'''

EXAMPLES = r'''
- name: Read what is missing.
  tmi.postgresql.host_packages:
    packages: [pgbackrest, cron]
    users: [pgbackrest]
  register: host

- name: Install what is missing.
  ansible.builtin.apt:
    name: "{{ host.missing_packages }}"
  when: host.missing_packages | length > 0

- name: Read pgBackRest's installed or candidate version.
  tmi.postgresql.host_packages:
    versions: [pgbackrest]
  register: host
'''

RETURN = r'''
missing_packages:
  description: The names of O(packages) that are not installed, in their order.
  returned: always
  type: list
  elements: str
  sample: [cron]
missing_users:
  description: The names of O(users) that do not exist, in their order.
  returned: always
  type: list
  elements: str
  sample: []
package_versions:
  description:
    - Each of O(versions) to a mapping with C(installed) and C(candidate), its installed version and the version
      apt would install (C(null) for none). A package apt does not know has both C(null).
  returned: always
  type: dict
  sample: {pgbackrest: {installed: null, candidate: 2.33-1}}
  version_added: 0.2.0
service_mgr:
  description: C(systemd) when the host runs systemd (the test of sd_booted, C(/run/systemd/system)), C(other) otherwise.
  returned: always
  type: str
  sample: systemd
'''

import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.dpkg import DPKG_FORMAT, missing_packages
from ansible_collections.tmi.postgresql.plugins.module_utils.package_versions import apt_policy


def missing_users(names):
    missing = []
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            missing.append(name)
    return missing


def main():
    module = AnsibleModule(
        argument_spec=dict(
            packages=dict(type='list', elements='str', default=[]),
            users=dict(type='list', elements='str', default=[]),
            versions=dict(type='list', elements='str', default=[]),
        ),
        supports_check_mode=True,
    )
    packages = module.params['packages']
    output = ''
    if packages:
        # Exits 1 when one of them is unknown to dpkg, and still prints the others.
        dpkg_query = module.get_bin_path('dpkg-query', required=True)
        rc, output, err = module.run_command([dpkg_query, '-W', '-f=' + DPKG_FORMAT] + packages)
        if rc not in (0, 1):
            module.fail_json(msg='dpkg-query exited with %d: %s' % (rc, err.strip()))
    versions = {}
    if module.params['versions']:
        apt_cache = module.get_bin_path('apt-cache', required=True)
        # Prints nothing for a package it does not know (a notice on stderr), and exits 0.
        rc, policy, err = module.run_command([apt_cache, 'policy'] + module.params['versions'],
                                             environ_update={'LC_ALL': 'C'})
        if rc != 0:
            module.fail_json(msg='apt-cache policy exited with %d: %s' % (rc, err.strip()))
        found = apt_policy(policy)
        for name in module.params['versions']:
            versions[name] = found.get(name.split(':')[0], {'installed': None, 'candidate': None})
    module.exit_json(changed=False, missing_packages=missing_packages(output, packages), package_versions=versions,
                     missing_users=missing_users(module.params['users']),
                     service_mgr='systemd' if os.path.isdir('/run/systemd/system') else 'other')


if __name__ == '__main__':
    main()

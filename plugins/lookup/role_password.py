# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.role_password: a login role's password that PostgreSQL's passwordcheck accepts."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
name: role_password
author:
  - TMI operations engineers (@tmi)
short_description: Generate, or read back, the password of a PostgreSQL login role
description:
  - Returns the password kept in the controller file given as term; when the file is missing, generates one
    and writes it there (mode 0600, missing folders 0700).
  - A generated password always passes the C(passwordcheck) module of PostgreSQL, not most of the time
    like a random string of letters and digits does. It has letters and digits, at least one of each, at
    least 12 characters, and never contains the name of the role.
  - With an empty term the password is generated and kept nowhere.
  - A file written by C(ansible.builtin.password) is read back the same way.
options:
  _terms:
    description: Path of the controller file that keeps the password; empty to keep it nowhere.
    required: true
    type: list
    elements: str
  role:
    description: Name of the role the password is for; a generated password never contains it.
    type: str
    required: true
  length:
    description: Length of a generated password (12 at least).
    type: int
    default: 32
'''

EXAMPLES = r'''
- name: Set the password of tmi_app
  community.postgresql.postgresql_user:
    name: tmi_app
    password: "{{ lookup('tmi.postgresql.role_password', '~/.config/tmi/db1/tmi_app.password', role='tmi_app') }}"
  no_log: true
'''

RETURN = r'''
_raw:
  description: The password, one per term.
  type: list
  elements: str
'''

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible_collections.tmi.postgresql.plugins.plugin_utils.role_password import (
    PasswordError,
    generate,
    read_or_create,
)


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        role = self.get_option('role')
        length = self.get_option('length')
        passwords = []
        try:
            for term in terms:
                if term:
                    passwords.append(read_or_create(os.path.expanduser(term), role, length))
                else:
                    passwords.append(generate(role, length))
        except PasswordError as e:
            raise AnsibleLookupError('tmi.postgresql.role_password: %s' % e)
        return passwords

#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: pgbackrest_info
short_description: Read the stanzas of a local pgBackRest repository with given encryption settings
version_added: 0.1.0
description:
  - Runs C(pgbackrest --no-config --repo1-path=PATH --output=json info) with the repository's encryption settings
    in pgBackRest's environment variables (the passphrase never on a command line), so it reads the repository as
    a configuration with those settings would, before that configuration is written.
  - Reports the stanzas that pgBackRest cannot read (status 99, e.g. another passphrase than the one the
    repository was created with) in RV(unreadable), and fails only when pgBackRest itself does.
  - pgBackRest quotes an undecryptable file's first bytes in its message; the module keeps only the printable
    part of each message, which a command task could not carry back at all.
  - Reads only; changes nothing. Run it as the repository's owner.
author:
  - TMI operations engineers (@tmi)
options:
  repo_path:
    description: The repository folder (C(repo1-path)). A folder that does not exist holds no stanza.
    type: path
    required: true
  cipher_type:
    description: The repository's encryption, as C(repo1-cipher-type).
    type: str
    choices: [none, aes-256-cbc]
    default: none
  cipher_pass:
    description: The passphrase of O(cipher_type=aes-256-cbc), as C(repo1-cipher-pass).
    type: str
extends_documentation_fragment:
  - tmi.postgresql.read_only
'''

EXAMPLES = r'''
- name: Read the repository with the passphrase of the configuration about to be written.
  tmi.postgresql.pgbackrest_info:
    repo_path: /var/lib/pgbackrest-repository
    cipher_type: aes-256-cbc
    cipher_pass: "{{ vault_pgbackrest_cipher_pass }}"
  become: true
  become_user: pgbackrest
  register: repository
'''

RETURN = r'''
stanzas:
  description: The parsed output of C(pgbackrest --output=json info), one entry per stanza, messages printable.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "tmi", "status": {"code": 0, "message": "ok"}, "backup": []}]
unreadable:
  description: The stanzas pgBackRest could not read, with its message (printable part).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "tmi", "message": "[CryptoError] unable to load info file ..."}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_info import parse_info, printable, unreadable_stanzas


def main():
    module = AnsibleModule(
        argument_spec=dict(
            repo_path=dict(type='path', required=True),
            cipher_type=dict(type='str', choices=['none', 'aes-256-cbc'], default='none'),
            cipher_pass=dict(type='str', no_log=True),
        ),
        required_if=[('cipher_type', 'aes-256-cbc', ['cipher_pass'])],
        supports_check_mode=True,
    )
    params = module.params
    environ = {'PGBACKREST_REPO1_CIPHER_TYPE': params['cipher_type']}
    if params['cipher_type'] != 'none':
        environ['PGBACKREST_REPO1_CIPHER_PASS'] = params['cipher_pass']
    argv = [module.get_bin_path('pgbackrest', required=True), '--no-config', '--repo1-path=' + params['repo_path'],
            '--log-level-console=off', '--log-level-stderr=error', '--log-level-file=off', '--output=json', 'info']
    rc, out, err = module.run_command(argv, environ_update=environ, encoding=None)
    if rc != 0:
        module.fail_json(msg='pgbackrest info exited with %d: %s' % (rc, printable(err.decode('utf-8', errors='replace'))))
    try:
        stanzas = parse_info(out)
    except ValueError as e:
        module.fail_json(msg='pgbackrest info printed no JSON: %s' % e)
    module.exit_json(changed=False, stanzas=stanzas, unreadable=unreadable_stanzas(stanzas))


if __name__ == '__main__':
    main()

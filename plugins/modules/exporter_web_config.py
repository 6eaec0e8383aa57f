#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: exporter_web_config
short_description: The web configuration file of a Prometheus exporter, with bcrypt hashes that do not change every run
version_added: 0.2.0
description:
  - Returns the content of the file that C(--web.config.file) of prometheus-postgres-exporter (0.11) and
    prometheus-node-exporter (1.5) read, with C(basic_auth_users) (user name to bcrypt hash) and
    C(tls_server_config) (certificate and key), as JSON, which their YAML reader reads.
  - A bcrypt hash has a random salt, so hashing the same password again gives another file every run. The module
    reads the file at O(path) and keeps the hash it holds for a user when that hash matches the user's password;
    it hashes anew only what is new or changed. Write RV(content) with M(tmi.postgresql.file_set).
  - Reads only; changes nothing. Needs the C(bcrypt) Python library on the host (Debian's C(python3-bcrypt)).
author:
  - TMI operations engineers (@tmi)
options:
  path:
    description: The web configuration file, read for the hashes it holds; missing or unreadable is the same as empty.
    type: path
    required: true
  basic_auth_users:
    description: User name to password; none for no basic auth.
    type: dict
    default: {}
  tls_cert_file:
    description: Certificate file of the exporter's TLS listener on the host; empty for none.
    type: path
    default: ''
  tls_key_file:
    description: Its key file (readable by the exporter's user); required with O(tls_cert_file).
    type: path
    default: ''
  cost:
    description: The bcrypt cost of a new hash.
    type: int
    default: 10
extends_documentation_fragment:
  - tmi.postgresql.read_only
notes:
  - The exporter hashes the password of every request with this cost; 10 keeps a scrape well under a second.
requirements:
  - bcrypt (Python library, on the host)
'''

EXAMPLES = r'''
- name: Compute the exporter's web configuration.
  tmi.postgresql.exporter_web_config:
    path: /etc/prometheus/tmi-exporters-web.yml
    basic_auth_users:
      prometheus: "{{ scrape_password }}"
  register: web
  no_log: true

- name: Write it.
  tmi.postgresql.file_set:
    files:
      - {path: /etc/prometheus/tmi-exporters-web.yml, content: "{{ web.content }}", owner: prometheus, mode: "0600"}
'''

RETURN = r'''
content:
  description: The file's content, JSON ending with a newline.
  returned: always
  type: str
rehashed:
  description: The users whose hash is new (not kept from the file).
  returned: always
  type: list
  elements: str
'''

import json
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

try:
    import bcrypt
    HAS_BCRYPT = True
    BCRYPT_ERROR = None
except ImportError:
    HAS_BCRYPT = False
    BCRYPT_ERROR = traceback.format_exc()


def current_hashes(text):
    """The basic_auth_users of a web configuration file as written by this module; {} for anything else."""
    try:
        data = json.loads(text)
    except ValueError:
        return {}
    users = data.get('basic_auth_users') if isinstance(data, dict) else None
    if not isinstance(users, dict):
        return {}
    return dict((k, v) for k, v in users.items() if isinstance(k, str) and isinstance(v, str))


def web_config(users, current, check, make_hash, tls_cert_file='', tls_key_file=''):
    """Return (content, rehashed): the file for users (name -> password), keeping a current hash that check accepts."""
    hashes = {}
    rehashed = []
    for name in sorted(users):
        password = users[name]
        old = current.get(name)
        if old is not None and check(password, old):
            hashes[name] = old
        else:
            hashes[name] = make_hash(password)
            rehashed.append(name)
    config = {}
    if hashes:
        config['basic_auth_users'] = hashes
    if tls_cert_file:
        config['tls_server_config'] = {'cert_file': tls_cert_file, 'key_file': tls_key_file}
    return json.dumps(config, indent=2, sort_keys=True) + '\n', rehashed


def bcrypt_check(password, hashed):
    try:
        return bcrypt.checkpw(password.encode('utf-8'), hashed.encode('ascii'))
    except (ValueError, UnicodeError):
        return False


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            basic_auth_users=dict(type='dict', default={}, no_log=True),
            tls_cert_file=dict(type='path', default=''),
            tls_key_file=dict(type='path', default=''),
            cost=dict(type='int', default=10),
        ),
        required_together=[('tls_cert_file', 'tls_key_file')],
        supports_check_mode=True,
    )
    users = module.params['basic_auth_users']
    if users and not HAS_BCRYPT:
        module.fail_json(msg=missing_required_lib('bcrypt (Debian: python3-bcrypt)'), exception=BCRYPT_ERROR)
    for name, password in users.items():
        if not name or ':' in name or not isinstance(password, str) or not password:
            module.fail_json(msg='basic_auth_users: a user needs a name without a colon and a non-empty password.')
    try:
        with open(module.params['path']) as f:
            text = f.read()
    except (IOError, OSError):
        text = ''
    cost = module.params['cost']
    content, rehashed = web_config(
        users, current_hashes(text), bcrypt_check,
        lambda password: bcrypt.hashpw(password.encode('utf-8'), bcrypt.gensalt(cost)).decode('ascii'),
        module.params['tls_cert_file'], module.params['tls_key_file'])
    module.exit_json(changed=False, content=content, rehashed=rehashed)


if __name__ == '__main__':
    main()

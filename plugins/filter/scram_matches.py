# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.scram_matches: whether a password is the one a SCRAM-SHA-256 verifier was made from.

A role reads a login role's verifier (pg_authid.rolpassword) in the query it
runs anyway, and calls community.postgresql.postgresql_user only when the
password differs, instead of on every run.
Documentation: scram_matches.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import re

from ansible.errors import AnsibleFilterError

# SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, all base64 (RFC 5803, pg_authid).
VERIFIER = re.compile(r'^SCRAM-SHA-256\$(\d+):([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+):([A-Za-z0-9+/=]+)$')
# SASLprep leaves printable ASCII as it is; other passwords are not compared here.
PRINTABLE_ASCII = re.compile(r'^[\x20-\x7e]*$')


def scram_matches(password, verifier):
    """True when verifier was made from password; False when it was not, or it cannot be told here.

    False is the safe answer: the caller then lets postgresql_user compare (and set) the password.
    """
    if not isinstance(password, str):
        raise AnsibleFilterError('scram_matches expects the password as a string, not %s' % type(password).__name__)
    if not isinstance(verifier, str) or not PRINTABLE_ASCII.match(password):
        return False
    match = VERIFIER.match(verifier)
    if match is None:
        return False
    try:
        iterations = int(match.group(1))
        salt = base64.b64decode(match.group(2), validate=True)
        stored_key = base64.b64decode(match.group(3), validate=True)
        server_key = base64.b64decode(match.group(4), validate=True)
    except (ValueError, binascii.Error):
        return False
    salted = hashlib.pbkdf2_hmac('sha256', password.encode('ascii'), salt, iterations)
    client_key = hmac.new(salted, b'Client Key', hashlib.sha256).digest()
    return (hmac.compare_digest(hashlib.sha256(client_key).digest(), stored_key)
            and hmac.compare_digest(hmac.new(salted, b'Server Key', hashlib.sha256).digest(), server_key))


class FilterModule(object):
    def filters(self):
        return {'scram_matches': scram_matches}

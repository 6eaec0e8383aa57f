# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated passwords that PostgreSQL's passwordcheck always accepts, kept in a controller file."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import os
import secrets
import string
import tempfile

LETTERS = string.ascii_letters
DIGITS = string.digits
# passwordcheck (PostgreSQL 15) refuses fewer than 8 characters; more is the role's choice.
MIN_LENGTH = 12


class PasswordError(Exception):
    pass


def passwordcheck_problem(password, role):
    """What PostgreSQL's passwordcheck would say about password for role, or None when it accepts it."""
    if len(password) < 8:
        return 'password is too short'
    if role and role in password:
        return 'password must not contain user name'
    has_letter = any(c.isalpha() for c in password)
    has_other = any(not c.isalpha() for c in password)
    if not (has_letter and has_other):
        return 'password must contain both letters and nonletters'
    return None


def generate(role, length=32, rng=None):
    """A random password of letters and digits with at least one of each, without the role's name.

    Built so that passwordcheck accepts it every time: one letter and one digit
    at random places, the rest from both sets; a draw that contains the role
    name (in any case) is drawn again.
    """
    if length < MIN_LENGTH:
        raise PasswordError('password length %d is below %d' % (length, MIN_LENGTH))
    rng = rng or secrets.SystemRandom()
    alphabet = LETTERS + DIGITS
    while True:
        chars = [rng.choice(LETTERS), rng.choice(DIGITS)] + [rng.choice(alphabet) for dummy in range(length - 2)]
        rng.shuffle(chars)
        password = ''.join(chars)
        if not role or role.lower() not in password.lower():
            return password


def read_or_create(path, role, length=32, rng=None):
    """The password kept in path; made with generate() and written (0600, folder 0700) when the file is missing.

    A file written by ansible.builtin.password (the collection's earlier way)
    is read the same way: first line, without a ` salt=` suffix.
    """
    try:
        with open(path) as f:
            return _parse(f.read(), path)
    except IOError as e:
        if e.errno != errno.ENOENT:
            raise PasswordError('cannot read %s: %s' % (path, e.strerror))
    password = generate(role, length, rng)
    folder = os.path.dirname(path)
    try:
        if folder:
            os.makedirs(folder, 0o700, exist_ok=True)
        # Whole under a temporary name (mkstemp: 0600), then linked into place. Ansible runs the lookup for all
        # the hosts of a play at once and the members of a cluster share one file: the link fails for all but
        # the first run, and no run ever reads a file that is not written yet.
        handle, temporary = tempfile.mkstemp(dir=folder or '.', prefix='.%s.' % os.path.basename(path))
    except OSError as e:
        raise PasswordError('cannot create %s: %s' % (path, e.strerror))
    try:
        with os.fdopen(handle, 'w') as f:
            f.write(password + '\n')
        try:
            os.link(temporary, path)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise PasswordError('cannot create %s: %s' % (path, e.strerror))
            # Written by a concurrent run in the meantime: that one wins.
            with open(path) as f:
                return _parse(f.read(), path)
    finally:
        os.unlink(temporary)
    return password


def _parse(content, path):
    lines = content.splitlines()
    password = lines[0].split(' salt=')[0].rstrip() if lines else ''
    if not password:
        raise PasswordError('%s is empty: remove it to have a password generated, or write one in it' % path)
    return password

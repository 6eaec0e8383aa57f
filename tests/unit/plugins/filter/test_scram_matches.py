import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.scram_matches import scram_matches

# Made by PostgreSQL 15 (password_encryption scram-sha-256) for the password below.
PASSWORD = 'pencil-Sharp-42'
VERIFIER = ('SCRAM-SHA-256$4096:T/DWEt/FSVnAQfntnQMs6A==$0lXde7WndZ1FroDaAsroroWGw4ULAFwLKophoItqS4k='
            ':XbF9iuFZYbTBhy4F+SDK6oNUM4TGx/xrCmnODDQpo6c=')


def test_the_password_of_the_verifier_matches():
    assert scram_matches(PASSWORD, VERIFIER) is True


@pytest.mark.parametrize('password', ['pencil-Sharp-43', 'Pencil-Sharp-42', '', PASSWORD + ' '])
def test_another_password_does_not(password):
    assert scram_matches(password, VERIFIER) is False


@pytest.mark.parametrize('verifier', [
    None,                                                     # no password set
    '',
    'md5' + '0' * 32,                                         # an MD5 hash
    VERIFIER.replace('4096', '4097'),                         # another iteration count
    VERIFIER.replace('T/DW', 'T/DX'),                         # another salt
    VERIFIER.rsplit(':', 1)[0] + ':' + 'A' * 43 + '=',        # another ServerKey
    VERIFIER.replace('SCRAM-SHA-256$', 'SCRAM-SHA-1$'),
    VERIFIER.replace('==$', '=$'),                           # broken base64
])
def test_anything_but_its_own_verifier_does_not_match(verifier):
    assert scram_matches(PASSWORD, verifier) is False


def test_a_password_saslprep_would_change_is_left_to_postgresql_user():
    assert scram_matches('pencil-Sharp-42\u00a0', VERIFIER) is False


def test_a_password_that_is_not_a_string_is_an_error():
    with pytest.raises(AnsibleFilterError, match='as a string'):
        scram_matches(42, VERIFIER)

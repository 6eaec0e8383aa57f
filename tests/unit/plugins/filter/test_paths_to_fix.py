import hashlib

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.paths_to_fix import paths_to_fix

DIR = {'path': '/etc/pgbackrest', 'owner': 'postgres', 'group': 'postgres', 'mode': '0750', 'state': 'directory'}
FILE = {'path': '/etc/postgresql/15/main/pg_ident.conf', 'owner': 'postgres', 'group': 'postgres', 'mode': '0640'}


def found(path, isdir, mode, owner='postgres', group='postgres'):
    return {'path': path, 'isdir': isdir, 'mode': mode, 'pw_name': owner, 'gr_name': group}


def test_paths_that_are_right_need_nothing():
    assert paths_to_fix([DIR, FILE], [found('/etc/pgbackrest/', True, '0750'), found(FILE['path'], False, '640')]) == []


def test_a_missing_path_is_returned():
    assert paths_to_fix([DIR, FILE], [found(FILE['path'], False, '0640')]) == [DIR]


@pytest.mark.parametrize('have', [
    found('/etc/pgbackrest', True, '0755'),
    found('/etc/pgbackrest', True, '0750', owner='root'),
    found('/etc/pgbackrest', True, '0750', group='root'),
    found('/etc/pgbackrest', False, '0750'),
])
def test_a_wrong_mode_owner_group_or_type_is_returned(have):
    assert paths_to_fix([DIR], [have]) == [DIR]


def test_only_the_keys_given_are_compared():
    assert paths_to_fix([{'path': '/x', 'state': 'directory'}], [found('/x', True, '0777', owner='root')]) == []


def test_other_paths_found_are_ignored():
    assert paths_to_fix([DIR], [found('/etc/other', True, '0700'), found('/etc/pgbackrest', True, '0750')]) == []


@pytest.mark.parametrize('wanted, message', [
    ({'path': '/x'}, 'expects a list'),
    ([{'mode': '0700'}], 'must be a mapping with a path'),
    ([{'path': '/x', 'mod': '0700'}], 'unknown key(s) mod for /x'),
    ([{'path': '/x', 'state': 'link'}], 'must be directory, file or absent'),
    ([{'path': '/x', 'mode': 'rwx'}], 'not an octal number'),
])
def test_a_wrong_spec_is_an_error_naming_it(wanted, message):
    with pytest.raises(AnsibleFilterError, match=message.replace('(', r'\(').replace(')', r'\)')):
        paths_to_fix(wanted, [found('/x', True, '0700')])


def test_a_content_is_compared_by_its_sha1():
    found = [{'path': '/etc/x', 'isdir': False, 'pw_name': 'root', 'gr_name': 'root', 'mode': '0644',
              'checksum': hashlib.sha1(b'a = 1\n').hexdigest()}]
    same = {'path': '/etc/x', 'content': 'a = 1\n', 'owner': 'root', 'mode': '0644', 'backup': True}
    other = dict(same, content='a = 2\n')
    assert paths_to_fix([same], found) == []
    assert paths_to_fix([other], found) == [other]
    # A file found without a checksum (a find without get_checksum) differs.
    assert paths_to_fix([same], [dict(found[0], checksum=None)]) == [same]


def test_an_absent_entry_is_returned_only_when_the_path_exists():
    gone = {'path': '/etc/cron.d/old', 'state': 'absent'}
    assert paths_to_fix([gone], []) == []
    assert paths_to_fix([gone], [{'path': '/etc/cron.d/old', 'isdir': False}]) == [gone]

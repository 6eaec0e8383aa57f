# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.file_set through ansible-playbook, on files in the test's temporary folder."""

import os
import pwd
import stat

import pytest

from ansible_run import run_module

AS_ROOT = os.geteuid() == 0
MODULE = 'tmi.postgresql.file_set'


@pytest.fixture
def work(tmp_path):
    (tmp_path / 'play').mkdir()
    (tmp_path / 'target').mkdir()
    return tmp_path


def run(work, files, **kw):
    return run_module(MODULE, {'files': files}, str(work / 'play'), **kw)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def settings(target, owner=None):
    """A folder, a file in it and a file with no content given (which must exist)."""
    folder = str(target / 'etc')
    entries = [
        dict(path=folder, state='directory', mode='0750'),
        dict(path=folder + '/app.conf', content='port = 5432\n# no newline at the end is kept too', mode='0640'),
    ]
    if owner:
        for entry in entries:
            entry['owner'] = owner
    return entries


def test_creates_then_changes_nothing(work):
    target = work / 'target'
    entries = settings(target)
    result = run(work, entries)
    assert result['changed'] is True and result['paths'] == [e['path'] for e in entries]
    assert mode_of(target / 'etc') == 0o750 and mode_of(target / 'etc' / 'app.conf') == 0o640
    assert (target / 'etc' / 'app.conf').read_bytes() == b'port = 5432\n# no newline at the end is kept too'

    again = run(work, entries)
    assert again['changed'] is False and again['paths'] == [], again


def test_a_missing_parent_of_a_folder_is_created_with_it(work):
    deep = str(work / 'target' / 'a' / 'b')
    result = run(work, [dict(path=deep, state='directory', mode='0700')])
    assert result['paths'] == [str(work / 'target' / 'a'), deep]
    assert mode_of(deep) == 0o700 and mode_of(os.path.dirname(deep)) == 0o700


@pytest.mark.skipif(not AS_ROOT, reason='chown to postgres needs root')
def test_a_wrong_mode_or_owner_is_fixed_without_rewriting_the_content(work):
    target = work / 'target'
    entries = settings(target, owner='postgres')
    run(work, entries)
    path = target / 'etc' / 'app.conf'
    inode = os.stat(path).st_ino
    os.chmod(path, 0o666)
    os.chown(path, 0, 0)

    result = run(work, entries)
    assert result['changed'] is True and result['paths'] == [str(path)]
    st = os.stat(path)
    assert st.st_ino == inode, 'the file was rewritten'
    assert stat.S_IMODE(st.st_mode) == 0o640 and st.st_uid == pwd.getpwnam('postgres').pw_uid


def test_new_content_keeps_the_owner_and_mode_of_the_file_when_none_is_given(work):
    path = work / 'target' / 'keep.conf'
    path.write_text('old\n')
    os.chmod(path, 0o604)
    result = run(work, [dict(path=str(path), content='new\n')])
    assert result['changed'] is True
    assert path.read_text() == 'new\n' and mode_of(path) == 0o604


def test_check_mode_writes_nothing_and_reports_what_would_change(work):
    target = work / 'target'
    old = target / 'old.conf'
    old.write_text('old\n')
    entries = settings(target) + [dict(path=str(old), content='new\n'), dict(path=str(old) + '.gone', state='absent')]
    result = run(work, entries, check=True)
    assert result['changed'] is True
    assert result['paths'] == [entries[0]['path'], entries[1]['path'], str(old)]
    assert sorted(os.listdir(target)) == ['old.conf'] and old.read_text() == 'old\n'


def test_diff_shows_the_content_before_and_after(work):
    path = work / 'target' / 'app.conf'
    path.write_text('port = 5432\n')
    result = run(work, [dict(path=str(path), content='port = 5433\n')], diff=True)
    assert result['diff'] == [dict(before_header=str(path), after_header=str(path),
                                   before='port = 5432\n', after='port = 5433\n')]
    again = run(work, [dict(path=str(path), content='port = 5433\n')], diff=True)
    assert again['changed'] is False and again.get('diff', []) == []


@pytest.mark.parametrize('bad,message', [
    (dict(path='relative/app.conf', content='x'), 'files[2] (relative/app.conf): the path must be absolute'),
    (dict(path='TARGET/dir', state='directory', content='x'), 'files[2] (TARGET/dir): content is given, but state is directory'),
    (dict(path='TARGET/missing.conf', mode='0600'),
     'files[2] (TARGET/missing.conf): does not exist, and no content is given to create it'),
    (dict(path='TARGET/x.conf', content='x', owner='no-such-user-tmi'),
     'files[2] (TARGET/x.conf): owner no-such-user-tmi does not exist on the host'),
    (dict(path='TARGET/x.conf', content='x', group='no-such-group-tmi'),
     'files[2] (TARGET/x.conf): group no-such-group-tmi does not exist on the host'),
])
def test_an_invalid_entry_among_valid_ones_changes_nothing(work, bad, message):
    target = work / 'target'
    existing = target / 'existing.conf'
    existing.write_text('old\n')
    os.chmod(existing, 0o644)
    bad = {key: value.replace('TARGET', str(target)) for key, value in bad.items()}
    entries = settings(target) + [bad, dict(path=str(existing), content='new\n', mode='0600')]
    result = run(work, entries)
    assert result.get('failed') is True
    assert message.replace('TARGET', str(target)) in result['msg'] and result['msg'].startswith('file_set changed nothing')
    assert sorted(os.listdir(target)) == ['existing.conf']
    assert existing.read_text() == 'old\n' and mode_of(existing) == 0o644


@pytest.mark.skipif(not AS_ROOT, reason='chown to postgres needs root')
def test_a_secret_file_ends_with_its_mode_and_owner_and_leaves_no_temporary_file(work):
    target = work / 'target'
    os.chmod(target, 0o755)
    secret = target / 'pgpass'
    secret.write_text('old-secret\n')
    os.chmod(secret, 0o644)
    result = run(work, [dict(path=str(secret), content='*:*:*:app:new-secret\n', owner='postgres', group='postgres',
                             mode='0600')])
    assert result['changed'] is True
    st = os.stat(secret)
    assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == pwd.getpwnam('postgres').pw_uid
    assert secret.read_text() == '*:*:*:app:new-secret\n'
    assert os.listdir(target) == ['pgpass']


def test_absent_removes_a_file_and_an_empty_folder(work):
    target = work / 'target'
    (target / 'gone.conf').write_text('x')
    (target / 'empty').mkdir()
    result = run(work, [dict(path=str(target / 'gone.conf'), state='absent'),
                        dict(path=str(target / 'empty'), state='absent')])
    assert result['changed'] is True and os.listdir(target) == []
    assert run(work, [dict(path=str(target / 'gone.conf'), state='absent')])['changed'] is False


def test_backup_keeps_the_replaced_file_only_when_the_content_changes(work):
    path = work / 'target' / 'pg_hba.conf'
    path.write_text('old rules\n')
    entry = dict(path=str(path), content='new rules\n', backup=True)
    result = run(work, [entry])
    copy = result['backup_files'][str(path)]
    assert os.path.dirname(copy) == str(work / 'target') and open(copy).read() == 'old rules\n'
    assert path.read_text() == 'new rules\n'
    assert run(work, [entry])['backup_files'] == {}

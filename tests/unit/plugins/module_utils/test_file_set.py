import collections

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.file_set import (
    PathState,
    parse_mode,
    plan_entries,
)

USERS = {'root': 0, 'postgres': 105}
GROUPS = {'root': 0, 'postgres': 110, 'adm': 4}


def disk(paths=None):
    """A look() over a dict of path -> PathState; '/' and /etc are folders."""
    tree = {'/': PathState('directory', 0, 0, 0o755, empty=False), '/etc': PathState('directory', 0, 0, 0o755, empty=False)}
    tree.update(paths or {})

    def look(path, read_content=False):
        state = tree.get(path)
        if state is not None and not read_content:
            state = state._replace(content=None)
        return state
    return look


Outcome = collections.namedtuple('Outcome', 'plans errors warnings')


def plan(entries, look=None, check_mode=False):
    return Outcome(*plan_entries(entries, look or disk(), USERS.get, GROUPS.get, umask=0o022, check_mode=check_mode))


def entry(path, **kw):
    return dict(dict(path=path, state='file', content=None, owner=None, group=None, mode=None), **kw)


EXISTING = disk({'/etc/app.conf': PathState('file', 0, 110, 0o640, b'a = 1\n'),
                 '/etc/other.conf': PathState('file', 0, 0, 0o644, b'')})


@pytest.mark.parametrize('value,mode', [('0640', 0o640), ('640', 0o640), ('2750', 0o2750), (0o600, 0o600)])
def test_modes_are_octal_strings_or_ints(value, mode):
    assert parse_mode(value) == mode


@pytest.mark.parametrize('value', ['rw-r-----', 'u=rw', '0648', '00640', '64', True, -1, 0o10000, 1.5])
def test_other_modes_are_refused(value):
    with pytest.raises(ValueError):
        parse_mode(value)


def test_a_new_file_is_created_with_the_umask_mode_when_none_is_given():
    out = plan([entry('/etc/new.conf', content='x\n')])
    new = out.plans[0]
    assert out.errors == [] and new.action == 'create' and new.mode == 0o644 and new.content == b'x\n'


def test_the_same_content_and_attributes_is_no_change():
    out = plan([entry('/etc/app.conf', content='a = 1\n', owner='root', group='postgres', mode='0640')],
               EXISTING)
    assert out.errors == [] and not out.plans[0].changed and out.plans[0].diffs() == []


def test_new_content_is_a_write_with_a_text_diff():
    out = plan([entry('/etc/app.conf', content='a = 2\n', mode='0640')], EXISTING)
    assert out.plans[0].action == 'write' and out.plans[0].changes == []
    assert out.plans[0].diffs() == [dict(before_header='/etc/app.conf', after_header='/etc/app.conf',
                                         before='a = 1\n', after='a = 2\n')]


def test_a_wrong_mode_or_owner_alone_changes_the_attributes_not_the_content():
    out = plan([entry('/etc/app.conf', content='a = 1\n', owner='postgres', group='postgres', mode='0600')],
               EXISTING)
    assert out.plans[0].action == 'attributes' and out.plans[0].changes == ['owner', 'mode']
    [diff] = out.plans[0].diffs()
    assert diff['before'] == {'path': '/etc/app.conf', 'owner': 0, 'mode': '0640'}
    assert diff['after'] == {'path': '/etc/app.conf', 'owner': 105, 'mode': '0600'}


def test_without_content_only_the_attributes_are_enforced():
    out = plan([entry('/etc/app.conf', mode='0600')], EXISTING)
    assert out.plans[0].action == 'attributes' and out.plans[0].changes == ['mode']


def test_numeric_owner_and_group_are_ids():
    out = plan([entry('/etc/app.conf', owner='0', group=110)], EXISTING)
    assert out.errors == [] and not out.plans[0].changed


def test_a_new_folder_comes_with_its_missing_parents_and_the_files_in_it_may_follow():
    out = plan([entry('/etc/tmi/conf.d', state='directory', owner='postgres', mode='0750'),
                entry('/etc/tmi/conf.d/a.conf', content='a\n', mode='0600')])
    assert out.errors == []
    folder, new_file = out.plans
    assert folder.action == 'create' and folder.parents == ['/etc/tmi'] and folder.mode == 0o750
    assert new_file.action == 'create'
    assert [d['after_header'] for d in folder.diffs()] == ['/etc/tmi', '/etc/tmi/conf.d']


def test_absent_removes_files_and_empty_folders_and_is_quiet_when_nothing_is_there():
    look = disk({'/etc/old': PathState('file', 0, 0, 0o644), '/etc/empty': PathState('directory', 0, 0, 0o755, empty=True)})
    out = plan([entry('/etc/old', state='absent'), entry('/etc/empty', state='absent'),
                entry('/etc/never', state='absent')], look)
    assert out.errors == [] and [each.action for each in out.plans] == ['remove', 'remove', None]


@pytest.mark.parametrize('bad,message', [
    (entry('etc/app.conf', content='x'), 'files[1] (etc/app.conf): the path must be absolute'),
    (entry('/etc/../app.conf', content='x'), "files[1] (/etc/../app.conf): the path must be plain"),
    (entry('/etc/tmi', state='directory', content='x'),
     'files[1] (/etc/tmi): content is given, but state is directory'),
    (entry('/etc/missing.conf', mode='0600'),
     'files[1] (/etc/missing.conf): does not exist, and no content is given to create it'),
    (entry('/etc/a.conf', content='x', owner='nobody-here'), 'files[1] (/etc/a.conf): owner nobody-here does not exist'),
    (entry('/etc/a.conf', content='x', group='nogroup-here'), 'files[1] (/etc/a.conf): group nogroup-here does not exist'),
    (entry('/etc/a.conf', content='x', mode='u=rw'), "files[1] (/etc/a.conf): mode 'u=rw' is not an octal mode"),
    (entry('/etc/tmi/a.conf', content='x'),
     'files[1] (/etc/tmi/a.conf): its folder /etc/tmi does not exist: list it first, with state directory'),
    (entry('/etc/app.conf', state='directory'), 'files[1] (/etc/app.conf): is a regular file, not a folder'),
    (entry('/etc/app.conf/x', content='x'), 'files[1] (/etc/app.conf/x): /etc/app.conf is a regular file, not a folder'),
    (entry('/etc/good.conf', content='y'), 'files[1] (/etc/good.conf): the same path as files[0]'),
    (entry('/etc/app.conf', backup=True), 'files[1] (/etc/app.conf): backup is set, but no content is given'),
])
def test_a_bad_entry_among_good_ones_is_named_and_nothing_is_planned(bad, message):
    out = plan([entry('/etc/good.conf', content='x'), bad, entry('/etc/other.conf', mode='0600')], EXISTING)
    assert out.plans == []
    assert len(out.errors) == 1 and out.errors[0].startswith(message), out.errors


def test_every_bad_entry_is_named():
    out = plan([entry('relative'), entry('/etc/x', state='absent', content='y')])
    assert [e.split(':')[0] for e in out.errors] == ['files[0] (relative)', 'files[1] (/etc/x)']


def test_links_and_full_folders_are_refused():
    look = disk({'/etc/link': PathState('link', 0, 0, 0o777),
                 '/etc/full': PathState('directory', 0, 0, 0o755, empty=False)})
    out = plan([entry('/etc/link', content='x'), entry('/etc/full', state='absent')], look)
    assert out.errors == ['files[0] (/etc/link): is a symbolic link, not a regular file',
                          'files[1] (/etc/full): is a folder with files in it: file_set removes empty folders only']


def test_an_unknown_owner_is_a_warning_in_check_mode():
    out = plan([entry('/etc/app.conf', owner='newuser')], EXISTING, check_mode=True)
    assert out.errors == [] and out.plans[0].changes == ['owner']
    assert out.warnings[0].startswith('files[0] (/etc/app.conf): owner newuser does not exist on the host (yet')


def test_in_check_mode_a_folder_or_file_an_earlier_task_would_make_is_a_warning():
    out = plan([entry('/etc/tmi/a.conf', content='x'), entry('/etc/made-by-a-package.conf', mode='0600')],
               check_mode=True)
    assert out.errors == [] and [each.action for each in out.plans] == ['create', None]
    assert [w.split(': ')[1] for w in out.warnings] == [
        'its folder /etc/tmi does not exist', 'does not exist, and no content is given to create it (yet']

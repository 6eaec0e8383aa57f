# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated role passwords always satisfy PostgreSQL's passwordcheck."""

import os
import random
import stat

import pytest

from ansible_collections.tmi.postgresql.plugins.plugin_utils.role_password import (
    PasswordError,
    generate,
    passwordcheck_problem,
    read_or_create,
)


class OnlyLetters(random.Random):
    """A random source that draws letters whenever it may: the worst case of a plain random string."""

    def choice(self, seq):
        return seq[0]


@pytest.mark.parametrize('password, problem', [
    ('short1', 'password is too short'),
    ('onlyletterslong', 'password must contain both letters and nonletters'),
    ('1234567890', 'password must contain both letters and nonletters'),
    ('xtmi_appx12', 'password must not contain user name'),
    ('abcdefg1', None),
])
def test_passwordcheck_rules(password, problem):
    assert passwordcheck_problem(password, 'tmi_app') == problem


def test_generated_passwords_always_pass_even_from_a_source_that_prefers_letters():
    password = generate('tmi_app', 32, rng=OnlyLetters())
    assert passwordcheck_problem(password, 'tmi_app') is None
    assert len(password) == 32


def test_ten_thousand_generated_passwords_all_pass():
    rng = random.Random(9)
    for dummy in range(10000):
        password = generate('rep', 12, rng=rng)
        assert passwordcheck_problem(password, 'rep') is None, password


def test_a_draw_containing_the_role_name_is_drawn_again():
    class Scripted(random.Random):
        def __init__(self):
            super(Scripted, self).__init__(1)
            self.draws = 0

        def shuffle(self, x):
            self.draws += 1
            if self.draws == 1:
                x[:4] = list('AbC1')

    rng = Scripted()
    password = generate('abc', 12, rng=rng)
    assert 'abc' not in password.lower() and rng.draws >= 2


def test_short_lengths_are_refused():
    with pytest.raises(PasswordError, match='below 12'):
        generate('tmi_app', 8)


def test_the_file_is_made_once_private_and_read_back(tmp_path):
    path = str(tmp_path / 'new' / 'tmi_app.password')
    first = read_or_create(path, 'tmi_app')
    assert read_or_create(path, 'tmi_app') == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700


def test_a_file_of_ansible_builtin_password_is_read_as_it_was(tmp_path):
    path = tmp_path / 'old.password'
    path.write_text('AbcdefGhijk1 salt=xyz\n')
    assert read_or_create(str(path), 'tmi_app') == 'AbcdefGhijk1'


def test_an_empty_file_is_an_error_not_an_empty_password(tmp_path):
    path = tmp_path / 'empty.password'
    path.write_text('\n')
    with pytest.raises(PasswordError, match='is empty'):
        read_or_create(str(path), 'tmi_app')


def _race(args):
    path, barrier = args
    barrier.wait()
    try:
        return read_or_create(path, 'patroni')
    except PasswordError as exc:
        return 'error: %s' % exc


def test_hosts_that_make_the_same_file_at_once_all_get_its_one_password(tmp_path):
    # Ansible's forks run the lookup for every host of a play at the same time: the members of a cluster share
    # one password file. None may read it before it is whole (an empty file), and all must get the same password.
    import multiprocessing
    workers = 8
    with multiprocessing.Manager() as manager, multiprocessing.Pool(workers) as pool:
        for round_number in range(60):
            barrier = manager.Barrier(workers)
            path = str(tmp_path / ('round-%d' % round_number) / 'patroni.password')
            results = pool.map(_race, [(path, barrier)] * workers)
            assert len(set(results)) == 1, results
            assert not results[0].startswith('error'), results[0]

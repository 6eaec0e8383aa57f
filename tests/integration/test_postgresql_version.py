"""tmi_postgresql_version comes from the platform unless the inventory sets it; an unknown platform is refused.

The plays gather no facts: the common role reads the distribution itself,
only when the version is not set. A platform the collection knows no version
of stops site.yml in its pre_tasks, before the first role, with a message
naming the variable. An unknown platform is simulated by extra vars that
override the facts (nothing else here can make this Debian host another one).
"""

import glob
import os

import pytest
import yaml

from backup_helpers import REPO, assert_refused_at, platform_postgresql_version, run_playbook, task_result

VERSION_CHECK = 'Check that the PostgreSQL version is set or known from the platform.'
PLATFORM_READ = 'Read the distribution and its release, which the default PostgreSQL version comes from.'
FEDORA = {'ansible_facts': {'distribution': 'Fedora', 'distribution_major_version': '40'}}


# The common role alone, in a play that gathers no facts, and the version it worked out.
COMMON_PLAY = [{
    'hosts': 'localhost',
    'gather_facts': False,
    'roles': [{'role': 'tmi.postgresql.common'}],
    'tasks': [{'name': 'Show the version.',
               'ansible.builtin.debug': {'msg': '{{ tmi_postgresql_version }} {{ tmi_postgresql_bindir }}'}}],
}]


def common_playbook(workdir):
    path = workdir / 'common.yml'
    path.write_text(yaml.safe_dump(COMMON_PLAY))
    return str(path)


def test_the_version_defaults_to_the_platforms_own(tmp_path):
    expected = platform_postgresql_version()
    rc, report = run_playbook(common_playbook(tmp_path), str(tmp_path), {}, check=True)
    assert rc == 0
    assert not task_result(report, PLATFORM_READ).get('skipped')
    assert task_result(report, 'Show the version.')['msg'] == '%d /usr/lib/postgresql/%d/bin' % (expected, expected)


def test_a_version_set_in_the_inventory_wins_and_the_platform_is_not_read(tmp_path):
    rc, report = run_playbook(common_playbook(tmp_path), str(tmp_path), dict(FEDORA, tmi_postgresql_version=17),
                              check=True)
    assert rc == 0
    assert task_result(report, PLATFORM_READ).get('skipped')
    assert task_result(report, 'Show the version.')['msg'] == '17 /usr/lib/postgresql/17/bin'


def test_site_refuses_an_unknown_platform_before_the_first_role(tmp_path):
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path), FEDORA, check=True)
    assert_refused_at(rc, report, VERSION_CHECK,
                      'tmi_postgresql_version is not set and Fedora 40 has no PostgreSQL version known')
    ran = [task['task']['name'].split(' : ')[-1] for play in report['plays'] for task in play['tasks']]
    assert ran[-1] == VERSION_CHECK and len(ran) <= 3, ran


REBUILD_PLAY = [{'hosts': 'localhost', 'gather_facts': False, 'roles': [{'role': 'tmi.postgresql.dr_rebuild'}]}]
VERSION_MATCH = 'Fail when the backups are of another PostgreSQL version than this host would install.'


def rebuild_from(tmp_path, backup_version):
    """dr_rebuild's checks against a local repository whose stanza's backups are of backup_version."""
    stanza = tmp_path / 'repo' / 'backup' / 'tmi'
    stanza.mkdir(parents=True)
    (stanza / 'backup.info').write_text('[backrest]\nbackrest-format=5\n\n[db]\ndb-id=1\ndb-version="%d"\n'
                                        % backup_version)
    path = tmp_path / 'rebuild.yml'
    path.write_text(yaml.safe_dump(REBUILD_PLAY))
    return run_playbook(str(path), str(tmp_path), {'tmi_postgresql_pgbackrest_repo': str(tmp_path / 'repo'),
                                                   'tmi_postgresql_version': 15}, check=True)


def test_a_rebuild_from_backups_of_another_major_version_is_refused(tmp_path):
    rc, report = rebuild_from(tmp_path, 13)
    assert_refused_at(rc, report, VERSION_MATCH,
                      'Stanza tmi holds backups of PostgreSQL 13, and this host would install PostgreSQL 15')


def test_a_rebuild_from_backups_of_the_same_major_version_passes_the_check(tmp_path):
    rc, report = rebuild_from(tmp_path, 15)
    result = task_result(report, VERSION_MATCH)
    assert not result.get('failed') and not result.get('skipped'), result


SERVER_PLAY = [{'hosts': 'localhost', 'gather_facts': False, 'roles': [{'role': 'tmi.postgresql.server'}]}]
CLUSTER_VERSION_CHECK = 'Refuse to make the cluster beside the same cluster of another PostgreSQL version.'


def host_main_cluster_versions():
    """The major versions of this host's clusters `main` (Debian's packages make one with the server)."""
    return sorted(int(path.split('/')[3]) for path in glob.glob('/etc/postgresql/*/main/postgresql.conf')
                  if path.split('/')[3].isdigit())


def test_the_server_role_refuses_a_second_cluster_of_another_version_before_installing(tmp_path):
    # This host's Debian packages made cluster main of its release's version (15/main on Debian 12): another version
    # (17 there, Debian 13's default, as on a host upgraded from Debian 12; 15 on a Debian 13 host) would install
    # that version's server and create an empty main cluster beside it.
    have = host_main_cluster_versions()
    if not have:
        pytest.skip('no cluster main under /etc/postgresql on this host (postgresql-common makes it with the server)')
    other = next(version for version in (17, 15, 13) if version not in have)
    path = tmp_path / 'server.yml'
    path.write_text(yaml.safe_dump(SERVER_PLAY))
    rc, report = run_playbook(str(path), str(tmp_path), {'tmi_postgresql_version': other}, check=True)
    assert_refused_at(rc, report, CLUSTER_VERSION_CHECK,
                      'This host has cluster %s and no %d/main: tmi_postgresql_version is %d'
                      % (', '.join('%d/main' % version for version in have), other, other))

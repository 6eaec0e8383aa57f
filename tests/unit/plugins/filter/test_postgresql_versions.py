import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.postgresql_versions import (
    cluster_version_error, platform_postgresql_version, platform_postgresql_version_error, stanza_postgresql_version,
    stanzas_without_current_backup, stat_statements_views)


def facts(distribution, release):
    return {'distribution': distribution, 'distribution_major_version': release, 'os_family': 'Debian'}


@pytest.mark.parametrize('release, version', [('11', 13), ('12', 15), ('13', 17)])
def test_each_debian_release_gets_its_own_postgresql_common_default(release, version):
    assert platform_postgresql_version(facts('Debian', release)) == version
    assert platform_postgresql_version_error(facts('Debian', release)) == ''


@pytest.mark.parametrize('release, version', [('22', 14), ('24', 16)])
def test_ubuntu_lts_releases_get_their_own_version(release, version):
    assert platform_postgresql_version(facts('Ubuntu', release)) == version


@pytest.mark.parametrize('host', [
    facts('Debian', '10'), facts('Debian', 'n/a'), facts('Ubuntu', '20'), facts('Fedora', '40'),
    facts('debian', '12'), {}, {'distribution': 'Debian'}, None, 'Debian 12',
])
def test_an_unknown_platform_or_missing_facts_have_no_version(host):
    assert platform_postgresql_version(host) is None


def test_an_unknown_platform_is_refused_naming_the_variable_and_the_platform():
    message = platform_postgresql_version_error(facts('Fedora', '40'))
    assert message.startswith('tmi_postgresql_version is not set and Fedora 40 has no PostgreSQL version known')
    assert 'Debian 11: 13, Debian 12: 15, Debian 13: 17' in message
    assert message.endswith('Nothing was changed.')


def test_missing_facts_are_named_as_such():
    message = platform_postgresql_version_error({})
    assert 'the facts name no distribution and release' in message
    assert message.endswith('Nothing was changed.')


@pytest.mark.parametrize('version', [13, 17, '15'])
def test_a_version_set_in_the_inventory_wins_over_an_unknown_platform(version):
    assert platform_postgresql_version_error(facts('Fedora', '40'), version) == ''


@pytest.mark.parametrize('version', [None, ''])
def test_an_empty_version_counts_as_not_set(version):
    assert platform_postgresql_version_error(facts('Fedora', '40'), version) != ''
    assert platform_postgresql_version_error(facts('Debian', '11'), version) == ''


@pytest.mark.parametrize('number, views', [
    (130016, ['pg_stat_statements']),
    ('130016', ['pg_stat_statements']),
    (139999, ['pg_stat_statements']),
    (140000, ['pg_stat_statements', 'pg_stat_statements_info']),
    (150010, ['pg_stat_statements', 'pg_stat_statements_info']),
    ('170002', ['pg_stat_statements', 'pg_stat_statements_info']),
])
def test_pg_stat_statements_info_only_from_14(number, views):
    assert stat_statements_views(number) == views


@pytest.mark.parametrize('number', [None, '', '15', 15, 'abc', True, 15.5, '15.4'])
def test_a_value_that_is_no_server_version_num_is_an_error(number):
    with pytest.raises(AnsibleFilterError, match='server_version_num'):
        stat_statements_views(number)


INFO = {'name': 'tmi', 'status': {'code': 0}, 'db': [
    {'id': 1, 'repo-key': 1, 'system-id': 7300000000000000001, 'version': '13'},
    {'id': 2, 'repo-key': 1, 'system-id': 7300000000000000002, 'version': '15'}]}
BACKUP_INFO = '''[backrest]
backrest-format=5
backrest-version="2.45"

[db]
db-catalog-version=202209061
db-control-version=1300
db-id=2
db-system-id=7300000000000000002
db-version="15"

[db:history]
1={"db-catalog-version":202007201,"db-control-version":1300,"db-system-id":7300000000000000001,"db-version":"13"}
'''


def test_the_stanzas_current_database_version_from_pgbackrest_info():
    assert stanza_postgresql_version(INFO) == 15
    assert stanza_postgresql_version(dict(INFO, db=INFO['db'][:1])) == 13


def test_the_stanzas_version_from_backup_info_not_from_its_history():
    assert stanza_postgresql_version(BACKUP_INFO) == 15


@pytest.mark.parametrize('info', [{'name': 'tmi', 'status': {'code': 1}}, {'db': []}, {'db': [{'id': 1}]}, '', '[db]\n',
                                  None, 15])
def test_a_stanza_that_says_nothing_has_no_version(info):
    assert stanza_postgresql_version(info) is None


def lsclusters(*names):
    return [{'version': int(name.split('/')[0]), 'cluster': name.split('/')[1]} for name in names]


@pytest.mark.parametrize('clusters', [None, [], lsclusters('17/main'), lsclusters('15/main', '17/main'),
                                      lsclusters('15/other')])
def test_no_refusal_without_the_cluster_at_another_version_only(clusters):
    assert cluster_version_error(clusters, 17, 'main') == ''


def test_a_host_that_kept_its_old_cluster_after_a_release_upgrade_is_refused():
    message = cluster_version_error(lsclusters('15/main', '13/other'), 17, 'main')
    assert message.startswith('This host has cluster 15/main and no 17/main: tmi_postgresql_version is 17')
    assert message.endswith('Nothing was changed.')


def test_the_version_matches_as_a_number_or_a_string():
    assert cluster_version_error([{'version': '15', 'cluster': 'main'}], 15, 'main') == ''
    assert cluster_version_error(lsclusters('15/main'), '15', 'main') == ''


def backup(label, db_id, repo_key=1):
    return {'label': label, 'type': 'full', 'database': {'id': db_id, 'repo-key': repo_key}}


def test_a_stanza_upgraded_to_a_new_database_needs_a_backup_of_it():
    upgraded = dict(INFO, backup=[backup('20261201-000000F', 1)])
    assert stanzas_without_current_backup([upgraded]) == ['tmi']
    assert stanzas_without_current_backup([dict(upgraded, backup=upgraded['backup'] + [backup('B', 2)])]) == []


def test_each_repository_has_its_own_current_database():
    two_repos = {'name': 'tmi', 'db': [{'id': 2, 'repo-key': 1}, {'id': 1, 'repo-key': 1}, {'id': 1, 'repo-key': 2}],
                 'backup': [backup('A', 1, 2)]}
    # repo2's current database is its id 1: the backup there is of the current database.
    assert stanzas_without_current_backup([two_repos]) == []
    assert stanzas_without_current_backup([dict(two_repos, backup=[backup('A', 1, 1)])]) == ['tmi']


@pytest.mark.parametrize('stanza, needs', [
    ({'name': 'new', 'db': [{'id': 1, 'repo-key': 1}], 'backup': []}, True),
    ({'name': 'new', 'status': {'code': 1}}, True),
    ({'name': 'old', 'backup': [{'label': 'A'}]}, False),  # no db list: the backups count as they are
    ({'name': 'odd', 'db': [{'id': 1}], 'backup': [{'label': 'A'}]}, True),  # a backup naming no database
])
def test_stanzas_without_a_database_list_count_their_backups(stanza, needs):
    assert stanzas_without_current_backup([stanza, 'not a stanza']) == ([stanza['name']] if needs else [])

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.repo_stanzas import repo_stanzas

DEFAULTS = {'stanza': 'tmi', 'tls_server_port': 8432, 'version': 15, 'cluster': 'main', 'port': 5432,
            'socket_dir': '/var/run/postgresql', 'config': '/etc/pgbackrest/pgbackrest.conf'}
HOSTVARS = {
    'db1': {'wal_archive_repo_host': 'backup1'},
    'db2': {'wal_archive_repo_host': 'backup1', 'wal_archive_stanza': 'billing', 'tmi_postgresql_version': 17,
            'tmi_postgresql_port': 5433, 'wal_archive_tls_server_port': 8442},
    'db3': {'wal_archive_repo_host': 'backup2'},
    'app1': {},
    'backup1': {},
}


def test_the_hosts_that_archive_here_become_stanzas_with_the_common_defaults():
    assert repo_stanzas(HOSTVARS, ['app1', 'backup1', 'db1'], ['backup1'], DEFAULTS) == [
        {'name': 'tmi', 'host': 'db1', 'host_port': 8432, 'client_cn': 'db1', 'pg_path': '/var/lib/postgresql/15/main',
         'pg_port': 5432, 'pg_socket_path': '/var/run/postgresql',
         'pg_config': '/etc/pgbackrest/pgbackrest.conf'}]


def test_a_hosts_own_settings_win_and_other_repository_hosts_are_left_out():
    stanzas = repo_stanzas(HOSTVARS, list(HOSTVARS), ['backup1'], DEFAULTS)
    assert [s['host'] for s in stanzas] == ['db1', 'db2']
    assert stanzas[1] == {'name': 'billing', 'host': 'db2', 'host_port': 8442, 'client_cn': 'db2',
                          'pg_path': '/var/lib/postgresql/17/main', 'pg_port': 5433, 'pg_socket_path': '/var/run/postgresql',
                          'pg_config': '/etc/pgbackrest/pgbackrest.conf'}


def test_the_shared_data_directory_wins_over_the_debian_layout():
    hostvars = {'db1': {'wal_archive_repo_host': 'b', 'tmi_postgresql_data_dir': '/srv/pg'}}
    assert repo_stanzas(hostvars, ['db1'], ['b'], DEFAULTS)[0]['pg_path'] == '/srv/pg'


def test_a_hosts_own_pgbackrest_configuration_is_named():
    hostvars = {'db1': {'wal_archive_repo_host': 'b', 'tmi_postgresql_pgbackrest_config': '/etc/pgbackrest/tmi.conf'},
                'db2': {'wal_archive_repo_host': 'b', 'tmi_postgresql_pgbackrest_config': '/etc/pgbackrest/tmi.conf',
                        'wal_archive_config_file': '/srv/db2.conf'}}
    assert [s['pg_config'] for s in repo_stanzas(hostvars, ['db1', 'db2'], ['b'], DEFAULTS)] == [
        '/etc/pgbackrest/tmi.conf', '/srv/db2.conf']


def test_no_host_archiving_here_is_an_empty_list():
    assert repo_stanzas(HOSTVARS, list(HOSTVARS), ['backup9'], DEFAULTS) == []


def test_incomplete_defaults_are_an_error_of_the_play():
    with pytest.raises(AnsibleFilterError, match='defaults lack version'):
        repo_stanzas(HOSTVARS, ['db1'], ['backup1'], dict((k, v) for k, v in DEFAULTS.items() if k != 'version'))


def test_a_host_without_a_version_has_its_own_platforms_not_the_repository_hosts():
    # The database host runs Debian 13 (PostgreSQL 17), the repository host Debian 12 (defaults: 15).
    hostvars = {'db1': {'wal_archive_repo_host': 'b',
                        'ansible_facts': {'distribution': 'Debian', 'distribution_major_version': '13'}},
                'db2': {'wal_archive_repo_host': 'b', 'tmi_postgresql_version': 13,
                        'ansible_facts': {'distribution': 'Debian', 'distribution_major_version': '13'}},
                'db3': {'wal_archive_repo_host': 'b', 'ansible_facts': {}},
                'db4': {'wal_archive_repo_host': 'b',
                        'ansible_facts': {'distribution': 'Fedora', 'distribution_major_version': '40'}}}
    paths = [s['pg_path'] for s in repo_stanzas(hostvars, list(hostvars), ['b'], DEFAULTS)]
    assert paths == ['/var/lib/postgresql/17/main', '/var/lib/postgresql/13/main', '/var/lib/postgresql/15/main',
                     '/var/lib/postgresql/15/main']

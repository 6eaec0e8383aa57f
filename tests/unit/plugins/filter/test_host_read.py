import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.host_read import cluster_info, host_read, login_files_to_fix

CLUSTERS = '[{"version": 15, "cluster": "main", "pgdata": "/var/lib/postgresql/15/main", "start": "auto"}]'
OUTPUT = '\n'.join([
    'clusters\t' + CLUSTERS,
    'package\tii \tpostgresql-15',
    'package\thi \tcron',
    'package\trc \tpgbackrest',
    'package\tun \tacl',
    'home\t/var/lib/postgresql',
    'path\tdirectory\tpostgres\tpostgres\t700\t/var/lib/postgresql/15/main',
    'path\tregular file\tpostgres\tpostgres\t640\t/etc/postgresql/15/main/conf.d/10-tmi-server.conf',
    'sha1\t9f13cac83286635591580344304794bb81aafafd\t/etc/postgresql/15/main/conf.d/10-tmi-server.conf',
    'path\tregular file\tpostgres\tpostgres\t640\t/var/lib/postgresql/.profile',
    'sha1\t6ff43bdbd048bccf4f3d5839ef35433e38ce2c6e\t/var/lib/postgresql/.profile',
    'umask\t/var/lib/postgresql/.profile\tumask 0077',
    'fqdn\tdb1.example.org',
    'init\tsystemd',
    'unit\tenabled\tactive',
    'roles\t{"missing": false, "connlimit": 3, "replication_ok": true, "replication_verifier": null}',
    '',
])


def test_the_output_is_parsed():
    host = host_read(OUTPUT)
    assert host['clusters'][0]['pgdata'] == '/var/lib/postgresql/15/main'
    assert host['home'] == '/var/lib/postgresql'
    assert host['files'][0] == {'path': '/var/lib/postgresql/15/main', 'isdir': True, 'pw_name': 'postgres',
                                'gr_name': 'postgres', 'mode': '0700'}
    assert host['files'][1]['checksum'] == '9f13cac83286635591580344304794bb81aafafd'
    assert host['files'][2]['umask'] == 'umask 0077'


def test_only_installed_packages_count():
    # ii installed, hi installed and held; rc removed with its configuration left, un unknown.
    assert sorted(host_read(OUTPUT)['packages']) == ['cron', 'postgresql-15']


def test_before_postgresql_is_installed():
    host = host_read('clusters\t[]\npackage\tii \tdpkg\n')
    assert host == {'clusters': [], 'clusters_error': None, 'packages': {'dpkg': [{'name': 'dpkg', 'source': 'apt'}]}, 'home': None,
                    'files': [], 'fqdn': None, 'service_mgr': None, 'roles': None, 'unit': None}


def test_the_host_name_and_service_manager_are_the_facts_gather_facts_would_give():
    host = host_read(OUTPUT)
    assert (host['fqdn'], host['service_mgr']) == ('db1.example.org', 'systemd')
    assert host['unit'] == {'enabled': 'enabled', 'active': 'active'}
    assert host_read('clusters\t[]\ninit\tservice\n')['service_mgr'] == 'service'


def test_the_roles_line_is_the_json_the_query_printed():
    assert host_read(OUTPUT)['roles'] == {'missing': False, 'connlimit': 3, 'replication_ok': True,
                                          'replication_verifier': None}


@pytest.mark.parametrize('text, message', [
    ('clusters\tError: no\n', 'printed no JSON'),
    ('clusters\t[]\nstat\tx\n', 'unknown tag'),
    ('clusters\t[]\npath\tdirectory\troot\t755\t/etc\n', r'has 4 field\(s\), not 5'),
    ('clusters\t[]\npath\tdirectory\troot\troot\trwx\t/etc\n', 'not an octal number'),
    ('clusters\t[]\nsha1\tabc\t/etc/x\n', 'no path line before it'),
    ('clusters\t[]\nroles\tERROR\n', 'the roles query printed no JSON'),
    ('clusters\t[]\npem\t/etc/x\tLS0t\n', 'no path line before it'),
    ('path\tregular file\troot\troot\t644\t/etc/x\npem\t/etc/x\t-not-base64-\n', 'not base64'),
])
def test_a_broken_output_is_an_error(text, message):
    with pytest.raises(AnsibleFilterError, match=message):
        host_read(text)


def test_a_path_with_tabs_keeps_them():
    host = host_read('clusters\t[]\npath\tregular file\troot\troot\t644\t/tmp/a\tb\n')
    assert host['files'][0]['path'] == '/tmp/a\tb'


@pytest.mark.parametrize('version', [15, '15'])
def test_the_cluster_is_found_by_version_number_or_string(version):
    assert cluster_info(host_read(OUTPUT)['clusters'], version, 'main')['start'] == 'auto'


def test_an_unknown_cluster_is_empty():
    assert cluster_info(host_read(OUTPUT)['clusters'], '15', 'other') == {}
    assert cluster_info([], '15', 'main') == {}


def login(path, umask='umask 0077', owner='postgres', mode='0640', isdir=False):
    entry = {'path': path, 'isdir': isdir, 'pw_name': owner, 'gr_name': 'postgres', 'mode': mode}
    if umask is not None:
        entry['umask'] = umask
    return entry


HOME = '/var/lib/postgresql'


def test_login_files_that_are_right_need_nothing():
    host = {'home': HOME, 'files': [login(HOME + '/.profile'), login(HOME + '/.bash_login')]}
    assert login_files_to_fix(host, 'umask 0077') == []


def test_profile_is_created_when_missing_and_bash_files_only_when_they_exist():
    assert login_files_to_fix({'home': HOME + '/', 'files': []}, 'umask 0077') == [HOME + '/.profile']


@pytest.mark.parametrize('entry', [
    login(HOME + '/.bash_profile', umask=''),
    login(HOME + '/.bash_profile', umask='umask 022'),
    login(HOME + '/.bash_profile', owner='root'),
    login(HOME + '/.bash_profile', mode='0644'),
    login(HOME + '/.bash_profile', isdir=True),
])
def test_a_login_file_without_the_line_or_with_another_owner_or_mode_is_fixed(entry):
    host = {'home': HOME, 'files': [login(HOME + '/.profile'), entry]}
    assert login_files_to_fix(host, 'umask 0077') == [HOME + '/.bash_profile']


def test_no_home_is_an_error():
    with pytest.raises(AnsibleFilterError, match='no home folder'):
        login_files_to_fix({'home': None, 'files': []}, 'umask 0077')


def test_a_read_of_files_only_has_no_clusters_and_may_carry_a_file_s_text():
    host = host_read('path\tregular file\troot\troot\t644\t/etc/x.crt\npem\t/etc/x.crt\tLS0tLS1CRUdJTgo=\n')
    assert host['clusters'] is None
    assert host['files'][0]['content'] == '-----BEGIN\n'


def test_a_failed_cluster_list_is_no_cluster_list_and_says_why():
    # Debian 11's postgresql-common prints JSON only with libjson-perl: the role then installs it and reads again.
    error = "pg_lsclusters --json exited with 2: Can't locate JSON.pm in @INC"
    host = host_read('clusters_error\t%s\npackage\tii \tpostgresql-13\n' % error)
    assert host['clusters'] is None
    assert host['clusters_error'] == error
    assert host['packages'] == {'postgresql-13': [{'name': 'postgresql-13', 'source': 'apt'}]}
    assert cluster_info(host['clusters'], 13, 'main') == {}


def test_a_listed_cluster_has_no_error():
    assert host_read(OUTPUT)['clusters_error'] is None

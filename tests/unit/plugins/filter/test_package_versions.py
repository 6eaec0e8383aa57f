import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.package_versions import (
    package_requirements, package_version_errors, web_config_flag)
from ansible_collections.tmi.postgresql.plugins.module_utils.package_versions import apt_policy, upstream_version

# `LC_ALL=C apt-cache policy pgbackrest prometheus-postgres-exporter prometheus-node-exporter nosuchpackage`
# on Debian 11 (read there on 2026-12-03) with the exporters installed and pgBackRest not (nosuchpackage
# prints nothing).
BULLSEYE = '''pgbackrest:
  Installed: (none)
  Candidate: 2.33-1
  Version table:
     2.33-1 500
        500 http://deb.debian.org/debian bullseye/main amd64 Packages
prometheus-postgres-exporter:
  Installed: 0.8.0+ds-1+b6
  Candidate: 0.8.0+ds-1+b6
  Version table:
 *** 0.8.0+ds-1+b6 500
        500 http://deb.debian.org/debian bullseye/main amd64 Packages
        100 /var/lib/dpkg/status
prometheus-node-exporter:
  Installed: 1.1.2+ds-2.1
  Candidate: 1.1.2+ds-2.1
  Version table:
 *** 1.1.2+ds-2.1 500
        500 http://deb.debian.org/debian bullseye/main amd64 Packages
        100 /var/lib/dpkg/status
'''
# Debian 12, the node exporter installed, pgBackRest not yet and apt's lists not read (no candidate).
BOOKWORM = '''prometheus-node-exporter:
  Installed: 1.5.0-1+b6
  Candidate: 1.5.0-1+b6
  Version table:
 *** 1.5.0-1+b6 100
        100 /var/lib/dpkg/status
pgbackrest:
  Installed: (none)
  Candidate: (none)
  Version table:
'''
REPO_HOST = {'package': 'pgbackrest', 'minimum': '2.37', 'variables': 'wal_archive_repo_host',
             'needs': 'the TLS server of the repository host'}
EXPORTER_WEB = {'package': 'prometheus-postgres-exporter', 'minimum': '0.10',
                'variables': ['monitoring_web_basic_auth', 'monitoring_web_tls_cert_file'],
                'needs': 'its --web.config.file option'}


def test_apt_policy_reads_installed_and_candidate_per_package():
    assert apt_policy(BULLSEYE) == {
        'pgbackrest': {'installed': None, 'candidate': '2.33-1'},
        'prometheus-postgres-exporter': {'installed': '0.8.0+ds-1+b6', 'candidate': '0.8.0+ds-1+b6'},
        'prometheus-node-exporter': {'installed': '1.1.2+ds-2.1', 'candidate': '1.1.2+ds-2.1'},
    }
    assert apt_policy(BOOKWORM)['pgbackrest'] == {'installed': None, 'candidate': None}
    assert apt_policy('') == {}
    assert apt_policy(None) == {}


@pytest.mark.parametrize('version, numbers', [
    ('2.33-1', (2, 33)), ('0.8.0+ds-1+b6', (0, 8, 0)), ('1:1.1.2+ds-2.1', (1, 1, 2)), ('2.55.1-1', (2, 55, 1)),
    ('17.1-1.pgdg120+1', (17, 1)), ('abc', None), ('', None), (None, None), (2, None),
])
def test_upstream_version_takes_the_leading_numbers_after_the_epoch(version, numbers):
    assert upstream_version(version) == numbers


def test_debian_11_s_pgbackrest_candidate_is_refused_for_the_repository_host():
    errors = package_version_errors(apt_policy(BULLSEYE), [REPO_HOST])
    assert errors == ["wal_archive_repo_host needs pgbackrest 2.37 or later (the TLS server of the repository host),"
                      " but this host has pgbackrest 2.33-1 (apt's candidate, not installed yet): change"
                      " wal_archive_repo_host, or give the host pgbackrest 2.37 or later first."]


def test_debian_11_s_installed_postgres_exporter_is_refused_for_basic_auth_and_tls():
    errors = package_version_errors(apt_policy(BULLSEYE), [EXPORTER_WEB])
    assert len(errors) == 1
    assert errors[0].startswith('monitoring_web_basic_auth and monitoring_web_tls_cert_file need'
                                ' prometheus-postgres-exporter 0.10 or later (its --web.config.file option), but this'
                                ' host has prometheus-postgres-exporter 0.8.0+ds-1+b6 (installed)')


@pytest.mark.parametrize('installed, candidate', [
    ('2.37-1', None), ('2.45-1', '2.45-1'), (None, '2.55.1-1'), ('1:2.37', None), ('3.0-1', None),
])
def test_the_minimum_or_a_newer_version_passes(installed, candidate):
    assert package_version_errors({'pgbackrest': {'installed': installed, 'candidate': candidate}}, [REPO_HOST]) == []


def test_the_installed_version_counts_before_a_newer_candidate():
    # The roles install a missing package but upgrade none: 2.33 keeps running.
    versions = {'pgbackrest': {'installed': '2.33-1', 'candidate': '2.45-1'}}
    assert '2.33-1 (installed)' in package_version_errors(versions, [REPO_HOST])[0]


@pytest.mark.parametrize('versions', [
    apt_policy(BOOKWORM), {}, {'pgbackrest': {'installed': None, 'candidate': None}}, {'pgbackrest': 'odd'},
    {'pgbackrest': {'installed': 'unknown', 'candidate': None}},
])
def test_an_unknown_version_is_not_refused_here(versions):
    assert package_version_errors(versions, [REPO_HOST]) == []


def test_no_requirement_no_error():
    assert package_version_errors(apt_policy(BULLSEYE), []) == []


@pytest.mark.parametrize('requirements', [
    'pgbackrest', [{'package': 'pgbackrest'}], [dict(REPO_HOST, minimum='new')], [dict(REPO_HOST, variables=[])],
])
def test_a_malformed_requirement_is_an_error_of_the_play(requirements):
    with pytest.raises(AnsibleFilterError, match='package_version_errors'):
        package_version_errors(apt_policy(BULLSEYE), requirements)


@pytest.mark.parametrize('version, flag', [
    ('1.1.2+ds-2.1', '--web.config'), ('1.4.0-1', '--web.config'), ('1.5.0-1+b6', '--web.config.file'),
    ('1.9.0-1', '--web.config.file'), (None, '--web.config.file'),
])
def test_node_exporter_s_web_config_option_follows_its_version(version, flag):
    versions = {'prometheus-node-exporter': {'installed': version, 'candidate': None}}
    assert web_config_flag(versions, 'prometheus-node-exporter') == flag


def test_the_postgres_exporter_always_gets_web_config_file():
    # 0.8 has neither option: package_version_errors refuses it before the flag matters.
    assert web_config_flag(apt_policy(BULLSEYE), 'prometheus-postgres-exporter') == '--web.config.file'
    assert web_config_flag(apt_policy(BULLSEYE), 'prometheus-node-exporter') == '--web.config'


def test_no_setting_in_use_needs_a_package_version():
    assert package_requirements({'monitoring_web_basic_auth': False, 'monitoring_web_tls_cert_file': '',
                                 'wal_archive_repo_host': '', 'tmi_postgresql_repository_hosts': False}) == []
    assert package_requirements({'something_else': True}) == []


def test_the_exporters_web_settings_need_both_exporters():
    requirements = package_requirements({'monitoring_web_basic_auth': 'true', 'monitoring_web_tls_cert_file': ''})
    assert [(r['package'], r['minimum'], r['variables']) for r in requirements] == [
        ('prometheus-postgres-exporter', '0.10', ['monitoring_web_basic_auth']),
        ('prometheus-node-exporter', '1.1', ['monitoring_web_basic_auth'])]
    requirements = package_requirements({'monitoring_web_basic_auth': True, 'monitoring_web_tls_cert_file': '/c.pem'})
    assert requirements[0]['variables'] == ['monitoring_web_basic_auth', 'monitoring_web_tls_cert_file']


def test_debian_11_refuses_the_web_settings_by_the_postgres_exporter_only():
    errors = package_version_errors(apt_policy(BULLSEYE), package_requirements({'monitoring_web_tls_cert_file': '/c'}))
    assert len(errors) == 1
    assert errors[0].startswith('monitoring_web_tls_cert_file needs prometheus-postgres-exporter 0.10 or later')
    assert '0.8.0+ds-1+b6 (installed)' in errors[0]


@pytest.mark.parametrize('settings', [{'wal_archive_repo_host': 'backup1'}, {'tmi_postgresql_repository_hosts': True}])
def test_either_side_of_the_repository_host_layout_needs_pgbackrest_2_37(settings):
    errors = package_version_errors(apt_policy(BULLSEYE), package_requirements(settings))
    assert len(errors) == 1
    assert errors[0].startswith('%s needs pgbackrest 2.37 or later' % list(settings)[0])
    assert 'this host has pgbackrest 2.33-1' in errors[0]


def test_settings_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match='package_requirements'):
        package_requirements(['wal_archive_repo_host'])

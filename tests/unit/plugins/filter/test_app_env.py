"""tmi.postgresql.app_env_errors, database_url and redis_url: refused settings, libpq's name rule, the URLs."""

import subprocess
from urllib.parse import unquote, urlsplit

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.app_env import app_env_errors, database_url, redis_url
from ansible_collections.tmi.postgresql.plugins.module_utils.app_env import host_matches_certificate

# The ssl role's default names on a host db1.example.org.
SSL_NAMES = ['DNS:db1.example.org', 'DNS:localhost', 'IP:127.0.0.1', 'IP:::1']
SETTINGS = {'profile': 'production', 'host': 'localhost', 'sslmode': 'verify-full', 'hostname': 'db1',
            'production_group': 'tmi_postgresql_production', 'production_hosts': [], 'pg_hba_in_play': True,
            'ha': False, 'common_name': 'db1.example.org', 'alt_names': SSL_NAMES}


def errors(**changes):
    return app_env_errors(dict(SETTINGS, **changes))


@pytest.mark.parametrize('host', ['localhost', 'LOCALHOST', 'db1.example.org', '127.0.0.1', '::1', '0:0::1'])
def test_verify_full_accepts_a_name_of_the_certificate(host):
    assert errors(host=host) == []


@pytest.mark.parametrize('host', ['db2.example.org', '127.0.0.2', 'example.org', 'proxy1', '10.0.0.1'])
def test_verify_full_refuses_a_host_the_certificate_does_not_name(host):
    [message] = errors(host=host)
    assert message.startswith("app_env_host '%s' (POSTGRES_HOST) is not a name of the server certificate" % host)
    assert 'ssl_server_common_name and ssl_server_subject_alt_names' in message and 'DNS:localhost' in message


def test_verify_ca_and_require_check_no_name():
    assert errors(host='db2.example.org', sslmode='verify-ca') == []
    assert errors(host='db2.example.org', sslmode='require') == []


@pytest.mark.parametrize('pattern,host,matches', [
    ('*.example.org', 'db1.example.org', True),
    ('*.example.org', 'DB1.Example.ORG', True),
    ('*.example.org', 'a.b.example.org', False),   # one label only
    ('*.example.org', 'example.org', False),
    ('*.example.org', '.example.org', False),
    ('db*.example.org', 'db1.example.org', False),  # libpq knows a leading '*.' only
])
def test_a_wildcard_stands_for_one_label(pattern, host, matches):
    assert host_matches_certificate(host, '', ['DNS:' + pattern]) is matches


def test_the_common_name_counts_only_without_an_alternative_name_of_the_hosts_kind():
    # A DNS name: the CN counts when the certificate has no DNS alternative name (an IP one does not hide it).
    assert host_matches_certificate('db1', 'db1', [])
    assert host_matches_certificate('db1', 'db1', ['IP:10.0.0.1'])
    assert not host_matches_certificate('db1', 'db1', ['DNS:localhost'])
    # An address: the CN counts when there is no IP alternative name.
    assert host_matches_certificate('10.0.0.1', '10.0.0.1', ['DNS:localhost'])
    assert not host_matches_certificate('10.0.0.1', '10.0.0.1', ['IP:10.0.0.2'])
    # A DNS alternative name equal to the address's text matches it (libpq compares DNS names as text).
    assert host_matches_certificate('10.0.0.1', '', ['DNS:10.0.0.1'])


def test_a_given_certificate_s_own_names_count(tmp_path):
    key, crt = tmp_path / 'k.pem', tmp_path / 'c.pem'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
                    '-nodes', '-days', '1', '-subj', '/CN=db.example.org', '-addext',
                    'subjectAltName=DNS:db.example.org,IP:10.1.2.3', '-keyout', str(key), '-out', str(crt)],
                   check=True, capture_output=True)
    pem = crt.read_text()
    assert errors(host='10.1.2.3', certificate=pem) == []
    assert errors(host='db.example.org', certificate=pem, ha=True) == []
    [message] = errors(host='localhost', certificate=pem)
    assert 'the certificate ssl_certificate gives: CN:db.example.org, DNS:db.example.org, IP:10.1.2.3' in message


def test_high_availability_with_generated_certificates_cannot_verify():
    [message] = errors(ha=True, sslmode='verify-ca')
    assert message.startswith("app_env_sslmode is 'verify-ca' with tmi_postgresql_ha_enabled")
    assert 'ssl_certificate, ssl_private_key, ssl_ca_certificate' in message
    assert errors(ha=True, sslmode='require') == []


def test_the_development_profile_is_refused_on_a_production_host():
    [message] = errors(profile='development', sslmode='disable', pg_hba_in_play=False, production_hosts=['db1'])
    assert "app_env_profile is 'development' on db1, a host of the production group tmi_postgresql_production" \
        " (app_env_production_group)" in message


def test_the_development_profile_is_refused_where_the_play_writes_tls_only_pg_hba_lines():
    [message] = errors(profile='development', sslmode='disable', pg_hba_in_play=True)
    assert 'tmi.postgresql.pg_hba' in message and 'app_env_profile' in message
    assert errors(profile='development', sslmode='disable', pg_hba_in_play=False) == []
    # TLS in the development profile is not refused: the pg_hba lines accept it.
    assert errors(profile='development', sslmode='require', pg_hba_in_play=True) == []


def test_disable_is_for_the_development_profile_only_and_profiles_are_two():
    [message] = errors(sslmode='disable')
    assert message.startswith("app_env_sslmode is 'disable' with app_env_profile 'production'")
    assert errors(profile='laptop') == ["app_env_profile is 'laptop': allowed: production, development."]


def test_a_missing_setting_is_an_error_of_the_play():
    with pytest.raises(AnsibleFilterError, match='app_env_errors'):
        app_env_errors({'profile': 'production'})


PASSWORD = "p@ss:w/rd?#&%= '\"$\\"


def test_database_url_percent_encodes_the_user_password_and_database():
    url = database_url('tmi app', PASSWORD, 'db1.example.org', '5432', 'tmi/db', 'verify-full', '/etc/ssl/a b.crt')
    assert url.startswith('postgres://tmi%20app:')
    parts = urlsplit(url)
    assert (unquote(parts.username), unquote(parts.password)) == ('tmi app', PASSWORD)
    assert (parts.hostname, parts.port, unquote(parts.path)) == ('db1.example.org', 5432, '/tmi/db')
    assert parts.query == 'sslmode=verify-full&sslrootcert=%2Fetc%2Fssl%2Fa%20b.crt'
    # Nothing a shell or an .env reader would take as a quote, a comment or a variable.
    assert not set(url) & set(" '\"$\\#")


def test_database_url_without_a_ca_and_with_an_ipv6_host():
    assert database_url('tmi_app', 'x', '::1', 5433, 'tmi', 'require') == \
        'postgres://tmi_app:x@[::1]:5433/tmi?sslmode=require'


def test_database_url_refuses_a_port_that_is_no_number():
    with pytest.raises(AnsibleFilterError, match='database_url'):
        database_url('tmi_app', 'x', 'localhost', 'five', 'tmi', 'require')


def test_redis_url_under_tls_and_without_a_user():
    assert redis_url('tmi_cache', 'a/b@c', 'localhost', 6380, 0, True) == 'rediss://tmi_cache:a%2Fb%40c@localhost:6380/0'
    assert redis_url('', 'secret', '127.0.0.1', '6379', '2', False) == 'redis://:secret@127.0.0.1:6379/2'
    with pytest.raises(AnsibleFilterError, match='redis_url'):
        redis_url('u', 'p', 'localhost', 6379, 'x', False)

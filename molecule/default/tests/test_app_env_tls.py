# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's .env with verified TLS (tmi.postgresql.app_env, issue 15), tried as TMI uses it.

The container shares the host's network: a client here reads TMI's .env and the CA file it names
(POSTGRES_SSLROOTCERT, a copy of the ssl role's CA), connects with sslmode=verify-full to PostgreSQL on the
host's loopback, and is refused with another CA or a host name the certificate does not carry. Only on
hosts whose inventory asks for verify-full (app_env_sslmode).
"""

import os
import subprocess

import psycopg2
import pytest


@pytest.fixture(scope='module', autouse=True)
def verify_full_host(host):
    """Skip the module on a host without verify-full."""
    if host.ansible.get_variables().get('app_env_sslmode') != 'verify-full':
        pytest.skip('the .env of this host does not ask for verify-full (app_env_sslmode)')


def tls_in_use(conn):
    with conn.cursor() as cur:
        cur.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
        return cur.fetchone()[0]


def test_the_env_names_a_copy_of_the_ssl_role_s_ca_tmi_can_read(host, app_env):
    ca = host.file(app_env['POSTGRES_SSLROOTCERT'])
    assert app_env['POSTGRES_SSLMODE'] == 'verify-full'
    assert (ca.user, ca.group, ca.mode) == ('root', 'root', 0o644)
    assert host.file(os.path.dirname(ca.path)).mode == 0o755
    # The ssl role's CA (its folder is postgres's alone), the same text.
    source = host.run('cat /etc/postgresql/*/main/tls/ca.crt')
    assert source.rc == 0 and source.stdout == ca.content_string
    assert host.file('/etc/tmi/tmi.env').mode == 0o600


def test_a_client_reading_the_env_connects_with_verify_full(app_connect):
    assert tls_in_use(app_connect())


def test_the_url_form_connects_too(app_env, app_ca_file):
    # The URL names the CA at its path in the container; here the client's copy.
    conn = psycopg2.connect(app_env['DATABASE_URL'], sslrootcert=app_ca_file, connect_timeout=10)
    try:
        assert tls_in_use(conn)
    finally:
        conn.close()


def test_a_client_with_another_ca_is_refused(app_connect, tmp_path):
    key, crt = tmp_path / 'other.key', tmp_path / 'other.crt'
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
                    '-days', '1', '-subj', '/CN=another CA', '-keyout', str(key), '-out', str(crt)],
                   check=True, capture_output=True)
    with pytest.raises(psycopg2.OperationalError, match='certificate verify failed'):
        app_connect(sslrootcert=str(crt))


def test_a_host_name_the_certificate_does_not_carry_is_refused(app_connect):
    with pytest.raises(psycopg2.OperationalError, match='does not match host name'):
        app_connect(host='db.example.org', hostaddr='127.0.0.1')

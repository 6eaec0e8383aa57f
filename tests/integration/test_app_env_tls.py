"""TMI's .env with verified TLS, the URL form and the development profile (issue 15, item 2).

A client reads the .env the role wrote and connects with its keys as libpq's parameters, as TMI does, to a
throwaway server whose certificate a test CA signed (tls_server of conftest.py: it names localhost and
127.0.0.1, and its pg_hba.conf has hostssl lines only, as the pg_hba role writes them). The CA the role copies
for TMI stands for the ssl role's (app_env_sslrootcert_source).
"""

import os
import shutil
import stat
import tempfile

import psycopg2
import pytest

from backup_helpers import assert_refused_at, changed_count, failed_task, run_playbook
from pgserver import PgServer
import test_app_env_role
from test_app_env_role import ONE_HOST, env_file
from tls_server import make_certificates

# A throwaway server's role on loopback: not a secret. Every character a URL or an .env reader could misread.
PASSWORD = "t@st:only/pw?#&%= '$"
# The role applied to localhost with a test's inventory and settings (the fixture of test_app_env_role.py).
apply_app_env = test_app_env_role.apply_app_env
CHECK = 'Check the profile, and with verify-ca or verify-full the certificate TMI will verify.'


@pytest.fixture(scope='module')
def tmi_db(tls_server):
    """TMI's login role (its password in PASSWORD) and a database it may connect to."""
    db = tls_server.create_database()
    tls_server.query('postgres', 'CREATE ROLE tmi_app LOGIN PASSWORD %s', (PASSWORD,))
    yield db
    tls_server.drop_database(db)
    tls_server.query('postgres', 'DROP ROLE IF EXISTS tmi_app')


@pytest.fixture
def verify_full(tls_server, tls_files, tmi_db, tmp_path):
    """The role's settings for verify-full to the TLS server, its CA copied into the test's folder."""
    return {'app_env_sslmode': 'verify-full', 'app_env_host': 'localhost', 'app_env_port': tls_server.port,
            'app_env_database': tmi_db, 'app_env_sslrootcert': str(tmp_path / 'ssl' / 'ca.crt'),
            'app_env_sslrootcert_source': tls_files[0], 'app_env_certificate_common_name': 'localhost',
            'app_env_certificate_alt_names': ['DNS:localhost', 'IP:127.0.0.1'],
            'app_env_roles': [{'name': 'tmi_app', 'rights': 'read-write', 'password': PASSWORD}]}


def connect_as_tmi(values, **override):
    """A connection from the .env's keys, as libpq parameters (TMI's POSTGRES_* keys)."""
    params = dict(host=values['POSTGRES_HOST'], port=values['POSTGRES_PORT'], user=values['POSTGRES_USER'],
                  password=values['POSTGRES_PASSWORD'], dbname=values['POSTGRES_DB'],
                  sslmode=values['POSTGRES_SSLMODE'], connect_timeout=10)
    if 'POSTGRES_SSLROOTCERT' in values:
        params['sslrootcert'] = values['POSTGRES_SSLROOTCERT']
    params.update(override)
    return psycopg2.connect(**params)


def tls_in_use(conn):
    with conn.cursor() as cur:
        cur.execute('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
        return cur.fetchone()[0]


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_client_reading_the_env_connects_with_verify_full(apply_app_env, verify_full, tls_files):
    rc, report, path = apply_app_env(ONE_HOST, **verify_full)
    assert rc == 0, failed_task(report)
    values = env_file(path)
    ca = verify_full['app_env_sslrootcert']
    assert (values['POSTGRES_SSLMODE'], values['POSTGRES_SSLROOTCERT']) == ('verify-full', ca)
    assert 'DATABASE_URL' not in values
    with open(ca) as copy, open(tls_files[0]) as source:
        assert copy.read() == source.read()
    assert (mode(path), mode(ca), mode(os.path.dirname(ca))) == (0o600, 0o644, 0o755)
    conn = connect_as_tmi(values)
    try:
        assert tls_in_use(conn)
    finally:
        conn.close()
    # A second run changes nothing, the CA's copy included.
    rc, report = apply_app_env(ONE_HOST, **verify_full)[:2]
    assert rc == 0 and changed_count(report) == 0


def test_a_client_with_another_ca_is_refused(apply_app_env, verify_full):
    other = tempfile.mkdtemp(prefix='tmi-tls-other-')
    try:
        # A CA that signed nothing the server shows: the role cannot know, TMI's libpq refuses.
        rc, report, path = apply_app_env(ONE_HOST, **dict(verify_full, app_env_sslrootcert_source=make_certificates(other)[0]))
        assert rc == 0, failed_task(report)
        # OpenSSL 1.1 and most 3.x say the first; 3.0 under Debian 11's libpq can fail the chain's signature check
        # first (the foreign CA has the same subject as the server's).
        with pytest.raises(psycopg2.OperationalError, match='certificate verify failed|provider signature failure'):
            connect_as_tmi(env_file(path))
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_a_host_the_certificate_does_not_name_is_refused_before_anything_changes(apply_app_env, verify_full):
    rc, report, path = apply_app_env(ONE_HOST, **verify_full)
    assert rc == 0, failed_task(report)
    with open(path) as f:
        before = f.read()
    # libpq refuses that name for this certificate, even at the right address...
    with pytest.raises(psycopg2.OperationalError, match='does not match host name'):
        connect_as_tmi(env_file(path), host='db.example.org', hostaddr='127.0.0.1')
    # ... and so the role refuses to write it, and changes nothing.
    rc, report = apply_app_env(ONE_HOST, **dict(verify_full, app_env_host='db.example.org'))[:2]
    assert_refused_at(rc, report, CHECK, "app_env_host 'db.example.org' (POSTGRES_HOST) is not a name of the server"
                      " certificate (ssl_server_common_name and ssl_server_subject_alt_names: CN:localhost,"
                      " DNS:localhost, IP:127.0.0.1)")
    with open(path) as f:
        assert f.read() == before


def test_a_refusal_on_a_new_host_writes_no_file_and_no_ca(apply_app_env, verify_full):
    rc, report, path = apply_app_env(ONE_HOST, **dict(verify_full, app_env_host='127.0.0.2'))
    assert_refused_at(rc, report, CHECK, "app_env_host '127.0.0.2'")
    assert not os.path.exists(os.path.dirname(path))
    assert not os.path.exists(os.path.dirname(verify_full['app_env_sslrootcert']))


def test_check_mode_writes_nothing_then_reports_nothing_to_change(verify_full, tmp_path):
    (tmp_path / 'inventory.ini').write_text(ONE_HOST)
    playbook = str(tmp_path / 'app_env.yml')
    inventory = str(tmp_path / 'inventory.ini')
    path = str(tmp_path / 'etc' / 'tmi.env')
    settings = dict(verify_full, app_env_path=path, app_env_owner='root', app_env_group='root')
    with open(playbook, 'w') as f:
        f.write('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.app_env\n')
    rc, report = run_playbook(playbook, str(tmp_path), settings, check=True, inventory=inventory)
    assert rc == 0, failed_task(report)
    assert changed_count(report) > 0
    assert not os.path.exists(path) and not os.path.exists(settings['app_env_sslrootcert'])
    rc, report = run_playbook(playbook, str(tmp_path), settings, inventory=inventory)
    assert rc == 0, failed_task(report)
    rc, report = run_playbook(playbook, str(tmp_path), settings, check=True, inventory=inventory)
    assert rc == 0 and changed_count(report) == 0


def test_the_url_form_connects_as_the_keys_do_and_the_file_stays_owner_only(apply_app_env, verify_full):
    settings = dict(verify_full, app_env_url=True, app_env_redis_host='localhost', app_env_redis_port=6380,
                    app_env_redis_user='tmi_cache', app_env_redis_password='r/e@dis', app_env_redis_tls=True,
                    app_env_redis_tls_ca_file='/etc/ssl/tmi-redis/ca.crt')
    rc, report, path = apply_app_env(ONE_HOST, **settings)
    assert rc == 0, failed_task(report)
    values = env_file(path)
    assert mode(path) == 0o600
    assert values['DATABASE_URL'].startswith('postgres://tmi_app:t%40st%3Aonly%2Fpw%3F%23%26%25%3D%20%27%24@localhost:')
    assert values['DATABASE_URL'].endswith('?sslmode=verify-full&sslrootcert='
                                           + verify_full['app_env_sslrootcert'].replace('/', '%2F'))
    assert values['REDIS_URL'] == 'rediss://tmi_cache:r%2Fe%40dis@localhost:6380/0'
    conn = psycopg2.connect(values['DATABASE_URL'], connect_timeout=10)
    try:
        assert tls_in_use(conn)
    finally:
        conn.close()
    # The password is in no task's output.
    assert PASSWORD not in str(report) and 'r/e@dis' not in str(report)


@pytest.fixture(scope='module')
def plain_server():
    """A server that accepts TCP logins without TLS (initdb's own host lines), as a developer's may."""
    server = PgServer().start()
    yield server
    server.stop()


def test_the_development_profile_writes_the_guides_settings_under_a_warning(apply_app_env, plain_server, tls_server):
    db = plain_server.create_database()
    plain_server.query('postgres', 'CREATE ROLE tmi_app LOGIN PASSWORD %s', (PASSWORD,))
    rc, report, path = apply_app_env(ONE_HOST, app_env_profile='development', app_env_port=plain_server.port,
                                     app_env_database=db,
                                     app_env_roles=[{'name': 'tmi_app', 'rights': 'read-write', 'password': PASSWORD}])
    assert rc == 0, failed_task(report)
    with open(path) as f:
        assert 'DEVELOPMENT SETTINGS: NOT FOR PRODUCTION' in f.read()
    values = env_file(path)
    assert (values['POSTGRES_HOST'], values['POSTGRES_SSLMODE']) == ('localhost', 'disable')
    assert 'POSTGRES_SSLROOTCERT' not in values and mode(path) == 0o600
    conn = connect_as_tmi(values)
    try:
        assert not tls_in_use(conn)
    finally:
        conn.close()
    # The same file against a server with the pg_hba role's lines (TLS only) is refused: why the profile is
    # refused in a play that runs that role. ("SSL off": PostgreSQL 13's words.)
    with pytest.raises(psycopg2.OperationalError, match='no encryption|SSL off'):
        connect_as_tmi(values, port=tls_server.port)


def test_the_development_profile_is_refused_on_a_production_host(apply_app_env):
    inventory = ONE_HOST + '[tmi_postgresql_production]\nlocalhost\n'
    rc, report, path = apply_app_env(inventory, app_env_profile='development')
    assert_refused_at(rc, report, CHECK, "app_env_profile is 'development' on localhost, a host of the production"
                      " group tmi_postgresql_production (app_env_production_group)")
    assert not os.path.exists(os.path.dirname(path))


def test_the_development_profile_is_refused_in_a_play_that_writes_pg_hba(apply_app_env, tmp_path):
    # The playbook of the fixture, with the pg_hba role after app_env (never reached).
    with open(tmp_path / 'app_env.yml', 'a') as f:
        f.write('    - role: tmi.postgresql.pg_hba\n')
    rc, report, path = apply_app_env(ONE_HOST, app_env_profile='development')
    assert_refused_at(rc, report, CHECK, 'this play runs tmi.postgresql.pg_hba')
    assert not os.path.exists(os.path.dirname(path))

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the Molecule scenario's testinfra tests.

The container shares the host's network, so the tests reach its PostgreSQL
on the host's loopback exactly as TMI would, with the values of the .env
file the app_env role wrote. Superuser queries run inside the container as
the postgres OS user (peer), the only way pg_hba lets the superuser in.
"""

import psycopg2
import pytest

ENV_FILE = '/etc/tmi/tmi.env'
# The PostgreSQL major version each Debian release packages
# (docs/postgresql-versions.md): the inventories of molecule/default and
# molecule/versions name none, so the collection must have picked this one.
PLATFORM_MAJOR = {'11': '13', '12': '15', '13': '17'}
SUPERUSER_SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -F '|' -p %s -d %s -c %s"


def parse_env(text):
    """Return the KEY=value lines of an .env file as a dict."""
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith('#') and '=' in line:
            key, value = line.split('=', 1)
            values[key] = value
    return values


@pytest.fixture(scope='module')
def app_env(host):
    """The settings TMI reads, from the file the app_env role wrote."""
    return parse_env(host.file(ENV_FILE).content_string)


@pytest.fixture(scope='module')
def pg_major(host):
    """The PostgreSQL major version the container's Debian release packages, as a string."""
    release = parse_env(host.file('/etc/os-release').content_string)
    return PLATFORM_MAJOR[release['VERSION_ID'].strip('"')]


@pytest.fixture(scope='module')
def superuser_sql(host, app_env):
    """Run SQL as postgres in the container; return the rows as lists of strings."""
    def run(sql, database=None):
        result = host.run(SUPERUSER_SQL, app_env['POSTGRES_PORT'], database or app_env['POSTGRES_DB'], sql)
        assert result.rc == 0, result.stderr
        return [line.split('|') for line in result.stdout.splitlines() if line]
    return run


@pytest.fixture(scope='module')
def app_ca_file(host, app_env, tmp_path_factory):
    """Here, a copy of the CA file the .env names (POSTGRES_SSLROOTCERT, verify-ca and verify-full); None without."""
    if 'POSTGRES_SSLROOTCERT' not in app_env:
        return None
    path = tmp_path_factory.mktemp('tmi-ca') / 'ca.crt'
    path.write_text(host.file(app_env['POSTGRES_SSLROOTCERT']).content_string)
    return str(path)


@pytest.fixture(scope='module')
def app_connect(app_env, app_ca_file):
    """Open a connection as TMI does; keyword arguments override the .env values."""
    opened = []

    def connect(**overrides):
        params = dict(
            host=app_env['POSTGRES_HOST'],
            port=int(app_env['POSTGRES_PORT']),
            user=app_env['POSTGRES_USER'],
            password=app_env['POSTGRES_PASSWORD'],
            dbname=app_env['POSTGRES_DB'],
            sslmode=app_env['POSTGRES_SSLMODE'],
            connect_timeout=10,
        )
        if app_ca_file:
            params['sslrootcert'] = app_ca_file
        params.update(overrides)
        conn = psycopg2.connect(**params)
        opened.append(conn)
        return conn

    yield connect
    for conn in opened:
        conn.close()


@pytest.fixture
def app_cursor(app_connect):
    """A cursor of tmi_app inside a transaction that is rolled back afterwards."""
    conn = app_connect()
    with conn.cursor() as cur:
        yield cur
    conn.rollback()


@pytest.fixture
def later_table(superuser_sql):
    """A table created by the owner role after provisioning, as a later migration would."""
    superuser_sql('SET ROLE tmi_owner; CREATE TABLE public.later_migration_probe (id bigint PRIMARY KEY, note text)')
    yield 'public.later_migration_probe'
    # Requested before app_cursor, so torn down after its rollback; the
    # lock_timeout turns a forgotten transaction into an error, not a hang.
    superuser_sql("SET lock_timeout = '10s'; DROP TABLE public.later_migration_probe")

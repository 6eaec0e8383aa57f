# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `molecule verify` checks on the provisioned container (issue 4)."""

import json

import psycopg2
import psycopg2.errorcodes
import pytest
from conftest import SUPERUSER_SQL

# {v}: the platform's major version (conftest's pg_major).
CONF_DIR = '/etc/postgresql/{v}/main'
DATA_DIR = '/var/lib/postgresql/{v}/main'
INSUFFICIENT_PRIVILEGE = psycopg2.errorcodes.INSUFFICIENT_PRIVILEGE


def cluster_facts(host, version):
    clusters = json.loads(host.check_output('pg_lsclusters --json'))
    return next(c for c in clusters if str(c['version']) == version and c['cluster'] == 'main')


# -- the service and the schema ---------------------------------------------

def test_the_server_is_the_platform_s_major_version(superuser_sql, pg_major):
    assert superuser_sql("SELECT current_setting('server_version_num')::int / 10000") == [[pg_major]]


def test_cluster_runs(host, app_env, pg_major):
    facts = cluster_facts(host, pg_major)
    assert int(facts['running']) == 1
    assert str(facts['port']) == app_env['POSTGRES_PORT']


def test_cluster_was_created_with_checksums(superuser_sql):
    assert superuser_sql('SHOW data_checksums') == [['on']]


def test_schema_is_at_version_8_and_clean(superuser_sql):
    assert superuser_sql('SELECT version, dirty FROM schema_migrations') == [['8', 'f']]


def test_schema_validates_clean(host, app_env):
    result = host.ansible(
        'tmi.postgresql.schema_validate',
        'login_db=%s login_port=%s fail_on_error=false' % (app_env['POSTGRES_DB'], app_env['POSTGRES_PORT']),
        become=True, become_user='postgres', check=False)
    assert result['valid'] is True, result.get('errors')
    assert result['errors'] == []
    assert result['migration']['version'] == 8


# -- TLS and authentication ---------------------------------------------------

def test_ssl_is_on_with_tls13_at_least(superuser_sql):
    # CIS 6.8: TLS 1.3 at least.
    assert superuser_sql("SELECT current_setting('ssl'), current_setting('ssl_min_protocol_version')") == [['on', 'TLSv1.3']]


def test_app_user_without_ssl_is_refused(app_connect):
    with pytest.raises(psycopg2.OperationalError, match='no pg_hba.conf entry'):
        app_connect(sslmode='disable')


def test_app_user_with_wrong_password_is_refused(app_connect):
    with pytest.raises(psycopg2.OperationalError, match='password authentication failed'):
        app_connect(password='not-the-password')


def test_app_user_connects_over_tls12_or_newer(app_cursor):
    app_cursor.execute('SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    ssl, version = app_cursor.fetchone()
    assert ssl is True
    assert version in ('TLSv1.2', 'TLSv1.3')


def test_superuser_cannot_log_in_over_tcp(app_connect, superuser_sql):
    with pytest.raises(psycopg2.OperationalError, match='no pg_hba.conf entry'):
        app_connect(user='postgres', dbname='postgres')


# -- privileges of tmi_app ------------------------------------------------------

def exercise_dml(cur, table, row):
    """Insert, read, update and delete one row; raise if any is refused."""
    columns = ', '.join(row)
    placeholders = ', '.join(['%s'] * len(row))
    cur.execute('INSERT INTO %s (%s) VALUES (%s) RETURNING id' % (table, columns, placeholders), list(row.values()))
    row_id = cur.fetchone()[0]
    cur.execute('SELECT count(*) FROM %s WHERE id = %%s' % table, [row_id])
    assert cur.fetchone()[0] == 1
    cur.execute('UPDATE %s SET modified_at = now() WHERE id = %%s' % table if table == 'users'
                else 'UPDATE %s SET note = note WHERE id = %%s' % table, [row_id])
    assert cur.rowcount == 1
    cur.execute('DELETE FROM %s WHERE id = %%s' % table, [row_id])
    assert cur.rowcount == 1


DDL_REFUSED = [
    'CREATE TABLE public.intruder (id int)',
    'CREATE TEMP TABLE intruder (id int)',
    'CREATE SCHEMA intruder',
    'DROP TABLE {table}',
    'ALTER TABLE {table} ADD COLUMN intruder int',
    'TRUNCATE {table}',
]


def assert_refused(cur, statement):
    cur.execute('SAVEPOINT probe')
    with pytest.raises(psycopg2.Error) as caught:
        cur.execute(statement)
    assert caught.value.pgcode == INSUFFICIENT_PRIVILEGE, caught.value.pgerror
    cur.execute('ROLLBACK TO SAVEPOINT probe')


def test_app_user_can_read_and_write_migrated_tables(app_cursor):
    exercise_dml(app_cursor, 'users', {'email': 'probe@example.org', 'name': 'Probe'})


@pytest.mark.parametrize('statement', DDL_REFUSED)
def test_app_user_cannot_change_the_schema(app_cursor, statement):
    assert_refused(app_cursor, statement.format(table='users'))


def test_app_user_can_read_and_write_a_later_table(later_table, app_cursor):
    exercise_dml(app_cursor, later_table, {'id': 1, 'note': 'later'})


@pytest.mark.parametrize('statement', DDL_REFUSED)
def test_app_user_cannot_change_a_later_table(later_table, app_cursor, statement):
    assert_refused(app_cursor, statement.format(table=later_table))


@pytest.mark.parametrize('table', ['schema_migrations', 'schema_migrations_history'])
def test_app_user_reads_the_migration_tables_and_cannot_write_them(app_cursor, table):
    app_cursor.execute('SELECT count(*) FROM %s' % table)
    assert app_cursor.fetchone()[0] >= 1
    for statement in ('INSERT INTO {t} DEFAULT VALUES', 'UPDATE {t} SET version = version', 'DELETE FROM {t}',
                      'TRUNCATE {t}'):
        assert_refused(app_cursor, statement.format(t=table))


def test_app_user_cannot_grant(app_cursor, superuser_sql):
    # Without the grant option PostgreSQL only warns; nothing may be granted.
    app_cursor.execute('GRANT SELECT ON users TO PUBLIC')
    app_cursor.connection.commit()
    assert superuser_sql("SELECT has_table_privilege('public', 'public.users', 'SELECT')") == [['f']]


def test_app_user_attributes(superuser_sql):
    rows = superuser_sql("SELECT rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolconnlimit "
                         "FROM pg_roles WHERE rolname = 'tmi_app'")
    assert rows == [['t', 'f', 'f', 'f', 'f', 'f', '50']]


def test_database_and_objects_belong_to_the_nologin_owner(superuser_sql):
    assert superuser_sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()") == [['tmi_owner']]
    assert superuser_sql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'tmi_owner'") == [['f']]
    owners = superuser_sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'")
    assert owners == [['tmi_owner']]


def test_public_has_no_connect_temp_or_create(superuser_sql):
    rows = superuser_sql("SELECT has_database_privilege('public', current_database(), 'CONNECT'), "
                         "has_database_privilege('public', current_database(), 'TEMP'), "
                         "has_schema_privilege('public', 'public', 'CREATE')")
    assert rows == [['f', 'f', 'f']]


def test_pg_stat_statements_is_installed(superuser_sql):
    assert superuser_sql("SELECT extname FROM pg_extension WHERE extname = 'pg_stat_statements'") == [['pg_stat_statements']]
    libraries = superuser_sql("SELECT current_setting('shared_preload_libraries')")[0][0].split(',')
    assert 'pg_stat_statements' in libraries


# -- pg_hba and files -----------------------------------------------------------

def test_pg_hba_has_exactly_the_intended_lines(superuser_sql):
    rows = superuser_sql('SELECT type, database, user_name, address, netmask, auth_method, error '
                         'FROM pg_hba_file_rules ORDER BY line_number')
    assert rows == [
        ['local', '{all}', '{postgres}', '', '', 'peer', ''],
        ['hostssl', '{tmi}', '{tmi_app}', '127.0.0.1', '255.255.255.255', 'scram-sha-256', ''],
        ['hostssl', '{tmi}', '{tmi_app}', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'scram-sha-256', ''],
        ['hostssl', '{tmi}', '{tmi_monitor}', '127.0.0.1', '255.255.255.255', 'scram-sha-256', ''],
        ['hostssl', '{tmi}', '{tmi_monitor}', '::1', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'scram-sha-256', ''],
    ]


@pytest.mark.parametrize('path, owner, group, mode', [
    (CONF_DIR + '/pg_hba.conf', 'postgres', 'postgres', 0o600),
    (CONF_DIR + '/postgresql.conf', 'postgres', 'postgres', 0o640),
    (CONF_DIR + '/conf.d/10-tmi-server.conf', 'postgres', 'postgres', 0o640),
    (CONF_DIR + '/conf.d/20-tmi-ssl.conf', 'postgres', 'postgres', 0o640),
    (CONF_DIR + '/tls/server.key', 'postgres', 'postgres', 0o600),
    (CONF_DIR + '/tls', 'postgres', 'postgres', 0o700),
    ('/etc/ssl/tmi-postgresql-ca/{v}-main/ca.key', 'root', 'root', 0o600),
    (DATA_DIR, 'postgres', 'postgres', 0o700),
    ('/etc/tmi/tmi.env', 'root', 'root', 0o600),
])
def test_file_owner_and_mode(host, pg_major, path, owner, group, mode):
    f = host.file(path.format(v=pg_major))
    assert f.exists
    assert (f.user, f.group, f.mode) == (owner, group, mode)


def test_server_uses_the_role_s_key_and_certificate(superuser_sql, pg_major):
    rows = superuser_sql("SELECT current_setting('ssl_cert_file'), current_setting('ssl_key_file')")
    conf_dir = CONF_DIR.format(v=pg_major)
    assert rows == [[conf_dir + '/tls/server.crt', conf_dir + '/tls/server.key']]


def test_env_file_has_what_tmi_reads(host, app_env):
    # The REDIS_* keys (tests/test_redis.py checks them) only where the inventory turns Redis on.
    variables = host.ansible.get_variables()
    redis = bool(variables.get('tmi_postgresql_redis_enabled'))
    # POSTGRES_SSLROOTCERT with verified TLS, DATABASE_URL with the URL form (tests/test_app_env_tls.py).
    sslmode = variables.get('app_env_sslmode', 'require')
    assert {key for key in app_env if not key.startswith('REDIS_')} == (
        {'POSTGRES_HOST', 'POSTGRES_PORT', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB', 'POSTGRES_SSLMODE'}
        | ({'POSTGRES_SSLROOTCERT'} if sslmode in ('verify-ca', 'verify-full') else set())
        | ({'DATABASE_URL'} if variables.get('app_env_url') else set()))
    assert any(key.startswith('REDIS_') for key in app_env) == redis
    assert app_env['POSTGRES_USER'] == 'tmi_app'
    assert app_env['POSTGRES_DB'] == 'tmi'
    assert app_env['POSTGRES_SSLMODE'] == sslmode
    assert len(app_env['POSTGRES_PASSWORD']) >= 32


# -- dev-sec postgres-baseline controls that apply --------------------------

def test_no_login_role_without_password(superuser_sql):
    assert superuser_sql('SELECT rolname FROM pg_authid WHERE rolcanlogin AND rolpassword IS NULL') == []


def test_every_password_hash_is_scram(superuser_sql):
    assert superuser_sql("SELECT current_setting('password_encryption')") == [['scram-sha-256']]
    assert superuser_sql("SELECT rolname FROM pg_authid WHERE rolpassword IS NOT NULL "
                         "AND rolpassword NOT LIKE 'SCRAM-SHA-256$%'") == []


def test_one_superuser(superuser_sql):
    assert superuser_sql('SELECT rolname FROM pg_roles WHERE rolsuper') == [['postgres']]


def test_only_postgres_reads_pg_authid(superuser_sql):
    # Predefined roles (pg_read_all_data ...) have no members here: not counted.
    rows = superuser_sql("SELECT rolname FROM pg_roles WHERE has_table_privilege(oid, 'pg_catalog.pg_authid', 'SELECT') "
                         "AND rolname !~ '^pg_'")
    assert rows == [['postgres']]
    assert superuser_sql("SELECT count(*) FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid "
                         "WHERE r.rolname IN ('pg_read_all_data', 'pg_write_all_data')") == [['0']]


@pytest.mark.parametrize('database', ['tmi', 'postgres'])
def test_no_table_granted_to_public(superuser_sql, database):
    rows = superuser_sql("SELECT table_schema, table_name FROM information_schema.table_privileges "
                         "WHERE grantee = 'PUBLIC' AND table_schema NOT IN ('pg_catalog', 'information_schema')",
                         database=database)
    assert rows == []


def test_no_grant_option_outside_postgres_and_the_owner(superuser_sql):
    # An owner holds the grant option on its own objects by definition.
    rows = superuser_sql("SELECT DISTINCT grantee FROM information_schema.table_privileges "
                         "WHERE is_grantable = 'YES' AND grantee NOT IN ('postgres', 'tmi_owner')")
    assert rows == []


@pytest.mark.parametrize('database', ['tmi', 'postgres'])
def test_only_trusted_languages(superuser_sql, database):
    rows = superuser_sql('SELECT lanname FROM pg_language ORDER BY lanname', database=database)
    assert {row[0] for row in rows} <= {'internal', 'c', 'sql', 'plpgsql'}


def test_no_security_definer_function(superuser_sql):
    rows = superuser_sql("SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                         "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema')")
    assert rows == []


def test_connections_disconnections_and_ddl_are_logged(superuser_sql):
    rows = superuser_sql("SELECT current_setting('logging_collector'), current_setting('log_connections'), "
                         "current_setting('log_disconnections'), current_setting('log_statement'), "
                         "current_setting('log_file_mode')")
    assert rows == [['on', 'on', 'on', 'ddl', '0600']]


# -- the service manager -------------------------------------------------------

def test_cluster_is_managed_by_the_host_s_service_manager(host, pg_major):
    # One container of molecule/default runs `sleep` as PID 1 (pg_ctlcluster), the other boots systemd.
    facts = cluster_facts(host, pg_major)
    assert facts['start'] == 'auto'
    if host.file('/run/systemd/system').is_directory:
        unit = host.service('postgresql@%s-main' % pg_major)
        assert unit.is_running
        assert unit.is_enabled


# -- backups and WAL archiving ---------------------------------------------------

def test_logical_backup_is_scheduled_in_a_private_folder(host):
    cron = host.file('/etc/cron.d/tmi-postgresql-backup').content_string
    assert '#Ansible: tmi-postgresql logical backup' in cron
    assert '0 2 * * * postgres /usr/local/sbin/tmi-pg-backup --config /etc/tmi-postgresql/backup.conf' in cron
    assert 'tmi-pg-backup' not in host.run('crontab -l -u postgres').stdout
    folder = host.file('/var/backups/tmi-postgresql')
    assert (folder.user, folder.mode) == ('postgres', 0o700)


def test_wal_is_archived_by_pgbackrest(superuser_sql):
    rows = superuser_sql("SELECT current_setting('archive_mode'), current_setting('archive_timeout'), "
                         "current_setting('archive_command') LIKE 'pgbackrest % archive-push %p', "
                         "failed_count, archived_count > 0 FROM pg_stat_archiver")
    assert rows == [['on', '1min', 't', '0', 't']]


def test_stanza_is_healthy_with_a_full_backup(host):
    info = json.loads(host.check_output('runuser -u postgres -- pgbackrest --stanza=tmi --output=json info'))[0]
    assert info['status']['code'] == 0, info['status']
    assert [backup['type'] for backup in info['backup']] == ['full']
    cron = host.file('/etc/cron.d/tmi-pgbackrest-tmi').content_string
    assert '--type=full backup' in cron and '--type=diff backup' in cron


# -- CIS PostgreSQL benchmark (issue 9): the controls that failed before ------

def test_cis_2_1_postgres_user_has_umask_0077(host):
    assert host.check_output('su - postgres -c umask') == '0077'


@pytest.mark.parametrize('setting, value', [
    ('log_error_verbosity', 'verbose'),          # 3.1.22
    ('log_timezone', 'UTC'),                     # 3.1.26
    ('log_replication_commands', 'on'),          # 7.2
    ('pgaudit.log', 'ddl, role'),                # 3.2
])
def test_cis_setting(superuser_sql, setting, value):
    assert superuser_sql("SELECT current_setting('%s')" % setting) == [[value]]


def test_cis_3_1_27_log_directory_is_outside_the_data_directory(host, superuser_sql):
    log_dir, data_dir = superuser_sql("SELECT current_setting('log_directory'), current_setting('data_directory')")[0]
    assert log_dir.startswith('/') and not (log_dir + '/').startswith(data_dir.rstrip('/') + '/')
    folder = host.file(log_dir)
    assert (folder.user, folder.group, folder.mode) == ('postgres', 'postgres', 0o700)
    assert host.run('runuser -u postgres -- ls %s', log_dir).stdout.strip() != ''


@pytest.mark.parametrize('database', ['tmi', 'postgres', 'template1'])
def test_cis_4_10_schema_public_is_closed_to_public(superuser_sql, database):
    rows = superuser_sql("SELECT a.privilege_type FROM pg_namespace n, aclexplode(n.nspacl) a "
                         "WHERE n.nspname = 'public' AND a.grantee = 0", database=database)
    assert rows == []


def test_cis_5_5_every_role_has_a_connection_limit(superuser_sql):
    assert superuser_sql("SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' AND rolconnlimit = -1") == []


@pytest.mark.parametrize('weak, reason', [
    ('short1', 'password is too short'),
    ('onlyletterslong', 'password must contain both letters and nonletters'),
])
def test_cis_5_6_passwordcheck_refuses_weak_passwords(host, app_env, superuser_sql, weak, reason):
    libraries = superuser_sql("SELECT current_setting('shared_preload_libraries')")[0][0].split(',')
    assert {'pg_stat_statements', 'pgaudit', 'passwordcheck', 'auth_delay'} <= set(libraries)
    result = host.run(SUPERUSER_SQL, app_env['POSTGRES_PORT'], 'postgres',
                      "BEGIN; CREATE ROLE cis_probe LOGIN PASSWORD '%s'; ROLLBACK" % weak)
    assert result.rc != 0 and reason in result.stderr, result.stderr


def test_cis_5_7_failed_logins_are_delayed(superuser_sql):
    assert 'auth_delay' in superuser_sql("SELECT current_setting('shared_preload_libraries')")[0][0].split(',')
    assert int(superuser_sql("SELECT setting FROM pg_settings WHERE name = 'auth_delay.milliseconds'")[0][0]) > 0
    assert int(superuser_sql("SELECT setting FROM pg_settings WHERE name = 'authentication_timeout'")[0][0]) <= 60


def test_cis_6_8_app_user_connects_with_tls13(app_cursor):
    app_cursor.execute('SELECT version FROM pg_stat_ssl WHERE pid = pg_backend_pid()')
    assert app_cursor.fetchone() == ('TLSv1.3',)


def test_cis_6_8_the_server_key_is_encrypted_and_its_passphrase_comes_from_a_command(host, superuser_sql):
    command, on_reload, key = superuser_sql("SELECT current_setting('ssl_passphrase_command'), "
                                            "current_setting('ssl_passphrase_command_supports_reload'), "
                                            "current_setting('ssl_key_file')")[0]
    assert command != '' and on_reload == 'on'
    # PKCS#8 (BEGIN ENCRYPTED PRIVATE KEY) or traditional PEM (Proc-Type: 4,ENCRYPTED).
    header = host.file(key).content_string.split('\n\n')[0]
    assert 'ENCRYPTED' in header, header.splitlines()[0]
    passphrase = host.file(command.split()[-1])
    assert (passphrase.user, passphrase.mode) == ('postgres', 0o400)


# Cipher suites with forward secrecy and AEAD (CIS 6.10, as pgdsat lists them).
FORWARD_SECRET_CIPHERS = {
    'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305',
    'DHE-RSA-AES256-GCM-SHA384', 'DHE-RSA-AES128-GCM-SHA256', 'DHE-RSA-CHACHA20-POLY1305',
}


def test_cis_6_10_only_named_forward_secret_ciphers(superuser_sql):
    ciphers = superuser_sql("SELECT current_setting('ssl_ciphers')")[0][0].split(':')
    assert ciphers and set(ciphers) <= FORWARD_SECRET_CIPHERS


def test_cis_7_1_a_replication_only_role_without_a_pg_hba_line(superuser_sql):
    rows = superuser_sql("SELECT rolname, rolcanlogin, rolsuper, rolcreatedb, rolcreaterole, rolbypassrls, "
                         "rolinherit, rolconnlimit > 0, rolpassword LIKE 'SCRAM-SHA-256$%', "
                         "(SELECT count(*) FROM pg_auth_members WHERE member = a.oid OR roleid = a.oid) "
                         "FROM pg_authid a WHERE rolreplication AND NOT rolsuper")
    assert rows == [['tmi_replication', 't', 'f', 'f', 'f', 'f', 'f', 't', 't', '0']]
    assert superuser_sql("SELECT count(*) FROM pg_hba_file_rules WHERE 'tmi_replication' = ANY (user_name) "
                         "OR 'replication' = ANY (database)") == [['0']]


def test_pgaudit_logs_ddl_and_passwords_stay_out_of_the_log(host, superuser_sql, app_env):
    superuser_sql('CREATE TABLE public.pgaudit_probe (id int); DROP TABLE public.pgaudit_probe')
    log_dir = superuser_sql("SELECT current_setting('log_directory')")[0][0]
    logs = host.run('runuser -u postgres -- sh -c %s', 'cat %s/*' % log_dir).stdout
    assert 'AUDIT: SESSION,' in logs and 'CREATE TABLE public.pgaudit_probe' in logs
    assert app_env['POSTGRES_PASSWORD'] not in logs

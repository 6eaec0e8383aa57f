# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The monitoring role on the provisioned container (tmi.postgresql.monitoring).

The container shares the host's network: the tests scrape the exporters on
the loopback addresses the role wrote into their environment files, as a
Prometheus on the host would. The monitoring role's own login is tried
inside the container as the exporter makes it: as the prometheus user, with
the connection string of its file, which never leaves the container.
"""

import re
import shlex
import urllib.request

import pytest

EXPORTER_FILE = '/etc/default/prometheus-postgres-exporter'
NODE_FILE = '/etc/default/prometheus-node-exporter'
TEXTFILE_DIR = '/var/lib/prometheus/node-exporter'
CONTRACT_CUSTOM = [
    'tmi_replication_standbys_streaming',
    'tmi_replication_is_standby',
    'tmi_archiver_failed_count',
    'tmi_archiver_last_failed_timestamp_seconds',
    'tmi_archiver_last_archived_timestamp_seconds',
    'tmi_database_xid_age',
    'tmi_transaction_longest_seconds',
]
CONTRACT_BUILT_IN = ['pg_up', 'pg_settings_max_connections', 'pg_stat_database_numbackends',
                     'pg_postmaster_start_time_seconds']
# As the prometheus user, with the exporter's environment: a statement of
# argv[1] through psycopg2, printing "ok" or the error's SQLSTATE.
AS_MONITOR = ("runuser -u prometheus -- sh -c 'set -a && . {file} && exec python3 -c \"$0\" \"$1\"' {code} {sql}")
MONITOR_CODE = '''
import os, sys, psycopg2
conn = psycopg2.connect(os.environ["DATA_SOURCE_NAME"])
conn.autocommit = True
try:
    with conn.cursor() as cur:
        cur.execute(sys.argv[1])
        print("ok", cur.fetchall() if cur.description else "")
except psycopg2.Error as e:
    print("error", e.pgcode)
'''


def env_value(text, key):
    match = re.search(r"^%s='([^']*)'$" % key, text, re.M)
    assert match, '%s not in the file' % key
    return match.group(1)


def listen_of(host, path):
    args = env_value(host.file(path).content_string, 'ARGS')
    return re.search(r'--web\.listen-address=(\S+)', args).group(1)


def scrape(listen):
    with urllib.request.urlopen('http://%s/metrics' % listen, timeout=30) as response:
        assert response.status == 200
        return response.read().decode()


def samples(text, name):
    """The sample lines of metric name, without HELP and TYPE lines."""
    return [line for line in text.splitlines() if re.match(r'%s(\{| )' % re.escape(name), line)]


def values(text, name):
    """The values of metric name, whatever its labels (the exporter adds server to the custom ones)."""
    return [line.rsplit(' ', 1)[1] for line in samples(text, name)]


@pytest.fixture(scope='module')
def exporter_metrics(host):
    return scrape(listen_of(host, EXPORTER_FILE))


@pytest.fixture(scope='module')
def monitor_password(host):
    dsn = env_value(host.file(EXPORTER_FILE).content_string, 'DATA_SOURCE_NAME')
    password = urllib.request.unquote(re.match(r'postgresql://[^:]+:([^@]+)@', dsn).group(1))
    assert len(password) >= 12
    return password


def as_monitor(host, sql):
    result = host.run(AS_MONITOR.format(file=EXPORTER_FILE, code=shlex.quote(MONITOR_CODE), sql=shlex.quote(sql)))
    assert result.rc == 0, result.stderr
    return result.stdout.strip()


# -- what the exporters answer ---------------------------------------------------

def test_the_exporters_listen_on_loopback_only(host):
    for path in (EXPORTER_FILE, NODE_FILE):
        assert listen_of(host, path).startswith('127.0.0.1:')


def test_the_exporter_is_up(exporter_metrics):
    assert samples(exporter_metrics, 'pg_up') == ['pg_up 1']


@pytest.mark.parametrize('name', CONTRACT_BUILT_IN + CONTRACT_CUSTOM)
def test_each_contract_metric_of_the_exporter_is_there(exporter_metrics, name):
    assert samples(exporter_metrics, name), name


def test_the_custom_metrics_read_a_primary_with_no_standby(exporter_metrics):
    assert values(exporter_metrics, 'tmi_replication_is_standby') == ['0']
    assert values(exporter_metrics, 'tmi_replication_standbys_streaming') == ['0']
    assert values(exporter_metrics, 'tmi_replication_lag_bytes') == []
    assert values(exporter_metrics, 'tmi_archiver_failed_count') == ['0']
    # pgBackRest archives the WAL (wal_archive role): a time, not the "never" 0.
    assert float(values(exporter_metrics, 'tmi_archiver_last_archived_timestamp_seconds')[0]) > 1.7e9
    assert float(values(exporter_metrics, 'tmi_transaction_longest_seconds')[0]) >= 0
    assert any(line.startswith('tmi_database_xid_age{datname="tmi"') for line in
               samples(exporter_metrics, 'tmi_database_xid_age'))
    assert samples(exporter_metrics, 'pg_exporter_last_scrape_error') == ['pg_exporter_last_scrape_error 0']


def test_the_node_exporter_answers_with_the_textfile_collector(host):
    listen = listen_of(host, NODE_FILE)
    assert samples(scrape(listen), 'node_filesystem_avail_bytes')
    probe = TEXTFILE_DIR + '/tmi_molecule_probe.prom'
    host.run_test("printf 'tmi_molecule_probe 42\\n' > {0}.tmp && mv {0}.tmp {0}".format(probe))
    try:
        assert samples(scrape(listen), 'tmi_molecule_probe') == ['tmi_molecule_probe 42']
    finally:
        host.run_test('rm -f %s', probe)


# -- the monitoring role -----------------------------------------------------------

def test_the_monitoring_role_is_a_member_of_pg_monitor_only(superuser_sql):
    rows = superuser_sql("SELECT r.rolconnlimit, r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, "
                         "r.rolbypassrls, array(SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g "
                         "ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
                         "FROM pg_roles r WHERE r.rolname = 'tmi_monitor'")
    assert rows == [['3', 'f', 'f', 'f', 'f', 'f', '{pg_monitor}']]


def test_the_pg_hba_lines_of_the_monitoring_role_are_loopback_tls_with_scram(superuser_sql):
    rows = superuser_sql("SELECT type, database, address, auth_method FROM pg_hba_file_rules "
                         "WHERE user_name = '{tmi_monitor}' ORDER BY line_number")
    assert rows == [['hostssl', '{tmi}', '127.0.0.1', 'scram-sha-256'], ['hostssl', '{tmi}', '::1', 'scram-sha-256']]


def test_the_exporter_connects_over_tls(host):
    assert as_monitor(host, 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()') == 'ok [(True,)]'


def test_the_monitoring_role_logs_in_and_reads_statistics(host):
    assert as_monitor(host, 'SELECT count(*) >= 0 FROM pg_stat_activity WHERE query IS NOT NULL') == 'ok [(True,)]'


@pytest.mark.parametrize('sql', [
    'SELECT * FROM public.users LIMIT 1',
    'SELECT * FROM public.threat_models LIMIT 1',
    'SELECT version FROM public.schema_migrations',
])
def test_the_monitoring_role_cannot_read_application_rows(host, sql):
    # 42501: insufficient_privilege.
    assert as_monitor(host, sql) == 'error 42501'


@pytest.mark.parametrize('sql', [
    'INSERT INTO public.schema_migrations (version, dirty) VALUES (999999, true)',
    'DELETE FROM public.users',
    'CREATE TABLE public.monitor_probe (id int)',
    'CREATE TEMPORARY TABLE monitor_probe (id int)',
])
def test_the_monitoring_role_cannot_write(host, sql):
    assert as_monitor(host, sql) == 'error 42501'


# -- no password where another user sees it ------------------------------------------

def test_no_command_line_or_environment_shows_the_password_to_other_users(host, monitor_password):
    pids = host.check_output('for p in /proc/[0-9]*; do grep -qa "^/usr/bin/prometheus-postgres-exporter" '
                             '$p/cmdline 2>/dev/null && echo ${p#/proc/}; done; true').split()
    assert pids, 'the exporter does not run'
    command_lines = host.check_output("runuser -u nobody -- sh -c 'for p in /proc/[0-9]*; do "
                                      "tr \"\\000\" \" \" < $p/cmdline 2>/dev/null; echo; done'")
    assert '--extend.query-path' in command_lines
    assert monitor_password not in command_lines
    for pid in pids:
        environ = host.run('runuser -u nobody -- cat /proc/%s/environ', pid)
        assert environ.rc != 0 and monitor_password not in environ.stdout


def test_the_exporter_s_log_does_not_show_the_password(host, monitor_password):
    # The exporter prints its connection string with the password removed:
    # into the journal under systemd, else into the file the role names.
    if host.file('/run/systemd/system').is_directory:
        log = host.check_output('journalctl --no-pager -u prometheus-postgres-exporter')
    else:
        log = host.file('/var/log/prometheus/prometheus-postgres-exporter.log').content_string
    assert 'msg=' in log
    assert monitor_password not in log


@pytest.mark.parametrize('path, owner, group, mode', [
    (EXPORTER_FILE, 'prometheus', 'prometheus', 0o640),
    ('/etc/tmi-postgresql/monitoring', 'root', 'prometheus', 0o750),
    ('/etc/tmi-postgresql/monitoring/postgres-exporter-queries.yaml', 'root', 'prometheus', 0o640),
])
def test_monitoring_file_owner_and_mode(host, path, owner, group, mode):
    f = host.file(path)
    assert (f.user, f.group, f.mode) == (owner, group, mode)

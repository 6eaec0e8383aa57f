# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The disaster-recovery drill of issue 5, in order: each step needs the one before it.

A writer thread commits one row of TMI's users table every ~50 ms as
tmi_app (TCP, TLS, the .env file's settings) and records, per row, the time
before it sent the INSERT and the time the commit was acknowledged. That is
enough to say which rows a recovery to a point must bring back (acknowledged
before it) and which it must not (sent after it).

The measurements (RPO and RTO of each recovery) are printed and written to
build/molecule-dr.json in the checkout.
"""

import datetime
import json
import os
import re
import subprocess
import threading
import time

import psycopg2
import pytest
import testinfra

PROJECT = os.environ.get('MOLECULE_PROJECT_DIRECTORY') or os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
PLAYBOOKS = os.path.join(PROJECT, 'playbooks')
RESULTS = os.path.join(PROJECT, 'build', 'molecule-dr.json')
DATA_DIR = '/var/lib/postgresql/15/main'
LOGICAL_DIR = '/srv/tmi-dr/logical'
PGBACKREST = 'runuser -u postgres -- pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=tmi '
SUPERUSER_SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p %s -d tmi -c %s"
ROW_EMAIL = re.compile(r'^drill-(\d+)@example\.org$')


def inventory():
    return os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE'])


def container(name):
    return testinfra.get_host('ansible://%s' % name, ansible_inventory=inventory())


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc)


class Settings(dict):
    """The .env file's values; the password stays out of pytest's reports."""

    def __repr__(self):
        return repr({k: ('<hidden>' if 'PASSWORD' in k else v) for k, v in self.items()})


def parse_env(text):
    return Settings(line.split('=', 1) for line in text.splitlines() if re.match(r'^[A-Z_]+=', line))


class Writer(threading.Thread):
    """Commits drill rows until stopped or until the server goes away."""

    def __init__(self, env, first):
        super().__init__(daemon=True)
        self.env = env
        self.next = first
        self.rows = []  # (n, sent, acknowledged)
        self.error = None
        self._stop_event = threading.Event()

    def run(self):
        conn = psycopg2.connect(host=self.env['POSTGRES_HOST'], port=int(self.env['POSTGRES_PORT']),
                                user=self.env['POSTGRES_USER'], password=self.env['POSTGRES_PASSWORD'],
                                dbname=self.env['POSTGRES_DB'], sslmode=self.env['POSTGRES_SSLMODE'], connect_timeout=10)
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                while not self._stop_event.is_set():
                    sent = utc_now()
                    cur.execute('INSERT INTO users (email, name) VALUES (%s, %s)',
                                ('drill-%d@example.org' % self.next, 'DR drill row %d' % self.next))
                    self.rows.append((self.next, sent, utc_now()))
                    self.next += 1
                    time.sleep(0.05)
        except psycopg2.Error as exc:
            self.error = exc
        finally:
            try:
                conn.close()
            except psycopg2.Error:
                pass

    def stop(self):
        self._stop_event.set()
        self.join(30)


def run_playbook(name, limit, expect_rc=0, **extra):
    """ansible-playbook on the Molecule inventory; returns (seconds, stdout and stderr)."""
    argv = ['ansible-playbook', '-i', inventory(), os.path.join(PLAYBOOKS, name), '--limit', limit]
    if extra:
        argv += ['-e', json.dumps(extra)]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, NO_COLOR='1'), check=False)
    seconds = time.monotonic() - started
    # The whole output, for the post-mortem of a failed drill (the message below keeps its end only).
    playbook = os.path.splitext(os.path.basename(name))[0]
    log = os.path.join(PROJECT, 'build', '%s-%s-%s.log' % (playbook, limit, time.strftime('%Y%m%dT%H%M%S')))
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        f.write(result.stdout + result.stderr)
    assert result.returncode == expect_rc, '%s ended with %d (whole output: %s):\n%s\n%s' % (
        name, result.returncode, log, result.stdout[-6000:], result.stderr[-2000:])
    # ansible-core writes a failed task's message to stderr.
    return seconds, result.stdout + result.stderr


def summary_lines(stdout, count=30):
    """The end of the playbook's output before its recap: the summary it prints."""
    return '\n'.join(stdout[:stdout.rfind('PLAY RECAP')].rstrip().splitlines()[-count:])


def superuser_rows(host, port, sql):
    result = host.run(SUPERUSER_SQL, str(port), sql)
    assert result.rc == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def drill_numbers(host, port):
    rows = superuser_rows(host, port, "SELECT email FROM users WHERE email LIKE 'drill-%'")
    return sorted(int(ROW_EMAIL.match(r).group(1)) for r in rows)


def check_all_committed_before(recovered, rows, target):
    """Every row acknowledged before target is back."""
    missing = [n for n, _sent, acked in rows if acked < target and n not in set(recovered)]
    assert not missing, 'rows committed before %s are missing: %s' % (target, missing[:20])


def check_none_sent_after(recovered, rows, target):
    """No row sent after target is back."""
    extra = [n for n, sent, _acked in rows if sent > target and n in set(recovered)]
    assert not extra, 'rows written after %s came back: %s' % (target, extra[:20])


def check_against_target(recovered, rows, target):
    check_all_committed_before(recovered, rows, target)
    check_none_sent_after(recovered, rows, target)


def check_prefix(recovered, rows):
    """The recovered rows are the first N written, without a hole."""
    assert recovered == [n for n, _s, _a in rows][:len(recovered)], 'the recovered rows have a hole'


def tmi_can_log_in(env):
    """Log in as TMI does and return the number of users."""
    conn = psycopg2.connect(host=env['POSTGRES_HOST'], port=int(env['POSTGRES_PORT']), user=env['POSTGRES_USER'],
                            password=env['POSTGRES_PASSWORD'], dbname=env['POSTGRES_DB'], sslmode=env['POSTGRES_SSLMODE'],
                            connect_timeout=10)
    try:
        with conn.cursor() as cur:
            cur.execute('SELECT count(*) FROM users')
            return cur.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope='module')
def primary():
    return container('tmi-dr-primary')


@pytest.fixture(scope='module')
def drill():
    state = {'measured': {}}
    yield state
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, 'w') as f:
        json.dump(state['measured'], f, indent=2, sort_keys=True)
    print('\nDR drill measurements: %s' % json.dumps(state['measured'], indent=2, sort_keys=True))


@pytest.fixture(scope='module')
def primary_env(primary):
    return parse_env(primary.file('/etc/tmi/tmi.env').content_string)


def test_site_set_up_archiving_and_a_first_full_backup(primary):
    info = json.loads(primary.check_output(PGBACKREST + '--output=json info'))[0]
    assert info['status']['code'] == 0, info['status']
    assert [b['type'] for b in info['backup']] == ['full']
    settings = superuser_rows(primary, 24452, "SELECT current_setting('archive_mode') || ' ' || current_setting('archive_timeout')")
    assert settings == ['on 1min']


def test_backups_while_tmi_writes(primary, primary_env, drill):
    writer = Writer(primary_env, first=1)
    writer.start()
    drill['writer'] = writer
    time.sleep(4)

    drill['logical_started'] = utc_now()
    run_playbook('backup.yml', 'tmi-dr-primary')
    drill['logical_ended'] = utc_now()
    dumps = sorted(f for f in primary.file(LOGICAL_DIR).listdir() if re.match(r'^tmi_\d{8}_\d{6}\.tmi\.15-main\.dump$', f))
    assert len(dumps) == 1, dumps
    drill['logical_file'] = dumps[-1]

    time.sleep(3)
    drill['t_mid'] = utc_now()
    time.sleep(3)
    drill['diff_started'] = utc_now()
    primary.check_output(PGBACKREST + '--type=diff --log-level-console=warn backup')
    time.sleep(5)
    assert writer.is_alive(), writer.error
    assert len(writer.rows) > 100, 'the writer committed only %d rows' % len(writer.rows)


def test_destroy_the_data_directory(primary, drill):
    writer = drill['writer']
    drill['killed'] = utc_now()
    primary.check_output('kill -9 "$(head -n 1 %s/postmaster.pid)"' % DATA_DIR)
    writer.join(30)
    assert writer.error is not None, 'the writer did not notice the kill'
    primary.check_output('rm -rf %s' % DATA_DIR)
    assert not primary.file(DATA_DIR).exists
    drill['rows'] = writer.rows


def test_pitr_to_the_end_of_the_archived_wal(primary, primary_env, drill):
    started = time.monotonic()
    _seconds, stdout = run_playbook('dr_pitr.yml', 'tmi-dr-primary')
    rows_seen_by_tmi = tmi_can_log_in(primary_env)
    rto = time.monotonic() - started

    recovered = drill_numbers(primary, 24452)
    rows = drill['rows']
    check_prefix(recovered, rows)
    # Everything acknowledged before the differential backup started is in
    # the archive: the backup waits for its WAL to be archived.
    check_all_committed_before(recovered, rows, drill['diff_started'])
    assert rows_seen_by_tmi == len(recovered)
    last_back = max((a for n, _s, a in rows if n in set(recovered)), default=None)
    lost = [n for n, _s, _a in rows if n not in set(recovered)]
    rpo = (drill['killed'] - last_back).total_seconds() if lost else 0.0
    drill['measured']['pitr_latest'] = {
        'rto_seconds': round(rto, 1), 'rpo_seconds': round(rpo, 1), 'rows_written': len(rows),
        'rows_recovered': len(recovered), 'rows_lost': len(lost)}
    assert rpo <= 60 + 5, 'more than archive_timeout (60 s) of data lost: %.1f s' % rpo
    print(summary_lines(stdout))


def test_pitr_to_an_earlier_time(primary, drill):
    target = drill['t_mid']
    seconds, stdout = run_playbook('dr_pitr.yml', 'tmi-dr-primary',
                                   dr_pitr_target_time=target.strftime('%Y-%m-%d %H:%M:%S.%f+00'))
    recovered = drill_numbers(primary, 24452)
    check_prefix(recovered, drill['rows'])
    check_against_target(recovered, drill['rows'], target)
    damaged = primary.check_output('ls -d %s.damaged-* | wc -l' % DATA_DIR)
    assert int(damaged) == 1, 'the recovered data directory of the first PITR was not kept aside'
    drill['measured']['pitr_earlier'] = {'rto_seconds': round(seconds, 1), 'rows_recovered': len(recovered)}
    print(summary_lines(stdout))


def test_logical_restore_of_the_backup_taken_while_writing(primary, primary_env, drill, tmp_path):
    report = tmp_path / 'dr_restore.json'
    seconds, stdout = run_playbook('dr_restore.yml', 'tmi-dr-primary', dr_restore_file=drill['logical_file'],
                                   dr_restore_swap=True, dr_restore_report_path=str(report))
    result = json.loads(report.read_text())
    assert result['valid'] and result['swapped'], result
    recovered = drill_numbers(primary, 24452)
    check_prefix(recovered, drill['rows'])
    # The dump's snapshot was taken while backup.yml ran.
    check_all_committed_before(recovered, drill['rows'], drill['logical_started'])
    check_none_sent_after(recovered, drill['rows'], drill['logical_ended'])
    users = int(superuser_rows(primary, 24452, 'SELECT count(*) FROM users')[0])
    assert result['row_counts']['users']['restored'] == users == len(recovered)
    assert tmi_can_log_in(primary_env) == users
    drill['logical_rows'] = recovered
    drill['measured']['logical_restore'] = {'rto_seconds': round(seconds, 1), 'rows_restored': users,
                                            'playbook_durations': result['durations_seconds']}
    print(summary_lines(stdout))


def test_rebuild_on_a_new_host_after_losing_the_primary(primary, primary_env, drill):
    writer = Writer(primary_env, first=drill['rows'][-1][0] + 1)
    writer.start()
    time.sleep(3)
    writer.stop()
    assert writer.error is None and writer.rows, writer.error
    # What a clean loss would leave: every acknowledged row in the archive.
    primary.check_output(PGBACKREST + '--log-level-console=warn check')
    expected = drill_numbers(primary, 24452)
    subprocess.run(['docker', 'kill', 'tmi-dr-primary'], check=True, capture_output=True)

    started = time.monotonic()
    _seconds, stdout = run_playbook('dr_rebuild.yml', 'tmi-dr-rebuild', tmi_postgresql_hosts='tmi_rebuild')
    rebuilt = container('tmi-dr-rebuild')
    rebuilt_env = parse_env(rebuilt.file('/etc/tmi/tmi.env').content_string)
    assert tmi_can_log_in(rebuilt_env) == len(expected)
    seconds = time.monotonic() - started
    assert rebuilt_env['POSTGRES_PORT'] == '24462'
    assert drill_numbers(rebuilt, 24462) == expected
    archiver = superuser_rows(rebuilt, 24462, 'SELECT failed_count FROM pg_stat_archiver')
    assert archiver == ['0']
    rebuilt.check_output(PGBACKREST + '--log-level-console=warn check')
    drill['measured']['rebuild_from_pgbackrest'] = {'rto_seconds': round(seconds, 1), 'rows': len(expected)}
    print(summary_lines(stdout))


def test_logical_rebuild_is_refused_while_the_repository_holds_the_stanza(drill, tmp_path):
    rebuilt = container('tmi-dr-rebuild')
    dump = sorted(f for f in rebuilt.file(LOGICAL_DIR).listdir() if re.match(r'^tmi_\d{8}_\d{6}\.tmi\.15-main\.dump$', f))[0]
    # Under another name, so that the copy to the host is a new file there.
    drill['controller_dump'] = str(tmp_path.parent / ('offsite-' + dump))
    subprocess.run(['docker', 'cp', 'tmi-dr-rebuild:%s/%s' % (LOGICAL_DIR, dump), drill['controller_dump']],
                   check=True, capture_output=True)
    before = drill_numbers(rebuilt, 24462)
    _seconds, stdout = run_playbook('dr_rebuild.yml', 'tmi-dr-rebuild', expect_rc=2, tmi_postgresql_hosts='tmi_rebuild',
                                    dr_rebuild_source='logical', dr_rebuild_controller_file=drill['controller_dump'])
    assert 'holds stanza tmi of the lost cluster' in stdout
    assert 'changed=0' in stdout
    assert drill_numbers(rebuilt, 24462) == before


def test_logical_rebuild_from_a_backup_on_the_controller(drill):
    # A new stanza for the rebuilt cluster, as the refusal above advises.
    started = time.monotonic()
    _seconds, stdout = run_playbook('dr_rebuild.yml', 'tmi-dr-rebuild', tmi_postgresql_hosts='tmi_rebuild',
                                    dr_rebuild_source='logical', dr_rebuild_controller_file=drill['controller_dump'],
                                    tmi_postgresql_pgbackrest_stanza='tmi-rebuilt')
    rebuilt = container('tmi-dr-rebuild')
    rebuilt_env = parse_env(rebuilt.file('/etc/tmi/tmi.env').content_string)
    assert tmi_can_log_in(rebuilt_env) == len(drill['logical_rows'])
    seconds = time.monotonic() - started
    assert drill_numbers(rebuilt, 24462) == drill['logical_rows']
    copied = rebuilt.file('%s/%s' % (LOGICAL_DIR, os.path.basename(drill['controller_dump'])))
    assert (copied.user, copied.mode) == ('postgres', 0o600)
    assert 'TMI login (.env settings, TLS): ok' in stdout
    drill['measured']['rebuild_from_logical'] = {'rto_seconds': round(seconds, 1), 'rows': len(drill['logical_rows'])}
    print(summary_lines(stdout))

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The drill of issue 11: the database host is lost, its backups are not.

A writer commits one row of TMI's users table every ~50 ms as tmi_app (TCP,
TLS, the .env file's settings) and records, per row, when the commit was
acknowledged. The database container is then removed (`docker rm -f`: its
disk goes with it), a fresh container of the same name is made with nothing
of ours on it, and dr_rebuild.yml gets it a certificate of the repository
host's CA and restores it from the repository host. Every row acknowledged more than archive_timeout before the
loss must be back, as an unbroken prefix; the rebuilt host must archive to
the repository host again and the repository host's next backup must work.

conftest.py runs these tests after every other test of the scenario: the
database host they leave is the rebuilt one. They run with TMI_REPO_DRILL=1
(`make drill-repo`); `make test` leaves them out to stay within its 45 minutes. The measurements are printed
and written to build/molecule-repo-drill.json in the checkout.
"""

import datetime
import json
import os
import subprocess
import sys
import time

import pytest

SCENARIO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
# The dr scenario's writer and helpers (read-only here: that scenario owns them).
sys.path.insert(0, os.path.join(SCENARIO, '..', 'dr', 'tests'))

from test_dr import (  # noqa: E402
    PROJECT,
    ROW_EMAIL,
    Writer,
    check_prefix,
    container,
    parse_env,
    run_playbook,
    summary_lines,
    superuser_rows,
    tmi_can_log_in,
    utc_now,
)

pytestmark = pytest.mark.skipif(not os.environ.get('TMI_REPO_DRILL'),
                                reason='the drill runs with TMI_REPO_DRILL=1 (make drill-repo)')

RESULTS = os.path.join(PROJECT, 'build', 'molecule-repo-drill.json')
DB = 'tmi-repo-db'
PORT = 25432
PUSH_SECONDS = 5
REPO_PGBACKREST = 'runuser -u pgbackrest -- pgbackrest --stanza=tmi --log-level-console=warn '


def docker(*args):
    return subprocess.run(['docker'] + list(args), check=True, capture_output=True, text=True).stdout


def recreate_empty(name):
    """Remove the container with its disk and start a new one from the same image, options and command."""
    spec = json.loads(docker('inspect', name))[0]
    docker('rm', '-f', name)
    argv = ['run', '-d', '--name', name, '--network', spec['HostConfig']['NetworkMode']]
    argv += ['--add-host=%s' % h.replace(' ', ':') for h in spec['HostConfig'].get('ExtraHosts') or []]
    argv += ['-v=%s' % b for b in spec['HostConfig'].get('Binds') or []]
    entrypoint = spec['Config'].get('Entrypoint') or []
    if entrypoint:
        argv += ['--entrypoint', entrypoint[0]]
    argv += [spec['Config']['Image']] + entrypoint[1:] + (spec['Config']['Cmd'] or [])
    docker(*argv)


@pytest.fixture(scope='module')
def drill():
    state = {'measured': {}}
    yield state
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, 'w') as f:
        json.dump(state['measured'], f, indent=2, sort_keys=True)
    print('\nRepository host drill: %s' % json.dumps(state['measured'], indent=2, sort_keys=True))


def test_lose_the_database_host_while_tmi_writes(drill):
    db = container(DB)
    env = parse_env(db.file('/etc/tmi/tmi.env').content_string)
    drill['archive_timeout'] = float(superuser_rows(db, PORT, "SELECT setting FROM pg_settings WHERE name = 'archive_timeout'")[0])
    writer = Writer(env, first=1)
    writer.start()
    # Longer than archive_timeout, so that some rows must survive the loss.
    time.sleep(drill['archive_timeout'] * 2 + PUSH_SECONDS)
    assert writer.is_alive(), writer.error
    drill['lost'] = utc_now()
    recreate_empty(DB)
    writer.join(60)
    assert not writer.is_alive() and writer.error is not None, 'the writer did not notice the loss'
    assert len(writer.rows) > 100, 'the writer committed only %d rows' % len(writer.rows)
    drill['rows'] = writer.rows
    fresh = container(DB)
    assert not fresh.file('/var/lib/postgresql').exists, 'the new container is not empty'


def test_rebuild_from_the_repository_host(drill):
    # A new machine with nothing of ours on it but the refusal tests' stranger (stranger.yml, not prepare.yml,
    # which would provision it as a one-host install); dr_rebuild.yml gets it a certificate of the repository
    # host's CA. (An absolute path: run_playbook joins it to the playbooks folder.)
    run_playbook(os.path.join(SCENARIO, 'stranger.yml'), DB)
    started = time.monotonic()
    _seconds, output = run_playbook('dr_rebuild.yml', DB)
    drill['measured']['rebuild_seconds'] = round(time.monotonic() - started, 1)
    print(summary_lines(output))


def test_every_row_acknowledged_before_archive_timeout_is_back(drill):
    db = container(DB)
    back = sorted(int(ROW_EMAIL.match(r).group(1))
                  for r in superuser_rows(db, PORT, "SELECT email FROM users WHERE email LIKE 'drill-%'"))
    rows = drill['rows']
    check_prefix(back, rows)
    # The segment archive_timeout closes still has to be pushed to the repository host: a few seconds more.
    bound = drill['lost'] - datetime.timedelta(seconds=drill['archive_timeout'] + PUSH_SECONDS)
    missing = [n for n, _sent, acked in rows if acked < bound and n not in set(back)]
    assert not missing, 'rows acknowledged more than archive_timeout before the loss are missing: %s' % missing[:20]
    assert any(acked < bound for _n, _sent, acked in rows), 'the writer ran for less than archive_timeout'
    last_back = max((acked for n, _sent, acked in rows if n in set(back)), default=None)
    rpo = (drill['lost'] - last_back).total_seconds() if len(back) < len(rows) else 0.0
    drill['measured'].update({'rows_written': len(rows), 'rows_back': len(back), 'rpo_seconds': round(rpo, 1),
                              'archive_timeout_seconds': drill['archive_timeout'], 'rows_bound': len([
                                  n for n, _sent, acked in rows if acked < bound])})
    users = int(superuser_rows(db, PORT, 'SELECT count(*) FROM users')[0])
    assert tmi_can_log_in(parse_env(db.file('/etc/tmi/tmi.env').content_string)) == users


def test_the_database_host_has_no_repository_passphrase():
    db = container(DB)
    assert db.run('grep -rqi cipher /etc/pgbackrest').rc == 1
    assert not db.file('/var/lib/pgbackrest/archive').exists


def test_the_rebuilt_host_archives_its_new_timeline_to_the_repository_host():
    db = container(DB)
    timeline = int(superuser_rows(db, PORT, 'SELECT timeline_id FROM pg_control_checkpoint()')[0])
    assert timeline >= 2
    db.check_output('runuser -u postgres -- pgbackrest --stanza=tmi --log-level-console=warn check')
    pattern = '%08X*' % timeline
    archived = container('tmi-repo-host').check_output('find /var/lib/pgbackrest-repository/archive/tmi -name %s -type f', pattern)
    assert archived.splitlines(), 'no WAL of timeline %d on the repository host' % timeline
    assert superuser_rows(db, PORT, 'SELECT failed_count FROM pg_stat_archiver') == ['0']


def test_the_repository_hosts_next_backup_works():
    repo = container('tmi-repo-host')
    before = json.loads(repo.check_output(REPO_PGBACKREST + '--output=json info'))[0]['backup']
    repo.check_output(REPO_PGBACKREST + '--type=diff backup')
    info = json.loads(repo.check_output(REPO_PGBACKREST + '--output=json info'))[0]
    assert info['status']['code'] == 0, info['status']
    assert len(info['backup']) == len(before) + 1
    assert info['backup'][-1]['type'] == 'diff' and not info['backup'][-1]['error']

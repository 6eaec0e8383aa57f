# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logical dumps taken by the repository host over TLS, and dr_restore.yml from them (issue 11, item 2)."""

import json
import os
import subprocess

import pytest

PROJECT = os.environ.get('MOLECULE_PROJECT_DIRECTORY') or os.path.abspath(
    os.path.join(os.path.dirname(__file__), '..', '..', '..'))
DUMP_USER = 'tmi-dump'
CONFIG = '/etc/tmi-postgresql/dump-repo/tmi-repo-db.conf'
DUMPS = '/var/backups/tmi-postgresql/tmi-repo-db'
SCRIPT = 'runuser -u %s -- /usr/local/sbin/tmi-pg-backup --config %s --no-syslog --json' % (DUMP_USER, CONFIG)
DB_SQL = "runuser -u postgres -- psql -X -A -t -q -v ON_ERROR_STOP=1 -p 25432 -d postgres -c %s"


def result_of(run):
    lines = [line for line in run.stdout.splitlines() if line.startswith('{')]
    return json.loads(lines[-1]) if lines else {}


@pytest.fixture(scope='module')
def dump(repo):
    """A dump taken now on the repository host, as its cron file runs it."""
    run = repo.run(SCRIPT)
    assert run.rc == 0, run.stderr
    return result_of(run)


def test_the_dumps_are_scheduled_on_the_repository_host_with_its_secret_for_its_user_only(repo):
    cron = repo.file('/etc/cron.d/tmi-postgresql-dump-tmi-repo-db').content_string
    assert ' %s /usr/local/sbin/tmi-pg-backup --config %s >/dev/null' % (DUMP_USER, CONFIG) in cron
    pgpass = repo.file('/etc/tmi-postgresql/dump-repo/tmi-repo-db.pgpass')
    assert (pgpass.user, pgpass.mode) == (DUMP_USER, 0o600)
    settings = repo.file(CONFIG).content_string
    assert 'TMI_BACKUP_SSLMODE=verify-full\n' in settings and 'TMI_BACKUP_USER=tmi_backup\n' in settings
    folder = repo.file(DUMPS)
    assert (folder.user, folder.mode) == (DUMP_USER, 0o700)


def test_the_backup_role_logs_in_over_hostssl_only(db):
    hba = db.check_output(DB_SQL, "SELECT type FROM pg_hba_file_rules WHERE 'tmi_backup' = ANY (user_name)")
    assert set(hba.split()) == {'hostssl'}


def test_a_dump_made_by_the_repository_host_is_verified_there(repo, dump):
    assert dump['status'] == 'ok' and dump['file'].startswith(DUMPS + '/tmi_') and dump['file'].endswith(
        '.tmi.15-main.dump')
    assert repo.file(dump['file']).user == DUMP_USER
    toc = repo.check_output('/usr/lib/postgresql/15/bin/pg_restore --list %s', dump['file'])
    assert 'TABLE DATA public users ' in toc


@pytest.mark.parametrize('option,reason', [
    ('--sslmode disable', 'no encryption'),
    ('--pgpass /tmp/tmi-wrong.pgpass', 'password authentication failed for user "tmi_backup"'),
], ids=['not-over-tls', 'wrong-password'])
def test_a_dump_not_over_tls_or_with_a_wrong_password_is_refused(repo, dump, option, reason):
    # A pgpass file of the dump user only, with a password that is not tmi_backup's.
    repo.run("install -o %s -m 0600 /dev/null /tmp/tmi-wrong.pgpass && echo '*:*:*:tmi_backup:not-the-password'"
             " > /tmp/tmi-wrong.pgpass", DUMP_USER)
    try:
        run = repo.run('%s %s' % (SCRIPT, option))
    finally:
        repo.run('rm -f /tmp/tmi-wrong.pgpass')
    assert run.rc == 1
    failed = result_of(run)
    assert failed['step'] == 'pg_dump' and reason in failed['error'], failed
    assert repo.file(dump['file']).exists


def test_dr_restore_takes_the_newest_dump_from_the_repository_host(db, dump, tmp_path):
    report = tmp_path / 'dr_restore.json'
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            os.path.join(PROJECT, 'playbooks', 'dr_restore.yml'), '-e', 'dr_restore_repo_host=tmi-repo-host',
            '-e', 'dr_restore_report_path=%s' % report]
    run = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, NO_COLOR='1'), check=False)
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    result = json.loads(report.read_text())
    copy = '/var/backups/tmi-postgresql/from-repository/' + os.path.basename(dump['file'])
    # Row counts may differ from the live database's: the scenario's writer may be committing meanwhile.
    assert result['file'] == copy and result['valid'] is True and result['errors'] == 0
    assert result['swapped'] is False
    assert (db.file(copy).user, db.file(copy).mode) == ('postgres', 0o600)
    db.check_output(DB_SQL, 'DROP DATABASE "%s"' % result['restored_database'])

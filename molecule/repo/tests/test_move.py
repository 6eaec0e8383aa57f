# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The move from the one-host layout (issue 11): prepare.yml provisioned tmi-repo-db with its own local repository
and a full backup in it; the converge set wal_archive_repo_host, as an operator does, and ran
playbooks/repository.yml once."""

import json

from test_repo import STANZA, repo_info

OLD_PATH = '/var/lib/pgbackrest'
# The old repository read on its own, as an operator would to restore from it.
OLD_REPO = 'runuser -u postgres -- pgbackrest --no-config --repo1-path=%s --stanza=%s --log-level-file=off' % (OLD_PATH, STANZA)


def old_info(db):
    return json.loads(db.check_output(OLD_REPO + ' --output=json info'))[0]


def verified_fulls(repo):
    return [backup for backup in repo_info(repo)['backup']
            if backup['type'] == 'full' and 'tmi-verified' in (backup.get('annotation') or {})]


def test_the_repository_hosts_first_full_backup_is_verified_and_marked(repo):
    assert verified_fulls(repo)


def test_the_database_host_archives_to_the_repository_host_alone(db):
    conf = db.file('/etc/pgbackrest/pgbackrest.conf').content_string
    assert 'repo1-host=tmi-repo-host' in conf
    assert 'repo2-' not in conf


def test_the_old_repository_is_left_on_disk_with_a_note_and_its_backup_still_verifies(db):
    note = db.file('%s/RETIRED-%s.txt' % (OLD_PATH, STANZA))
    assert note.exists and (note.user, note.mode) == ('root', 0o644)
    assert 'tmi-repo-host' in note.content_string
    old = old_info(db)
    assert old['status']['code'] == 0, old['status']
    assert [backup['type'] for backup in old['backup']] == ['full']
    result = db.run(OLD_REPO + ' --output=text --verbose verify')
    assert result.rc == 0, result.stderr
    assert 'status: ok' in result.stdout.splitlines()
    assert 'backup: %s, status: valid' % old['backup'][0]['label'] in result.stdout


def test_the_old_repository_took_every_wal_segment_until_the_new_backup_was_verified(db, repo):
    old = old_info(db)
    newest_old = old['archive'][0]['max']
    # It was written after its own backup: archive-push wrote each segment to both repositories...
    assert newest_old > old['backup'][-1]['archive']['stop']
    # ...until the repository host held the verified full backup: a point in time restorable from either.
    assert newest_old >= verified_fulls(repo)[0]['archive']['stop']


def test_nothing_writes_the_old_repository_after_its_retirement(db, repo):
    before = old_info(db)['archive'][0]['max']
    # `pgbackrest check` switches to a new segment and waits until it is archived.
    db.check_output('runuser -u postgres -- pgbackrest --stanza=%s check', STANZA)
    assert old_info(db)['archive'][0]['max'] == before
    assert repo_info(repo)['archive'][0]['max'] > before

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What `molecule verify` checks on the database host and the repository host (issue 11)."""

import json

import pytest

STANZA = 'tmi'
REPO_PATH = '/var/lib/pgbackrest-repository'
TLS_TEST_DIR = '/root/tls-test'
# A client of the repository host's TLS server with no configuration file of
# its own: only the certificate files change from one test to the next.
CLIENT = (
    'pgbackrest --no-config --stanza=tmi --repo1-host=tmi-repo-host --repo1-host-type=tls'
    ' --repo1-host-port=28433 --repo1-host-ca-file={ca} --repo1-host-cert-file={cert}'
    ' --repo1-host-key-file={key} --lock-path=/tmp/tmi-tls-test-{user} --log-level-file=off'
    ' --log-level-console=off --output=json info'
)


def repo_info(repo):
    out = repo.check_output('runuser -u pgbackrest -- pgbackrest --stanza=%s --output=json info', STANZA)
    return json.loads(out)[0]


def test_check_passes_on_the_database_host(db):
    result = db.run('runuser -u postgres -- pgbackrest --stanza=%s check', STANZA)
    assert result.rc == 0, result.stderr


def test_check_passes_on_the_repository_host(repo):
    result = repo.run('runuser -u pgbackrest -- pgbackrest --stanza=%s check', STANZA)
    assert result.rc == 0, result.stderr


def test_wal_is_in_the_repository_host(repo):
    # (The database host's old local repository, from before the move: test_move.py.)
    archived = repo.check_output('find %s/archive/%s -name "0000*" -type f', REPO_PATH, STANZA)
    assert archived.splitlines()


def test_a_full_backup_taken_on_the_repository_host_exists(repo):
    info = repo_info(repo)
    assert info['status']['code'] == 0, info['status']
    assert 'full' in [backup['type'] for backup in info['backup']]


def test_the_repository_is_encrypted(repo):
    assert repo_info(repo)['repo'][0]['cipher'] == 'aes-256-cbc'
    conf = repo.file('/etc/pgbackrest/pgbackrest.conf')
    assert (conf.user, conf.group, conf.mode) == ('pgbackrest', 'pgbackrest', 0o600)


def test_backups_are_scheduled_on_the_repository_host_only(db, repo):
    cron = repo.file('/etc/cron.d/tmi-pgbackrest-repository').content_string
    assert 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=tmi --type=full backup' in cron
    assert 'pgbackrest --config=/etc/pgbackrest/pgbackrest.conf --stanza=tmi --type=diff backup' in cron
    assert not db.file('/etc/cron.d/tmi-pgbackrest-tmi').exists


@pytest.mark.parametrize('name,user', [('db', 'postgres'), ('repo', 'pgbackrest')])
def test_the_keys_are_readable_by_their_user_only(request, name, user):
    key = request.getfixturevalue(name).file('/etc/pgbackrest/tls/server.key')
    assert (key.user, key.mode) == (user, 0o600)


def client_info(db, cert, key, user='root'):
    """`pgbackrest info` through the repository host's TLS server with these files: the status of its repository."""
    # info exits 0 even when the repository cannot be reached; its status says why.
    # pgBackRest reads a key owned by the user that runs it (or root) only.
    out = db.check_output('runuser -u %s -- ' % user + CLIENT.format(ca='/etc/pgbackrest/tls/ca.crt', cert=cert, key=key, user=user))
    return json.loads(out)[0]['repo'][0]['status']


def test_the_database_host_certificate_is_let_in(db):
    # The control of the refusals below: the same command with the host's own files.
    status = client_info(db, '/etc/pgbackrest/tls/server.crt', '/etc/pgbackrest/tls/server.key', user='postgres')
    assert status['code'] == 0, status


@pytest.mark.parametrize('client,reason', [
    # The right CA, a CN that tls-server-auth does not name.
    ('tmi-intruder', 'access denied'),
    # A certificate of another CA.
    ('tmi-stranger', 'unknown ca'),
])
def test_an_unknown_client_is_refused(db, client, reason):
    status = client_info(db, '%s/%s.crt' % (TLS_TEST_DIR, client), '%s/%s.key' % (TLS_TEST_DIR, client))
    assert status['code'] == 99
    assert reason in status['message']

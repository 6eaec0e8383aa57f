# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""WAL archiving and backups of the Patroni cluster (issue 12): both members archive to one stanza on the
repository host (tmi-ha-3), which backs up whichever member runs as primary, and a standby that is rebuilt is
restored from the repository (Patroni's create_replica_method pgbackrest), the primary streaming only the rest."""

import json
import time

import pytest

from ha_writer import CONF_DIR
from test_patroni import DB_MEMBERS, PATRONICTL, cluster, rows

REPO_PGBACKREST = 'runuser -u pgbackrest -- pgbackrest --stanza=tmi '
MEMBER_PGBACKREST = 'runuser -u postgres -- pgbackrest --stanza=tmi '
RESTORE_LOG = '/var/log/pgbackrest/tmi-restore.log'


def roles_now(hosts):
    members = cluster(hosts['tmi-ha-1'])
    leader = [name for name, m in members.items() if m['Role'] == 'Leader'][0]
    return leader, [name for name in DB_MEMBERS if name != leader][0]


def test_the_repository_host_has_one_stanza_with_both_members_and_a_full_backup(hosts):
    repo = hosts['tmi-ha-3']
    conf = repo.file('/etc/pgbackrest/pgbackrest.conf').content_string
    assert 'pg1-host=tmi-ha-1' in conf and 'pg2-host=tmi-ha-2' in conf
    assert conf.count('[tmi]') == 1
    info = json.loads(repo.check_output(REPO_PGBACKREST + '--output=json info'))
    assert [stanza['name'] for stanza in info] == ['tmi']
    assert info[0]['status']['code'] == 0, info[0]['status']
    assert [backup['type'] for backup in info[0]['backup']][:1] == ['full']


def test_the_leader_archives_to_the_repository_host_and_the_standby_can_fetch_from_it(hosts):
    leader, standby = roles_now(hosts)
    # check forces a WAL switch on the primary and waits for the segment in the repository.
    result = hosts[leader].run(MEMBER_PGBACKREST + 'check')
    assert result.rc == 0, result.stdout + result.stderr
    archiver = rows(hosts[leader], 'SELECT archived_count, failed_count, last_failed_time > last_archived_time '
                                   'FROM pg_stat_archiver')[0].split('|')
    assert int(archiver[0]) > 0 and archiver[2] in ('f', ''), archiver
    settings = dict(line.split('|', 1) for line in rows(
        hosts[standby], "SELECT name || '|' || setting FROM pg_settings "
                        "WHERE name IN ('archive_mode', 'archive_command', 'restore_command')"))
    assert settings['archive_mode'] == 'on'
    assert settings['archive_command'].startswith('pgbackrest ') and settings['archive_command'].endswith(' archive-push %p')
    assert settings['restore_command'].endswith(' archive-get %f "%p"'), settings
    # No drop-in: the settings reached PostgreSQL through Patroni's configuration alone.
    assert hosts[standby].run('ls %s/conf.d/' % CONF_DIR).stdout.split() == []


def test_a_rebuilt_standby_is_restored_from_the_repository_and_streams_again(hosts):
    leader, standby = roles_now(hosts)
    host = hosts[standby]
    before = host.run('stat -c %Y ' + RESTORE_LOG).stdout.strip() or '0'
    started = time.time()
    result = hosts[leader].run(PATRONICTL + 'reinit --force --wait tmi ' + standby)
    assert result.rc == 0, result.stdout + result.stderr
    log = host.file(RESTORE_LOG)
    assert log.exists and int(log.mtime.timestamp()) > int(before), 'pgbackrest restore did not run on ' + standby
    assert 'restore command end: completed successfully' in log.content_string.split('restore command begin')[-1]
    deadline = time.time() + 120
    while time.time() < deadline:
        members = cluster(hosts['tmi-ha-1'])
        if members[standby]['State'] in ('running', 'streaming') and members[standby]['Role'] == 'Sync Standby':
            break
        time.sleep(2)
    else:
        pytest.fail('%s is not the synchronous standby again: %s' % (standby, members))
    print('reinit of %s from the repository: %.1f s' % (standby, time.time() - started))

"""Dumps taken by the repository host (tmi.postgresql.dump_repo) over verified TLS, localhost standing in for it."""

import os
import re
import stat
import subprocess
import uuid

import pytest

from backup_helpers import (
    AS_ROOT,
    BACKUP_NAME,
    REPO,
    SYSTEM_PYTHON,
    backups,
    changed_count,
    failed_task,
    listing,
    platform_postgresql_version,
    row_counts,
    run_playbook,
)
from tls_server import BACKUP_PASSWORD, BACKUP_ROLE

ROLE_PLAYBOOK = os.path.join(os.path.dirname(__file__), 'dump_repo_role.yml')
BACKUP_PLAYBOOK = os.path.join(REPO, 'playbooks', 'backup.yml')
CRON_D = '/etc/cron.d'

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the role creates files owned by another user and needs root')


@pytest.fixture
def dump_user():
    """A system user of this test only that runs the dumps; removed at the end."""
    name = 'tmidump' + uuid.uuid4().hex[:8]
    subprocess.run(['useradd', '--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name], check=True)
    try:
        yield name
    finally:
        subprocess.run(['userdel', name], check=True)


@pytest.fixture
def source_name(open_dir):
    """The entry's name, unique to the test: it names the cron file in /etc/cron.d, removed at the end."""
    name = 'db1-' + os.path.basename(open_dir)
    yield name
    path = os.path.join(CRON_D, 'tmi-postgresql-dump-' + name.replace('.', '_'))
    if os.path.exists(path):
        os.unlink(path)


def role_vars(server, db, work, user, name, ca, **entry):
    source = dict(name=name, host='localhost', port=server.port, database=db, password=BACKUP_PASSWORD,
                  ca_certificate=open(ca).read())
    source.update(entry)
    os.makedirs(os.path.join(work, 'bin'), exist_ok=True)
    return dict(
        dump_repo_sources=[source],
        dump_repo_os_user=user,
        dump_repo_dir=os.path.join(work, 'dumps'),
        dump_repo_config_dir=os.path.join(work, 'etc'),
        dump_repo_log_dir=os.path.join(work, 'log'),
        dump_repo_version=os.path.basename(os.path.dirname(server.bindir)),
        dump_repo_packages=[],
        # Of the backup role, which dump_repo does not set per entry.
        backup_script_path=os.path.join(work, 'bin', 'tmi-pg-backup'),
        backup_packages=[],
        backup_syslog=False,
    )


def test_the_repository_host_dumps_over_tls_verifies_and_keeps_the_dumps(tls_server, tls_db, tls_files, open_dir,
                                                                         dump_user, source_name):
    values = role_vars(tls_server, tls_db, open_dir, dump_user, source_name, tls_files[0])
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, values)
    assert rc == 0, failed_task(report)
    etc = os.path.join(open_dir, 'etc')
    pgpass = os.stat(os.path.join(etc, source_name + '.pgpass'))
    assert stat.S_IMODE(pgpass.st_mode) == 0o600 and pgpass.st_uid == int(
        subprocess.run(['id', '-u', dump_user], capture_output=True, text=True, check=True).stdout)
    settings = open(os.path.join(etc, source_name + '.conf')).read()
    assert 'TMI_BACKUP_SSLMODE=verify-full\n' in settings and 'TMI_BACKUP_HOST=localhost\n' in settings
    assert BACKUP_PASSWORD not in settings
    assert open(os.path.join(etc, source_name + '-ca.crt')).read() == open(tls_files[0]).read()
    with open(os.path.join(CRON_D, 'tmi-postgresql-dump-' + source_name)) as f:
        assert ' %s %s --config %s/%s.conf ' % (dump_user, values['backup_script_path'], etc, source_name) in f.read()

    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, values)
    assert rc == 0 and changed_count(report) == 0, report['stats']

    # As cron runs it: the dump user, the entry's settings file.
    rc, report = run_playbook(BACKUP_PLAYBOOK, open_dir, dict(
        tmi_backup_script=values['backup_script_path'], tmi_backup_config=os.path.join(etc, source_name + '.conf'),
        tmi_backup_become_user=dump_user, ansible_become_method='su',
        # The dump user has no login shell (cron runs /bin/sh all the same).
        ansible_become_flags='-s /bin/sh', ansible_python_interpreter=SYSTEM_PYTHON))
    assert rc == 0, failed_task(report)
    folder = os.path.join(open_dir, 'dumps', source_name)
    [dump] = backups(folder)
    assert re.match(BACKUP_NAME, dump) and dump.endswith('.%s.%d-main.dump' % (tls_db, platform_postgresql_version()))
    restored = tls_server.create_database('restored')
    subprocess.run([os.path.join(tls_server.bindir, 'pg_restore'), '--exit-on-error', '--no-owner', '-h',
                    tls_server.socketdir, '-p', str(tls_server.port), '-U', 'postgres', '-d', restored,
                    os.path.join(folder, dump)], check=True, capture_output=True)
    assert row_counts(tls_server, restored) == row_counts(tls_server, tls_db)
    tls_server.drop_database(restored)


def test_a_wrong_entry_stops_the_role_before_anything_is_written(tls_server, tls_db, tls_files, open_dir, dump_user,
                                                                 source_name):
    values = role_vars(tls_server, tls_db, open_dir, dump_user, source_name, tls_files[0], port=0, prot=1)
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, values)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Check the database hosts to dump, before anything changes.'
    assert 'dump_repo_sources[0] (%s): unknown field(s) prot' % source_name in result['msg']
    assert 'dump_repo_sources[0] (%s): port is 0' % source_name in result['msg']
    assert BACKUP_PASSWORD not in str(report)
    assert not set(listing(open_dir)) & {'dumps', 'etc', 'log'}


def test_a_wrong_password_is_refused_by_a_clear_error(tls_server, tls_db, tls_files, open_dir, dump_user,
                                                      source_name):
    values = role_vars(tls_server, tls_db, open_dir, dump_user, source_name, tls_files[0],
                       password='not-the-password')
    rc, report = run_playbook(ROLE_PLAYBOOK, open_dir, values)
    assert rc != 0
    name, result = failed_task(report)
    assert name == 'Fail when the backup role cannot log in.'
    assert 'password authentication failed for user "%s"' % BACKUP_ROLE in result['msg']
    assert not os.path.exists(os.path.join(open_dir, 'etc', source_name + '.pgpass'))
    assert not os.path.exists(os.path.join(CRON_D, 'tmi-postgresql-dump-' + source_name))

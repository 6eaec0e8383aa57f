"""Bad settings stop the pgbackrest_repo role at its first task, naming the setting, with nothing changed.

The runs point at nothing (no stanza reachable, no package installed): the
check must fail before the role installs or writes anything.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible_run import ansible_env
from backup_helpers import (
    assert_refused_at, changed_count, failed_task, platform_postgresql_version, run_playbook, task_result,
)
from repo_server_helpers import needs_tls_server

CHECK_TASK = 'Check the settings before anything changes.'
# Given in the runs below: it must appear in no output.
PASSPHRASE = 'tmi-test-passphrase-that-must-not-be-logged'
STANZA = {'name': 'tmi', 'host': 'db.invalid', 'pg_path': '/nonexistent/15/main'}


def repo_playbook(workdir):
    path = workdir / 'repo.yml'
    path.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.pgbackrest_repo\n')
    return str(path)


@pytest.mark.parametrize('settings,message', [
    ({'pgbackrest_repo_stanzas': []}, 'pgbackrest_repo_stanzas is empty'),
    ({'pgbackrest_repo_stanzas': [{'name': 'tmi', 'host': 'db.invalid'}]}, 'each entry needs name, host and pg_path'),
    ({'pgbackrest_repo_stanzas': [STANZA], 'pgbackrest_repo_cipher_type': 'aes-256-cbc'},
     'pgbackrest_repo_cipher_type is aes-256-cbc but pgbackrest_repo_cipher_pass is empty'),
    ({'pgbackrest_repo_stanzas': [STANZA], 'pgbackrest_repo_tls_server_port': 70000}, 'pgbackrest_repo_tls_server_port'),
    ({'pgbackrest_repo_stanzas': [STANZA], 'pgbackrest_repo_compress_level': 20}, 'pgbackrest_repo_compress_level is 20'),
])
def test_bad_settings_stop_the_role_before_it_changes_anything(tmp_path, settings, message):
    rc, report = run_playbook(repo_playbook(tmp_path), str(tmp_path), settings)
    assert_refused_at(rc, report, CHECK_TASK, message)


def check_run(tmp_path, certificate_files=('ca.crt', 'server.crt', 'server.key'), inventory='localhost,', **overrides):
    """The role in check mode with --diff, the folders in tmp_path: (exit status, stdout and stderr, report).

    overrides replace the settings; an override of None leaves the setting out.
    """
    tls = tmp_path / 'tls'
    tls.mkdir()
    for name in certificate_files:
        (tls / name).write_text('not a certificate\n')
    settings = dict(
        ansible_python_interpreter=sys.executable,
        pgbackrest_repo_stanzas=[STANZA], pgbackrest_repo_cipher_type='aes-256-cbc', pgbackrest_repo_cipher_pass=PASSPHRASE,
        pgbackrest_repo_user='tmi-no-such-user', pgbackrest_repo_path=str(tmp_path / 'repo'),
        pgbackrest_repo_config_file=str(tmp_path / 'etc' / 'pgbackrest.conf'), pgbackrest_repo_log_path=str(tmp_path / 'log'),
        pgbackrest_repo_lock_path=str(tmp_path / 'lock'), pgbackrest_repo_tls_ca_file=str(tls / 'ca.crt'),
        pgbackrest_repo_tls_cert_file=str(tls / 'server.crt'), pgbackrest_repo_tls_key_file=str(tls / 'server.key'),
        pgbackrest_repo_service_manager='start-stop-daemon', pgbackrest_repo_first_backup=False)
    settings.update(overrides)
    settings = dict((name, value) for name, value in settings.items() if value is not None)
    vars_file = tmp_path / 'vars.yml'
    vars_file.write_text(yaml.safe_dump(settings))
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory, '-c', 'local',
            '-e', '@' + str(vars_file), repo_playbook(tmp_path), '--check', '--diff']
    proc = subprocess.run(argv, cwd=str(tmp_path), env=ansible_env(str(tmp_path)), capture_output=True, text=True,
                          timeout=900, check=False)
    return proc.returncode, proc.stdout + proc.stderr, json.loads(proc.stdout)


@needs_tls_server()
def test_the_cipher_passphrase_stays_out_of_a_check_run_with_diff(tmp_path):
    # Check mode writes nothing; --diff would show the new pgbackrest.conf,
    # which holds the passphrase, unless the task is no_log.
    rc, output, report = check_run(tmp_path)
    assert rc == 0, output[-3000:]
    assert task_result(report, "Write the configuration, readable by the repository's user only.")['changed'] is True
    assert PASSPHRASE not in output
    assert not (tmp_path / 'etc').exists()


@needs_tls_server()
def test_a_missing_key_file_is_named_even_with_a_cipher(tmp_path):
    # The role checks the operator's files. In check mode file_set names a
    # missing one in a warning (an error in a real run, which the
    # configuration's task, no_log with a cipher, would hide: hence a task of its own).
    key = str(tmp_path / 'tls' / 'server.key')
    rc, output, report = check_run(tmp_path, certificate_files=('ca.crt', 'server.crt'))
    assert rc == 0, output[-3000:]
    warnings = [warning for play in report['plays'] for task in play['tasks']
                for warning in task['hosts']['localhost'].get('warnings', [])]
    assert [warning for warning in warnings if '(%s): does not exist' % key in warning], warnings
    assert PASSPHRASE not in output


def tls_server_playbook(workdir):
    path = workdir / 'tls_server.yml'
    path.write_text('- hosts: localhost\n  gather_facts: false\n  tasks:\n'
                    '    - ansible.builtin.include_role:\n        name: tmi.postgresql.pgbackrest_repo\n'
                    '        tasks_from: tls_server\n')
    return str(path)


@pytest.mark.parametrize('settings,message', [
    # Missing: it ran with undefined variables before the entry point had options.
    ({'pgbackrest_repo_server_user': 'postgres', 'pgbackrest_repo_server_manager': 'systemd'},
     'missing required arguments: pgbackrest_repo_server_config'),
    # Unknown: no task matched it, so no server ran and the play said ok.
    ({'pgbackrest_repo_server_user': 'postgres', 'pgbackrest_repo_server_config': '/nonexistent/pgbackrest.conf',
      'pgbackrest_repo_server_manager': 'sysvinit'}, 'pgbackrest_repo_server_manager must be one of: systemd, start-stop-daemon'),
])
def test_the_tls_server_entry_point_checks_its_options_before_anything_runs(tmp_path, settings, message):
    rc, report = run_playbook(tls_server_playbook(tmp_path), str(tmp_path), settings)
    name, result = failed_task(report)
    assert rc != 0
    assert name.startswith("Validating arguments against arg spec 'tls_server'"), name
    assert message in result['msg'], result['msg']
    assert changed_count(report) == 0


@needs_tls_server()
def test_the_stanzas_default_to_the_database_hosts_that_archive_here(tmp_path):
    # The operator names the repository host once, on the database hosts.
    inventory = tmp_path / 'inventory.ini'
    inventory.write_text('localhost\n'
                         'db1.invalid wal_archive_repo_host=localhost\n'
                         'db2.invalid wal_archive_repo_host=localhost wal_archive_stanza=billing tmi_postgresql_port=5433\n'
                         'db3.invalid wal_archive_repo_host=backup9.invalid\n')
    rc, output, report = check_run(tmp_path, inventory=str(inventory), pgbackrest_repo_stanzas=None,
                                   pgbackrest_repo_cipher_type=None, pgbackrest_repo_cipher_pass=None)
    assert rc == 0, output[-3000:]
    config = task_result(report, "Write the configuration, readable by the repository's user only.")['diff'][0]['after']
    assert '[tmi]\npg1-host=db1.invalid\npg1-host-type=tls\npg1-host-port=8432\n' in config
    # db1.invalid sets no version and gives no facts: the repository host's own platform version.
    assert 'pg1-path=/var/lib/postgresql/%d/main\npg1-port=5432\n' % platform_postgresql_version() in config
    assert '[billing]\npg1-host=db2.invalid\n' in config and 'pg1-port=5433\n' in config
    assert 'tls-server-auth=db1.invalid=tmi\ntls-server-auth=db2.invalid=billing\n' in config
    assert 'db3.invalid' not in config


@pytest.mark.skipif(os.geteuid() != 0, reason='the repository is postgres\'s, read through su')
@needs_tls_server()
@pytest.mark.parametrize('passphrase,opens', [('tmi-the-repositorys-own-passphrase', True), (PASSPHRASE, False)],
                         ids=['its-passphrase', 'another-passphrase'])
def test_a_passphrase_that_does_not_open_the_repository_stops_the_role_before_its_configuration(tmp_path, passphrase, opens):
    # An encrypted repository with a stanza (repo_server_helpers, real pgBackRest servers), read by the role as
    # its owner with the passphrase of the configuration about to be written. Another passphrase would make
    # every backup and archive-push fail from the next run on, and pgBackRest has no re-keying.
    from repo_server_helpers import RemoteLayout
    layout = RemoteLayout(cipher_pass='tmi-the-repositorys-own-passphrase').start()
    try:
        # /usr/bin/python3: postgres cannot run the virtual environment's interpreter (under /root).
        rc, output, report = check_run(tmp_path, pgbackrest_repo_user='postgres', ansible_become_method='su',
                                       ansible_python_interpreter='/usr/bin/python3',
                                       pgbackrest_repo_path=os.path.join(layout.base, 'repo', 'repository'),
                                       pgbackrest_repo_cipher_pass=passphrase)
    finally:
        layout.stop()
    guard = task_result(report, 'Check that the encryption settings open every stanza of the repository.')
    assert PASSPHRASE not in output
    if opens:
        assert rc == 0, output[-3000:]
        assert guard.get('failed') is not True
        return
    assert rc != 0 and guard['failed'] is True
    # pgBackRest's own words: its error ([CryptoError] or [FormatError], with the undecryptable bytes) and the file.
    assert 'cannot read tmi in ' in guard['msg'] and "Error] unable to load info file '" in guard['msg'], guard['msg']
    assert 'key/value found outside' not in guard['msg'], repr(guard['msg'])
    assert guard['msg'].endswith('Nothing was changed in the configuration.')
    with pytest.raises(AssertionError, match='did not run'):
        task_result(report, "Write the configuration, readable by the repository's user only.")

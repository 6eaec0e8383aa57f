# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings that need a newer package than the host's are refused before anything changes (issue 14).

Debian 11 has pgBackRest 2.33 (no TLS server: the repository host layout
cannot work) and prometheus-postgres-exporter 0.8 (no --web.config.file:
the exporters' basic auth and TLS cannot work); Debian 12 and 13 have what
both need. site.yml's checks run alone (--tags: only the checks, tagged
always, run; --check) with both settings given: refused on Debian 11 with
the versions found, passed on 12 and 13. Then node exporter is started with
the option for its web configuration that the monitoring role picks by
version (--web.config before 1.5: Debian 11's 1.1.2) and the role's file
format, and must ask for basic auth over TLS.
"""

import base64
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.request

import pytest
from conftest import parse_env
from test_monitoring import NODE_FILE, listen_of

PROJECT = os.environ['MOLECULE_PROJECT_DIRECTORY']
# bcrypt of 'tmi-probe' (cost 12), as the role's web configuration holds one.
PROBE_PASSWORD = 'tmi-probe'
PROBE_HASH = '$2b$12$TqZ2BU6TygTRfPcagMW3qe.l9TmqJrSc5BtGKfIN256lUwL6XLYLq'
# The JSON callback names a role's task "ROLE : NAME".
READ_TASK = 'tmi.postgresql.common : Read the installed or candidate versions of the packages the settings in use need.'


def debian_release(host):
    return parse_env(host.file('/etc/os-release').content_string)['VERSION_ID'].strip('"')


def installed_version(host, package):
    return host.check_output("dpkg-query -W -f '${Version}' %s", package)


def upstream(version):
    return tuple(int(part) for part in version.split('+')[0].split('-')[0].split('.'))


def site_checks(host, *extra):
    """site.yml's checks alone on this host; (rc, failed messages, the version read's result)."""
    name = host.ansible.get_variables()['inventory_hostname']
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            '--limit', name, '--check', '--tags', 'tmi-postgresql-checks-only',
            '-e', 'tmi_postgresql_prometheus_hosts=tmi_postgresql_none'] + list(extra) \
        + [os.path.join(PROJECT, 'playbooks', 'site.yml')]
    result = subprocess.run(argv, capture_output=True, text=True, check=False,
                            env=dict(os.environ, NO_COLOR='1', ANSIBLE_STDOUT_CALLBACK='ansible.posix.json'))
    report = json.loads(result.stdout[result.stdout.index('{'):])
    failed, read = [], None
    for play in report['plays']:
        for task in play['tasks']:
            answer = task['hosts'].get(name)
            if answer is None:
                continue
            if answer.get('failed'):
                failed.append(str(answer.get('msg')))
            if task['task']['name'] == READ_TASK and not answer.get('skipped'):
                read = answer
    return result.returncode, ' '.join(failed), read, report['stats'].get(name, {})


def test_site_yml_refuses_what_the_host_s_packages_cannot_serve_before_anything_changes(host):
    rc, failed, read, stats = site_checks(host, '-e', 'monitoring_web_basic_auth=true',
                                          '-e', 'wal_archive_repo_host=tmi-repo.invalid')
    assert read is not None, 'the versions were not read'
    versions = read['package_versions']
    for package in ('prometheus-postgres-exporter', 'prometheus-node-exporter', 'pgbackrest'):
        assert versions[package]['installed'] == installed_version(host, package)
    assert stats.get('changed', 0) == 0
    if debian_release(host) == '11':
        assert rc == 2
        assert 'monitoring_web_basic_auth needs prometheus-postgres-exporter 0.10 or later' in failed
        assert 'this host has prometheus-postgres-exporter %s (installed)' \
            % installed_version(host, 'prometheus-postgres-exporter') in failed
        assert 'wal_archive_repo_host needs pgbackrest 2.37 or later' in failed
        assert 'this host has pgbackrest %s (installed)' % installed_version(host, 'pgbackrest') in failed
        # Node exporter 1.1 has --web.config: not refused.
        assert 'needs prometheus-node-exporter' not in failed
        assert failed.endswith('Nothing was changed.')
    else:
        assert rc == 0, failed


def test_without_those_settings_nothing_is_read(host):
    rc, failed, read, dummy = site_checks(host)
    assert rc == 0, failed
    assert read is None


@pytest.fixture
def probe_exporter(host):
    """Node exporter started with basic auth and TLS in the role's file format, on its port + 7; its URL.

    A throwaway key and certificate (the server's key is protected by a passphrase).
    """
    version = installed_version(host, 'prometheus-node-exporter')
    option = '--web.config' if upstream(version) < (1, 5) else '--web.config.file'
    tls = '/tmp/tmi-probe'
    host.run_expect([0], 'openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout %s -out %s',
                    tls + '.key', tls + '.crt')
    config = {'basic_auth_users': {'probe': PROBE_HASH},
              'tls_server_config': {'cert_file': tls + '.crt', 'key_file': tls + '.key'}}
    path = '/tmp/tmi-probe-web-config.json'
    # testinfra quotes each argument for the shell.
    host.run_expect([0], 'printf %%s %s > %s', json.dumps(config), path)
    listen = listen_of(host, NODE_FILE)
    address = '%s:%d' % (listen.rsplit(':', 1)[0], int(listen.rsplit(':', 1)[1]) + 7)
    pid = host.check_output(
        'setsid /usr/bin/prometheus-node-exporter %s=%s --web.listen-address=%s >/tmp/tmi-probe.log 2>&1 '
        '< /dev/null & echo $!', option, path, address)
    yield 'https://%s/metrics' % address, option
    host.run('kill %s; rm -f %s %s %s', pid, path, tls + '.key', tls + '.crt')


def get(url, password=None):
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    request = urllib.request.Request(url)
    if password is not None:
        token = base64.b64encode(('probe:%s' % password).encode()).decode()
        request.add_header('Authorization', 'Basic ' + token)
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def test_node_exporter_takes_basic_auth_and_tls_with_the_option_of_its_version(host, probe_exporter):
    url, option = probe_exporter
    deadline = time.monotonic() + 30
    while True:
        try:
            status = get(url)
            break
        except (OSError, urllib.error.URLError):
            assert time.monotonic() < deadline, '%s did not start with %s: %s' % (
                url, option, host.file('/tmp/tmi-probe.log').content_string[-1000:])
            time.sleep(1)
    assert status == 401
    assert get(url, 'wrong') == 401
    assert get(url, PROBE_PASSWORD) == 200

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tmi_metrics role on the converged host: the timer, one run (a stale backup: test_monitoring_flips.py).

Nothing is skipped: on a host the role did not converge, the settings file
is missing and every test fails with that.
"""

import json
import re
import shlex

import pytest

CONFIG = '/etc/tmi-postgresql/tmi-metrics.json'
SERVICE = '/etc/systemd/system/tmi-metrics.service'
TIMER = '/etc/systemd/system/tmi-metrics.timer'
TIMER_LINK = '/etc/systemd/system/timers.target.wants/tmi-metrics.timer'
BACKUP = 'runuser -u postgres -- /usr/local/sbin/tmi-pg-backup --config /etc/tmi-postgresql/backup.conf'
SAMPLE = re.compile(r'^([a-z_]+(?:\{[^}]*\})?) (\S+)$')
# The textfile metrics of issue 13's contract.
CONTRACT = (
    'tmi_schema_migration_version', 'tmi_schema_migration_dirty', 'tmi_schema_valid',
    'tmi_schema_validation_timestamp_seconds', 'tmi_schema_validation_duration_seconds',
    'tmi_backup_logical_last_timestamp_seconds', 'tmi_backup_logical_last_size_bytes',
    'tmi_backup_pgbackrest_last_timestamp_seconds', 'tmi_backup_pgbackrest_last_size_bytes',
    'tmi_backup_max_age_seconds{kind="logical"}', 'tmi_backup_max_age_seconds{kind="pgbackrest"}',
    'tmi_replication_standbys_expected', 'tmi_auth_failures_total', 'tmi_textfile_timestamp_seconds',
)


@pytest.fixture(scope='module')
def config(host):
    settings = host.file(CONFIG)
    assert settings.exists, '%s is missing: the tmi_metrics role did not converge on this host' % CONFIG
    return json.loads(settings.content_string)


def systemd_runs(host):
    return host.file('/proc/1/comm').content_string.strip() == 'systemd'


def parse(text):
    samples = {}
    for line in text.splitlines():
        if line.startswith('#'):
            continue
        match = SAMPLE.match(line)
        assert match, 'not a sample line: %r' % line
        samples[match.group(1)] = float(match.group(2))
    return samples


def run_once(host, config):
    """One run of the service: through systemd when it runs, else its ExecStart as its User."""
    if systemd_runs(host):
        host.run_expect([0], 'systemctl start tmi-metrics.service')
    else:
        unit = host.file(SERVICE).content_string
        user = re.search(r'^User=(.+)$', unit, re.M).group(1)
        command = re.search(r'^ExecStart=(.+)$', unit, re.M).group(1)
        result = host.run('runuser -u %s -- %s' % (shlex.quote(user), command))
        assert result.rc == 0, result.stderr
    textfile = host.file(config['textfile'])
    assert textfile.mode == 0o644
    return parse(textfile.content_string)


@pytest.fixture(scope='module')
def logical_backup(host, config):
    """The newest verified dump (one is made when the host has none yet): its path."""
    folder = config['logical_backup']['dir']
    listing = 'ls -1 %s | grep -E "^%s_[0-9]{8}_[0-9]{6}[.].*[.]dump$" | sort | tail -n 1' % (
        shlex.quote(folder), re.escape(config['logical_backup']['prefix']))
    if not host.run(listing).stdout.strip():
        host.run_expect([0], BACKUP)
    name = host.run(listing).stdout.strip()
    assert name
    return '%s/%s' % (folder, name)


def test_the_timer_is_enabled(host):
    assert host.file(SERVICE).exists and host.file(TIMER).exists
    assert 'OnUnitActiveSec=5min' in host.file(TIMER).content_string
    if systemd_runs(host):
        assert host.run('systemctl is-enabled tmi-metrics.timer').stdout.strip() == 'enabled'
        assert host.run('systemctl is-active tmi-metrics.timer').stdout.strip() == 'active'
    else:
        link = host.file(TIMER_LINK)
        assert link.is_symlink and link.linked_to == TIMER


def test_one_run_writes_every_metric(host, config, logical_backup):
    samples = run_once(host, config)
    missing = [name for name in CONTRACT if name not in samples]
    assert missing == []
    assert samples['tmi_schema_migration_version'] == 8
    assert samples['tmi_schema_migration_dirty'] == 0
    assert samples['tmi_schema_valid'] == 1
    assert samples['tmi_replication_standbys_expected'] == 0
    assert samples['tmi_backup_logical_last_size_bytes'] == host.file(logical_backup).size
    assert samples['tmi_backup_pgbackrest_last_size_bytes'] > 0
    assert samples['tmi_backup_max_age_seconds{kind="logical"}'] == config['max_age_seconds']['logical']
    errors = dict((k, v) for k, v in samples.items() if k.startswith('tmi_metrics_source_error'))
    assert errors == dict(('tmi_metrics_source_error{source="%s"}' % s, 0) for s in
                          ('migration', 'schema_validation', 'backup_logical', 'backup_pgbackrest', 'auth_log'))
    # Nothing but the textfile in the folder: the temporary file was renamed.
    assert host.file(config['textfile']).user == 'postgres'
    leftovers = host.run('ls -A %s' % shlex.quote(config['textfile'].rsplit('/', 1)[0])).stdout.split()
    assert [name for name in leftovers if name.endswith('.tmp')] == []
    state = host.file(config['auth_log']['state_file'])
    assert (state.user, state.mode) == ('postgres', 0o600)

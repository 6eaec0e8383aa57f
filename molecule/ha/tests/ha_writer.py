# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HA drill's writer, which commits as TMI does through the .env file, and its view of the Patroni cluster.

It commits one row of TMI's users table every ~50 ms as the .env's user, over TLS, to the .env's host and port
(the proxy), and records each acknowledged row with the time of its acknowledgement, and each outage: the time of
the first failure and the time of the next acknowledged commit. The container names of the scenario resolve only
inside the containers (their /etc/hosts), so the connection goes to loopback (hostaddr) under the .env's host
name: the address the proxy listens on for the whole scenario.
"""

import json
import os
import re
import subprocess
import sys
import threading
import time

import psycopg2
import pytest

# The dr scenario's .env reader (read-only here: that scenario owns it).
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'dr', 'tests'))

from test_dr import parse_env, utc_now  # noqa: E402,F401  pylint: disable=unused-import

# The drill's tests, and the checks that run site.yml on the whole cluster (minutes each): `make drill-ha` runs
# them, `make test` leaves them out to stay within its time.
drill_only = pytest.mark.skipif(not os.environ.get('TMI_HA_DRILL'), reason='the drill runs with TMI_HA_DRILL=1 (make drill-ha)')

ROW_EMAIL = re.compile(r'^ha-(\d+)@example\.org$')
PROJECT = os.environ.get('MOLECULE_PROJECT_DIRECTORY', '')
# The cluster's PostgreSQL version: the image's platform version, 15 on Debian 12 (MOLECULE_SYSTEMD_IMAGE and
# TMI_HA_PG_VERSION together run the scenario on another release: molecule.yml's head).
PG_VERSION = os.environ.get('TMI_HA_PG_VERSION', '15')
PATRONI_UNIT = 'patroni@%s-main' % PG_VERSION
PATRONI_CONFIG = '/etc/patroni/%s-main.yml' % PG_VERSION
DATA_DIR = '/var/lib/postgresql/%s/main' % PG_VERSION
CONF_DIR = '/etc/postgresql/%s/main' % PG_VERSION
PATRONICTL = ['runuser', '-u', 'postgres', '--', 'patronictl', '-c', PATRONI_CONFIG]


def run_playbook(name, *options, expect_rc=0, **extra):
    """Runs one of the collection's playbooks on the scenario's inventory as an operator does; keeps its output."""
    argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
            os.path.join(PROJECT, 'playbooks', name)] + list(options)
    if extra:
        argv += ['-e', json.dumps(extra)]
    result = subprocess.run(argv, capture_output=True, text=True, env=dict(os.environ, NO_COLOR='1'), check=False)
    log = os.path.join(PROJECT, 'build', 'ha-%s-%s.log' % (os.path.splitext(name)[0], time.strftime('%Y%m%dT%H%M%S')))
    os.makedirs(os.path.dirname(log), exist_ok=True)
    with open(log, 'w') as f:
        f.write(result.stdout + result.stderr)
    assert result.returncode == expect_rc, '%s ended with %d (whole output: %s):\n%s\n%s' % (
        name, result.returncode, log, result.stdout[-4000:], result.stderr[-2000:])
    return result.stdout + result.stderr


def write_measured(name, title, measured):
    """Writes a drill's measurements to build/NAME in the checkout and prints them."""
    path = os.path.join(PROJECT, 'build', name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        json.dump(measured, f, indent=2, sort_keys=True)
    print('\n%s: %s' % (title, json.dumps(measured, indent=2, sort_keys=True)))


def docker(*args, check=True):
    return subprocess.run(['docker'] + list(args), check=check, capture_output=True, text=True)


def members(container):
    """The cluster's members as patronictl on that container sees them ({} when it cannot tell)."""
    result = docker('exec', container, *PATRONICTL, 'list', '-f', 'json', check=False)
    return dict((m['Member'], m) for m in json.loads(result.stdout)) if result.returncode == 0 else {}


def leader(container):
    found = [n for n, m in members(container).items() if m['Role'] == 'Leader' and m['State'] == 'running']
    return found[0] if found else None


def wait_for(what, check, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError('%s: not within %d s' % (what, seconds))


def connect(env, timeout=3):
    return psycopg2.connect(host=env['POSTGRES_HOST'], hostaddr='127.0.0.1', port=int(env['POSTGRES_PORT']),
                            user=env['POSTGRES_USER'], password=env['POSTGRES_PASSWORD'], dbname=env['POSTGRES_DB'],
                            sslmode=env['POSTGRES_SSLMODE'], connect_timeout=timeout)


class Writer(threading.Thread):
    """Commits rows until stopped; reconnects after a failure and records the outage."""

    def __init__(self, env, first=1, pause=0.05):
        super().__init__(daemon=True)
        self.env = env
        self.next = first
        self.pause = pause
        self.acked = []      # (n, acknowledged at)
        self.outages = []    # [failed at, next acknowledged at or None, error text]
        self._stop_event = threading.Event()

    def run(self):
        conn = None
        while not self._stop_event.is_set():
            try:
                if conn is None:
                    conn = connect(self.env)
                    conn.autocommit = True
                with conn.cursor() as cur:
                    cur.execute('INSERT INTO users (email, name) VALUES (%s, %s)',
                                ('ha-%d@example.org' % self.next, 'HA drill row %d' % self.next))
                now = utc_now()
                self.acked.append((self.next, now))
                if self.outages and self.outages[-1][1] is None:
                    self.outages[-1][1] = now
                self.next += 1
                time.sleep(self.pause)
            except psycopg2.Error as exc:
                # The row was not acknowledged: it may or may not be committed, and it is not counted.
                if not self.outages or self.outages[-1][1] is not None:
                    self.outages.append([utc_now(), None, str(exc).strip().splitlines()[0] if str(exc) else repr(exc)])
                self.next += 1
                try:
                    if conn is not None:
                        conn.close()
                except psycopg2.Error:
                    pass
                conn = None
                time.sleep(0.2)
        if conn is not None:
            conn.close()

    def acked_after(self, moment):
        return [n for n, at in self.acked if at > moment]

    def stop(self):
        self._stop_event.set()
        self.join(30)

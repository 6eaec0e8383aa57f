# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: Patroni failover time and rows lost, by ttl/loop_wait and synchronous mode (issue 12).

    make setup && PATH=$PWD/.venv/bin:$PATH molecule converge -s ha
    .venv/bin/python bench/ha_failover.py [--runs 3] [--configs 30/10/10/on,20/5/5/on,30/10/10/off]

On the converged Molecule scenario `ha` (two Patroni members, etcd on three
containers, HAProxy on tmi-ha-3). Each config is ttl/loop_wait/retry_timeout/
synchronous_mode, set in the cluster's shared configuration with patronictl
edit-config; the first one is the baseline (Patroni's defaults with
synchronous mode, as the role sets them). Each run: a writer commits a row
every 50 ms as tmi_app over TLS through the proxy with the .env's values
(molecule/ha/tests/ha_writer.py), the leader's container is killed
(`docker kill`), and the run measures the time until the writer's next
acknowledged commit and the acknowledged rows missing on the new leader; the
old leader's container is then started again and rejoins (the next run kills
the other member). The shared configuration is put back to the first config
at the end. Prints one line per run and the medians. Not a test: pytest does
not collect bench/.
"""

import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'molecule', 'ha', 'tests'))

from ha_writer import PATRONICTL, ROW_EMAIL, Writer, docker, leader, members, parse_env, utc_now, wait_for  # noqa: E402

MEMBERS = {'tmi-ha-1': 25451, 'tmi-ha-2': 25452}


def streaming(leader_name):
    """Whether the standby streams from the leader: Patroni 3.0 lists a replica as running before it does."""
    out = docker('exec', leader_name, 'runuser', '-u', 'postgres', '--', 'psql', '-X', '-A', '-t', '-q', '-p',
                 str(MEMBERS[leader_name]), '-d', 'postgres', '-c',
                 "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'", check=False).stdout
    return out.strip() == '1'


def settle(sync):
    """Both members running, one leader, the other streaming from it (with synchronous mode, as the synchronous
    standby): a run never starts while the standby still catches up after its rejoin."""
    def ready():
        for via in MEMBERS:
            found = members(via)
            if len(found) == 2 and all(m['State'] in ('running', 'streaming') for m in found.values()):
                roles = sorted(m['Role'] for m in found.values())
                head = [name for name, m in found.items() if m['Role'] == 'Leader']
                if roles == ['Leader', 'Sync Standby' if sync else 'Replica'] and streaming(head[0]):
                    return via
        return None
    return wait_for('the cluster to settle', ready, 240)


def configure(config, via):
    ttl, loop_wait, retry, sync = config.split('/')
    docker('exec', via, *PATRONICTL, 'edit-config', '--force', '-s', 'ttl=%s' % ttl, '-s', 'loop_wait=%s' % loop_wait,
           '-s', 'retry_timeout=%s' % retry, '-s', 'synchronous_mode=%s' % ('true' if sync == 'on' else 'false'))
    return sync == 'on'


def present(member, numbers):
    sql = "SELECT email FROM users WHERE email LIKE 'ha-%'"
    out = docker('exec', member, 'runuser', '-u', 'postgres', '--', 'psql', '-X', '-A', '-t', '-q', '-p',
                 str(MEMBERS[member]), '-d', 'tmi', '-c', sql).stdout
    found = set(int(ROW_EMAIL.match(line).group(1)) for line in out.split())
    return [n for n in numbers if n not in found]


def one_run(env, sync):
    via = settle(sync)
    old = leader(via)
    new = [m for m in MEMBERS if m != old][0]
    writer = Writer(env, first=int(time.time() * 100))
    writer.start()
    wait_for('the writer commits', lambda: len(writer.acked) > 40, 30)
    killed = utc_now()
    docker('kill', old)
    outage = wait_for('the writer fails, then commits again',
                      lambda: next((o for o in writer.outages if o[0] >= killed and o[1] is not None), None), 180)
    time.sleep(1)
    writer.stop()
    lost = present(new, [n for n, _at in writer.acked])
    docker('start', old)
    return {'from': old, 'seconds': round((outage[1] - killed).total_seconds(), 1), 'acked': len(writer.acked),
            'lost': len(lost)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--configs', default='30/10/10/on,20/5/5/on,30/10/10/off')
    args = parser.parse_args()
    configs = args.configs.split(',')
    env = parse_env(docker('exec', 'tmi-ha-1', 'cat', '/etc/tmi/tmi.env').stdout)
    print('# %d cores, commit %s, %s, load average at start: %s' % (
        os.cpu_count(), subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True, check=False).stdout.strip(),
        datetime.date.today().isoformat(), open('/proc/loadavg').read().split()[:3]))
    summary = []
    try:
        for config in configs:
            # Any member's patronictl edits the shared configuration in etcd.
            sync = configure(config, 'tmi-ha-1')
            results = []
            for run in range(1, args.runs + 1):
                result = one_run(env, sync)
                results.append(result)
                print('%s\trun %d\tkilled %s\tnext commit after %.1f s\tacknowledged %d\tlost %d' % (
                    config, run, result['from'], result['seconds'], result['acked'], result['lost']), flush=True)
            summary.append((config, statistics.median(r['seconds'] for r in results),
                            sum(r['lost'] for r in results), sum(r['acked'] for r in results)))
    finally:
        settle(configure(configs[0], 'tmi-ha-1'))
    print('\nconfig (ttl/loop_wait/retry_timeout/synchronous)\tmedian failover s\trows lost / acknowledged')
    for config, seconds, lost, acked in summary:
        print('%s\t%.1f\t%d / %d' % (config, seconds, lost, acked))


if __name__ == '__main__':
    main()

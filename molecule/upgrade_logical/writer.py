# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's stand-in during the logical-upgrade drill: a row every ~50 ms, as tmi_app over TLS.

Reads the connection from TMI's .env in the source container (docker exec), as TMI would; on a refused
connection or a lost session it reads the file again, so it follows the cut-over to the target. Logs one JSON
line per acknowledged row (its email, the time, the host:port that acknowledged it) and per refused attempt.
Waits for TMI's .env to exist, stops when the stop file appears (after 2 s more of writing).
"""

import argparse
import json
import os
import subprocess
import time

import psycopg2

INTERVAL = 0.05


def read_env(container):
    out = subprocess.run(['docker', 'exec', container, 'cat', '/etc/tmi/tmi.env'], check=True, capture_output=True,
                         text=True).stdout
    values = dict(line.split('=', 1) for line in out.splitlines() if '=' in line and not line.startswith('#'))
    return dict(host=values['POSTGRES_HOST'], port=int(values['POSTGRES_PORT']), user=values['POSTGRES_USER'],
                password=values['POSTGRES_PASSWORD'], dbname=values['POSTGRES_DB'], sslmode=values['POSTGRES_SSLMODE'])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--container', required=True)
    parser.add_argument('--log', required=True)
    parser.add_argument('--stop', required=True)
    args = parser.parse_args()
    if os.path.exists(args.stop):
        os.unlink(args.stop)
    stop_at = None
    run, seq = int(time.time()), 0
    conn = params = None
    # A new log each converge: molecule keeps its ephemeral folder across destroy and create.
    with open(args.log, 'w', buffering=1) as log:
        log.write(json.dumps({'start': time.time()}) + '\n')
        while stop_at is None or time.time() < stop_at:
            if stop_at is None and os.path.exists(args.stop):
                stop_at = time.time() + 2
            try:
                if conn is None:
                    params = read_env(args.container)
                    conn = psycopg2.connect(connect_timeout=3, **params)
                    conn.autocommit = True
                seq += 1
                email = 'w%d-%06d@writer.test' % (run, seq)
                with conn.cursor() as cur:
                    cur.execute("INSERT INTO users (email, name) VALUES (%s, 'Writer')", [email])
                at = '%s:%s' % (params['host'], params['port'])
                log.write(json.dumps({'ack': email, 't': time.time(), 'at': at}) + '\n')
            except (psycopg2.Error, subprocess.CalledProcessError, KeyError) as error:
                log.write(json.dumps({'refused': time.time(), 'error': str(error).strip()[:200]}) + '\n')
                if conn is not None:
                    try:
                        conn.close()
                    except psycopg2.Error:
                        pass
                conn = None
            time.sleep(INTERVAL)
        log.write(json.dumps({'stop': time.time(), 'attempts': seq}) + '\n')


if __name__ == '__main__':
    main()

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi-metrics: write TMI's own metrics for node-exporter's textfile collector.

Installed by the tmi.postgresql.tmi_metrics role and run by its systemd timer
as the postgres user. It connects over the Unix socket (peer: no password),
runs `pgbackrest info` when a stanza is configured, and writes the textfile
atomically. The decisions and the parsing are the collection's module_utils
(tmi_metrics, schema_validation, ...), copied beside this program.

    python3 /usr/local/lib/tmi-metrics/tmi-metrics.py --config /etc/tmi-postgresql/tmi-metrics.json

Exit status: 0 when the file was written (a source that failed is in the file
as tmi_metrics_source_error{source="..."} 1 and on stderr), 1 otherwise.
"""

import argparse
import json
import os
import subprocess
import sys
import time

# The copied ansible_collections tree lives beside this program (or where
# the configuration says).
LIB_DIR = os.path.dirname(os.path.realpath(__file__))


def main():
    parser = argparse.ArgumentParser(description='Write TMI metrics for the node-exporter textfile collector.')
    parser.add_argument('--config', default='/etc/tmi-postgresql/tmi-metrics.json')
    args = parser.parse_args()
    with open(args.config) as f:
        config = json.load(f)
    sys.path.insert(0, config.get('lib_dir') or LIB_DIR)

    import psycopg2
    from ansible_collections.tmi.postgresql.plugins.module_utils.schema_definition import load_definition
    from ansible_collections.tmi.postgresql.plugins.module_utils.schema_validation import validate
    from ansible_collections.tmi.postgresql.plugins.module_utils.tmi_metrics import collect, write_text

    database = config['database']

    def connect():
        conn = psycopg2.connect(host=database['socket_dir'], port=database['port'], dbname=database['name'],
                                application_name='tmi-metrics', connect_timeout=10)
        conn.autocommit = True
        return conn

    def pgbackrest_info(stanza):
        pgbackrest = config['pgbackrest']
        proc = subprocess.run([pgbackrest.get('command', 'pgbackrest'), '--config', pgbackrest['config'],
                               '--stanza', stanza, '--output=json', 'info'],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120, check=False)
        if proc.returncode != 0:
            raise RuntimeError('pgbackrest info exited %d: %s' % (
                proc.returncode, proc.stderr.decode('utf-8', 'replace').strip()[:300]))
        return proc.stdout

    text, errors = collect(config, connect, pgbackrest_info, time.time, time.monotonic,
                           load_definition=load_definition, validate=validate)
    for source, message in sorted(errors.items()):
        print('tmi-metrics: source %s failed: %s' % (source, message), file=sys.stderr)
    write_text(config['textfile'], text, 0o644)
    return 0


if __name__ == '__main__':
    sys.exit(main())

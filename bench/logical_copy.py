# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark: the initial copy of logical replication for about N GB of TMI rows (issue 14, upgrade_logical.yml).

    .venv/bin/python bench/logical_copy.py [GB, default 1]

Two throwaway servers of the host's PostgreSQL (the integration tests'), the source with wal_level=logical and
TMI's schema filled with N million threat models of about 1 kB; a publication of TMI's tables but
schema_migrations, a subscription on the target, the time until every table is in state r. Prints one JSON
line (bytes, load_seconds, copy_seconds, rows on the target). Not a test: pytest does not collect bench/.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests'))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'integration'))
# conftest puts the checkout's collection on sys.path.
import conftest  # noqa: E402,F401 pylint: disable=unused-import
from pgserver import PgServer, wait_for  # noqa: E402
from backup_helpers import load_tmi  # noqa: E402
gb = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
source = PgServer({'wal_level': 'logical', 'max_wal_size': "'4GB'"}).start()
target = PgServer({'max_wal_size': "'4GB'"}).start()
try:
    db = source.create_database()
    load_tmi(source, db)
    target.query('postgres', 'CREATE DATABASE "%s"' % db)
    conn = target.connect(db)
    conn.cursor().execute(source.schema_dump(db))
    conn.close()
    t0 = time.time()
    for i in range(int(gb * 10)):
        source.query(db, "INSERT INTO threat_models (owner_email, name, description) "
                         "SELECT 'user' || (1 + g %% 20) || '@example.org', 'Bulk ' || g, repeat(md5(g::text), 30) "
                         "FROM generate_series(%s, %s) g", [i * 100000 + 1, (i + 1) * 100000])
    load = time.time() - t0
    size = source.query(db, 'SELECT pg_database_size(current_database())')[0][0]
    tables = source.query(db, "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                              "AND tablename <> 'schema_migrations'")
    source.query(db, 'CREATE PUBLICATION p FOR TABLE ' + ','.join(r[0] for r in tables))
    t1 = time.time()
    target.query(db, "CREATE SUBSCRIPTION s CONNECTION 'host=%s port=%d dbname=%s user=postgres' PUBLICATION p" % (source.socketdir, source.port, db))
    wait_for(lambda: target.query(db, "SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'")[0][0],
             timeout=3600, interval=1)
    copy = time.time() - t1
    rows = target.query(db, 'SELECT count(*) FROM threat_models')[0][0]
    print(json.dumps({'bytes': size, 'load_seconds': round(load, 1), 'copy_seconds': round(copy, 1),
                      'target_threat_models': rows}))
finally:
    target.stop()
    source.stop()

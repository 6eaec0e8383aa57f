# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The database role: one read of every database it looks at, and a write only where the read found a difference."""

import os
import shutil
import uuid

import pytest

from backup_helpers import AS_ROOT, changed_count, failed_task, make_open_dir, run_playbook, server_role_vars

PLAYBOOK = os.path.join(os.path.dirname(__file__), 'database_role.yml')
PUBLIC_CLOSED = ("SELECT NOT has_schema_privilege('public', 'public', 'CREATE') "
                 "AND NOT has_schema_privilege('public', 'public', 'USAGE')")

pytestmark = pytest.mark.skipif(not AS_ROOT, reason='the role becomes postgres and needs root')


@pytest.fixture
def names(pg_server):
    """The test's own owner role, database and second database (whose schema public the role closes too)."""
    suffix = uuid.uuid4().hex[:8]
    names = dict(owner='owner_' + suffix, db='tmi_' + suffix, other='other_' + suffix, work=make_open_dir())
    pg_server.query('postgres', 'CREATE DATABASE "%s"' % names['other'])
    names['role_vars'] = server_role_vars(
        pg_server,
        tmi_postgresql_database=names['db'],
        tmi_postgresql_owner=names['owner'],
        # Not the throwaway server's postgres and template1, which the other tests use.
        database_public_schema_closed_in=[names['other']],
    )
    yield names
    pg_server.drop_database(names['db'])
    pg_server.drop_database(names['other'])
    pg_server.query('postgres', 'DROP ROLE IF EXISTS "%s"' % names['owner'])
    shutil.rmtree(names['work'], ignore_errors=True)


def run(names):
    rc, report = run_playbook(PLAYBOOK, names['work'], names['role_vars'])
    assert rc == 0, failed_task(report)
    return report


def module_runs(report):
    """Names of the role's tasks that ran a community.postgresql module (they return their queries)."""
    names = []
    for play in report['plays']:
        for task in play['tasks']:
            result = task['hosts']['localhost']
            items = result.get('results', [result])
            if any('queries' in item and not item.get('skipped') for item in items):
                names.append(task['task']['name'].split(' : ')[-1])
    return names


def test_a_first_run_creates_everything_and_a_second_only_reads(pg_server, names):
    assert changed_count(run(names)) > 0
    assert pg_server.query('postgres', 'SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s',
                           [names['db']]) == [(names['owner'],)]
    assert pg_server.query(names['db'], PUBLIC_CLOSED) == [(True,)]
    assert pg_server.query(names['other'], PUBLIC_CLOSED) == [(True,)]
    report = run(names)
    assert changed_count(report) == 0, report['stats']
    assert module_runs(report) == []


@pytest.mark.parametrize('database, statement, check', [
    ('other', 'GRANT CREATE ON SCHEMA public TO PUBLIC', PUBLIC_CLOSED),
    ('db', 'GRANT USAGE ON SCHEMA public TO PUBLIC', PUBLIC_CLOSED),
    ('db', 'GRANT CONNECT ON DATABASE "{db}" TO PUBLIC',
     "SELECT NOT has_database_privilege('public', current_database(), 'CONNECT')"),
    ('db', 'GRANT SELECT ON monitoring.pg_stat_statements TO PUBLIC',
     "SELECT NOT has_table_privilege('public', 'monitoring.pg_stat_statements', 'SELECT')"),
    ('db', 'ALTER ROLE "{owner}" CONNECTION LIMIT 3', "SELECT rolconnlimit = 0 FROM pg_roles WHERE rolname = '{owner}'"),
])
def test_a_change_by_hand_is_found_and_undone(pg_server, names, database, statement, check):
    run(names)
    pg_server.query(names[database], statement.format(**names))
    assert pg_server.query(names[database], check.format(**names)) == [(False,)]
    report = run(names)
    assert changed_count(report) == 1, report['stats']
    assert pg_server.query(names[database], check.format(**names)) == [(True,)]


def test_an_extension_left_at_an_older_version_is_updated_and_its_views_closed(pg_server, names):
    # A cluster upgraded from PostgreSQL 13 by pg_upgrade keeps pg_stat_statements 1.8, which has no
    # pg_stat_statements_info: the role brings the extension to this server's version and closes both views.
    # PostgreSQL 13's own version is 1.8 and it has no pg_stat_statements_info (from 14): there the older
    # version is 1.7 and pg_stat_statements the one view.
    before_14 = pg_server.version_num() < 140000
    older, views = ('1.7', ('pg_stat_statements',)) if before_14 else \
        ('1.8', ('pg_stat_statements', 'pg_stat_statements_info'))
    run(names)
    pg_server.query(names['db'], 'DROP EXTENSION pg_stat_statements')
    pg_server.query(names['db'], "CREATE EXTENSION pg_stat_statements WITH SCHEMA monitoring VERSION '%s'" % older)
    assert pg_server.query(names['db'], "SELECT to_regclass('monitoring.pg_stat_statements_info') IS NULL") == [(True,)]
    report = run(names)
    assert changed_count(report) > 0
    assert pg_server.query(names['db'], "SELECT extversion = (SELECT default_version FROM pg_available_extensions "
                                        "WHERE name = 'pg_stat_statements') FROM pg_extension "
                                        "WHERE extname = 'pg_stat_statements'") == [(True,)]
    for view in views:
        assert pg_server.query(names['db'], "SELECT NOT has_table_privilege('public', 'monitoring.%s', 'SELECT') "
                                            "AND has_table_privilege('pg_read_all_stats', 'monitoring.%s', 'SELECT')"
                               % (view, view)) == [(True,)]
    assert changed_count(run(names)) == 0

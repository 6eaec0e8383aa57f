# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate a live database against a definition: read, canonicalise, compare.

One transaction, always rolled back: the catalog is read from one snapshot
and the temporary objects made for canonicalisation vanish. The number of
statements does not depend on the number of tables.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.tmi.postgresql.plugins.module_utils.pg_session import Session
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_canonical import canonicalize
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_catalog import read_catalog
from ansible_collections.tmi.postgresql.plugins.module_utils.schema_compare import (
    ERROR,
    compare,
    summarize,
    table_report,
)


def validate(conn, definition, exact_counts=False, report_matches=True):
    """Return the result dict of tmi.postgresql.schema_validate (without 'changed').

    conn is an autocommit connection.
    """
    started = time.monotonic()
    session = Session(conn)
    with session.rolled_back('BEGIN ISOLATION LEVEL REPEATABLE READ'):
        server_version = session.rows('SHOW server_version')[0][0]
        catalog = read_catalog(session, definition.schema, exact_counts=exact_counts)
        canonical = canonicalize(session, definition)
    findings = compare(definition, canonical, catalog, report_matches=report_matches)
    summary = summarize(definition, catalog, findings)
    return dict(
        valid=summary['valid'],
        summary=summary,
        findings=findings,
        errors=[f for f in findings if f['severity'] == ERROR],
        tables=table_report(definition, catalog, findings),
        migration=dict(expected_version=definition.version, table_exists=catalog.migration.table_exists,
                       version=catalog.migration.version, dirty=catalog.migration.dirty),
        server_version=server_version,
        schema=definition.schema,
        queries=session.statements,
        duration_ms=int((time.monotonic() - started) * 1000),
    )


def summary_line(result):
    s = result['summary']
    return ('schema %s: %d of %d tables present, %d errors, %d warnings, %d objects match (migration version %s%s)'
            % ('valid' if s['valid'] else 'INVALID', s['tables_present'], s['tables_expected'], s['errors'],
               s['warnings'], s['matched'], result['migration']['version'],
               ', dirty' if result['migration']['dirty'] else ''))

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""TMI's own metrics for node-exporter's textfile collector (role tmi_metrics).

Everything the timer program on the database host decides or parses is here,
free of Ansible imports: the program (roles/tmi_metrics/files/tmi-metrics)
only connects to PostgreSQL, runs pgBackRest and calls collect(). The role
copies this file, and the module_utils it imports, to the host.

Each source (migration, schema_validation, backup_logical, backup_pgbackrest,
auth_log) is read on its own: when one fails, its metrics are left out of
the file (never a made-up value) and ``tmi_metrics_source_error{source}`` is
1 for it, 0 for each source that worked. A source the configuration switches
off (no logical backups, no pgBackRest stanza on the host) has neither.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fnmatch
import json
import os
import re

from ansible_collections.tmi.postgresql.plugins.module_utils.atomic_file import write_atomically
from ansible_collections.tmi.postgresql.plugins.module_utils.backup_files import newest_backup
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_plan import check_version_rows
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import MigrationError
from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_info import parse_info

# name: (type, help). The order is the file's.
METRICS = (
    ('tmi_schema_migration_version', 'gauge', 'Migration version recorded in schema_migrations (golang-migrate).'),
    ('tmi_schema_migration_dirty', 'gauge', '1 when schema_migrations records a dirty (half-applied) migration.'),
    ('tmi_schema_valid', 'gauge', '1 when the database matches the schema definition, 0 when it does not.'),
    ('tmi_schema_validation_timestamp_seconds', 'gauge', 'When the last schema validation ran (Unix time).'),
    ('tmi_schema_validation_duration_seconds', 'gauge', 'Wall time of the last schema validation.'),
    ('tmi_backup_logical_last_timestamp_seconds', 'gauge',
     'Modification time of the newest verified logical backup file (Unix time).'),
    ('tmi_backup_logical_last_size_bytes', 'gauge', 'Size of the newest verified logical backup file.'),
    ('tmi_backup_pgbackrest_last_timestamp_seconds', 'gauge', 'Stop time of the newest pgBackRest backup (Unix time).'),
    ('tmi_backup_pgbackrest_last_size_bytes', 'gauge',
     'Repository size of the newest pgBackRest backup set (compressed, all files it needs).'),
    ('tmi_backup_max_age_seconds', 'gauge', 'Age of the newest backup the schedule allows, margin included.'),
    ('tmi_replication_standbys_expected', 'gauge', 'Standbys the inventory expects (0 on a single host).'),
    ('tmi_auth_failures_total', 'counter', 'Failed authentications counted in the PostgreSQL server log.'),
    ('tmi_metrics_source_error', 'gauge', '1 when a source of these metrics could not be read this run.'),
    ('tmi_textfile_timestamp_seconds', 'gauge', 'When tmi-metrics last wrote this file (Unix time).'),
)
_KNOWN = dict((name, (kind, text)) for name, kind, text in METRICS)

SOURCES = ('migration', 'schema_validation', 'backup_logical', 'backup_pgbackrest', 'auth_log')

# The FATAL line of a failed authentication, with or without the SQLSTATE that
# log_error_verbosity=verbose adds: "FATAL:  28P01: password authentication
# failed for user ...", "FATAL:  no pg_hba.conf entry for host ...", and the
# other methods' "<method> authentication failed for user ..." (peer, ident,
# cert, ldap, radius, ...). Messages in English (lc_messages C or en).
_SEVERITY = re.compile(r'\b(DEBUG[1-5]?|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC|STATEMENT|DETAIL|HINT|CONTEXT|'
                       r'LOCATION):  ')
_AUTH_FAILURE = re.compile(r'(?:[0-9A-Z]{5}: )?(?:[\w-]+ authentication failed for user |'
                           r'no pg_hba\.conf entry for )')
# Bytes of a log file's start kept in the state, to tell a file that was
# truncated and written again (log_truncate_on_rotation) from one that grew.
HEAD_BYTES = 128


class SourceError(Exception):
    """A source of metrics could not be read; the message says why."""


def is_auth_failure(line):
    """Whether a server log line is the FATAL line of a failed authentication.

    The first severity word of the line decides, so a logged statement that
    quotes such a message does not count, nor does a continuation line (a
    statement's next lines start with a tab).
    """
    if line[:1] in (' ', '\t'):
        return False
    match = _SEVERITY.search(line)
    if not match or match.group(1) != 'FATAL':
        return False
    return _AUTH_FAILURE.match(line, match.end()) is not None


def log_file_glob(log_filename):
    """A glob of the files PostgreSQL's log_filename (strftime escapes) makes: postgresql-%a.log -> postgresql-*.log."""
    pattern = re.sub(r'%[^%]', '*', log_filename.replace('%%', '\x00'))
    pattern = re.sub(r'\*+', '*', pattern).replace('\x00', '%')
    if '/' in pattern:
        raise SourceError('log_filename %r names a folder; tmi-metrics reads the files of log_directory only'
                          % log_filename)
    return pattern


def scan_log(path, previous):
    """Count the auth failures written to one log file since previous ({inode, offset, head}, or None).

    Returns (new count, new file state). The file is read from the previous
    offset when it is the same file (inode and first bytes) and has not
    shrunk; from its start otherwise (a new file, or one that
    log_truncate_on_rotation emptied). Only whole lines are counted: the
    offset stops after the last newline.
    """
    with open(path, 'rb') as f:
        st = os.fstat(f.fileno())
        head = f.read(HEAD_BYTES)
        start = 0
        if previous and previous.get('inode') == st.st_ino and previous.get('offset', 0) <= st.st_size:
            old_head = previous.get('head', '').encode('latin-1')
            if head[:len(old_head)] == old_head:
                start = previous['offset']
        f.seek(start)
        data = f.read()
    end = data.rfind(b'\n') + 1
    count = sum(1 for line in data[:end].decode('utf-8', errors='replace').split('\n') if is_auth_failure(line))
    # The head as latin-1 text: JSON keeps any byte that way.
    return count, dict(inode=st.st_ino, offset=start + end, head=head[:min(HEAD_BYTES, start + end)].decode('latin-1'))


def scan_logs(state, directory, pattern):
    """Advance the auth failure counter over the log files of directory matching pattern.

    state: {'total': int, 'files': {name: file state}} (or {} the first
    time). Returns the new state; its total never decreases. Files that are
    gone are forgotten.
    """
    total = int(state.get('total', 0))
    known = state.get('files', {})
    files = {}
    try:
        names = sorted(n for n in os.listdir(directory) if fnmatch.fnmatchcase(n, pattern))
    except OSError as e:
        raise SourceError('cannot list the log folder %s: %s' % (directory, e.strerror))
    for name in names:
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        try:
            count, files[name] = scan_log(path, known.get(name))
        except OSError as e:
            if e.errno == errno.ENOENT:
                continue
            raise SourceError('cannot read the log file %s: %s' % (path, e.strerror))
        total += count
    return dict(total=total, files=files)


def read_state(path):
    """The state file's content, or {} when there is none yet or it is unreadable JSON."""
    try:
        with open(path) as f:
            state = json.load(f)
    except (OSError, IOError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def write_text(path, text, mode):
    """Write text to path through a temporary file in the same folder and a rename: readers see old or new."""
    write_atomically(path, text.encode('utf-8'), mode)


def migration_metrics(rows):
    """tmi_schema_migration_version and _dirty from the rows of schema_migrations."""
    try:
        version, dirty = check_version_rows(rows)
    except MigrationError as e:  # a row golang-migrate never writes
        raise SourceError(str(e))
    return {'tmi_schema_migration_version': version, 'tmi_schema_migration_dirty': int(dirty)}


def newest_logical_backup(directory, prefix, database, cluster):
    """(mtime, size) of the newest verified dump of database and cluster in directory.

    A dump gets its final name PREFIX_STAMP.DATABASE.CLUSTER.dump only after
    the backup script read it back (tmi-pg-backup); the newest is chosen by
    the stamp in its name, as the restore playbooks choose it.
    """
    try:
        names = os.listdir(directory)
    except OSError as e:
        raise SourceError('cannot list the backup folder %s: %s' % (directory, e.strerror))
    name = newest_backup(names, prefix, database, cluster)
    if not name:
        raise SourceError('no verified logical backup of %s in %s yet' % (database, directory))
    st = os.stat(os.path.join(directory, name))
    return int(st.st_mtime), st.st_size


def newest_pgbackrest_backup(raw, stanza):
    """(stop time, repository size) of the newest backup of stanza in `pgbackrest --output=json info`."""
    try:
        stanzas = parse_info(raw)
    except ValueError as e:
        raise SourceError('pgbackrest info did not print JSON: %s' % e)
    for entry in stanzas:
        if entry.get('name') != stanza:
            continue
        backups = entry.get('backup') or []
        if not backups:
            status = entry.get('status') or {}
            raise SourceError('stanza %s has no backup (%s)' % (stanza, status.get('message', 'no status')))
        newest = max(backups, key=lambda b: b.get('timestamp', {}).get('stop', 0))
        info = newest.get('info', {})
        return int(newest['timestamp']['stop']), int(info.get('repository', {}).get('size', info.get('size', 0)))
    raise SourceError('pgbackrest info does not know the stanza %s' % stanza)


def format_value(value):
    if isinstance(value, bool):
        return '1' if value else '0'
    if isinstance(value, int):
        return str(value)
    return repr(float(value))


def _labels(labels):
    if not labels:
        return ''
    escaped = ('%s="%s"' % (k, str(v).replace('\\', '\\\\').replace('"', '\\"').replace('\n', '\\n'))
               for k, v in sorted(labels.items()))
    return '{%s}' % ','.join(escaped)


def render(samples):
    """The textfile: samples [(name, labels or None, value)] grouped under their HELP and TYPE lines."""
    by_name = {}
    for name, labels, value in samples:
        if name not in _KNOWN:
            raise ValueError('unknown metric %s' % name)
        by_name.setdefault(name, []).append((labels, value))
    lines = []
    for name, kind, text in METRICS:
        if name not in by_name:
            continue
        lines.append('# HELP %s %s' % (name, text))
        lines.append('# TYPE %s %s' % (name, kind))
        for labels, value in by_name[name]:
            lines.append('%s%s %s' % (name, _labels(labels), format_value(value)))
    return '\n'.join(lines) + '\n'


class Collector(object):
    """One run: the samples so far and which source failed, with why."""

    def __init__(self):
        self.samples = []
        self.errors = {}

    def add(self, name, value, labels=None):
        self.samples.append((name, labels, value))

    def source(self, name, read):
        """Run read() (it returns {metric: value}); on SourceError or a driver error, record the failure."""
        try:
            values = read()
        except Exception as e:  # any failure of one source must leave the others alone
            self.errors[name] = '%s: %s' % (type(e).__name__, e) if not isinstance(e, SourceError) else str(e)
            return False
        for metric, value in values.items():
            self.add(metric, value)
        return True

    def finish(self, sources, now):
        for name in sources:
            self.add('tmi_metrics_source_error', int(name in self.errors), {'source': name})
        self.add('tmi_textfile_timestamp_seconds', int(now))
        return render(self.samples)


def config_sources(config):
    """The sources the configuration switches on, in SOURCES order."""
    on = {
        'migration': True,
        'schema_validation': bool(config.get('definition')),
        'backup_logical': bool(config.get('logical_backup')),
        'backup_pgbackrest': bool(config.get('pgbackrest')),
        'auth_log': bool(config.get('auth_log')),
    }
    return [s for s in SOURCES if on[s]]


def _quote_ident(name):
    return '"%s"' % name.replace('"', '""')


def collect(config, connect, pgbackrest_info, clock, monotonic, load_definition=None, validate=None):
    """One run of the program: the textfile's text and {source: error} of the sources that failed.

    connect() opens an autocommit connection to TMI's database (the program:
    psycopg2 over the socket, peer); pgbackrest_info(stanza) returns
    `pgbackrest --output=json info` of the stanza; clock and monotonic are
    time.time and time.monotonic; load_definition and validate are
    schema_definition's and schema_validation's (imported by the caller, so
    that this module and its tests need no driver).
    """
    collector = Collector()
    sources = config_sources(config)
    database = config['database']
    schema = database.get('schema') or 'public'
    state = {}

    def conn():
        if 'conn' not in state:
            state['conn'] = connect()
        return state['conn']

    def rows(sql, params=None):
        cur = conn().cursor()
        try:
            cur.execute(sql, params)
            return [tuple(r) for r in cur.fetchall()]
        finally:
            cur.close()

    def read_migration():
        table = '%s.schema_migrations' % _quote_ident(schema)
        if rows('SELECT to_regclass(%s) IS NOT NULL', (table,))[0][0] is not True:
            raise SourceError('database %s has no table %s: not migrated' % (database['name'], table))
        return migration_metrics(rows('SELECT version, dirty FROM %s' % table))

    def read_validation():
        if rows('SELECT pg_is_in_recovery()')[0][0]:
            # A hot standby cannot make the temporary tables; its primary reports.
            state['standby'] = True
            return {}
        with open(config['definition']) as f:
            definition = load_definition(json.load(f), config['definition'])
        definition.schema = schema
        started, began = clock(), monotonic()
        result = validate(conn(), definition, exact_counts=False, report_matches=False)
        return {'tmi_schema_valid': int(bool(result['valid'])),
                'tmi_schema_validation_timestamp_seconds': int(started),
                'tmi_schema_validation_duration_seconds': round(monotonic() - began, 3)}

    def read_logical():
        b = config['logical_backup']
        mtime, size = newest_logical_backup(b['dir'], b['prefix'], database['name'], b['cluster'])
        return {'tmi_backup_logical_last_timestamp_seconds': mtime, 'tmi_backup_logical_last_size_bytes': size}

    def read_pgbackrest():
        stanza = config['pgbackrest']['stanza']
        stop, size = newest_pgbackrest_backup(pgbackrest_info(stanza), stanza)
        return {'tmi_backup_pgbackrest_last_timestamp_seconds': stop, 'tmi_backup_pgbackrest_last_size_bytes': size}

    def read_auth_log():
        log = config['auth_log']
        new = scan_logs(read_state(log['state_file']), log['directory'], log_file_glob(log['filename']))
        write_text(log['state_file'], json.dumps(new, sort_keys=True), 0o600)
        return {'tmi_auth_failures_total': new['total']}

    readers = dict(migration=read_migration, schema_validation=read_validation, backup_logical=read_logical,
                   backup_pgbackrest=read_pgbackrest, auth_log=read_auth_log)
    try:
        for name in sources:
            collector.source(name, readers[name])
    finally:
        if 'conn' in state:
            state['conn'].close()
    if state.get('standby'):
        sources.remove('schema_validation')
    for kind in ('logical', 'pgbackrest'):
        if ('backup_' + kind) in sources and kind in config.get('max_age_seconds', {}):
            collector.add('tmi_backup_max_age_seconds', int(config['max_age_seconds'][kind]), {'kind': kind})
    collector.add('tmi_replication_standbys_expected', int(config.get('standbys_expected', 0)))
    return collector.finish(sources, clock()), collector.errors

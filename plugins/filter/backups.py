# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters over the logical backups: newest_backup, pg_restore_toc,
backup_script_result, row_count_comparison. The decisions are in
module_utils/backup_files.py; documentation in the .yml file of each filter
beside this one.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils import backup_files


def newest_backup(files, prefix, database, cluster=''):
    """files: find's files (dicts with path) or paths."""
    if not isinstance(files, (list, tuple)):
        raise AnsibleFilterError('newest_backup: expects a list of paths or of find results, got %s'
                                 % type(files).__name__)
    paths = [f['path'] if isinstance(f, dict) else f for f in files]
    return backup_files.newest_backup(paths, prefix, database, cluster or '')


def pg_restore_toc(lines):
    if isinstance(lines, str):
        lines = lines.splitlines()
    return backup_files.pg_restore_toc(lines)


def backup_script_result(run):
    """run: the registered result of the command task that ran the script."""
    if not isinstance(run, dict):
        raise AnsibleFilterError('backup_script_result: expects the registered result of a command task')
    return backup_files.backup_script_result(run.get('rc', -1), run.get('stdout', ''), run.get('stderr', ''),
                                             run.get('msg', ''))


def row_count_comparison(restored, live=None):
    return backup_files.row_count_comparison(restored or {}, live or {})


class FilterModule(object):
    def filters(self):
        return {
            'newest_backup': newest_backup,
            'pg_restore_toc': pg_restore_toc,
            'backup_script_result': backup_script_result,
            'row_count_comparison': row_count_comparison,
        }

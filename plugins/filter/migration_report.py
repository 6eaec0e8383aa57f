# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.upgrade_recovery, upgrade_summary, rollback_summary.

The decisions of the upgrade and rollback flows, as filters over their tasks'
results; the logic and its unit tests are in module_utils/migration_report.py.
Documentation: the .yml files of the same names beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_report import (
    rollback_summary,
    upgrade_recovery,
    upgrade_summary,
)


class FilterModule(object):
    def filters(self):
        return {
            'upgrade_recovery': upgrade_recovery,
            'upgrade_summary': upgrade_summary,
            'rollback_summary': rollback_summary,
        }

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filters of the major-version upgrade to a new host (module_utils/logical_upgrade.py).

logical_upgrade_plan decides a run of upgrade_logical.yml; moved_away_summary reads the source's summary file for
site.yml's refusal of it.

Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils import logical_upgrade


def logical_upgrade_plan(source_version, target_version, source=None, target=None, apt_policy=None, migration=None,
                         validation=None, ha=False, cutover=False, confirm=False, back=False, database='tmi'):
    """What the logical_upgrade role does: sync, cutover, back, confirm, done or refuse (with the reasons)."""
    return logical_upgrade.logical_upgrade_plan(source_version, target_version, source=source, target=target,
                                                apt_policy=apt_policy, migration=migration, validation=validation,
                                                ha=ha, cutover=cutover, confirm=confirm, back=back, database=database)


def moved_away_summary(content):
    """The target and its version from the cut-over's summary file (slurp's base64), or what made it unreadable."""
    return logical_upgrade.moved_away_summary(content)


class FilterModule(object):
    def filters(self):
        return {'logical_upgrade_plan': logical_upgrade_plan, 'moved_away_summary': moved_away_summary}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filter of the major-version upgrade to a new host: logical_upgrade_plan (module_utils/logical_upgrade.py).

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


class FilterModule(object):
    def filters(self):
        return {'logical_upgrade_plan': logical_upgrade_plan}

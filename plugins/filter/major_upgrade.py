# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filter of the in-place major-version upgrade: major_upgrade_plan (module_utils/major_upgrade.py).

Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils import major_upgrade


def major_upgrade_plan(clusters, version, cluster, method='link', confirm=False, apt_policy=None, migration=None,
                       validation=None, ha=False, database='tmi', installed_packages=None, way_back=False, port=None,
                       summary=None, controls=None, reflink_error=None, repo_host=''):
    """What the major_upgrade role does: upgrade, confirm, done, way_back or refuse (with the reasons)."""
    return major_upgrade.major_upgrade_plan(clusters, version, cluster, method=method, confirm=confirm,
                                            apt_policy=apt_policy, migration=migration, validation=validation,
                                            ha=ha, database=database, installed_packages=installed_packages,
                                            way_back=way_back, port=port, summary=summary, controls=controls,
                                            reflink_error=reflink_error, repo_host=repo_host)


class FilterModule(object):
    def filters(self):
        return {'major_upgrade_plan': major_upgrade_plan}

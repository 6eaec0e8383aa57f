# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.wal_gap: whether a recovery to the end of the WAL stopped at a gap in the archive.

Documentation: wal_gap.yml beside this file; the decision is
module_utils/pgbackrest_plan.py's wal_gap().
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_plan import wal_gap


def wal_gap_filter(reached_segment, newest_segment, target_type):
    return wal_gap(target_type, reached_segment, newest_segment)


class FilterModule(object):
    def filters(self):
        return {'wal_gap': wal_gap_filter}

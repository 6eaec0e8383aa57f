# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.statistics_markdown: the statistics of the check-db report as Markdown.

The formatting and its unit tests are in module_utils/db_statistics.py.
Documentation: statistics_markdown.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.tmi.postgresql.plugins.module_utils.db_statistics import markdown


def statistics_markdown(statistics, error=None):
    return markdown(statistics, error)


class FilterModule(object):
    def filters(self):
        return {'statistics_markdown': statistics_markdown}

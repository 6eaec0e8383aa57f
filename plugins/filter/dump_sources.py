# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.dump_sources: the database hosts a repository host dumps, checked and complete.

A thin wrapper of plugins/module_utils/dump_sources.py. Documentation: dump_sources.yml beside this one.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils.dump_sources import check


def dump_sources(sources, **settings):
    entries, errors = check(sources, **settings)
    if errors:
        raise AnsibleFilterError(' '.join(errors) + ' Nothing was changed.')
    return entries


def dump_source_errors(sources, **settings):
    return check(sources, **settings)[1]


class FilterModule(object):
    def filters(self):
        return {'dump_sources': dump_sources, 'dump_source_errors': dump_source_errors}

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The attributes of the modules that only read (archiver_status,
    # migration_version, pgbackrest_restore_plan, schema_validate, host_packages,
    # pgbackrest_info).
    DOCUMENTATION = r'''
attributes:
  check_mode:
    support: full
    description: The module only reads; it runs the same in check mode.
  diff_mode:
    support: none
    description: The module changes nothing, so there is no difference to show.
'''

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.backup_max_age_seconds: the age of the newest backup that cron schedules allow;
tmi.postgresql.backup_schedule_errors: the schedules it would refuse, named by their variable.

Documentation: backup_max_age_seconds.yml and backup_schedule_errors.yml
beside this file; the decision is module_utils/cron_schedule.py's max_gap_seconds().
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils.cron_schedule import ScheduleError, max_gap_seconds


def backup_max_age_seconds(schedules, margin_seconds=0):
    try:
        margin = int(margin_seconds)
    except (TypeError, ValueError):
        raise AnsibleFilterError('backup_max_age_seconds: the margin %r is not a number of seconds' % (margin_seconds,))
    if margin < 0:
        raise AnsibleFilterError('backup_max_age_seconds: the margin %d is negative' % margin)
    try:
        return max_gap_seconds(schedules) + margin
    except ScheduleError as e:
        raise AnsibleFilterError('backup_max_age_seconds: %s' % e)


def backup_schedule_errors(named):
    """One message per variable (name -> schedules) whose schedules backup_max_age_seconds would refuse."""
    if not isinstance(named, dict):
        raise AnsibleFilterError('backup_schedule_errors expects a mapping of variable name to schedules, not %s'
                                 % type(named).__name__)
    errors = []
    for name, schedules in named.items():
        try:
            max_gap_seconds(schedules)
        except ScheduleError as e:
            errors.append('%s: %s.' % (name, e))
    return errors


class FilterModule(object):
    def filters(self):
        return {'backup_max_age_seconds': backup_max_age_seconds, 'backup_schedule_errors': backup_schedule_errors}

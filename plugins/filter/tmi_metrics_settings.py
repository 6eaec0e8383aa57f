# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.tmi_metrics_setting_errors: the tmi_metrics role's settings it refuses, named by their variable.

The role's argument specs check types only (and site.yml's pre_tasks run the
role's check before the spec is validated): the ranges, the systemd time
spans, the file and unit names, the absolute paths and the backup schedules
are decided here. Documentation: tmi_metrics_setting_errors.yml beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.backup_max_age import backup_schedule_errors
from ansible_collections.tmi.postgresql.plugins.filter.range_errors import range_errors
from ansible_collections.tmi.postgresql.plugins.plugin_utils.setting_names import check_setting_names, setting_text

# The units systemd takes in OnUnitActiveSec= and RandomizedDelaySec= (days for the interval only).
_SPAN_UNITS = 'us|ms|s|sec|seconds?|m|min|minutes?|h|hr|hours?'
INTERVAL = re.compile(r'[0-9]+ ?(%s|d|days?)' % _SPAN_UNITS)
DELAY = re.compile(r'[0-9]+ ?(%s)' % _SPAN_UNITS)
TEXTFILE_NAME = re.compile(r'[A-Za-z0-9_.-]+[.]prom')
UNIT_NAME = re.compile(r'[A-Za-z0-9_-]+')

RANGES = (
    ('tmi_metrics_port', {'min': 1, 'max': 65535}),
    ('tmi_metrics_backup_age_margin_seconds', {'min': 0}),
    ('tmi_metrics_standbys_expected', {'min': 0}),
)
# Name, pattern the whole value must match, what the message says it must be.
FORMATS = (
    ('tmi_metrics_interval', INTERVAL, 'a systemd time span such as 5min or 30s'),
    ('tmi_metrics_randomized_delay', DELAY, 'a systemd time span such as 30s'),
    ('tmi_metrics_textfile_name', TEXTFILE_NAME, 'a file name ending in .prom'),
    ('tmi_metrics_unit_name', UNIT_NAME, 'letters, digits, _ and -'),
)
PATHS = ('tmi_metrics_textfile_dir', 'tmi_metrics_state_dir', 'tmi_metrics_lib_dir', 'tmi_metrics_config_path')
# Schedules, and the switch that makes the role read them.
SCHEDULES = (
    ('tmi_metrics_logical_backup_schedules', 'tmi_metrics_logical_backup_enabled'),
    ('tmi_metrics_pgbackrest_schedules', 'tmi_metrics_pgbackrest_enabled'),
)
NAMES = frozenset([entry[0] for entry in RANGES + FORMATS] + list(PATHS) + [n for pair in SCHEDULES for n in pair])


def tmi_metrics_setting_errors(settings):
    """One message per setting of the tmi_metrics role (variable name -> value) that the role refuses."""
    check_setting_names('tmi_metrics_setting_errors', settings, NAMES)
    for dummy, enabled in SCHEDULES:
        if not isinstance(settings[enabled], bool):
            raise AnsibleFilterError('tmi_metrics_setting_errors: %s must be given as a boolean (| bool), not %r'
                                     % (enabled, settings[enabled]))

    errors = range_errors(dict((name, dict(spec, value=settings[name])) for name, spec in RANGES))
    for name, pattern, what in FORMATS:
        text = setting_text(settings[name])
        if text is None or not pattern.fullmatch(text):
            errors.append('%s (%s) must be %s.' % (name, settings[name], what))
    for name in PATHS:
        value = settings[name]
        if not isinstance(value, str) or not value.startswith('/'):
            errors.append('%s (%s) must be an absolute path.' % (name, value))
    errors.extend(backup_schedule_errors(dict((name, settings[name]) for name, enabled in SCHEDULES
                                              if settings[enabled])))
    return errors


class FilterModule(object):
    def filters(self):
        return {'tmi_metrics_setting_errors': tmi_metrics_setting_errors}

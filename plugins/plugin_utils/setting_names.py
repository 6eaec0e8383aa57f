# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared part of the roles' *_setting_errors filters: the mapping they are given, and a value as text.

A role's check task gives its filter every setting it decides (variable name
to value); a name missing or unknown is a mistake of the task, an error of the
play, not a message for the operator.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError


def check_setting_names(filter_name, settings, names):
    """Raise AnsibleFilterError unless settings is a mapping of exactly the variable names names."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('%s expects a mapping of variable name to value, not %s'
                                 % (filter_name, type(settings).__name__))
    missing = sorted(set(names) - set(settings))
    unknown = sorted(set(settings) - set(names))
    if missing or unknown:
        raise AnsibleFilterError('%s: %s' % (filter_name, '; '.join(
            ([('missing: ' + ', '.join(missing))] if missing else [])
            + ([('unknown: ' + ', '.join(unknown))] if unknown else []))))


def setting_text(value):
    """The value as a Jinja2 `~` shows it, or None when it is not a string or a number."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql's filters of Debian package versions: package_requirements, package_version_errors and
web_config_flag (module_utils/package_versions.py).

Documentation: one .yml per filter beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.module_utils import package_versions


def package_requirements(settings):
    """The package versions the settings in use need (setting name -> value), as package_version_errors takes them."""
    try:
        return package_versions.package_requirements(settings)
    except ValueError as e:
        raise AnsibleFilterError('package_requirements: %s' % e)


def package_version_errors(versions, requirements):
    """One message per requirement the host's version of its package does not meet (empty: all met)."""
    try:
        return package_versions.package_version_errors(versions, requirements)
    except ValueError as e:
        raise AnsibleFilterError('package_version_errors: %s' % e)


def web_config_flag(versions, package):
    """The option that names an exporter's web configuration file: --web.config.file, or --web.config."""
    return package_versions.web_config_flag(versions, package)


class FilterModule(object):
    def filters(self):
        return {
            'package_requirements': package_requirements,
            'package_version_errors': package_version_errors,
            'web_config_flag': web_config_flag,
        }

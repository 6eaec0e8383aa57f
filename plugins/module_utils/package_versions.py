# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What tmi.postgresql decides from the versions of the Debian packages a host has, or would install.

- apt_policy: `apt-cache policy NAME...`'s output as name -> installed and
  candidate version (module host_packages, option versions);
- upstream_version: the numbers a Debian version starts with ('1:0.8.0+ds-1' -> (0, 8, 0));
- package_requirements: the package versions that the settings in use need
  (REQUIREMENTS: Debian 11's exporters and pgBackRest, docs/postgresql-versions.md);
- package_version_errors: the messages that refuse settings a package's
  version cannot serve;
- web_config_flag: the option that names the exporters' web configuration
  file, which node exporter 1.5 renamed.

The filters of plugins/filter/package_versions.py use them.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six.moves.collections_abc import Mapping

# The number apt-cache prints for "none".
_NONE = '(none)'
# Node exporter reads its web configuration with --web.config up to 1.4 and
# with --web.config.file from 1.5 (the change of prometheus/exporter-toolkit
# it took then); the PostgreSQL exporter has --web.config.file from 0.10 on.
WEB_CONFIG_FILE_FROM = {'prometheus-node-exporter': (1, 5)}

_EXPORTER_WEB = ('monitoring_web_basic_auth', 'monitoring_web_tls_cert_file')
_REPOSITORY_HOST = ('wal_archive_repo_host', 'tmi_postgresql_repository_hosts')
# (settings that need it, package, minimum upstream version, what for): a
# requirement applies when one of its settings is in use (true, non-empty).
REQUIREMENTS = (
    (_EXPORTER_WEB, 'prometheus-postgres-exporter', '0.10',
     'basic auth and TLS of the exporter are read from the file of its --web.config.file option, which came with'
     ' 0.10; Debian 11 has 0.8'),
    (_EXPORTER_WEB, 'prometheus-node-exporter', '1.1',
     'basic auth and TLS of the exporter are read from the file of its --web.config option (1.1 to 1.4) or'
     ' --web.config.file (1.5 and later)'),
    (_REPOSITORY_HOST, 'pgbackrest', '2.37',
     "the repository host layout needs pgBackRest's TLS server (pgbackrest server, repo1-host-type=tls), which"
     ' came with 2.37; Debian 11 has 2.33'),
)


def apt_policy(text):
    """name -> {'installed': version or None, 'candidate': version or None} from `apt-cache policy NAME...`.

    apt-cache prints a block per package it knows ("NAME:" then indented
    "Installed:" and "Candidate:" lines) and nothing for one it does not know.
    With no package lists (a fresh container before `apt-get update`) an
    installed package has itself as candidate and a missing one none.
    """
    found = {}
    name = None
    for line in str(text or '').splitlines():
        header = re.match(r'^(\S+):\s*$', line)
        if header:
            name = header.group(1).split(':')[0]
            found[name] = {'installed': None, 'candidate': None}
            continue
        field = re.match(r'^\s+(Installed|Candidate):\s*(\S+)', line)
        if field and name is not None:
            value = field.group(2)
            found[name][field.group(1).lower()] = None if value == _NONE else value
    return found


def upstream_version(version):
    """The numbers a Debian version's upstream part starts with, as a tuple: '1:0.8.0+ds-1+b5' -> (0, 8, 0).

    None when it starts with no number (or is not a string).
    """
    if not isinstance(version, str):
        return None
    match = re.match(r'^(?:\d+:)?(\d+(?:\.\d+)*)', version.strip())
    if not match:
        return None
    return tuple(int(part) for part in match.group(1).split('.'))


def _tuple(minimum):
    found = upstream_version(str(minimum))
    if found is None:
        raise ValueError('the minimum version %r is not a version' % (minimum,))
    return found


def _compare(left, right):
    """-1, 0 or 1 as the version tuple left is older than, the same as or newer than right (missing parts are 0)."""
    width = max(len(left), len(right))
    left, right = left + (0,) * (width - len(left)), right + (0,) * (width - len(right))
    return (left > right) - (left < right)


def effective_version(versions, package):
    """(version, source) the host runs or would run: the installed version, else apt's candidate; (None, None).

    A role installs a missing package (state present) but upgrades none, so an
    installed version is the one that runs even when apt offers a newer one.
    """
    entry = versions.get(package) if isinstance(versions, Mapping) else None
    if not isinstance(entry, Mapping):
        return None, None
    if entry.get('installed'):
        return entry['installed'], 'installed'
    if entry.get('candidate'):
        return entry['candidate'], "apt's candidate, not installed yet"
    return None, None


def _in_use(value):
    if isinstance(value, str):
        return value.strip() not in ('', 'false', 'False', 'no', '0')
    return bool(value)


def package_requirements(settings):
    """The requirements (see package_version_errors) of REQUIREMENTS whose settings settings has in use.

    settings: setting name -> value, for the settings the caller knows of
    (tmi_postgresql_repository_hosts: true on a host of that group). Each
    requirement names those of its settings that are in use.
    """
    if not isinstance(settings, Mapping):
        raise ValueError('the settings must be a mapping of name to value, not %s' % type(settings).__name__)
    requirements = []
    for names, package, minimum, needs in REQUIREMENTS:
        used = [name for name in names if _in_use(settings.get(name))]
        if used:
            requirements.append({'package': package, 'minimum': minimum, 'variables': used, 'needs': needs})
    return requirements


def package_version_errors(versions, requirements):
    """One message per requirement that the host's version of its package does not meet.

    versions: apt_policy's result (host_packages' package_versions).
    requirements: a list of {'package', 'minimum', 'variables' (the settings
    that need it, named in the message), 'needs' (what they need the version
    for)}. A package whose version is unknown (not installed, no candidate:
    apt will say so when it installs it) is not refused here.
    """
    if not isinstance(requirements, list):
        raise ValueError('the requirements must be a list, not %s' % type(requirements).__name__)
    errors = []
    for requirement in requirements:
        if not isinstance(requirement, Mapping) or not all(
                requirement.get(key) for key in ('package', 'minimum', 'variables', 'needs')):
            raise ValueError('each requirement needs package, minimum, variables and needs: %r' % (requirement,))
        package = requirement['package']
        version, source = effective_version(versions, package)
        found = upstream_version(version)
        if found is None or _compare(found, _tuple(requirement['minimum'])) >= 0:
            continue
        variables = requirement['variables']
        if isinstance(variables, str):
            variables = [variables]
        named = ' and '.join(variables)
        errors.append('%s %s %s %s or later (%s), but this host has %s %s (%s): change %s, or give the host %s %s'
                      ' or later first.' % (named, 'need' if len(variables) > 1 else 'needs', package,
                                            requirement['minimum'], requirement['needs'], package, version, source,
                                            named, package, requirement['minimum']))
    return errors


def web_config_flag(versions, package):
    """The option that names the web configuration file of an exporter package: --web.config.file, or
    --web.config for a node exporter older than 1.5. --web.config.file when the version is unknown."""
    version, dummy = effective_version(versions, package)
    found = upstream_version(version)
    renamed_in = WEB_CONFIG_FILE_FROM.get(package)
    if found is not None and renamed_in is not None and _compare(found, renamed_in) < 0:
        return '--web.config'
    return '--web.config.file'

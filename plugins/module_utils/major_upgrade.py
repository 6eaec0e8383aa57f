# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of an in-place major-version upgrade with postgresql-common's pg_upgradecluster.

major_upgrade_plan reads what the major_upgrade role found on the host (pg_lsclusters --json, apt-cache policy
of the target's server package, the schema's migration version and its validation) and says what to do:

- upgrade: the cluster runs at an older version, the target can be installed, the schema is at the newest
  migration, clean and valid; with the pg_upgradecluster command line;
- confirm: a finished upgrade (the new cluster running, the old one stopped) and major_upgrade_confirm: drop
  the old cluster;
- done: the target is the only version of the cluster and major_upgrade_confirm is set (nothing left to do);
- refuse: with every reason, each naming the variable or the state, ending "Nothing was changed.".

The schema is read only when the rest allows an upgrade: called without it (migration None), the plan says
needs_schema and the role reads it, then calls again.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible.module_utils.six.moves.collections_abc import Mapping

METHODS = {
    'link': ['--method=upgrade', '--link'],
    'clone': ['--method=upgrade', '--clone'],
    'copy': ['--method=upgrade'],
}
OLDEST, NEWEST = 13, 18
NOTHING = 'Nothing was changed.'
DOCS = 'docs/postgresql-versions.md, "In-place major-version upgrade"'


def _int(value):
    if isinstance(value, bool):
        return None
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def apt_candidate(policy):
    """The candidate version in `apt-cache policy PACKAGE`'s output, None when apt has none (or knows no such package)."""
    for line in str(policy or '').splitlines():
        match = re.match(r'^\s*Candidate:\s*(\S+)', line)
        if match:
            return None if match.group(1) == '(none)' else match.group(1)
    return None


def _entries(clusters, cluster):
    found = [entry for entry in clusters or [] if isinstance(entry, Mapping) and entry.get('cluster') == cluster]
    return sorted(found, key=lambda entry: _int(entry.get('version')) or 0)


def _running(entry):
    return _int(entry.get('running')) == 1


def _name(entry):
    return '%s/%s' % (entry.get('version'), entry.get('cluster'))


def refuser(plan):
    """refuse(message): add a reason (ending "Nothing was changed.") to plan's errors and message; return plan."""
    def refuse(message):
        plan['errors'].append(message if message.endswith(NOTHING) else '%s %s' % (message, NOTHING))
        plan['message'] = ' '.join(plan['errors'])
        plan['action'] = 'refuse'
        return plan
    return refuse


def _schema_errors(migration, validation, database):
    errors = []
    if not isinstance(migration, Mapping):
        return ['the schema of %s could not be read. %s' % (database, NOTHING)]
    version, newest = _int(migration.get('version')), _int(migration.get('newest'))
    if migration.get('dirty'):
        errors.append('the schema of %s is dirty at migration %s (a migration failed part-way): repair it '
                      '(playbooks/rollback.yml) before a major upgrade. %s' % (database, version, NOTHING))
    elif version is None or newest is None or version != newest:
        errors.append('the schema of %s is at migration %s, not the newest (%s): run playbooks/upgrade.yml first, '
                      'a major upgrade starts from the newest schema. %s' % (database, version, newest, NOTHING))
    if not isinstance(validation, Mapping) or not validation.get('valid'):
        failures = [str(finding.get('message')) for finding in (validation or {}).get('errors') or []
                    if isinstance(finding, Mapping)] if isinstance(validation, Mapping) else []
        detail = ': ' + '; '.join(failures[:3]) + ('; ...' if len(failures) > 3 else '') if failures else ''
        errors.append('the schema of %s fails validation%s. Fix it (playbooks/check_db.yml shows the findings) '
                      'before a major upgrade. %s' % (database, detail, NOTHING))
    return errors


def new_packages(old, new, installed):
    """The packages to install for version new: its server and client, and the counterpart of every extension
    package of version old that dpkg lists as installed (pg_upgrade stops when a library the old cluster uses is
    missing in the new version: pgaudit, which the server role installs, and any the operator added).

    installed: lines of `dpkg-query -W -f='${db:Status-Status} ${Package}'`, e.g. 'installed postgresql-15-pgaudit'.
    """
    packages = ['postgresql-%s' % new, 'postgresql-client-%s' % new]
    prefix = 'postgresql-%s-' % old
    for line in installed or []:
        status, name = (str(line).strip().split(' ', 1) + [''])[:2]
        if status == 'installed' and name.startswith(prefix) and name[len(prefix):]:
            counterpart = 'postgresql-%s-%s' % (new, name[len(prefix):])
            if counterpart not in packages:
                packages.append(counterpart)
    return packages


def major_upgrade_plan(clusters, version, cluster, method='link', confirm=False, apt_policy=None,
                       migration=None, validation=None, ha=False, database='tmi', installed_packages=None):
    """What the major_upgrade role does on a host: a dict with action and, for a refusal, errors and message."""
    target = _int(version)
    plan = {'action': 'refuse', 'errors': [], 'message': '', 'cluster': cluster, 'new_version': target,
            'old_version': None, 'old_port': None, 'new_port': None, 'method': method, 'needs_schema': False,
            'argv': [], 'drop_argv': [], 'way_back': '', 'packages': []}
    errors = plan['errors']
    refuse = refuser(plan)

    if ha:
        return refuse('This host is a Patroni member (tmi_postgresql_ha_enabled is true): the in-place major upgrade '
                      'does not handle high availability (see %s).' % DOCS)
    if method not in METHODS:
        return refuse('major_upgrade_method is %r: use one of %s.' % (method, ', '.join(sorted(METHODS))))
    if target is None or not OLDEST <= target <= NEWEST:
        return refuse('tmi_postgresql_version is %r: the upgrade target must be a major version from %d to %d.'
                      % (version, OLDEST, NEWEST))
    found = _entries(clusters, cluster)
    if not found:
        return refuse('This host has no cluster %s to upgrade (pg_lsclusters lists %s).'
                      % (cluster, ', '.join(_name(e) for e in clusters or [] if isinstance(e, Mapping)) or 'none'))
    new = [entry for entry in found if _int(entry.get('version')) == target]
    older = [entry for entry in found if (_int(entry.get('version')) or 0) < target]
    newer = [entry for entry in found if (_int(entry.get('version')) or 0) > target]
    if newer:
        return refuse('tmi_postgresql_version is %d but this host has cluster %s: a downgrade is not possible '
                      '(pg_upgrade only goes up).' % (target, ', '.join(_name(e) for e in newer)))
    if new:
        new_entry = new[0]
        plan['new_port'] = _int(new_entry.get('port'))
        if not older:
            if confirm:
                plan['action'] = 'done'
                return plan
            return refuse('Cluster %s already runs PostgreSQL %d, the target (tmi_postgresql_version): there is '
                          'nothing to upgrade.' % (_name(new_entry), target))
        old_entry = older[-1]
        plan['old_version'] = _int(old_entry.get('version'))
        plan['old_port'] = _int(old_entry.get('port'))
        state = []
        if len(older) > 1:
            state.append('more than one older cluster (%s)' % ', '.join(_name(e) for e in older))
        if not _running(new_entry):
            state.append('the new cluster %s is down' % _name(new_entry))
        if any(_running(e) for e in older):
            state.append('the old cluster %s is running' % ', '.join(_name(e) for e in older if _running(e)))
        if state:
            return refuse('An earlier upgrade of %s is unfinished: %s. Go back (stop the new cluster, start the '
                          'old one, %s) or finish it by hand before running this playbook again.'
                          % (cluster, '; '.join(state), DOCS))
        if not confirm:
            return refuse('An earlier upgrade of %s to %d is not confirmed: cluster %s is kept, stopped, on port %s. '
                          'Check TMI, then run again with major_upgrade_confirm=true to drop it, or go back (%s).'
                          % (cluster, target, _name(old_entry), plan['old_port'], DOCS))
        plan['action'] = 'confirm'
        plan['drop_argv'] = ['pg_dropcluster', '--stop', str(plan['old_version']), cluster]
        return plan

    old_entry = older[-1]
    plan['old_version'] = _int(old_entry.get('version'))
    plan['old_port'] = plan['new_port'] = _int(old_entry.get('port'))
    if len(older) > 1:
        refuse('This host has clusters %s: an earlier upgrade left more than one; drop the ones not in use '
               '(pg_dropcluster) before upgrading.' % ', '.join(_name(e) for e in older))
    if not _running(old_entry):
        refuse('Cluster %s is down: start it, the upgrade reads its schema and backs it up first.' % _name(old_entry))
    if apt_candidate(apt_policy) is None:
        refuse('tmi_postgresql_version is %d, but apt has no candidate for postgresql-%d on this host (apt-cache '
               'policy): add an apt source that carries it.' % (target, target))
    if errors:
        return plan
    if migration is None:
        plan['needs_schema'] = True
        plan['action'] = 'upgrade'
        return plan
    for message in _schema_errors(migration, validation, database):
        refuse(message)
    if errors:
        return plan
    plan['action'] = 'upgrade'
    plan['packages'] = new_packages(plan['old_version'], target, installed_packages)
    plan['argv'] = (['pg_upgradecluster', '-v', str(target)] + METHODS[method]
                    + [str(plan['old_version']), cluster])
    plan['drop_argv'] = ['pg_dropcluster', '--stop', str(plan['old_version']), cluster]
    if method == 'link':
        plan['way_back'] = ('--link: once the new cluster has started, the old data directory shares its files and '
                            'cannot be started again; the way back is the backup taken first.')
    else:
        plan['way_back'] = ('pg_ctlcluster %s %s stop; pg_conftool %s %s set port PORT_FREE; '
                            'pg_conftool %s %s set port %s; pg_ctlcluster %s %s start (the old cluster on its port '
                            'again; upgrade_major.yml refuses to run until %s/%s is dropped)'
                            % (target, cluster, target, cluster, plan['old_version'], cluster, plan['old_port'],
                               plan['old_version'], cluster, target, cluster))
    return plan

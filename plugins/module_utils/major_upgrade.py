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
- way_back: major_upgrade_way_back on a clone or copy upgrade that is not confirmed: the new cluster stopped, the
  old one given its port back and started (the steps still to do, none when it is already back);
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
DOCS_REPO_HOST = 'docs/postgresql-versions.md, "With a repository host"'


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


WAY_BACK = 'ansible-playbook tmi.postgresql.upgrade_major -e major_upgrade_way_back=true'
STEPS = ('stop_new', 'move_new', 'move_old', 'start_old')


def _summary(summary, old=None, new=None):
    """The summary file's content when it is of the upgrade from old to new (either None: any), else {}."""
    if not isinstance(summary, Mapping):
        return {}
    for key, version in (('from_version', old), ('to_version', new)):
        if version is not None and _int(summary.get(key)) != version:
            return {}
    return summary


def _backup_named(summary):
    backup = _summary(summary).get('backup_file')
    return 'the logical backup %s (dr_restore.yml)' % backup if backup else 'the logical backup taken first (dr_restore.yml)'


def _way_back(plan, found, port, summary, controls, confirm):
    """The plan of major_upgrade_way_back: go back from a clone or copy upgrade to the old cluster, or refuse."""
    refuse = refuser(plan)
    plan['way_back_steps'] = dict((step, False) for step in STEPS)
    if confirm:
        return refuse('major_upgrade_way_back and major_upgrade_confirm are both true: the confirmation drops the old '
                      'cluster the way back needs; run with one of them.')
    if port is None:
        return refuse('major_upgrade_port is %r: the way back gives the old cluster the port TMI uses.' % (port,))
    if not found:
        return refuse('This host has no cluster %s to go back to.' % plan['cluster'])
    if len(found) == 1:
        only = found[0]
        summary = _summary(summary, new=_int(only.get('version')))
        if summary.get('confirmed'):
            return refuse('The upgrade of %s to %s was confirmed (major_upgrade_confirm) at %s and %s dropped: no old '
                          'cluster is kept to go back to. The way back is %s into a cluster of the old version (%s).'
                          % (plan['cluster'], summary.get('to_version'), summary.get('confirmed'),
                             summary.get('dropped') or 'the old cluster', _backup_named(summary), DOCS))
        return refuse('This host has only cluster %s: no old cluster is kept, there is no upgrade to go back from.'
                      % _name(only))
    if len(found) > 2:
        return refuse('This host has clusters %s: the way back handles one old and one new cluster; drop the ones not '
                      'in use (pg_dropcluster) first.' % ', '.join(_name(e) for e in found))
    old_entry, new_entry = found
    plan['old_version'] = _int(old_entry.get('version'))
    plan['new_version'] = _int(new_entry.get('version'))
    plan['old_port'], plan['new_port'] = port, _int(new_entry.get('port'))
    plan['old_data_dir'], plan['new_data_dir'] = old_entry.get('pgdata'), new_entry.get('pgdata')
    old, new = _name(old_entry), _name(new_entry)
    summary = _summary(summary, plan['old_version'], plan['new_version'])
    control = (controls or {}).get(old_entry.get('pgdata'))
    if summary.get('method') == 'link' or control is False:
        return refuse('%s was upgraded to %s with pg_upgrade --link (major_upgrade_method link%s): the old data '
                      'directory shares its files with the new cluster and cannot start again. The way back is %s into '
                      'a cluster of the old version, or the pgBackRest full backup of the old cluster (%s).'
                      % (old, plan['new_version'],
                         '; %s/global/pg_control is renamed pg_control.old' % old_entry.get('pgdata')
                         if control is False else '', _backup_named(summary), DOCS))
    if control is None:
        return refuse('%s/global/pg_control could not be read: the way back starts the old cluster %s only when its '
                      'data directory is whole.' % (old_entry.get('pgdata'), old))
    old_port, new_port = _int(old_entry.get('port')), plan['new_port']
    if _running(old_entry) and _running(new_entry):
        return refuse('Both %s and %s run: stop %s (pg_ctlcluster %s %s stop), then run the way back again.'
                      % (old, new, old, plan['old_version'], plan['cluster']))
    if _running(old_entry) and old_port != port:
        return refuse('%s runs on port %s, not on %s (major_upgrade_port): stop it (pg_ctlcluster %s %s stop), then run '
                      'the way back again.' % (old, old_port, port, plan['old_version'], plan['cluster']))
    if old_port == port and new_port == port:
        return refuse('%s and %s are both set to port %s: give %s another port (pg_conftool %s %s set port N), then '
                      'run the way back again.' % (old, new, port, new, plan['new_version'], plan['cluster']))
    steps = plan['way_back_steps']
    steps['stop_new'] = _running(new_entry)
    steps['move_new'] = new_port == port
    steps['move_old'] = old_port != port
    steps['start_old'] = not _running(old_entry)
    # The new cluster takes the port the old one had (pg_upgradecluster's free port).
    plan['new_port'] = old_port if steps['move_new'] else new_port
    plan['action'] = 'way_back'
    plan['changes'] = any(steps.values())
    plan['way_back'] = ('%s serves TMI on port %s again; %s is kept, stopped, on port %s. Set tmi_postgresql_version: '
                        '%s in the inventory (site.yml then converges %s). To upgrade again later: pg_dropcluster '
                        '%s %s, then upgrade_major.yml.'
                        % (old, port, new, plan['new_port'], plan['old_version'], old, plan['new_version'],
                           plan['cluster']))
    return plan


def major_upgrade_plan(clusters, version, cluster, method='link', confirm=False, apt_policy=None,
                       migration=None, validation=None, ha=False, database='tmi', installed_packages=None,
                       way_back=False, port=None, summary=None, controls=None, reflink_error=None,
                       repo_host=''):
    """What the major_upgrade role does on a host: a dict with action and, for a refusal, errors and message.

    repo_host: the pgBackRest repository host this host archives to (wal_archive_repo_host), '' for none.
    way_back: go back to the old cluster of a clone or copy upgrade (port: the port TMI uses; summary: the
    summary file's content; controls: data directory to whether its global/pg_control exists). reflink_error: why
    cp --reflink=always failed on the data directories' file system (method clone), None when it worked.
    """
    target = _int(version)
    plan = {'action': 'refuse', 'errors': [], 'message': '', 'cluster': cluster, 'new_version': target,
            'old_version': None, 'old_port': None, 'new_port': None, 'method': method, 'needs_schema': False,
            'argv': [], 'drop_argv': [], 'way_back': '', 'packages': [], 'way_back_steps': {}, 'changes': False,
            'old_data_dir': None, 'new_data_dir': None}
    errors = plan['errors']
    refuse = refuser(plan)

    if ha:
        return refuse('This host is a Patroni member (tmi_postgresql_ha_enabled is true): the in-place major upgrade '
                      'does not handle high availability (see %s).' % DOCS)
    if way_back:
        return _way_back(plan, _entries(clusters, cluster), _int(port), summary, controls, confirm)
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
        went_back = _summary(summary, plan['old_version'], target).get('went_back')
        if went_back and _running(old_entry) and not _running(new_entry):
            return refuse('The upgrade of %s to %d was undone (major_upgrade_way_back) at %s: %s serves, %s is kept, '
                          'stopped. Drop it (pg_dropcluster %d %s) before upgrading again.'
                          % (cluster, target, went_back, _name(old_entry), _name(new_entry), target, cluster))
        if state:
            return refuse('An earlier upgrade of %s is unfinished: %s. Go back (%s, see %s) or finish it by hand '
                          'before running this playbook again.' % (cluster, '; '.join(state), WAY_BACK, DOCS))
        if not confirm:
            return refuse('An earlier upgrade of %s to %d is not confirmed: cluster %s is kept, stopped, on port %s. '
                          'Check TMI, then run again with major_upgrade_confirm=true to drop it, or go back (%s, '
                          'see %s).' % (cluster, target, _name(old_entry), plan['old_port'], WAY_BACK, DOCS))
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
    if repo_host:
        # The upgrade moves pgBackRest on this host alone: the repository host would keep the old pg1-path and,
        # once apt brings a newer pgBackRest here, a version its protocol refuses; its backups run there.
        refuse('wal_archive_repo_host is %r: the in-place upgrade points pgBackRest at the new cluster on this host '
               'only, while the repository host %s takes the backups and must run the same pgBackRest release; '
               'follow %s.' % (repo_host, repo_host, DOCS_REPO_HOST))
    if method == 'clone' and reflink_error is not None:
        refuse('major_upgrade_method is clone, but the file system of the data directories has no reflinks (cp '
               '--reflink=always: %s): use copy (a full copy, the old cluster stays usable) or link.'
               % (str(reflink_error).strip() or 'failed'))
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
        plan['way_back'] = ('%s: stops %s/%s, gives %s/%s port %s back and starts it, points pgBackRest back at it '
                            '(until major_upgrade_confirm=true drops it; see %s)'
                            % (WAY_BACK, target, cluster, plan['old_version'], cluster, plan['old_port'], DOCS))
    return plan

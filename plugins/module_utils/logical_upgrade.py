# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan of a major-version upgrade to a new host by logical replication (playbooks/upgrade_logical.yml).

logical_upgrade_plan reads what the logical_upgrade role found on the source (its major version, its schema, its
publication, whether TMI's roles may log in) and on the target (the apt candidate of the new version, whether
TMI's database holds rows, whether the subscription exists) and says what to do:

- sync: set up the replication (or resume it: every step is idempotent) and wait until the target caught up;
- cutover: sync, then stop the writes on the source, copy the sequences, drop the subscription and point TMI's
  .env at the target (logical_upgrade_cutover);
- back: after a cut-over, TMI's roles log in on the source again and .env points back (logical_upgrade_back);
- confirm: after a cut-over, drop the publication, the replication role and its pg_hba line on the source
  (logical_upgrade_confirm);
- done: confirm was asked and there is nothing left on the source to drop;
- refuse: with every reason, each naming the variable or the state, ending "Nothing was changed.".
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import base64
import binascii
import json

from ansible.module_utils.six.moves.collections_abc import Mapping
from ansible_collections.tmi.postgresql.plugins.module_utils.major_upgrade import (
    NEWEST,
    OLDEST,
    _int,
    _schema_errors,
    apt_candidate,
    refuser,
)

DOCS = 'docs/postgresql-versions.md, "Major-version upgrade to a new host (logical replication)"'


def moved_away_summary(content):
    """What site.yml's refusal of a cut-over's source names, from the summary file as slurp read it (base64).

    Returns target and to_version, with 'another host' and '?' for what the file does not say, and unreadable:
    why the file could not be read as the cut-over's JSON ('' when it could). The file's presence is the refusal;
    a damaged one must still give the message, not a template error.
    """
    found = {'target': 'another host', 'to_version': '?', 'unreadable': ''}
    try:
        summary = json.loads(base64.b64decode(content or '').decode('utf-8'))
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        found['unreadable'] = 'not the JSON the cut-over writes (%s)' % error
        return found
    if not isinstance(summary, Mapping):
        found['unreadable'] = 'not the JSON object the cut-over writes'
        return found
    for key in ('target', 'to_version'):
        if summary.get(key) not in (None, ''):
            found[key] = summary[key]
    return found


def _flag(state, key):
    return bool(isinstance(state, Mapping) and state.get(key))


def logical_upgrade_plan(source_version, target_version, source=None, target=None, apt_policy=None, migration=None,
                         validation=None, ha=False, cutover=False, confirm=False, back=False, database='tmi'):
    """What the logical_upgrade role does: a dict with action, the versions, the notes and, for a refusal, errors.

    source: publication (bool, ours exists), app_login (bool, every app role may log in), wal_level (str),
    clusters (int, the clusters of TMI's cluster name on the source host).
    target: subscription (bool, ours exists), rows (int, TMI's tables that hold rows; None when there is no database yet).
    """
    old, new = _int(source_version), _int(target_version)
    source = source if isinstance(source, Mapping) else {}
    target = target if isinstance(target, Mapping) else {}
    plan = {'action': 'refuse', 'errors': [], 'message': '', 'old_version': old, 'new_version': new,
            'restart': False, 'resume': False, 'notes': []}
    errors = plan['errors']
    refuse = refuser(plan)

    if sum(1 for flag in (cutover, confirm, back) if flag) > 1:
        return refuse('logical_upgrade_cutover, logical_upgrade_confirm and logical_upgrade_back are set together: '
                      'set one of them at a time.')
    if ha:
        return refuse('The source is a Patroni member (tmi_postgresql_ha_enabled is true): the logical upgrade does '
                      'not handle high availability (see %s).' % DOCS)
    if old is None:
        return refuse('The source\'s PostgreSQL version could not be read (%r): is the source cluster running?'
                      % (source_version,))
    if new is None or not OLDEST <= new <= NEWEST:
        return refuse('logical_upgrade_version is %r: the target must be a major version from %d to %d.'
                      % (target_version, OLDEST, NEWEST))
    if new < old:
        return refuse('logical_upgrade_version is %d but the source runs PostgreSQL %d: a downgrade is not what '
                      'this playbook does (restore a logical backup instead).' % (new, old))
    if new == old:
        return refuse('logical_upgrade_version is %d, the version the source already runs: there is nothing to '
                      'upgrade.' % new)

    publication, subscription = _flag(source, 'publication'), _flag(target, 'subscription')
    app_login = source.get('app_login', True) is not False
    rows = _int(target.get('rows'))
    cut_over = publication and not subscription and not app_login

    if confirm or back:
        if not cut_over:
            if confirm and not publication and not subscription and not app_login:
                plan['action'] = 'done'
                return plan
            return refuse('%s is set, but no finished cut-over was found (the publication on the source %s, the '
                          'subscription on the target %s, TMI\'s roles on the source %s).'
                          % ('logical_upgrade_confirm' if confirm else 'logical_upgrade_back',
                             'exists' if publication else 'is missing',
                             'exists' if subscription else 'is missing',
                             'may log in' if app_login else 'are NOLOGIN'))
        plan['action'] = 'confirm' if confirm else 'back'
        return plan
    if cut_over:
        return refuse('The cut-over to %d is done: TMI writes on the target and the source is kept, its writes '
                      'blocked. Run again with logical_upgrade_confirm=true to drop the publication on the source, '
                      'or logical_upgrade_back=true to go back (%s).' % (new, DOCS))
    if not app_login and not subscription:
        return refuse('TMI\'s login roles on the source cannot log in (NOLOGIN) but there is no subscription on the '
                      'target: an earlier cut-over stopped part-way or the roles were changed by hand; let them log '
                      'in again (logical_upgrade_back needs the finished cut-over: ALTER ROLE ... LOGIN by hand) '
                      'before starting again.')
    if _int(source.get('clusters')) is not None and _int(source.get('clusters')) > 1:
        refuse('The source host has %s clusters of TMI\'s cluster name: an earlier in-place upgrade '
               '(upgrade_major.yml) is unfinished; confirm it or go back first.' % source.get('clusters'))
    if rows and not subscription:
        refuse('The target\'s database %s has rows in %d of TMI\'s tables but no subscription of this upgrade: the '
               'target must be a new host (or one this playbook started to fill).' % (database, rows))
    if apt_candidate(apt_policy) is None:
        refuse('logical_upgrade_version is %d, but apt has no candidate for postgresql-%d on the target host '
               '(apt-cache policy): add an apt source that carries it.' % (new, new))
    for message in _schema_errors(migration, validation, database):
        refuse(message)
    if errors:
        return plan
    plan['resume'] = publication or subscription
    plan['restart'] = source.get('wal_level') != 'logical'
    if plan['restart']:
        plan['notes'].append('The source restarts once: wal_level is %s, logical replication needs logical.'
                             % (source.get('wal_level') or 'unknown'))
    if plan['resume']:
        plan['notes'].append('An earlier run started this upgrade (the publication or the subscription exists): '
                             'it goes on from there.')
    if not app_login:
        plan['notes'].append('TMI\'s roles on the source are NOLOGIN and the subscription exists: an earlier '
                             'cut-over stopped part-way; %s.' % ('this run finishes it' if cutover else
                                                                 'run with logical_upgrade_cutover=true to finish it'))
    plan['action'] = 'cutover' if cutover else 'sync'
    return plan

import base64
import json

import pytest

from ansible_collections.tmi.postgresql.plugins.filter.logical_upgrade import logical_upgrade_plan, moved_away_summary

POLICY_17 = 'postgresql-17:\n  Installed: (none)\n  Candidate: 17.6-0+deb13u1\n  Version table:\n'
POLICY_NONE = 'postgresql-17:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n'
AT_NEWEST = {'version': 8, 'newest': 8, 'dirty': False}
VALID = {'valid': True, 'errors': []}
FRESH_SOURCE = {'publication': False, 'app_login': True, 'wal_level': 'replica', 'clusters': 1}
SYNCING_SOURCE = {'publication': True, 'app_login': True, 'wal_level': 'logical', 'clusters': 1}
CUT_SOURCE = {'publication': True, 'app_login': False, 'wal_level': 'logical', 'clusters': 1}
NEW_TARGET = {'subscription': False, 'rows': None}
SUBSCRIBED = {'subscription': True, 'rows': 1200}


def plan(source_version=15, target_version=17, source=None, target=None, **kwargs):
    source = FRESH_SOURCE if source is None else source
    target = NEW_TARGET if target is None else target
    kwargs.setdefault('apt_policy', POLICY_17)
    kwargs.setdefault('migration', AT_NEWEST)
    kwargs.setdefault('validation', VALID)
    return logical_upgrade_plan(source_version, target_version, source=source, target=target, **kwargs)


def refused(result, *words):
    assert result['action'] == 'refuse', result
    assert result['message'].endswith('Nothing was changed.')
    for word in words:
        assert word in result['message']
    return result


def test_a_fresh_upgrade_syncs_and_announces_the_restart():
    result = plan()
    assert result['action'] == 'sync' and result['errors'] == []
    assert (result['old_version'], result['new_version']) == (15, 17)
    assert result['restart'] and not result['resume']
    assert 'restarts once' in result['notes'][0]


def test_cutover_is_asked_for():
    assert plan(cutover=True)['action'] == 'cutover'


def test_an_earlier_run_is_resumed_without_a_restart():
    result = plan(source=SYNCING_SOURCE, target=SUBSCRIBED)
    assert result['action'] == 'sync' and result['resume'] and not result['restart']
    assert plan(source=SYNCING_SOURCE, target=SUBSCRIBED, cutover=True)['action'] == 'cutover'


def test_a_cutover_stopped_part_way_is_finished():
    result = plan(source=CUT_SOURCE, target=SUBSCRIBED, cutover=True)
    assert result['action'] == 'cutover'
    assert 'stopped part-way' in result['notes'][-1]


@pytest.mark.parametrize('target_version, words', [
    (13, ['a downgrade', 'logical_upgrade_version is 13']),
    (15, ['nothing to upgrade']),
    (19, ['from 13 to 18']),
    ('x', ['logical_upgrade_version']),
])
def test_wrong_target_versions_are_refused(target_version, words):
    refused(plan(target_version=target_version), *words)


def test_an_unreadable_source_version_is_refused():
    refused(plan(source_version=None), 'source cluster running')


def test_a_patroni_source_is_refused():
    refused(plan(ha=True), 'tmi_postgresql_ha_enabled')


def test_two_of_cutover_confirm_back_are_refused():
    refused(plan(cutover=True, confirm=True), 'one of them at a time')


def test_a_done_cutover_is_refused_without_confirm_or_back():
    refused(plan(source=CUT_SOURCE, target=NEW_TARGET), 'cut-over to 17 is done', 'logical_upgrade_confirm=true')
    refused(plan(source=CUT_SOURCE, target=NEW_TARGET, cutover=True), 'cut-over to 17 is done')


def test_confirm_and_back_after_a_cutover():
    assert plan(source=CUT_SOURCE, confirm=True)['action'] == 'confirm'
    assert plan(source=CUT_SOURCE, back=True)['action'] == 'back'


def test_confirm_once_confirmed_is_done_and_back_then_refused():
    gone = dict(CUT_SOURCE, publication=False)
    assert plan(source=gone, confirm=True)['action'] == 'done'
    refused(plan(source=gone, back=True), 'logical_upgrade_back is set', 'publication on the source is missing')


def test_confirm_without_a_cutover_is_refused():
    refused(plan(source=SYNCING_SOURCE, target=SUBSCRIBED, confirm=True), 'logical_upgrade_confirm is set',
            'subscription on the target exists')


def test_nologin_roles_without_a_subscription_are_refused():
    refused(plan(source=dict(FRESH_SOURCE, app_login=False)), 'NOLOGIN')


def test_rows_on_the_target_without_our_subscription_are_refused():
    refused(plan(target={'subscription': False, 'rows': 5}), 'rows in 5 of')
    assert plan(target={'subscription': False, 'rows': 0})['action'] == 'sync'


def test_an_unfinished_in_place_upgrade_on_the_source_is_refused():
    refused(plan(source=dict(FRESH_SOURCE, clusters=2)), 'upgrade_major.yml')


def test_a_target_without_apt_candidate_is_refused():
    refused(plan(apt_policy=POLICY_NONE), 'no candidate for postgresql-17')


@pytest.mark.parametrize('migration, validation, words', [
    ({'version': 5, 'newest': 8, 'dirty': False}, VALID, ['at migration 5, not the newest (8)']),
    ({'version': 8, 'newest': 8, 'dirty': True}, VALID, ['dirty']),
    (AT_NEWEST, {'valid': False, 'errors': [{'message': 'table x is missing'}]}, ['fails validation: table x']),
    ('unreadable', None, ['could not be read']),
])
def test_a_source_schema_not_newest_or_invalid_is_refused(migration, validation, words):
    refused(plan(migration=migration, validation=validation), *words)


def test_every_reason_at_once():
    result = refused(plan(apt_policy=POLICY_NONE, target={'rows': 3}, migration={'version': 5, 'newest': 8}))
    assert len(result['errors']) == 3


def b64(text):
    return base64.b64encode(text.encode('utf-8')).decode('ascii')


def test_moved_away_summary_names_the_target_and_its_version():
    content = b64(json.dumps({'source': 'tmi-old', 'target': 'tmi-new', 'from_version': 15, 'to_version': 17}))
    assert moved_away_summary(content) == {'target': 'tmi-new', 'to_version': 17, 'unreadable': ''}


@pytest.mark.parametrize('content, why', [
    (b64('{"target": "tmi-new", "to_vers'), 'not the JSON the cut-over writes'),
    (b64('[1, 2]'), 'not the JSON object'),
    ('%%% not base64', 'not the JSON the cut-over writes'),
    (base64.b64encode(b'\xff\xfe{}').decode('ascii'), 'not the JSON the cut-over writes'),
    ('', 'not the JSON the cut-over writes'),
])
def test_a_damaged_summary_still_gives_the_refusal_its_words(content, why):
    found = moved_away_summary(content)
    assert found['target'] == 'another host' and found['to_version'] == '?'
    assert why in found['unreadable']


def test_a_summary_without_the_target_says_another_host():
    expected = {'target': 'another host', 'to_version': 17, 'unreadable': ''}
    assert moved_away_summary(b64('{"to_version": 17}')) == expected

"""The shipped Prometheus alert rules keep their promises (issue 13).

promtool (`make rules`) checks the syntax and runs the unit tests of tests/prometheus; this checks what promtool
cannot: every alert has a severity, annotations naming the instance and the value, a `for`, a section in
docs/monitoring-alerts.md that its runbook annotation points at, and unit tests that show it firing and silent.
"""

import glob
import os
import re

import pytest
import yaml

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
RULES_FILE = os.path.join(REPO, 'files', 'prometheus', 'tmi-postgresql.rules.yml')
TEST_FILES = sorted(glob.glob(os.path.join(REPO, 'tests', 'prometheus', '*.test.yml')))
DOC = os.path.join(REPO, 'docs', 'monitoring-alerts.md')
SEVERITIES = {'info', 'warning', 'critical'}


def load_yaml(path):
    with open(path) as f:
        return yaml.safe_load(f)


def alert_rules():
    return [rule for group in load_yaml(RULES_FILE)['groups'] for rule in group['rules']]


ALERTS = alert_rules()


def alert_tests():
    """{alertname: (cases that expect it firing, cases that expect it silent)}, over every test file."""
    cases = {}
    for path in TEST_FILES:
        for test in load_yaml(path)['tests']:
            for case in test.get('alert_rule_test', []):
                firing, silent = cases.setdefault(case['alertname'], ([], []))
                (firing if case.get('exp_alerts') else silent).append(case)
    return cases


def test_only_alerts_with_unique_names():
    names = [rule.get('alert') for rule in ALERTS]
    assert None not in names, 'a recording rule, or a rule without a name'
    assert len(names) == len(set(names)), sorted(name for name in names if names.count(name) > 1)


@pytest.mark.parametrize('rule', ALERTS, ids=lambda rule: rule['alert'])
def test_alert_labels_and_annotations(rule):
    assert rule.get('labels', {}).get('severity') in SEVERITIES
    assert 'for' in rule, 'state the `for` even when it is 0m'
    annotations = rule.get('annotations', {})
    assert {'summary', 'description', 'runbook'} <= set(annotations)
    text = annotations['summary'] + annotations['description']
    assert re.search(r'\$labels\.(instance|host)', text), 'the annotations name no instance'
    assert '$value' in text, 'the annotations give no value'


@pytest.mark.parametrize('rule', ALERTS, ids=lambda rule: rule['alert'])
def test_runbook_points_at_a_section_of_the_guide(rule):
    with open(DOC) as f:
        headings = {line[4:].strip() for line in f if line.startswith('### ')}
    assert rule['annotations']['runbook'] == 'docs/monitoring-alerts.md#' + rule['alert'].lower()
    assert rule['alert'] in headings, 'docs/monitoring-alerts.md has no section "### %s"' % rule['alert']


@pytest.mark.parametrize('rule', ALERTS, ids=lambda rule: rule['alert'])
def test_every_alert_has_a_firing_and_a_silent_case(rule):
    firing, silent = alert_tests().get(rule['alert'], ([], []))
    assert firing, 'no unit test shows %s firing' % rule['alert']
    assert silent, 'no unit test shows %s silent (exp_alerts: [])' % rule['alert']


def test_unit_tests_name_only_shipped_alerts_and_load_the_shipped_file():
    assert TEST_FILES
    names = {rule['alert'] for rule in ALERTS}
    assert set(alert_tests()) <= names
    for path in TEST_FILES:
        rule_files = [os.path.normpath(os.path.join(os.path.dirname(path), name))
                      for name in load_yaml(path)['rule_files']]
        assert rule_files == [RULES_FILE], path

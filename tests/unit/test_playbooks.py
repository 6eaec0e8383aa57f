"""The playbooks set no variables: a play var or a var on an import_playbook entry outranks the inventory (issue 10).

Settings are role defaults; what one flow hands to the next is a documented fact (e.g. dr_restore_request).
"""

import glob
import os

import pytest
import yaml

PLAYBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), '..', '..', 'playbooks', '*.yml')))


@pytest.mark.parametrize('path', PLAYBOOKS, ids=os.path.basename)
def test_no_play_or_import_sets_vars(path):
    with open(path) as f:
        plays = yaml.safe_load(f)
    with_vars = [play.get('name') for play in plays if {'vars', 'vars_files', 'vars_prompt'} & set(play)]
    assert with_vars == [], '%s: vars on %s' % (os.path.basename(path), with_vars)

"""The playbooks set no variables: a play var or a var on an import_playbook entry outranks the inventory (issue 10).

Settings are role defaults; what one flow hands to the next is a documented fact (e.g. dr_restore_request).
"""

import glob
import os

import pytest
import yaml

PLAYBOOKS = sorted(glob.glob(os.path.join(os.path.dirname(__file__), '..', '..', 'playbooks', '*.yml')))


def host_selection_only(play):
    """An import_playbook that only names the group the imported plays run on (upgrade_logical.yml runs site.yml on
    the new host's group): tmi_postgresql_hosts selects hosts, it is no setting an inventory value could lose to."""
    imports = any(key.endswith('import_playbook') for key in play)
    return imports and set(play) & {'vars', 'vars_files', 'vars_prompt'} == {'vars'} \
        and set(play['vars']) == {'tmi_postgresql_hosts'}


@pytest.mark.parametrize('path', PLAYBOOKS, ids=os.path.basename)
def test_no_play_or_import_sets_vars(path):
    with open(path) as f:
        plays = yaml.safe_load(f)
    with_vars = [play.get('name') for play in plays if {'vars', 'vars_files', 'vars_prompt'} & set(play)
                 and not host_selection_only(play)]
    assert with_vars == [], '%s: vars on %s' % (os.path.basename(path), with_vars)

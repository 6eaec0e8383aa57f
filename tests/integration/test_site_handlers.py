"""site.yml's structure: the server role's reload handler runs whichever optional role is left out.

A role entry's `when` is inherited by the handlers of its dependencies, and of
several copies of a handler (one per role that depends on the server role)
Ansible runs the last one loaded. With the wal_archive role (a dependent of
the server role) switched off by its `when`, the reload was skipped.

The test runs the real playbooks/site.yml and the real meta/main.yml
(dependencies) and handlers of every role, in a copy of the collection whose
task files are stubs: the server role's stub changes a setting and flushes the
handlers, the reload stub reports that it ran. Nothing on the host changes.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from ansible_run import ansible_env
from collection_path import REPO

RELOAD_STUB = 'stub: the server role reloads'


def write_yaml(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        yaml.safe_dump(data, f)


def stub_collection(root):
    """A copy of the collection whose roles do nothing but notify and report the reload."""
    collection = os.path.join(root, 'ansible_collections', 'tmi', 'postgresql')
    for name in ('meta', 'plugins', 'playbooks'):
        shutil.copytree(os.path.join(REPO, name), os.path.join(collection, name))
    for role in os.listdir(os.path.join(REPO, 'roles')):
        source = os.path.join(REPO, 'roles', role)
        target = os.path.join(collection, 'roles', role)
        shutil.copytree(os.path.join(source, 'meta'), os.path.join(target, 'meta'))
        os.remove(os.path.join(target, 'meta', 'argument_specs.yml'))
        # Every role's defaults (site.yml's conditions read some, e.g. monitoring_tmi_metrics_enabled); the
        # handlers of the server role and its base only.
        for name in ('defaults', 'vars') + (('handlers',) if role in ('common', 'server') else ()):
            if os.path.isdir(os.path.join(source, name)):
                shutil.copytree(os.path.join(source, name), os.path.join(target, name))
        # Every task file a stub: site.yml's pre_tasks import some of them (tasks_from).
        for name in os.listdir(os.path.join(source, 'tasks')):
            stub = 'stub: %s' % role if name == 'main.yml' else 'stub: %s %s' % (role, name)
            write_yaml(os.path.join(target, 'tasks', name), [{'name': stub, 'ansible.builtin.debug': {'msg': role}}])
    write_yaml(os.path.join(collection, 'roles', 'server', 'tasks', 'main.yml'), [
        {'name': 'stub: change a setting', 'ansible.builtin.debug': {'msg': 'changed'}, 'changed_when': True,
         'notify': 'tmi_postgresql_settings_changed'},
        {'name': 'stub: apply the settings', 'ansible.builtin.meta': 'flush_handlers'},
    ])
    # The handler includes reload.yml: a stub that says it ran.
    write_yaml(os.path.join(collection, 'roles', 'server', 'tasks', 'reload.yml'),
               [{'name': RELOAD_STUB, 'ansible.builtin.debug': {'msg': 'reloaded'}}])
    return collection


@pytest.mark.parametrize('wal_archive_enabled', [True, False])
@pytest.mark.parametrize('backup_enabled', [True, False])
def test_the_reload_handler_runs_with_any_optional_role_left_out(tmp_path, wal_archive_enabled, backup_enabled):
    collection = stub_collection(str(tmp_path))
    inventory = str(tmp_path / 'inventory.yml')
    write_yaml(inventory, {'all': {'children': {'tmi_postgresql': {'hosts': {'localhost': {
        'ansible_connection': 'local',
        'ansible_python_interpreter': sys.executable,
        # Inventory values, as an operator sets them.
        'tmi_postgresql_wal_archive_enabled': wal_archive_enabled,
        'tmi_postgresql_backup_enabled': backup_enabled,
    }}}}}})
    env = ansible_env(str(tmp_path), {'ANSIBLE_COLLECTIONS_PATH': str(tmp_path)})
    proc = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', inventory,
         os.path.join(collection, 'playbooks', 'site.yml')],
        cwd=str(tmp_path), env=env, capture_output=True, text=True, timeout=600, check=False)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON (rc %s)\n%s\n%s' % (proc.returncode, proc.stdout, proc.stderr))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr

    ran = [t['task']['name'].split(' : ')[-1] for play in report['plays'] for t in play['tasks']
           if 'localhost' in t['hosts'] and not t['hosts']['localhost'].get('skipped', False)]
    assert ran.count(RELOAD_STUB) == 1, ran
    # The server role runs once, not again as a dependency of an included role.
    assert ran.count('stub: change a setting') == 1, ran
    # The optional roles run exactly when they are enabled.
    assert ('stub: wal_archive' in ran) == wal_archive_enabled, ran
    assert ('stub: backup' in ran) == backup_enabled, ran


# Loads the play with Ansible's own classes and prints, for each compiled copy
# of a handler, the conditions it carries (its own and those it inherits).
HANDLER_CONDITIONS = """
import json, sys
from ansible import context
from ansible.module_utils.common.collections import ImmutableDict
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.vars.manager import VariableManager
from ansible.playbook import Playbook
from ansible.plugins.loader import init_plugin_loader
context.CLIARGS = ImmutableDict(tags=[], skip_tags=[])
init_plugin_loader()
loader = DataLoader()
inventory = InventoryManager(loader, [sys.argv[2]])
playbook = Playbook.load(sys.argv[1], VariableManager(loader, inventory), loader)
print(json.dumps([[handler.name, handler.when] for play in playbook.get_plays()
                  for block in play.compile_roles_handlers() for handler in block.block]))
"""


def test_no_copy_of_a_handler_carries_the_condition_of_an_optional_role(tmp_path):
    """The cause itself: which copy Ansible runs is its choice; none may be conditional."""
    collection = stub_collection(str(tmp_path))
    inventory = str(tmp_path / 'inventory.yml')
    write_yaml(inventory, {'all': {'children': {'tmi_postgresql': {'hosts': {'localhost': {}}}}}})
    proc = subprocess.run([sys.executable, '-c', HANDLER_CONDITIONS, os.path.join(collection, 'playbooks', 'site.yml'),
                           inventory], env=ansible_env(str(tmp_path), {'ANSIBLE_COLLECTIONS_PATH': str(tmp_path)}),
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    handlers = json.loads(proc.stdout.strip().splitlines()[-1])
    assert handlers, 'no handler compiled'
    assert [h for h in handlers if h[1]] == []

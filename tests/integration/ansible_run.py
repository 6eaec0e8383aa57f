"""Run a task of this collection through ansible-playbook and return its result.

The collection is made importable from the checkout through a temporary
collections folder whose ansible_collections/tmi/postgresql links to the repo.
"""

import json
import os
import subprocess
import sys

import pytest
import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

from collection_path import collections_dir  # noqa: E402

# The target's Python decides the driver: community.postgresql takes psycopg 3
# when it is importable and psycopg2 otherwise. `make setup` builds a small
# venv with psycopg 3 only; the test runner's own venv has psycopg2 only.
PSYCOPG3_PYTHON = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '.venv', 'targets', 'psycopg3',
                                               'bin', 'python'))
DRIVERS = ('psycopg2', 'psycopg3')


def target_interpreter(driver):
    """The ansible_python_interpreter that makes the modules use driver (None: the runner's own)."""
    if driver == 'psycopg2':
        return None
    if not os.path.exists(PSYCOPG3_PYTHON):
        pytest.fail('%s is missing: run make setup' % PSYCOPG3_PYTHON)
    return PSYCOPG3_PYTHON


def ansible_env(workdir, extra=None):
    # An empty ansible.cfg of the test's own, so a developer's config cannot change the result.
    config = os.path.join(workdir, 'ansible.cfg')
    if not os.path.exists(config):
        with open(config, 'w') as f:
            f.write('[defaults]\n')
    env = dict(os.environ)
    env['ANSIBLE_CONFIG'] = config
    env.update({
        'ANSIBLE_COLLECTIONS_PATH': collections_dir(),
        'ANSIBLE_STDOUT_CALLBACK': 'ansible.posix.json',
        'ANSIBLE_CALLBACK_RESULT_FORMAT': 'json',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_RETRY_FILES_ENABLED': 'false',
    })
    env.update(extra or {})
    return env


def playbook_for(tasks, python=None, vars=None):
    return [{
        'hosts': 'localhost',
        'connection': 'local',
        'gather_facts': False,
        'vars': dict({'ansible_python_interpreter': python or sys.executable}, **(vars or {})),
        'tasks': tasks,
    }]


def start_playbook(tasks, workdir, check=False, diff=False, extra_env=None, python=None):
    """Start ansible-playbook in the background; return the Popen.

    python: the interpreter the modules run with on the (local) target.
    """
    path = os.path.join(workdir, 'play-%d.yml' % len(os.listdir(workdir)))
    with open(path, 'w') as f:
        yaml.safe_dump(playbook_for(tasks, python), f)
    argv = [os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,', path]
    if check:
        argv.append('--check')
    if diff:
        argv.append('--diff')
    return subprocess.Popen(argv, cwd=workdir, env=ansible_env(workdir, extra_env), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def task_results(proc):
    out, err = proc.communicate(timeout=600)
    try:
        report = json.loads(out)
    except ValueError:
        raise AssertionError('ansible-playbook printed no JSON (rc %s)\nstdout:\n%s\nstderr:\n%s'
                             % (proc.returncode, out, err))
    return [t['hosts']['localhost'] for play in report['plays'] for t in play['tasks']]


def run_tasks(tasks, workdir, **kw):
    return task_results(start_playbook(tasks, workdir, **kw))


def run_module(module, args, workdir, **kw):
    """Run one module task; return its result dict."""
    return run_tasks([{'name': 'under test', module: args, 'ignore_errors': True}], workdir, **kw)[0]

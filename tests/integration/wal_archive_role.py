"""The wal_archive role's task files, runnable on their own in a test's play.

Including tmi.postgresql.wal_archive itself would run its dependencies, the
common and server roles, on this host (the server role against its cluster):
a copy of the role without meta/main.yml, whose folders link to the checkout's,
runs only the task file asked for. The common role's defaults come as vars_files.
"""

import json
import os
import subprocess
import sys

import yaml

from ansible_run import ansible_env
from collection_path import REPO

ROLE = os.path.join(REPO, 'roles', 'wal_archive')
NAME = 'wal_archive_files'
COMMON_DEFAULTS = os.path.join(REPO, 'roles', 'common', 'defaults', 'main.yml')


def roles_path(workdir):
    """A roles folder in workdir holding the role, as NAME, without its dependencies."""
    base = os.path.join(workdir, 'roles')
    copy = os.path.join(base, NAME)
    if not os.path.isdir(copy):
        os.makedirs(copy)
        for name in ('defaults', 'files', 'tasks', 'templates', 'vars'):
            os.symlink(os.path.join(ROLE, name), os.path.join(copy, name))
    return base


def run_play(workdir, play):
    """Write play to workdir and run it with the role copy; (returncode, the first play's results by task name, stats)."""
    path = os.path.join(workdir, 'play.yml')
    with open(path, 'w') as f:
        yaml.safe_dump(play, f)
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), 'ansible-playbook'), '-i', 'localhost,',
                           path], cwd=workdir, capture_output=True, text=True, timeout=600, check=False,
                          env=ansible_env(workdir, {'ANSIBLE_BECOME_METHOD': 'su', 'ANSIBLE_PIPELINING': '1',
                                                    'ANSIBLE_ROLES_PATH': roles_path(workdir)}))
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError('no JSON (rc %d)\n%s\n%s' % (proc.returncode, proc.stdout[-3000:], proc.stderr[-3000:]))
    results = dict((t['task']['name'].split(' : ')[-1], t['hosts'].get('localhost', {}))
                   for t in report['plays'][0]['tasks'])
    return proc.returncode, results, report['stats']['localhost']

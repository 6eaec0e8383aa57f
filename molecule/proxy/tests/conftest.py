# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy container as a testinfra fixture, and runs of the scenario's playbook from the controller."""

import os
import re
import subprocess

import pytest
import testinfra

SCENARIO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope='module')
def proxy():
    return testinfra.get_host('ansible://tmi-px-1', ansible_inventory=os.environ['MOLECULE_INVENTORY_FILE'])


@pytest.fixture
def converge():
    """Run converge.yml again with extra arguments; return (exit status, output, changed count)."""
    def run(*args):
        argv = ['ansible-playbook', '-i', os.path.dirname(os.environ['MOLECULE_INVENTORY_FILE']),
                os.path.join(SCENARIO, 'converge.yml')] + list(args)
        done = subprocess.run(argv, capture_output=True, text=True, check=False,
                              env=dict(os.environ, NO_COLOR='1', ANSIBLE_NOCOLOR='1'))
        recap = re.search(r'tmi-px-1\s+:\s+ok=\d+\s+changed=(\d+)', done.stdout)
        return done.returncode, done.stdout + done.stderr, int(recap.group(1)) if recap else None
    return run

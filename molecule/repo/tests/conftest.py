# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The scenario's hosts as testinfra fixtures; test_drill.py, which destroys and rebuilds the database host,
runs after every other test, whatever their files' names."""

import os

import pytest
import testinfra


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.module.__name__.endswith('test_drill'))


def _host(name):
    return testinfra.get_host('ansible://%s' % name, ansible_inventory=os.environ['MOLECULE_INVENTORY_FILE'])


@pytest.fixture(scope='module')
def db():
    return _host('tmi-repo-db')


@pytest.fixture(scope='module')
def repo():
    return _host('tmi-repo-host')

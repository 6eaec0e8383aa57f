import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from collection_path import collections_dir  # noqa: E402
from pgserver import PgServer  # noqa: E402

# So that `import ansible_collections.tmi.postgresql...` finds this checkout
# (the community.* collections come from the ansible package in site-packages).
sys.path.insert(0, collections_dir())


@pytest.fixture(scope='session')
def pg_server():
    server = PgServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_db(pg_server):
    """A fresh, empty database on the session's server; dropped afterwards."""
    name = pg_server.create_database()
    yield name
    pg_server.drop_database(name)

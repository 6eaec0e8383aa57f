"""Fixtures shared by the integration tests."""

import shutil

import pytest

from ansible_run import DRIVERS, target_interpreter
from backup_helpers import make_backup_dir, make_open_dir


@pytest.fixture(params=DRIVERS)
def target_python(request):
    """The modules' interpreter: psycopg2 only, or psycopg 3 only (test ids name the driver)."""
    return target_interpreter(request.param)


@pytest.fixture
def open_dir():
    """A temporary folder the postgres user can enter (the backup script runs as postgres)."""
    path = make_open_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def backup_dir(open_dir):
    return make_backup_dir(open_dir)

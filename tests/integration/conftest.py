"""Fixtures shared by the backup, restore and upgrade tests."""

import shutil

import pytest

from backup_helpers import make_backup_dir, make_open_dir


@pytest.fixture
def open_dir():
    """A temporary folder the postgres user can enter (the backup script runs as postgres)."""
    path = make_open_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def backup_dir(open_dir):
    return make_backup_dir(open_dir)

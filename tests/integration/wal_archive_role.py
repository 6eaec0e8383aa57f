"""The wal_archive role's task files, runnable on their own in a test's play.

Including tmi.postgresql.wal_archive itself would run its dependencies, the
common and server roles, on this host (the server role against its cluster):
a copy of the role without meta/main.yml, whose folders link to the checkout's,
runs only the task file asked for. The common role's defaults come as vars_files.
"""

import os

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

"""Make this checkout importable as ansible_collections.tmi.postgresql."""

import os
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def collections_dir():
    """A folder whose ansible_collections/tmi/postgresql links to the checkout."""
    base = os.path.join(tempfile.gettempdir(), 'tmi-collections-%d' % os.getuid())
    link = os.path.join(base, 'ansible_collections', 'tmi', 'postgresql')
    if os.path.islink(link) and os.path.realpath(link) != REPO:
        os.unlink(link)
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(REPO, link)
        except FileExistsError:
            pass
    return base

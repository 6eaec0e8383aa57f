"""Make this checkout importable as ansible_collections.tmi.postgresql."""

import hashlib
import os
import tempfile

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def collections_dir():
    """A folder whose ansible_collections/tmi/postgresql links to the checkout."""
    # One folder per checkout: two clones tested at once must not share it.
    tag = hashlib.sha1(REPO.encode()).hexdigest()[:10]
    base = os.path.join(tempfile.gettempdir(), 'tmi-collections-%d-%s' % (os.getuid(), tag))
    link = os.path.join(base, 'ansible_collections', 'tmi', 'postgresql')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        try:
            os.symlink(REPO, link)
        except FileExistsError:
            pass
    return base

"""TMI's migrations as the files in files/migrations say: versions, names, the newest.

Tests derive the versions they expect from here, so adding a migration pair
(and the definition's new version) needs no change to any test.
"""

import os
import re

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
MIGRATIONS_DIR = os.path.join(REPO, 'files', 'migrations')
DEFINITION = os.path.join(REPO, 'files', 'schema', 'tmi.yml')
_UP = re.compile(r'^([0-9]+)_(.+)\.up\.sql$')


def migrations():
    """[(version, name)] of the up files, in version order."""
    found = (_UP.match(name) for name in os.listdir(MIGRATIONS_DIR))
    return sorted((int(m.group(1)), m.group(2)) for m in found if m)


VERSIONS = [version for version, name in migrations()]
NEWEST = VERSIONS[-1]


def versions_above(version):
    """The versions above `version`, in the order the up migrations run."""
    return [v for v in VERSIONS if v > version]


def joined(versions):
    return ', '.join(str(v) for v in versions)


def objects_of(definition):
    """How many objects schema validation matches in a database that fits `definition` (a loaded Definition):
    tables, columns, constraints (primary keys, unique, foreign keys, checks), indexes, and the version."""
    return sum(1 + len(t.columns) + len(t.constraints) + len(t.indexes) for t in definition.tables) + 1

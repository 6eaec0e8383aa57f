"""playbooks/dr_rebuild.yml cut down to what a throwaway server can run: the rebuild's own first play and its import
of dr_pitr.yml or dr_restore.yml, as the playbook has them (names, conditions, no vars). The plays that provision a
host (server, ssl, pg_hba, wal_archive, site.yml) and the final login check need a whole host: the Molecule dr
scenario runs those.
"""

import os

import yaml

from collection_path import REPO

REBUILD = os.path.join(REPO, 'playbooks', 'dr_rebuild.yml')


def rebuild_handover_playbook(workdir, restore):
    """Write the cut-down playbook into workdir and return its path; restore: 'dr_pitr.yml' or 'dr_restore.yml'."""
    with open(REBUILD) as f:
        plays = yaml.safe_load(f)
    check = plays[0]
    assert [r['role'] for r in check['roles']] == ['tmi.postgresql.dr_rebuild'], check
    imports = [p for p in plays if p.get('ansible.builtin.import_playbook') == restore]
    assert len(imports) == 1, 'dr_rebuild.yml imports %s %d times' % (restore, len(imports))
    entry = dict(imports[0], **{'ansible.builtin.import_playbook': os.path.join(REPO, 'playbooks', restore)})
    path = os.path.join(workdir, 'dr_rebuild_handover.yml')
    with open(path, 'w') as f:
        yaml.safe_dump([check, entry], f, sort_keys=False)
    return path

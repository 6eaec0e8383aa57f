"""dr_rebuild's input check with a repository host (wal_archive_repo_host): the stanza is read on the repository host,
by its inventory name, before the new database host is touched.

The throwaway cluster's own repository stands in for the repository host's: localhost is both hosts here, and the
"repository host" runs pgBackRest as postgres with the cluster's configuration (pgbackrest_repo_user,
pgbackrest_repo_config_file). The rebuild over TLS on a fresh host is the Molecule scenario repo's drill.
"""

import os

import pytest
import yaml

from collection_path import REPO
from pitr_helpers import STANZA, TARGET_PYTHON, run_playbook, start_archiving_cluster

SET_PLAN = 'Set dr_rebuild_plan for the later plays, and the request to dr_pitr or dr_restore.'
NO_BACKUP = 'Fail when the repository holds no backup of the stanza.'
NOT_IN_INVENTORY = 'Fail when the repository host is not in the inventory.'
STANZA_HELD = "Fail when the repository holds the lost cluster's stanza but the source is logical."


@pytest.fixture
def cluster():
    started = start_archiving_cluster(archive_timeout=60)
    yield started
    started.stop()


def check_play(workdir):
    """The rebuild's first play (the input check), as playbooks/dr_rebuild.yml has it."""
    with open(os.path.join(REPO, 'playbooks', 'dr_rebuild.yml')) as f:
        check = yaml.safe_load(f)[0]
    assert [r['role'] for r in check['roles']] == ['tmi.postgresql.dr_rebuild'], check
    path = os.path.join(workdir, 'dr_rebuild_check.yml')
    with open(path, 'w') as f:
        yaml.safe_dump([check], f)
    return path


def run_check(cluster, workdir, stanza=STANZA, **extra):
    variables = dict(ansible_python_interpreter=TARGET_PYTHON, tmi_postgresql_hosts='localhost',
                     wal_archive_repo_host='localhost', pgbackrest_repo_user='postgres',
                     pgbackrest_repo_config_file=cluster.config, tmi_postgresql_pgbackrest_stanza=stanza,
                     # No local repository: only the repository host holds the stanza.
                     tmi_postgresql_pgbackrest_repo=os.path.join(workdir, 'no-local-repository'))
    variables.update(extra)
    return run_playbook(workdir, variables, playbook=check_play(workdir))


def test_the_stanza_is_found_on_the_repository_host(cluster, tmp_path):
    cluster.pgbackrest('--type=full', 'backup')
    rc, tasks = run_check(cluster, str(tmp_path))
    assert rc == 0, {k: v for k, v in tasks.items() if v.get('failed')}
    assert '--config=' + cluster.config in tasks['Read the stanza and its backups on the repository host.']['cmd']
    assert tasks[SET_PLAN]['ansible_facts']['dr_rebuild_plan']['source'] == 'pgbackrest'
    assert 'Find the stanza in the local repository.' not in tasks or tasks['Find the stanza in the local repository.'].get('skipped')


def test_a_stanza_without_a_backup_on_the_repository_host_is_refused(cluster, tmp_path):
    # The cluster's stanza exists, with no backup yet.
    rc, tasks = run_check(cluster, str(tmp_path))
    assert rc != 0
    msg = tasks[NO_BACKUP]['msg']
    assert msg.startswith('The repository host localhost holds no backup of stanza tmi'), msg
    assert msg.endswith('Nothing was changed.')
    assert SET_PLAN not in tasks


def test_a_repository_host_missing_from_the_inventory_is_named(cluster, tmp_path):
    rc, tasks = run_check(cluster, str(tmp_path), wal_archive_repo_host='backup1.invalid')
    assert rc != 0
    msg = tasks[NOT_IN_INVENTORY]['msg']
    assert msg.startswith('dr_rebuild_repo_inventory_host (backup1.invalid, by default wal_archive_repo_host) names no host')
    assert SET_PLAN not in tasks


def test_a_logical_rebuild_is_refused_while_the_repository_host_holds_the_stanza(cluster, tmp_path):
    backup_dir = tmp_path / 'backups'
    backup_dir.mkdir()
    rc, tasks = run_check(cluster, str(tmp_path), dr_rebuild_source='logical', tmi_postgresql_backup_dir=str(backup_dir))
    assert rc != 0
    assert tasks[STANZA_HELD]['msg'].startswith('The repository on localhost holds stanza tmi of the lost cluster.')
    assert SET_PLAN not in tasks

import pytest

from ansible_collections.tmi.postgresql.plugins.filter.major_upgrade import major_upgrade_plan
from ansible_collections.tmi.postgresql.plugins.module_utils.major_upgrade import apt_candidate

POLICY_17 = '''postgresql-17:
  Installed: (none)
  Candidate: 17.6-0+deb13u1
  Version table:
     17.6-0+deb13u1 500
'''
POLICY_NONE = 'postgresql-17:\n  Installed: (none)\n  Candidate: (none)\n  Version table:\n'
AT_NEWEST = {'version': 8, 'newest': 8, 'dirty': False}
VALID = {'valid': True, 'errors': []}


def entry(version, running=1, port=5432, cluster='main'):
    return {'version': version, 'cluster': cluster, 'running': running, 'port': str(port),
            'pgdata': '/var/lib/postgresql/%s/%s' % (version, cluster)}


def plan(clusters, version=17, **kwargs):
    kwargs.setdefault('apt_policy', POLICY_17)
    return major_upgrade_plan(clusters, version, 'main', **kwargs)


def refused(result, *words):
    assert result['action'] == 'refuse'
    assert result['message'].endswith('Nothing was changed.')
    for word in words:
        assert word in result['message']
    return result


@pytest.mark.parametrize('policy, candidate', [
    (POLICY_17, '17.6-0+deb13u1'), (POLICY_NONE, None), ('', None), (None, None),
])
def test_apt_candidate_reads_the_policy(policy, candidate):
    assert apt_candidate(policy) == candidate


@pytest.mark.parametrize('method, options', [
    ('link', ['--method=upgrade', '--link']), ('clone', ['--method=upgrade', '--clone']),
    ('copy', ['--method=upgrade']),
])
def test_a_running_older_cluster_with_a_valid_newest_schema_is_upgraded(method, options):
    result = plan([entry(15)], method=method, migration=AT_NEWEST, validation=VALID)
    assert result['action'] == 'upgrade'
    assert result['argv'] == ['pg_upgradecluster', '-v', '17'] + options + ['15', 'main']
    assert result['drop_argv'] == ['pg_dropcluster', '--stop', '15', 'main']
    assert (result['old_version'], result['new_version'], result['old_port']) == (15, 17, 5432)
    assert result['errors'] == []


def test_link_has_no_way_back_but_the_backup():
    assert 'backup' in plan([entry(15)], migration=AT_NEWEST, validation=VALID)['way_back']
    assert 'major_upgrade_way_back=true' in plan([entry(15)], method='copy', migration=AT_NEWEST,
                                                 validation=VALID)['way_back']


def test_without_the_schema_read_the_plan_asks_for_it():
    result = plan([entry(15)])
    assert result['needs_schema'] and result['action'] == 'upgrade' and result['argv'] == []


@pytest.mark.parametrize('version', [15, '15'])
def test_the_same_version_is_refused(version):
    refused(plan([entry(15)], version=version), 'already runs PostgreSQL 15', 'tmi_postgresql_version')


def test_a_downgrade_is_refused_naming_the_variable():
    refused(plan([entry(17)], version=15), 'tmi_postgresql_version is 15', '17/main', 'downgrade')


def test_a_downgrade_after_an_upgrade_is_refused():
    refused(plan([entry(15, running=0, port=5433), entry(17)], version=15), 'downgrade')


def test_a_target_apt_cannot_install_is_refused():
    refused(plan([entry(15)], apt_policy=POLICY_NONE), 'no candidate for postgresql-17', 'tmi_postgresql_version is 17')


@pytest.mark.parametrize('version', [12, 19, 'x', None, True])
def test_a_version_out_of_range_is_refused(version):
    refused(plan([entry(15)], version=version), 'tmi_postgresql_version')


def test_an_unknown_method_is_refused():
    refused(plan([entry(15)], method='dump'), 'major_upgrade_method')


def test_ha_is_refused_and_points_to_the_docs():
    refused(plan([entry(15)], ha=True), 'Patroni', 'docs/postgresql-versions.md')


def test_no_cluster_is_refused():
    refused(plan([entry(15, cluster='other')]), 'no cluster main', '15/other')
    refused(plan([]), 'none')


def test_a_stopped_old_cluster_is_refused():
    refused(plan([entry(15, running=0)]), 'is down')


@pytest.mark.parametrize('migration, words', [
    ({'version': 7, 'newest': 8, 'dirty': False}, ['migration 7', 'not the newest (8)', 'upgrade.yml']),
    ({'version': 8, 'newest': 8, 'dirty': True}, ['dirty']),
    (None, []),
])
def test_a_schema_not_at_the_newest_migration_or_dirty_is_refused(migration, words):
    result = plan([entry(15)], migration=migration if migration else 'unreadable', validation=VALID)
    refused(result, *words)
    assert result['argv'] == []


def test_a_schema_failing_validation_is_refused_with_its_findings():
    validation = {'valid': False, 'errors': [{'message': 'table users missing'}]}
    refused(plan([entry(15)], migration=AT_NEWEST, validation=validation), 'fails validation', 'table users missing')


def test_every_reason_is_given_at_once():
    result = refused(plan([entry(15, running=0)], apt_policy=POLICY_NONE))
    assert len(result['errors']) == 2
    assert all(error.endswith('Nothing was changed.') for error in result['errors'])


def test_a_finished_upgrade_is_refused_until_confirmed_then_dropped():
    clusters = [entry(15, running=0, port=5433), entry(17)]
    refused(plan(clusters), 'not confirmed', 'major_upgrade_confirm=true', 'port 5433')
    result = plan(clusters, confirm=True)
    assert result['action'] == 'confirm'
    assert result['drop_argv'] == ['pg_dropcluster', '--stop', '15', 'main']


@pytest.mark.parametrize('clusters, words', [
    ([entry(15, running=0, port=5433), entry(17, running=0)], ['unfinished', 'new cluster 17/main is down']),
    ([entry(15, port=5433), entry(17)], ['unfinished', 'old cluster 15/main is running']),
    ([entry(13, running=0, port=5434), entry(15, running=0, port=5433), entry(17)], ['more than one older']),
])
def test_an_unfinished_upgrade_is_refused_even_with_confirm(clusters, words):
    refused(plan(clusters), *words)
    refused(plan(clusters, confirm=True), *words)


def test_two_older_clusters_are_refused_before_an_upgrade():
    refused(plan([entry(13, running=0, port=5433), entry(15)]), '13/main, 15/main')


def test_a_confirmed_upgrade_is_done():
    assert plan([entry(17)], confirm=True)['action'] == 'done'


DPKG_15 = ['installed postgresql-15', 'installed postgresql-15-pgaudit', 'installed postgresql-client-15',
           'config-files postgresql-15-postgis-3', 'installed postgresql-common', 'installed postgresql-15-',
           'installed postgresql-13-cron']


def test_the_new_version_gets_the_old_version_s_installed_extensions():
    result = plan([entry(15)], migration=AT_NEWEST, validation=VALID, installed_packages=DPKG_15)
    # pgaudit's counterpart; not postgis (only its configuration is left), not 13's cron, not a bare prefix.
    assert result['packages'] == ['postgresql-17', 'postgresql-client-17', 'postgresql-17-pgaudit']


def test_without_extensions_the_server_and_the_client_are_installed():
    for installed in (None, [], ['installed postgresql-15']):
        result = plan([entry(15)], migration=AT_NEWEST, validation=VALID, installed_packages=installed)
        assert result['packages'] == ['postgresql-17', 'postgresql-client-17']


def test_a_refused_plan_installs_nothing():
    result = refused(plan([entry(15)], migration={'version': 7, 'newest': 8}, validation=VALID,
                          installed_packages=DPKG_15), 'newest')
    assert result['packages'] == []


def test_clone_without_reflinks_is_refused_with_every_other_reason():
    result = refused(plan([entry(15)], method='clone', reflink_error='cp: failed to clone: Operation not supported'),
                     'major_upgrade_method is clone', 'Operation not supported', 'use copy')
    assert result['argv'] == [] and not result['needs_schema']
    result = refused(plan([entry(15, running=0)], method='clone', reflink_error=''), 'no reflinks (cp --reflink=always: failed)')
    assert len(result['errors']) == 2


def test_clone_with_reflinks_and_copy_are_not_probed():
    assert plan([entry(15)], method='clone', reflink_error=None)['action'] == 'upgrade'
    # Only clone needs reflinks.
    assert plan([entry(15)], method='copy', reflink_error='not supported')['action'] == 'upgrade'


# The way back (major_upgrade_way_back): 15 upgraded to 17 by copy, 17 on TMI's port 5432, 15 kept on 5433.
OLD, NEW = '/var/lib/postgresql/15/main', '/var/lib/postgresql/17/main'
CONTROLS = {OLD: True, NEW: True}
COPY_SUMMARY = {'from_version': '15', 'to_version': '17', 'method': 'copy', 'backup_file': '/var/backups/tmi.dump'}
UPGRADED = [entry(15, running=0, port=5433), entry(17)]


def back(clusters, version=17, **kwargs):
    kwargs.setdefault('controls', CONTROLS)
    kwargs.setdefault('summary', COPY_SUMMARY)
    kwargs.setdefault('port', 5432)
    return plan(clusters, version=version, way_back=True, **kwargs)


@pytest.mark.parametrize('version', [17, 15, None, 'x'])
def test_the_way_back_of_a_copy_upgrade_swaps_the_ports_and_starts_the_old_cluster(version):
    result = back(UPGRADED, version=version)
    assert result['action'] == 'way_back' and result['errors'] == []
    assert result['way_back_steps'] == {'stop_new': True, 'move_new': True, 'move_old': True, 'start_old': True}
    assert result['changes']
    assert (result['old_version'], result['new_version'], result['old_port'], result['new_port']) == (15, 17, 5432, 5433)
    assert (result['old_data_dir'], result['new_data_dir']) == (OLD, NEW)
    assert 'tmi_postgresql_version: 15' in result['way_back'] and 'pg_dropcluster 17 main' in result['way_back']
    assert result['argv'] == [] and result['drop_argv'] == []


def test_a_way_back_already_done_changes_nothing():
    result = back([entry(15, port=5432), entry(17, running=0, port=5433)], summary=dict(COPY_SUMMARY, went_back='T'))
    assert result['action'] == 'way_back'
    assert not any(result['way_back_steps'].values()) and not result['changes']
    assert result['new_port'] == 5433


@pytest.mark.parametrize('clusters, steps', [
    # Interrupted after the stop.
    ([entry(15, running=0, port=5433), entry(17, running=0)], {'move_new', 'move_old', 'start_old'}),
    # Interrupted after the new cluster's port was set: both on 5433 in their files.
    ([entry(15, running=0, port=5433), entry(17, running=0, port=5433)], {'move_old', 'start_old'}),
    # Interrupted before the start.
    ([entry(15, running=0, port=5432), entry(17, running=0, port=5433)], {'start_old'}),
])
def test_an_interrupted_way_back_resumes(clusters, steps):
    result = back(clusters)
    assert result['action'] == 'way_back'
    assert set(step for step, todo in result['way_back_steps'].items() if todo) == steps
    assert result['new_port'] == 5433


@pytest.mark.parametrize('kwargs, words', [
    ({'summary': dict(COPY_SUMMARY, method='link')}, ['pg_upgrade --link', '/var/backups/tmi.dump', 'dr_restore.yml']),
    ({'controls': {OLD: False, NEW: True}}, ['--link', 'pg_control.old', 'the logical backup /var/backups/tmi.dump']),
    ({'controls': {OLD: False, NEW: True}, 'summary': None}, ['--link', 'the logical backup taken first']),
    ({'controls': {}}, ['global/pg_control could not be read']),
    ({'confirm': True}, ['major_upgrade_way_back and major_upgrade_confirm are both true']),
    ({'port': None}, ['major_upgrade_port']),
])
def test_the_way_back_is_refused_after_link_or_with_confirm(kwargs, words):
    result = refused(back(UPGRADED, **kwargs), *words)
    assert result['way_back_steps'] == {} or not any(result['way_back_steps'].values())


def test_a_summary_of_another_upgrade_is_not_read():
    # A link upgrade 13 -> 15 long ago; now 15 -> 17 by copy, whose summary was not written.
    assert back(UPGRADED, summary={'from_version': 13, 'to_version': 15, 'method': 'link'})['action'] == 'way_back'


def test_the_way_back_after_the_confirmation_is_refused_naming_it():
    summary = dict(COPY_SUMMARY, confirmed='2026-12-04T05:00:00Z', dropped='15/main')
    refused(back([entry(17)], summary=summary), 'was confirmed', '2026-12-04T05:00:00Z', '15/main dropped',
            '/var/backups/tmi.dump')


@pytest.mark.parametrize('clusters, words', [
    ([entry(17)], ['only cluster 17/main', 'no old cluster is kept']),
    ([entry(15)], ['only cluster 15/main']),
    ([], ['no cluster main']),
    ([entry(13, running=0, port=5434), entry(15, running=0, port=5433), entry(17)], ['13/main, 15/main, 17/main']),
    ([entry(15, port=5433), entry(17)], ['Both 15/main and 17/main run', 'pg_ctlcluster 15 main stop']),
    ([entry(15, port=5433), entry(17, running=0, port=5432)], ['15/main runs on port 5433, not on 5432']),
    ([entry(15, running=0, port=5432), entry(17, running=0, port=5432)], ['both set to port 5432']),
])
def test_the_way_back_is_refused_in_states_it_does_not_handle(clusters, words):
    refused(back(clusters), *words)


def test_the_way_back_is_refused_on_a_patroni_host():
    refused(back(UPGRADED, ha=True), 'Patroni')


def test_after_the_way_back_an_upgrade_asks_to_drop_the_new_cluster():
    clusters = [entry(15, port=5432), entry(17, running=0, port=5433)]
    refused(plan(clusters, summary=dict(COPY_SUMMARY, went_back='2026-12-04T05:30:00Z')),
            'undone (major_upgrade_way_back) at 2026-12-04T05:30:00Z', 'pg_dropcluster 17 main')
    # Without the summary's word: the unfinished state, with the way back named.
    refused(plan(clusters), 'unfinished', 'major_upgrade_way_back=true')


def test_an_upgrade_with_a_repository_host_is_refused_with_the_others():
    result = refused(plan([entry(15)], migration=AT_NEWEST, validation=VALID, repo_host='backup1', apt_policy=POLICY_NONE),
                     "wal_archive_repo_host is 'backup1'", 'repository host backup1',
                     'With a repository host')
    assert len(result['errors']) == 2
    assert result['argv'] == []


def test_without_a_repository_host_the_upgrade_goes_on():
    assert plan([entry(15)], migration=AT_NEWEST, validation=VALID, repo_host='')['action'] == 'upgrade'

from ansible_collections.tmi.postgresql.plugins.filter.verified_backups import unverified_stanzas, verified_full_backups


def backup(label, kind='full', repo=1, verified=False):
    entry = {'label': label, 'type': kind, 'database': {'id': 1, 'repo-key': repo}}
    if verified:
        entry['annotation'] = {'tmi-verified': '2026-12-02T09:00:00Z'}
    return entry


def test_only_annotated_full_backups_count():
    backups = [backup('A', verified=True), backup('B'), backup('C', kind='diff', verified=True), backup('D', verified=True)]
    assert verified_full_backups(backups) == ['A', 'D']


def test_another_annotation_does_not_count():
    other = backup('A')
    other['annotation'] = {'owner': 'ops'}
    assert verified_full_backups([other]) == []


def test_a_repository_key_keeps_that_repositorys_backups_only():
    backups = [backup('old', repo=2, verified=True), backup('new', repo=1)]
    assert verified_full_backups(backups, 1) == []
    assert verified_full_backups(backups, 2) == ['old']
    assert verified_full_backups(None) == []


def test_existing_stanzas_without_a_verified_full_backup_are_listed():
    info = [
        {'name': 'none', 'status': {'code': 2}, 'backup': []},
        {'name': 'unverified', 'status': {'code': 0}, 'backup': [backup('A'), backup('B', kind='diff')]},
        {'name': 'verified', 'status': {'code': 0}, 'backup': [backup('A', verified=True), backup('B')]},
        {'name': 'missing', 'status': {'code': 1}, 'backup': []},
        {'name': 'mixed', 'status': {'code': 4}, 'backup': []},
    ]
    assert unverified_stanzas(info) == ['none', 'unverified']
    assert unverified_stanzas(None) == []

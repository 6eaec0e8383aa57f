import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.dump_sources import dump_source_errors, dump_sources
from ansible_collections.tmi.postgresql.plugins.module_utils.dump_sources import check

SETTINGS = dict(port=5432, database='tmi', cluster='15-main', user='tmi_backup',
                ca_path='/etc/postgresql/15/main/tls/ca.crt', password_dir='/home/op/.config/tmi')
PEM = '-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n'


def faults(sources):
    return check(sources, **SETTINGS)[1]


def test_an_entry_gets_the_settings_and_the_db_hosts_password_file():
    [entry] = dump_sources([{'name': 'db1.example.org'}], **SETTINGS)
    assert entry == {'name': 'db1.example.org', 'host': 'db1.example.org', 'label': 'db1_example_org', 'port': 5432,
                     'database': 'tmi', 'cluster': '15-main', 'user': 'tmi_backup',
                     'ca_path': '/etc/postgresql/15/main/tls/ca.crt',
                     'password_file': '/home/op/.config/tmi/db1.example.org/tmi_backup.password'}


def test_an_entry_sets_its_own_fields():
    [entry] = dump_sources([{'name': 'db1', 'host': 'localhost', 'port': '25432', 'password': 'x' * 20,
                             'ca_certificate': PEM, 'user': 'dumper'}], **SETTINGS)
    assert (entry['host'], entry['port'], entry['password'], entry['ca_certificate'], entry['user']) == (
        'localhost', 25432, 'x' * 20, PEM, 'dumper')
    assert 'password_file' not in entry


def test_no_entries_is_no_dump():
    assert dump_sources([], **SETTINGS) == []


@pytest.mark.parametrize('sources, message', [
    ({'name': 'db1'}, 'dump_repo_sources must be a list of database hosts'),
    (['db1'], 'dump_repo_sources[0] is a str, not a mapping with name.'),
    ([{'host': 'db1'}], "dump_repo_sources[0]: name is None"),
    ([{'name': 'db1', 'prot': 1}], 'dump_repo_sources[0] (db1): unknown field(s) prot'),
    ([{'name': 'db1', 'port': 0}], 'dump_repo_sources[0] (db1): port is 0: a whole number from 1 to 65535.'),
    ([{'name': 'db1', 'port': True}], 'dump_repo_sources[0] (db1): port is True'),
    ([{'name': 'db1', 'port': '5432x'}], "dump_repo_sources[0] (db1): port is '5432x'"),
    ([{'name': 'db1', 'database': ''}], "dump_repo_sources[0] (db1): database is ''"),
    ([{'name': 'db.1'}, {'name': 'db_1'}], 'dump_repo_sources[1] (db_1): name db_1 gives the file names of '
                                           'dump_repo_sources[0] (db.1) (db_1) again.'),
    ([{'name': 'db1', 'password': ''}], 'dump_repo_sources[0] (db1): password is empty'),
    ([{'name': 'db1', 'password': 'p' * 20, 'password_file': '/x'}], 'give password or password_file, not both'),
    ([{'name': 'db1', 'ca_certificate': 'MII...'}], 'dump_repo_sources[0] (db1): ca_certificate is not a PEM'),
])
def test_a_wrong_list_is_refused_naming_the_entry_and_field(sources, message):
    found = faults(sources)
    assert any(message in fault for fault in found), found


def test_every_fault_is_reported_at_once_and_never_a_password():
    found = dump_source_errors([{'name': 'db1', 'port': 0, 'password': 'secret-pw', 'password_file': '/x'},
                                {'name': 'db2', 'user': ''}], **SETTINGS)
    assert len(found) == 3 and not any('secret-pw' in fault for fault in found), found
    with pytest.raises(AnsibleFilterError) as caught:
        dump_sources([{'name': 'db1', 'port': 0, 'password': 'secret-pw'}], **SETTINGS)
    assert str(caught.value).endswith('Nothing was changed.') and 'secret-pw' not in str(caught.value)

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.patroni_wait import wait_error

NAMES = {'member': 'db2', 'replication_role': 'tmi_replication',
         'replication_password_file': '/home/op/.config/tmi/tmi/tmi_replication.password',
         'replication_password_set': 'False', 'rewind_role': 'tmi_rewind',
         'rewind_password_file': '/home/op/.config/tmi/tmi/tmi_rewind.password', 'member_address': '10.0.0.12',
         'unit': 'patroni@15-main'}
LINE = 'FATAL:  could not connect to the primary server: ... password authentication failed for user "tmi_replication"'


def result(**cause):
    return {'ready': False, 'waited': 6.2, 'state': 'running as a standby that does not stream from the leader',
            'cause': dict({'kind': 'password', 'role': 'tmi_replication', 'host': None, 'source': 'LOG', 'line': LINE},
                          **cause) if cause is not None else None, 'log_tail': []}


def test_a_member_that_runs_has_no_message():
    assert wait_error({'ready': True}, NAMES) == ''


def test_a_wrong_replication_password_names_the_role_the_file_and_the_line():
    message = wait_error(result(), NAMES)
    assert message.startswith('db2 does not stream from the leader after 6.2 s: the leader refuses the password of the '
                              'replication role tmi_replication (LOG: %s).' % LINE)
    assert ('server_replication_password, from the controller file /home/op/.config/tmi/tmi/tmi_replication.password '
            '(server_replication_password_file, under tmi_postgresql_password_dir)') in message


def test_a_replication_password_from_the_inventory_names_the_variable():
    message = wait_error(result(), dict(NAMES, replication_password_set=True))
    assert 'from tmi_postgresql_replication_password (set in the inventory or a vault)' in message


def test_a_wrong_rewind_password_names_its_file():
    message = wait_error(result(role='tmi_rewind'), NAMES)
    assert 'pg_rewind role tmi_rewind' in message and 'patroni_rewind_password_file' in message


def test_a_missing_pg_hba_line_names_the_member_address():
    message = wait_error(result(kind='hba', host='10.0.0.99'), NAMES)
    assert 'no pg_hba line for replication as tmi_replication from 10.0.0.99' in message
    assert 'patroni_member_address of each member (now 10.0.0.12 for db2)' in message


def test_a_missing_role():
    assert 'the role tmi_replication does not exist on the leader' in wait_error(result(kind='missing_role'), NAMES)


def test_no_known_cause_gives_the_state_and_the_journal():
    timed_out = dict(result(), cause=None, waited=180.3, state='Patroni says PostgreSQL is creating replica',
                     log_tail=['INFO: a', 'INFO: b'])
    assert wait_error(timed_out, NAMES) == (
        'db2 did not run as the leader or as a streaming standby within 180.3 s: Patroni says PostgreSQL is creating '
        "replica. Patroni's journal (journalctl -u patroni@15-main) ends with: INFO: a | INFO: b")


def test_not_a_result():
    with pytest.raises(AnsibleFilterError):
        wait_error(None, NAMES)

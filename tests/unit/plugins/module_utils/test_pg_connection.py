"""pg_connection.module_connection: errors of the body become the module's failure; the connection is always closed.

The connection is a stand-in that records its close (connect itself is community.postgresql's, run against a real
server by the integration tests of every module that uses module_connection); the driver errors are the installed
driver's own classes.
"""

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils import pg_connection
from ansible_collections.tmi.postgresql.plugins.module_utils.pg_connection import DATABASE_ERRORS, module_connection

DRIVER_ERROR = DATABASE_ERRORS[0]


class Failed(Exception):
    """What AnsibleModule.fail_json does: it never returns (it exits)."""


class Module(object):
    def __init__(self):
        self.params = {}
        self.failures = []

    def fail_json(self, **kwargs):
        self.failures.append(kwargs)
        raise Failed(kwargs['msg'])


class Connection(object):
    def __init__(self):
        self.closed = 0

    def close(self):
        self.closed += 1


class Wrapped(object):
    """Like MigrationDatabase: holds the connection and closes it itself."""

    def __init__(self, conn):
        self.conn = conn
        self.closed = 0

    def close(self):
        self.closed += 1
        self.conn.close()


class Fail(object):
    """A fail option that records what it was called with and, like fail_json, does not return."""

    def __init__(self):
        self.calls = []

    def __call__(self, msg, handle):
        self.calls.append((msg, handle))
        raise Failed(msg)


class RefusedError(Exception):
    pass


class OtherError(Exception):
    pass


@pytest.fixture
def conn(monkeypatch):
    opened = Connection()
    monkeypatch.setattr(pg_connection, 'connect', lambda module: opened)
    return opened


def failure(module, *expected_errors, **options):
    """Run a body that raises options['raised'] in module_connection; return the message it failed with."""
    raised = options.pop('raised')
    with pytest.raises(Failed):
        with module_connection(module, *expected_errors, **options):
            raise raised
    assert len(module.failures) == 1
    return module.failures[0]['msg']


def test_the_body_gets_the_connection_which_is_closed_after_it(conn):
    module = Module()
    with module_connection(module) as handle:
        assert handle is conn
        assert conn.closed == 0
    assert conn.closed == 1
    assert module.failures == []


def test_an_expected_error_fails_with_its_own_text(conn):
    assert failure(Module(), RefusedError, OtherError, raised=OtherError('roles: no such role. Nothing was changed.')) \
        == 'roles: no such role. Nothing was changed.'
    assert conn.closed == 1


def test_a_driver_error_fails_as_a_database_error(conn):
    assert failure(Module(), RefusedError, raised=DRIVER_ERROR('server closed the connection unexpectedly')) \
        == 'database error: server closed the connection unexpectedly'
    assert conn.closed == 1


def test_the_module_names_what_it_was_reading_when_the_driver_failed(conn):
    assert failure(Module(), database_message='cannot read pg_stat_archiver',
                   raised=DRIVER_ERROR('permission denied')) == 'cannot read pg_stat_archiver: permission denied'


def test_an_error_of_a_class_not_named_is_not_turned_into_a_failure(conn):
    module = Module()
    with pytest.raises(RefusedError):
        with module_connection(module, OtherError):
            raise RefusedError('a bug, with its traceback')
    assert module.failures == []
    assert conn.closed == 1


def test_a_failure_of_the_body_itself_passes_through_and_the_connection_is_closed(conn):
    module = Module()
    with pytest.raises(Failed):
        with module_connection(module, RefusedError):
            module.fail_json(msg='timeout: 0 is not a number of seconds')
    assert module.failures == [{'msg': 'timeout: 0 is not a number of seconds'}]
    assert conn.closed == 1


def test_a_wrapped_connection_is_yielded_and_closed_through_its_own_close(conn):
    with module_connection(Module(), wrap=Wrapped) as db:
        assert isinstance(db, Wrapped) and db.conn is conn
    assert db.closed == 1
    assert conn.closed == 1


def test_fail_gets_the_message_and_the_wrapped_connection(conn):
    fail = Fail()
    with pytest.raises(Failed):
        with module_connection(Module(), RefusedError, wrap=Wrapped, fail=fail) as db:
            raise DRIVER_ERROR('deadlock detected')
    assert fail.calls == [('database error: deadlock detected', db)]
    assert db.closed == 1


def test_when_wrapping_fails_fail_gets_no_handle_and_the_connection_is_closed(conn):
    fail = Fail()

    def refuse(connection):
        raise RefusedError('no current schema')

    with pytest.raises(Failed):
        with module_connection(Module(), RefusedError, wrap=refuse, fail=fail):
            pytest.fail('the body must not run')
    assert fail.calls == [('no current schema', None)]
    assert conn.closed == 1


def test_when_connect_fails_the_module_fails_with_its_message(monkeypatch):
    module = Module()
    monkeypatch.setattr(pg_connection, 'connect',
                        lambda m: m.fail_json(msg='unable to connect to database: connection refused'))
    with pytest.raises(Failed):
        with module_connection(module, RefusedError):
            pytest.fail('the body must not run')
    assert module.failures == [{'msg': 'unable to connect to database: connection refused'}]


def test_an_unknown_option_is_a_programming_error(conn):
    with pytest.raises(TypeError, match='database_mesage'):
        with module_connection(Module(), database_mesage='typo'):
            pytest.fail('the body must not run')

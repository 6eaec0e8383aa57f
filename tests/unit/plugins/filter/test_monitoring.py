"""tmi.postgresql.exporter_listen_errors, exporter_listen_is_loopback and exporter_dsn."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six.moves.urllib.parse import unquote
from ansible_collections.tmi.postgresql.plugins.filter.monitoring import (
    exporter_dsn,
    exporter_listen_errors,
    exporter_listen_is_loopback,
)


@pytest.mark.parametrize('listen', ['127.0.0.1:9187', '127.0.0.2:1', 'localhost:9100', '[::1]:9187', 'LOCALHOST:65535'])
def test_loopback_addresses_are_accepted_without_auth(listen):
    assert exporter_listen_errors({'monitoring_exporter_listen': listen}) == []
    assert exporter_listen_is_loopback(listen) is True


@pytest.mark.parametrize('listen', ['0.0.0.0:9187', ':9187', '10.0.0.5:9187', '[::]:9187', 'db1.example.org:9187'])
def test_wider_addresses_are_refused_without_basic_auth_naming_the_variable(listen):
    errors = exporter_listen_errors({'monitoring_exporter_listen': listen})
    assert len(errors) == 1
    assert errors[0].startswith('monitoring_exporter_listen is %s, which is not a loopback address' % listen)
    assert 'monitoring_web_basic_auth' in errors[0]
    assert exporter_listen_is_loopback(listen) is False


@pytest.mark.parametrize('listen', ['0.0.0.0:9187', ':9187', '[::]:9187'])
def test_wider_addresses_are_accepted_with_basic_auth(listen):
    assert exporter_listen_errors({'monitoring_exporter_listen': listen}, True) == []


@pytest.mark.parametrize('listen, why', [
    ('127.0.0.1', 'no port'),
    ('127.0.0.1:', 'the port (empty) is not 1 to 65535'),
    ('127.0.0.1:0', 'the port 0 is not 1 to 65535'),
    ('127.0.0.1:70000', 'the port 70000 is not 1 to 65535'),
    ('127.0.0.1:http', 'the port http is not 1 to 65535'),
    ('::1:9187', 'an IPv6 address goes in brackets'),
    ('[::1]9187', 'not [ADDRESS]:PORT'),
    ('[nothere]:9187', 'nothere is not an IPv6 address'),
    ('', 'not HOST:PORT'),
    (9187, 'not HOST:PORT'),
])
def test_malformed_addresses_are_refused_even_with_basic_auth(listen, why):
    errors = exporter_listen_errors({'monitoring_node_exporter_listen': listen}, True)
    assert len(errors) == 1
    assert errors[0].startswith('monitoring_node_exporter_listen is %r: ' % (listen,))
    assert why in errors[0]


def test_two_exporters_on_one_port_are_refused():
    errors = exporter_listen_errors({'a': '127.0.0.1:9100', 'b': '127.0.0.2:9100'})
    assert errors == ['a and b both use port 9100: each exporter needs its own.']


def test_the_filter_needs_a_mapping():
    with pytest.raises(AnsibleFilterError):
        exporter_listen_errors(['127.0.0.1:9187'])
    with pytest.raises(AnsibleFilterError):
        exporter_listen_is_loopback('nope')


def test_the_dsn_of_the_unix_socket():
    assert (exporter_dsn('tmi_monitor', 'abc123', 'tmi', '/var/run/postgresql', 5432)
            == 'postgresql://tmi_monitor:abc123@/tmi?host=%2Fvar%2Frun%2Fpostgresql&port=5432&sslmode=disable')


def test_the_dsn_encodes_every_character_a_shell_or_url_would_read():
    password = "p@ss:w/o'r\"d $x&y=z?#% \\"
    dsn = exporter_dsn('mon', password, 'my db', 'db1', '5433', 'verify-full')
    for character in "'\" $\\`#":
        assert character not in dsn
    userinfo = dsn[len('postgresql://'):dsn.index('@/')]
    assert unquote(userinfo.split(':')[1]) == password
    assert dsn.endswith('@/my%20db?host=db1&port=5433&sslmode=verify-full')


@pytest.mark.parametrize('args', [
    ('', 'pw', 'tmi', '/run', 5432),
    ('u', '', 'tmi', '/run', 5432),
    ('u', None, 'tmi', '/run', 5432),
    ('u', 'pw', 'tmi', '/run', 'port'),
])
def test_the_dsn_refuses_missing_parts(args):
    with pytest.raises(AnsibleFilterError):
        exporter_dsn(*args)

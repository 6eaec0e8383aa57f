import json

from ansible_collections.tmi.postgresql.plugins.module_utils.pgbackrest_info import parse_info, printable, unreadable_stanzas

GARBLED = b'[FormatError] unable to load info file: key/value found outside of section at line 1: \xd6I\xa2\x1b\x07 end'


def info(code, message, name='tmi'):
    return [{'name': name, 'status': {'code': code, 'message': message},
             'repo': [{'key': 1, 'status': {'code': code, 'message': message}}], 'backup': []}]


def test_a_binary_message_comes_back_printable():
    raw = json.dumps(info(99, 'X')).encode().replace(b'"X"', b'"' + GARBLED + b'"')
    stanzas = parse_info(raw)
    message = stanzas[0]['repo'][0]['status']['message']
    assert message.startswith('[FormatError] unable to load info file') and message.endswith('I end')
    assert all(c.isprintable() for c in message)
    assert stanzas[0]['status']['message'] == message


def test_only_stanzas_that_cannot_be_read_are_unreadable():
    stanzas = info(0, 'ok', 'a') + info(2, 'no valid backups', 'b') + info(99, '[CryptoError] cipher header invalid', 'c')
    assert unreadable_stanzas(stanzas) == [{'name': 'c', 'message': '[CryptoError] cipher header invalid'}]


def test_the_first_line_of_an_unreadable_stanzas_message_is_kept():
    stanzas = info(99, "[CryptoError] unable to load info file 'x':\nCryptoError: cipher header invalid")
    assert unreadable_stanzas(stanzas) == [{'name': 'tmi', 'message': "[CryptoError] unable to load info file 'x':"}]


def test_one_unreadable_repository_is_enough():
    stanza = info(4, 'different across repos')[0]
    stanza['repo'].append({'key': 2, 'status': {'code': 99, 'message': 'other'}})
    assert unreadable_stanzas([stanza]) == [{'name': 'tmi', 'message': 'other'}]


def test_no_repository_and_long_messages():
    assert parse_info(b'[]') == [] and parse_info('') == []
    assert len(printable('x' * 1000)) == 300

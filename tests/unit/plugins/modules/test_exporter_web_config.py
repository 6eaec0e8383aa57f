"""tmi.postgresql.exporter_web_config: a web configuration that keeps the hashes that still match."""

import hashlib
import json

from ansible_collections.tmi.postgresql.plugins.modules.exporter_web_config import current_hashes, web_config


def fake_hash(password):
    # A stand-in for bcrypt: the decision under test is which hash is kept, not bcrypt itself.
    return 'h:' + hashlib.sha256(password.encode()).hexdigest()


def fake_check(password, hashed):
    return fake_hash(password) == hashed


def build(users, current_text='', **tls):
    return web_config(users, current_hashes(current_text), fake_check, fake_hash, **tls)


def test_a_first_run_hashes_every_user():
    content, rehashed = build({'prometheus': 'secret'})
    assert json.loads(content) == {'basic_auth_users': {'prometheus': fake_hash('secret')}}
    assert rehashed == ['prometheus']
    assert content.endswith('\n')


def test_a_second_run_keeps_the_file_as_it_is():
    first, dummy = build({'prometheus': 'secret', 'grafana': 'other'})
    again, rehashed = build({'prometheus': 'secret', 'grafana': 'other'}, first)
    assert again == first
    assert rehashed == []


def test_a_changed_password_is_hashed_anew_and_the_others_kept():
    first, dummy = build({'prometheus': 'secret', 'grafana': 'other'})
    again, rehashed = build({'prometheus': 'changed', 'grafana': 'other'}, first)
    assert rehashed == ['prometheus']
    assert json.loads(again)['basic_auth_users'] == {'prometheus': fake_hash('changed'), 'grafana': fake_hash('other')}


def test_a_removed_user_leaves_the_file():
    first, dummy = build({'prometheus': 'secret', 'grafana': 'other'})
    again, dummy = build({'prometheus': 'secret'}, first)
    assert json.loads(again) == {'basic_auth_users': {'prometheus': fake_hash('secret')}}


def test_tls_settings_are_written_with_the_users():
    content, dummy = build({'prometheus': 'secret'}, tls_cert_file='/etc/x.crt', tls_key_file='/etc/x.key')
    assert json.loads(content)['tls_server_config'] == {'cert_file': '/etc/x.crt', 'key_file': '/etc/x.key'}


def test_no_users_and_no_tls_is_an_empty_mapping():
    assert build({}) == ('{}\n', [])


def test_a_file_that_is_not_this_module_s_is_read_as_empty():
    for text in ('', 'basic_auth_users:\n  prometheus: $2b$xx\n', '[1, 2]', '{"basic_auth_users": [1]}'):
        assert current_hashes(text) == {}
    assert current_hashes('{"basic_auth_users": {"a": "x", "b": 3}}') == {'a': 'x'}

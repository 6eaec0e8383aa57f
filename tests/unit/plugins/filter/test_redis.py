"""tmi.postgresql.redis_setting_errors, redis_apply_plan and redis_quote: accepted, refused, and the plan."""

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.redis import (
    redis_apply_plan,
    redis_quote,
    redis_setting_errors,
)

# The role's defaults (roles/redis/defaults/main.yml, the user and db from the common role's).
DEFAULTS = {
    'redis_user': 'tmi_cache',
    'redis_admin_user': 'tmi_redis_admin',
    'redis_bind': ['127.0.0.1', '-::1'],
    'redis_port': 6379,
    'redis_tls': False,
    'redis_tls_port': 6380,
    'redis_db': 0,
    'redis_databases': 16,
    'redis_maxmemory': '256mb',
    'redis_maxmemory_policy': 'allkeys-lru',
    'redis_save': [],
    'redis_appendonly': False,
    'redis_acl_commands': ['+@all', '-@dangerous'],
    'redis_client_host': 'localhost',
}


def errors(**settings):
    return redis_setting_errors(dict(DEFAULTS, **settings))


def test_the_defaults_are_accepted():
    assert errors() == []


@pytest.mark.parametrize('settings', [
    {'redis_bind': ['10.0.0.5'], 'redis_tls': True},
    {'redis_bind': ['::1'], 'redis_tls': True},
    {'redis_bind': ['127.0.0.1']},
    {'redis_port': 1, 'redis_tls_port': 65535},
    {'redis_port': '22379'},
    {'redis_db': 15}, {'redis_db': '3'}, {'redis_databases': 1, 'redis_db': 0},
    {'redis_maxmemory': 1073741824}, {'redis_maxmemory': '1gb'}, {'redis_maxmemory': '512MB'},
    {'redis_maxmemory_policy': 'volatile-ttl'},
    {'redis_save': ['3600 1', '300 100']},
    {'redis_appendonly': True},
    {'redis_acl_commands': ['+@all', '-@dangerous', '+info', '+client|setname', '-@admin']},
    {'redis_client_host': 'cache.example.org'}, {'redis_client_host': '127.0.0.1'},
    {'redis_client_host': '[::1]'},
    {'redis_user': 'tmi-cache_2'},
])
def test_good_values_are_accepted(settings):
    assert errors(**settings) == []


@pytest.mark.parametrize('settings, name', [
    ({'redis_user': 'default'}, 'redis_user'),
    ({'redis_user': 'Tmi'}, 'redis_user'),
    ({'redis_user': 'a b'}, 'redis_user'),
    ({'redis_admin_user': ''}, 'redis_admin_user'),
    ({'redis_admin_user': 'tmi_cache'}, 'redis_admin_user'),
    ({'redis_bind': []}, 'redis_bind'),
    ({'redis_bind': '127.0.0.1'}, 'redis_bind'),
    ({'redis_bind': ['localhost']}, 'redis_bind'),
    ({'redis_bind': ['10.0.0.5'], 'redis_tls': False}, 'redis_tls'),
    ({'redis_bind': ['0.0.0.0']}, 'redis_tls'),
    ({'redis_tls': 'yes'}, 'redis_tls'),
    ({'redis_port': 0}, 'redis_port'),
    ({'redis_tls_port': 65536}, 'redis_tls_port'),
    ({'redis_port': 'x'}, 'redis_port'),
    ({'redis_tls_port': 6379}, 'redis_tls_port'),
    ({'redis_db': 16}, 'redis_db'),
    ({'redis_db': -1}, 'redis_db'),
    ({'redis_databases': 0}, 'redis_databases'),
    ({'redis_maxmemory': 0}, 'redis_maxmemory'),
    ({'redis_maxmemory': '0mb'}, 'redis_maxmemory'),
    ({'redis_maxmemory': ''}, 'redis_maxmemory'),
    ({'redis_maxmemory': '1tb'}, 'redis_maxmemory'),
    ({'redis_maxmemory': True}, 'redis_maxmemory'),
    ({'redis_maxmemory_policy': 'lru'}, 'redis_maxmemory_policy'),
    ({'redis_save': '3600 1'}, 'redis_save'),
    ({'redis_save': ['3600']}, 'redis_save'),
    ({'redis_appendonly': 'no'}, 'redis_appendonly'),
    ({'redis_acl_commands': ['+@all', '-@dangerous', '+flushall']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['+@all']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['+@dangerous']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['+config|get']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['+KEYS']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['on']}, 'redis_acl_commands'),
    ({'redis_acl_commands': ['>secret']}, 'redis_acl_commands'),
    ({'redis_acl_commands': '+@all'}, 'redis_acl_commands'),
    ({'redis_client_host': ''}, 'redis_client_host'),
    ({'redis_client_host': 'a host'}, 'redis_client_host'),
])
def test_a_bad_value_is_refused_with_a_message_naming_its_variable(settings, name):
    found = errors(**settings)
    assert len(found) >= 1
    assert any(name in message for message in found), found


def test_every_refused_setting_has_its_own_message():
    found = errors(redis_user='default', redis_port=0, redis_maxmemory='0', redis_maxmemory_policy='x')
    assert len(found) == 4


def test_a_missing_or_unknown_setting_is_an_error_of_the_play():
    settings = dict(DEFAULTS)
    del settings['redis_db']
    with pytest.raises(AnsibleFilterError, match='missing: redis_db'):
        redis_setting_errors(settings)
    with pytest.raises(AnsibleFilterError, match='unknown: redis_x'):
        redis_setting_errors(dict(DEFAULTS, redis_x=1))


CONF = '''# a comment
bind 127.0.0.1 -::1
port 0
tls-port 6380
save ""
maxmemory 256mb
maxmemory-policy allkeys-lru
appendonly no
'''


def test_the_same_file_needs_nothing():
    assert redis_apply_plan(CONF, CONF) == {'restart': False, 'config_set': [], 'acl_load': False}


def test_only_a_new_acl_file_is_loaded_again():
    assert redis_apply_plan(CONF, CONF, acl_changed=True) == {'restart': False, 'config_set': [], 'acl_load': True}


def test_run_time_settings_are_set_without_a_restart():
    new = CONF.replace('256mb', '64mb').replace('allkeys-lru', 'allkeys-lfu').replace('save ""', 'save 3600 1\nsave 300 10')
    plan = redis_apply_plan(new, CONF, acl_changed=True)
    assert plan == {'restart': False, 'acl_load': True,
                    'config_set': [['maxmemory', '64mb'], ['maxmemory-policy', 'allkeys-lfu'], ['save', '3600 1 300 10']]}


def test_snapshots_taken_out_are_set_to_none():
    old = CONF.replace('save ""', 'save 3600 1')
    assert redis_apply_plan(CONF, old)['config_set'] == [['save', '']]


@pytest.mark.parametrize('new', [
    CONF.replace('tls-port 6380', 'tls-port 6390'),
    CONF.replace('bind 127.0.0.1 -::1', 'bind 10.0.0.5'),
    CONF + 'tls-key-file-pass "x"\n',
    CONF.replace('maxmemory 256mb', 'maxmemory 64mb').replace('port 0', 'port 6379'),
    CONF.replace('appendonly no\n', ''),
])
def test_any_other_change_restarts_and_then_needs_nothing_else(new):
    assert redis_apply_plan(new, CONF, acl_changed=True) == {'restart': True, 'config_set': [], 'acl_load': False}


def test_a_file_never_read_or_a_new_certificate_restarts():
    assert redis_apply_plan(CONF, '')['restart'] is True
    assert redis_apply_plan(CONF, None)['restart'] is True
    assert redis_apply_plan(CONF, CONF, restart=True)['restart'] is True


def test_a_server_just_started_needs_nothing():
    assert redis_apply_plan(CONF, '', acl_changed=True, started=True) == {
        'restart': False, 'config_set': [], 'acl_load': False}


def test_an_empty_new_file_is_an_error():
    with pytest.raises(AnsibleFilterError):
        redis_apply_plan('', CONF)


@pytest.mark.parametrize('value, quoted', [
    ('abc', '"abc"'), ('', '""'), ('a"b', '"a\\"b"'), ('a\\b', '"a\\\\b"'), ('TLSv1.2 TLSv1.3', '"TLSv1.2 TLSv1.3"'),
])
def test_quote(value, quoted):
    assert redis_quote(value) == quoted


@pytest.mark.parametrize('value', ['a\nb', 'a\rb', 3, None])
def test_quote_refuses_what_redis_conf_cannot_hold(value):
    with pytest.raises(AnsibleFilterError):
        redis_quote(value)

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.range_errors import range_errors


def errors(value, **spec):
    return range_errors({'x_port': dict(spec, value=value)})


@pytest.mark.parametrize('value', [1, 5432, 65535, '5432', ' 5432 ', 5432.0, '+22'])
def test_a_port_in_range_passes(value):
    assert errors(value, min=1, max=65535) == []


@pytest.mark.parametrize('value, message', [
    (0, "x_port is 0: allowed: a whole number, 1 to 65535."),
    (65536, "x_port is 65536: allowed: a whole number, 1 to 65535."),
    (-1, "x_port is -1: allowed: a whole number, 1 to 65535."),
    ('70000', "x_port is '70000': allowed: a whole number, 1 to 65535."),
])
def test_a_port_out_of_range_is_named_with_its_value_and_range(value, message):
    assert errors(value, min=1, max=65535) == [message]


@pytest.mark.parametrize('value, why', [
    (True, 'a boolean, not a number'),
    (False, 'a boolean, not a number'),
    ('true', 'not a whole number'),
    ('', 'not a whole number'),
    ('5432x', 'not a whole number'),
    ('1_000', 'not a whole number'),
    ('0x10', 'not a whole number'),
    ('5.5', 'not a whole number'),
    (5.5, 'not a whole number'),
    (float('nan'), 'not a finite number'),
    (float('inf'), 'not a finite number'),
    (None, 'not set'),
    ([5432], 'a list, not a number'),
])
def test_what_is_not_a_whole_number_is_refused(value, why):
    [message] = errors(value, min=1, max=65535)
    assert message.startswith('x_port is ')
    assert why in message
    assert message.endswith('allowed: a whole number, 1 to 65535.')


@pytest.mark.parametrize('value', ['nan', 'NaN', 'inf', '-inf', 'Infinity', '1e400', float('nan'), float('-inf'), True])
def test_a_float_setting_refuses_what_would_make_a_wait_endless(value):
    # time.monotonic() >= deadline never holds for a NaN or infinite deadline.
    [message] = range_errors({'lock_timeout': {'value': value, 'type': 'float', 'min': 0, 'max': 86400}})
    assert message.startswith('lock_timeout is ')
    assert message.endswith('allowed: 0 to 86400.')


@pytest.mark.parametrize('value', [0, 0.5, '2.5', '.5', '1e3', 86400, '86400.0'])
def test_a_float_setting_accepts_decimals(value):
    assert range_errors({'lock_timeout': {'value': value, 'type': 'float', 'min': 0, 'max': 86400}}) == []


def test_a_retention_that_would_overflow_is_refused():
    # 213503982334601 days * 86400 wraps a 64-bit integer: the script's
    # cut-off (now - days * 86400) would land in the future.
    [message] = range_errors({'backup_retention_days': {'value': 213503982334601, 'min': 0, 'max': 36500,
                                                        'note': '0 keeps every backup'}})
    assert message == ('backup_retention_days is 213503982334601: allowed: a whole number, 0 to 36500 '
                       '(0 keeps every backup).')


def test_one_sided_and_unbounded_ranges():
    assert errors(10 ** 30, min=1) == []
    assert errors(0, min=1) == ['x_port is 0: allowed: a whole number, at least 1.']
    assert errors(-10 ** 30, max=0) == []
    assert errors(1, max=0) == ['x_port is 1: allowed: a whole number, at most 0.']
    assert errors(-5) == []
    assert errors('x') == ["x_port is 'x': not a whole number; allowed: a whole number, any number."]


def test_a_list_of_ranges():
    spec = {'ranges': [[-1, -1], [1, 100]]}
    assert errors(-1, **spec) == []
    assert errors(100, **spec) == []
    assert errors(0, **spec) == ['x_port is 0: allowed: a whole number, -1 to -1 or 1 to 100.']


def test_every_setting_out_of_range_is_reported_in_order():
    result = range_errors({
        'a': {'value': 0, 'min': 1},
        'b': {'value': 5, 'min': 1},
        'c': {'value': 'no', 'min': 1},
    })
    assert [m.split(' ')[0] for m in result] == ['a', 'c']


def test_bounds_given_as_strings_are_read_as_numbers():
    assert errors(30, min='1', max='29') == ['x_port is 30: allowed: a whole number, 1 to 29.']


@pytest.mark.parametrize('settings, text', [
    ([1, 2], 'expects a mapping'),
    ({'a': 5}, 'must be a mapping with a value'),
    ({'a': {'min': 1}}, 'must be a mapping with a value'),
    ({'a': {'value': 1, 'minimum': 1}}, 'unknown key(s) minimum'),
    ({'a': {'value': 1, 'type': 'str'}}, 'must be int or float'),
    ({'a': {'value': 1, 'min': 5, 'max': 1}}, 'min 5 above its max 1'),
    ({'a': {'value': 1, 'min': 'x'}}, 'the min of a is not a number'),
    ({'a': {'value': 1, 'max': float('nan')}}, 'the max of a is not a finite number'),
    ({'a': {'value': 1, 'ranges': []}}, 'non-empty list'),
    ({'a': {'value': 1, 'ranges': [[1]]}}, 'must be [min, max]'),
    ({'a': {'value': 1, 'ranges': [[1, 2]], 'min': 0}}, 'either ranges or min/max'),
])
def test_a_wrong_spec_is_an_error_of_the_play(settings, text):
    with pytest.raises(AnsibleFilterError, match=None) as raised:
        range_errors(settings)
    assert text in str(raised.value)

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tmi.postgresql.plugins.filter.backup_max_age import backup_max_age_seconds, backup_schedule_errors


def test_the_margin_is_added():
    assert backup_max_age_seconds({'minute': '0', 'hour': '2'}, 3600) == 90000
    assert backup_max_age_seconds([{'minute': '0', 'hour': '2'}], '600') == 87000


@pytest.mark.parametrize('schedules, margin, message', [
    ({'minute': '61'}, 0, 'backup_max_age_seconds: minute: 61'),
    ({'minute': '0'}, -1, 'the margin -1 is negative'),
    ({'minute': '0'}, 'soon', "the margin 'soon' is not a number"),
    ({'minute': '0'}, '1.5', "the margin '1.5' is not a number"),
    ({'minute': '0'}, None, 'the margin None is not a number'),
    # A string or nothing where the schedules go: refused as a whole, not read letter by letter.
    ('0 2 * * *', 0, "backup_max_age_seconds: a schedule is a dict .*, not '0 2 \\* \\* \\*'"),
    (None, 0, 'backup_max_age_seconds: a schedule is a dict .*, not None'),
])
def test_errors_name_the_filter(schedules, margin, message):
    with pytest.raises(AnsibleFilterError, match=message):
        backup_max_age_seconds(schedules, margin)


def test_readable_schedules_give_no_error():
    assert backup_schedule_errors({}) == []
    assert backup_schedule_errors({'a_schedules': [{'minute': '0', 'hour': '2'}],
                                   'b_schedules': {'minute': '30', 'hour': '1', 'weekday': 'sun'}}) == []


def test_each_unreadable_schedule_is_named_by_its_variable():
    assert backup_schedule_errors({
        'a_schedules': [{'minute': '0', 'hour': '2'}],
        'b_schedules': [{'minute': '30'}, {'minute': '75'}],
        'c_schedules': [],
        'd_schedules': [{'minute': '0', 'hour': '0', 'day': '30', 'month': '2'}],
        'e_schedules': '0 2 * * *',
    }) == [
        'b_schedules: minute: 75 is not from 0 to 59.',
        'c_schedules: no schedule given.',
        "d_schedules: the schedules never run: [{'minute': '0', 'hour': '0', 'day': '30', 'month': '2'}].",
        "e_schedules: a schedule is a dict of cron fields (minute, hour, day, month, weekday), or a list of them,"
        " not '0 2 * * *'.",
    ]


def test_schedule_errors_need_a_mapping():
    with pytest.raises(AnsibleFilterError, match='expects a mapping of variable name to schedules, not list'):
        backup_schedule_errors([{'minute': '0'}])

import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.cron_schedule import (
    ScheduleError,
    max_gap_seconds,
    parse_field,
)

DAY = 86400


def test_the_backup_roles_defaults():
    # backup: daily at 02:00; wal_archive: full on Sunday, differential Monday to Saturday.
    assert max_gap_seconds({'minute': '0', 'hour': '2', 'day': '*', 'month': '*', 'weekday': '*'}) == DAY
    assert max_gap_seconds([{'minute': '30', 'hour': '1', 'weekday': '0'},
                            {'minute': '30', 'hour': '1', 'weekday': '1-6'}]) == DAY


def test_the_longest_gap_wins():
    assert max_gap_seconds({'minute': '30', 'hour': '1', 'weekday': '0'}) == 7 * DAY
    # Monday and Tuesday: from Tuesday to the next Monday is six days.
    assert max_gap_seconds({'minute': '0', 'hour': '0', 'weekday': 'mon,tue'}) == 6 * DAY
    # Twice a day at uneven hours: the night gap, 02:00 to 20:00 is shorter than 20:00 to 02:00.
    assert max_gap_seconds({'minute': '0', 'hour': '2,20'}) == 18 * 3600
    assert max_gap_seconds({'minute': '*/5'}) == 300


def test_months_and_leap_days():
    # The 31st: from 31 March to 31 May (April has 30 days) is the longest, 61 days.
    assert max_gap_seconds({'minute': '0', 'hour': '0', 'day': '31'}) == 61 * DAY
    assert max_gap_seconds({'minute': '0', 'hour': '0', 'day': '29', 'month': 'feb'}) == 1461 * DAY


def test_day_and_weekday_both_restricted_match_either():
    # cron: the 1st OR a Monday, so never more than a week.
    assert max_gap_seconds({'minute': '0', 'hour': '0', 'day': '1', 'weekday': 'mon'}) == 7 * DAY
    # Only one restricted: both must match (every 1st that is a Monday: months apart).
    assert max_gap_seconds({'minute': '0', 'hour': '0', 'day': '1-7', 'weekday': '*'}) > 7 * DAY


def test_fields():
    assert parse_field('*/15', 'minute', 0, 59) == {0, 15, 30, 45}
    assert parse_field('1-5/2,10', 'hour', 0, 23) == {1, 3, 5, 10}
    assert parse_field('7', 'weekday', 0, 7) == {0}
    assert parse_field('sun,Sat', 'weekday', 0, 7) == {0, 6}
    assert parse_field('5/20', 'minute', 0, 59) == {5, 25, 45}


@pytest.mark.parametrize('schedule, message', [
    ({'minute': '60'}, 'minute: 60 is not from 0 to 59'),
    ({'hour': 'x'}, "hour: 'x' is not a number"),
    ({'minute': '5-1'}, 'runs backwards'),
    ({'minute': '*/0'}, 'step 0'),
    ({'minute': '@daily'}, 'is not a cron field'),
    ({'minutes': '0'}, 'unknown schedule field(s): minutes'),
    ({'minute': '0', 'hour': '0', 'day': '30', 'month': '2'}, 'never run'),
    ([], 'no schedule given'),
    ('0 2 * * *', "a schedule is a dict .*, not '0 2 \\* \\* \\*'"),
    (None, 'a schedule is a dict .*, not None'),
    ([{'minute': '0'}, 'daily'], "a schedule is a dict .*, not 'daily'"),
    ({'day': '0'}, 'day: 0 is not from 1 to 31'),
    ({'weekday': '8'}, 'weekday: 8 is not from 0 to 7'),
    ({'month': 'foo'}, "month: 'foo' is not a number from 1 to 12"),
    ({'minute': '1-2-3'}, 'is not a cron field'),
])
def test_bad_schedules_are_refused(schedule, message):
    with pytest.raises(ScheduleError, match=message.replace('(', r'\(').replace(')', r'\)')):
        max_gap_seconds(schedule)

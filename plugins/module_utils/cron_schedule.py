# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The longest wait between two runs of cron schedules (filter tmi.postgresql.backup_max_age_seconds).

A schedule is a dict of cron fields (minute, hour, day, month, weekday; a
missing field is ``*``), as the backup and wal_archive roles take them.
Several schedules together (pgBackRest's full and differential backups)
count as one: any run makes a new backup. The runs are laid out day by day
over eight years from a leap year, so schedules that skip months, or run on
29 February only, are measured too; cron's rule that a restricted day of
month and a restricted weekday match either one is followed.

Times are cron's local time without daylight saving jumps: the margin the
caller adds covers the hour a jump can add.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import re

FIELDS = (('minute', 0, 59), ('hour', 0, 23), ('day', 1, 31), ('month', 1, 12), ('weekday', 0, 7))
_NAMES = {
    'month': dict((m, i + 1) for i, m in enumerate(
        ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'))),
    'weekday': dict((d, i) for i, d in enumerate(('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'))),
}
_ITEM = re.compile(r'^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/([0-9]+))?$')
_START = datetime.date(2024, 1, 1)
_DAYS = 8 * 365 + 2


class ScheduleError(ValueError):
    pass


def _value(text, field, low, high):
    number = _NAMES.get(field, {}).get(text)
    if number is None:
        if not text.isdigit():
            raise ScheduleError('%s: %r is not a number from %d to %d' % (field, text, low, high))
        number = int(text)
    if not low <= number <= high:
        raise ScheduleError('%s: %d is not from %d to %d' % (field, number, low, high))
    return number


def parse_field(text, field, low, high):
    """The set of values a cron field matches: *, N, N-M, lists, /STEP, month and weekday names."""
    values = set()
    for item in str(text).strip().lower().split(','):
        match = _ITEM.match(item)
        if not match:
            raise ScheduleError('%s: %r is not a cron field (*, N, N-M, */STEP, lists)' % (field, text))
        span, step = match.group(1), int(match.group(2) or 1)
        if step < 1:
            raise ScheduleError('%s: step 0 in %r' % (field, text))
        if span == '*':
            first, last = low, high
        elif '-' in span:
            first, last = (_value(part, field, low, high) for part in span.split('-'))
            if first > last:
                raise ScheduleError('%s: range %r runs backwards' % (field, span))
        else:
            first = _value(span, field, low, high)
            last = high if match.group(2) else first
        values.update(range(first, last + 1, step))
    if field == 'weekday' and 7 in values:
        values.discard(7)
        values.add(0)
    return values


def parse_schedule(schedule):
    """(minutes of the day, day test) of a schedule dict; ScheduleError names the bad field."""
    if not isinstance(schedule, dict):
        raise ScheduleError('a schedule is a dict of cron fields (minute, hour, day, month, weekday), not %r'
                            % (schedule,))
    unknown = sorted(set(schedule) - set(f[0] for f in FIELDS))
    if unknown:
        raise ScheduleError('unknown schedule field(s): %s' % ', '.join(unknown))
    raw = dict((f[0], str(schedule.get(f[0], '*')).strip() or '*') for f in FIELDS)
    sets = dict((name, parse_field(raw[name], name, low, high)) for name, low, high in FIELDS)
    minutes = sorted(h * 60 + m for h in sets['hour'] for m in sets['minute'])
    day_any, weekday_any = raw['day'].startswith('*'), raw['weekday'].startswith('*')

    def matches(date):
        if date.month not in sets['month']:
            return False
        day_ok = date.day in sets['day']
        weekday_ok = (date.weekday() + 1) % 7 in sets['weekday']
        if not day_any and not weekday_any:
            return day_ok or weekday_ok
        return day_ok and weekday_ok
    return minutes, matches


def max_gap_seconds(schedules):
    """The longest time in seconds from one run of any of the schedules to the next one."""
    if isinstance(schedules, dict):
        schedules = [schedules]
    if not isinstance(schedules, (list, tuple)):
        raise ScheduleError('a schedule is a dict of cron fields (minute, hour, day, month, weekday), or a list '
                            'of them, not %r' % (schedules,))
    parsed = [parse_schedule(s) for s in schedules]
    if not parsed:
        raise ScheduleError('no schedule given')
    cache = {}
    longest = 0
    previous_last = None  # minutes since _START of the last run so far
    for offset in range(_DAYS):
        date = _START + datetime.timedelta(days=offset)
        key = tuple(i for i, entry in enumerate(parsed) if entry[1](date))
        if not key:
            continue
        if key not in cache:
            times = sorted(set(t for i in key for t in parsed[i][0]))
            inner = max([b - a for a, b in zip(times, times[1:])] or [0])
            cache[key] = (times[0], times[-1], inner)
        first, last, inner = cache[key]
        base = offset * 1440
        if previous_last is not None:
            longest = max(longest, base + first - previous_last)
        longest = max(longest, inner)
        previous_last = base + last
    if previous_last is None:
        raise ScheduleError('the schedules never run: %r' % (schedules,))
    return longest * 60

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.range_errors: the numeric settings that are out of range.

The roles' argument specs check types only, and a value given with -e comes as
a string that they never convert: a play checks its numbers with this filter
in its first task, before anything changes. Documentation: range_errors.yml
beside this file.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import math
import re

from ansible.errors import AnsibleFilterError

INTEGER = re.compile(r'^[+-]?[0-9]+$')
DECIMAL = re.compile(r'^[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)?$')
SPEC_KEYS = frozenset(('value', 'min', 'max', 'ranges', 'type', 'note'))
TYPES = ('int', 'float')


def _number(value, kind):
    """Return value as a finite int (or float), or a text saying why it is not a number."""
    if isinstance(value, bool):
        return None, 'a boolean, not a number'
    if value is None:
        return None, 'not set'
    if isinstance(value, str):
        text = value.strip()
        if INTEGER.match(text):
            return int(text), None
        if kind == 'float' and DECIMAL.match(text):
            value = float(text)
        else:
            return None, 'not %s' % ('a whole number' if kind == 'int' else 'a number')
    if isinstance(value, float):
        if not math.isfinite(value):
            return None, 'not a finite number'
        if kind == 'int':
            if not value.is_integer():
                return None, 'not a whole number'
            return int(value), None
        return value, None
    if isinstance(value, int):
        return value, None
    return None, 'a %s, not a number' % type(value).__name__


def _bound(name, spec, key):
    bound = spec.get(key)
    if bound is None:
        return None
    number, why = _number(bound, 'float')
    if why:
        raise AnsibleFilterError('range_errors: the %s of %s is %s (%r)' % (key, name, why, bound))
    return number


def _ranges(name, spec):
    """The allowed ranges of spec as (low, high) pairs, None meaning unbounded."""
    if 'ranges' in spec:
        if 'min' in spec or 'max' in spec:
            raise AnsibleFilterError('range_errors: give %s either ranges or min/max, not both' % name)
        given = spec['ranges']
        if not isinstance(given, (list, tuple)) or not given:
            raise AnsibleFilterError('range_errors: the ranges of %s must be a non-empty list of [min, max]' % name)
        ranges = []
        for pair in given:
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise AnsibleFilterError('range_errors: each range of %s must be [min, max], not %r' % (name, pair))
            ranges.append((_bound(name, {'min': pair[0]}, 'min'), _bound(name, {'max': pair[1]}, 'max')))
    else:
        ranges = [(_bound(name, spec, 'min'), _bound(name, spec, 'max'))]
    for low, high in ranges:
        if low is not None and high is not None and low > high:
            raise AnsibleFilterError('range_errors: a range of %s has its min %s above its max %s' % (name, low, high))
    return ranges


def _describe(low, high):
    if low is None and high is None:
        return 'any number'
    if low is None:
        return 'at most %s' % high
    if high is None:
        return 'at least %s' % low
    return '%s to %s' % (low, high)


def _show(value):
    if isinstance(value, str):
        return "'%s'" % value
    if value is None:
        return 'null'
    return str(value).lower() if isinstance(value, bool) else str(value)


def range_errors(settings):
    """Return one message per setting of settings (name -> spec) whose value is out of its range."""
    if not isinstance(settings, dict):
        raise AnsibleFilterError('range_errors expects a mapping of name to {value, min, max}, not %s'
                                 % type(settings).__name__)
    errors = []
    for name, spec in settings.items():
        if not isinstance(spec, dict) or 'value' not in spec:
            raise AnsibleFilterError('range_errors: the spec of %s must be a mapping with a value' % name)
        unknown = sorted(set(spec) - SPEC_KEYS)
        if unknown:
            raise AnsibleFilterError('range_errors: unknown key(s) %s in the spec of %s' % (', '.join(unknown), name))
        kind = spec.get('type', 'int')
        if kind not in TYPES:
            raise AnsibleFilterError('range_errors: the type of %s must be int or float, not %r' % (name, kind))
        ranges = _ranges(name, spec)
        allowed = ' or '.join(_describe(low, high) for low, high in ranges)
        if kind == 'int':
            allowed = 'a whole number, ' + allowed
        if spec.get('note'):
            allowed += ' (%s)' % spec['note']
        number, why = _number(spec['value'], kind)
        if why is None and any((low is None or number >= low) and (high is None or number <= high)
                               for low, high in ranges):
            continue
        errors.append('%s is %s: %sallowed: %s.' % (name, _show(spec['value']), why + '; ' if why else '', allowed))
    return errors


class FilterModule(object):
    def filters(self):
        return {'range_errors': range_errors}

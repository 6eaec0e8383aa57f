# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading dpkg's package states (module host_packages)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

# dpkg-query's format: the status abbreviation ("ii " installed), a tab, the name.
DPKG_FORMAT = '${db:Status-Abbrev}\\t${Package}\\n'


def missing_packages(dpkg_output, wanted):
    """The names of wanted that dpkg-query's output (DPKG_FORMAT) does not show installed, in wanted's order.

    A package dpkg does not know is absent from the output; one removed but with its configuration left
    ("rc") or half installed is not "ii": both count as missing.
    """
    installed = set()
    for line in dpkg_output.splitlines():
        status, sep, name = line.partition('\t')
        if sep and status.strip() == 'ii':
            # dpkg-query prints a package of another architecture as name:arch.
            installed.add(name.strip().split(':')[0])
    return [name for name in wanted if name.split(':')[0] not in installed]

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    # The options every module of this collection adds to
    # community.postgresql.postgres (login_user, login_host, ssl_mode ...).
    DOCUMENTATION = r'''
options:
  login_db:
    description:
      - Name of the database to connect to, the one whose schema is managed.
    type: str
    required: true
    aliases: [ db ]
'''

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tmi.postgresql.patroni_wait_error: the operator's message when a Patroni member does not run.

Turns the result of tmi.postgresql.patroni_member_wait into one message that names the role the leader
refused, the variable or controller file that holds its password (or the pg_hba source), and the log line that
shows it. Documentation: patroni_wait_error.yml.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _cause_text(cause, names):
    role, seen = cause.get('role'), '(%s: %s)' % (cause.get('source'), cause.get('line'))
    if cause.get('kind') == 'password' and role == names.get('replication_role'):
        where = ('tmi_postgresql_replication_password (set in the inventory or a vault)'
                 if names.get('replication_password_set') in (True, 'True', 'true') else
                 'the controller file %s (server_replication_password_file, under tmi_postgresql_password_dir)'
                 % names.get('replication_password_file'))
        return ('the leader refuses the password of the replication role %s %s. The members log in with '
                'server_replication_password, from %s, and the role on the leader has another password (set by '
                'hand, or the file or variable changed). site.yml gives the leader\'s role that password when it '
                'reaches the leader; make it the one you want and run site.yml again: the standby then reconnects '
                'by itself.' % (role, seen, where))
    if cause.get('kind') == 'password' and role == names.get('rewind_role'):
        return ('the leader refuses the password of the pg_rewind role %s %s. The members log in with '
                'patroni_rewind_password, from the controller file %s (patroni_rewind_password_file, under '
                'tmi_postgresql_password_dir); the role on the leader has another one. Run site.yml again with '
                'the file you want.' % (role, seen, names.get('rewind_password_file')))
    if cause.get('kind') == 'hba':
        return ('the leader has no pg_hba line for replication as %s from %s %s: patroni_member_address of each '
                'member (now %s for %s) must be the address it connects from.'
                % (role, cause.get('host'), seen, names.get('member_address'), names.get('member')))
    return ('the role %s does not exist on the leader %s: site.yml creates it on the leader '
            '(server_replication_role, patroni_rewind_role).' % (role, seen))


def wait_error(result, names):
    """One message for a member that does not run; empty when it runs."""
    if not isinstance(result, dict) or not isinstance(names, dict):
        raise AnsibleFilterError('patroni_wait_error: expects the result of tmi.postgresql.patroni_member_wait and a dict')
    if result.get('ready'):
        return ''
    member = names.get('member', '?')
    if result.get('cause'):
        return '%s does not stream from the leader after %s s: %s' % (
            member, result.get('waited'), _cause_text(result['cause'], names))
    tail = ' | '.join(result.get('log_tail') or [])
    return ('%s did not run as the leader or as a streaming standby within %s s: %s. Patroni\'s journal '
            '(journalctl -u %s) ends with: %s'
            % (member, result.get('waited'), result.get('state'), names.get('unit', 'patroni@...'),
               tail or 'nothing since the wait began'))


class FilterModule(object):
    def filters(self):
        return {'patroni_wait_error': wait_error}

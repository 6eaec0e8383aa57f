import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.tmi.postgresql.plugins.filter.app_roles import app_role_errors, app_roles
from ansible_collections.tmi.postgresql.plugins.module_utils.app_roles import check, grants, hba_lines, normalise, verifiers

SETTINGS = dict(variable='app_user_roles', app_user='tmi_app', owner='tmi_owner', connection_limit=50,
                password_dir='/home/op/.config/tmi/db1', app_password_file='/home/op/.config/tmi/db1/tmi_app.password')
TMI = {'name': 'tmi_app', 'rights': 'read-write'}
REPORTING = {'name': 'reporting', 'rights': 'read-only'}


def faults(roles, **settings):
    return check(roles, **dict(SETTINGS, **settings))[1]


def test_the_default_list_is_tmis_role_from_todays_settings():
    [role] = normalise([TMI], **SETTINGS)
    assert role == {'name': 'tmi_app', 'rights': 'read-write', 'temporary': False, 'connection_limit': 50,
                    'password_file': '/home/op/.config/tmi/db1/tmi_app.password'}


def test_tmis_vault_password_goes_to_tmis_role_only():
    tmi, reporting = normalise([TMI, REPORTING], app_password='s3cret-from-vault', **SETTINGS)
    assert tmi['password'] == 's3cret-from-vault' and 'password_file' not in tmi
    assert 'password' not in reporting
    assert reporting['password_file'] == '/home/op/.config/tmi/db1/reporting.password'


def test_every_role_keeps_its_own_password_file():
    roles = normalise([TMI, REPORTING, {'name': 'audit', 'rights': 'read-only'}], **SETTINGS)
    files = [role['password_file'] for role in roles]
    assert len(set(files)) == 3
    assert [f.rsplit('/', 1)[1] for f in files] == ['tmi_app.password', 'reporting.password', 'audit.password']


def test_an_entry_sets_its_own_fields():
    entry = dict(REPORTING, connection_limit='5', networks=['10.20.0.0/24'], temporary=True, password='from-vault')
    role = normalise([TMI, entry], networks=['127.0.0.1/32'], **SETTINGS)[1]
    assert role == {'name': 'reporting', 'rights': 'read-only', 'temporary': True, 'connection_limit': 5,
                    'networks': ['10.20.0.0/24'], 'password': 'from-vault'}


def test_networks_fall_back_to_the_roles_setting():
    [role] = normalise([TMI], networks=['127.0.0.1/32', '::1/128'], **SETTINGS)
    assert role['networks'] == ['127.0.0.1/32', '::1/128']


@pytest.mark.parametrize('roles, message', [
    ([TMI, dict(REPORTING, rights='readonly')],
     "app_user_roles[1] (reporting): rights is 'readonly': allowed: read-write, read-only or backup."),
    ([TMI, {'name': 'reporting'}], "app_user_roles[1] (reporting): rights is None: allowed: read-write, read-only or backup."),
    ([TMI, REPORTING, dict(REPORTING)], 'app_user_roles[2] (reporting): name reporting is already the name of '
                                        'app_user_roles[1].'),
    ([TMI, {'name': 'tmi_owner', 'rights': 'read-only'}],
     'app_user_roles[1] (tmi_owner): name tmi_owner is the owner role of the database: an application role must '
     'not own what it uses.'),
    ([TMI, {'name': 'postgres', 'rights': 'read-only'}], 'app_user_roles[1] (postgres): name postgres is reserved'),
    ([TMI, {'name': 'pg_monitor', 'rights': 'read-only'}], 'name pg_monitor is reserved'),
    ([TMI, {'name': 'Reporting', 'rights': 'read-only'}], "app_user_roles[1] (Reporting): name is 'Reporting': "),
    ([TMI, {'name': 'a-b', 'rights': 'read-only'}], "name is 'a-b'"),
    ([TMI, {'name': 'x' * 64, 'rights': 'read-only'}], 'at most 63 bytes'),
    ([TMI, {'rights': 'read-only'}], 'app_user_roles[1]: name is None'),
    ([TMI, dict(REPORTING, right='read-only')], 'app_user_roles[1] (reporting): unknown field(s) right'),
    ([TMI, dict(REPORTING, connection_limit=0)],
     'app_user_roles[1] (reporting): connection_limit is 0: allowed: a whole number, 1 to 262143'),
    ([TMI, dict(REPORTING, connection_limit=-1)], 'connection_limit is -1'),
    ([TMI, dict(REPORTING, connection_limit=True)], 'connection_limit is True'),
    ([TMI, dict(REPORTING, networks='10.0.0.0/8')], "networks is '10.0.0.0/8': allowed: a list"),
    ([TMI, dict(REPORTING, networks=['10.0.0.1'])], "networks has '10.0.0.1': allowed: a network in CIDR"),
    ([TMI, dict(REPORTING, networks=['10.0.0.1/8'])], "networks has '10.0.0.1/8'"),
    ([TMI, dict(REPORTING, networks=['samenet'])], "networks has 'samenet'"),
    ([TMI, dict(REPORTING, temporary='maybe')], "temporary is 'maybe': allowed: true or false."),
    ([TMI, dict(REPORTING, password='')], 'app_user_roles[1] (reporting): password is empty or not a string.'),
    ([TMI, dict(REPORTING, password='x', password_file='/tmp/x')], 'give password or password_file, not both.'),
    ([TMI, dict(REPORTING, password_file='/home/op/.config/tmi/db1/tmi_app.password')],
     'app_user_roles[1] (reporting): password_file /home/op/.config/tmi/db1/tmi_app.password is already the '
     'password file of app_user_roles[0] (tmi_app): each role keeps its own.'),
    ([REPORTING], 'app_user_roles has no entry named tmi_app, the role TMI logs in as'),
    ([dict(TMI, rights='read-only')], "app_user_roles[0] (tmi_app): rights is 'read-only': TMI logs in as this role"),
    ([TMI, 'reporting'], 'app_user_roles[1] is a str, not a mapping with name and rights.'),
    ({'name': 'tmi_app'}, 'app_user_roles must be a list of roles'),
    ('tmi_app', 'app_user_roles must be a list of roles'),
])
def test_a_wrong_list_is_refused_naming_the_entry_and_field(roles, message):
    found = faults(roles)
    assert any(message in fault for fault in found), found
    with pytest.raises(AnsibleFilterError) as raised:
        app_roles(roles, **SETTINGS)
    assert message in str(raised.value)
    assert str(raised.value).endswith(' Nothing was changed.')


def test_a_password_is_never_in_a_message():
    found = faults([TMI, dict(REPORTING, password='hunter2-secret', password_file='/x', rights='rw')])
    assert len(found) == 2
    assert not [fault for fault in found if 'hunter2' in fault]


def test_every_fault_is_reported_at_once():
    found = app_role_errors([TMI, dict(REPORTING, rights='x', connection_limit=0), {'name': 'tmi_owner', 'rights': 'read-only'}],
                            **SETTINGS)
    assert len(found) == 3
    assert [f.split(':')[0] for f in found] == ['app_user_roles[1] (reporting)', 'app_user_roles[1] (reporting)',
                                                'app_user_roles[2] (tmi_owner)']


def test_a_right_list_has_no_faults():
    assert app_role_errors([TMI, REPORTING], **SETTINGS) == []


# Rows as the app_user role's privileges query returns them.
def row(kind, obj, role=None, privilege=None, grantable=False):
    return {'kind': kind, 'obj': obj, 'role': role, 'privilege': privilege, 'grantable': grantable}


def held(role, kind, obj, *privileges):
    return [row(kind, obj, role, p) for p in privileges]


def settled(role_name='tmi_app', reporting=True):
    """Rows of a database where tmi_app (and reporting) hold exactly what they need."""
    rows = (held('tmi_app', 'database', None, 'CONNECT') + held('tmi_app', 'schema', None, 'USAGE')
            + held('tmi_app', 'table', 'users', 'SELECT', 'INSERT', 'UPDATE', 'DELETE')
            + held('tmi_app', 'table', 'schema_migrations', 'SELECT')
            + held('tmi_app', 'sequence', 'users_id_seq', 'USAGE', 'SELECT')
            + held('tmi_app', 'default_tables', None, 'SELECT', 'INSERT', 'UPDATE', 'DELETE')
            + held('tmi_app', 'default_sequences', None, 'USAGE', 'SELECT'))
    if reporting:
        rows += (held('reporting', 'database', None, 'CONNECT') + held('reporting', 'schema', None, 'USAGE')
                 + held('reporting', 'table', 'users', 'SELECT') + held('reporting', 'table', 'schema_migrations', 'SELECT')
                 + held('reporting', 'default_tables', None, 'SELECT') + [row('sequence', 'users_id_seq')])
    return rows


def plan(rows, roles=(TMI, REPORTING)):
    return grants(normalise(list(roles), **SETTINGS), rows, 'tmi', 'public', 'tmi_owner',
                  read_only_tables=['schema_migrations'])


def test_nothing_to_do_when_every_privilege_is_right():
    assert plan(settled()) == []


def test_a_new_database_gets_every_grant_in_few_calls():
    rows = [row('database', None), row('schema', None), row('table', 'users'), row('table', 'threats'),
            row('table', 'schema_migrations'), row('sequence', 'users_id_seq')]
    calls = plan(rows)
    shown = [(c['roles'], c['type'], c['objs'], c['privs'], c['state']) for c in calls]
    assert shown == [
        ('tmi_app', 'database', 'tmi', 'CONNECT', 'present'),
        ('tmi_app', 'schema', 'public', 'USAGE', 'present'),
        ('tmi_app', 'table', 'schema_migrations', 'SELECT', 'present'),
        ('tmi_app', 'table', 'threats,users', 'SELECT,INSERT,UPDATE,DELETE', 'present'),
        ('tmi_app', 'sequence', 'users_id_seq', 'USAGE,SELECT', 'present'),
        ('tmi_app', 'default_privs', 'TABLES', 'SELECT,INSERT,UPDATE,DELETE', 'present'),
        ('tmi_app', 'default_privs', 'SEQUENCES', 'USAGE,SELECT', 'present'),
        ('reporting', 'database', 'tmi', 'CONNECT', 'present'),
        ('reporting', 'schema', 'public', 'USAGE', 'present'),
        ('reporting', 'table', 'schema_migrations,threats,users', 'SELECT', 'present'),
        ('reporting', 'default_privs', 'TABLES', 'SELECT', 'present'),
    ]
    default = [c for c in calls if c['type'] == 'default_privs'][0]
    assert default['target_roles'] == 'tmi_owner' and default['schema'] == 'public'
    assert all(c['grant_option'] is None for c in calls)


def test_what_a_read_only_role_must_not_hold_is_revoked():
    rows = settled() + held('reporting', 'table', 'users', 'INSERT', 'TRUNCATE') + held(
        'reporting', 'database', None, 'CREATE', 'TEMPORARY') + held('reporting', 'schema', None, 'CREATE') + held(
        'reporting', 'sequence', 'users_id_seq', 'USAGE') + held('reporting', 'default_tables', None, 'UPDATE')
    shown = [(c['type'], c['objs'], c['privs'], c['state']) for c in plan(rows) if c['roles'] == 'reporting']
    assert shown == [
        ('database', 'tmi', 'CREATE,TEMPORARY', 'absent'),
        ('schema', 'public', 'CREATE', 'absent'),
        ('table', 'users', 'INSERT,TRUNCATE', 'absent'),
        ('sequence', 'users_id_seq', 'USAGE', 'absent'),
        ('default_privs', 'TABLES', 'UPDATE', 'absent'),
    ]


def test_a_backup_role_reads_every_table_and_sequence_and_nothing_more():
    rows = settled(reporting=False) + held('tmi_backup', 'table', 'users', 'SELECT', 'INSERT') + [
        row('table', 'threats')]
    backup = {'name': 'tmi_backup', 'rights': 'backup'}
    shown = [(c['type'], c['objs'], c['privs'], c['state']) for c in plan(rows, roles=(TMI, backup))
             if c['roles'] == 'tmi_backup']
    assert shown == [
        ('database', 'tmi', 'CONNECT', 'present'),
        ('schema', 'public', 'USAGE', 'present'),
        ('table', 'schema_migrations,threats', 'SELECT', 'present'),
        ('table', 'users', 'INSERT', 'absent'),
        ('sequence', 'users_id_seq', 'SELECT', 'present'),
        ('default_privs', 'TABLES', 'SELECT', 'present'),
        ('default_privs', 'SEQUENCES', 'SELECT', 'present'),
    ]


def test_temporary_is_granted_only_when_asked():
    rows = settled()
    [call] = plan(rows, roles=(TMI, dict(REPORTING, temporary=True)))
    expected = ('reporting', 'database', 'TEMPORARY', 'present')
    assert (call['roles'], call['type'], call['privs'], call['state']) == expected


def test_the_read_only_tables_lose_their_write_privileges():
    rows = settled(reporting=False) + held('tmi_app', 'table', 'schema_migrations', 'INSERT', 'DELETE')
    [call] = plan(rows, roles=(TMI,))
    assert (call['objs'], call['privs'], call['state']) == ('schema_migrations', 'INSERT,DELETE', 'absent')


def test_a_grant_option_is_taken_back():
    rows = [r for r in settled(reporting=False) if not (r['kind'] == 'table' and r['obj'] == 'users')]
    rows += [row('table', 'users', 'tmi_app', p, grantable=(p == 'SELECT'))
             for p in ('SELECT', 'INSERT', 'UPDATE', 'DELETE')]
    [call] = plan(rows, roles=(TMI,))
    assert (call['objs'], call['privs'], call['state'], call['grant_option']) == ('users', 'SELECT', 'present', False)


def test_an_unknown_kind_of_row_is_an_error():
    with pytest.raises(ValueError):
        plan([row('function', 'f')])


def test_pg_hba_lines_one_per_network_of_each_role():
    roles = normalise([TMI, dict(REPORTING, networks=['10.20.0.0/24'])], networks=['127.0.0.1/32', '::1/128'],
                      **SETTINGS)
    assert hba_lines(roles, 'tmi') == [
        'hostssl  tmi  tmi_app  127.0.0.1/32  scram-sha-256',
        'hostssl  tmi  tmi_app  ::1/128  scram-sha-256',
        'hostssl  tmi  reporting  10.20.0.0/24  scram-sha-256',
    ]


def test_a_role_without_networks_has_no_pg_hba_line():
    roles = normalise([TMI, dict(REPORTING, networks=[])], networks=['127.0.0.1/32'], **SETTINGS)
    assert hba_lines(roles, 'tmi') == ['hostssl  tmi  tmi_app  127.0.0.1/32  scram-sha-256']


def role_row(name, attributes_ok=True, connection_limit=10, verifier='SCRAM-SHA-256$4096:c2FsdA==$a:b'):
    return dict(name=name, attributes_ok=attributes_ok, connection_limit=connection_limit, verifier=verifier)


def test_a_role_with_the_right_attributes_and_limit_is_left_with_its_verifier():
    roles = [{'name': 'tmi_app', 'connection_limit': 10}, {'name': 'tmi_reader', 'connection_limit': '3'}]
    rows = [role_row('tmi_app'), role_row('tmi_reader', connection_limit=3, verifier=None)]
    assert verifiers(roles, rows) == {'tmi_app': 'SCRAM-SHA-256$4096:c2FsdA==$a:b', 'tmi_reader': None}


@pytest.mark.parametrize('rows', [
    [],
    [role_row('tmi_app', attributes_ok=False)],
    [role_row('tmi_app', connection_limit=11)],
    [role_row('other_role')],
], ids=['missing', 'another attribute', 'another limit', 'only another role'])
def test_a_missing_or_different_role_is_not_left_alone(rows):
    assert verifiers([{'name': 'tmi_app', 'connection_limit': 10}], rows) == {}


def test_maintain_given_by_a_grant_all_on_postgresql_17_is_revoked():
    # PostgreSQL 17's GRANT ALL ON a table (or in default privileges) includes MAINTAIN; no role needs it.
    rows = settled() + held('tmi_app', 'table', 'users', 'MAINTAIN') + held(
        'tmi_app', 'default_tables', None, 'MAINTAIN')
    shown = [(c['type'], c['objs'], c['privs'], c['state']) for c in plan(rows) if c['roles'] == 'tmi_app']
    assert shown == [
        ('table', 'users', 'MAINTAIN', 'absent'),
        ('default_privs', 'TABLES', 'MAINTAIN', 'absent'),
    ]


def test_a_privilege_of_a_newer_server_is_revoked_by_its_name_not_dropped():
    rows = settled() + held('reporting', 'table', 'users', 'INSERT', 'SOMETHING_NEW')
    shown = [(c['type'], c['objs'], c['privs'], c['state']) for c in plan(rows) if c['roles'] == 'reporting']
    assert shown == [('table', 'users', 'INSERT,SOMETHING_NEW', 'absent')]

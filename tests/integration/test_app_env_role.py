"""The .env TMI reads: the one-host layout's database, or the proxy under high availability (issue 12).

Each run applies tmi.postgresql.app_env to localhost with an inventory of the
test's own; the file goes to a temporary folder.
"""

import grp
import os
import pwd

import pytest

from backup_helpers import changed_count, failed_task, run_playbook


def env_file(path):
    with open(path) as f:
        return dict(line.rstrip('\n').split('=', 1) for line in f if line.strip() and not line.startswith('#'))


@pytest.fixture
def apply_app_env(tmp_path):
    """Run the role with the inventory text and settings given; return (rc, report, .env path)."""
    playbook = tmp_path / 'app_env.yml'
    playbook.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.app_env\n')
    path = str(tmp_path / 'etc' / 'tmi.env')

    def apply(inventory, **settings):
        (tmp_path / 'inventory.ini').write_text(inventory)
        extra = dict({'app_env_path': path, 'app_env_owner': pwd.getpwuid(os.getuid()).pw_name,
                      'app_env_group': grp.getgrgid(os.getgid()).gr_name, 'tmi_postgresql_port': 5433,
                      'app_env_roles': [{'name': 'tmi_app', 'rights': 'read-write', 'password': 'not-a-real-one'}]},
                     **settings)
        rc, report = run_playbook(str(playbook), str(tmp_path), extra, inventory=str(tmp_path / 'inventory.ini'))
        return rc, report, path
    return apply


ONE_HOST = 'localhost ansible_connection=local\n[tmi_postgresql]\nlocalhost\n'
WITH_PROXIES = ONE_HOST + '[tmi_postgresql_proxy]\napp1\napp2\n'


def test_the_one_host_layout_connects_to_the_database_as_before(apply_app_env):
    rc, report, path = apply_app_env(WITH_PROXIES)
    assert rc == 0, failed_task(report)
    assert env_file(path) == {'POSTGRES_HOST': 'localhost', 'POSTGRES_PORT': '5433', 'POSTGRES_USER': 'tmi_app',
                              'POSTGRES_PASSWORD': 'not-a-real-one', 'POSTGRES_DB': 'tmi', 'POSTGRES_SSLMODE': 'require'}


def test_under_high_availability_a_database_host_connects_to_the_first_proxy_host(apply_app_env):
    rc, report, path = apply_app_env(WITH_PROXIES, tmi_postgresql_ha_enabled=True)
    assert rc == 0, failed_task(report)
    values = env_file(path)
    assert (values['POSTGRES_HOST'], values['POSTGRES_PORT']) == ('app1', '5000')
    # A second run changes nothing: the file does not move with the members.
    rc, report = apply_app_env(WITH_PROXIES, tmi_postgresql_ha_enabled=True)[:2]
    assert rc == 0 and changed_count(report) == 0


def test_a_proxy_host_connects_to_its_own_proxy_on_the_shared_port(apply_app_env):
    inventory = ONE_HOST + '[tmi_postgresql_proxy]\nlocalhost\napp2\n'
    rc, report, path = apply_app_env(inventory, tmi_postgresql_ha_enabled=True, tmi_postgresql_proxy_port='6432')
    assert rc == 0, failed_task(report)
    values = env_file(path)
    assert (values['POSTGRES_HOST'], values['POSTGRES_PORT']) == ('127.0.0.1', '6432')


def test_high_availability_without_a_proxy_host_stops_before_the_file_is_written(apply_app_env):
    rc, report, path = apply_app_env(ONE_HOST, tmi_postgresql_ha_enabled=True)
    name, result = failed_task(report)
    assert rc != 0 and name.startswith('Check the ranges')
    assert 'the group tmi_postgresql_proxy (app_env_proxy_group) has no proxy host' in result['msg']
    assert not os.path.exists(path) and not os.path.exists(os.path.dirname(path))

"""Bad settings stop the monitoring role at its first task, naming the setting, with nothing changed.

The runs point at nothing (no PostgreSQL, no exporter installed): the check
must fail before the role reads the host, connects or installs anything.
"""

import pytest

from backup_helpers import assert_refused_at, run_playbook

CHECK_TASK = 'Check the ranges of the numeric settings, the listen addresses and the TLS files.'


def monitoring_playbook(workdir):
    path = workdir / 'monitoring.yml'
    path.write_text('- hosts: localhost\n  gather_facts: false\n  roles:\n    - role: tmi.postgresql.monitoring\n')
    return str(path)


@pytest.mark.parametrize('settings,message', [
    ({'monitoring_exporter_listen': '0.0.0.0:9187'},
     'monitoring_exporter_listen is 0.0.0.0:9187, which is not a loopback address, and monitoring_web_basic_auth is false'),
    ({'monitoring_node_exporter_listen': ':9100'},
     'monitoring_node_exporter_listen is :9100, which is not a loopback address'),
    ({'monitoring_exporter_listen': '127.0.0.1'}, "monitoring_exporter_listen is '127.0.0.1': no port"),
    ({'monitoring_node_exporter_listen': '127.0.0.1:9187'}, 'both use port 9187'),
    ({'monitoring_connection_limit': 0}, 'monitoring_connection_limit is 0'),
    ({'monitoring_connection_limit': 1}, 'monitoring_connection_limit is 1'),
    ({'monitoring_web_tls_cert_file': '/etc/x.crt'}, 'monitoring_web_tls_cert_file and monitoring_web_tls_key_file go together'),
    ({'monitoring_user': 'Bad-Name'}, 'monitoring_user (Bad-Name) must be a lower-case identifier'),
    # The node exporter's textfile folder, which the tmi_metrics role writes into.
    ({'monitoring_textfile_dir': 'textfiles'}, 'monitoring_textfile_dir (textfiles) must be an absolute path'),
])
def test_bad_settings_stop_the_role_before_it_changes_anything(tmp_path, settings, message):
    rc, report = run_playbook(monitoring_playbook(tmp_path), str(tmp_path), settings)
    assert_refused_at(rc, report, CHECK_TASK, message)

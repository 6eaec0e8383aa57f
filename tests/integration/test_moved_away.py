"""site.yml refuses the source of a logical upgrade's cut-over, before any change (role common, moved_away.yml).

After upgrade_logical.yml's cut-over the source keeps TMI's data with TMI's roles NOLOGIN, as the way back; its
summary file marks it. site.yml there would let the roles log in and point TMI's .env at it. Runs in check mode,
as test_ranges.py runs site.yml: were the check missing, the run would go on into the server role.
"""

import json
import os

from backup_helpers import REPO, assert_refused_at, run_playbook, task_result

GUARD = 'Refuse a host TMI was moved away from.'
APP_ENV_CHECK = 'Check the profile, and with verify-ca or verify-full the certificate TMI will verify.'


def test_site_refuses_the_source_of_a_cut_over(tmp_path):
    summary = tmp_path / 'tmi-logical-upgrade.json'
    summary.write_text(json.dumps({'source': 'tmi-old', 'target': 'tmi-new', 'from_version': 15, 'to_version': 17}))
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path),
                              {'tmi_postgresql_logical_upgrade_summary_file': str(summary)}, check=True)
    assert_refused_at(rc, report, GUARD, '(tmi_postgresql_logical_upgrade_summary_file) says upgrade_logical.yml'
                                         ' moved TMI to tmi-new (PostgreSQL 17)',
                      prefix='localhost: %s' % summary)


def test_a_damaged_summary_still_refuses_with_the_message(tmp_path):
    summary = tmp_path / 'tmi-logical-upgrade.json'
    summary.write_text('{"source": "tmi-old", "target": "tmi-n')
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path),
                              {'tmi_postgresql_logical_upgrade_summary_file': str(summary)}, check=True)
    assert_refused_at(rc, report, GUARD, 'moved TMI to another host (PostgreSQL ?) (the file is not the JSON the'
                                         ' cut-over writes')


def test_without_the_summary_site_goes_on_to_its_next_check(tmp_path):
    # A bad setting checked after the guard stops the run there: the guard let it through.
    rc, report = run_playbook(os.path.join(REPO, 'site.yml'), str(tmp_path),
                              {'tmi_postgresql_logical_upgrade_summary_file': str(tmp_path / 'absent.json'),
                               'app_env_profile': 'laptop'}, check=True)
    assert_refused_at(rc, report, APP_ENV_CHECK, "app_env_profile is 'laptop'")
    assert not task_result(report, GUARD).get('failed')

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.tmi.postgresql.plugins.filter.backup_max_age import backup_max_age_seconds


def test_the_margin_is_added():
    assert backup_max_age_seconds({'minute': '0', 'hour': '2'}, 3600) == 90000
    assert backup_max_age_seconds([{'minute': '0', 'hour': '2'}], '600') == 87000


@pytest.mark.parametrize('schedules, margin, message', [
    ({'minute': '61'}, 0, 'backup_max_age_seconds: minute: 61'),
    ({'minute': '0'}, -1, 'the margin -1 is negative'),
    ({'minute': '0'}, 'soon', "the margin 'soon' is not a number"),
])
def test_errors_name_the_filter(schedules, margin, message):
    with pytest.raises(AnsibleFilterError, match=message):
        backup_max_age_seconds(schedules, margin)

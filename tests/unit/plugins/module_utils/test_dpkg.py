from ansible_collections.tmi.postgresql.plugins.module_utils.dpkg import missing_packages

OUTPUT = 'ii \tpgbackrest\nrc \tcron\niU \tpython3-psycopg2\nii \tlibc6:amd64\n'


def test_only_installed_packages_count():
    assert missing_packages(OUTPUT, ['pgbackrest', 'cron', 'python3-psycopg2', 'postgresql-client-15']) == [
        'cron', 'python3-psycopg2', 'postgresql-client-15']


def test_an_architecture_suffix_matches_either_way():
    assert missing_packages(OUTPUT, ['libc6', 'libc6:amd64']) == []


def test_no_output_means_all_missing():
    assert missing_packages('', ['cron']) == ['cron']
    assert missing_packages(OUTPUT, []) == []

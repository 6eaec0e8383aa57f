import pytest

from ansible_collections.tmi.postgresql.plugins.module_utils.migration_db import DatabaseState, advisory_lock_id
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_plan import (
    check_applied_files,
    check_history_rows,
    check_options,
    check_out_of_order,
    check_version_rows,
    pending_migrations,
    plan_steps,
    resolve_target,
    versions_without_down,
)
from ansible_collections.tmi.postgresql.plugins.module_utils.migration_source import MigrationError, load_migrations


def migrations(*versions, **kw):
    without_down = kw.get('without_down', ())
    files = {}
    for v in versions:
        files['%06d_m%d.up.sql' % (v, v)] = 'CREATE TABLE t%d (id int);\n' % v
        if v not in without_down:
            files['%06d_m%d.down.sql' % (v, v)] = 'DROP TABLE t%d;\n' % v
    return load_migrations(files)


def steps_of(plan):
    return [(s.migration.version, s.direction, s.version_after) for s in plan]


ALL = migrations(1, 2, 3, 5, 8)


@pytest.mark.parametrize('current, target, steps, expected', [
    (0, 'latest', None, 8),
    (3, None, None, 8),
    (3, '5', None, 5),
    (3, 0, None, 0),
    (3, None, 1, 5),
    (3, None, 2, 8),
    (3, None, -1, 2),
    (3, None, -3, 0),
    (0, None, 1, 1),
])
def test_resolve_target(current, target, steps, expected):
    assert resolve_target(ALL, current, target, steps) == expected


@pytest.mark.parametrize('current, target, steps, words', [
    (3, '4', None, 'not a migration version'),
    (3, 'newest', None, 'must be "latest"'),
    (3, None, 0, 'must not be 0'),
    (3, None, 3, 'only 2 exist'),
    (3, None, -4, 'only 3 are applied'),
])
def test_resolve_target_refusals(current, target, steps, words):
    with pytest.raises(MigrationError) as e:
        resolve_target(ALL, current, target, steps)
    assert words in str(e.value)


def test_no_files_means_latest_is_zero():
    assert resolve_target([], 0, 'latest') == 0


def test_up_plan_is_ascending_and_stops_at_target():
    assert steps_of(plan_steps(ALL, 2, 5)) == [(3, 'up', 3), (5, 'up', 5)]


def test_nothing_to_do_at_target():
    assert plan_steps(ALL, 8, 8) == []


def test_down_plan_needs_allow_down():
    with pytest.raises(MigrationError) as e:
        plan_steps(ALL, 8, 3)
    assert 'allow_down' in str(e.value) and 'versions 5, 8' in str(e.value)


def test_down_plan_is_descending_and_sets_the_version_below():
    assert steps_of(plan_steps(ALL, 8, 2, allow_down=True)) == [(8, 'down', 5), (5, 'down', 3), (3, 'down', 2)]
    assert steps_of(plan_steps(ALL, 2, 0, allow_down=True)) == [(2, 'down', 1), (1, 'down', 0)]


def test_missing_down_file_is_refused_before_anything_runs():
    some = migrations(1, 2, 3, without_down=(2,))
    with pytest.raises(MigrationError) as e:
        plan_steps(some, 3, 0, allow_down=True)
    assert '000002_m2.down.sql' in str(e.value)


def test_unknown_current_version_is_refused():
    with pytest.raises(MigrationError) as e:
        plan_steps(ALL, 9, 8)
    assert 'version 9' in str(e.value)


def test_out_of_order_version_is_refused():
    state = DatabaseState(version=8, history_versions={1, 2, 3, 8})
    with pytest.raises(MigrationError) as e:
        check_out_of_order(ALL, state)
    assert e.value.filename == '000005_m5.up.sql'


def test_versions_below_the_history_count_as_applied_by_golang_migrate():
    check_out_of_order(ALL, DatabaseState(version=8, history_versions={8}))
    check_out_of_order(ALL, DatabaseState(version=8))


def test_changed_applied_file_is_refused_unless_allowed():
    state = DatabaseState(version=3, applied_sha256={1: ALL[0].up.sha256, 2: 'f' * 64, 5: 'e' * 64})
    with pytest.raises(MigrationError) as e:
        check_applied_files(ALL, state)
    assert e.value.filename == '000002_m2.up.sql'
    warnings = check_applied_files(ALL, state, allow_modified=True)
    assert len(warnings) == 1 and '000002_m2.up.sql' in warnings[0]


def test_pending():
    assert pending_migrations(ALL, 3) == [dict(version=5, name='m5'), dict(version=8, name='m8')]


@pytest.mark.parametrize('names, expected', [
    # golang-migrate's own test vectors for database.GenerateAdvisoryLockId
    (('database_name',), 1764327054),
    (('database_name', 'schema_name_1'), 2453313553),
    (('database_name', 'schema_name_2'), 235207038),
    (('database_name', 'schema_name_1', 'schema_name_2'), 3743845847),
])
def test_advisory_lock_id_matches_golang_migrate(names, expected):
    assert advisory_lock_id(*names) == expected


# --- issue 9: numeric options and values read back are range-checked -------

OPTIONS = dict(target='latest', steps=None, force_version=None, lock_timeout=60.0, login_port=5432)


@pytest.mark.parametrize('option, value', [
    ('lock_timeout', float('nan')), ('lock_timeout', float('inf')), ('lock_timeout', 0.0), ('lock_timeout', -1.0),
    ('lock_timeout', 86401.0), ('steps', 0), ('steps', 2 ** 63), ('steps', -2 ** 63), ('force_version', -1),
    ('force_version', 2 ** 63), ('target', '-1'), ('target', ' 5'), ('target', '5_0'), ('target', '\u0665'),
    ('target', str(2 ** 63)), ('login_port', 0), ('login_port', 65536),
])
def test_options_out_of_range_are_refused_naming_the_option(option, value):
    with pytest.raises(MigrationError) as e:
        check_options(dict(OPTIONS, **{option: value}))
    assert str(e.value).startswith(option)


@pytest.mark.parametrize('option, value', [
    ('lock_timeout', 0.5), ('lock_timeout', 86400.0), ('steps', -3), ('steps', 2), ('force_version', 0),
    ('target', '0'), ('target', '000008'), ('target', str(2 ** 63 - 1)),
])
def test_options_in_range_are_accepted(option, value):
    check_options(dict(OPTIONS, **{option: value}))


@pytest.mark.parametrize('rows, expected', [
    ([], (0, False)), ([(5, False)], (5, False)), ([(5, True)], (5, True)), ([(-1, True)], (0, True)),
])
def test_version_rows(rows, expected):
    assert check_version_rows(rows) == expected


@pytest.mark.parametrize('rows, words', [
    ([(1, False), (2, False)], 'holds 2 rows'),
    ([(-2, True)], 'holds version -2'),
    ([(-1, False)], 'version -1 without the dirty flag'),
    ([(2 ** 63, False)], 'holds version 9223372036854775808'),
    ([('5', False)], "holds version '5'"),
    ([(5, None)], 'dirty = NULL'),
])
def test_damaged_version_rows_are_refused_naming_the_table(rows, words):
    with pytest.raises(MigrationError) as e:
        check_version_rows(rows)
    assert str(e.value).startswith('schema_migrations ') and words in str(e.value)


def test_history_rows():
    sha = 'a' * 64
    assert check_history_rows([(0, None), (3, sha)]) == ({0, 3}, {3: sha})


@pytest.mark.parametrize('row, words', [
    ((-1, None), 'holds version -1'),
    ((None, None), 'holds version None'),
    ((3, 'not-a-checksum'), "holds sha256 'not-a-checksum' for version 3"),
])
def test_damaged_history_rows_are_refused_naming_the_table(row, words):
    with pytest.raises(MigrationError) as e:
        check_history_rows([row])
    assert str(e.value).startswith('schema_migrations_history ') and words in str(e.value)


def test_versions_without_down_lists_the_applied_versions_a_rollback_could_not_undo():
    found = migrations(1, 2, 3, 5, 8, without_down=(2, 8))
    assert versions_without_down(found, 8) == [2, 8]
    assert versions_without_down(found, 8, since=2) == [8]
    assert versions_without_down(found, 5, since=2) == []
    assert versions_without_down(found, 3, since=0) == [2]
    assert versions_without_down(found, 0) == []

# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""test_drill.py destroys and rebuilds the database host: it runs after every other test, whatever their files' names."""


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: item.module.__name__.endswith('test_drill'))

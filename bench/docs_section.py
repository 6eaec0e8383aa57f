"""Write one benchmark's section of docs/benchmarks.md, leaving the others alone."""

import argparse
import os
import re
import subprocess


def command_output(argv):
    """The stripped standard output of a command, or 'n/a' when it cannot run or fails."""
    try:
        return subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return 'n/a'


def memory():
    """Total, used and free memory as `free -h` shows them."""
    mem = command_output(['free', '-h']).splitlines()
    return ' '.join(mem[1].split()[1:4]) + ' (total used free)' if len(mem) > 1 else 'n/a'


def bench_parser(doc, tables=None):
    """The parser of a benchmark: the first line of its docstring, --no-docs, and --tables when a default is given."""
    parser = argparse.ArgumentParser(description=doc.split('\n', maxsplit=1)[0])
    if tables is not None:
        parser.add_argument('--tables', type=int, default=tables, help='synthetic tables (default %d)' % tables)
    parser.add_argument('--no-docs', action='store_true', help='print only; leave docs/benchmarks.md alone')
    return parser


def replace_section(text, title, section):
    """Replace the `## title` section (up to the next `## ` heading) or append it."""
    pattern = re.compile(r'^%s\n.*?(?=^## |\Z)' % re.escape(title), re.M | re.S)
    if pattern.search(text):
        return pattern.sub(lambda m: section + '\n', text, count=1).rstrip('\n') + '\n'
    if not text.strip():
        text = '# Benchmarks\n'
    return text.rstrip('\n') + '\n\n' + section


def write_section(path, title, section):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    text = ''
    if os.path.exists(path):
        with open(path) as f:
            text = f.read()
    with open(path, 'w') as f:
        f.write(replace_section(text, title, section))

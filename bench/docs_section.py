"""Write one benchmark's section of docs/benchmarks.md, leaving the others alone."""

import os
import re


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

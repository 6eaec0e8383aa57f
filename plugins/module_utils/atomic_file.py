# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Replace a file whole: readers see the old content or the new one, never a part.

Used by the file_set module and by the tmi_metrics timer program (which runs
without Ansible, so nothing here imports it).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tempfile


def write_atomically(path, content, mode, uid=-1, gid=-1, suffix='.tmp'):
    """Write content (bytes) to a temporary file in path's folder, fsync it, set owner and mode, rename it to path.

    The temporary file is made 0600 by mkstemp and removed when anything fails.
    uid and gid -1 keep the writer's.
    """
    folder, name = os.path.split(path)
    fd, temp = tempfile.mkstemp(prefix='.%s.' % name, suffix=suffix, dir=folder or '.')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
            # chown first: it clears the set-id bits that the chmod then sets.
            os.fchown(f.fileno(), uid, gid)
            os.fchmod(f.fileno(), mode)
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise

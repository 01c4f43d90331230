# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports are private by default: write a file with the mode asked for, whatever the umask, atomically.

The temporary file is created with ``os.open(..., O_CREAT | O_EXCL, mode)`` and then ``fchmod``-ed to the mode (the
umask can only remove bits at creation; ``fchmod`` is exact), its group set with ``fchown`` when one is named, and
renamed over the destination in the same directory. ``os.rename`` keeps the new inode's mode and owner: nothing is
copied from an existing destination (Ansible's ``atomic_move`` copies the old file's mode onto the new one, which
undid an earlier chmod), so a report once written 0644 becomes 0600 on the next write.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

DEFAULT_MODE = 0o600
DEFAULT_GROUP_MODE = 0o640


def parse_mode(value, group=None):
    """The mode option -> int. None -> 0600, or 0640 when a group is named. Accepts 0640 (YAML octal), '0640', '640'
    (octal strings); symbolic modes are not accepted. Refuses bits for others (a report lists every VM of the fleet) and set-id/sticky
    bits. Raises ValueError with a message naming the fix."""
    if value is None or value == '':
        return DEFAULT_GROUP_MODE if group else DEFAULT_MODE
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value  # YAML 0640 unquoted is already the int 0o640 (an unquoted 640 is decimal: refused below)
    else:
        text = str(value).strip()
        if text.startswith('0o'):
            text = text[2:]
        if not text or any(c not in '01234567' for c in text):
            raise ValueError('mode: %r is not an octal mode; give e.g. 0600 or 0640 (quoted).' % (value,))
        mode = int(text, 8)
    if mode & ~0o777:
        raise ValueError('mode: %s has set-id/sticky or unknown bits; give a mode within 0770 (e.g. 0600).' % oct(mode))
    if mode & 0o007:
        raise ValueError('mode: %s gives others access to the report; use 0600, or 0640 with group.' % oct(mode))
    if not mode & 0o600 == 0o600:
        raise ValueError('mode: %s does not let the owner read and write the report; use 0600 or 0640.' % oct(mode))
    return mode


def write_private(dest, data, mode, gid=None):
    """Write bytes ``data`` to ``dest`` atomically with exactly ``mode`` (and group ``gid`` if given)."""
    parent = os.path.dirname(os.path.abspath(dest))
    base = os.path.basename(dest)
    tmp = None
    for i in range(100):
        cand = os.path.join(parent, '.%s.%d.%d.tmp' % (base, os.getpid(), i))
        try:
            fd = os.open(cand, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o600)
        except OSError as e:
            if e.errno == 17:  # EEXIST
                continue
            raise
        tmp = cand
        break
    if tmp is None:
        raise OSError('could not create a temporary file beside %s' % dest)
    try:
        try:
            if gid is not None:
                os.fchown(fd, -1, gid)
            os.fchmod(fd, mode)
            done = 0
            while done < len(data):
                done += os.write(fd, data[done:])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.rename(tmp, dest)
    except Exception:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise

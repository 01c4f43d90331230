# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""What a data tree holds, for the rebuild's comparison of both guests (issue 17). Python 2.7 and 3.6+, stdlib only.

``volume(path)``: can the guest read it, bytes used under it and free on its filesystem (statvfs).
``tree(path, sample)``: every entry below ``path`` by relative path - type (f file, d directory, l symlink, o other),
size of files, symlink target, and the SHA-256 of each file's content for the files ``sample_pick`` chooses (all by
default). ``sample_pick`` is deterministic from the path names only, so both guests checksum the same files when
their file lists agree (and the file lists are compared in full anyway). Nothing here reads or returns file content.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os
import stat

CHUNK = 1024 * 1024


def sample_pick(paths, sample=None):
    """The paths to checksum: all (``sample`` None or 0) or the ``sample`` paths with the lowest SHA-256 of their name
    - spread over the whole tree, the same on both sides for the same list. Pure."""
    paths = sorted(paths)
    if not sample or int(sample) >= len(paths):
        return set(paths)
    ranked = sorted(paths, key=lambda p: hashlib.sha256(_b(p)).hexdigest())
    return set(ranked[:int(sample)])


def _b(p):
    if isinstance(p, bytes):
        return p
    try:
        return p.encode('utf-8', 'surrogateescape')
    except LookupError:  # Python 2.7 has no surrogateescape
        return p.encode('utf-8', 'replace')


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        while True:
            b = f.read(CHUNK)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def volume(path):
    """{path, readable, used_bytes, free_bytes, size_bytes, error}."""
    out = dict(path=path, readable=False, used_bytes=None, free_bytes=None, size_bytes=None, error=None)
    try:
        st = os.statvfs(path)
        out['free_bytes'] = st.f_bavail * st.f_frsize
        out['size_bytes'] = st.f_blocks * st.f_frsize
        used = 0
        dev = os.lstat(path).st_dev
        for root, dirs, files in os.walk(path, onerror=_raise):
            dirs[:] = [d for d in dirs if os.lstat(os.path.join(root, d)).st_dev == dev]   # one filesystem
            for n in files:
                s = os.lstat(os.path.join(root, n))
                if stat.S_ISREG(s.st_mode):
                    used += s.st_blocks * 512 if s.st_blocks else s.st_size
        out['used_bytes'] = used
        out['readable'] = True
    except (OSError, IOError) as exc:
        out['error'] = '{0}: {1}'.format(getattr(exc, 'filename', None) or path, exc.strerror or exc)
    return out


def _raise(exc):
    raise exc


def tree(path, sample=None):
    """(entries, error): entries [{path, type, size, sha256, target}] sorted by relative path; one filesystem."""
    entries = {}
    try:
        dev = os.lstat(path).st_dev
        for root, dirs, files in os.walk(path, onerror=_raise):
            keep = []
            for n in sorted(dirs) + sorted(files):
                full = os.path.join(root, n)
                rel = os.path.relpath(full, path)
                s = os.lstat(full)
                if stat.S_ISDIR(s.st_mode):
                    entries[rel] = dict(path=rel, type='d', size=None, sha256=None, target=None)
                    if s.st_dev == dev and n in dirs:
                        keep.append(n)
                elif stat.S_ISLNK(s.st_mode):
                    entries[rel] = dict(path=rel, type='l', size=None, sha256=None, target=os.readlink(full))
                elif stat.S_ISREG(s.st_mode):
                    entries[rel] = dict(path=rel, type='f', size=s.st_size, sha256=None, target=None)
                else:
                    entries[rel] = dict(path=rel, type='o', size=None, sha256=None, target=None)
            dirs[:] = keep
        pick = sample_pick([p for p, e in entries.items() if e['type'] == 'f'], sample)
        for p in pick:
            entries[p]['sha256'] = file_sha256(os.path.join(path, p))
    except (OSError, IOError) as exc:
        return [], '{0}: {1}'.format(getattr(exc, 'filename', None) or path, exc.strerror or exc)
    return [entries[k] for k in sorted(entries)], None

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import os

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import manifest


def _tree(root):
    os.makedirs(os.path.join(root, 'd', 'e'))
    with open(os.path.join(root, 'd', 'f'), 'wb') as f:
        f.write(b'hello')
    for i in range(10):
        with open(os.path.join(root, 'n%d' % i), 'wb') as f:
            f.write(b'x' * i)
    os.symlink('d/f', os.path.join(root, 'l'))


def test_tree_lists_types_sizes_links_and_checksums(tmp_path):
    root = str(tmp_path)
    _tree(root)
    entries, err = manifest.tree(root)
    assert err is None
    by = dict((e['path'], e) for e in entries)
    assert by['d']['type'] == 'd' and by['d/e']['type'] == 'd'
    assert by['d/f'] == dict(path='d/f', type='f', size=5, sha256=hashlib.sha256(b'hello').hexdigest(), target=None)
    assert by['l']['type'] == 'l' and by['l']['target'] == 'd/f' and by['l']['sha256'] is None
    assert [e['path'] for e in entries] == sorted(by)


def test_sample_is_the_same_for_the_same_names_and_limits_checksums(tmp_path):
    root = str(tmp_path)
    _tree(root)
    entries = manifest.tree(root, sample=3)[0]
    summed = sorted(e['path'] for e in entries if e['sha256'])
    assert len(summed) == 3
    assert summed == sorted(manifest.sample_pick([e['path'] for e in entries if e['type'] == 'f'], 3))
    assert manifest.sample_pick(['a', 'b'], 0) == set(['a', 'b'])
    assert manifest.sample_pick(['a', 'b'], 5) == set(['a', 'b'])


def test_volume_and_unreadable(tmp_path):
    root = str(tmp_path)
    _tree(root)
    v = manifest.volume(root)
    assert v['readable'] and v['used_bytes'] > 0 and v['free_bytes'] > 0 and v['error'] is None
    missing = manifest.volume(os.path.join(root, 'nope'))
    assert not missing['readable'] and 'nope' in missing['error']
    entries, err = manifest.tree(os.path.join(root, 'nope'))
    assert entries == [] and 'nope' in err

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
---
module: guest_files_info
short_description: The volumes and file lists (sizes, checksums) of data trees on a Linux guest
version_added: 0.4.0
description:
  - Runs inside the guest. For each path of O(paths) - usually a data volume's mountpoint - tells whether the guest
    can read it, the bytes its files use and the bytes free on its filesystem (statvfs), and with O(files=true)
    every entry below it (one filesystem) by relative path - type, size of files, symlink target - and the SHA-256
    of the files' content, for every file or for a sample of O(sample) files chosen from the path names only
    (the same files on both guests when their file lists agree).
  - The rebuild (playbook C(azure_ade.linux.rebuild)) runs it on the old and the new guest and compares both with
    the filter C(azure_ade.linux.rebuild_compare) before it allows the cut-over.
  - Never changes the system; never returns file content. Runs on Python 2.7 and 3.6+ guests.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
options:
  paths:
    description: Absolute paths of the trees (data volumes' mountpoints).
    type: list
    elements: path
    required: true
  files:
    description: Also list every entry below each path (with sizes and checksums).
    type: bool
    default: false
  sample:
    description: Checksum only this many files per path (chosen from the path names; V(null) or V(0) = all files).
    type: int
'''

EXAMPLES = r'''
- name: What the old guest's data volume holds
  azure_ade.linux.guest_files_info:
    paths: [/data]
    files: true
  register: old_tree
'''

RETURN = r'''
volumes:
  description: One per path - C(path), C(readable), C(used_bytes), C(free_bytes), C(size_bytes), C(error).
  returned: always
  type: list
  elements: dict
trees:
  description: With O(files=true) - per path (key), the entries C(path) (relative), C(type) (f, d, l, o), C(size),
    C(sha256) (files checksummed), C(target) (symlinks).
  returned: when O(files=true)
  type: dict
errors:
  description: Paths whose tree could not be read, with the reason.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import manifest


def main():
    module = AnsibleModule(argument_spec=dict(paths=dict(type='list', elements='path', required=True),
                                              files=dict(type='bool', default=False),
                                              sample=dict(type='int')),
                           supports_check_mode=True)
    p = module.params
    bad = [x for x in p['paths'] if not x.startswith('/')]
    if bad:
        module.fail_json(msg='paths must be absolute: {0}'.format(', '.join(bad)))
    if p['sample'] is not None and p['sample'] < 0:
        module.fail_json(msg='sample must be 0 (all files) or more')
    vols = [manifest.volume(x) for x in p['paths']]
    out = dict(changed=False, volumes=vols, errors=[])
    if p['files']:
        out['trees'] = {}
        for x in p['paths']:
            entries, err = manifest.tree(x, p['sample'])
            out['trees'][x] = entries
            if err:
                out['errors'].append(err)
    module.exit_json(**out)


if __name__ == '__main__':
    main()

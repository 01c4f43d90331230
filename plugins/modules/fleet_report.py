#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: fleet_report
short_description: Write a fleet's ADE run as one self-contained HTML page
version_added: 0.1.0
description:
  - Renders the per-VM rows the C(status) and C(encrypt) playbooks collect into one HTML page - the fleet at a
    glance (outcome, phase, blockers, snapshot set, platform/guest mismatch, retirement path per VM) and, per VM,
    its progress over time as a small timeline from the wait history of M(azure_ade.linux.vm_encryption_info).
  - The page has no scripts and no external assets (inline CSS and SVG), so it can be mailed or attached to a ticket.
  - Runs on the control node (C(delegate_to) or a C(localhost) play); writes O(dest) atomically, only when the
    content changed.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.attributes
attributes:
  check_mode:
    support: full
    details: In check mode the page is rendered but not written; C(changed) says whether it would be.
  diff_mode:
    support: none
options:
  dest:
    description: Path of the HTML file to write (its directory must exist).
    type: path
    required: true
  vms:
    description:
      - One dict per VM. Keys shown in the summary - V(host) (required), V(vm), V(resource_group), V(outcome), V(phase),
        V(blockers) (list), V(snapshot_set), V(mismatch) (list), V(retirement) (string, or dict with V(path)),
        V(message) or V(progress_message), V(history) (list of C({time, phase, message, os, data})).
      - Any other key is shown in the VM's detail table.
    type: list
    elements: dict
    required: true
  kind:
    description:
      - Which run the page reports (shown in its header).
      - V(migrate) and V(rebuild) pages show each VM's C(steps) (list of C({step, at, state, message}), the record of
        the run) on its timeline, C(kept) (what stays until the operator confirms - old VM, disks, keys, snapshot
        set) and C(to_confirm) (what is left for the operator), which also fills the summary's last-but-one column.
    type: str
    choices: [status, encrypt, migrate, rebuild]
    default: status
  inventory:
    description:
      - The RV(azure_ade.linux.ade_inventory_info#module:inventory) of a subscription, or a list of them - shown as
        a section "What ADE touched" (every VM's path, scale sets, disks, snapshots, images and restore points that
        carry ADE, what to do before 2028-09-15 and the days left).
    type: raw
  title:
    description: Page title.
    type: str
    default: Azure Disk Encryption
  run_id:
    description: Run ID shown in the header (for example the snapshot run ID).
    type: str
  json_name:
    description: File name of the JSON report written beside the page; linked from the header.
    type: str
'''

EXAMPLES = r'''
- name: Fleet status as a page beside status.json
  azure_ade.linux.fleet_report:
    dest: "{{ ade_report_dir }}/status.html"
    vms: "{{ ade_status_fleet }}"
    kind: status
    json_name: status.json
  delegate_to: localhost
'''

RETURN = r'''
dest:
  description: Path of the page.
  returned: always
  type: str
vms:
  description: Number of VMs on the page.
  returned: always
  type: int
size:
  description: Size of the page in bytes.
  returned: always
  type: int
'''

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.azure_ade.linux.plugins.module_utils.report.fleet_html import render


def main():
    module = AnsibleModule(
        argument_spec=dict(
            dest=dict(type='path', required=True),
            vms=dict(type='list', elements='dict', required=True),
            kind=dict(type='str', choices=['status', 'encrypt', 'migrate', 'rebuild'], default='status'),
            inventory=dict(type='raw'),
            title=dict(type='str', default='Azure Disk Encryption'),
            run_id=dict(type='str'),
            json_name=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    missing = [i for i, v in enumerate(p['vms']) if not (v.get('host') or v.get('vm') or v.get('name'))]
    if missing:
        module.fail_json(msg='vms: entries %s have no host (nor vm/name); give every VM row a host key.'
                         % ', '.join(str(i) for i in missing))
    parent = os.path.dirname(p['dest']) or '.'
    if not os.path.isdir(parent):
        module.fail_json(msg='dest: directory %s does not exist; create it first (ansible.builtin.file state=directory).'
                         % parent)
    page = render(p['vms'], title=p['title'], kind=p['kind'], run_id=p['run_id'], json_name=p['json_name'],
                  inventory=p['inventory'])
    data = page.encode('utf-8')
    old = None
    if os.path.exists(p['dest']):
        with open(p['dest'], 'rb') as f:
            old = f.read()
    # the header carries the time of rendering: compare without it
    changed = old is None or _strip_time(old) != _strip_time(data)
    if changed and not module.check_mode:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix='.fleet_report.')
        with os.fdopen(fd, 'wb') as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        module.atomic_move(tmp, p['dest'])
    module.exit_json(changed=changed, dest=p['dest'], vms=len(p['vms']), size=len(data))


def _strip_time(data):
    head, sep, rest = data.partition(b'</header>')
    return rest if sep else data


if __name__ == '__main__':
    main()

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
  - The page names every VM of the fleet, its blockers and messages, so it is private by default - mode C(0600), or
    C(0640) when O(group) is named - whatever the umask; the mode is set on the new file before it is moved into
    place, and an existing page with another mode is rewritten with O(mode) (reported as changed).
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
  mode:
    description:
      - Permissions of O(dest), as an octal string such as V('0600') (quote it) or a YAML octal number.
      - Default C(0600), or C(0640) when O(group) is given. Bits for others and set-id bits are refused (the page
        lists the whole fleet).
    type: raw
    version_added: 0.2.0
  group:
    description:
      - Group that may read the page (for example the group of an AWX or audit team). With it O(mode) defaults to
        C(0640). The user running the module must be allowed to give the file this group.
    type: str
    version_added: 0.2.0
'''

EXAMPLES = r'''
- name: Fleet status as a page beside status.json
  azure_ade.linux.fleet_report:
    dest: "{{ ade_report_dir }}/status.html"
    vms: "{{ ade_status_fleet }}"
    kind: status
    json_name: status.json
  delegate_to: localhost

- name: Readable by the audit group as well (0640)
  azure_ade.linux.fleet_report:
    dest: /srv/reports/status.html
    vms: "{{ ade_status_fleet }}"
    group: ade-audit
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
mode:
  description: Permissions of the page (octal string).
  returned: always
  type: str
  sample: '0600'
'''

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.azure_ade.linux.plugins.module_utils.report.fleet_html import render
from ansible_collections.azure_ade.linux.plugins.module_utils.report.private_file import parse_mode, write_private


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
            mode=dict(type='raw'),
            group=dict(type='str'),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        mode = parse_mode(p['mode'], p['group'])
    except ValueError as e:
        module.fail_json(msg=str(e))
    gid = None
    if p['group']:
        gid = _group_id(module, p['group'])
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
    same_perms = False
    if os.path.exists(p['dest']):
        with open(p['dest'], 'rb') as f:
            old = f.read()
        st = os.stat(p['dest'])
        same_perms = (st.st_mode & 0o7777) == mode and (gid is None or st.st_gid == gid)
    # the header carries the time of rendering: compare without it
    changed = old is None or _strip_time(old) != _strip_time(data) or not same_perms
    if changed and not module.check_mode:
        try:
            write_private(p['dest'], data, mode, gid)
        except OSError as e:
            module.fail_json(msg='dest: could not write %s: %s' % (p['dest'], e))
    module.exit_json(changed=changed, dest=p['dest'], vms=len(p['vms']), size=len(data), mode='%04o' % mode)


def _group_id(module, name):
    import grp
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        if name.isdigit():
            return int(name)
        module.fail_json(msg='group: %s is not a group on the control node; name an existing group.' % name)


def _strip_time(data):
    head, sep, rest = data.partition(b'</header>')
    return rest if sep else data


if __name__ == '__main__':
    main()

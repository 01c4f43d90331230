#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_snapshot
short_description: Snapshot every managed disk of a VM as one named, tagged set (before ADE)
version_added: 0.1.0
description:
  - Takes a snapshot of the OS disk and of every managed data disk of a VM (incremental by default), as
    Microsoft requires before enabling Azure Disk Encryption, and waits until each is C(Succeeded).
  - Snapshots are named C(<vm>-<run_id>-os) / C(<vm>-<run_id>-lun<N>) and tagged with the run id, the VM and the
    source disk, so a rerun with the same O(run_id) reuses them instead of making more.
  - O(state=absent) deletes the set of that run.
  - VMs with unmanaged (VHD) disks are refused with a clear error.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
options:
  run_id:
    description:
      - Identifies the set (for example the date of the encryption run). Letters, digits, C(_), C(.), C(-).
      - Default C(ade-<UTC date YYYYMMDD>), so a rerun on the same day reuses the set. Pass it explicitly
        when a run may span midnight.
    type: str
    aliases: [snapshot_set]
  state:
    description: V(present) takes (or reuses) the set; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  snapshot_resource_group:
    description: Resource group for the snapshots. Default O(resource_group).
    type: str
  incremental:
    description: Incremental snapshots (cheaper; full copies when V(false)).
    type: bool
    default: true
  sku:
    description: Snapshot storage SKU.
    type: str
    choices: [Standard_LRS, Standard_ZRS, Premium_LRS]
    default: Standard_LRS
  tags:
    description: Extra tags for the snapshots.
    type: dict
  wait:
    description: Wait until every snapshot is C(Succeeded) (deletion - gone).
    type: bool
    default: true
  timeout:
    description: Seconds to wait.
    type: int
    default: 3600
notes:
  - Check mode is supported and returns the snapshots that would be made.
seealso:
  - module: azure_ade.linux.vm_restore
'''

EXAMPLES = r'''
- name: Snapshot every disk before encryption
  azure_ade.linux.vm_snapshot:
    resource_group: rg-app
    name: vm1
    run_id: ade-20261128
  register: snap

- name: Drop the set once encryption succeeded and was verified
  azure_ade.linux.vm_snapshot:
    resource_group: rg-app
    name: vm1
    run_id: ade-20261128
    state: absent
'''

RETURN = r'''
snapshots:
  description: The snapshots of the set (after deletion - the ones deleted).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Snapshot name.
      type: str
      returned: always
    id:
      description: Snapshot resource ID.
      type: str
      returned: always
    role:
      description: "C(os) or C(data)."
      type: str
      returned: always
    lun:
      description: LUN of a data disk.
      type: int
      returned: always
    source_disk_id:
      description: Disk the snapshot was taken from.
      type: str
      returned: always
    provisioning_state:
      description: "C(Succeeded) once complete."
      type: str
      returned: always
    action:
      description: "C(created), C(reused), C(waited), C(deleted) (check mode - C(would_create), ...)."
      type: str
      returned: always
snapshot_ids:
  description: IDs of the snapshots of the set.
  returned: always
  type: list
  elements: str
run_id:
  description: The run id.
  returned: always
  type: str
snapshot_set:
  description: Same as RV(run_id) - pass it to M(azure_ade.linux.vm_restore) O(azure_ade.linux.vm_restore#module:snapshot_set).
  returned: always
  type: str
requests:
  description: HTTP requests made.
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as snap
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import error_text
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.common import azure_module, fail_azure, open_session

_RUN_ID_OK = __import__('re').compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$')


def main():
    module = azure_module(
        dict(resource_group=dict(type='str', required=True), name=dict(type='str', required=True, aliases=['vm_name']),
             run_id=dict(type='str', aliases=['snapshot_set']), state=dict(type='str', choices=['present', 'absent'], default='present'),
             snapshot_resource_group=dict(type='str'), incremental=dict(type='bool', default=True),
             sku=dict(type='str', choices=['Standard_LRS', 'Standard_ZRS', 'Premium_LRS'], default='Standard_LRS'),
             tags=dict(type='dict'), wait=dict(type='bool', default=True), timeout=dict(type='int', default=3600)),
        supports_check_mode=True,
    )
    p = module.params
    if not p['run_id']:
        p['run_id'] = time.strftime('ade-%Y%m%d', time.gmtime())
    if not _RUN_ID_OK.match(p['run_id']):
        module.fail_json(msg="run_id '{0}' must be 1-60 letters, digits, '_', '.', '-' starting with a letter/digit"
                         .format(p['run_id']))
    session = open_session(module)
    rg, name = p['resource_group'], p['name']
    snap_rg = p['snapshot_resource_group'] or rg
    result = dict(changed=False, snapshots=[], snapshot_ids=[], run_id=p['run_id'], snapshot_set=p['run_id'])
    try:
        vm = session.get_vm(rg, name, instance_view=False)
        if vm is None:
            module.fail_json(msg='VM {0} not found in resource group {1}'.format(name, rg), **result)
        existing = session.list_snapshots(snap_rg)
        if p['state'] == 'absent':
            run_absent(module, session, p, vm, existing, snap_rg, result)
        else:
            run_present(module, session, p, vm, existing, snap_rg, result)
    except snap.SnapshotError as exc:
        module.fail_json(msg=str(exc), requests=session.stats.as_dict(), **result)
    except Exception as exc:  # pylint: disable=broad-except
        fail_azure(module, 'vm_snapshot {0}/{1}'.format(rg, name), exc, requests=session.stats.as_dict(), **result)
    result['requests'] = session.stats.as_dict()
    module.exit_json(**result)


def run_present(module, session, p, vm, existing, snap_rg, result):
    plan = snap.plan_snapshots(vm, p['run_id'], existing, p['incremental'], p['sku'], p['tags'])
    pollers = {}
    for item in plan:
        if item['action'] == 'create':
            result['changed'] = True
            if not module.check_mode:
                try:
                    pollers[item['name']] = session.begin_put_snapshot(snap_rg, item['name'], item['body'])
                except Exception as exc:  # pylint: disable=broad-except
                    raise snap.SnapshotError(snapshot_failure(item, exc, vm))
    deadline = time.time() + p['timeout']
    out = []
    for item in plan:
        if module.check_mode:
            desc = dict(name=item['name'], id=(item['existing'] or {}).get('id'), role=item['disk']['role'],
                        lun=item['disk']['lun'], source_disk_id=item['disk']['id'],
                        provisioning_state=((item['existing'] or {}).get('properties') or {}).get('provisioningState'),
                        action='would_' + item['action'])
            out.append(desc)
            continue
        if item['name'] in pollers and p['wait']:
            try:
                pollers[item['name']].result(timeout=max(deadline - time.time(), 1))
            except Exception as exc:  # pylint: disable=broad-except
                raise snap.SnapshotError(snapshot_failure(item, exc, vm))
        cur = session.get_snapshot(snap_rg, item['name'])
        while p['wait'] and cur is not None and \
                ((cur.get('properties') or {}).get('provisioningState') or '') not in ('Succeeded', 'Failed'):
            if time.time() > deadline:
                raise snap.SnapshotError('timeout after {0}s waiting for snapshot {1} (state {2})'.format(
                    p['timeout'], item['name'], (cur.get('properties') or {}).get('provisioningState')))
            time.sleep(5)
            cur = session.get_snapshot(snap_rg, item['name'])
        if cur is None:
            raise snap.SnapshotError('snapshot {0} was not found after creating it'.format(item['name']))
        state = (cur.get('properties') or {}).get('provisioningState')
        if p['wait'] and state != 'Succeeded':
            raise snap.SnapshotError('snapshot {0} ended in state {1}'.format(item['name'], state))
        desc = snap.describe_snapshot(cur)
        desc['action'] = {'create': 'created', 'reuse': 'reused', 'wait': 'waited'}[item['action']]
        out.append(desc)
    result['snapshots'] = out
    result['snapshot_ids'] = [d['id'] for d in out if d.get('id')]


def snapshot_failure(item, exc, vm):
    text = error_text(exc) if hasattr(exc, 'status_code') else str(exc)
    hint = ''
    if 'not supported' in text.lower() or 'incremental' in text.lower():
        hint = (' - region {0} or this disk type does not support these snapshots: try incremental: false, '
                'another sku, or back the VM up another way (Azure Backup) before encrypting'.format(vm.get('location')))
    return 'snapshot {0} of the {1} disk {2} failed: {3}{4}'.format(
        item['name'], item['disk']['role'], item['disk']['name'], text, hint)


def run_absent(module, session, p, vm, existing, snap_rg, result):
    members = snap.snapshot_set(existing, vm['id'], p['run_id'])
    out = []
    pollers = []
    for s in members:
        desc = snap.describe_snapshot(s)
        desc['action'] = 'would_delete' if module.check_mode else 'deleted'
        out.append(desc)
        if not module.check_mode:
            pollers.append(session.begin_delete_snapshot(snap_rg, s['name']))
    if p['wait']:
        for poller in pollers:
            poller.result(timeout=p['timeout'])
    result['changed'] = bool(members)
    result['snapshots'] = out
    result['snapshot_ids'] = [d['id'] for d in out]


if __name__ == '__main__':
    main()

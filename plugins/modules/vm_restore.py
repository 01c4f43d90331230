#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_restore
short_description: Put a VM back on the disks of a snapshot set taken by vm_snapshot
version_added: 0.1.0
description:
  - The remedy when OS encryption fails part way - creates new managed disks from the snapshots of
    O(snapshot_set), deallocates the VM, swaps its OS disk and data disks (same LUNs) for the new ones, and starts it.
  - The new disks are created in O(resource_group), next to the VM.
  - The old disks are kept (detached) unless O(delete_old_disks=true).
  - By default the ADE extension is removed from the VM first (Azure changes extensions only on a running VM),
    so that the guest agent does not start encrypting the restored disks again on boot.
  - Idempotent - a VM already running on the restored disks of that run is not changed; disks made by an
    interrupted earlier run are reused.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
options:
  snapshot_set:
    description:
      - The snapshot set to restore from (RV(azure_ade.linux.vm_snapshot#module:snapshot_set); the VM's rollout record
        names it in tag C(azure_ade_snapshot_set)). The alias C(run_id) is deprecated.
    type: str
    required: true
    aliases: [run_id]
  snapshot_resource_group:
    description: Resource group of the snapshots. Default O(resource_group).
    type: str
  remove_ade_extension:
    description: Remove the ADE extension from the VM model before starting it on the restored disks.
    type: bool
    default: true
  delete_old_disks:
    description: Delete the disks that were swapped out, after the VM started on the restored ones.
    type: bool
    default: false
  start:
    description: Start the VM after the swap.
    type: bool
    default: true
  expected_vm_id:
    description:
      - The guest's IMDS C(vmId) (when the guest answers). When set, the module refuses, before any change, a VM
        whose ARM C(vmId) differs.
    type: str
notes:
  - Check mode is supported and returns the plan.
seealso:
  - module: azure_ade.linux.vm_snapshot
'''

EXAMPLES = r'''
- name: OS encryption failed part way - go back to the pre-encryption disks
  azure_ade.linux.vm_restore:
    resource_group: rg-app
    name: vm1
    snapshot_set: ade-20261128
'''

RETURN = r'''
disks:
  description: One entry per restored disk.
  returned: always
  type: list
  elements: dict
  contains:
    role:
      description: "C(os) or C(data)."
      type: str
      returned: always
    lun:
      description: LUN of a data disk.
      type: int
      returned: always
    snapshot_id:
      description: Source snapshot.
      type: str
      returned: always
    new_disk_name:
      description: The disk the VM now uses.
      type: str
      returned: always
    new_disk_id:
      description: Its ID.
      type: str
      returned: always
    old_disk_id:
      description: The disk swapped out.
      type: str
      returned: always
    action:
      description: "C(created), C(reused), C(in_place) (check mode - C(would_create) ...)."
      type: str
      returned: always
actions:
  description: Steps done in order (C(create_disks), C(remove_extension), C(deallocate), C(swap_disks), C(start), C(delete_old_disks)).
  returned: always
  type: list
  elements: str
old_disks:
  description: IDs of the disks swapped out (kept unless O(delete_old_disks)).
  returned: always
  type: list
  elements: str
disks_not_in_set:
  description: Data disks attached to the VM that the snapshot set does not cover (left as they are).
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests made.
  returned: always
  type: dict
'''

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as snap
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.common import (
    azure_module, fail_azure, identity_error, open_session)


def main():
    module = azure_module(
        dict(resource_group=dict(type='str', required=True), name=dict(type='str', required=True, aliases=['vm_name']),
             snapshot_set=dict(type='str', required=True, aliases=['run_id'],
                               deprecated_aliases=[dict(name='run_id', version='2.0.0', collection_name='azure_ade.linux')]),
             snapshot_resource_group=dict(type='str'),
             remove_ade_extension=dict(type='bool', default=True), delete_old_disks=dict(type='bool', default=False),
             start=dict(type='bool', default=True), expected_vm_id=dict(type='str')),
        supports_check_mode=True,
    )
    p = module.params
    session = open_session(module)
    rg, name = p['resource_group'], p['name']
    result = dict(changed=False, disks=[], actions=[], old_disks=[], disks_not_in_set=[])
    try:
        vm = session.get_vm(rg, name)
        if vm is None:
            module.fail_json(msg='VM {0} not found in resource group {1}'.format(name, rg), **result)
        err = identity_error(vm, p['expected_vm_id'])
        if err:
            module.fail_json(msg=err, requests=session.stats.as_dict(), **result)
        members = snap.snapshot_set(session.list_snapshots(p['snapshot_resource_group'] or rg), vm['id'], p['snapshot_set'])
        restored_names = set()
        plan = snap.plan_restore(vm, members, p['snapshot_set'])
        for item in plan['disks']:
            restored_names.add(item['new_name'])
        # Reuse disks of an interrupted earlier restore (one GET per planned disk).
        existing = [d for d in (session.get_disk(rg, n) for n in sorted(restored_names)) if d is not None]
        plan = snap.plan_restore(vm, members, p['snapshot_set'], existing)
        result['disks_not_in_set'] = plan['disks_not_in_set']
        if plan['already_restored']:
            result['disks'] = [_desc(i, (i['existing'] or {}).get('id'), 'in_place') for i in plan['disks']]
            result['requests'] = session.stats.as_dict()
            module.exit_json(**result)
        result['changed'] = True
        if module.check_mode:
            result['disks'] = [_desc(i, (i['existing'] or {}).get('id'), 'would_' + i['action']) for i in plan['disks']]
            result['actions'] = ['create_disks'] + \
                (['remove_extension'] if p['remove_ade_extension'] and ade.find_ade_extension(vm) else []) + \
                ['deallocate', 'swap_disks'] + (['start'] if p['start'] else []) + (['delete_old_disks'] if p['delete_old_disks'] else [])
            result['old_disks'] = [i['current_id'] for i in plan['disks'] if i['current_id']]
            result['requests'] = session.stats.as_dict()
            module.exit_json(**result)
        new_ids = {}
        descs = []
        for item in plan['disks']:
            if item['action'] == 'create':
                disk = session.put_disk(rg, item['new_name'], item['body'])
                action = 'created'
            else:
                disk = item['existing']
                action = 'reused' if item['action'] == 'reuse' else 'in_place'
            new_ids[(item['role'], item['lun'])] = (item['new_name'], disk['id'])
            descs.append(_desc(item, disk['id'], action))
        result['actions'].append('create_disks')
        result['disks'] = descs
        if p['remove_ade_extension'] and ade.find_ade_extension(vm):
            # Azure only modifies extensions of a running VM, so this happens before the deallocation.
            session.delete_extension(rg, name, ade.EXTENSION_NAME)
            result['actions'].append('remove_extension')
        session.deallocate_vm(rg, name)
        result['actions'].append('deallocate')
        fresh = session.get_vm(rg, name, instance_view=False)
        session.put_vm(rg, name, snap.swapped_vm_body(fresh, plan, new_ids))
        result['actions'].append('swap_disks')
        old = [i['current_id'] for i in plan['disks'] if i['current_id'] and i['action'] != 'in_place']
        result['old_disks'] = old
        if p['start']:
            session.start_vm(rg, name)
            result['actions'].append('start')
        if p['delete_old_disks']:
            for did in old:
                session.delete_disk(ade.parse_resource_id(did)['resource_group'], ade.parse_resource_id(did)['name'])
            result['actions'].append('delete_old_disks')
    except snap.SnapshotError as exc:
        module.fail_json(msg=str(exc), requests=session.stats.as_dict(), **result)
    except Exception as exc:  # pylint: disable=broad-except
        fail_azure(module, 'vm_restore {0}/{1} (done so far: {2})'.format(rg, name, ', '.join(result['actions']) or 'nothing'),
                   exc, requests=session.stats.as_dict(), **result)
    result['requests'] = session.stats.as_dict()
    module.exit_json(**result)


def _desc(item, new_id, action):
    return dict(role=item['role'], lun=item['lun'], snapshot_id=item['snapshot_id'], new_disk_name=item['new_name'],
                new_disk_id=new_id, old_disk_id=item['current_id'], action=action)


if __name__ == '__main__':
    main()

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
  - Resumable - a re-run finishes what an interrupted one began (creates the missing disks, removes the extension,
    swaps, starts a VM left deallocated); a VM already running on the restored disks of that set is not changed.
    A disk made by an earlier run is reused only if its copy succeeded and it comes from the right snapshot (tag
    C(azure_ade_restored_from)); otherwise it is deleted and made again. Each restored disk remembers the disk it
    replaced (tag C(azure_ade_replaces_disk_id)), so the old disks are known after the swap too.
  - Writes that Azure answers with 409 (another operation in progress) are retried until O(timeout).
  - The VM's rollout record (tags, see docs/architecture.md) moves to C(restoring) before the first write and
    C(restored) once the VM runs on the restored disks. A VM whose record names another snapshot set (the one taken
    before its first enable) is refused unless O(allow_other_snapshot_set=true).
  - Snapshots are trusted by recorded IDs and source disks, never by their tags - the set's members are the ones the
    VM's record (tag C(azure_ade_snapshot_ids), written by M(azure_ade.linux.vm_snapshot)) names; each member's
    C(creationData.sourceResourceId) must be the VM's own disk of that role/LUN. A set with a foreign, duplicate or
    missing member is refused before any write, with a message naming the snapshot. Snapshots tagged as members but
    not recorded are not used (listed in RV(notes)).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
  - azure_ade.linux.lease
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.actiongroup_azure
attributes:
  check_mode:
    support: full
    details: Reports the steps it would take; changes nothing.
  diff_mode:
    support: none
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
    description:
      - Delete the disks that were swapped out, only after the VM runs on the restored disks and its guest agent
        reports C(Ready) (checked within O(timeout); if not, the old disks are kept and RV(notes) says so).
    type: bool
    default: false
  timeout:
    description: Seconds to wait for 409 conflicts to clear and for the agent to be ready (>= 0).
    type: int
    default: 1800
  allow_other_snapshot_set:
    description:
      - Restore from O(snapshot_set) even though the VM's rollout record names another set (the one taken before the
        first enable). Only for sets you know were taken before any change.
    type: bool
    default: false
  start:
    description: Start the VM after the swap.
    type: bool
    default: true
  expected_vm_id:
    description:
      - An empty string is refused before any change (it never means "no check"); leave the option out for no check.
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
  description: >-
    Steps done in order (C(record_restoring), C(delete_failed_disks), C(create_disks), C(remove_extension), C(deallocate),
    C(swap_disks), C(start), C(record_restored), C(delete_old_disks)).
  returned: always
  type: list
  elements: str
old_disks:
  description: IDs of the disks swapped out, also when an earlier run did the swap (kept unless O(delete_old_disks)).
  returned: always
  type: list
  elements: str
notes:
  description: What was left undone on purpose (e.g. old disks kept because the agent was not ready).
  returned: always
  type: list
  elements: str
rollout:
  description: The VM's rollout record after the run (see docs/architecture.md).
  returned: always
  type: dict
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

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import provenance as prov
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as snap
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import VM_ARGSPEC, AzureModule, write_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller

RECORD_FROM = ('snapshot_taken', 'enabling', 'encrypting', 'verified', 'verify_failed', 'restoring')


def main():
    base = AzureModule(
        dict(VM_ARGSPEC,
             snapshot_set=dict(type='str', required=True, aliases=['run_id'],
                               deprecated_aliases=[dict(name='run_id', version='2.0.0', collection_name='azure_ade.linux')]),
             snapshot_resource_group=dict(type='str'),
             remove_ade_extension=dict(type='bool', default=True), delete_old_disks=dict(type='bool', default=False),
             start=dict(type='bool', default=True), expected_vm_id=dict(type='str'),
             timeout=dict(type='int', default=1800), allow_other_snapshot_set=dict(type='bool', default=False)),
        non_negative=('timeout',), lease=True,
        supports_check_mode=True,
    )
    module = base.module
    p = base.params
    session = base.open_session()
    rg, name = p['resource_group'], p['name']
    result = dict(changed=False, disks=[], actions=[], old_disks=[], disks_not_in_set=[], notes=[])
    deadline = time.time() + p['timeout']
    try:
        vm = base.read_vm_leased(rg, name)
        if vm is None:
            base.fail('VM {0} not found in resource group {1}'.format(name, rg), **result)
        err = rollout.identity_error(vm, p['expected_vm_id'])
        if err:
            base.fail(err, **result)
        record = rollout.parse_record(vm.get('tags'))
        result['rollout'] = record
        if record['stage'] in rollout.STARTED and record['snapshot_set'] and \
                record['snapshot_set'] != p['snapshot_set'] and not p['allow_other_snapshot_set']:
            base.fail("refusing to restore {0} from set {1}: its rollout record names set {2}, the one taken "
                      "before the first enable (stage {3}); a set taken later may hold half-encrypted disks. "
                      "Restore from {2}, or set allow_other_snapshot_set=true if you know {1} was taken "
                      "before any change".format(name, p['snapshot_set'], record['snapshot_set'], record['stage']),
                      **result)
        run(module, session, p, vm, record, result, deadline)
    except (snap.SnapshotError, rollout.RolloutError, prov.ProvenanceError) as exc:
        base.fail(str(exc), **result)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_restore {0}/{1} (done so far: {2}; run again to finish)'.format(
            rg, name, ', '.join(result['actions']) or 'nothing'), exc, **result)
    base.exit(**result)


def run(module, session, p, vm, record, result, deadline):
    rg, name = p['resource_group'], p['name']
    every = session.list_snapshots(p['snapshot_resource_group'] or rg)
    # Disks of an interrupted earlier restore (one GET per disk of the VM), then the set's members by the VM's record
    # (recorded names + digest) and their ARM source disks - never by tags alone (issue 15).
    existing = [d for d in (session.get_disk(rg, n) for n in provenance_restored_names(vm, p['snapshot_set']))
                if d is not None]
    members = prov.select_members(vm, snap.vm_disks(vm), p['snapshot_set'], every,
                                  lambda key: member_snapshot_name(vm, p['snapshot_set'], key), existing)
    planted = prov.ignored(every, members, vm['id'], p['snapshot_set'])
    if planted:
        result['notes'].append('snapshots tagged as members of set {0} but not in its record were not used: {1}'
                               .format(p['snapshot_set'], ', '.join(planted)))
    plan = snap.plan_restore(vm, members, p['snapshot_set'])
    names = set((d.get('name') or '').lower() for d in existing)
    existing += [d for d in (session.get_disk(rg, i['new_name']) for i in plan['disks']
                             if i['new_name'].lower() not in names) if d is not None]
    plan = snap.plan_restore(vm, members, p['snapshot_set'], existing)
    result['disks_not_in_set'] = plan['disks_not_in_set']
    result['old_disks'] = [i['replaced_id'] for i in plan['disks'] if i['replaced_id']]
    ps = ade.power_state(vm)
    ext_present = p['remove_ade_extension'] and ade.find_ade_extension(vm) is not None
    steps = snap.restore_steps(plan, ps, ext_present, p['start'], record['stage'] in RECORD_FROM,
                               record['stage'] == 'restoring')
    if module.check_mode:
        result['changed'] = bool([s for s in steps if s not in ('delete_old_disks',)])
        result['disks'] = [_desc(i, (i['existing'] or {}).get('id'), ('would_' + i['action']) if i['action'] != 'in_place'
                                 else 'in_place') for i in plan['disks']]
        result['actions'] = steps + (['delete_old_disks'] if p['delete_old_disks'] and result['old_disks'] else [])
        return

    def act(step, func):
        session.retry_conflicts(func, deadline, 'restore: ' + step)
        result['actions'].append(step)
        result['changed'] = True

    if 'record_restoring' in steps:
        write_record(session, rg, name, vm, 'restoring', deadline)
        result['actions'].append('record_restoring')
        result['changed'] = True
    new_ids = {}
    descs = []
    for item in plan['disks']:
        if item['action'] == 'recreate':
            act('delete_failed_disks', lambda i=item: session.delete_disk(rg, i['new_name']))
        if item['action'] in ('create', 'recreate'):
            holder = {}
            act('create_disks', lambda i=item: holder.update(d=session.put_disk(rg, i['new_name'], i['body'])))
            disk = holder['d']
            action = 'created' if item['action'] == 'create' else 'recreated'
        else:
            disk = item['existing']
            action = 'reused' if item['action'] == 'reuse' else 'in_place'
        if (disk.get('properties') or {}).get('provisioningState') not in (None, 'Succeeded'):
            raise snap.SnapshotError('restored disk {0} ended in state {1}; run again (it is made anew)'.format(
                item['new_name'], (disk.get('properties') or {}).get('provisioningState')))
        new_ids[(item['role'], item['lun'])] = (item['new_name'], disk['id'])
        descs.append(_desc(item, disk['id'], action))
    result['disks'] = descs
    result['actions'] = _dedup(result['actions'])
    if 'start_for_extension_removal' in steps:
        act('start_for_extension_removal', lambda: session.start_vm(rg, name))
    if 'remove_extension' in steps:
        # Azure only modifies extensions of a running VM, so this happens before the deallocation.
        act('remove_extension', lambda: session.delete_extension(rg, name, ade.EXTENSION_NAME))
    if 'deallocate' in steps:
        act('deallocate', lambda: session.deallocate_vm(rg, name))
    if 'swap_disks' in steps:
        fresh = session.get_vm(rg, name, instance_view=False)
        act('swap_disks', lambda: session.put_vm(rg, name, snap.swapped_vm_body(fresh, plan, new_ids)))
    if 'start' in steps:
        act('start', lambda: session.start_vm(rg, name))
    if 'record_restored' in steps:
        fresh = session.get_vm(rg, name, instance_view=False)
        result['rollout'] = rollout.parse_record(write_record(session, rg, name, fresh, 'restored', deadline))
        result['actions'].append('record_restored')
        result['changed'] = True
    if p['delete_old_disks'] and result['old_disks']:
        delete_old_disks(session, p, result, deadline)


def _member_disk(key):
    return dict(role='os' if key == 'os' else 'data', lun=None if key == 'os' else int(key))


def member_snapshot_name(vm, snapshot_set, key):
    """The name vm_snapshot gives member ``key`` ('os' or a LUN) of the set."""
    return snap.snapshot_name(vm['name'], snapshot_set, _member_disk(key))


def provenance_restored_names(vm, snapshot_set):
    """Names of the disks a restore of ``snapshot_set`` makes for the VM's current disks."""
    return [snap.safe_name(vm['name'], snapshot_set, 'restored', 'os' if d['role'] == 'os' else 'lun{0}'.format(d['lun']))
            for d in snap.vm_disks(vm)]


def delete_old_disks(session, p, result, deadline):
    """Delete the swapped-out disks only once the VM runs on the restored disks and its agent is Ready."""
    rg, name = p['resource_group'], p['name']
    waiter = Poller(max(0.0, deadline - time.time()))
    while True:
        vm = waiter.call(lambda: session.get_vm(rg, name), 'GET VM {0}'.format(name))
        if snap.vm_ready_on(vm, result['disks']):
            break
        if not p['start'] and ade.power_state(vm) != 'running':
            result['notes'].append('old disks kept: the VM is not running (start=false), so it is not verified on the '
                                   'restored disks; run again with start=true and delete_old_disks=true')
            return
        if not waiter.pause(5):
            result['notes'].append('old disks kept: the VM did not run on the restored disks with its agent Ready '
                                   'within the timeout; run again with delete_old_disks=true later')
            return
    for did in result['old_disks']:
        rid = ade.parse_resource_id(did)
        if session.get_disk(rid['resource_group'], rid['name']) is None:
            continue
        session.retry_conflicts(lambda r=rid: session.delete_disk(r['resource_group'], r['name']), deadline,
                                'deleting old disk ' + rid['name'])
        result['changed'] = True
    result['actions'].append('delete_old_disks')


def _dedup(actions):
    out = []
    for a in actions:
        if a not in out:
            out.append(a)
    return out


def _desc(item, new_id, action):
    return dict(role=item['role'], lun=item['lun'], snapshot_id=item['snapshot_id'], new_disk_name=item['new_name'],
                new_disk_id=new_id, old_disk_id=item['replaced_id'], action=action)


if __name__ == '__main__':
    main()

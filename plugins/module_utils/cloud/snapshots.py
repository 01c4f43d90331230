# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: snapshot sets (naming, tagging, request bodies) and restore plans."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.vm_shape import instance_view, power_state

TAG_RUN = 'azure_ade_run_id'
TAG_VM = 'azure_ade_vm_id'
TAG_ROLE = 'azure_ade_disk_role'
TAG_LUN = 'azure_ade_lun'
TAG_SOURCE = 'azure_ade_source_disk_id'
TAG_RESTORED_FROM = 'azure_ade_restored_from'
TAG_REPLACES = 'azure_ade_replaces_disk_id'   # on a restored disk: the disk it replaced (vm_restore resumes from it)
_NAME_OK = re.compile(r'[^A-Za-z0-9_.-]')
MAX_NAME = 80


class SnapshotError(Exception):
    pass


def safe_name(*parts):
    """An Azure disk/snapshot name (1-80 chars of [A-Za-z0-9_.-], alnum start, alnum/_ end)."""
    raw = '-'.join(str(p) for p in parts if p not in (None, ''))
    name = _NAME_OK.sub('-', raw).strip('.-')
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(raw.encode('utf-8')).hexdigest()[:8]
        name = name[:MAX_NAME - 9].rstrip('.-') + '-' + digest
    return name


def vm_disks(vm):
    """OS and data disks of a VM model: [{role, lun, name, id, sku}]. Raises SnapshotError on VHDs."""
    storage = (vm.get('properties') or {}).get('storageProfile') or {}
    os_disk = storage.get('osDisk') or {}
    disks = []
    unmanaged = []
    if not (os_disk.get('managedDisk') or {}).get('id'):
        unmanaged.append('OS disk {0}'.format(os_disk.get('name') or (os_disk.get('vhd') or {}).get('uri')))
    else:
        disks.append(dict(role='os', lun=None, name=os_disk.get('name'), id=os_disk['managedDisk']['id'],
                          sku=os_disk['managedDisk'].get('storageAccountType'), caching=os_disk.get('caching')))
    for dd in sorted(storage.get('dataDisks') or [], key=lambda d: d.get('lun', 0)):
        md = dd.get('managedDisk') or {}
        if not md.get('id'):
            unmanaged.append('data disk LUN {0} {1}'.format(dd.get('lun'), dd.get('name') or (dd.get('vhd') or {}).get('uri')))
            continue
        disks.append(dict(role='data', lun=dd.get('lun'), name=dd.get('name'), id=md['id'],
                          sku=md.get('storageAccountType'), caching=dd.get('caching')))
    if unmanaged:
        raise SnapshotError("VM {0} has unmanaged (VHD) disks: {1}. Managed-disk snapshots need managed disks; "
                            "convert the VM first (az vm deallocate; az vm convert) or back it up another way"
                            .format(vm.get('name'), ', '.join(unmanaged)))
    return disks


def snapshot_name(vm_name, run_id, disk):
    if disk['role'] == 'os':
        return safe_name(vm_name, run_id, 'os')
    return safe_name(vm_name, run_id, 'lun{0}'.format(disk['lun']))


def snapshot_tags(vm, run_id, disk, extra=None):
    tags = dict(extra or {})
    tags.update({TAG_RUN: run_id, TAG_VM: vm['id'].lower(), TAG_ROLE: disk['role'], TAG_SOURCE: disk['id']})
    if disk['lun'] is not None:
        tags[TAG_LUN] = str(disk['lun'])
    return tags


def snapshot_body(vm, disk, tags, incremental=True, sku='Standard_LRS'):
    return {
        'location': vm['location'],
        'tags': tags,
        'sku': {'name': sku},
        'properties': {
            'creationData': {'createOption': 'Copy', 'sourceResourceId': disk['id']},
            'incremental': bool(incremental),
        },
    }


def plan_snapshots(vm, run_id, existing, incremental=True, sku='Standard_LRS', extra_tags=None):
    """For each disk: reuse the snapshot of this run (by name + tags) or create it. Pure.

    ``existing``: snapshots of the target resource group (REST dicts). Returns a list of
    {disk, name, body, existing (dict|None), action: reuse|wait|create}.
    A snapshot with the expected name that belongs to another VM/run is an error (never overwritten).
    """
    by_name = dict(((s.get('name') or '').lower(), s) for s in existing)
    plan = []
    for disk in vm_disks(vm):
        name = snapshot_name(vm['name'], run_id, disk)
        tags = snapshot_tags(vm, run_id, disk, extra_tags)
        cur = by_name.get(name.lower())
        if cur is not None:
            ctags = cur.get('tags') or {}
            if ctags.get(TAG_RUN) != run_id or (ctags.get(TAG_VM) or '').lower() != vm['id'].lower():
                raise SnapshotError("snapshot {0} already exists and is not part of run {1} of VM {2} (tags {3}); "
                                    "choose another run_id or remove it".format(name, run_id, vm['name'], ctags))
            if (ctags.get(TAG_SOURCE) or '').lower() != disk['id'].lower():
                raise SnapshotError("snapshot {0} of run {1} was taken from {2}, but the VM's {3} disk is now {4}; "
                                    "use a new run_id".format(name, run_id, ctags.get(TAG_SOURCE), disk['role'],
                                                              disk['id']))
            state = ((cur.get('properties') or {}).get('provisioningState') or '').lower()
            action = 'reuse' if state == 'succeeded' else ('create' if state == 'failed' else 'wait')
        else:
            action = 'create'
        plan.append(dict(disk=disk, name=name, body=snapshot_body(vm, disk, tags, incremental, sku),
                         existing=cur, action=action))
    return plan


def snapshot_set(snapshots, vm_id, run_id):
    """The snapshots of a run of a VM, by tags. Pure."""
    out = []
    for s in snapshots:
        tags = s.get('tags') or {}
        if tags.get(TAG_RUN) == run_id and (tags.get(TAG_VM) or '').lower() == vm_id.lower():
            out.append(s)
    return out


def describe_snapshot(s):
    tags = s.get('tags') or {}
    props = s.get('properties') or {}
    return dict(name=s.get('name'), id=s.get('id'), role=tags.get(TAG_ROLE),
                lun=int(tags[TAG_LUN]) if tags.get(TAG_LUN) not in (None, '') else None,
                source_disk_id=tags.get(TAG_SOURCE), provisioning_state=props.get('provisioningState'),
                incremental=props.get('incremental'), time_created=props.get('timeCreated'))


def plan_restore(vm, snapshots, run_id, restored_disks=None):
    """Restore plan: new disks from the run's snapshots, then swap OS/data disks. Pure.

    ``snapshots``: the run's snapshots (see snapshot_set). ``restored_disks``: existing disks of the VM's
    resource group (to reuse a disk made by an earlier, interrupted restore).
    Returns dict(disks=[{role, lun, snapshot_id, new_name, current_id, body, existing, action}],
                 already_restored=bool, vm_body_changes=...)
    """
    descs = [describe_snapshot(s) for s in snapshots]
    os_snaps = [d for d in descs if d['role'] == 'os']
    if not os_snaps:
        raise SnapshotError("no OS-disk snapshot of run {0} found for VM {1}; take one with vm_snapshot first"
                            .format(run_id, vm.get('name')))
    bad = [d['name'] for d in descs if (d['provisioning_state'] or '').lower() != 'succeeded']
    if bad:
        raise SnapshotError("snapshots of run {0} not ready (provisioningState not Succeeded): {1}".format(
            run_id, ', '.join(bad)))
    current = dict(((d['role'], d['lun']), d) for d in vm_disks(vm))
    existing = dict(((d.get('name') or '').lower(), d) for d in (restored_disks or []))
    zones = vm.get('zones')
    items = []
    for snap in sorted(descs, key=lambda d: (d['role'] != 'os', d['lun'] if d['lun'] is not None else -1)):
        key = (snap['role'], snap['lun'])
        cur = current.get(key)
        new_name = safe_name(vm['name'], run_id, 'restored', 'os' if snap['role'] == 'os' else 'lun{0}'.format(snap['lun']))
        sku = (cur or {}).get('sku') or 'Premium_LRS'
        tags = {TAG_RUN: run_id, TAG_VM: vm['id'].lower(), TAG_RESTORED_FROM: snap['id']}
        if cur is not None:
            tags[TAG_REPLACES] = cur['id']
        body = {'location': vm['location'], 'sku': {'name': sku}, 'tags': tags,
                'properties': {'creationData': {'createOption': 'Copy', 'sourceResourceId': snap['id']}}}
        if snap['role'] == 'os':
            body['properties']['osType'] = 'Linux'
            hyperv = ((vm.get('properties') or {}).get('instanceView') or {}).get('hyperVGeneration')
            if hyperv:
                body['properties']['hyperVGeneration'] = hyperv
        if zones:
            body['zones'] = zones
        ex = existing.get(new_name.lower())
        if ex is not None and not restored_disk_ok(ex, snap['id']):
            if cur is not None and cur['id'].lower() == (ex.get('id') or '').lower():
                raise SnapshotError("VM {0} runs on disk {1}, which was not restored completely from snapshot {2} "
                                    "(tags {3}, state {4}); restore it by hand".format(
                                        vm.get('name'), ex.get('name'), snap['id'], ex.get('tags'),
                                        (ex.get('properties') or {}).get('provisioningState')))
            action = 'recreate'          # a copy that failed or came from another snapshot: never attached
        elif cur is not None and ex is not None and cur['id'].lower() == (ex.get('id') or '').lower():
            action = 'in_place'          # VM already runs on this restored disk
        elif ex is not None:
            action = 'reuse'
        else:
            action = 'create'
        replaced = ((ex or {}).get('tags') or {}).get(TAG_REPLACES) if action == 'in_place' else (cur or {}).get('id')
        if action != 'in_place' and ex is not None and ex.get('managedBy'):
            raise SnapshotError("restored disk {0} is attached to {1}; detach it or remove it before restoring again"
                                .format(ex.get('name'), ex.get('managedBy')))
        items.append(dict(role=snap['role'], lun=snap['lun'], snapshot_id=snap['id'], new_name=new_name,
                          replaced_id=replaced, current_id=(cur or {}).get('id'), current_name=(cur or {}).get('name'),
                          caching=(cur or {}).get('caching'), body=body, existing=ex, action=action))
    snap_keys = set((d['role'], d['lun']) for d in descs)
    extra = [d['name'] for k, d in current.items() if k not in snap_keys]
    return dict(disks=items, already_restored=all(i['action'] == 'in_place' for i in items),
                disks_not_in_set=extra)


def restored_disk_ok(disk, snapshot_id):
    """A restored disk may be reused only when its copy succeeded and it comes from ``snapshot_id``. Pure."""
    tags = disk.get('tags') or {}
    state = ((disk.get('properties') or {}).get('provisioningState') or '').lower()
    return state == 'succeeded' and (tags.get(TAG_RESTORED_FROM) or '').lower() == (snapshot_id or '').lower()


READ_ONLY_VM_PROPS = ('instanceView', 'provisioningState', 'vmId', 'timeCreated')


def swapped_vm_body(vm, plan, new_ids):
    """The VM PUT body with OS and data disks swapped to ``new_ids`` {(role, lun): (name, id)}. Pure."""
    body = {k: v for k, v in vm.items() if k not in ('resources', 'etag')}
    props = {k: v for k, v in (vm.get('properties') or {}).items() if k not in READ_ONLY_VM_PROPS}
    storage = dict(props.get('storageProfile') or {})
    os_disk = dict(storage.get('osDisk') or {})
    if ('os', None) in new_ids:
        name, did = new_ids[('os', None)]
        os_disk['name'] = name
        md = dict(os_disk.get('managedDisk') or {})
        md['id'] = did
        os_disk['managedDisk'] = md
        os_disk.pop('encryptionSettings', None)
    storage['osDisk'] = os_disk
    data = []
    by_lun = dict((d.get('lun'), d) for d in storage.get('dataDisks') or [])
    for item in plan['disks']:
        if item['role'] != 'data':
            continue
        name, did = new_ids[('data', item['lun'])]
        old = dict(by_lun.get(item['lun']) or {'lun': item['lun'], 'caching': item.get('caching') or 'ReadOnly'})
        old.update({'name': name, 'createOption': 'Attach', 'managedDisk': {'id': did}})
        old.pop('diskSizeGB', None)
        by_lun[item['lun']] = old
    for lun in sorted(k for k in by_lun if k is not None):
        data.append(by_lun[lun])
    storage['dataDisks'] = data
    props['storageProfile'] = storage
    body['properties'] = props
    return body


def restore_steps(plan, power_state, ext_present, start, recorded, restoring):
    """What is left of a restore, in order. Pure.

    ``recorded``: the VM carries a rollout record to move (restoring, then restored); ``restoring``: it already
    says restoring (a resumed restore)."""
    swapped = plan['already_restored']
    steps = []
    if recorded and not restoring:
        steps.append('record_restoring')
    if not swapped:
        if any(i['action'] == 'recreate' for i in plan['disks']):
            steps.append('delete_failed_disks')
        if any(i['action'] in ('create', 'recreate') for i in plan['disks']):
            steps.append('create_disks')
        if ext_present:
            if power_state != 'running':
                steps.append('start_for_extension_removal')   # Azure changes extensions only on a running VM
            steps.append('remove_extension')
        if power_state != 'deallocated' or ext_present:
            steps.append('deallocate')
        steps.append('swap_disks')
    elif ext_present and power_state == 'running':
        # Swapped and started by an earlier run that stopped before removing the extension (not the normal
        # order): remove it now.
        steps.append('remove_extension')
    if start and (not swapped or power_state != 'running'):
        steps.append('start')
    if recorded:
        steps.append('record_restored')
    return steps


def vm_ready_on(vm, disks):
    """The VM is running on exactly the restored disks and its guest agent reports Ready. Pure."""
    if vm is None or power_state(vm) != 'running':
        return False
    current = set(d['id'].lower() for d in vm_disks(vm))
    if not all((d['new_disk_id'] or '').lower() in current for d in disks):
        return False
    agent = (instance_view(vm).get('vmAgent') or {}).get('statuses') or []
    return any((s.get('displayStatus') or '').lower() == 'ready' for s in agent)

# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as S
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F


def snapshot_from(item, state='Succeeded'):
    return {'name': item['name'], 'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/snapshots/{2}'
            .format(F.SUB, F.RG, item['name']), 'location': 'eastus', 'tags': item['body']['tags'],
            'properties': dict(item['body']['properties'], provisioningState=state)}


def test_plan_covers_os_and_every_data_disk():
    vm = F.vm(data_disks=2)
    plan = S.plan_snapshots(vm, 'run1', [])
    assert [p['name'] for p in plan] == ['vm1-run1-os', 'vm1-run1-lun0', 'vm1-run1-lun1']
    assert all(p['action'] == 'create' for p in plan)
    body = plan[0]['body']
    assert body['properties']['creationData'] == {'createOption': 'Copy',
                                                  'sourceResourceId': vm['properties']['storageProfile']['osDisk']['managedDisk']['id']}
    assert body['properties']['incremental'] is True and body['location'] == 'eastus'
    assert body['tags'][S.TAG_RUN] == 'run1' and body['tags'][S.TAG_ROLE] == 'os'
    assert plan[2]['body']['tags'][S.TAG_LUN] == '1'


def test_rerun_reuses_and_waits():
    vm = F.vm(data_disks=1)
    first = S.plan_snapshots(vm, 'run1', [])
    existing = [snapshot_from(first[0]), snapshot_from(first[1], 'Updating')]
    again = S.plan_snapshots(vm, 'run1', existing)
    assert [p['action'] for p in again] == ['reuse', 'wait']


def test_foreign_snapshot_with_same_name_is_refused():
    vm = F.vm()
    first = S.plan_snapshots(vm, 'run1', [])
    foreign = snapshot_from(first[0])
    foreign['tags'] = {'owner': 'someone'}
    with pytest.raises(S.SnapshotError, match='not part of run'):
        S.plan_snapshots(vm, 'run1', [foreign])


def test_unmanaged_disks_refused():
    with pytest.raises(S.SnapshotError, match='unmanaged'):
        S.plan_snapshots(F.vm(unmanaged=True), 'run1', [])


def test_safe_name_limits():
    n = S.safe_name('v' * 70, 'run/with spaces', 'os')
    assert len(n) <= 80 and ' ' not in n and '/' not in n
    assert S.safe_name('vm', 'r', 'os') == 'vm-r-os'


def test_restore_plan_and_swap_body():
    vm = F.vm(data_disks=2)
    snaps = [snapshot_from(i) for i in S.plan_snapshots(vm, 'run1', [])]
    members = S.snapshot_set(snaps + [{'name': 'x', 'tags': {S.TAG_RUN: 'other'}}], vm['id'], 'run1')
    assert len(members) == 3
    plan = S.plan_restore(vm, members, 'run1')
    assert [d['action'] for d in plan['disks']] == ['create'] * 3
    assert plan['disks'][0]['role'] == 'os' and plan['disks'][0]['body']['properties']['osType'] == 'Linux'
    assert plan['disks'][0]['body']['sku'] == {'name': 'Premium_LRS'}
    assert plan['disks'][1]['body']['properties']['creationData']['sourceResourceId'] == members[1]['id']
    new_ids = dict(((d['role'], d['lun']), (d['new_name'], '/new/' + d['new_name'])) for d in plan['disks'])
    body = S.swapped_vm_body(vm, plan, new_ids)
    sp = body['properties']['storageProfile']
    assert sp['osDisk']['managedDisk']['id'] == '/new/vm1-run1-restored-os'
    assert sp['osDisk']['name'] == 'vm1-run1-restored-os'
    assert [d['managedDisk']['id'] for d in sp['dataDisks']] == ['/new/vm1-run1-restored-lun0', '/new/vm1-run1-restored-lun1']
    assert all(d['createOption'] == 'Attach' for d in sp['dataDisks'])
    assert 'instanceView' not in body['properties'] and 'resources' not in body
    # original untouched
    assert vm['properties']['storageProfile']['osDisk']['name'] != 'vm1-run1-restored-os'


def test_restore_idempotent_when_already_on_restored_disks():
    vm = F.vm()
    snaps = [snapshot_from(i) for i in S.plan_snapshots(vm, 'run1', [])]
    restored = {'name': 'vm1-run1-restored-os', 'id': vm['properties']['storageProfile']['osDisk']['managedDisk']['id'],
                'tags': {S.TAG_RESTORED_FROM: snaps[0]['id'], S.TAG_REPLACES: '/old/os'},
                'properties': {'provisioningState': 'Succeeded'}}
    vm['properties']['storageProfile']['osDisk']['name'] = 'vm1-run1-restored-os'
    plan = S.plan_restore(vm, snaps, 'run1', [restored])
    assert plan['already_restored'] is True
    # the disk it replaced is known from the restored disk's tag (the VM no longer points at it)
    assert plan['disks'][0]['replaced_id'] == '/old/os'


def restored_disk(item, snap_id, state='Succeeded', managed_by=None):
    d = {'name': item['new_name'], 'id': '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/disks/'
         + item['new_name'], 'tags': dict(item['body']['tags'], **{S.TAG_RESTORED_FROM: snap_id}),
         'properties': {'provisioningState': state}}
    if managed_by:
        d['managedBy'] = managed_by
    return d


def test_restore_reuses_only_a_good_copy_of_the_right_snapshot():
    vm = F.vm(data_disks=1)
    snaps = [snapshot_from(i) for i in S.plan_snapshots(vm, 'run1', [])]
    first = S.plan_restore(vm, snaps, 'run1')
    assert first['disks'][0]['body']['tags'][S.TAG_REPLACES] == vm['properties']['storageProfile']['osDisk']['managedDisk']['id']
    good = restored_disk(first['disks'][0], snaps[0]['id'])
    failed = restored_disk(first['disks'][1], snaps[1]['id'], state='Failed')
    plan = S.plan_restore(vm, snaps, 'run1', [good, failed])
    assert [d['action'] for d in plan['disks']] == ['reuse', 'recreate']
    wrong = restored_disk(first['disks'][1], snaps[0]['id'])          # copied from the OS snapshot
    assert S.plan_restore(vm, snaps, 'run1', [good, wrong])['disks'][1]['action'] == 'recreate'
    assert not S.restored_disk_ok(good, snaps[1]['id']) and S.restored_disk_ok(good, snaps[0]['id'].upper())
    attached = restored_disk(first['disks'][1], snaps[0]['id'], managed_by='/other/vm')
    with pytest.raises(S.SnapshotError, match='attached to /other/vm'):
        S.plan_restore(vm, snaps, 'run1', [good, attached])


def test_restore_refuses_a_vm_running_on_a_bad_restored_disk():
    vm = F.vm()
    snaps = [snapshot_from(i) for i in S.plan_snapshots(vm, 'run1', [])]
    bad = {'name': 'vm1-run1-restored-os', 'id': vm['properties']['storageProfile']['osDisk']['managedDisk']['id'],
           'tags': {S.TAG_RESTORED_FROM: 'other'}, 'properties': {'provisioningState': 'Succeeded'}}
    with pytest.raises(S.SnapshotError, match='not restored completely'):
        S.plan_restore(vm, snaps, 'run1', [bad])


def _plan(swapped, actions=('create',)):
    return {'already_restored': swapped, 'disks': [{'action': a} for a in actions]}


@pytest.mark.parametrize('plan,power,ext,start,recorded,restoring,steps', [
    # a fresh restore, the normal order
    (_plan(False), 'running', True, True, True, False,
     ['record_restoring', 'create_disks', 'remove_extension', 'deallocate', 'swap_disks', 'start', 'record_restored']),
    # resumed after the disks were made (reused), before the extension removal
    (_plan(False, ('reuse', 'reuse')), 'running', True, True, True, True,
     ['remove_extension', 'deallocate', 'swap_disks', 'start', 'record_restored']),
    # resumed after the deallocation: no second deallocate
    (_plan(False, ('reuse',)), 'deallocated', False, True, True, True, ['swap_disks', 'start', 'record_restored']),
    # stopped after the swap (or a 409 on start): start it and record
    (_plan(True, ('in_place',)), 'deallocated', False, True, True, True, ['start', 'record_restored']),
    # a failed copy is deleted and made again
    (_plan(False, ('reuse', 'recreate')), 'deallocated', False, True, False, False,
     ['delete_failed_disks', 'create_disks', 'swap_disks', 'start']),
    # the VM was stopped with the extension on: started to remove it, then deallocated
    (_plan(False), 'deallocated', True, True, False, False,
     ['create_disks', 'start_for_extension_removal', 'remove_extension', 'deallocate', 'swap_disks', 'start']),
    # done: nothing left, no write
    (_plan(True, ('in_place',)), 'running', False, True, False, False, []),
    (_plan(False), 'running', False, False, False, False, ['create_disks', 'deallocate', 'swap_disks']),
])
def test_restore_steps(plan, power, ext, start, recorded, restoring, steps):
    assert S.restore_steps(plan, power, ext, start, recorded, restoring) == steps


def _running_vm(disk_ids, agent='Ready', power='running'):
    vm = F.vm()
    vm['properties']['storageProfile']['osDisk']['managedDisk']['id'] = disk_ids[0]
    iv = vm['properties'].setdefault('instanceView', {})
    iv['statuses'] = [{'code': 'ProvisioningState/succeeded'}, {'code': 'PowerState/' + power}]
    iv['vmAgent'] = {'statuses': [{'code': 'ProvisioningState/succeeded', 'displayStatus': agent}]}
    return vm


def test_vm_ready_on_restored_disks():
    disks = [{'new_disk_id': '/new/os'}]
    assert S.vm_ready_on(_running_vm(['/new/os']), disks)
    assert not S.vm_ready_on(_running_vm(['/new/os'], agent='Not Ready'), disks)
    assert not S.vm_ready_on(_running_vm(['/new/os'], power='deallocated'), disks)
    assert not S.vm_ready_on(_running_vm(['/old/os']), disks)
    assert not S.vm_ready_on(None, disks)


def test_restore_needs_os_snapshot_and_ready_snapshots():
    vm = F.vm(data_disks=1)
    items = S.plan_snapshots(vm, 'run1', [])
    with pytest.raises(S.SnapshotError, match='no OS-disk snapshot'):
        S.plan_restore(vm, [snapshot_from(items[1])], 'run1')
    with pytest.raises(S.SnapshotError, match='not ready'):
        S.plan_restore(vm, [snapshot_from(items[0], 'Updating')], 'run1')

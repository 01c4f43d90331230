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
    restored = {'name': 'vm1-run1-restored-os', 'id': vm['properties']['storageProfile']['osDisk']['managedDisk']['id']}
    vm['properties']['storageProfile']['osDisk']['name'] = 'vm1-run1-restored-os'
    plan = S.plan_restore(vm, snaps, 'run1', [restored])
    assert plan['already_restored'] is True


def test_restore_needs_os_snapshot_and_ready_snapshots():
    vm = F.vm(data_disks=1)
    items = S.plan_snapshots(vm, 'run1', [])
    with pytest.raises(S.SnapshotError, match='no OS-disk snapshot'):
        S.plan_restore(vm, [snapshot_from(items[1])], 'run1')
    with pytest.raises(S.SnapshotError, match='not ready'):
        S.plan_restore(vm, [snapshot_from(items[0], 'Updating')], 'run1')

# -*- coding: utf-8 -*-
"""Snapshots trusted by recorded IDs and source disks, never by tags (issue 15)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import provenance as P
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as S

SUB = '11111111-2222-3333-4444-555555555555'
RG = 'rg-ade'
VM_ID = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachines/victim'.format(SUB, RG)


def disk_id(name):
    return '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/disks/{2}'.format(SUB, RG, name)


def snapshot(name, source, role='os', lun=None, run='set1', vm_id=VM_ID, uid=None):
    tags = {S.TAG_RUN: run, S.TAG_VM: vm_id.lower(), S.TAG_ROLE: role, S.TAG_SOURCE: source}
    if lun is not None:
        tags[S.TAG_LUN] = str(lun)
    return {'name': name, 'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/snapshots/{2}'.format(
        SUB, RG, name), 'tags': tags,
        'properties': {'provisioningState': 'Succeeded', 'uniqueId': uid or ('u-' + name),
                       'creationData': {'createOption': 'Copy', 'sourceResourceId': source}}}


def victim(tags=None, os_disk='victim-os', data=(('victim-d0', 0),)):
    return {'name': 'victim', 'id': VM_ID, 'location': 'eastus', 'tags': dict(tags or {}),
            'properties': {'storageProfile': {
                'osDisk': {'name': os_disk, 'managedDisk': {'id': disk_id(os_disk)}},
                'dataDisks': [{'lun': lun, 'name': n, 'managedDisk': {'id': disk_id(n)}} for n, lun in data]}}}


def genuine():
    return [snapshot('victim-set1-os', disk_id('victim-os')), snapshot('victim-set1-lun0', disk_id('victim-d0'), 'data', 0)]


def recorded_vm(snaps, **kw):
    value = P.record_value([('os', snaps[0]), ('0', snaps[1])])
    return victim({'azure_ade_snapshot_set': 'set1', P.TAG_IDS: value}, **kw)


def name_of(vm):
    def name(key):
        disk = dict(role='os' if key == 'os' else 'data', lun=None if key == 'os' else int(key))
        return S.snapshot_name(vm['name'], 'set1', disk)
    return name


def select(vm, snaps, restored=None):
    return P.select_members(vm, S.vm_disks(vm), 'set1', snaps, name_of(vm), restored)


def test_record_value_is_compact_and_parses():
    snaps = genuine()
    value = P.record_value([('os', snaps[0]), ('0', snaps[1])])
    assert value.startswith('v1:') and value.endswith(':os,0') and len(value) == 3 + 32 + 1 + 4
    assert P.parse_value(value) == (value.split(':')[1], ['os', '0'])
    many = [('os', snaps[0])] + [(str(lun), snapshot('s%d' % lun, disk_id('d%d' % lun), 'data', lun)) for lun in range(64)]
    assert len(P.record_value(many)) <= 256
    assert P.parse_value(None) is None
    for bad in ('x', 'v1:zz:os', 'v1:' + 'a' * 32 + ':os,os'):
        with pytest.raises(P.ProvenanceError, match=P.TAG_IDS):
            P.parse_value(bad)


def test_genuine_set_is_used_and_a_planted_one_ignored():
    snaps = genuine()
    vm = recorded_vm(snaps)
    # the attack: another VM's OS disk snapshot, tagged as the victim's OS snapshot of set1
    planted = snapshot('planted-os', disk_id('other-os'))
    members = select(vm, snaps + [planted])
    assert [m['name'] for m in members] == ['victim-set1-os', 'victim-set1-lun0']
    assert P.ignored(snaps + [planted], members, VM_ID, 'set1') == ['planted-os']
    plan = S.plan_restore(vm, members, 'set1')
    assert [d['snapshot_id'] for d in plan['disks'] if d['role'] == 'os'] == [snaps[0]['id']]  # built once


def test_foreign_member_under_the_recorded_name_is_refused():
    snaps = genuine()
    vm = recorded_vm(snaps)
    # the genuine OS snapshot deleted, a snapshot of another VM's disk made under its name
    forged = snapshot('victim-set1-os', disk_id('other-os'))
    with pytest.raises(P.ProvenanceError, match="victim-set1-os .* taken from .*other-os, not from the VM's own OS"):
        select(vm, [forged, snaps[1]])


def test_recreated_member_fails_the_digest():
    snaps = genuine()
    vm = recorded_vm(snaps)
    again = snapshot('victim-set1-os', disk_id('victim-os'), uid='another-unique-id')   # same name, same source, later
    with pytest.raises(P.ProvenanceError, match='not the ones recorded'):
        select(vm, [again, snaps[1]])


def test_missing_member_is_named():
    snaps = genuine()
    vm = recorded_vm(snaps)
    with pytest.raises(P.ProvenanceError, match='member 0 \\(snapshot victim-set1-lun0\\) is missing'):
        select(vm, [snaps[0]])


def test_without_a_record_tags_find_the_set_but_sources_and_duplicates_are_checked():
    snaps = genuine()
    vm = victim()
    assert [m['name'] for m in select(vm, snaps)] == ['victim-set1-os', 'victim-set1-lun0']
    planted = snapshot('planted-os', disk_id('other-os'))
    with pytest.raises(P.ProvenanceError, match='planted-os .* foreign'):
        select(vm, [planted, snaps[1]])
    dup = snapshot('victim-set1-os-copy', disk_id('victim-os'))
    with pytest.raises(P.ProvenanceError, match='both claim the OS disk'):
        select(vm, snaps + [dup])
    # a genuine snapshot re-tagged to claim another disk: its ARM source says otherwise
    retagged = snapshot('victim-set1-lun0', disk_id('victim-d0'), 'os')
    with pytest.raises(P.ProvenanceError):
        select(vm, [retagged])


def test_verified_role_overrides_the_tags():
    snaps = genuine()
    vm = recorded_vm(snaps)
    snaps[1]['tags'][S.TAG_ROLE] = 'os'   # someone changed the tags of a genuine member; the record decides
    snaps[1]['tags'].pop(S.TAG_LUN)
    with pytest.raises(P.ProvenanceError):
        P.record_value([('os', snaps[0]), ('os', snaps[1])])
    members = select(vm, snaps)
    assert [(m['tags'][S.TAG_ROLE], m['tags'].get(S.TAG_LUN)) for m in members] == [('os', None), ('data', '0')]


def test_resumed_restore_counts_the_replaced_disk_as_the_vms_own():
    snaps = genuine()
    restored_os = {'name': 'victim-set1-restored-os', 'id': disk_id('victim-set1-restored-os'),
                   'tags': {S.TAG_REPLACES: disk_id('victim-os')}}
    vm = recorded_vm(snaps, os_disk='victim-set1-restored-os')
    with pytest.raises(P.ProvenanceError, match='not from the VM'):
        select(vm, snaps)                       # the restored disk is not known: refused
    assert len(select(vm, snaps, [restored_os])) == 2

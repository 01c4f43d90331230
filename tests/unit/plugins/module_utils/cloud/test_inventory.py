# -*- coding: utf-8 -*-
"""Pure logic of the ADE inventory per subscription (issue 17 item 2): what ADE touched and what to do before the
retirement - VMs (migrate / rebuild / nothing), scale sets, disks, snapshots, images, restore points; the VM read
after its last change (a VM put back on its pre-encryption disks is not 'ADE on its OS volume')."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement as R

SUB = '/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Compute/'
TODAY = datetime.date(2026, 12, 7)
EAH_OK = {'EncryptionAtHostSupported': 'True'}


def vm(name, size='Standard_D4s_v3'):
    return {'name': name, 'id': SUB + 'virtualMachines/' + name, 'location': 'eastus',
            'properties': {'hardwareProfile': {'vmSize': size}}}


def status(name, os_s='NotEncrypted', data_s='NotEncrypted', vt=None, op=None, ext=True, phase='succeeded',
           rollout_stage=None, os_stamped=False, data_stamped=()):
    return {'name': name, 'id': SUB + 'virtualMachines/' + name, 'extension': {'name': 'ADE'} if ext else None,
            'volume_type': vt, 'operation': op, 'os_volume_encrypted': os_s, 'data_volumes_encrypted': data_s,
            'os_disk_stamped': os_stamped, 'data_disks_stamped': list(data_stamped), 'phase': phase,
            'encryption_mode': 'single_pass' if ext else 'none',
            'rollout': {'stage': rollout_stage}, 'migration': {'stage': None}}


def row(name, st):
    out = dict(st)
    out['retirement'] = R.retirement_plan(vm(name), st, 'Registered', EAH_OK, today=TODAY)
    return out


def disk(name, managed_by=None, ade=False, src=None, kind='disks'):
    d = {'name': name, 'id': SUB + kind + '/' + name, 'properties': {'creationData': {}}}
    if managed_by:
        d['managedBy'] = SUB + 'virtualMachines/' + managed_by
    if ade:
        d['properties']['encryptionSettingsCollection'] = {'enabled': True, 'encryptionSettingsVersion': '1.1'}
    if src:
        d['properties']['creationData'] = {'createOption': 'Copy', 'sourceResourceId': src}
    return d


def test_restored_vm_is_read_after_its_last_change():
    """make demo's failed_restored VM: extension settings still say EnableEncryption All, the volumes are back on
    the pre-encryption disks: not ADE on the OS volume, not rebuild_vm."""
    st = status('demo', os_s='NotEncrypted', data_s='NotEncrypted', vt='All', op='EnableEncryption',
                phase='failed', rollout_stage='restored')
    plan = R.retirement_plan(vm('demo'), st, 'Registered', EAH_OK, today=TODAY)
    assert plan['path'] == 'migrate' and plan['category'] == 'ade_extension_only'
    assert 'OS volume' not in plan['message']
    # the same read without the record (a failed run NOT restored) keeps the worst case
    st2 = dict(st, rollout={'stage': 'encrypting'})
    assert R.retirement_plan(vm('demo'), st2, 'Registered', EAH_OK, today=TODAY)['path'] == 'rebuild_vm'
    # a restored VM whose OS volume IS encrypted (substatus) stays rebuild
    st3 = dict(st, os_volume_encrypted='Encrypted')
    assert R.retirement_plan(vm('demo'), st3, 'Registered', EAH_OK, today=TODAY)['path'] == 'rebuild_vm'


def test_vm_paths_and_days_left():
    rows = [row('os', status('os', os_s='Encrypted', data_s='Encrypted', vt='All', op='EnableEncryption')),
            row('data', status('data', data_s='Encrypted', vt='Data', op='EnableEncryption')),
            row('plain', status('plain', ext=False, phase='not_started'))]
    inv = R.ade_inventory(rows, today=TODAY)
    assert inv['days_left'] == (datetime.date(2028, 9, 15) - TODAY).days == 648
    by = dict((i['name'], i) for i in inv['entries'])
    assert by['os']['path'] == 'rebuild' and by['os']['carries'] == 'ade_settings'
    assert by['data']['path'] == 'migrate'
    assert by['plain']['path'] == 'nothing' and by['plain']['carries'] == 'none'
    assert 'enable_encryption_at_host' in by['plain']['action']
    assert inv['summary']['vm'] == 2 and inv['summary']['vm_paths'] == {'rebuild': 1, 'migrate': 1, 'nothing': 1}
    assert all(i['days_left'] == 648 for i in inv['entries'])


def test_disks_snapshots_lineage_and_owner():
    rows = [row('enc', status('enc', os_s='Encrypted', data_s='Encrypted', vt='All', op='EnableEncryption')),
            row('plain', status('plain', ext=False, phase='not_started'))]
    d_os = disk('enc-os', managed_by='enc', ade=True)
    d_dec = disk('enc-data', managed_by='enc')                         # decrypted: no settings, UDE via owner
    snap = disk('snap1', ade=True, src=d_os['id'], kind='snapshots')
    copy1 = disk('copy-of-snap', src=snap['id'])                       # Copy keeps the UDE flag
    copy2 = disk('copy-of-copy', src=copy1['id'])                      # ... transitively
    snap2 = disk('snap-of-copy', src=copy2['id'], kind='snapshots')
    clean = disk('plain-os', managed_by='plain')
    upload = disk('new-upload')
    inv = R.ade_inventory(rows, disks=[d_os, d_dec, copy1, copy2, clean, upload], snapshots=[snap, snap2],
                          today=TODAY)
    by = dict(((i['kind'], i['name']), i) for i in inv['entries'])
    assert by[('disk', 'enc-os')]['carries'] == 'ade_settings' and by[('disk', 'enc-os')]['vm'] == 'enc'
    assert 'rebuild' in by[('disk', 'enc-os')]['action']
    assert by[('disk', 'enc-data')]['carries'] == 'ude_flag'
    assert by[('disk', 'copy-of-snap')]['carries'] == 'ude_flag' and by[('disk', 'copy-of-snap')]['vm'] is None
    assert 'Upload' in by[('disk', 'copy-of-snap')]['action']
    assert by[('disk', 'copy-of-copy')]['carries'] == 'ude_flag'
    assert by[('snapshot', 'snap1')]['carries'] == 'ade_settings'
    assert by[('snapshot', 'snap-of-copy')]['carries'] == 'ude_flag'
    assert ('disk', 'plain-os') not in by and ('disk', 'new-upload') not in by
    assert inv['summary']['disk'] == 4 and inv['summary']['snapshot'] == 2


def test_images_restore_points_scale_sets():
    rows = [row('enc', status('enc', os_s='Encrypted', data_s='Encrypted', vt='All', op='EnableEncryption')),
            row('plain', status('plain', ext=False, phase='not_started'))]
    img_vm = {'name': 'img-enc', 'id': SUB + 'images/img-enc',
              'properties': {'sourceVirtualMachine': {'id': SUB + 'virtualMachines/enc'}, 'storageProfile': {}}}
    img_ok = {'name': 'img-plain', 'id': SUB + 'images/img-plain',
              'properties': {'sourceVirtualMachine': {'id': SUB + 'virtualMachines/plain'}, 'storageProfile': {}}}
    coll = {'name': 'rpc', 'properties': {'source': {'id': SUB + 'virtualMachines/plain'}}}
    rp_settings = {'name': 'rp1', 'id': SUB + 'restorePointCollections/rpc/restorePoints/rp1', 'collection': coll,
                   'properties': {'sourceMetadata': {'storageProfile': {'osDisk': {
                       'encryptionSettings': {'enabled': True, 'diskEncryptionKey': {'secretUrl': 'x'}}}}}}}
    rp_clean = {'name': 'rp2', 'id': SUB + 'restorePointCollections/rpc/restorePoints/rp2', 'collection': coll,
                'properties': {'sourceMetadata': {'storageProfile': {'osDisk': {}}}}}
    coll_enc = {'name': 'rpc-enc', 'properties': {'source': {'id': SUB + 'virtualMachines/enc'}}}
    rp_owner = {'name': 'rp3', 'id': SUB + 'restorePointCollections/rpc-enc/restorePoints/rp3', 'collection': coll_enc,
                'properties': {'sourceMetadata': {'storageProfile': {'osDisk': {}}}}}
    ss = {'name': 'ss1', 'id': SUB + 'virtualMachineScaleSets/ss1', 'properties': {
        'upgradePolicy': {'mode': 'Manual'}, 'virtualMachineProfile': {'extensionProfile': {'extensions': [
            {'name': 'ADE', 'properties': {'publisher': 'Microsoft.Azure.Security',
                                           'type': 'AzureDiskEncryptionForLinux',
                                           'settings': {'VolumeType': 'Data'}}}]}}}}
    ss_plain = {'name': 'ss2', 'id': SUB + 'virtualMachineScaleSets/ss2', 'properties': {}}
    inv = R.ade_inventory(rows, scale_sets=[ss, ss_plain], images=[img_vm, img_ok],
                          restore_points=[rp_settings, rp_clean, rp_owner], today=TODAY)
    by = dict(((i['kind'], i['name']), i) for i in inv['entries'])
    assert ('image', 'img-enc') in by and ('image', 'img-plain') not in by
    assert by[('restore_point', 'rp1')]['carries'] == 'ade_settings'
    assert by[('restore_point', 'rp3')]['carries'] == 'ude_flag'
    assert ('restore_point', 'rp2') not in by
    s = by[('scale_set', 'ss1')]
    assert s['path'] == 'scale_set_model_change' and 'update-instances' in s['action']
    assert 'encryptionAtHost' in s['action'] and ('scale_set', 'ss2') not in by
    assert inv['summary']['scale_set'] == 1 and inv['summary']['image'] == 1
    assert inv['summary']['restore_point'] == 2


def test_encrypt_report_read_again_after_the_last_change():
    hv = {'a': {'ade_vm': {'subscription_id': 's', 'resource_group': 'RG', 'name': 'a'}, 'ade_wait': {}},
          'b': {'ade_vm': {'subscription_id': 's', 'resource_group': 'rg', 'name': 'b'}, 'ade_wait': {}},
          'c': {'ade_vm': {'subscription_id': 's', 'resource_group': 'rg2', 'name': 'c'}},     # failed before the wait
          'd': {}}                                                                              # never identified
    assert R.read_again_groups(['a', 'b', 'c', 'd'], hv) == [
        {'subscription_id': 's', 'resource_group': 'RG', 'names': ['a', 'b']},
        {'subscription_id': 's', 'resource_group': 'rg2', 'names': ['c']}]
    rows = [{'host': 'a', 'retirement': {'path': 'rebuild_vm'}}, {'host': 'b', 'retirement': {'path': 'migrate'}},
            {'host': 'd', 'retirement': None}]
    results = [{'vms': [{'name': 'a', 'resource_group': 'rg', 'retirement': {'path': 'migrate'}}]}]
    out = R.read_again(rows, results, ['a', 'b', 'd'], hv)
    assert [r['retirement'] for r in out] == [{'path': 'migrate'}, {'path': 'migrate'}, None]
    assert rows[0]['retirement'] == {'path': 'rebuild_vm'}          # input unchanged

# -*- coding: utf-8 -*-
"""Pure Azure-side compatibility logic (issue 7): ADE blockers from the VM model, retirement per VM."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import blockers as B
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement as R
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import status as S
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F


def with_props(vm, size=None, security=None, os_extra=None, data=None):
    p = vm['properties']
    if size:
        p['hardwareProfile'] = {'vmSize': size}
    if security is not None:
        p['securityProfile'] = security
    if os_extra:
        p['storageProfile']['osDisk'].update(os_extra)
    if data is not None:
        p['storageProfile']['dataDisks'] = data
    return vm


def blocker_ids(blockers):
    return [b['id'] for b in blockers or []]


def ids(vm):
    return blocker_ids(B.ade_blockers(vm))


def data_disk(lun, sku='Premium_LRS', **extra):
    d = {'lun': lun, 'name': 'd%d' % lun, 'createOption': 'Attach',
         'managedDisk': {'storageAccountType': sku, 'id': '/subscriptions/s/resourceGroups/r/providers/'
                         'Microsoft.Compute/disks/d%d' % lun}}
    d.update(extra)
    return d


def test_plain_supported_vm_has_no_blocker():
    assert ids(with_props(F.vm(), size='Standard_D4s_v3')) == []
    assert ids(with_props(F.vm(), size='Standard_E16ds_v5')) == []
    assert ids(with_props(F.vm(), size='Standard_M64ms', data=[data_disk(0)])) == []


@pytest.mark.parametrize('size,bid', [
    ('Basic_A1', 'size_basic_tier'), ('Standard_A2_v2', 'size_a_series'), ('Standard_A4m_v2', 'size_a_series'),
    ('Standard_D4ds_v6', 'size_v6_or_newer'), ('Standard_D4s_v6', 'size_v6_or_newer'),
    ('Standard_E8as_v7', 'size_v6_or_newer'), ('Standard_L8s_v3', 'size_l_series'),
    ('Standard_HB120rs_v3', 'size_hpc_nvme'), ('Standard_HC44rs', 'size_hpc_nvme'),
])
def test_size_blockers(size, bid):
    assert ids(with_props(F.vm(), size=size)) == [bid]


def test_size_parse():
    assert B.parse_size('Standard_D4ds_v6') == dict(tier='standard', family='d', cpus=4, features='ds', version=6)
    assert B.parse_size('Standard_DS3_v2')['family'] == 'ds'
    assert B.parse_size('weird') is None and B.size_blocker(None) is None


def test_v6_named_in_restrictions_says_so():
    msg = B.ade_blockers(with_props(F.vm(), size='Standard_D4ds_v6'))[0]['message']
    assert 'v6 with a temp disk' in msg and 'encryption at host' in msg


def test_vm_property_blockers():
    assert ids(with_props(F.vm(), security={'encryptionAtHost': True})) == ['encryption_at_host']
    assert ids(with_props(F.vm(), security={'encryptionAtHost': False})) == []
    assert ids(with_props(F.vm(), security={'securityType': 'ConfidentialVM'})) == ['confidential_vm']
    assert ids(with_props(F.vm(), security={'securityType': 'TrustedLaunch'})) == []
    assert ids(with_props(F.vm(), os_extra={'diffDiskSettings': {'option': 'Local'}})) == ['ephemeral_os_disk']
    assert ids(with_props(F.vm(), os_extra={'osType': 'Windows'})) == ['windows_vm']
    assert ids(F.vm(unmanaged=True)) == ['unmanaged_disks']


def test_nvme_disk_controller():
    vm = F.vm()
    vm['properties']['storageProfile']['diskControllerType'] = 'NVMe'
    assert ids(vm) == ['nvme_disk_controller']
    msg = B.ade_blockers(vm)[0]['message']
    assert 'diskControllerType=SCSI' in msg and 'encryption at host' in msg
    vm['properties']['storageProfile']['diskControllerType'] = 'SCSI'
    assert ids(vm) == []


def test_disk_blockers_name_the_disks():
    vm = with_props(F.vm(), data=[data_disk(0, 'UltraSSD_LRS'), data_disk(1, 'PremiumV2_LRS'), data_disk(2)])
    bl = B.ade_blockers(vm)
    assert blocker_ids(bl) == ['ultra_disk', 'premium_ssd_v2']
    assert 'd0 (data disk LUN 0)' in bl[0]['message'] and 'd1 (data disk LUN 1)' in bl[1]['message']
    wa = with_props(F.vm(), size='Standard_M64ms', data=[data_disk(0, writeAcceleratorEnabled=True)])
    assert ids(wa) == ['m_series_write_accelerator']
    # Write Accelerator only matters on M-series
    assert ids(with_props(F.vm(), size='Standard_D4s_v3', data=[data_disk(0, writeAcceleratorEnabled=True)])) == []


def test_sse_cmk_from_model_or_disk_resource():
    vm = F.vm()
    vm['properties']['storageProfile']['osDisk']['managedDisk']['diskEncryptionSet'] = {'id': '/x/des1'}
    assert ids(vm) == ['sse_cmk']
    vm2 = with_props(F.vm(), data=[data_disk(0)])
    disk = {'properties': {'encryption': {'type': 'EncryptionAtRestWithCustomerKey'}}}
    assert blocker_ids(B.ade_blockers(vm2, disks={data_disk(0)['managedDisk']['id'].lower(): disk})) == ['sse_cmk']


def test_several_blockers_and_public_shape():
    vm = with_props(F.vm(), size='Basic_A1', security={'encryptionAtHost': True},
                    os_extra={'diffDiskSettings': {'option': 'Local'}})
    out = B.for_output(B.ade_blockers(vm))
    assert [b['id'] for b in out] == ['encryption_at_host', 'ephemeral_os_disk', 'size_basic_tier']
    assert all(set(b) == {'id', 'message', 'source'} and b['message'] and b['source'] for b in out)
    assert B.refusal_message('vm1', B.ade_blockers(vm)).startswith('refusing to enable ADE on vm1')


CAPS_OK = {'EncryptionAtHostSupported': 'True'}
CAPS_NO = {'EncryptionAtHostSupported': 'False'}
TODAY = datetime.date(2026, 11, 30)


def plan(vm, feature='Registered', caps='ok', blockers=None):
    caps = CAPS_OK if caps == 'ok' else caps
    return R.retirement_plan(vm, S.compute_status(vm), feature, caps, blockers, today=TODAY)


def test_no_ade_eah_possible():
    p = plan(with_props(F.vm(), size='Standard_D4s_v3'))
    assert p['category'] == 'no_ade' and p['path'] == 'enable_encryption_at_host'
    assert p['retirement_date'] == '2028-09-15' and p['days_left'] == 655
    assert p['encryption_at_host']['possible'] and p['encryption_at_host']['size_supported']
    assert 'securityProfile.encryptionAtHost=true' in p['message']
    assert R.new_ade_advice(F.vm(), p) is not None


def test_no_ade_feature_not_registered_or_size_unsupported():
    p = plan(F.vm(), feature='NotRegistered')
    assert p['path'] == 'prepare_encryption_at_host' and not p['encryption_at_host']['possible']
    assert 'az feature register --namespace Microsoft.Compute --name EncryptionAtHost' in p['message']
    assert R.new_ade_advice(F.vm(), p) is None
    p = plan(F.vm(), caps=CAPS_NO)
    assert p['encryption_at_host']['size_supported'] is False and 'does not support encryption at host' in p['message']
    p = plan(F.vm(), caps=None, feature='Unknown')
    assert p['encryption_at_host']['size_supported'] is None and len(p['encryption_at_host']['reasons']) == 2


def test_already_encryption_at_host():
    p = plan(with_props(F.vm(), security={'encryptionAtHost': True}))
    assert p['category'] == 'encryption_at_host' and p['path'] == 'none'
    assert p['encryption_at_host']['enabled'] and p['encryption_at_host']['reasons'] == []


def test_ade_os_needs_new_vm():
    vm = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted')
    p = plan(vm)
    assert p['category'] == 'ade_os' and p['path'] == 'rebuild_vm' and p['ade_volumes'] == 'OS+Data'
    assert 'NEW VM' in p['message'] and 'cannot decrypt' in p['message']
    # OS encryption still running counts as ADE on the OS volume
    vm = F.encrypting_vm('OS disk encryption started', 'EncryptionInProgress', 'Encrypted')
    assert plan(vm)['category'] == 'ade_os'


def test_ade_data_only_can_migrate():
    # single pass stamps the OS disk too, even for VolumeType Data: the stamp alone is no OS encryption
    vm = F.encrypting_vm('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', volume_type='Data',
                         stamped=True)
    p = plan(vm)
    assert p['category'] == 'ade_data_only' and p['path'] == 'migrate' and p['ade_volumes'] == 'Data'
    assert 'Upload method' in p['message'] and 'UDE' in p['message']
    p = plan(vm, feature='NotRegistered')
    assert 'Before that' in p['message']


def test_stamped_os_disk_without_extension_is_treated_as_os_ade():
    vm = F.vm(os_stamped=True)
    assert plan(vm)['category'] == 'ade_os'


def test_windows_is_out_of_scope():
    vm = with_props(F.vm(), os_extra={'osType': 'Windows'})
    p = plan(vm, blockers=B.ade_blockers(vm))
    assert p['category'] == 'not_linux'


def test_capabilities_from_resource_skus():
    skus = [{'resourceType': 'virtualMachines', 'name': 'Standard_D4s_v3', 'locations': ['eastus'],
             'capabilities': [{'name': 'EncryptionAtHostSupported', 'value': 'True'}], 'restrictions': []},
            {'resourceType': 'virtualMachines', 'name': 'Standard_D4s_v3', 'locations': ['westus'],
             'capabilities': [{'name': 'EncryptionAtHostSupported', 'value': 'False'}]},
            {'resourceType': 'disks', 'name': 'Premium_LRS', 'locations': ['eastus']}]
    caps = R.capabilities_from(skus, 'East US')
    assert caps == {'standard_d4s_v3': {'EncryptionAtHostSupported': 'True'}}
    assert R.feature_state_from(None) == 'NotFound'
    assert R.feature_state_from({'properties': {'state': 'Registering'}}) == 'Registering'
    assert R.skus_url('s1', 'East US').endswith("$filter=location%20eq%20%27eastus%27")


def _row(vm, **kw):
    row = dict(S.compute_status(vm))
    row['retirement'] = plan(vm, **kw)
    return row


def test_migration_plan_rebuild_for_os_ade():
    vm = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted')
    p = R.migration_plan(_row(vm))
    assert p['path'] == 'rebuild_vm' and p['automated'] is False
    assert any('Do NOT disable ADE' in s for s in p['steps'])
    assert any('--encryption-at-host true' in s for s in p['steps'])
    assert p['steps'][-1].startswith('Only then delete')


def test_migration_plan_data_only_and_prerequisites():
    vm = F.encrypting_vm('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', volume_type='Data')
    p = R.migration_plan(_row(vm, feature='NotRegistered'))
    assert p['path'] == 'migrate'
    steps = ' | '.join(p['steps'])
    assert steps.index('state=decrypted') < steps.index('no dm-crypt mapping') < steps.index('--for-upload')
    assert 'Prerequisite: ' in steps and 'az feature register' in steps
    assert R.migration_plan(_row(F.vm()))['path'] == 'enable_encryption_at_host'
    assert R.migration_plan({'name': 'x'})['steps'] == []

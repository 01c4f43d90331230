# -*- coding: utf-8 -*-
"""vmss.py: what may be asked of a Linux scale set, the model extension, per-instance rows, one phase per set."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade as A
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import vmss as V
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

SS_ID = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachineScaleSets/ss1'.format(F.SUB, F.RG)
WANTED = A.build_enable_settings(F.VAULT_ID, 'https://kv-ade.vault.azure.net', 'Data', sequence_version='s1')


def scale_set(exts=None, mode='Manual', size='Standard_D4s_v3', os_type='Linux', orchestration='Uniform', **os_extra):
    os_disk = {'osType': os_type, 'createOption': 'FromImage', 'managedDisk': {'storageAccountType': 'Premium_LRS'}}
    os_disk.update(os_extra)
    return {'name': 'ss1', 'id': SS_ID, 'location': 'eastus', 'sku': {'name': size, 'capacity': 2},
            'properties': {'orchestrationMode': orchestration, 'upgradePolicy': {'mode': mode},
                           'virtualMachineProfile': {'storageProfile': {'osDisk': os_disk, 'dataDisks': []},
                                                     'extensionProfile': {'extensions': exts or []}}}}


def ade_entry(settings):
    return {'name': 'AzureDiskEncryptionForLinux', 'properties': {
        'publisher': 'Microsoft.Azure.Security', 'type': 'AzureDiskEncryptionForLinux', 'typeHandlerVersion': '1.1',
        'settings': settings, 'forceUpdateTag': 'f1'}}


def instance(iid, message=None, sub=None, latest=True, code='ProvisioningState/succeeded', level='Info', data_stamped=()):
    res = [F.ade_resource(settings=dict(WANTED))] if message is not None else []
    ivx = [F.iv_extension(message, sub, code=code, level=level)] if message is not None else []
    vm = F.vm(name='ss1_{0}'.format(iid), resources=res, iv_extensions=ivx, data_disks=1, data_stamped=data_stamped)
    vm.update(instanceId=str(iid), id=SS_ID + '/virtualMachines/{0}'.format(iid))
    vm['properties']['latestModelApplied'] = latest
    return vm


def ids(found):
    return [b['id'] for b in found]


def test_blockers():
    assert ids(V.blockers(scale_set(), 'Data')) == []
    assert ids(V.blockers(scale_set(), 'All')) == ['vmss_os_volume']
    assert 'Only data disk encryption' in V.blockers(scale_set(), 'OS')[0]['message']
    assert ids(V.blockers(scale_set(orchestration='Flexible'))) == ['flexible_orchestration']
    assert ids(V.blockers(scale_set(os_type='Windows'))) == ['windows_vm']
    assert ids(V.blockers(scale_set(diffDiskSettings={'option': 'Local'}))) == ['ephemeral_os_disk']
    assert ids(V.blockers(scale_set(size='Standard_D4ds_v6'))) == ['size_v6_or_newer']
    nvme = scale_set()
    nvme['properties']['virtualMachineProfile']['storageProfile']['diskControllerType'] = 'NVMe'
    assert ids(V.blockers(nvme)) == ['nvme_disk_controller']


def test_decide_and_body():
    assert V.decide(scale_set(), WANTED)[0] == 'put'
    same = dict(WANTED, SequenceVersion='other')
    assert V.decide(scale_set([ade_entry(same)]), WANTED) == ('none', 'the scale-set model already asks for this')
    other = dict(WANTED, KeyVaultResourceId=F.VAULT_ID + '2')
    assert V.decide(scale_set([ade_entry(other)]), WANTED)[0] == 'put'
    dis = A.build_disable_settings()
    assert V.decide(scale_set(), dis)[0] == 'none'
    assert V.decide(scale_set([ade_entry(WANTED)]), dis)[0] == 'put'
    assert V.decide(scale_set([ade_entry(dis)]), dis)[0] == 'none'
    b1, b2 = V.extension_body(WANTED), V.extension_body(WANTED)
    assert b1['properties']['forceUpdateTag'] != b2['properties']['forceUpdateTag']
    assert b1['properties']['typeHandlerVersion'] == '1.1' and b1['properties']['settings'] == WANTED


@pytest.mark.parametrize('insts, phase, pending', [
    ([instance(0), instance(1)], 'not_started', []),
])
def test_phase_without_model(insts, phase, pending):
    st = V.set_status(scale_set(), insts)
    assert st['phase'] == phase and st['pending_upgrade'] == pending


def test_phases_with_model():
    ss = scale_set([ade_entry(WANTED)])
    done = {'os': 'NotEncrypted', 'data': 'Encrypted'}
    ok = 'Encryption succeeded for data volumes'
    st = V.set_status(ss, [instance(0, ok, done, data_stamped=(0,)), instance(1, ok, done, data_stamped=(0,))])
    assert st['phase'] == 'succeeded' and st['counts'] == {'succeeded': 2}
    assert st['instances'][0]['data_disks_stamped'] == ['ss1_0_data0'] and st['instances'][0]['sequence'] == 's1'
    st = V.set_status(ss, [instance(0, ok, done), instance(1, latest=False)])
    assert st['phase'] == 'pending_upgrade' and st['pending_upgrade'] == ['1']
    prog = {'os': 'NotEncrypted', 'data': 'EncryptionInProgress'}
    st = V.set_status(ss, [instance(0, ok, done), instance(1, 'Encrypting data volume 1/1: 50%', prog)])
    assert st['phase'] == 'in_progress'
    st = V.set_status(ss, [instance(0, 'boom', prog, code='ProvisioningState/failed/19', level='Error'),
                           instance(1, latest=False)])
    assert st['phase'] == 'failed'
    assert copy.deepcopy(st)['instances'][0]['phase'] == 'failed'

# -*- coding: utf-8 -*-
"""Builders of REST-shaped VM / vault dicts, written after the shapes of real recordings
(Azure/azure-libraries-for-java canEncryptVirtualMachine, GET VM $expand=instanceView), not copies."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json

SUB = '11111111-2222-3333-4444-555555555555'
RG = 'rg-ade'
VAULT_ID = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.KeyVault/vaults/kv-ade'.format(SUB, RG)


def vault(name='kv-ade', location='eastus', enabled=True, sub=SUB, rg=RG, uri=None):
    return {
        'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.KeyVault/vaults/{2}'.format(sub, rg, name),
        'name': name, 'type': 'Microsoft.KeyVault/vaults', 'location': location,
        'properties': {'enabledForDiskEncryption': enabled, 'vaultUri': uri or 'https://{0}.vault.azure.net/'.format(name),
                       'tenantId': 'tttt'},
    }


def ade_resource(settings=None, version='1.1', state='Succeeded', publisher='Microsoft.Azure.Security',
                 name='AzureDiskEncryptionForLinux', vm='vm1'):
    s = {'EncryptionOperation': 'EnableEncryption', 'KeyEncryptionAlgorithm': 'RSA-OAEP',
         'KeyVaultURL': 'https://kv-ade.vault.azure.net/', 'VolumeType': 'All',
         'SequenceVersion': '0b7c1e6e-7d0a-4b8e-9f61-3c5d2a1e9b01', 'KeyVaultResourceId': VAULT_ID}
    if settings is not None:
        s = settings
    return {
        'name': name,
        'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachines/{2}/extensions/{3}'.format(
            SUB, RG, vm, name),
        'type': 'Microsoft.Compute/virtualMachines/extensions', 'location': 'eastus',
        'properties': {'autoUpgradeMinorVersion': True, 'provisioningState': state, 'publisher': publisher,
                       'type': 'AzureDiskEncryptionForLinux', 'typeHandlerVersion': version, 'settings': s},
    }


def iv_extension(message, substatus=None, code='ProvisioningState/succeeded', level='Info',
                 display='Provisioning succeeded', handler='1.4.0.12'):
    ext = {'name': 'AzureDiskEncryptionForLinux', 'type': 'Microsoft.Azure.Security.AzureDiskEncryptionForLinux',
           'typeHandlerVersion': handler,
           'statuses': [{'code': code, 'level': level, 'displayStatus': display, 'message': message}]}
    if substatus is not None:
        ext['substatuses'] = [{
            'code': 'ComponentStatus/Microsoft.Azure.Security.AzureDiskEncryptionForLinux/succeeded',
            'level': 'Info', 'displayStatus': 'Provisioning succeeded',
            'message': substatus if isinstance(substatus, str) else json.dumps(substatus)}]
    return ext


def _stamped_disk_iv(name):
    return {'name': name, 'encryptionSettings': [{'enabled': True, 'diskEncryptionKey': {
        'sourceVault': {'id': VAULT_ID},
        'secretUrl': 'https://kv-ade.vault.azure.net/secrets/6a1f0c2e-8d4b-4c1a-9e7f-2b3c4d5e6f70/0a1b2c3d4e5f'}}],
        'statuses': [{'code': 'ProvisioningState/succeeded', 'level': 'Info', 'displayStatus': 'Provisioning succeeded'},
                     {'code': 'EncryptionState/encrypted', 'level': 'Info',
                      'displayStatus': 'Encryption is enabled on disk'}]}


def vm(name='vm1', location='eastus', power='running', resources=None, iv_extensions=None, os_stamped=False,
       data_disks=0, os_encryption_settings=None, unmanaged=False, sub=SUB, rg=RG, data_stamped=()):
    """data_stamped: LUNs of data disks stamped by ADE (instance view); the others show what a never/partly stamped
    VM shows: only ProvisioningState/succeeded, or EncryptionState/notEncrypted once another disk is stamped."""
    os_name = '{0}_OsDisk_1_b1c2d3'.format(name)
    disk_id = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/disks/'.format(sub, rg)
    os_disk = {'osType': 'Linux', 'name': os_name, 'createOption': 'FromImage', 'caching': 'ReadWrite',
               'managedDisk': {'storageAccountType': 'Premium_LRS', 'id': disk_id + os_name}, 'diskSizeGB': 30}
    if unmanaged:
        os_disk.pop('managedDisk')
        os_disk['vhd'] = {'uri': 'https://sa.blob.core.windows.net/vhds/{0}.vhd'.format(name)}
    if os_encryption_settings:
        os_disk['encryptionSettings'] = os_encryption_settings
    dds = []
    for lun in range(data_disks):
        dn = '{0}_data{1}'.format(name, lun)
        dds.append({'lun': lun, 'name': dn, 'createOption': 'Attach', 'caching': 'ReadOnly',
                    'managedDisk': {'storageAccountType': 'Standard_LRS', 'id': disk_id + dn}, 'diskSizeGB': 10})
    disks_iv = [{'name': os_name, 'statuses': [{'code': 'ProvisioningState/succeeded', 'level': 'Info',
                                                'displayStatus': 'Provisioning succeeded'}]}]
    if os_stamped:
        disks_iv[0]['encryptionSettings'] = [{'enabled': True, 'diskEncryptionKey': {
            'sourceVault': {'id': VAULT_ID},
            'secretUrl': 'https://kv-ade.vault.azure.net/secrets/6a1f0c2e-8d4b-4c1a-9e7f-2b3c4d5e6f70/0a1b2c3d4e5f'}}]
        disks_iv[0]['statuses'].append({'code': 'EncryptionState/encrypted', 'level': 'Info',
                                        'displayStatus': 'Encryption is enabled on disk'})
    any_stamp = os_stamped or bool(data_stamped)
    if not os_stamped and any_stamp:
        disks_iv[0]['statuses'].append({'code': 'EncryptionState/notEncrypted', 'level': 'Info',
                                        'displayStatus': 'Disk is not encrypted'})
    for dd in dds:
        if dd['lun'] in data_stamped:
            disks_iv.append(_stamped_disk_iv(dd['name']))
        else:
            entry = {'name': dd['name'], 'statuses': [{'code': 'ProvisioningState/succeeded', 'level': 'Info',
                                                       'displayStatus': 'Provisioning succeeded'}]}
            if any_stamp:
                entry['statuses'].append({'code': 'EncryptionState/notEncrypted', 'level': 'Info',
                                          'displayStatus': 'Disk is not encrypted'})
            disks_iv.append(entry)
    out = {
        'name': name, 'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachines/{2}'.format(
            sub, rg, name),
        'type': 'Microsoft.Compute/virtualMachines', 'location': location,
        'properties': {
            'vmId': '3c23413e-0000-4f67-bee5-368f93d35804', 'hardwareProfile': {'vmSize': 'Standard_DS3_v2'},
            'storageProfile': {'imageReference': {'publisher': 'Canonical', 'offer': 'UbuntuServer', 'sku': '18.04-LTS',
                                                  'version': 'latest'},
                               'osDisk': os_disk, 'dataDisks': dds},
            'provisioningState': 'Succeeded',
            'instanceView': {
                'computerName': name, 'osName': 'ubuntu', 'osVersion': '18.04', 'hyperVGeneration': 'V1',
                'vmAgent': {'vmAgentVersion': '2.2.53', 'statuses': [{'code': 'ProvisioningState/succeeded',
                                                                      'level': 'Info', 'displayStatus': 'Ready'}]},
                'disks': disks_iv,
                'extensions': copy.deepcopy(iv_extensions or []),
                'statuses': [{'code': 'ProvisioningState/succeeded', 'level': 'Info',
                              'displayStatus': 'Provisioning succeeded'},
                             {'code': 'PowerState/' + power, 'level': 'Info', 'displayStatus': 'VM ' + power}],
            },
        },
        'resources': copy.deepcopy(resources or []),
    }
    return out


def encrypting_vm(message, os_state, data_state, volume_type='All', code='ProvisioningState/succeeded',
                  level='Info', stamped=True, **kw):
    settings = None
    res = ade_resource()
    res['properties']['settings']['VolumeType'] = volume_type
    if settings:
        res['properties']['settings'] = settings
    return vm(resources=[res], os_stamped=stamped,
              iv_extensions=[iv_extension(message, {'os': os_state, 'data': data_state}, code=code, level=level)], **kw)

# -*- coding: utf-8 -*-
"""dual_pass.py: which -Migrate step comes next (read back from the VM), refusals, request bodies."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import dual_pass as D
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import status as S
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.snapshots import READ_ONLY_VM_PROPS
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

ES = {'enabled': True, 'diskEncryptionKey': {'secretUrl': 'https://kv-ade.vault.azure.net/secrets/a/b',
                                             'sourceVault': {'id': F.VAULT_ID}}}
SUB = {'os': 'Encrypted', 'data': 'NotMounted'}


def dp_settings(op='EnableEncryption', vt='OS', **extra):
    s = {'EncryptionOperation': op, 'VolumeType': vt, 'KeyVaultURL': 'https://kv-ade.vault.azure.net/',
         'AADClientID': 'app', 'AADClientCertThumbprint': '', 'KeyEncryptionKeyURL': None,
         'KeyEncryptionAlgorithm': 'RSA-OAEP', 'SequenceVersion': 's1'}
    s.update(extra)
    return s


def dvm(version='0.1', settings=None, es='default', message='https://kv-ade.vault.azure.net/secrets/x/y',
        power='running', code='ProvisioningState/succeeded', level='Info'):
    es = ES if es == 'default' else es
    return F.vm(power=power, resources=[F.ade_resource(settings=settings or dp_settings(), version=version)],
                os_encryption_settings=es,
                iv_extensions=[F.iv_extension(message, SUB, code=code, level=level,
                                              handler='0.1.0.999345' if version == '0.1' else '1.4.0.12')])


def test_steps_in_the_cmdlets_order():
    assert D.next_step(dvm())[0] == 'stamp'
    mig = dp_settings(MigrateFlag='Migrate')
    assert D.next_step(dvm(settings=mig, message=D.DP_ALLOWED))[0] == 'disable_model'
    off = dict(ES, enabled=False)
    assert D.next_step(dvm(settings=mig, message=D.DP_ALLOWED, es=off))[0] == 'single_pass'
    assert D.next_step(dvm(version='1.1', settings=mig, message=D.SP_DONE, es=off))[0] == 'clear_model'
    assert D.next_step(dvm(version='1.1', settings=mig, message=D.SP_DONE, es=None))[0] == 'done'


@pytest.mark.parametrize('kw, text', [
    (dict(es=dict(ES, enabled=False)), 'disabled in the VM model'),
    (dict(es=None), 'no osDisk.encryptionSettings'),
    (dict(code='ProvisioningState/transitioning', message=''), 'transitioning'),
    (dict(settings=dp_settings(MigrateFlag='Migrate'), code='ProvisioningState/failed/53', level='Error',
          message='Not all data disks were encrypted using encrypt format all. Migration is not supported.'),
     'refused the migration'),
    (dict(version='1.1', settings=dp_settings()), 'still carries dual-pass'),
])
def test_refused_states(kw, text):
    step, _reason, err = D.next_step(dvm(**kw))
    assert step is None and text in err


def test_no_extension_in_model():
    vm = F.vm(os_encryption_settings=ES)
    assert 'no AzureDiskEncryptionForLinux extension' in D.next_step(vm)[2]


def test_preconditions():
    assert D.preconditions(dvm(), 'stamp') == []
    assert 'detached LUKS header' in D.preconditions(dvm(settings=dp_settings(vt='All')), 'stamp')[0]
    assert D.preconditions(dvm(settings=dp_settings(op='EnableEncryptionFormatAll', vt='Data')), 'stamp') == []
    assert 'not running' in D.preconditions(dvm(power='deallocated'), 'stamp')[0]
    # the VM updates need no agent
    assert D.preconditions(dvm(power='deallocated'), 'clear_model') == []
    nokv = dvm(es={'enabled': True, 'diskEncryptionKey': {'secretUrl': 'u'}})
    assert 'KeyVaultResourceId' in D.preconditions(nokv, 'stamp')[0]


def test_bodies():
    vm = dvm(settings=dp_settings(KeyEncryptionKeyURL='https://kv-ade.vault.azure.net/keys/k/1'),
             es=dict(ES, keyEncryptionKey={'keyUrl': 'https://kv-ade.vault.azure.net/keys/k/1',
                                           'sourceVault': {'id': F.VAULT_ID + 'kek'}}))
    b = D.extension_body(vm, 'stamp')['properties']
    assert b['typeHandlerVersion'] == '0.1' and b['settings']['AADClientID'] == 'app'
    assert b['settings']['KeyVaultResourceId'] == F.VAULT_ID and b['settings']['KekVaultResourceId'] == F.VAULT_ID + 'kek'
    assert b['settings']['MigrateFlag'] == 'Migrate' and 'protectedSettings' not in b
    b = D.extension_body(vm, 'single_pass')['properties']
    assert b['typeHandlerVersion'] == '1.1' and 'AADClientID' not in b['settings'] and 'AADClientCertThumbprint' not in b['settings']
    v = D.vm_body(vm, 'disable_model', READ_ONLY_VM_PROPS)
    es = v['properties']['storageProfile']['osDisk']['encryptionSettings']
    assert es['enabled'] is False and es['diskEncryptionKey']['sourceVault']['id'] == F.VAULT_ID
    assert 'instanceView' not in v['properties'] and 'resources' not in v
    v = D.vm_body(vm, 'clear_model', READ_ONLY_VM_PROPS)
    assert 'encryptionSettings' not in v['properties']['storageProfile']['osDisk']
    # the input is not changed
    assert vm['properties']['storageProfile']['osDisk']['encryptionSettings']['enabled'] is True


def test_migrated_vm_status_and_own_settings():
    mig = dp_settings(MigrateFlag='Migrate', KeyVaultResourceId=F.VAULT_ID)
    vm = dvm(version='1.1', settings=mig, message=D.SP_DONE, es=None)
    st = S.compute_status(vm)
    assert st['encryption_mode'] == 'single_pass' and st['phase'] == 'succeeded'
    assert D.was_migrated(vm) and not D.was_migrated(dvm())
    own = D.own_settings(vm)
    assert own['vault_id'] == F.VAULT_ID and own['volume_type'] == 'OS' and own['kek'] is None

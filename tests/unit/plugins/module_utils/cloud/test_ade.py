# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys
import uuid

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade as A
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

KEK = 'https://kv-ade.vault.azure.net/keys/kek1/0123456789abcdef0123456789abcdef'


def req(**kw):
    r = dict(vault_id=F.VAULT_ID, volume_type='All', kek=None, kek_vault_id=None, algorithm='RSA-OAEP',
             format_all=False, confirm_format_all=False, keyvault_suffix='vault.azure.net')
    r.update(kw)
    return r


def test_identity_constants():
    assert (A.PUBLISHER, A.EXTENSION_TYPE, A.SINGLE_PASS_VERSION) == (
        'Microsoft.Azure.Security', 'AzureDiskEncryptionForLinux', '1.1')


def test_enable_settings_like_cli():
    s = A.build_enable_settings(F.VAULT_ID, 'https://kv-ade.vault.azure.net', 'all')
    assert s['EncryptionOperation'] == 'EnableEncryption'
    assert s['VolumeType'] == 'All'
    assert s['KeyEncryptionKeyURL'] is None and s['KekVaultResourceId'] == ''
    assert s['KeyEncryptionAlgorithm'] == 'RSA-OAEP'
    assert s['KeyVaultResourceId'] == F.VAULT_ID
    uuid.UUID(s['SequenceVersion'])
    s2 = A.build_enable_settings(F.VAULT_ID, 'https://kv-ade.vault.azure.net', 'All')
    assert s2['SequenceVersion'] != s['SequenceVersion']
    efa = A.build_enable_settings(F.VAULT_ID, 'u', 'Data', KEK, None, 'RSA-OAEP-256', True)
    assert efa['EncryptionOperation'] == 'EnableEncryptionFormatAll'
    assert efa['KekVaultResourceId'] == F.VAULT_ID and efa['KeyEncryptionKeyURL'] == KEK


def test_extension_body_and_redaction():
    body = A.build_extension_body('eastus', {'a': 1}, passphrase='s3cret')
    assert body['properties']['publisher'] == 'Microsoft.Azure.Security'
    assert body['properties']['typeHandlerVersion'] == '1.1'
    assert body['properties']['autoUpgradeMinorVersion'] is True
    assert body['properties']['protectedSettings'] == {'Passphrase': 's3cret'}
    red = A.redact_body(body)
    assert 's3cret' not in repr(red)
    assert body['properties']['protectedSettings'] == {'Passphrase': 's3cret'}  # original untouched
    assert 'protectedSettings' not in A.build_extension_body('eastus', {})['properties']


def test_disable_settings():
    s = A.build_disable_settings()
    assert s['VolumeType'] == 'Data' and s['EncryptionOperation'] == 'DisableEncryption'
    assert 'KeyVaultURL' not in s


def test_vault_url_from_vaulturi_and_suffix():
    assert A.vault_url(F.vault(), 'x') == 'https://kv-ade.vault.azure.net'
    assert A.vault_url(F.vault(uri='https://kv-ade.vault.azure.net:443/'), 'x') == 'https://kv-ade.vault.azure.net'
    v = F.vault()
    v['properties'].pop('vaultUri')
    assert A.vault_url(v, 'vault.usgovcloudapi.net') == 'https://kv-ade.vault.usgovcloudapi.net'


@pytest.mark.parametrize('kek,vault,fragment', [
    ('https://kv-ade.vault.azure.net/keys/kek1', 'kv-ade', 'versioned'),
    ('https://kv-ade.vault.azure.net:443/keys/kek1/0123abcd', 'kv-ade', 'port'),
    ('http://kv-ade.vault.azure.net/keys/kek1/0123abcd', 'kv-ade', 'https'),
    ('https://other.vault.azure.net/keys/kek1/0123abcd', 'kv-ade', 'must match'),
])
def test_kek_url_rules(kek, vault, fragment):
    errs = A.validate_kek_url(kek, vault)
    assert errs and fragment in errs[0]


def test_kek_url_ok():
    assert A.validate_kek_url(KEK, 'kv-ade') == []


@pytest.mark.parametrize('cur,req_,ok', [
    (None, 'OS', True), ('OS', 'OS', True), ('OS', 'All', True), ('Data', 'All', True), ('data', 'DATA', True),
    ('All', 'Data', False), ('All', 'OS', False), ('OS', 'Data', False), ('Data', 'OS', False)])
def test_volume_type_only_widens(cur, req_, ok):
    assert A.volume_type_change_allowed(cur, req_) is ok


def test_valid_enable_has_no_errors():
    assert A.validate_enable(F.vm(), F.vault(), req()) == []


def test_vault_checks():
    assert 'not found' in A.validate_enable(F.vm(), None, req())[0]
    errs = A.validate_enable(F.vm(location='East US'), F.vault(location='eastus', enabled=False), req())
    assert len(errs) == 1 and 'not enabled for disk encryption' in errs[0]   # 'East US' == 'eastus'
    errs = A.validate_enable(F.vm(), F.vault(location='westeurope'), req())
    assert len(errs) == 1 and 'region' in errs[0]
    other_sub = '99999999-2222-3333-4444-555555555555'
    vid = A.vault_resource_id(other_sub, 'rg', 'kv-ade')
    errs = A.validate_enable(F.vm(), F.vault(sub=other_sub), req(vault_id=vid))
    assert len(errs) == 1 and 'subscription' in errs[0]
    errs = A.validate_enable(F.vm(), F.vault(uri='https://somethingelse.vault.azure.net/'), req())
    assert len(errs) == 1 and 'does not match' in errs[0]


def test_vm_state_checks():
    assert any('not running' in e for e in A.validate_enable(F.vm(power='deallocated'), F.vault(), req()))
    ostc = F.ade_resource(publisher='Microsoft.OSTCExtensions', version='0.1')
    assert any('deprecated' in e for e in A.validate_enable(F.vm(resources=[ostc]), F.vault(), req()))
    dual = F.vm(resources=[F.ade_resource(version='0.1')])
    assert any('dual-pass' in e for e in A.validate_enable(dual, F.vault(), req()))
    narrow = F.vm(resources=[F.ade_resource()])   # recorded All
    errs = A.validate_enable(narrow, F.vault(), req(volume_type='Data'))
    assert len(errs) == 1 and 'Moving from volume type All to volume type Data' in errs[0]


def test_format_all_needs_confirmation():
    errs = A.validate_enable(F.vm(), F.vault(), req(volume_type='Data', format_all=True))
    assert len(errs) == 1 and 'confirm_format_all' in errs[0]
    assert A.validate_enable(F.vm(), F.vault(), req(volume_type='Data', format_all=True, confirm_format_all=True)) == []


def test_busy_extensions():
    cse = F.ade_resource(publisher='Microsoft.Azure.Extensions', name='CustomScript', state='Updating')
    cse['properties']['type'] = 'CustomScript'
    vm = F.vm(resources=[cse])
    assert A.busy_extensions(vm) == ['CustomScript (Updating)']
    vm = F.vm(iv_extensions=[{'name': 'OmsAgentForLinux', 'type': 'Microsoft.EnterpriseCloud.Monitoring.OmsAgentForLinux',
                              'statuses': [{'code': 'ProvisioningState/transitioning', 'level': 'Info'}]}])
    assert A.busy_extensions(vm) == ['OmsAgentForLinux (transitioning)']
    assert A.busy_extensions(F.vm()) == []


def _wanted(**kw):
    s = A.build_enable_settings(F.VAULT_ID, 'https://kv-ade.vault.azure.net', 'All')
    s.update(kw)
    return s


def test_decide_enable_idempotent():
    done = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'NotMounted')
    assert A.decide_enable(done, compute_status(done), _wanted())[0] == 'none'
    running = F.encrypting_vm('OS disk encryption started', 'EncryptionInProgress', 'Encrypted')
    assert A.decide_enable(running, compute_status(running), _wanted())[0] == 'none'
    # trailing slash / case of the vault URL do not count as a change (as the extension compares)
    assert A.decide_enable(done, compute_status(done), _wanted(KeyVaultURL='https://KV-ADE.vault.azure.net/'))[0] == 'none'


def test_decide_enable_changes():
    fresh = F.vm()
    assert A.decide_enable(fresh, compute_status(fresh), _wanted())[0] == 'enable'
    failed = F.encrypting_vm('Failed to encrypt OS volume with error: x, machine state: y', 'EncryptionInProgress',
                             'Encrypted', code='ProvisioningState/failed/19', level='Error')
    assert A.decide_enable(failed, compute_status(failed), _wanted())[0] == 'enable'
    data_done = F.encrypting_vm('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', volume_type='Data')
    assert A.decide_enable(data_done, compute_status(data_done), _wanted())[0] == 'enable'   # widen Data -> All
    running = F.encrypting_vm('OS disk encryption started', 'EncryptionInProgress', 'Encrypted')
    action, reason = A.decide_enable(running, compute_status(running), _wanted(KeyEncryptionKeyURL=KEK,
                                                                               KekVaultResourceId=F.VAULT_ID))
    assert action == 'refuse' and 'already in progress' in reason


def test_decide_disable():
    os_enc = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted')
    actions, dummy, err = A.decide_disable(os_enc, compute_status(os_enc))
    assert actions == [] and 'OS volume is Encrypted' in err
    data = F.encrypting_vm('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', volume_type='Data',
                           stamped=False)
    assert A.decide_disable(data, compute_status(data))[0] == ['disable', 'remove_extension']
    assert A.decide_disable(data, compute_status(data), remove_extension=False)[0] == ['disable']
    res = F.ade_resource({'VolumeType': 'Data', 'EncryptionOperation': 'DisableEncryption', 'SequenceVersion': 'x'})
    gone = F.vm(resources=[res], iv_extensions=[F.iv_extension('Decryption succeeded', {'os': 'NotEncrypted',
                                                                                        'data': 'NotEncrypted'})])
    assert A.decide_disable(gone, compute_status(gone))[0] == ['remove_extension']
    none = F.vm()
    actions, reason, err = A.decide_disable(none, compute_status(none))
    assert actions == [] and err is None and 'not installed' in reason


def test_resolve_vault_id():
    vid, err = A.resolve_vault_id('kv-ade', F.SUB, F.RG)
    assert vid == F.VAULT_ID and err is None
    assert A.resolve_vault_id(F.VAULT_ID + '/', F.SUB, None)[0] == F.VAULT_ID
    assert A.resolve_vault_id('/subscriptions/x/bad', F.SUB, F.RG)[1]
    assert A.resolve_vault_id('kv_bad!', F.SUB, F.RG)[1]

# -*- coding: utf-8 -*-
"""Key custody decisions (issue 16): which reads a fleet needs, and when a VM's next cold start would not unlock."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import custody as C

SUB = '11111111-1111-1111-1111-111111111111'
VID = '/subscriptions/%s/resourceGroups/rg-kv/providers/Microsoft.KeyVault/vaults/kv1' % SUB
SECRET = 'https://kv1.vault.azure.net/secrets/5ee0e8c8-0000-4000-8000-000000000001/aaaabbbbccccddddeeeeffff00001111'
KEK = 'https://kv1.vault.azure.net/keys/kek/0123456789abcdef0123456789abcdef'
NOW = 1800000000.0
DAY = 86400
VM = dict(name='vm1', location='eastus', subscription_id=SUB, encryption_identity=None)
TAGS = {'DiskEncryptionKeyFileName': 'LinuxPassPhraseFileName', 'MachineName': 'vm1'}


def es(secret=SECRET, kek=None, vault=VID):
    d = {'enabled': True, 'diskEncryptionKey': {'secretUrl': secret, 'sourceVault': {'id': vault}}}
    if kek:
        d['keyEncryptionKey'] = {'keyUrl': kek, 'sourceVault': {'id': vault}}
    return d


def vm_doc(disks, model_os=None):
    props = {'storageProfile': {'osDisk': {'name': 'os1'}}, 'instanceView': {'disks': disks}}
    if model_os:
        props['storageProfile']['osDisk']['encryptionSettings'] = model_os
    return {'name': 'vm1', 'properties': props}


def good_reads(**over):
    r = dict(secrets={('kv1', '5ee0e8c8-0000-4000-8000-000000000001'): dict(status=200, versions=[dict(
        version='aaaabbbbccccddddeeeeffff00001111', enabled=True, nbf=None, exp=None, tags=dict(TAGS))])},
        keys={('kv1', 'kek', '0123456789abcdef0123456789abcdef'): dict(
            status=200, enabled=True, exp=None, nbf=None, key_ops=['wrapKey', 'unwrapKey'])},
        vaults={VID.lower(): dict(status=200, location='eastus', subscription=SUB, enabled_for_disk_encryption=True,
                                  soft_delete=True, purge_protection=True, locks=['CanNotDelete'])})
    r.update(over)
    return r


def ids(items):
    return [p['id'] for p in items]


def test_key_refs_and_plan_one_read_per_secret_key_vault():
    vm = vm_doc([{'name': 'os1', 'encryptionSettings': [es(kek=KEK)]}, {'name': 'd1', 'encryptionSettings': [es(kek=KEK)]},
                 {'name': 'd2'}])
    refs = C.key_refs(vm)
    assert [r['disk'] for r in refs] == ['os1', 'd1']
    plan = C.plan_reads({'a': refs, 'b': refs})
    assert plan == dict(secrets=[('kv1', '5ee0e8c8-0000-4000-8000-000000000001')],
                        keys=[('kv1', 'kek', '0123456789abcdef0123456789abcdef')], vaults=[VID])


def test_dual_pass_model_settings_and_disabled_settings():
    vm = vm_doc([{'name': 'os1'}], model_os=es())
    assert [r['disk'] for r in C.key_refs(vm)] == ['os1']
    off = dict(es(), enabled=False)
    assert C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [off]}])) == []


def test_healthy_vm_not_at_risk_no_warnings():
    refs = C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es(kek=KEK)]}]))
    v = C.assess_vm(VM, refs, good_reads(), NOW)
    assert v['checked'] and not v['unlock_at_risk'] and v['risks'] == [] and v['warnings'] == []
    assert v['secrets'] == [SECRET]


@pytest.mark.parametrize('change, want', [
    (dict(enabled=False), 'secret_disabled'),
    (dict(exp=NOW - 3 * DAY), 'secret_expired'),
    (dict(nbf=NOW + DAY), 'secret_not_yet_valid'),
    (dict(version='ffff'), 'secret_version_missing'),
])
def test_secret_risks(change, want):
    reads = good_reads()
    item = reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')]['versions'][0]
    item.update(change)
    v = C.assess_vm(VM, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}])), reads, NOW)
    assert v['unlock_at_risk'] and ids(v['risks']) == [want]
    assert v['fix'] and v['reason']


def test_secret_missing_and_expiring_soon_and_tags():
    reads = good_reads()
    reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')] = dict(status=404, versions=[])
    refs = C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}]))
    assert ids(C.assess_vm(VM, refs, reads, NOW)['risks']) == ['secret_missing']
    reads = good_reads()
    item = reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')]['versions'][0]
    item.update(exp=NOW + 10 * DAY, tags={'MachineName': 'other'})
    v = C.assess_vm(VM, refs, reads, NOW, warn_days=30)
    assert not v['unlock_at_risk']
    assert ids(v['warnings']) == ['secret_expires_soon', 'secret_tags', 'secret_other_machine']
    assert ids(C.assess_vm(VM, refs, reads, NOW, warn_days=5)['warnings']) == ['secret_tags', 'secret_other_machine']


def test_no_permission_is_a_warning_not_a_risk():
    reads = good_reads()
    reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')] = dict(status=403, versions=[])
    v = C.assess_vm(VM, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}])), reads, NOW)
    assert not v['unlock_at_risk'] and ids(v['warnings']) == ['secret_no_permission']


@pytest.mark.parametrize('change, want', [
    (dict(enabled=False), 'kek_disabled'),
    (dict(exp=NOW - DAY), 'kek_expired'),
    (dict(key_ops=['wrapKey']), 'kek_no_unwrap'),
    (dict(status=404), 'kek_missing'),
])
def test_kek_risks(change, want):
    reads = good_reads()
    reads['keys'][('kv1', 'kek', '0123456789abcdef0123456789abcdef')].update(change)
    v = C.assess_vm(VM, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es(kek=KEK)]}])), reads, NOW)
    assert ids(v['risks']) == [want]


@pytest.mark.parametrize('change, risks, warnings', [
    (dict(enabled_for_disk_encryption=False), ['vault_not_enabled'], []),
    (dict(location='West US'), ['vault_region'], []),
    (dict(subscription='22222222-2222-2222-2222-222222222222'), ['vault_subscription'], []),
    (dict(soft_delete=False, purge_protection=False, locks=[]), [],
     ['vault_no_soft_delete', 'vault_no_purge_protection', 'vault_no_lock']),
    (dict(locks=None), [], []),            # locks unread (no permission): not reported as missing
])
def test_vault_rules(change, risks, warnings):
    reads = good_reads()
    reads['vaults'][VID.lower()].update(change)
    v = C.assess_vm(VM, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}])), reads, NOW)
    assert ids(v['risks']) == risks and ids(v['warnings']) == warnings


def test_vault_gone_reported_once_not_per_secret():
    reads = good_reads()
    reads['vaults'][VID.lower()] = dict(status=404)
    reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')] = dict(status=404, versions=[])
    refs = C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}, {'name': 'd1', 'encryptionSettings': [es()]}]))
    assert ids(C.assess_vm(VM, refs, reads, NOW)['risks']) == ['vault_not_found']


def test_encryption_identity_vault_flag_not_needed():
    reads = good_reads()
    reads['vaults'][VID.lower()]['enabled_for_disk_encryption'] = False
    vm = dict(VM, encryption_identity='/subscriptions/x/resourceGroups/r/providers/Microsoft.ManagedIdentity/u/i')
    v = C.assess_vm(vm, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}])), reads, NOW)
    assert not v['unlock_at_risk']


def test_vm_without_ade_not_checked_and_summary():
    v = C.assess_vm(VM, [], good_reads(), NOW)
    assert not v['checked'] and not v['unlock_at_risk']
    bad = C.assess_vm(VM, C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es('nonsense')]}])),
                      good_reads(), NOW)
    assert ids(bad['risks']) == ['secret_url_invalid']
    assert C.summary([v, bad, None]) == dict(checked=1, at_risk=1, with_warnings=0)


def test_url_parsers():
    assert C.parse_secret_url(SECRET)['name'] == '5ee0e8c8-0000-4000-8000-000000000001'
    assert C.parse_secret_url('https://kv1.vault.azure.net/keys/x/y') is None
    assert C.parse_key_url(KEK)['version'] == '0123456789abcdef0123456789abcdef'
    assert C.parse_vault_id(VID)['resource_group'] == 'rg-kv'
    assert C.parse_vault_id('/subscriptions/x/resourceGroups/y') is None


def test_one_verdict_per_secret_naming_its_disks():
    reads = good_reads()
    reads['secrets'][('kv1', '5ee0e8c8-0000-4000-8000-000000000001')]['versions'][0]['enabled'] = False
    refs = C.key_refs(vm_doc([{'name': 'os1', 'encryptionSettings': [es()]}, {'name': 'd1', 'encryptionSettings': [es()]}]))
    v = C.assess_vm(VM, refs, reads, NOW)
    assert ids(v['risks']) == ['secret_disabled'] and '(disks os1, d1)' in v['risks'][0]['message']

# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 16 item 5: Azure Backup / Site Recovery facts, the Backup service's Key Vault access, the swap warnings."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import protection as P

SUB = '00000000-0000-0000-0000-000000000001'
VM = '/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1' % SUB
VM2 = '/subscriptions/%s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm2' % SUB
RSV = '/subscriptions/%s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/rsv1' % SUB
KV = '/subscriptions/%s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1' % SUB
KV2 = '/subscriptions/%s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv2' % SUB
ALL = ['get', 'list', 'backup']


def _reads(backup=(), replication=(), sub_status=200, item_status=200):
    return dict(subs={SUB: dict(status=sub_status)},
                backup={RSV.lower(): dict(status=item_status, items=[
                    {'properties': {'virtualMachineId': v.upper(), 'protectionState': st, 'policyName': 'Daily',
                                    'lastBackupStatus': lb}} for v, st, lb in backup])},
                replication={RSV.lower(): dict(status=200, items=[
                    {'properties': {'protectionState': 'Protected', 'replicationHealth': 'Normal',
                                    'providerSpecificDetails': {'instanceType': 'A2A', 'fabricObjectId': v,
                                                                'recoveryFabricLocation': 'westus'}}}
                    for v in replication])})


def test_index_backup_and_replication_by_vm_id_case_insensitive():
    idx = P.index_items(_reads(backup=[(VM, 'Protected', 'Completed')], replication=[VM2]))
    p1, p2 = P.vm_protection(VM, idx), P.vm_protection(VM2, idx)
    assert p1['protected_by_backup'] is True and p1['replicated_by_asr'] is False
    assert p1['backup'][0]['vault'] == 'rsv1' and p1['backup'][0]['policy'] == 'Daily'
    assert p2['protected_by_backup'] is False and p2['replicated_by_asr'] is True
    assert p2['replication'][0]['target_location'] == 'westus'


def test_protection_stopped_is_not_protected():
    idx = P.index_items(_reads(backup=[(VM, 'ProtectionStopped', 'Completed')]))
    assert P.vm_protection(VM, idx)['protected_by_backup'] is False


def test_unread_vault_list_gives_none_and_a_message():
    idx = P.index_items(_reads(sub_status=403))
    p = P.vm_protection(VM, idx)
    assert p['protected_by_backup'] is None and p['replicated_by_asr'] is None
    assert 'HTTP 403' in idx['unread'][0]
    assert 'could not be read' in P.swap_warning('vm1', p, 'restore')


def test_unread_item_list_gives_none_for_that_subscription():
    idx = P.index_items(_reads(item_status=403))
    assert P.vm_protection(VM, idx)['protected_by_backup'] is None


def _vault(policies, rbac=False, status=200):
    return dict(status=status, rbac=rbac, access_policies=policies)


def test_backup_access_with_principal():
    ok = P.backup_access(KV, _vault([dict(object_id='OID', secrets=ALL, keys=[])]), False, 'oid')
    assert ok['status'] == 'ok'
    miss = P.backup_access(KV, _vault([dict(object_id='oid', secrets=['get', 'list'], keys=[])]), False, 'oid')
    assert miss['status'] == 'missing' and 'UserErrorKeyVaultPermissionsNotConfigured' in miss['message']
    assert '--secret-permissions get list backup' in miss['fix'] and P.BACKUP_APP_ID in miss['fix']
    other = P.backup_access(KV, _vault([dict(object_id='admin', secrets=ALL, keys=ALL)]), False, 'oid')
    assert other['status'] == 'missing'


def test_backup_access_kek_needs_keys():
    pol = [dict(object_id='oid', secrets=ALL, keys=['get', 'list'])]
    assert P.backup_access(KV, _vault(pol), True, 'oid')['status'] == 'missing'
    r = P.backup_access(KV, _vault(pol), True, 'oid')
    assert '--key-permissions get list backup' in r['fix']
    pol[0]['keys'] = ALL
    assert P.backup_access(KV, _vault(pol), True, 'oid')['status'] == 'ok'
    # a vault holding only the KEK needs no secret permissions
    assert P.backup_access(KV, _vault([dict(object_id='oid', secrets=[], keys=ALL)]), True, 'oid',
                           holds_secret=False)['status'] == 'ok'


def test_backup_access_without_principal_and_rbac_and_unread():
    assert P.backup_access(KV, _vault([dict(object_id='x', secrets=ALL)]), False)['status'] == 'unconfirmed'
    assert P.backup_access(KV, _vault([dict(object_id='x', secrets=['get'])]), False)['status'] == 'missing'
    assert P.backup_access(KV, _vault([]), False)['status'] == 'missing'
    rb = P.backup_access(KV, _vault([], rbac=True), False)
    assert rb['status'] == 'unconfirmed' and 'role assignment' in rb['fix']
    assert P.backup_access(KV, _vault([], status=403), False)['status'] == 'unknown'
    assert P.backup_access(KV, None, False)['status'] == 'unknown'


def test_assess_rows_per_key_vault_only_for_protected_ade_vms():
    idx = P.index_items(_reads(backup=[(VM, 'Protected', 'Failed')]))
    prot = P.vm_protection(VM, idx)
    refs = [dict(disk='os', secret_url='https://kv1.vault.azure.net/secrets/s/1', secret_vault_id=KV,
                 kek_url='https://kv2.vault.azure.net/keys/k/1', kek_vault_id=KV2)]
    reads = {KV.lower(): _vault([]), KV2.lower(): _vault([dict(object_id='oid', keys=ALL)])}
    a = P.assess(prot, refs, reads, 'oid')
    rows = dict((r['vault'], r) for r in a['backup_vault_access'])
    assert rows['kv1']['status'] == 'missing' and rows['kv2']['status'] == 'ok'
    ids = [w['id'] for w in a['warnings']]
    assert ids == ['backup_vault_access_missing', 'backup_failed']
    assert any('BACKUP HAS NO KEY VAULT ACCESS' in n for n in P.notes(a))
    # not protected, or custody not checked: no access rows
    plain = P.assess(P.vm_protection(VM2, idx), refs, reads, 'oid')
    assert plain['backup_vault_access'] is None and plain['warnings'] == []
    assert P.assess(prot, refs, None)['backup_vault_access'] is None
    assert P.assess(prot, [], reads)['backup_vault_access'] is None


def test_swap_warnings_say_what_to_redo():
    idx = P.index_items(_reads(backup=[(VM, 'Protected', 'Completed')], replication=[VM]))
    prot = P.vm_protection(VM, idx)
    w = P.swap_warnings('vm1', prot)
    assert 'Azure Backup' in w['restore'] and 'in full' in w['restore'] and 'backup-now' in w['restore']
    assert 'disable replication and enable it again' in w['restore']
    assert 'no longer ADE' in w['migrate']
    assert 'new VM is NOT protected' in w['rebuild'] and 'enable-for-vm' in w['rebuild']
    assert P.swap_warnings('vm2', P.vm_protection(VM2, idx)) is None
    assert P.swap_warning('vm1', None, 'restore') is None


def test_urls():
    assert P.vaults_url(SUB).startswith('/subscriptions/%s/providers/Microsoft.RecoveryServices/vaults?' % SUB)
    u = P.backup_items_url(RSV + '/')
    assert u.startswith(RSV + '/backupProtectedItems?api-version=') and "%27AzureIaasVM%27" in u
    assert P.replication_items_url(RSV).startswith(RSV + '/replicationProtectedItems?')

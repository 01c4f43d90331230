# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Status decisions: the guest's dm-crypt state, platform vs guest mismatches both ways (R6.1), fleet rows."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_status as S

PLAIN = {'crypt': {'devices': [], 'osencrypt': False}, 'root': {'device': '/dev/sda1', 'source': '/dev/sda1'}}
OS_CRYPT = {'crypt': {'devices': ['osencrypt'], 'osencrypt': True}, 'root': {'device': '/dev/mapper/osencrypt'}}
DATA_CRYPT = {'crypt': {'devices': ['resourceencrypt', 'e3b0c442-data'], 'osencrypt': False},
              'root': {'device': '/dev/sda1', 'source': '/dev/sda1'}}
ROOT_ON_LUKS = {'crypt': {'devices': ['luks-root'], 'osencrypt': False}, 'root': {'device': '/dev/mapper/luks-root'}}


def plat(os_state, data_state, phase='succeeded'):
    return {'os_volume_encrypted': os_state, 'data_volumes_encrypted': data_state, 'phase': phase,
            'progress_message': 'msg'}


def test_guest_crypt_from_facts():
    assert S.guest_crypt(PLAIN) == {'os': False, 'data': [], 'devices': []}
    assert S.guest_crypt(OS_CRYPT) == {'os': True, 'data': [], 'devices': ['osencrypt']}
    assert S.guest_crypt(DATA_CRYPT) == {'os': False, 'data': ['e3b0c442-data'], 'devices': ['resourceencrypt', 'e3b0c442-data']}
    assert S.guest_crypt(ROOT_ON_LUKS)['os'] is True and S.guest_crypt(ROOT_ON_LUKS)['data'] == []
    assert S.guest_crypt(None) is None and S.guest_crypt({}) is None


@pytest.mark.parametrize('platform, facts, expected', [
    # platform says encrypted, guest has nothing (decrypted by hand in the guest)
    (plat('Encrypted', 'NotMounted'), PLAIN, ['platform: OS Encrypted, guest: root not on dm-crypt']),
    (plat('NotEncrypted', 'Encrypted'), PLAIN, ['platform: data Encrypted, guest: no dm-crypt data device']),
    # the other way: guest has dm-crypt, platform says not encrypted
    (plat('NotEncrypted', 'NotMounted'), OS_CRYPT, ['guest: root on dm-crypt, platform: OS NotEncrypted']),
    (plat('NotEncrypted', 'NotEncrypted'), DATA_CRYPT, ['guest: dm-crypt data e3b0c442-data, platform: data NotEncrypted']),
    (plat('NotEncrypted', 'NotMounted'), DATA_CRYPT, ['guest: dm-crypt data e3b0c442-data, platform: data NotMounted']),
    # agreement: no mismatch
    (plat('Encrypted', 'NotMounted'), OS_CRYPT, []),
    (plat('NotEncrypted', 'NotMounted'), PLAIN, []),
    (plat('NotEncrypted', 'Encrypted'), DATA_CRYPT, []),
    # in progress is not NotEncrypted: no mismatch while encryption runs
    (plat('EncryptionInProgress', 'NotMounted', 'in_progress'), OS_CRYPT, []),
])
def test_mismatch_both_ways(platform, facts, expected):
    assert S.mismatches(platform, S.guest_crypt(facts)) == expected


def test_no_mismatch_when_a_side_is_unknown():
    assert S.mismatches({}, S.guest_crypt(OS_CRYPT)) == []
    assert S.mismatches(plat('Encrypted', 'Encrypted'), None) == []


def test_status_row_mismatch_and_outcome():
    ident = {'host': 'h1', 'name': 'vm1', 'resource_group': 'rg'}
    row = S.status_row(ident, plat('NotEncrypted', 'NotMounted', 'not_started'), S.guest_crypt(OS_CRYPT))
    assert row['outcome'] == 'mismatch' and row['mismatch'] == ['guest: root on dm-crypt, platform: OS NotEncrypted']
    assert row['guest_os_crypt'] is True and row['guest_reachable'] is True and row['encrypted'] is False
    row = S.status_row(ident, plat('Encrypted', 'NotMounted'), S.guest_crypt(OS_CRYPT))
    assert row['outcome'] == 'encrypted' and row['encrypted'] and row['mismatch'] == []
    row = S.status_row(ident, plat('EncryptionInProgress', 'NotMounted', 'in_progress'), None)
    assert row['outcome'] == 'in_progress' and row['guest_reachable'] is False and row['guest_os_crypt'] is None
    row = S.status_row(ident, plat('NotEncrypted', 'NotMounted', 'not_started'), S.guest_crypt(PLAIN))
    assert row['outcome'] == 'not_encrypted'


def test_status_row_without_platform_says_why():
    assert S.status_row({'host': 'h', 'name': 'vm'})['progress_message'] == 'VM not found'
    assert S.status_row({'host': 'h', 'name': None})['progress_message'] == 'VM identity unknown'
    row = S.status_row({'host': 'h', 'name': 'vm'}, {'error': 'AuthorizationFailed'})
    assert row['progress_message'] == 'AuthorizationFailed' and row['outcome'] == 'unknown' and row['phase'] == 'unknown'
    assert S.status_row({'host': 'h', 'name': 'vm'}, None, None, 'boom')['progress_message'] == 'boom'


def test_status_row_carries_blockers_retirement_history():
    p = plat('Encrypted', 'NotMounted')
    p.update(blockers=['x'], retirement={'path': 'encryption at host'}, history=[{'phase': 'succeeded'}])
    row = S.status_row({'host': 'h', 'name': 'vm'}, p, S.guest_crypt(OS_CRYPT))
    assert row['blockers'] == ['x'] and row['retirement'] == {'path': 'encryption at host'}
    p['ade_blockers'] = [{'id': 'ultra_disk', 'message': 'm', 'source': 's'}]
    assert S.status_row({'host': 'h', 'name': 'vm'}, p, None)['blockers'] == p['ade_blockers']
    assert row['history'] == [{'phase': 'succeeded'}]


def test_status_row_carries_custody():
    ident = {'host': 'h', 'name': 'vm1', 'resource_group': 'rg'}
    p = dict(plat('Encrypted', 'Encrypted'), unlock_at_risk=True,
             custody={'risks': [{'id': 'secret_disabled', 'message': 'm', 'fix': 'f'}]})
    row = S.status_row(ident, p, S.guest_crypt(OS_CRYPT))
    assert row['unlock_at_risk'] is True and row['custody']['risks'][0]['id'] == 'secret_disabled'
    assert S.status_row(ident, plat('Encrypted', 'Encrypted'), None)['unlock_at_risk'] is None


def test_status_row_names_plain_data_disks():
    # issue 16 item 4: a data disk attached after the encryption carries no ADE stamp: the row names it
    ident = {'host': 'h', 'name': 'vm1', 'resource_group': 'rg'}
    p = dict(plat('Encrypted', 'Encrypted'), skipped_data_disks=['vm1-late'])
    row = S.status_row(ident, p, S.guest_crypt(OS_CRYPT))
    assert row['plain_data_disks'] == ['vm1-late']
    assert row['notes'] == ['data disk(s) vm1-late NOT encrypted (no ADE stamp)']
    row = S.status_row(ident, plat('Encrypted', 'Encrypted'), None)
    assert row['plain_data_disks'] == [] and row['notes'] == []


def test_status_row_names_missing_backup_vault_access():
    # issue 16 item 5: a VM protected by Azure Backup whose Key Vault lacks the Backup service's access
    ident = {'host': 'h', 'name': 'vm1', 'resource_group': 'rg'}
    prot = {'protected_by_backup': True, 'backup': [{'vault': 'rsv1'}], 'replicated_by_asr': True,
            'replication': [{'vault': 'rsv2'}],
            'warnings': [{'id': 'backup_vault_access_missing', 'message': 'no access policy of key vault kv1',
                          'fix': 'az keyvault set-policy --name kv1'}]}
    row = S.status_row(ident, dict(plat('Encrypted', 'Encrypted'), protection=prot), S.guest_crypt(OS_CRYPT))
    assert row['notes'] == ['Azure Backup: vault rsv1', 'Site Recovery: vault rsv2',
                            'BACKUP HAS NO KEY VAULT ACCESS: no access policy of key vault kv1. '
                            'Fix: az keyvault set-policy --name kv1']
    assert row['protection'] is prot
    assert S.status_row(ident, plat('Encrypted', 'Encrypted'), None)['notes'] == []

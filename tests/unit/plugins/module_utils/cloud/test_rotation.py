# -*- coding: utf-8 -*-
"""Key rotation guard (issue 16 item 3): an enable with another vault or KEK on an encrypted VM is a rotation."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rotation as R

V1 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1'
V2 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv2'
K1 = 'https://kv1.vault.azure.net/keys/kek/0011'
K2 = 'https://kv1.vault.azure.net/keys/kek/0022'


def status(os_state='Encrypted', vault=V1, kek=None, data='NotMounted'):
    es = {'diskEncryptionKey': {'secretUrl': 'https://kv1.vault.azure.net/secrets/s/v', 'sourceVault': {'id': vault}}}
    if kek:
        es['keyEncryptionKey'] = {'keyUrl': kek, 'sourceVault': {'id': vault}}
    return {'os_volume_encrypted': os_state, 'data_volumes_encrypted': data, 'os_volume_encryption_settings': es,
            'os_disk_stamped': True, 'data_disks_stamped': []}


def test_same_keys_not_a_rotation():
    assert R.detect(status(), V1.upper() + '/', None) is None
    assert R.detect(status(kek=K1), V1, K1) is None


@pytest.mark.parametrize('vault, kek, changes', [
    (V2, None, ['vault']), (V1, K1, ['kek']), (V2, K2, ['vault', 'kek'])])
def test_other_vault_or_kek_is_a_rotation(vault, kek, changes):
    rot = R.detect(status(), vault, kek)
    assert rot['changes'] == changes and rot['from_vault'] == V1
    msg = R.refusal('vm1', rot)
    assert 'rotate=true' in msg and 'nothing written' in msg and '2035' in msg


def test_kek_removed_is_a_rotation():
    assert R.detect(status(kek=K1), V1, None)['changes'] == ['kek']


def test_not_encrypted_vm_is_a_first_encryption():
    plain = {'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'NotEncrypted',
             'os_volume_encryption_settings': None, 'os_disk_stamped': False, 'data_disks_stamped': []}
    assert R.detect(plain, V2, None) is None


def test_data_only_vm_uses_extension_settings():
    st = {'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'Encrypted',
          'os_volume_encryption_settings': None, 'data_disks_stamped': ['d1'],
          'extension': {'settings': {'KeyVaultResourceId': V1, 'KeyEncryptionKeyURL': None}}}
    assert R.detect(st, V2, None)['changes'] == ['vault']


def test_affected_distros():
    assert R.affected_distro('Ubuntu', '24.04.2') and R.affected_distro('ubuntu', '22.04.5')
    assert not R.affected_distro('ubuntu', '22.04.4') and not R.affected_distro('rhel', '24.04')

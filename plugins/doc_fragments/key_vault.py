# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # Key Vault and KEK options of the enabling modules (vm_encryption, vmss_encryption); argspec:
    # module_utils/cloud/keyvault.py KEY_VAULT_ARGSPEC.
    DOCUMENTATION = r'''
options:
  key_vault:
    description:
      - Key Vault for the disk encryption secrets - its resource ID, or its name in O(key_vault_resource_group).
      - Required with O(state=encrypted).
    type: str
  key_vault_resource_group:
    description: Resource group of O(key_vault) (and O(kek_vault)) when given by name. Default O(resource_group).
    type: str
  kek:
    description:
      - Key encryption key - a key name in O(kek_vault) (default O(key_vault)), an unversioned key URL
        C(https://<vault>.vault.azure.net/keys/<name>) or a versioned one (C(.../keys/<name>/<version>)); no port.
      - A name or unversioned URL is resolved to the key's current version on the Key Vault data plane (as
        C(az vm encryption enable --key-encryption-key) does); every form is checked - the key exists, is enabled
        and is RSA - before anything is written. Needs permission to read the key (C(get) on keys, or the
        C(Key Vault Crypto User) role).
    type: str
    aliases: [kek_url]
  kek_vault:
    description: Vault of O(kek) (resource ID or name). Default O(key_vault).
    type: str
  algorithm:
    description: Key wrapping algorithm for O(kek).
    type: str
    choices: [RSA-OAEP, RSA-OAEP-256, RSA1_5]
    default: RSA-OAEP
    aliases: [kek_algorithm]
'''

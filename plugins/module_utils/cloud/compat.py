# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The Azure-side gate vm_encryption runs before it writes anything (blockers, encryption-at-host advice)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import (
    ade_blockers, for_output, refusal_message)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.retirement import EahContext, new_ade_advice

PREFER_EAH_CHOICES = ('warn', 'refuse', 'ignore')


def blocked(vm, will_enable):
    """(message, blockers_for_output) when Azure does not support ADE on the VM and an enable would be sent;
    (None, blockers_for_output) otherwise. A VM that already has the ADE extension is only refused when an
    enable request would actually be sent (``will_enable``)."""
    blockers = ade_blockers(vm)
    if blockers and will_enable:
        return refusal_message(vm.get('name'), blockers), for_output(blockers)
    return None, for_output(blockers)


def eah_advice(session, vm, status, prefer):
    """Before NEW ADE (no ADE extension on the VM): (error, warning, plan). ``prefer`` in PREFER_EAH_CHOICES.
    Reads the EncryptionAtHost feature (one GET) and the region's VM sizes (one list) unless prefer=ignore."""
    if prefer == 'ignore':
        return None, None, None
    plan = EahContext(session).plan(vm, status, [])
    advice = new_ade_advice(vm, plan)
    if advice is None:
        return None, None, plan
    if prefer == 'refuse':
        return ('refusing new ADE (prefer_encryption_at_host=refuse): ' + advice), None, plan
    return None, advice, plan


# ---- user-assigned encryption identity (az vm encryption enable --encryption-identity) -------------------------
# Azure/azure-cli src/azure-cli/azure/cli/command_modules/vm/disk_encryption.py:
# - updateVmEncryptionSetting: the identity must be one of the VM's user-assigned identities, else
#   "Encryption Identity should be an ARM Resource ID of one of the user assigned identities associated to the
#   resource"; it is written to securityProfile.encryptionIdentity.userAssignedIdentityResourceId BEFORE the
#   extension PUT (compute api-version >= 2023-07-01, isVersionSuppprtedForEncryptionIdentity).
# - _verify_keyvault_good_for_encryption: with an encryption identity on the VM, the vault's
#   enabledForDiskEncryption is not required (ADE reaches the vault with the identity; region and subscription
#   checks stay).

def _props(d):
    return (d or {}).get('properties') or {}


def current_encryption_identity(vm):
    sec = _props(vm).get('securityProfile') or {}
    return ((sec.get('encryptionIdentity') or {}).get('userAssignedIdentityResourceId')) or None


def assigned_identities(vm):
    return list((((vm or {}).get('identity') or {}).get('userAssignedIdentities') or {}).keys())


def identity_error(vm, identity_id):
    """Clear error when ``identity_id`` is not a user-assigned identity of the VM, else None. Pure."""
    if not identity_id:
        return None
    assigned = assigned_identities(vm)
    if identity_id.lower() in [a.lower() for a in assigned]:
        return None
    return ("encryption_identity {0} is not one of the user-assigned identities of VM {1} ({2}); the encryption "
            "identity must be an ARM resource ID of a user-assigned identity associated with the VM: assign it "
            "first (az vm identity assign --identities <id>)".format(
                identity_id, (vm or {}).get('name'), ', '.join(assigned) or 'none assigned'))


def identity_change(vm, identity_id):
    """The identity to write, or None when it is already set (case-insensitive) or not asked. Pure."""
    if not identity_id:
        return None
    cur = current_encryption_identity(vm)
    return None if cur and cur.lower() == identity_id.lower() else identity_id


def relax_vault_errors(errors, identity_in_effect):
    """With an encryption identity, drop the key vault's 'not enabled for disk encryption' refusal (as az)."""
    if not identity_in_effect:
        return errors
    return [e for e in errors if not (e.startswith('key_vault:') and 'is not enabled for disk encryption' in e)]


def set_encryption_identity(session, resource_group, name, identity_id):
    """PATCH securityProfile.encryptionIdentity (through the SDK's pipeline)."""
    body = {'properties': {'securityProfile': {'encryptionIdentity': {
        'userAssignedIdentityResourceId': identity_id}}}}
    return session.compute.virtual_machines.begin_update(resource_group, name, body).result()

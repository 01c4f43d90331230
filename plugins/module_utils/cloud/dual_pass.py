# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: migrating a dual-pass ADE VM (Azure AD application, extension 0.1, settings in the VM model) to single
pass, as Az PowerShell ``Set-AzVMDiskEncryptionExtension -Migrate`` does, but resumable step by step.

Source: Azure/azure-powershell ``src/Compute/Compute/Extension/AzureDiskEncryption/SetAzureDiskEncryptionExtension.cs``
(``ExecuteCmdlet`` -Migrate branch, ``ValidateMigrationPrereqs``, ``VerifyKeyVaultProperties``,
``EnableDualPassADEForMigration``, ``UpdateVmEncryptionSettingsForMigration``, ``EnableSinglePassADEForMigration``,
``ClearVmEncryptionSettingsForMigration``); ``AzureDiskEncryptionExtensionConstants.cs`` (``MigrateFlag`` /
``Migrate``); ``AzureDiskEncryptionExtensionContext.cs`` (Linux single pass ``1.1``). What each extension does with
the flag: Azure/azure-linux-extensions ``VMEncryption/main/handle.py perform_migration`` on branches
``ade-dp-release-0.1.0.999348`` (lines 880-951: refuses data volumes with a detached LUKS header, then stamps the
disks: "Encryption settings stamped. Migration Allowed.") and ``ade-sp-release-1.4.0.12`` (lines 1160-1190:
"Migration Succeeded"). simulator/azsim/dual_pass.py models both.

Steps (each one is read back from Azure, so an interrupted run resumes where it stopped):
  stamp          PUT the extension at its dual-pass version, old public settings + vault IDs + MigrateFlag
  disable_model  PUT the VM with osDisk.encryptionSettings.enabled = false
  single_pass    PUT the extension at 1.1, settings without the AAD keys, still MigrateFlag, no protected settings
  clear_model    PUT the VM without osDisk.encryptionSettings
The cmdlet refuses a VM whose model says ``enabled: false``; here that state is accepted when the extension
already reported "Migration Allowed" (an earlier run stopped after step 2).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.vm_shape import (
    find_ade_extension, instance_view, power_state)

MIGRATE_KEY = 'MigrateFlag'
MIGRATE_VALUE = 'Migrate'
SINGLE_PASS_VERSION = '1.1'
DP_ALLOWED = 'Encryption settings stamped. Migration Allowed.'
SP_DONE = 'Migration Succeeded'
AAD_KEYS = ('AADClientID', 'AADClientCertThumbprint')
STEPS = ('stamp', 'disable_model', 'single_pass', 'clear_model')


def _os_settings(vm):
    props = (vm or {}).get('properties') or {}
    return ((props.get('storageProfile') or {}).get('osDisk') or {}).get('encryptionSettings')


def _ext_status(vm):
    """(level word, message) of the ADE extension's first instance-view status, or (None, None)."""
    for ext in instance_view(vm).get('extensions') or []:
        if (ext.get('type') or '').lower().endswith('azurediskencryptionforlinux') and \
                not (ext.get('type') or '').lower().startswith('microsoft.ostcextensions'):
            st = (ext.get('statuses') or [{}])[0]
            code = (st.get('code') or '').lower()
            level = 'transitioning' if 'transitioning' in code else 'failed' if '/failed' in code else \
                'succeeded' if 'succeeded' in code else None
            return level, st.get('message')
    return None, None


def is_migrate(settings):
    return (settings or {}).get(MIGRATE_KEY) == MIGRATE_VALUE


def next_step(vm):
    """Returns (step, reason, error): step one of STEPS, 'done', or None with an error naming the fix."""
    name = (vm or {}).get('name')
    es = _os_settings(vm)
    ext = find_ade_extension(vm)
    if ext is None:
        return None, None, ("VM {0} has no AzureDiskEncryptionForLinux extension in its model; the migration reads "
                            "its public settings (Set-AzVMDiskEncryptionExtension -Migrate does the same)".format(name))
    major = (ext.get('type_handler_version') or '').split('.')[0]
    level, msg = _ext_status(vm)
    migrating = is_migrate(ext.get('settings'))
    if level == 'transitioning':
        return None, None, "VM {0}: the ADE extension is still transitioning ({1}); wait and run again".format(
            name, msg or 'no message')
    if migrating and level == 'failed':
        return None, None, ("VM {0}: the ADE extension refused the migration: {1}. Nothing was changed in the VM "
                            "model; the VM stays on dual pass".format(name, msg))
    if major == '0':
        if not es:
            return None, None, ("VM {0} runs the dual-pass extension but its model has no osDisk.encryptionSettings "
                                "(the second pass never ran, or ADE was disabled); -Migrate does not apply".format(name))
        if es.get('enabled'):
            if migrating and level == 'succeeded' and msg == DP_ALLOWED:
                return 'disable_model', 'the dual-pass extension stamped the disks ("{0}")'.format(DP_ALLOWED), None
            return 'stamp', 'dual pass: the extension stamps the disks first (MigrateFlag)', None
        if migrating and msg == DP_ALLOWED:
            return 'single_pass', 'VM model settings disabled; installing single pass 1.1', None
        return None, None, ("VM {0}: dual-pass encryption is disabled in the VM model (encryptionSettings.enabled "
                            "false); -Migrate refuses such a VM (EnableDiskEncryptionInvalidMigrateParameterForDisable)"
                            .format(name))
    if not es:
        return 'done', 'single pass (no encryption settings in the VM model)', None
    if migrating and level == 'succeeded' and msg == SP_DONE:
        return 'clear_model', 'single pass reported "{0}"; clearing the VM model settings'.format(SP_DONE), None
    if migrating:
        return None, None, "VM {0}: the single-pass migration has not reported success ({1}); run again".format(
            name, msg or 'no status')
    return None, None, ("VM {0} runs extension {1} but its model still carries dual-pass encryptionSettings; "
                        "migrate it with Set-AzVMDiskEncryptionExtension -Migrate or fix the model".format(
                            name, ext.get('type_handler_version')))


def preconditions(vm, step):
    """Reasons not to start (or go on with) the migration. Pure."""
    errors = []
    name = (vm or {}).get('name')
    if step in ('stamp', 'single_pass') and power_state(vm) != 'running':
        errors.append("VM {0} is not running (power state {1}); the extension steps need the guest agent: start it"
                      .format(name, power_state(vm) or 'unknown'))
    if step == 'stamp':
        settings = (find_ade_extension(vm) or {}).get('settings') or {}
        vt = (settings.get('VolumeType') or '').lower()
        if vt in ('data', 'all') and settings.get('EncryptionOperation') != 'EnableEncryptionFormatAll':
            errors.append("VM {0}: its data volumes were encrypted in place by dual pass ({1}), which leaves a "
                          "detached LUKS header; the dual-pass extension refuses the migration ('Not all data disks "
                          "were encrypted using encrypt format all. Migration is not supported.'). Keep the VM on "
                          "dual pass, or rebuild it (new VM, single pass)".format(
                              name, settings.get('EncryptionOperation') or 'no operation recorded'))
        es = _os_settings(vm) or {}
        if not ((es.get('diskEncryptionKey') or {}).get('sourceVault') or {}).get('id') and \
                not settings.get('KeyVaultResourceId'):
            errors.append("VM {0}: neither the extension settings nor osDisk.encryptionSettings name the Key Vault "
                          "(KeyVaultResourceId); cannot migrate".format(name))
    return errors


def migrate_settings(vm):
    """Public settings for both extension PUTs: the installed ones, vault IDs filled in from the VM model when
    missing (VerifyKeyVaultProperties: az never wrote them), MigrateFlag set."""
    ext = find_ade_extension(vm) or {}
    out = copy.deepcopy(ext.get('settings') or {})
    es = _os_settings(vm) or {}
    if not out.get('KeyVaultResourceId'):
        out['KeyVaultResourceId'] = ((es.get('diskEncryptionKey') or {}).get('sourceVault') or {}).get('id')
    if 'KekVaultResourceId' not in out:
        kek = out.get('KeyEncryptionKeyURL')
        out['KekVaultResourceId'] = ((es.get('keyEncryptionKey') or {}).get('sourceVault') or {}).get('id', '') \
            if kek else ''
    out[MIGRATE_KEY] = MIGRATE_VALUE
    return out


def extension_body(vm, step):
    """Extension PUT body for 'stamp' (dual-pass version, AAD keys kept) or 'single_pass' (1.1, AAD keys
    dropped). Protected settings are not sent: ARM never returns them (the cmdlet re-sends what it read, i.e.
    nothing)."""
    ext = find_ade_extension(vm) or {}
    settings = migrate_settings(vm)
    version = ext.get('type_handler_version')
    if step == 'single_pass':
        for key in AAD_KEYS:
            settings.pop(key, None)
        version = SINGLE_PASS_VERSION
    return {'location': vm.get('location'),
            'properties': {'publisher': ext.get('publisher'), 'type': ext.get('type'),
                           'typeHandlerVersion': version, 'autoUpgradeMinorVersion': True, 'settings': settings}}


def vm_body(vm, step, read_only):
    """VM PUT body for 'disable_model' (encryptionSettings.enabled false, key reference kept) or 'clear_model'
    (encryptionSettings left out). ``read_only``: property names a PUT must not carry."""
    body = {k: v for k, v in vm.items() if k not in ('resources', 'etag')}
    props = {k: v for k, v in (vm.get('properties') or {}).items() if k not in read_only}
    storage = copy.deepcopy(props.get('storageProfile') or {})
    os_disk = storage.get('osDisk') or {}
    if step == 'disable_model':
        es = dict(os_disk.get('encryptionSettings') or {})
        es['enabled'] = False
        os_disk['encryptionSettings'] = es
    else:
        os_disk.pop('encryptionSettings', None)
    storage['osDisk'] = os_disk
    props['storageProfile'] = storage
    body['properties'] = props
    return body


def was_migrated(vm):
    """Single pass now, by a dual -> single pass migration (the extension's settings keep MigrateFlag)."""
    ext = find_ade_extension(vm) or {}
    return (ext.get('type_handler_version') or '').split('.')[0] not in ('', '0') and is_migrate(ext.get('settings'))


def own_settings(vm):
    """After the migration, what the VM is encrypted with (for an enable that must change nothing):
    dict(vault_id, volume_type, kek, kek_vault_id, algorithm) from the extension's settings (never format-all:
    the volumes are encrypted already)."""
    s = (find_ade_extension(vm) or {}).get('settings') or {}
    return dict(vault_id=s.get('KeyVaultResourceId'), volume_type=s.get('VolumeType'),
                kek=s.get('KeyEncryptionKeyURL') or None, kek_vault_id=s.get('KekVaultResourceId') or None,
                algorithm=s.get('KeyEncryptionAlgorithm') or None)

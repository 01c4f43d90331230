"""Dual-pass -> single-pass ADE migration (Az PowerShell ``Set-AzVMDiskEncryptionExtension -Migrate``), issue 7.

Sources (cited as in ade.py):
* Az PowerShell ``src/Compute/Compute/Extension/AzureDiskEncryption/SetAzureDiskEncryptionExtension.cs``
  (Azure/azure-powershell, stored commit 0048dd93): ``ExecuteCmdlet`` with ``-Migrate`` =
  ``ValidateMigrationPrereqs`` (osDisk.encryptionSettings present and ``enabled``; Linux extension not ``1.*``),
  ``VerifyKeyVaultProperties`` (KeyVaultResourceId / KekVaultResourceId filled in from the VM model when the
  extension's public settings lack them), then
  1. ``EnableDualPassADEForMigration``: PUT the extension at its dual-pass version with the old public settings
     + ``MigrateFlag: Migrate`` (``AzureDiskEncryptionExtensionConstants.migrateAdeOperationKey/Value``);
  2. ``UpdateVmEncryptionSettingsForMigration``: PUT the VM with ``osDisk.encryptionSettings.enabled = false``;
  3. ``EnableSinglePassADEForMigration``: PUT the extension at ``1.1`` (``LinuxExtensionSinglePassVersion``,
     ``AzureDiskEncryptionExtensionContext.cs``) with the settings minus ``AADClientID`` /
     ``AADClientCertThumbprint``, still with ``MigrateFlag``, no protected settings;
  4. ``ClearVmEncryptionSettingsForMigration``: PUT the VM with ``osDisk.encryptionSettings = null``.
* Dual-pass extension: Azure/azure-linux-extensions branch ``ade-dp-release-0.1.0.999348`` (commit eab77d17,
  ``main/common_parameters.json`` extension_version 0.1.0.999348), ``VMEncryption/main/handle.py``:
  ``enable`` (lines 594-597 MigrateFlag, 613 fatal prechecks skipped, 638-640 -> perform_migration),
  ``perform_migration`` (lines 916-951), ``is_migration_allowed`` (lines 880-914; messages
  ``Common.py`` lines 206-208), ``stamp_disks_with_settings`` (lines 170-217: posts the disks' encryption
  settings to the WireServer, then status success "Encryption settings stamped. Migration Allowed.",
  operation "Migration").
* Single-pass extension 1.4.0.12 (``ade-sp-release-1.4.0.12`` = affba5a9), ``VMEncryption/main/handle.py``:
  ``enable`` (lines 761-764 MigrateFlag, 805 fatal prechecks skipped, 840-842 -> perform_migration),
  ``perform_migration`` (lines 1160-1190: dual-pass config cleared, single-pass config written with the
  volume type of the existing config, crypt items re-written, status success "Migration Succeeded",
  operation "Migrate").

**open:** what ARM does with an omitted ``osDisk.encryptionSettings`` in a VM PUT is not documented; the cmdlet
relies on it clearing the setting (step 4), so a PUT (not PATCH) whose osDisk has no ``encryptionSettings``
clears it here, and ``encryptionSettings: {"enabled": false}`` without a key keeps the rest (step 2).
**open:** whether the dual-pass extension's stamping also covers unencrypted data disks; modelled as the OS disk
(when the OS volume is encrypted) and the encrypted data disks only.
"""

import copy

from .errors import ArmError

MIGRATE_KEY = "MigrateFlag"            # Common.py CommonVariables.MigrateKey (both branches)
MIGRATE_VALUE = "Migrate"
DP_ALLOWED = "Encryption settings stamped. Migration Allowed."     # dp handle.py line 217
SP_DONE = "Migration Succeeded"                                    # sp handle.py line 1189
# dp Common.py lines 206-208
DETACHED_HEADER = ("Not all data disks were encrypted using encrypt format all. Migration is not supported.")
DETACHED_HEADER_XFS = ("One or more data disks were not encrypted using encrypt format all and have xfs "
                       "filesystem. Migration is not supported.")


def is_migrate(settings):
    return (settings or {}).get(MIGRATE_KEY) == MIGRATE_VALUE


def init_vm(vm, dp):
    """Scenario hook: guest facts the dual-pass migration depends on. ``format_all`` (default false): data volumes
    were encrypted with EncryptFormatAll; false = in place, which the dual-pass extension did with a detached LUKS
    header on every distro but RHEL/CentOS 6 and SLES 11 (dp handle.py enable_encryption_all_in_place lines
    1610-1625, not_support_header_option_distro lines 454-461)."""
    vm.dp_format_all = bool(dp.get("format_all"))
    vm.dp_xfs = bool(dp.get("xfs"))


def detached_header(vm):
    """Encrypted data volumes with a detached header (in place, not one of the header-less distros)."""
    if getattr(vm, "dp_format_all", False):
        return False
    if not any(d.guest_encrypted for d in vm.mounted_data()):
        return False
    distro, version = (vm.distro or "").lower(), str(vm.version or "")
    no_header = (distro in ("centos", "redhat", "rhel") and version.startswith("6.")) or \
        (distro in ("sles", "suse") and version.startswith("11"))
    return not no_header


def migrate_run(vm, run, s, T, P, report, dual, stamp_fn, config_error, unknown_error):
    """The extension run for a PUT carrying MigrateFlag=Migrate (either extension). Returns the run."""
    if dual:
        def dp_migrate(t):
            # dp handle.py perform_migration (lines 916-951)
            if detached_header(vm):
                report("error", DETACHED_HEADER_XFS if getattr(vm, "dp_xfs", False) else DETACHED_HEADER, t,
                       config_error)
                return
            if not s.get("KeyVaultResourceId"):
                # get_settings_data with kv_id None: the exception path (lines 938-951) -> unknown_error
                report("error", "KeyVaultResourceId is missing from the public settings", t, unknown_error)
                return
            stamp = stamp_fn(s)
            if vm.os_disk.guest_encrypted:
                vm.os_disk.stamp = copy.deepcopy(stamp)
            for d in vm.mounted_data():
                if d.guest_encrypted:
                    d.stamp = copy.deepcopy(stamp)
            report("success", DP_ALLOWED, t)
        run.add(P + T["stamp"], dp_migrate, "dual-pass migrate: stamp")
        return run

    def sp_migrate(t):
        # sp handle.py perform_migration (lines 1160-1190): config rewritten, nothing encrypted or stamped
        report("success", SP_DONE, t)
    run.add(P, sp_migrate, "single-pass migrate")
    return run


def check_vm_update(vm, os_disk, patch):
    """VM PUT/PATCH of storageProfile.osDisk: the dual-pass model setting (steps 2 and 4). Returns apply()."""
    if not isinstance(os_disk, dict):
        return lambda: None
    if "encryptionSettings" in os_disk and os_disk["encryptionSettings"] is not None:
        es = os_disk["encryptionSettings"]
        if not isinstance(es, dict):
            raise ArmError(400, "InvalidParameter", "storageProfile.osDisk.encryptionSettings must be an object.")
        if vm.model_os_encryption is None and es.get("enabled"):
            # SIM: setting dual-pass encryption settings by hand is not simulated
            raise ArmError(400, "InvalidParameter", "Setting storageProfile.osDisk.encryptionSettings is not "
                           "simulated (dual pass is seeded through the scenario).")

        def apply_es():
            if vm.model_os_encryption is None:
                return
            cur = vm.model_os_encryption
            for k, v in es.items():
                if v is not None:
                    cur[k] = copy.deepcopy(v)
        return apply_es
    if patch or vm.model_os_encryption is None:
        return lambda: None

    def clear():
        vm.model_os_encryption = None
    return clear

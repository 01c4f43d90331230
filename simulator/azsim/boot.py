"""What a VM does when it boots after ADE: the boot-hang behaviour (issue 6, "a VM that hangs at boot").

A VM whose OS volume ADE encrypted unlocks its root in the initramfs at every boot: the passphrase comes from the
BEK volume the platform attaches (`/mnt/azure_bek_disk/LinuxPassPhraseFileName`, `Common.py`,
`BekUtilVolumeImpl.py`; crypttab lines `<mapper> <dev> <keyfile> luks,nofail` written by
`CryptMountConfigUtil.add_crypt_item_to_crypttab`, azure-linux-extensions ade-sp-release-1.4.0.12). When that fails
(no BEK volume, key unreachable; Microsoft names the fleet-wide case: after the retirement "encrypted disks will
fail to unlock after VM reboots", disk-encryption-overview.md) the boot stops at the unlock: luksOpen never
completes, so the guest never starts sshd or the agent. ARM still shows the VM running (the restart operation
succeeds: it restarts the hardware, not the guest), the instance view's agent status stays Not Ready
("VM Agent is unresponsive.", the same pessimistic model as the ADE offline reboot, model.py instance_view) and the
extension statuses stay as last reported. Microsoft's advice for the Windows analogue (troubleshoot-bitlocker-
boot-error: the VM cannot find its BEK file) is: read the boot diagnostics screenshot / serial log, stop-deallocate
and start (the platform attaches the key volume again), else restore from a backup or snapshot.

Modelled: VM spec / admin patch `boot_hang_after_encryption: true`. Every completed start or restart of such a VM
whose OS disk is encrypted in the guest ends in guest_state `boot_hung` (agent Not Ready for ever, no SSH: the
test-host bridge keeps the host stuck at its unlock prompt). A restart/start after the OS disk was swapped for a
disk that is not encrypted (a restore from the pre-encryption snapshot) boots normally. Not modelled: the
deallocate/start cure (it would need a reason for the failure; the behaviour models the case where it does not help).

Cold start (issue 16 item 2, ``cold_start_problem``): a start of a deallocated VM whose OS volume is encrypted in the
guest fetches the secret of the OS disk's stamp from Key Vault; a secret that is gone, disabled, expired or not yet
valid, or a vault no longer enabled for disk encryption, leaves the guest at its unlock prompt (guest_state
``boot_hung``, ``vm.boot_hang_reason`` names why). A warm restart never asks Key Vault again.

Key rotation on the issue-2035 class (issue 16 item 3, ``rotation_wipes_bek``): re-running enable with a new KEK on
Ubuntu 24.04.2 (also seen on 22.04.5) failed in the extension's handle.py (``update_encryption_settings``:
"ValueError: True is not in list", handle.py line 361) and destroyed the contents of /mnt/azure_bek_disk; the VM kept
running, and its next boot could not unlock ("Next reboot renders the VM useless": Azure/azure-linux-extensions issue
2035, open, comments of 2025-04-04 and 2025-04-16). Modelled: the rotation's extension run reports that error, the
disks keep their stamp and ``vm.bek_wiped`` is set; the guest's BEK volume (``bek_view``, shaped like guest_facts
``ade_state.bek``) then holds no passphrase file; a warm restart of a VM whose OS volume is encrypted hangs at the
unlock (reason ``bek_wiped``). SIM (not observed in the issue): a start after a deallocate attaches the BEK volume
again from the stamped secret (Microsoft's cure for a VM that cannot find its BEK file, above) when that secret is
usable.
"""

from . import keyvault
from .model import VM_INIT

SPEC_KEY = "boot_hang_after_encryption"
BEK_FILE = "LinuxPassPhraseFileName"       # VMEncryption EncryptionEnvironment default_bek_filename
# issue 2035: (distro, version prefix) whose rotation wipes the BEK volume
BEK_WIPE_DISTROS = (("ubuntu", "24.04"), ("ubuntu", "22.04.5"))


def rotation_wipes_bek(vm):
    return any(vm.distro == d and str(vm.version).startswith(v) for d, v in BEK_WIPE_DISTROS)


def bek_view(vm):
    """What the guest sees of its BEK volume, as guest_facts reports it (ade_state.bek): attached and holding the
    passphrase file once ADE stamped a disk of the VM, empty after a rotation of the issue-2035 class."""
    stamped = any(d.stamp for d in vm.all_disks())
    files = [] if (not stamped or getattr(vm, "bek_wiped", False)) else [{"name": BEK_FILE, "size": 44}]
    return {"mounted": stamped, "fstype": "vfat" if stamped else None, "passphrase_file_name": BEK_FILE,
            "passphrase_files": files, "usable": bool(files)}


def configure(vm, spec):
    vm.boot_hang_after_encryption = bool(spec.get(SPEC_KEY, False))


VM_INIT.append(configure)


def booted(vm, world=None, cold=False):
    """Called when a start/restart operation of the VM completed (ARM shows it running). ``cold``: a start after a
    deallocate (the platform placed the VM anew and fetches the disk-encryption secret from Key Vault again)."""
    vm.boot_hang_reason = None
    if getattr(vm, SPEC_KEY, False) and vm.os_disk is not None and vm.os_disk.guest_encrypted:
        vm.guest_state = "boot_hung"
        vm.boot_hang_reason = "boot_hang_after_encryption"
        return True
    if cold and world is not None:
        why = cold_start_problem(world, vm)
        if why:
            vm.guest_state = "boot_hung"
            vm.boot_hang_reason = why
            return True
        vm.bek_wiped = False          # SIM: the platform attached the BEK volume again from the usable secret
    if getattr(vm, "bek_wiped", False) and vm.os_disk is not None and vm.os_disk.guest_encrypted:
        vm.guest_state = "boot_hung"
        vm.boot_hang_reason = "bek_wiped: no passphrase file on the BEK volume (issue 2035)"
        return True
    return False


def cold_start_problem(world, vm):
    """Why the platform cannot hand the guest its passphrase at a cold start (issue 16 item 2), or None.

    Only a start after a deallocate goes back to Key Vault: the platform fetches the secret named in the OS disk's
    encryptionSettings (the disk's stamp) and attaches it as the BEK volume; a warm restart keeps the VM on its host
    and never asks again (the failure users report: fine for months of restarts, stuck at the passphrase prompt after
    a deallocate / start, a redeploy or host maintenance - Azure/azure-linux-extensions issues 709, 730, 673). An OS
    volume not encrypted in the guest needs no secret to boot. SIM: the platform's own fetch is not observable; the
    secret's usability follows keyvault.secret_usable (exists, enabled, inside nbf/exp, vault enabled for disk
    encryption)."""
    d = vm.os_disk
    if d is None or not d.guest_encrypted or not d.stamp:
        return None
    for es in d.stamp.get("encryptionSettings") or []:
        url = ((es or {}).get("diskEncryptionKey") or {}).get("secretUrl")
        ok, why = keyvault.secret_usable(world, url)
        if not ok:
            return "cold start: the platform could not fetch the disk-encryption secret (%s)" % why
    return None


def hung(vm):
    return getattr(vm, "guest_state", "normal") == "boot_hung"

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
"""

SPEC_KEY = "boot_hang_after_encryption"


def configure(vm, spec):
    vm.boot_hang_after_encryption = bool(spec.get(SPEC_KEY, False))


def booted(vm):
    """Called when a start/restart operation of the VM completed (ARM shows it running)."""
    if getattr(vm, SPEC_KEY, False) and vm.os_disk is not None and vm.os_disk.guest_encrypted:
        vm.guest_state = "boot_hung"
        return True
    return False


def hung(vm):
    return getattr(vm, "guest_state", "normal") == "boot_hung"

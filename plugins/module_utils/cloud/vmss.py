# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Azure Disk Encryption on Linux virtual machine scale sets (Uniform orchestration) - what may be asked,
the extension in the scale-set model, per-instance status and one phase for the set.

What the peers support for Linux scale sets (the rules here follow them):
- azure-cli 2.91.0 ``vm/disk_encryption.py``: ``encrypt_vmss`` / ``decrypt_vmss`` put the ADE extension (1.1,
  ``forceUpdateTag``) into ``virtualMachineProfile.extensionProfile``; ``_handles_default_volume_type_for_vmss_encryption``
  accepts only volume type Data on Linux ("OS disk encyrption is not yet supported for Linux VM scale sets");
  ``_show_post_action_message``: with upgrade mode Manual the instances take the change only after
  ``az vmss update-instances``; ``show_vmss_encryption_status`` lists the instances with their instance view.
- Az PowerShell ``SetAzureVmssDiskEncryptionExtension.cs`` (PUT ``virtualMachineScaleSets/{n}/extensions/{ext}``,
  ``VerifyVolumeType``: "Only data disk encryption is supported for Linux VM Scale Set."), and
  ``Get-AzVmssVMDiskEncryption`` per instance.
- MicrosoftDocs disk-encryption-linux.md "Restrictions": "Encrypting the OS drive for Linux Virtual Machine Scale
  Sets" is not supported; scale-set encryption needs managed disks (disk-encryption-overview / VMSS ADE overview).
Flexible scale sets hold ordinary VMs: vm_encryption handles those one VM at a time.
Everything is pure except ``read_status`` (one list request through the session).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import uuid

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.ade import DISABLE_OP, settings_match
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import RESTRICTIONS, size_blocker
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import to_dict
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.vm_shape import EXTENSION_TYPE, PUBLISHER

CLI_SOURCE = 'Azure/azure-cli vm/disk_encryption.py (_handles_default_volume_type_for_vmss_encryption)'
PS_SOURCE = 'Azure/azure-powershell SetAzureVmssDiskEncryptionExtension.cs (VerifyVolumeType)'
SINGLE_PASS_VERSION = '1.1'


def _props(d):
    return (d or {}).get('properties') or {}


def profile(ss):
    return _props(ss).get('virtualMachineProfile') or {}


def model_extension(ss):
    """The ADE extension of the scale-set model ({name, settings, type_handler_version, force_update_tag}) or None."""
    for e in (profile(ss).get('extensionProfile') or {}).get('extensions') or []:
        p = _props(e)
        if (p.get('publisher') or '').lower() == PUBLISHER.lower() and \
                (p.get('type') or '').lower() == EXTENSION_TYPE.lower():
            return dict(name=e.get('name'), settings=p.get('settings') or {},
                        type_handler_version=p.get('typeHandlerVersion'), force_update_tag=p.get('forceUpdateTag'))
    return None


def blockers(ss, volume_type=None):
    """Reasons not to run ADE on this scale set ({id, message, source}); empty when none. Pure."""
    out = []
    name = (ss or {}).get('name') or '?'
    props = _props(ss)
    sp = profile(ss).get('storageProfile') or {}
    os_disk = sp.get('osDisk') or {}

    def add(bid, message, source):
        out.append(dict(id=bid, message=message, source=source))

    if (props.get('orchestrationMode') or 'Uniform') != 'Uniform':
        add('flexible_orchestration', "scale set {0} uses Flexible orchestration: its instances are ordinary VMs; "
            "encrypt them one by one with vm_encryption (the encrypt playbook)".format(name), RESTRICTIONS)
    if (os_disk.get('osType') or 'Linux').lower() == 'windows':
        add('windows_vm', "scale set {0} runs Windows; this collection drives ADE for Linux only".format(name),
            CLI_SOURCE)
    if volume_type and volume_type != 'Data':
        add('vmss_os_volume', "scale set {0}: volume type {1} asked, but ADE encrypts only data volumes on Linux "
            "scale sets (az: 'OS disk encyrption is not yet supported for Linux VM scale sets'; Az PowerShell: 'Only "
            "data disk encryption is supported for Linux VM Scale Set.'; docs: encrypting the OS drive of Linux "
            "scale sets is not supported). Use volume_type Data, or encryption at host for the OS disk".format(
                name, volume_type), RESTRICTIONS)
    if ((os_disk.get('diffDiskSettings') or {}).get('option') or '').lower() == 'local':
        add('ephemeral_os_disk', "scale set {0} has ephemeral OS disks; ADE does not support them. Use encryption "
            "at host".format(name), RESTRICTIONS)
    if os_disk.get('vhdContainers') or (os_disk and 'managedDisk' not in os_disk and os_disk.get('image')):
        add('unmanaged_disks', "scale set {0} uses unmanaged disks; scale-set encryption needs managed disks"
            .format(name), RESTRICTIONS)
    if (sp.get('diskControllerType') or '').lower() == 'nvme':
        add('nvme_disk_controller', "scale set {0} uses the NVMe disk controller; ADE does not support NVMe disks. "
            "Use encryption at host".format(name), RESTRICTIONS)
    sb = size_blocker(((ss or {}).get('sku') or {}).get('name'))
    if sb:
        add(*sb)
    return out


def extension_body(settings, version=SINGLE_PASS_VERSION):
    """The scale-set extension PUT (as Set-AzVmssDiskEncryptionExtension; az puts the same entry in the model):
    a new forceUpdateTag so that every instance runs it again."""
    return {'properties': {'publisher': PUBLISHER, 'type': EXTENSION_TYPE, 'typeHandlerVersion': version,
                           'autoUpgradeMinorVersion': True, 'settings': settings,
                           'forceUpdateTag': str(uuid.uuid4())}}


def instance_row(inst):
    """One instance's ADE status (from a scale-set VM GET with $expand=instanceView). Pure."""
    st = compute_status(inst)
    return dict(instance_id=inst.get('instanceId'), name=inst.get('name'), id=inst.get('id'),
                latest_model_applied=_props(inst).get('latestModelApplied'), power_state=st['power_state'],
                phase=st['phase'], phase_reason=st['phase_reason'], progress_message=st['progress_message'],
                os_volume_encrypted=st['os_volume_encrypted'], data_volumes_encrypted=st['data_volumes_encrypted'],
                os_disk_stamped=st['os_disk_stamped'], data_disks_stamped=st['data_disks_stamped'],
                operation=st['operation'],
                sequence=(st['extension'] or {}).get('settings', {}).get('SequenceVersion'))


def set_status(ss, instances):
    """The scale set's status: model extension, per-instance rows, one phase. Pure.

    phase: not_started (no ADE in the model), pending_upgrade (instances without the latest model - Manual upgrade
    mode: update them), failed (any instance failed), in_progress, succeeded (every instance succeeded)."""
    rows = [instance_row(i) for i in instances]
    ext = model_extension(ss)
    upgrade = ((_props(ss).get('upgradePolicy') or {}).get('mode')) or 'Manual'
    pending = [r['instance_id'] for r in rows if r['latest_model_applied'] is False]
    if ext is None:
        phase = 'not_started'
    elif any(r['phase'] == 'failed' for r in rows):
        phase = 'failed'
    elif pending:
        phase = 'pending_upgrade'
    elif rows and all(r['phase'] == 'succeeded' for r in rows):
        phase = 'succeeded'
    else:
        phase = 'in_progress'
    return dict(name=(ss or {}).get('name'), id=(ss or {}).get('id'), location=(ss or {}).get('location'),
                upgrade_mode=upgrade, capacity=((ss or {}).get('sku') or {}).get('capacity'),
                extension=ext, operation=(ext or {}).get('settings', {}).get('EncryptionOperation'),
                volume_type=(ext or {}).get('settings', {}).get('VolumeType'), phase=phase,
                pending_upgrade=pending, instances=rows,
                counts=dict((p, sum(1 for r in rows if r['phase'] == p))
                            for p in sorted(set(r['phase'] for r in rows))))


def decide(ss, wanted):
    """What vmss_encryption does: ('none'|'put', reason). Pure."""
    ext = model_extension(ss)
    if ext is None:
        if wanted.get('EncryptionOperation') == DISABLE_OP:
            return 'none', 'ADE extension not in the scale-set model: nothing to disable'
        return 'put', 'ADE extension not in the scale-set model'
    cur = ext['settings']
    if wanted.get('EncryptionOperation') == DISABLE_OP:
        same = cur.get('EncryptionOperation') == DISABLE_OP
    else:
        same = settings_match(cur, wanted)
    if same:
        return 'none', 'the scale-set model already asks for this'
    return 'put', 'the scale-set model asks for something else ({0} {1})'.format(
        cur.get('EncryptionOperation'), cur.get('VolumeType'))


def read_status(session, resource_group, ss):
    """The scale set's status with its instances: one list request ($expand=instanceView), as az vmss encryption
    show reads them."""
    insts = [to_dict(i) for i in session.compute.virtual_machine_scale_set_vms.list(
        resource_group, ss['name'], expand='instanceView')]
    return set_status(ss, insts)

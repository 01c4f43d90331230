# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Azure-side reasons a VM cannot take Azure Disk Encryption (ADE), read from the VM model only. Pure.

Each blocker is ``{'id', 'message', 'source'}``: a stable id, a message naming the problem and the way out,
and the public source the rule follows. Sources (MicrosoftDocs/azure-compute-docs, read 2026-11-30):

- RESTRICTIONS = articles/virtual-machines/linux/disk-encryption-linux.md "Restrictions" (ms.date 2025-09-23):
  basic tier; v6 sizes with temp disks; ephemeral OS disks; NVMe disks (HPC / storage optimized sizes);
  'L' family; M-series with Write Accelerator disks; VMs with encryption at host or SSE + CMK disks;
  Ultra disks; Premium SSD v2.
- OVERVIEW = articles/virtual-machines/linux/disk-encryption-overview.md "Supported VMs" (ms.date 2026-02-20):
  not available on Basic, A-series, v6-series, v7-series or newer sizes.
- NVMe disk controller: RESTRICTIONS lists "NVMe disks such as those on High performance computing VM sizes or
  Storage optimized VM sizes"; a VM whose ``storageProfile.diskControllerType`` is ``NVMe`` (compute REST API
  2022-08-01+, DiskControllerTypes SCSI|NVMe; the default of v6 and newer sizes, articles/virtual-machines/
  nvme-overview.md) presents its managed disks, OS disk included, as NVMe namespaces instead of SCSI LUNs - and the
  extension stamps disks by SCSI controller and LUN only (azure-linux-extensions@affba5a9
  VMEncryption/main/EncryptionSettingsUtil.py get_settings_data lines 250-275: "ControllerType": "SCSI").
- EAH = articles/virtual-machines/includes/virtual-machines-disks-encryption-at-host-restrictions.md:
  "Azure Disk Encryption can't be enabled on disks that have encryption at host enabled".
- Confidential VMs: the extension itself refuses VolumeType OS on a ConfidentialVM
  (Azure/azure-linux-extensions VMEncryption/main/handle.py@ade-sp-release-1.4.0.12, pre_Initialization_Check:
  "ADE flow is blocked to volume-type:OS for confidential VMs"); its data-disk flow is behind
  PrivatePreview.ConfidentialEncryptionDataDisk (Common.py), i.e. not a public feature.
- Windows: this collection drives AzureDiskEncryptionForLinux; Windows VMs use the AzureDiskEncryption
  (BitLocker) extension (azure-cli vm/disk_encryption.py vm_extension_info['Windows']).
- Unmanaged (VHD) disks: the safety rule of this collection needs a managed-disk snapshot of every disk before
  any change (disk-encryption-linux.md: "VMs with managed disks require a backup before encryption"), and
  unmanaged disks are retired (articles/virtual-machines/unmanaged-disks-deprecation.md, 2025-09-30).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

RESTRICTIONS = 'learn.microsoft.com/azure/virtual-machines/linux/disk-encryption-linux#restrictions'
OVERVIEW = 'learn.microsoft.com/azure/virtual-machines/linux/disk-encryption-overview#supported-vms'
EAH_RESTRICTIONS = 'learn.microsoft.com/azure/virtual-machines/disks-enable-host-based-encryption-portal#restrictions'
EXTENSION_CVM = 'Azure/azure-linux-extensions VMEncryption/main/handle.py (pre_Initialization_Check)'
UNMANAGED = 'learn.microsoft.com/azure/virtual-machines/unmanaged-disks-deprecation'
CLI_WINDOWS = 'Azure/azure-cli vm/disk_encryption.py (vm_extension_info)'

ULTRA_SKU = 'ultrassd_lrs'
PREMIUM_V2_SKU = 'premiumv2_lrs'
CMK_TYPES = ('encryptionatrestwithcustomerkey', 'encryptionatrestwithplatformandcustomerkeys')

# Standard_<family letters><vCPUs>[constrained][features][_accelerator][_v<N>]; see
# learn.microsoft.com/azure/virtual-machines/vm-naming-conventions
_SIZE = re.compile(r'^(?P<tier>basic|standard)_(?P<family>[a-z]+)(?P<cpus>\d+)(?P<rest>[^_]*)(?P<tail>(_.*)?)$', re.I)
_VERSION = re.compile(r'_v(\d+)$', re.I)
# v6 sizes with a local temp disk named by the restrictions list (a 'd' after the vCPU count means temp disk)
_V6_TEMP_DISK_FAMILIES = ('ddsv6', 'dldsv6', 'edsv6', 'dadsv6', 'daldsv6', 'eadsv6', 'dpdsv6', 'dpldsv6',
                          'epdsv6', 'endsv6')
_HPC_FAMILIES = ('h', 'hb', 'hc', 'hx')


def _props(d):
    return (d or {}).get('properties') or d or {}


def parse_size(size):
    """'Standard_D4ds_v6' -> dict(tier='standard', family='d', cpus=4, features='ds', version=6). None if odd."""
    m = _SIZE.match(size or '')
    if not m:
        return None
    tail = m.group('tail') or ''
    v = _VERSION.search(tail)
    return dict(tier=m.group('tier').lower(), family=m.group('family').lower(), cpus=int(m.group('cpus')),
                features=(m.group('rest') or '').lower(), version=int(v.group(1)) if v else 1)


def size_blocker(size):
    """(id, message, source) when the VM size/series cannot take ADE, else None."""
    p = parse_size(size)
    if p is None:
        return None
    if p['tier'] == 'basic':
        return ('size_basic_tier', "VM size {0} is a Basic tier size; ADE does not support Basic tier VMs. Resize "
                "to a supported Standard size (not A-series, not v6 or newer) first, or use encryption at host"
                .format(size), RESTRICTIONS)
    fam = p['family']
    if fam == 'a':
        return ('size_a_series', "VM size {0} is A-series; ADE is not available on A-series VMs. Resize to a "
                "supported size first, or use encryption at host".format(size), OVERVIEW)
    if p['version'] >= 6:
        label = '{0}{1}v{2}'.format(fam, p['features'], p['version'])
        extra = ' (v6 with a temp disk, named in the restrictions list)' if label in _V6_TEMP_DISK_FAMILIES else ''
        return ('size_v6_or_newer', "VM size {0} is a v{1} series size{2}; ADE is not available on v6, v7 or "
                "newer series. Use encryption at host for this VM (or resize to a supported v5-or-older size)"
                .format(size, p['version'], extra), OVERVIEW)
    if fam == 'l':
        return ('size_l_series', "VM size {0} is an 'L' family storage optimized size; ADE does not support the "
                "L family (nor its NVMe disks). Use encryption at host".format(size), RESTRICTIONS)
    if fam in _HPC_FAMILIES:
        return ('size_hpc_nvme', "VM size {0} is a high performance computing size with NVMe disks; ADE does not "
                "support NVMe disks on HPC sizes. Use encryption at host".format(size), RESTRICTIONS)
    return None


def _disk_entries(vm):
    sp = _props(vm).get('storageProfile') or {}
    out = []
    if sp.get('osDisk'):
        out.append(('OS disk', sp['osDisk']))
    for d in sp.get('dataDisks') or []:
        out.append(('data disk LUN {0}'.format(d.get('lun')), d))
    return out


def _disk_name(entry):
    return entry.get('name') or ((entry.get('managedDisk') or {}).get('id') or '').rsplit('/', 1)[-1] or '?'


def ade_blockers(vm, disks=None):
    """Every Azure-side reason the VM cannot take ADE. ``vm`` is the VM resource (REST shape, with or without
    the instance view); ``disks`` optionally maps disk id (lower case) -> disk resource, to see SSE + CMK
    that the VM model does not show. Returns a list of {id, message, source}; empty when none. Pure."""
    out = []

    def add(bid, message, source):
        out.append(dict(id=bid, message=message, source=source))

    props = _props(vm)
    name = (vm or {}).get('name') or '?'
    sp = props.get('storageProfile') or {}
    os_disk = sp.get('osDisk') or {}
    sec = props.get('securityProfile') or {}
    if (os_disk.get('osType') or '').lower() == 'windows':
        add('windows_vm', "VM {0} runs Windows; this collection drives ADE for Linux only (Windows uses the "
            "AzureDiskEncryption BitLocker extension): use az vm encryption or Set-AzVMDiskEncryptionExtension, "
            "or better encryption at host".format(name), CLI_WINDOWS)
    if sec.get('encryptionAtHost') is True:
        add('encryption_at_host', "VM {0} has encryption at host enabled (securityProfile.encryptionAtHost); ADE "
            "cannot be applied to a VM whose disks are encrypted at host - and encryption at host is already the "
            "recommended replacement for ADE: keep it".format(name), EAH_RESTRICTIONS)
    if (sec.get('securityType') or '').lower() == 'confidentialvm':
        add('confidential_vm', "VM {0} is a confidential VM (securityProfile.securityType ConfidentialVM); the "
            "ADE extension refuses the OS volume on confidential VMs and its data-disk flow is private preview "
            "only. Use confidential OS disk encryption and encryption at host instead".format(name), EXTENSION_CVM)
    if ((os_disk.get('diffDiskSettings') or {}).get('option') or '').lower() == 'local':
        add('ephemeral_os_disk', "VM {0} has an ephemeral OS disk (osDisk.diffDiskSettings.option Local); ADE "
            "does not support ephemeral OS disks. Use encryption at host (it also covers the cache and temp "
            "disk)".format(name), RESTRICTIONS)
    if os_disk.get('vhd') or any(e.get('vhd') for _w, e in _disk_entries(vm)):
        add('unmanaged_disks', "VM {0} uses unmanaged (VHD page blob) disks; this collection needs a managed-disk "
            "snapshot of every disk before any change, and unmanaged disks are retired: migrate the VM to "
            "managed disks first (az vm convert)".format(name), UNMANAGED)
    if (sp.get('diskControllerType') or '').lower() == 'nvme':
        add('nvme_disk_controller', "VM {0} uses the NVMe disk controller (storageProfile.diskControllerType NVMe): "
            "its disks are NVMe disks, which ADE does not support. Switch it to SCSI where the size allows it "
            "(deallocate, az vm update --set storageProfile.diskControllerType=SCSI), or use encryption at host"
            .format(name), RESTRICTIONS)
    sb = size_blocker((props.get('hardwareProfile') or {}).get('vmSize'))
    if sb:
        add(*sb)
    size = parse_size((props.get('hardwareProfile') or {}).get('vmSize')) or {}
    ultra, pv2, wa, cmk = [], [], [], []
    for where, entry in _disk_entries(vm):
        md = entry.get('managedDisk') or {}
        sku = (md.get('storageAccountType') or '').lower()
        disk = (disks or {}).get((md.get('id') or '').lower()) or {}
        if not sku and disk:
            sku = ((disk.get('sku') or {}).get('name') or '').lower()
        label = '{0} ({1})'.format(_disk_name(entry), where)
        if sku == ULTRA_SKU:
            ultra.append(label)
        elif sku == PREMIUM_V2_SKU:
            pv2.append(label)
        if entry.get('writeAcceleratorEnabled') and size.get('family') == 'm':
            wa.append(label)
        enc_type = ((_props(disk).get('encryption') or {}).get('type') or '').lower()
        if (md.get('diskEncryptionSet') or {}).get('id') or enc_type in CMK_TYPES:
            cmk.append(label)
    if ultra:
        add('ultra_disk', "VM {0} has Ultra Disks attached ({1}); ADE does not support Ultra Disks. Use encryption "
            "at host or server-side encryption for this VM".format(name, ', '.join(ultra)), RESTRICTIONS)
    if pv2:
        add('premium_ssd_v2', "VM {0} has Premium SSD v2 disks attached ({1}); ADE does not support Premium SSD v2. "
            "Use encryption at host or server-side encryption for this VM".format(name, ', '.join(pv2)),
            RESTRICTIONS)
    if wa:
        add('m_series_write_accelerator', "VM {0} is M-series with Write Accelerator disks ({1}); ADE does not "
            "support them. Disable Write Accelerator on those disks first, or use encryption at host"
            .format(name, ', '.join(wa)), RESTRICTIONS)
    if cmk:
        add('sse_cmk', "VM {0} has disks with server-side encryption with customer-managed keys ({1}); ADE cannot "
            "be applied to such a VM. Keep SSE + CMK (and add encryption at host) instead".format(
                name, ', '.join(cmk)), RESTRICTIONS)
    return out


def for_output(blockers):
    """The public shape: [{id, message, source}]."""
    return [dict(id=b['id'], message=b['message'], source=b['source']) for b in blockers or []]


def refusal_message(vm_name, blockers):
    return 'refusing to enable ADE on {0}: Azure does not support ADE on this VM: {1}'.format(
        vm_name, ' | '.join('[{0}] {1}'.format(b['id'], b['message']) for b in blockers))

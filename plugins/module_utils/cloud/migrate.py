# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The way off ADE for a VM with ADE on data volumes only: every disk copied into a NEW disk made with the Upload
method, swapped in, encryption at host turned on. Pure decisions (this file) apart from the doing (vm_migrate).

Source: MicrosoftDocs/azure-compute-docs articles/virtual-machines/disk-encryption-migrate.md (ms.date 2025-09-23):
- no in-place conversion: new disks are needed, with downtime;
- Linux: ADE can be disabled on data volumes only; a VM whose OS disk is ADE-encrypted needs a new VM (never here);
- after the disable, wait until the guest shows no dm-crypt mapping (cryptsetup status, lsblk) before copying;
- disks that carried ADE keep the UDE flag, and so do their snapshots and Copy disks: new disks are made with
  createOption Upload (uploadSizeBytes = diskSizeBytes + 512: Azure leaves the VHD footer out of diskSizeBytes;
  OS disks also need osType and hyperVGeneration), write SAS on the new disk, read SAS on the old one, a page-blob
  copy (azcopy --blob-type PageBlob; here azure-storage-blob Put Page From URL over the source's page ranges,
  at most 4 MiB per call - learn.microsoft.com/rest/api/storageservices/put-page-from-url), then revoke both;
- encryption at host on (securityProfile.encryptionAtHost, VM deallocated - include virtual-machines-disks-
  encryption-at-host-restrictions.md), verify (az vm show --query securityProfile.encryptionAtHost), and delete the
  old disks only once the new state is verified.
Read SAS on a managed disk needs it unattached or its VM deallocated, so the copy runs with the VM deallocated.

Migration record (resumable, in Azure): VM tag ``azure_ade_migrate_stage`` (copying -> swapped -> verified, or
restored), ``azure_ade_migrate_at``, ``azure_ade_migrate_fs`` (digest of the guest's filesystems taken before the
copy); each new disk carries ``azure_ade_replaces_disk_id`` (the disk it replaces) and, once its copy was verified,
``azure_ade_copy_sha256``.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib

TAG_STAGE = 'azure_ade_migrate_stage'
TAG_AT = 'azure_ade_migrate_at'
TAG_FS = 'azure_ade_migrate_fs'
TAG_REPLACES = 'azure_ade_replaces_disk_id'
TAG_COPY = 'azure_ade_copy_sha256'
STAGES = ('copying', 'swapped', 'verified', 'restored')
PAGE = 512
FOOTER = 512
MAX_PUT_PAGE = 4 * 1024 * 1024
MAX_DISK_NAME = 80
DOC = 'learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate'
ACCESS_STATES = ('ActiveSAS', 'ActiveUpload', 'ActiveSASFrozen')


class MigrateError(Exception):
    pass


def _props(d):
    return (d or {}).get('properties') or {}


def _tags(d):
    return dict((d or {}).get('tags') or {})


def lower_id(rid):
    return (rid or '').lower()


def new_disk_name(old_name, suffix='-eah'):
    """Name of the Upload disk that replaces ``old_name`` (disk names: at most 80 characters). Pure."""
    base = old_name[:MAX_DISK_NAME - len(suffix)]
    return base + suffix


def vm_disks(vm):
    """[{role, lun, id, name, caching}] of a VM's managed disks, OS first. Pure."""
    storage = _props(vm).get('storageProfile') or {}
    out = []
    od = storage.get('osDisk') or {}
    if (od.get('managedDisk') or {}).get('id'):
        out.append(dict(role='os', lun=None, id=od['managedDisk']['id'], name=od.get('name'),
                        caching=od.get('caching')))
    for d in sorted(storage.get('dataDisks') or [], key=lambda x: x.get('lun', 0)):
        if (d.get('managedDisk') or {}).get('id'):
            out.append(dict(role='data', lun=d.get('lun'), id=d['managedDisk']['id'], name=d.get('name'),
                            caching=d.get('caching')))
    return out


def upload_body(old_disk, role, location=None):
    """PUT body of the new disk for ``old_disk`` (a disks GET dict). Pure.

    Same SKU and zone as the old disk (the article's sample uses standard_lrs; keeping the SKU keeps performance),
    uploadSizeBytes = diskSizeBytes + 512, osType + hyperVGeneration for the OS disk, and the tag naming the disk it
    replaces (so a re-run and a restore find both)."""
    p = _props(old_disk)
    size = p.get('diskSizeBytes')
    if not size:
        size = int(p.get('diskSizeGB') or 0) * 1024 ** 3
    if not size:
        raise MigrateError('disk {0} reports no size (diskSizeBytes/diskSizeGB); cannot size its Upload copy'.format(
            old_disk.get('name')))
    props = {'creationData': {'createOption': 'Upload', 'uploadSizeBytes': int(size) + FOOTER}}
    if role == 'os':
        props['osType'] = p.get('osType') or 'Linux'
        props['hyperVGeneration'] = p.get('hyperVGeneration') or 'V1'
    body = {'location': location or old_disk.get('location'), 'properties': props,
            'tags': {TAG_REPLACES: old_disk.get('id')}}
    if old_disk.get('sku'):
        body['sku'] = {'name': old_disk['sku'].get('name')}
    if old_disk.get('zones'):
        body['zones'] = list(old_disk['zones'])
    return body


def copy_chunks(ranges, max_bytes=MAX_PUT_PAGE):
    """[(offset, length)] covering the source's page ranges [(start, end)] in Put Page From URL calls. Pure."""
    out = []
    for start, end in ranges:
        if start % PAGE or (end + 1) % PAGE:
            raise MigrateError('page range {0}-{1} is not 512-byte aligned'.format(start, end))
        pos = start
        while pos <= end:
            n = min(max_bytes, end - pos + 1)
            out.append((pos, n))
            pos += n
    return out


def disk_item(entry, old_disk, new_disk, suffix):
    """One disk's state and next action. Pure.

    action: copy (no new disk), recopy (a new disk whose copy was not verified: its upload is re-opened, the whole
    copy is done again - Put Page overwrites), done (new disk verified, not yet attached), in_place (the VM already
    runs on the new disk), replace (the new disk exists but was made for another disk: refuse)."""
    item = dict(entry)
    item['new_name'] = new_disk_name(entry['name'] or old_disk.get('name'), suffix)
    item['old_id'] = entry['id']
    item['new_id'] = (new_disk or {}).get('id')
    item['old_state'] = _props(old_disk).get('diskState')
    if new_disk is None:
        item['action'] = 'copy'
        return item
    tags = _tags(new_disk)
    if lower_id(tags.get(TAG_REPLACES)) != lower_id(entry['id']):
        raise MigrateError('disk {0} exists but does not replace {1} (its tag {2} says {3!r}); rename it or set '
                           'new_disk_suffix'.format(item['new_name'], entry['id'], TAG_REPLACES,
                                                    tags.get(TAG_REPLACES)))
    item['new_state'] = _props(new_disk).get('diskState')
    item['action'] = 'done' if tags.get(TAG_COPY) and item['new_state'] not in ('ReadyToUpload', 'ActiveUpload') \
        else 'recopy'
    return item


def plan(vm, old_disks, new_disks, suffix='-eah'):
    """Items per disk of the VM. ``old_disks``/``new_disks``: {disk id lower | new name lower: disk dict}. Pure.

    The VM may already run on new disks (an earlier run swapped): those entries are mapped back to the old disk
    through the new disk's tag."""
    items = []
    for entry in vm_disks(vm):
        disk = old_disks.get(lower_id(entry['id']))
        replaces = _tags(disk).get(TAG_REPLACES) if disk else None
        if replaces and _props(disk).get('creationData', {}).get('createOption') == 'Upload':
            item = dict(entry, new_name=disk.get('name'), old_id=replaces, new_id=disk.get('id'), action='in_place',
                        old_state=None, new_state=_props(disk).get('diskState'))
            items.append(item)
            continue
        if disk is None:
            raise MigrateError('disk {0} of the VM was not found'.format(entry['id']))
        new = new_disks.get(new_disk_name(entry['name'] or disk.get('name'), suffix).lower())
        items.append(disk_item(entry, disk, new, suffix))
    return items


def record(vm):
    t = _tags(vm)
    return dict(stage=t.get(TAG_STAGE), at=t.get(TAG_AT), fs=t.get(TAG_FS))


def record_tags(vm, stage, fs_digest=None, now=None):
    """The VM's whole tag set with the migration record moved to ``stage``. Pure."""
    if stage not in STAGES:
        raise MigrateError('unknown migration stage {0}'.format(stage))
    tags = _tags(vm)
    tags[TAG_STAGE] = stage
    tags[TAG_AT] = (now or datetime.datetime.utcnow()).strftime('%Y-%m-%dT%H:%M:%SZ')
    if fs_digest:
        tags[TAG_FS] = fs_digest
    return tags


def power_state(vm):
    for s in (_props(vm).get('instanceView') or {}).get('statuses') or []:
        code = s.get('code') or ''
        if code.startswith('PowerState/'):
            return code.split('/', 1)[1]
    return None


def eah_on(vm):
    return (_props(vm).get('securityProfile') or {}).get('encryptionAtHost') is True


def steps(items, power, eah, stage, start=True):
    """What is left of a migration, in order. Pure.
    ``power``: the VM's power state; ``eah``: securityProfile.encryptionAtHost; ``stage``: the record's stage."""
    out = []
    swapped = bool(items) and all(i['action'] == 'in_place' for i in items)
    if stage not in ('copying', 'swapped', 'verified'):
        out.append('record_copying')
    if not (swapped and eah) and power not in ('deallocated',):
        out.append('deallocate')
    if any(i['action'] in ('copy', 'recopy') for i in items):
        out.append('copy_disks')
    if not swapped:
        out.append('swap_disks')
    if not eah:
        out.append('enable_encryption_at_host')
    if start and power != 'running' or (start and 'deallocate' in out):
        out.append('start')
    if stage not in ('swapped', 'verified'):
        out.append('record_swapped')
    return out


def refusal(vm, retirement, guest_facts=None, ade_extension=None):
    """Why this VM must not be migrated now (message naming the fix), or None. Pure; nothing is sent before it."""
    name = (vm or {}).get('name')
    ret = retirement or {}
    path = ret.get('path')
    if ret.get('category') == 'ade_os' or path == 'rebuild_vm':
        return ('VM {0} has ADE on its OS volume: Linux cannot decrypt it and encryption at host can never be enabled '
                'on it; the documented way is a NEW VM (run the migrate playbook without ade_migrate_execute for the '
                'rebuild plan) - this VM is not touched ({1})'.format(name, DOC))
    if ret.get('category') == 'not_linux':
        return 'VM {0} runs Windows: outside this collection ({1})'.format(name, DOC)
    if ade_extension is not None:
        return ('VM {0} still has the ADE extension: disable ADE on the data volumes and remove the extension first, '
                'in that order (azure_ade.linux.vm_encryption state=decrypted volume_type=Data, or the disable playbook)'.format(name))
    eah = ret.get('encryption_at_host') or {}
    if not eah.get('enabled') and not eah.get('possible'):
        return 'VM {0} cannot get encryption at host: {1}. Nothing was changed'.format(
            name, '; '.join(eah.get('reasons') or ['unknown reason']))
    crypt = guest_crypt_devices(guest_facts)
    if crypt:
        return ('the guest of VM {0} still shows dm-crypt mappings ({1}): wait until decryption finished (cryptsetup '
                'status, lsblk) before the disks are copied ({2})'.format(name, ', '.join(crypt), DOC))
    return None


def guest_crypt_devices(facts):
    """Names of dm-crypt devices the guest facts show (block devices of TYPE crypt, ADE's mappers). Pure."""
    if not facts:
        return []
    out = [d.get('name') for d in facts.get('block_devices') or [] if (d.get('type') or '') == 'crypt']
    out.extend(n for n in ((facts.get('crypt') or {}).get('devices') or []) if n not in out)
    return out


def guest_filesystems(facts):
    """Sorted [uuid fstype mountpoint] of the guest's filesystems (not dm-crypt, not LUKS containers). Pure."""
    out = set()
    for d in (facts or {}).get('block_devices') or []:
        if d.get('uuid') and d.get('fstype') and d.get('fstype') != 'crypto_LUKS' and d.get('type') != 'crypt':
            out.add('{0} {1} {2}'.format(d['uuid'], d['fstype'], d.get('mountpoint') or '-'))
    return sorted(out)


def fs_digest(facts):
    """Short digest of guest_filesystems (fits a tag value). Pure."""
    fs = guest_filesystems(facts)
    if not fs:
        return None
    return hashlib.sha256('\n'.join(fs).encode('utf-8')).hexdigest()[:32]


def verify_platform(vm, items, ade_extension=None):
    """Problems with the migrated VM as Azure shows it (empty = verified). Pure."""
    problems = []
    name = (vm or {}).get('name')
    if not eah_on(vm):
        problems.append('securityProfile.encryptionAtHost is not true on VM {0}'.format(name))
    if ade_extension is not None:
        problems.append('VM {0} still has the ADE extension {1}'.format(name, ade_extension.get('name')))
    by_id = dict((lower_id(e['id']), e) for e in vm_disks(vm))
    for i in items:
        if lower_id(i.get('new_id')) not in by_id:
            problems.append('VM {0} does not run on the new disk {1} (role {2}, lun {3})'.format(
                name, i.get('new_name'), i['role'], i['lun']))
    od = (_props(vm).get('storageProfile') or {}).get('osDisk') or {}
    if od.get('encryptionSettings'):
        problems.append('the OS disk of VM {0} still carries ADE encryptionSettings'.format(name))
    if power_state(vm) not in (None, 'running'):
        problems.append('VM {0} is {1}, not running'.format(name, power_state(vm)))
    return problems


def verify_guest(recorded_digest, facts):
    """Problems with the guest after the swap (empty = verified): no dm-crypt mapping, the same filesystems and
    UUIDs as before the copy. Pure."""
    problems = []
    crypt = guest_crypt_devices(facts)
    if crypt:
        problems.append('the guest shows dm-crypt mappings: {0}'.format(', '.join(crypt)))
    if recorded_digest:
        now = fs_digest(facts)
        if now != recorded_digest:
            problems.append('the guest filesystems/UUIDs differ from those before the copy (digest {0}, was {1}): '
                            '{2}'.format(now, recorded_digest, '; '.join(guest_filesystems(facts)) or 'none'))
    return problems


def restore_steps(items, power, stage, start=True):
    """Going back to the old disks (the new ones are kept for inspection). Pure.
    Open SAS on old disks (an interrupted copy) are revoked first: a VM does not start on a disk with one."""
    back = [i for i in items if i['action'] == 'in_place']
    sas = [i for i in items if i['action'] != 'in_place' and i.get('old_state') in ACCESS_STATES]
    if not back and not sas and stage in (None, 'restored') and power == 'running':
        return []
    out = []
    if sas:
        out.append('revoke_access')
    if back and power != 'deallocated':
        out.append('deallocate')
    if back:
        out.extend(['disable_encryption_at_host', 'swap_back'])
    if start and (back or power != 'running'):
        out.append('start')
    if stage != 'restored':
        out.append('record_restored')
    return out


def swap_body(vm, mapping):
    """The VM PUT body with its disks swapped by ``mapping`` {disk id lower: (new name, new id)}. Pure."""
    body = dict((k, v) for k, v in vm.items() if k not in ('resources', 'etag'))
    props = dict((k, v) for k, v in _props(vm).items() if k not in ('instanceView', 'provisioningState', 'vmId',
                                                                    'timeCreated'))
    storage = dict(props.get('storageProfile') or {})
    od = dict(storage.get('osDisk') or {})
    oid = lower_id((od.get('managedDisk') or {}).get('id'))
    if oid in mapping:
        od['name'], nid = mapping[oid]
        od['managedDisk'] = dict(od.get('managedDisk') or {}, id=nid)
        od.pop('encryptionSettings', None)
    storage['osDisk'] = od
    data = []
    for d in storage.get('dataDisks') or []:
        d = dict(d)
        did = lower_id((d.get('managedDisk') or {}).get('id'))
        if did in mapping:
            d['name'], nid = mapping[did]
            d['managedDisk'] = dict(d.get('managedDisk') or {}, id=nid)
            d['createOption'] = 'Attach'
            d.pop('diskSizeGB', None)
        data.append(d)
    storage['dataDisks'] = data
    props['storageProfile'] = storage
    body['properties'] = props
    return body


def target(row):
    """What the migrate playbook does with one vm_encryption_info row (with ``retirement`` and ``migration``). Pure.
    -> dict(vm, action: migrate | verify | rebuild | skip, reason)."""
    ret = (row or {}).get('retirement') or {}
    stage = ((row or {}).get('migration') or {}).get('stage')
    cat, path = ret.get('category'), ret.get('path')
    name = (row or {}).get('name')

    def out(action, reason):
        return dict(vm=name, resource_group=(row or {}).get('resource_group'), action=action, reason=reason,
                    stage=stage)
    if cat == 'ade_os' or path == 'rebuild_vm':
        return out('rebuild', 'ADE on the OS volume: not touched by migrate - rebuild it with the playbook '
                              'azure_ade.linux.rebuild (a new VM with encryption at host)')
    if cat == 'not_linux':
        return out('skip', 'Windows VM: outside this collection')
    if stage == 'verified':
        return out('verify', 'migrated and verified earlier (old disks deleted only with ade_migrate_delete_old_disks)')
    if stage in ('copying', 'swapped', 'restored'):
        return out('migrate', 'resuming the migration (stage {0})'.format(stage))
    if cat == 'encryption_at_host':
        return out('skip', 'already uses encryption at host and has no migration record: nothing to do')
    if cat == 'ade_data_only':
        return out('migrate', 'ADE on data volumes only: disable, remove the extension, Upload-copy, encryption at host')
    return out('migrate', 'no ADE visible; the UDE flag of a disk that once carried ADE is not visible in the API, so '
                          'the disks are copied into Upload disks too (encryption at host cannot be refused then)')

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_migrate
short_description: Move a VM whose ADE was on data volumes only onto new disks with encryption at host
version_added: 0.3.0
description:
  - The automated part of Microsoft's "Migrate from Azure Disk Encryption to encryption at host"
    (learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate) for a Linux VM whose ADE covered data volumes
    only, AFTER ADE was disabled on them and the extension removed (M(azure_ade.linux.vm_encryption) C(state=decrypted))
    and the guest shows no dm-crypt mapping any more.
  - There is no in-place conversion, and disks that carried ADE keep a UDE flag that snapshots and C(Copy) disks keep
    too, so every disk of the VM (the OS disk as well) is copied into a NEW disk made with C(createOption=Upload)
    (C(uploadSizeBytes) = C(diskSizeBytes) + 512 for the VHD footer) - write SAS on the new disk, read SAS on the old
    one (C(beginGetAccess)), a page-blob copy with azure-storage-blob (Put Page From URL over the source's page
    ranges, 4 MiB per call), both SAS revoked (C(endGetAccess)) - and the copy is checked (page ranges and SHA-256
    of the data of both disks) before the disk is used.
  - C(state=migrated) - deallocates the VM (a read SAS needs the disk unattached or its VM deallocated), copies,
    swaps the disks (same LUNs, same caching), turns C(securityProfile.encryptionAtHost) on and starts the VM.
    C(state=verified) - checks both sides (platform - encryption at host on, no ADE extension, the VM on the new
    disks and running; guest - O(guest_facts) show no dm-crypt mapping and the same filesystems and UUIDs as before
    the copy) and records it; with O(delete_old_disks=true) the old disks are deleted then, and only then.
    C(state=restored) - puts the VM back on its old disks (encryption at host off first), new disks kept.
  - Refuses, before any change, a VM with ADE on its OS volume (the documented way is a new VM; the migrate playbook
    writes that plan), a VM that still has the ADE extension, a VM whose size or subscription cannot take encryption
    at host (feature C(Microsoft.Compute/EncryptionAtHost) not registered, size without the
    C(EncryptionAtHostSupported) capability), and guest facts that still show dm-crypt mappings.
  - Resumable - the migration record lives in Azure (VM tags C(azure_ade_migrate_stage), C(azure_ade_migrate_at),
    C(azure_ade_migrate_fs); new disks carry C(azure_ade_replaces_disk_id) and, once their copy was verified,
    C(azure_ade_copy_sha256)). A re-run copies again only what was not verified, swaps only disks not swapped, and
    sends no write once everything is done.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
  - azure_ade.linux.lease
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.actiongroup_azure
attributes:
  check_mode:
    support: full
    details: Reads the VM and its disks and reports the steps it would take; changes nothing.
  diff_mode:
    support: none
requirements:
  - azure-storage-blob >= 12.19 (the page-blob copy)
options:
  state:
    description: C(migrated), C(verified) or C(restored) (see the description).
    type: str
    choices: [migrated, verified, restored]
    default: migrated
  guest_facts:
    description:
      - The guest's C(ansible_facts.azure_ade) (M(azure_ade.linux.guest_facts)). With C(state=migrated) - read before
        anything changes; dm-crypt mappings refuse the migration; the filesystems and UUIDs are recorded (tag
        C(azure_ade_migrate_fs)). Required with C(state=verified) - compared with that record.
    type: dict
  new_disk_suffix:
    description:
      - Suffix of the new disks' names (C(<old name><suffix>), at most 80 characters; the old name is shortened).
      - 1-40 letters, digits, C(_), C(.), C(-), ending with a letter, digit or C(_). The new names are checked before
        the first write - valid for Azure, unique among the VM's disks and in the resource group (docs/validation.md).
    type: str
    default: -eah
  sas_duration:
    description: Seconds the SAS of the copy stay valid (they are revoked right after the copy anyway).
    type: int
    default: 14400
  verify_copy:
    description:
      - C(full) - compare the page ranges and the SHA-256 of all data of the old and the new disk (reads both
        disks once more); C(ranges) - compare the page ranges only.
    type: str
    choices: [full, ranges]
    default: full
  delete_old_disks:
    description: With C(state=verified) - delete the old disks once both sides are verified (never before).
    type: bool
    default: false
  start:
    description: Start the VM after the swap (C(state=migrated), C(state=restored)).
    type: bool
    default: true
  timeout:
    description: Seconds to wait for 409 conflicts to clear (>= 0).
    type: int
    default: 1800
  expected_vm_id:
    description:
      - An empty string is refused before any change (it never means "no check"); leave the option out for no check.
      - The guest's IMDS C(vmId). When set, the module refuses, before any change, a VM whose ARM C(vmId) differs.
    type: str
notes:
  - Downtime - the VM is deallocated from the copy until the start.
  - Old disks are kept until O(state=verified) with O(delete_old_disks=true); snapshots of the playbook are not
    touched.
seealso:
  - module: azure_ade.linux.vm_encryption
  - module: azure_ade.linux.guest_facts
'''

EXAMPLES = r'''
- name: Copy the disks into Upload disks, swap them in, turn encryption at host on
  azure_ade.linux.vm_migrate:
    resource_group: rg-app
    name: vm1
    guest_facts: "{{ ansible_facts.azure_ade }}"
    expected_vm_id: "{{ ansible_facts.azure_ade.imds.vm_id }}"

- name: Verify both sides, then delete the old disks
  azure_ade.linux.vm_migrate:
    resource_group: rg-app
    name: vm1
    state: verified
    guest_facts: "{{ after.ansible_facts.azure_ade }}"
    delete_old_disks: true
'''

RETURN = r'''
disks:
  description: One entry per disk of the VM.
  returned: always
  type: list
  elements: dict
  contains:
    role:
      description: C(os) or C(data).
      type: str
      returned: always
    lun:
      description: LUN of a data disk (null for the OS disk).
      type: int
      returned: always
    old_id:
      description: The disk the VM ran on with ADE.
      type: str
      returned: always
    new_name:
      description: The Upload disk that replaces it.
      type: str
      returned: always
    action:
      description: C(copy), C(recopy), C(done) (copied and verified), C(in_place) (the VM runs on it).
      type: str
      returned: always
    sha256:
      description: Digest of the copied data (C(verify_copy=full)).
      type: str
      returned: when copied in this run
actions:
  description: Steps done in order (in check mode - the steps it would do).
  returned: always
  type: list
  elements: str
stage:
  description: The migration record's stage after the run (C(copying), C(swapped), C(verified), C(restored)).
  returned: always
  type: str
problems:
  description: What failed verification (C(state=verified); empty when verified).
  returned: always
  type: list
  elements: str
old_disks:
  description: IDs of the old disks (deleted when RV(actions) contains C(delete_old_disks)).
  returned: always
  type: list
  elements: str
requests:
  description: HTTP requests made to ARM (the page-blob requests are not counted).
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import migrate as mig
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import validate
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import VM_ARGSPEC, AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import ade_blockers
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.retirement import EahContext
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status

try:
    from azure.storage.blob import BlobClient, LinearRetry
    BLOB_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - reported by fail_json
    BlobClient = LinearRetry = None
    BLOB_IMPORT_ERROR = _exc


def main():
    base = AzureModule(
        dict(VM_ARGSPEC,
             state=dict(type='str', default='migrated', choices=['migrated', 'verified', 'restored']),
             guest_facts=dict(type='dict'), new_disk_suffix=dict(type='str', default='-eah'),
             sas_duration=dict(type='int', default=14400),
             verify_copy=dict(type='str', default='full', choices=['full', 'ranges']),
             delete_old_disks=dict(type='bool', default=False), start=dict(type='bool', default=True),
             timeout=dict(type='int', default=1800), expected_vm_id=dict(type='str')),
        non_negative=('timeout',), positive=('sas_duration',), lease=True,
        supports_check_mode=True,
    )
    p = base.params
    if p['state'] == 'verified' and not p['guest_facts']:
        base.fail('state=verified needs guest_facts (the guest side of the verification): gather '
                  'azure_ade.linux.guest_facts on the VM after the start and pass ansible_facts.azure_ade')
    session = base.open_session()
    rg, name = p['resource_group'], p['name']
    result = dict(changed=False, disks=[], actions=[], problems=[], old_disks=[], stage=None)
    deadline = time.time() + p['timeout']
    try:
        vm = base.read_vm_leased(rg, name)
        if vm is None:
            base.fail('VM {0} not found in resource group {1}'.format(name, rg), **result)
        err = rollout.identity_error(vm, p['expected_vm_id'])
        if err:
            base.fail(err, **result)
        result['stage'] = mig.record(vm)['stage']
        items = read_items(session, rg, vm, p['new_disk_suffix'])
        problems = name_errors(vm, items, p['new_disk_suffix'])
        if problems:
            base.fail('; '.join(problems) + '. Nothing was changed.', **result)
        result['disks'] = [_desc(i) for i in items]
        result['old_disks'] = [i['old_id'] for i in items]
        if p['state'] == 'migrated':
            migrate(base, session, p, vm, items, result, deadline)
        elif p['state'] == 'verified':
            verify(base, session, p, vm, items, result, deadline)
        else:
            restore(base, session, p, vm, items, result, deadline)
    except mig.MigrateError as exc:
        base.fail(str(exc), **result)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_migrate {0}/{1} state={2} (done so far: {3}; run again to continue, or state=restored '
                        'to go back to the old disks)'.format(rg, name, p['state'],
                                                              ', '.join(result['actions']) or 'nothing'),
                        exc, **result)
    base.exit(**result)


def read_items(session, rg, vm, suffix):
    """GET every disk the VM runs on and every new disk that may exist; -> plan items."""
    old, new = {}, {}
    for entry in mig.vm_disks(vm):
        rid = ade.parse_resource_id(entry['id'])
        d = session.get_disk(rid['resource_group'], rid['name'])
        if d is not None:
            old[mig.lower_id(entry['id'])] = d
            if not (d.get('tags') or {}).get(mig.TAG_REPLACES):
                nn = mig.new_disk_name(entry['name'] or d.get('name'), suffix)
                nd = session.get_disk(rg, nn)
                if nd is not None:
                    new[nn.lower()] = nd
    return mig.plan(vm, old, new, suffix)


def name_errors(vm, items, suffix):
    """The new disk names checked before the first write (validate.py): valid for Azure, unique among the VM's disks;
    a disk of that name in the resource group that is not this migration's copy is refused by mig.plan already."""
    todo = [i for i in items if i['action'] != 'in_place']
    olds = [d.get('name') or ade.parse_resource_id(d['id'])['name'] for d in mig.vm_disks(vm)]
    return validate.new_disk_names_errors([i.get('name') or i['old_id'] for i in todo], [i['new_name'] for i in todo]) \
        + [e for e in validate.new_disk_names_errors(olds, [i['new_name'] for i in todo])
           if 'is the name of one of' in e]


def _desc(i):
    return dict(role=i['role'], lun=i['lun'], old_id=i['old_id'], new_name=i['new_name'], action=i['action'])


def act(session, result, deadline, step, func):
    out = session.retry_conflicts(func, deadline, 'migrate: ' + step)
    if step not in result['actions']:
        result['actions'].append(step)
    result['changed'] = True
    return out


def write_stage(session, rg, name, result, deadline, stage, fs=None):
    fresh = session.get_vm(rg, name, instance_view=False)
    tags = mig.record_tags(fresh, stage, fs)
    act(session, result, deadline, 'record_' + stage, lambda: session.update_vm_tags(rg, name, tags))
    result['stage'] = stage


def migrate(base, session, p, vm, items, result, deadline):
    rg, name = p['resource_group'], p['name']
    stage = result['stage']
    power = mig.power_state(vm)
    swapped = all(i['action'] == 'in_place' for i in items)
    if not (stage in ('swapped', 'verified') or (stage == 'copying' and swapped)):
        blockers = ade_blockers(vm)
        plan = EahContext(session).plan(vm, compute_status(vm), blockers)
        why = mig.refusal(vm, plan, p['guest_facts'], ade.find_ade_extension(vm))
        if why:
            base.fail(why, **result)
    steps = mig.steps(items, power, mig.eah_on(vm), stage, p['start'])
    if base.check_mode:
        result['actions'] = steps
        result['changed'] = bool(steps)
        return
    if 'record_copying' in steps:
        write_stage(session, rg, name, result, deadline, 'copying', mig.fs_digest(p['guest_facts']))
    if 'deallocate' in steps:
        act(session, result, deadline, 'deallocate', lambda: session.deallocate_vm(rg, name))
    if 'copy_disks' in steps:
        for item in items:
            if item['action'] in ('copy', 'recopy'):
                copy_disk(base, session, p, rg, item, result, deadline)
        result['disks'] = [dict(_desc(i), **({'sha256': i['sha256']} if i.get('sha256') else {})) for i in items]
    if 'swap_disks' in steps:
        fresh = session.get_vm(rg, name, instance_view=False)
        mapping = dict((mig.lower_id(i['old_id']), (i['new_name'], i['new_id'])) for i in items
                       if i['action'] != 'in_place')
        act(session, result, deadline, 'swap_disks', lambda: session.put_vm(rg, name, mig.swap_body(fresh, mapping)))
    if 'enable_encryption_at_host' in steps:
        act(session, result, deadline, 'enable_encryption_at_host', lambda: session.compute.virtual_machines.begin_update(
            rg, name, {'properties': {'securityProfile': {'encryptionAtHost': True}}}).result())
    if 'start' in steps:
        act(session, result, deadline, 'start', lambda: session.start_vm(rg, name))
    if 'record_swapped' in steps:
        write_stage(session, rg, name, result, deadline, 'swapped')


def copy_disk(base, session, p, rg, item, result, deadline):
    """One disk: (re)create the Upload disk, copy, revoke, check the copy, mark it verified."""
    old_rid = ade.parse_resource_id(item['old_id'])
    old = session.get_disk(old_rid['resource_group'], old_rid['name'])
    new = session.get_disk(rg, item['new_name'])
    if new is not None and (new.get('properties') or {}).get('diskState') != 'ReadyToUpload':
        # a copy an earlier (interrupted) run began and did not verify: close its access and make the disk anew,
        # so that no SAS of that run is in play (an upload once closed cannot be written again anyway)
        if (new.get('properties') or {}).get('diskState') in mig.ACCESS_STATES:
            revoke(session, result, deadline, rg, item['new_name'])
        act(session, result, deadline, 'delete_unverified_copy', lambda: session.delete_disk(rg, item['new_name']))
        new = None
    if (old.get('properties') or {}).get('diskState') in mig.ACCESS_STATES:
        revoke(session, result, deadline, old_rid['resource_group'], old_rid['name'])
    if new is None:
        body = mig.upload_body(old, item['role'])
        new = act(session, result, deadline, 'create_upload_disks', lambda: session.put_disk(rg, item['new_name'], body))
    item['new_id'] = new['id']
    write_sas = grant(session, result, deadline, rg, item['new_name'], 'Write', p['sas_duration'])
    read_sas = grant(session, result, deadline, old_rid['resource_group'], old_rid['name'], 'Read', p['sas_duration'])
    try:
        src, dst = blob_client(session, read_sas), blob_client(session, write_sas)
        ranges = [(r.start, r.end) for r in src.list_page_ranges()]
        for offset, length in mig.copy_chunks(ranges):
            base.guard()    # the page writes go to storage, not ARM: the lease is checked here
            dst.upload_pages_from_url(read_sas, offset=offset, length=length, source_offset=offset)
        result['actions'].append('copy_pages') if 'copy_pages' not in result['actions'] else None
    finally:
        revoke(session, result, deadline, rg, item['new_name'])
        revoke(session, result, deadline, old_rid['resource_group'], old_rid['name'])
    digest = check_copy(session, p, result, deadline, rg, item, old_rid, ranges)
    tags = dict(new.get('tags') or {})
    tags[mig.TAG_COPY] = digest
    act(session, result, deadline, 'mark_copies_verified',
        lambda: session.compute.disks.begin_update(rg, item['new_name'], {'tags': tags}).result())
    item['sha256'] = digest
    item['action'] = 'done'


def check_copy(session, p, result, deadline, rg, item, old_rid, ranges):
    """Read both disks back (read SAS on each) and compare page ranges and, with verify_copy=full, the data."""
    a = grant(session, result, deadline, old_rid['resource_group'], old_rid['name'], 'Read', p['sas_duration'])
    b = grant(session, result, deadline, rg, item['new_name'], 'Read', p['sas_duration'])
    try:
        src, dst = blob_client(session, a), blob_client(session, b)
        got = [(r.start, r.end) for r in dst.list_page_ranges()]
        if got != ranges:
            raise mig.MigrateError('the copy of {0} has page ranges {1}, the source {2}: run again (the copy is made '
                                   'anew)'.format(item['new_name'], got[:5], ranges[:5]))
        if p['verify_copy'] == 'ranges':
            return 'ranges:{0}'.format(len(ranges))
        da, db = digest(src, ranges), digest(dst, ranges)
        if da != db:
            raise mig.MigrateError('the copy of {0} differs from its source (SHA-256 {1} vs {2}): run again'.format(
                item['new_name'], db[:16], da[:16]))
        return da[:32]
    finally:
        revoke(session, result, deadline, rg, item['new_name'])
        revoke(session, result, deadline, old_rid['resource_group'], old_rid['name'])


def digest(client, ranges):
    import hashlib
    h = hashlib.sha256()
    for offset, length in mig.copy_chunks(ranges):
        h.update(client.download_blob(offset=offset, length=length).readall())
    return h.hexdigest()


def grant(session, result, deadline, rg, disk, access, seconds):
    from azure.mgmt.compute.models import GrantAccessData  # pylint: disable=import-outside-toplevel
    out = act(session, result, deadline, 'grant_access', lambda: session.compute.disks.begin_grant_access(
        rg, disk, GrantAccessData(access=access, duration_in_seconds=seconds)).result())
    return out.access_sas


def revoke(session, result, deadline, rg, disk):
    act(session, result, deadline, 'revoke_access',
        lambda: session.compute.disks.begin_revoke_access(rg, disk).result())


def blob_client(session, sas_url):
    if BLOB_IMPORT_ERROR is not None:
        raise mig.MigrateError('the page-blob copy needs the Python package azure-storage-blob on the control node '
                               '(pip install -r requirements.txt of this collection): {0}'.format(BLOB_IMPORT_ERROR))
    kw = {'retry_policy': LinearRetry(backoff=2, random_jitter_range=1, retry_total=3)}
    if session.user_agent:
        kw['user_agent'] = session.user_agent
    if session.plan.get('ca_bundle'):
        kw['connection_verify'] = session.plan['ca_bundle']
    return BlobClient.from_blob_url(sas_url, **kw)


def verify(base, session, p, vm, items, result, deadline):
    rg, name = p['resource_group'], p['name']
    stage = result['stage']
    if stage not in ('swapped', 'verified'):
        base.fail('VM {0} is not migrated (migration stage {1}): run state=migrated first'.format(name, stage),
                  **result)
    problems = mig.verify_platform(vm, items, ade.find_ade_extension(vm))
    problems += mig.verify_guest(mig.record(vm)['fs'], p['guest_facts'])
    result['problems'] = problems
    if problems:
        base.fail('VM {0} is not verified on encryption at host: {1}. The old disks are kept; state=restored puts '
                  'the VM back on them'.format(name, '; '.join(problems)), **result)
    if base.check_mode:
        result['actions'] = ([] if stage == 'verified' else ['record_verified']) + (
            ['delete_old_disks'] if p['delete_old_disks'] else [])
        result['changed'] = bool(result['actions'])
        return
    if stage != 'verified':
        write_stage(session, rg, name, result, deadline, 'verified')
    if p['delete_old_disks']:
        for did in result['old_disks']:
            rid = ade.parse_resource_id(did)
            if session.get_disk(rid['resource_group'], rid['name']) is None:
                continue
            act(session, result, deadline, 'delete_old_disks',
                lambda r=rid: session.delete_disk(r['resource_group'], r['name']))


def restore(base, session, p, vm, items, result, deadline):
    rg, name = p['resource_group'], p['name']
    steps = mig.restore_steps(items, mig.power_state(vm), result['stage'], p['start'])
    if base.check_mode:
        result['actions'] = steps
        result['changed'] = bool(steps)
        return
    for i in items:
        if i['action'] == 'in_place':
            rid = ade.parse_resource_id(i['old_id'])
            if session.get_disk(rid['resource_group'], rid['name']) is None:
                raise mig.MigrateError('old disk {0} is gone: cannot go back to it'.format(i['old_id']))
    for i in items:
        if 'revoke_access' in steps and i['action'] != 'in_place' and i.get('old_state') in mig.ACCESS_STATES:
            rid = ade.parse_resource_id(i['old_id'])
            revoke(session, result, deadline, rid['resource_group'], rid['name'])
    if 'deallocate' in steps:
        act(session, result, deadline, 'deallocate', lambda: session.deallocate_vm(rg, name))
    if 'disable_encryption_at_host' in steps and mig.eah_on(vm):
        act(session, result, deadline, 'disable_encryption_at_host', lambda: session.compute.virtual_machines
            .begin_update(rg, name, {'properties': {'securityProfile': {'encryptionAtHost': False}}}).result())
    if 'swap_back' in steps:
        fresh = session.get_vm(rg, name, instance_view=False)
        mapping = {}
        for i in items:
            if i['action'] == 'in_place':
                rid = ade.parse_resource_id(i['old_id'])
                mapping[mig.lower_id(i['new_id'])] = (rid['name'], i['old_id'])
        act(session, result, deadline, 'swap_back', lambda: session.put_vm(rg, name, mig.swap_body(fresh, mapping)))
    if 'start' in steps:
        act(session, result, deadline, 'start', lambda: session.start_vm(rg, name))
    if 'record_restored' in steps:
        write_stage(session, rg, name, result, deadline, 'restored')


if __name__ == '__main__':
    main()

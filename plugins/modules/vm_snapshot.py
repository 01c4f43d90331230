#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_snapshot
short_description: Snapshot every managed disk of a VM as one named, tagged set (before ADE)
version_added: 0.1.0
description:
  - Takes a snapshot of the OS disk and of every managed data disk of a VM (incremental by default), as
    Microsoft requires before enabling Azure Disk Encryption, and waits until each is C(Succeeded).
  - Snapshots are named C(<vm>-<snapshot_set>-os) / C(<vm>-<snapshot_set>-lun<N>) and tagged with the set name, the VM and the
    source disk, so a rerun with the same O(snapshot_set) reuses them instead of making more.
  - O(state=absent) deletes the set of that run - retention. The set the VM's rollout record names (the pre-change
    set) is kept until the VM is C(verified) after its post-encryption restart (O(require_verified)); with
    O(older_than_days) only a set whose snapshots are all older than that is deleted. A kept set is reported in
    RV(kept), not as a failure, so a retention job can run over the whole fleet.
  - VMs with unmanaged (VHD) disks are refused with a clear error.
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
    details: Reports the snapshots it would take; creates none.
  diff_mode:
    support: none
options:
  snapshot_set:
    description:
      - Name of the set (the rollout's run ID, for example the UTC start of the encryption run). Letters, digits,
        C(_), C(.), C(-). The same name is used by M(azure_ade.linux.vm_restore), the playbooks (C(ade_snapshot_set))
        and the VM's rollout record (tag C(azure_ade_snapshot_set)).
      - Default C(ade-<UTC date YYYYMMDD>), so a rerun on the same day reuses the set. Pass it explicitly
        when a run may span midnight.
      - The alias C(run_id) is deprecated.
    type: str
    aliases: [run_id]
  state:
    description: V(present) takes (or reuses) the set; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  snapshot_resource_group:
    description: Resource group for the snapshots. Default O(resource_group).
    type: str
  incremental:
    description: Incremental snapshots (cheaper; full copies when V(false)).
    type: bool
    default: true
  sku:
    description: Snapshot storage SKU.
    type: str
    choices: [Standard_LRS, Standard_ZRS, Premium_LRS]
    default: Standard_LRS
  tags:
    description: Extra tags for the snapshots.
    type: dict
  wait:
    description: Wait until every snapshot is C(Succeeded) (deletion - gone).
    type: bool
    default: true
  timeout:
    description: Seconds to wait (>= 0; checked before anything is sent).
    type: int
    default: 3600
  allow_after_encryption_start:
    description:
      - Take the set even though the encryption of the VM began (its rollout record says C(enabling) or later, or
        the platform shows ADE on it). By default such a VM is refused - a set taken now captures disks that are
        being encrypted and a restore from it loses data; the set to restore from is the one named in the VM's
        rollout record (tag C(azure_ade_rollout_run)).
      - Reusing the complete set of the record's own run is never refused (it sends no write).
    type: bool
    default: false
  record:
    description:
      - Record the set in the VM's rollout record (tags C(azure_ade_rollout_run), C(azure_ade_rollout_stage=snapshot_taken))
        once every snapshot is C(Succeeded), so that a re-run of the encrypt playbook resumes with this set instead of
        taking another. See docs/architecture.md "Rollout record".
    type: bool
    default: true
  require_verified:
    description:
      - With O(state=absent), keep the set the VM's rollout record names until the record says C(verified) (the
        restart check passed). Never delete the only pre-change backup of an unverified VM; V(false) deletes anyway.
    type: bool
    default: true
  older_than_days:
    description: With O(state=absent), delete only when every snapshot of the set is older than this many days.
    type: float
  luns:
    description:
      - Data disks added after the encryption (issue 16 item 4) - snapshot only the data disks at these LUNs, as the
        VM's B(add-on) set, and record it in the VM's add-on record (tags C(azure_ade_addon_set),
        C(azure_ade_addon_stage=snapshot_taken), C(azure_ade_addon_ids) - the members by ID and source disk), never in
        its rollout record, which keeps naming the pre-encryption set of the OS and the old data disks.
      - Only for a VM whose ADE (VolumeType Data or All) succeeded. Every named disk must be a data disk on which
        the encryption has not begun - proved from the platform (no ADE stamp on the disk, no add-on run going on) AND
        the guest (O(guest_facts) - no ADE request queued, no BEK passphrase file for the LUN, no dm-crypt data volume
        the platform's stamps do not account for); otherwise the module refuses before any write, naming the disk.
        O(allow_after_encryption_start) does not apply.
      - M(azure_ade.linux.vm_encryption) O(azure_ade.linux.vm_encryption#module:added_disks=true) then encrypts them.
    type: list
    elements: int
  guest_facts:
    description:
      - With O(luns) - the guest's C(azure_ade) facts (M(azure_ade.linux.guest_facts) C(ansible_facts.azure_ade), or
        M(azure_ade.linux.preflight) C(facts)), read just before; required to prove that the guest has not begun
        encrypting the disks. Only C(crypt), C(root) and C(ade_state) are used.
    type: dict
  expected_vm_id:
    description:
      - An empty string is refused before any change (it never means "no check"); leave the option out for no check.
      - The guest's own idea of its VM ID (IMDS C(vmId)). When set, the module refuses, before any change, a VM whose
        ARM C(vmId) differs (the inventory names another VM than the guest runs on).
    type: str
notes:
  - Check mode is supported and returns the snapshots that would be made.
  - Once every snapshot of the set succeeded, the set's members are recorded by ID and source disk in the VM's tag
    C(azure_ade_snapshot_ids) (with the rollout record); M(azure_ade.linux.vm_restore) uses only those. A set that
    is reused must come from the VM's own disks (C(creationData.sourceResourceId)) and, when recorded, be exactly
    the recorded one; otherwise the module fails naming the snapshot.
  - O(tags) may not use the C(azure_ade_) prefix (the collection's records).
seealso:
  - module: azure_ade.linux.vm_restore
'''

EXAMPLES = r'''
- name: Snapshot every disk before encryption
  azure_ade.linux.vm_snapshot:
    resource_group: rg-app
    name: vm1
    snapshot_set: ade-20261128
  register: snap

- name: A data disk added after the encryption (LUN 2) - snapshot it alone as the add-on set
  azure_ade.linux.vm_snapshot:
    resource_group: rg-app
    name: vm1
    snapshot_set: ade-20261207-addon
    luns: [2]
    guest_facts: "{{ ansible_facts.azure_ade }}"

- name: Retention - drop the set once the VM was verified after its restart, if older than 30 days
  azure_ade.linux.vm_snapshot:
    resource_group: rg-app
    name: vm1
    snapshot_set: ade-20261128
    state: absent
    older_than_days: 30
'''

RETURN = r'''
snapshots:
  description: The snapshots of the set (after deletion - the ones deleted).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Snapshot name.
      type: str
      returned: always
    id:
      description: Snapshot resource ID.
      type: str
      returned: always
    role:
      description: "C(os) or C(data)."
      type: str
      returned: always
    lun:
      description: LUN of a data disk.
      type: int
      returned: always
    source_disk_id:
      description: Disk the snapshot was taken from.
      type: str
      returned: always
    provisioning_state:
      description: "C(Succeeded) once complete."
      type: str
      returned: always
    action:
      description: "C(created), C(reused), C(waited), C(deleted) (check mode - C(would_create), ...)."
      type: str
      returned: always
snapshot_ids:
  description: IDs of the snapshots of the set.
  returned: always
  type: list
  elements: str
snapshot_set:
  description: The name of the set - pass it to M(azure_ade.linux.vm_restore) O(azure_ade.linux.vm_restore#module:snapshot_set).
  returned: always
  type: str
run_id:
  description: Same as RV(snapshot_set) (deprecated name, kept for playbooks written against 0.1).
  returned: always
  type: str
kept:
  description: With O(state=absent), why the set was kept (not verified, or too young); absent when it was deleted.
  returned: when a set was kept
  type: str
not_deleted:
  description:
    - With O(state=absent), snapshots tagged as members of the set that were left alone - not in the VM's record of
      the set (tag C(azure_ade_snapshot_ids)) or, without a record, not taken from the VM's own disks. A cleanup
      deletes only what its own run created.
  returned: when such snapshots exist
  type: list
  elements: str
rollout:
  description: The VM's rollout record after the run (snapshot_set, stage, seq, at); see docs/architecture.md.
  returned: always
  type: dict
addon:
  description: With O(luns) - the VM's add-on record after the run (snapshot_set, stage, seq, members, ids, at).
  returned: with luns
  type: dict
requests:
  description: HTTP requests made.
  returned: always
  type: dict
'''

import calendar
import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import addon, rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as snap
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import provenance as prov
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import error_text
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import VM_ARGSPEC, AzureModule, write_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status

_RUN_ID_OK = __import__('re').compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$')


def main():
    base = AzureModule(
        dict(VM_ARGSPEC,
             snapshot_set=dict(type='str', aliases=['run_id'],
                               deprecated_aliases=[dict(name='run_id', version='2.0.0', collection_name='azure_ade.linux')]),
             state=dict(type='str', choices=['present', 'absent'], default='present'),
             snapshot_resource_group=dict(type='str'), incremental=dict(type='bool', default=True),
             sku=dict(type='str', choices=['Standard_LRS', 'Standard_ZRS', 'Premium_LRS'], default='Standard_LRS'),
             tags=dict(type='dict'), wait=dict(type='bool', default=True), timeout=dict(type='int', default=3600),
             allow_after_encryption_start=dict(type='bool', default=False), record=dict(type='bool', default=True),
             require_verified=dict(type='bool', default=True), older_than_days=dict(type='float'),
             expected_vm_id=dict(type='str'), luns=dict(type='list', elements='int'),
             guest_facts=dict(type='dict')),
        non_negative=('timeout', 'older_than_days'), lease=True,
        supports_check_mode=True,
    )
    module = base.module
    p = base.params
    if not p['snapshot_set']:
        p['snapshot_set'] = time.strftime('ade-%Y%m%d', time.gmtime())
    if p['luns'] is not None and (not p['luns'] or p['state'] != 'present' or p['allow_after_encryption_start']):
        base.fail('luns (an add-on set of data disks added after the encryption) needs at least one LUN, state=present '
                  'and no allow_after_encryption_start. Nothing was sent to Azure.')
    if not _RUN_ID_OK.match(p['snapshot_set']):
        base.fail("snapshot_set '{0}' must be 1-60 letters, digits, '_', '.', '-' starting with a letter/digit"
                  .format(p['snapshot_set']))
    session = base.open_session()
    rg, name = p['resource_group'], p['name']
    snap_rg = p['snapshot_resource_group'] or rg
    result = dict(changed=False, snapshots=[], snapshot_ids=[], run_id=p['snapshot_set'], snapshot_set=p['snapshot_set'])
    try:
        vm = base.read_vm_leased(rg, name, instance_view=p['state'] == 'present')
        if vm is None:
            base.fail('VM {0} not found in resource group {1}'.format(name, rg), **result)
        err = rollout.identity_error(vm, p['expected_vm_id'])
        if err:
            base.fail(err, **result)
        existing = session.list_snapshots(snap_rg)
        if p['state'] == 'absent':
            run_absent(module, session, p, vm, existing, snap_rg, result)
        else:
            run_present(module, session, p, vm, existing, snap_rg, result)
    except (snap.SnapshotError, rollout.RolloutError, prov.ProvenanceError, addon.AddonError) as exc:
        base.fail(str(exc), **result)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_snapshot {0}/{1}'.format(rg, name), exc, **result)
    base.exit(**result)


def run_present(module, session, p, vm, existing, snap_rg, result):
    plan = snap.plan_snapshots(vm, p['snapshot_set'], existing, p['incremental'], p['sku'], p['tags'])
    record = rollout.parse_record(vm.get('tags'))
    result['rollout'] = record
    add_rec = None
    if p['luns']:
        # issue 16 item 4: the add-on set - the named data disks only, refused for any disk whose encryption began
        add_rec = result['addon'] = addon.parse_record(vm.get('tags'))
        wanted = sorted(set(p['luns']))
        plan = [i for i in plan if i['disk']['role'] == 'data' and i['disk']['lun'] in wanted]
        check_reuse(vm, plan, p['snapshot_set'], record_tag=addon.TAG_IDS, set_tag=addon.TAG_SET)
        complete_reuse = len(plan) == len(wanted) and all(i['action'] == 'reuse' for i in plan) and \
            add_rec['snapshot_set'] == p['snapshot_set'] and add_rec['stage'] is not None
        if not complete_reuse:
            refusal = addon.snapshot_refusal(vm, compute_status(vm), wanted, p['guest_facts'], add_rec, p['snapshot_set'])
            if refusal:
                raise snap.SnapshotError(refusal)
    else:
        check_reuse(vm, plan, p['snapshot_set'])
    if not p['luns'] and any(item['action'] != 'reuse' for item in plan):
        refusal = rollout.snapshot_refusal(record, compute_status(vm), p['snapshot_set'], p['allow_after_encryption_start'])
        if refusal:
            raise snap.SnapshotError('refusing to snapshot {0}: {1}'.format(vm['name'], refusal))
    pollers = {}
    for item in plan:
        if item['action'] == 'create':
            if module.check_mode:
                result['changed'] = True
                continue
            try:
                pollers[item['name']] = session.begin_put_snapshot(snap_rg, item['name'], item['body'])
            except Exception as exc:  # pylint: disable=broad-except
                raise snap.SnapshotError(snapshot_failure(item, exc, vm))
            result['changed'] = True   # ARM accepted this PUT
    deadline = time.time() + p['timeout']
    waiter = Poller(p['timeout'])
    out = []
    raw = []
    for item in plan:
        if module.check_mode:
            desc = dict(name=item['name'], id=(item['existing'] or {}).get('id'), role=item['disk']['role'],
                        lun=item['disk']['lun'], source_disk_id=item['disk']['id'],
                        provisioning_state=((item['existing'] or {}).get('properties') or {}).get('provisioningState'),
                        action='would_' + item['action'])
            out.append(desc)
            continue
        if item['name'] in pollers and p['wait']:
            try:
                pollers[item['name']].result(timeout=max(deadline - time.time(), 1))
            except Exception as exc:  # pylint: disable=broad-except
                raise snap.SnapshotError(snapshot_failure(item, exc, vm))
        cur = waiter.call(lambda i=item: session.get_snapshot(snap_rg, i['name']), 'GET snapshot')
        while p['wait'] and cur is not None and \
                ((cur.get('properties') or {}).get('provisioningState') or '') not in ('Succeeded', 'Failed'):
            if not waiter.pause(5):
                raise snap.SnapshotError('timeout after {0}s waiting for snapshot {1} (state {2})'.format(
                    p['timeout'], item['name'], (cur.get('properties') or {}).get('provisioningState')))
            cur = waiter.call(lambda i=item: session.get_snapshot(snap_rg, i['name']), 'GET snapshot')
        if cur is None:
            raise snap.SnapshotError('snapshot {0} was not found after creating it'.format(item['name']))
        state = (cur.get('properties') or {}).get('provisioningState')
        if p['wait'] and state != 'Succeeded':
            raise snap.SnapshotError('snapshot {0} ended in state {1}'.format(item['name'], state))
        raw.append((prov.member_key(item['disk']['role'], item['disk']['lun']), cur))
        desc = snap.describe_snapshot(cur)
        desc['action'] = {'create': 'created', 'reuse': 'reused', 'wait': 'waited'}[item['action']]
        out.append(desc)
    result['snapshots'] = out
    result['snapshot_ids'] = [d['id'] for d in out if d.get('id')]
    complete = bool(out) and all(d.get('provisioning_state') == 'Succeeded' for d in out)
    if add_rec is not None:
        if p['record'] and complete and not module.check_mode and (
                add_rec['stage'] is None or add_rec['snapshot_set'] != p['snapshot_set']):
            record_addon(session, p, vm, raw, add_rec, result)
        return
    if p['record'] and complete and not module.check_mode and record['stage'] in (None, 'restored') \
            and not rollout.encryption_began(compute_status(vm)):
        # the set's members by ID and source disk, in the same tag write as the record (provenance.py)
        prov.check_set(raw, prov.own_disks(dict((prov.member_key(d['role'], d['lun']), d['id'])
                                                for d in snap.vm_disks(vm))), snapshot_set=p['snapshot_set'],
                       vm_name=vm['name'])
        vm['tags'] = dict(vm.get('tags') or {}, **{prov.TAG_IDS: prov.record_value(raw)})
        result['rollout'] = rollout.parse_record(write_record(
            session, p['resource_group'], p['name'], vm, 'snapshot_taken', time.time() + p['timeout'] + 60,
            snapshot_set=p['snapshot_set']))
        result['changed'] = True


def record_addon(session, p, vm, raw, add_rec, result):
    """The add-on set's members by ID and source disk, in the VM's add-on record (stage snapshot_taken); one PATCH of
    its tags. The rollout record (the pre-encryption set) is not touched."""
    own = prov.own_disks(dict((prov.member_key(d['role'], d['lun']), d['id']) for d in snap.vm_disks(vm)))
    prov.check_set(raw, own, snapshot_set=p['snapshot_set'], vm_name=vm['name'])
    tags = addon.transition(add_rec, 'snapshot_taken', snapshot_set=p['snapshot_set'], ids=prov.record_value(raw))
    full = addon.merged_tags(vm.get('tags'), tags)
    session.retry_conflicts(lambda: session.update_vm_tags(p['resource_group'], p['name'], full),
                            time.time() + p['timeout'] + 60, 'recording the add-on set', interval=5.0)
    vm['tags'] = full
    result['addon'] = addon.parse_record(full)
    result['changed'] = True


def check_reuse(vm, plan, snapshot_set, record_tag=prov.TAG_IDS, set_tag=rollout.TAG_RUN):
    """A snapshot reused (or waited for) must come from the VM's own disk by ARM's sourceResourceId (its tags are
    not trusted), and a set the VM's record pins must still be exactly the recorded one (provenance.py). The add-on
    set (``luns``) is pinned by the add-on record's tags instead."""
    own = prov.own_disks(dict((prov.member_key(d['role'], d['lun']), d['id']) for d in snap.vm_disks(vm)))
    found = [(prov.member_key(i['disk']['role'], i['disk']['lun']), i['existing']) for i in plan if i['existing']]
    prov.check_set(found, own, snapshot_set=snapshot_set, vm_name=vm['name'])
    tags = vm.get('tags') or {}
    if found and len(found) == len(plan) and tags.get(set_tag) == snapshot_set:
        record = prov.parse_value(tags.get(record_tag))
        if record is not None:
            prov.check_set(found, own, record=record, snapshot_set=snapshot_set, vm_name=vm['name'])


def snapshot_failure(item, exc, vm):
    text = error_text(exc) if hasattr(exc, 'status_code') else str(exc)
    hint = ''
    if 'not supported' in text.lower() or 'incremental' in text.lower():
        hint = (' - region {0} or this disk type does not support these snapshots: try incremental: false, '
                'another sku, or back the VM up another way (Azure Backup) before encrypting'.format(vm.get('location')))
    return 'snapshot {0} of the {1} disk {2} failed: {3}{4}'.format(
        item['name'], item['disk']['role'], item['disk']['name'], text, hint)


def run_absent(module, session, p, vm, existing, snap_rg, result):
    tagged = snap.snapshot_set(existing, vm['id'], p['snapshot_set'])
    members = own_members(vm, tagged, p['snapshot_set'])
    foreign = [s.get('name') for s in tagged if s not in members]
    if foreign:
        result['not_deleted'] = foreign
    record = rollout.parse_record(vm.get('tags'))
    result['rollout'] = record
    if members:
        times = [parse_time(snap.describe_snapshot(s).get('time_created')) for s in members]
        kept = rollout.retention_refusal(record, p['snapshot_set'], times, time.time(), p['older_than_days'],
                                         p['require_verified'])
        if kept:
            result['kept'] = kept
            result['snapshots'] = [dict(snap.describe_snapshot(s), action='kept') for s in members]
            result['snapshot_ids'] = [s.get('id') for s in members]
            return
    out = []
    pollers = []
    for s in members:
        desc = snap.describe_snapshot(s)
        desc['action'] = 'would_delete' if module.check_mode else 'deleted'
        out.append(desc)
        if not module.check_mode:
            pollers.append(session.begin_delete_snapshot(snap_rg, s['name']))
    if p['wait']:
        for poller in pollers:
            poller.result(timeout=p['timeout'])
    result['changed'] = bool(members)
    result['snapshots'] = out
    result['snapshot_ids'] = [d['id'] for d in out]


def own_members(vm, tagged, snapshot_set):
    """The snapshots a cleanup may delete: the ones the VM's record names for this set, else those taken from the
    VM's own disks (ARM's sourceResourceId) - never one that only carries the set's tags (provenance.py)."""
    tags = vm.get('tags') or {}
    record = prov.parse_value(tags.get(prov.TAG_IDS)) if tags.get(rollout.TAG_RUN) == snapshot_set else None
    if record is not None:
        disks = [dict(role='os' if k == 'os' else 'data', lun=None if k == 'os' else int(k)) for k in record[1]]
        names = set(snap.snapshot_name(vm['name'], snapshot_set, d).lower() for d in disks)
        return [s for s in tagged if (s.get('name') or '').lower() in names]
    own = set(d['id'].lower() for d in snap.vm_disks(vm))
    return [s for s in tagged if prov.source_of(s).lower() in own]


def parse_time(text):
    """Epoch seconds of an ARM timestamp (2026-11-30T06:19:28.1234567+00:00), None when unknown."""
    if not text:
        return None
    try:
        return calendar.timegm(time.strptime(str(text)[:19], '%Y-%m-%dT%H:%M:%S'))
    except ValueError:
        return None


if __name__ == '__main__':
    main()

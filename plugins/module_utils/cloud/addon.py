# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: data disks added to an ADE VM after its encryption (issue 16 item 4) - the "add-on" run.

A data disk attached to a VM whose ADE (VolumeType Data/All) succeeded carries no ADE stamp and stays plain: the
extension encrypts only when the guest agent runs it again, and the agent re-runs it only for new settings, so the
documented way is the same settings with a new ``SequenceVersion`` (azure-cli ``encrypt_vm`` sends
``uuid.uuid4()`` every call; Az PowerShell: "Generate a new sequence version every time to force run the
extension", ../shared/reference/ade-reference.md 4.1). The extension then encrypts and stamps the mounted data volumes
that are not encrypted yet and leaves the encrypted ones alone (simulator/README.md cites handle.py).

The add-on run never touches the VM's first rollout: it has its own snapshot set of the new disks only and its own
record in the VM's tags, beside the rollout record (``azure_ade_snapshot_set``/``azure_ade_snapshot_ids``), which
stays the pre-encryption set of the OS and old data disks:

  azure_ade_addon_set     the add-on snapshot set's name
  azure_ade_addon_stage   snapshot_taken | enabling (intent, before the extension PUT) | encrypting (ARM took it) |
                          encrypted (the new disks are stamped)
  azure_ade_addon_seq     the SequenceVersion of the add-on's extension PUT
  azure_ade_addon_ids     the set's members by ID and source disk (provenance.py record value, e.g. v1:<digest>:7)
  azure_ade_addon_at      UTC time of the last transition

Safety (never snapshot once encryption began): a disk is snapshotted for the add-on only when the platform shows no
ADE stamp on it AND the guest's facts show that no ADE run is going on and no dm-crypt data volume or BEK passphrase
file the platform's stamps do not account for - tags alone never prove it.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import provenance as prov
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import snapshots as snap

TAG_SET = 'azure_ade_addon_set'
TAG_STAGE = 'azure_ade_addon_stage'
TAG_SEQ = 'azure_ade_addon_seq'
TAG_IDS = 'azure_ade_addon_ids'
TAG_AT = 'azure_ade_addon_at'
TAGS = (TAG_SET, TAG_STAGE, TAG_SEQ, TAG_IDS, TAG_AT)
STAGES = ('snapshot_taken', 'enabling', 'encrypting', 'encrypted')
TRANSITIONS = {
    None: ('snapshot_taken',),
    'encrypted': ('snapshot_taken',),           # another disk added later again: a new add-on run
    'snapshot_taken': ('snapshot_taken', 'enabling'),
    'enabling': ('enabling', 'encrypting', 'encrypted'),   # enabling again: a PUT ARM did not take (new seq)
    'encrypting': ('encrypted',),
}
# What vm_encryption added_disks=true does next (``plan_enable``): the module result key ``addon_plan``.
ACTIONS = ('none', 'enable', 'wait', 'record_encrypted', 'stop')
ADE_DATA_MAPPERS = ('osencrypt', 'resourceencrypt')


class AddonError(Exception):
    pass


def parse_record(tags):
    """The add-on record from the VM's tags: dict(snapshot_set, stage, seq, ids, members ([LUN ints] or None), at).
    Raises provenance.ProvenanceError on an ids value that is not ours."""
    tags = tags or {}
    ids = tags.get(TAG_IDS) or None
    parsed = prov.parse_value(ids) if ids else None
    members = [int(k) for k in parsed[1] if k != 'os'] if parsed else None
    return dict(snapshot_set=tags.get(TAG_SET) or None, stage=tags.get(TAG_STAGE) or None, seq=tags.get(TAG_SEQ) or None,
                ids=ids, members=members, at=tags.get(TAG_AT) or None)


def safe_record(tags):
    """parse_record for a read-only report: a tag value that is not ours gives dict(stage=None, error=...)."""
    try:
        return parse_record(tags)
    except prov.ProvenanceError as exc:
        return dict(snapshot_set=None, stage=None, seq=None, ids=None, members=None, at=None, error=str(exc))


def transition(record, stage, snapshot_set=None, seq=None, ids=None, now=None):
    """The record's tags after the move to ``stage``; AddonError on a move not in TRANSITIONS (nothing sent)."""
    record = record or {}
    cur = record.get('stage')
    if cur is not None and cur not in TRANSITIONS:
        raise AddonError("the VM's add-on record has an unknown stage '{0}' (tag {1}); fix or remove the tag"
                         .format(cur, TAG_STAGE))
    if stage not in TRANSITIONS.get(cur, ()):
        raise AddonError('add-on record: no transition from stage {0} to {1}'.format(cur or '(none)', stage))
    new_run = stage == 'snapshot_taken'
    if new_run and not (snapshot_set and ids):
        raise AddonError('add-on record: stage snapshot_taken needs the set name and its recorded IDs')
    if stage == 'enabling' and not seq:
        raise AddonError('add-on record: stage enabling needs the SequenceVersion')
    return {TAG_SET: snapshot_set or record.get('snapshot_set'), TAG_STAGE: stage,
            TAG_SEQ: '' if new_run else (seq or record.get('seq') or ''),
            TAG_IDS: ids or record.get('ids'),
            TAG_AT: time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() if now is None else now))}


def merged_tags(current, record_tags):
    out = dict(current or {})
    out.update(dict((k, v) for k, v in record_tags.items() if v not in (None, '')))
    for k, v in record_tags.items():
        if v in (None, ''):
            out.pop(k, None)
    return out


def ade_data_vm(status):
    """The VM's ADE (single pass) covers data volumes: VolumeType Data/All enabled."""
    status = status or {}
    return status.get('encryption_mode') == 'single_pass' and status.get('volume_type') in ('Data', 'All') and \
        status.get('operation') in ('EnableEncryption', 'EnableEncryptionFormat', 'EnableEncryptionFormatAll')


def added_disks(vm, status):
    """The data disks of ``vm`` (snapshots.vm_disks entries) that an add-on run would encrypt: attached to an ADE
    Data/All VM whose enable succeeded, without an ADE stamp (status ``skipped_data_disks``)."""
    names = set(n.lower() for n in (status or {}).get('skipped_data_disks') or [])
    return [d for d in snap.vm_disks(vm) if d['role'] == 'data' and (d['name'] or '').lower() in names]


def _guest_crypt_data(facts):
    crypt = facts.get('crypt') or {}
    root = facts.get('root') or {}
    root_names = [(root.get(k) or '').rstrip('/').split('/')[-1] for k in ('device', 'source')]
    return [n for n in crypt.get('devices') or [] if n not in ADE_DATA_MAPPERS and n not in root_names]


def began_reasons(disk, status, guest):
    """Why the encryption of ``disk`` (a snapshots.vm_disks entry) may have begun - [] only when the platform AND the
    guest show it has not. ``guest``: the guest's azure_ade facts (guest_facts / preflight ``facts``), None when
    unknown (then it cannot be proved: refused)."""
    status = status or {}
    if disk['role'] == 'os':
        return ['it is the OS disk (encrypted with the VM; never part of an add-on set)']
    out = []
    stamped = [n.lower() for n in status.get('data_disks_stamped') or []]
    if (disk['name'] or '').lower() in stamped:
        out.append('the platform shows an ADE stamp on it (encryptionSettings)')
    if not isinstance(guest, dict) or not guest or 'crypt' not in guest:
        out.append("the guest's facts are unknown (guest_facts: azure_ade crypt/ade_state), so it cannot be proved "
                   "that the guest has not begun encrypting it")
        return out
    state = guest.get('ade_state') or {}
    if state.get('encryption_marker'):
        out.append('the guest has an ADE encryption request queued (azure_crypt_request_queue.ini): a run is going on')
    lun = disk.get('lun')
    for f in ((state.get('bek') or {}).get('passphrase_files') or []):
        name = f.get('name') or ''
        if lun is not None and name.endswith('_{0}'.format(lun)):
            out.append('the guest BEK volume holds a passphrase file for LUN {0} ({1})'.format(lun, name))
    data = _guest_crypt_data(guest)
    if len(data) > len(stamped):
        out.append('the guest has {0} dm-crypt data volume(s) ({1}) but the platform stamps only {2} data disk(s): an '
                   'unstamped disk may be on dm-crypt already'.format(len(data), ', '.join(data), len(stamped)))
    return out


def snapshot_refusal(vm, status, luns, guest, record, snapshot_set):
    """Why vm_snapshot must not take an add-on set of the data disks ``luns`` now, or None. Pure."""
    status = status or {}
    name = vm.get('name')
    record = record or {}
    if not luns:
        return 'no LUN named: an add-on set holds the data disks added later only'
    if not ade_data_vm(status) or status.get('phase') != 'succeeded':
        return ('VM {0} is not an ADE VM whose Data/All encryption succeeded (mode {1}, volume type {2}, phase {3}): an '
                'add-on set is only for disks added to such a VM; take the full pre-encryption set instead (no luns)'
                .format(name, status.get('encryption_mode'), status.get('volume_type'), status.get('phase')))
    if record.get('stage') in ('enabling', 'encrypting'):
        return ('the add-on encryption of VM {0} began (add-on stage {1}, set {2}): a snapshot now would capture disks '
                'being encrypted; restore from set {2} if needed'.format(name, record['stage'], record.get('snapshot_set')))
    if record.get('stage') == 'snapshot_taken' and record.get('snapshot_set') != snapshot_set:
        return ("VM {0}'s add-on record already names set {1} (taken before the add-on enable); use snapshot_set {1}"
                .format(name, record.get('snapshot_set')))
    by_lun = dict((d['lun'], d) for d in snap.vm_disks(vm) if d['role'] == 'data')
    problems = []
    for lun in luns:
        disk = by_lun.get(lun)
        if disk is None:
            problems.append('LUN {0}: no data disk attached there'.format(lun))
            continue
        why = began_reasons(disk, status, guest)
        if why:
            problems.append('LUN {0} ({1}): {2}'.format(lun, disk['name'], '; '.join(why)))
    if problems:
        return ('refusing to snapshot data disk(s) of {0} for an add-on set (never snapshot once encryption began): {1}'
                .format(name, ' | '.join(problems)))
    return None


def _ext_seq(status):
    return ((((status or {}).get('extension') or {}).get('settings')) or {}).get('SequenceVersion')


def plan_enable(record, status, vm):
    """What vm_encryption added_disks=true does next. Returns dict(action, reason, luns (the disks added later),
    members (the add-on set's LUNs)). Actions: none (no disk added later, nothing recorded to finish), enable (a new
    SequenceVersion with the installed settings), wait (the add-on's run is going on), record_encrypted (it succeeded:
    the new disks are stamped), stop (``reason`` says what to do; nothing sent)."""
    record = record or {}
    stage = record.get('stage')
    members = sorted(record.get('members') or [])
    disks = added_disks(vm, status)
    luns = sorted(d['lun'] for d in disks)

    def out(action, reason):
        return dict(action=action, reason=reason, luns=luns, members=members, snapshot_set=record.get('snapshot_set'))

    phase = (status or {}).get('phase')
    if stage in (None, 'encrypted'):
        if not luns:
            return out('none', 'no data disk was added after the encryption' if stage is None else
                       'the disks added later (set {0}) are encrypted; no other disk was added'.format(
                           record.get('snapshot_set')))
        return out('stop', 'data disk(s) {0} (LUN {1}) were added after the encryption and have no add-on snapshot set: '
                           'snapshot them first (vm_snapshot luns={1}, a new snapshot_set); nothing was sent'.format(
                               ', '.join(d['name'] for d in disks), ','.join(str(x) for x in luns)))
    if stage not in TRANSITIONS:
        return out('stop', "unknown add-on stage '{0}' in tag {1}; fix or remove the tag".format(stage, TAG_STAGE))
    if stage == 'snapshot_taken' or (stage == 'enabling' and _ext_seq(status) != record.get('seq')):
        if phase != 'succeeded' or not ade_data_vm(status):
            return out('stop', 'the VM is not an ADE Data/All VM whose encryption succeeded (phase {0}); the add-on '
                               'enable re-runs a finished encryption only'.format(phase))
        if luns != members:
            return out('stop', 'the disks added later are LUN {0} but the add-on set {1} holds LUN {2}: take a new '
                               'add-on set of exactly the unstamped disks'.format(
                                   ','.join(str(x) for x in luns) or '(none)', record.get('snapshot_set'),
                                   ','.join(str(x) for x in members)))
        return out('enable', 'data disk(s) LUN {0} added after the encryption, add-on set {1} taken: re-running the '
                             'installed settings with a new SequenceVersion'.format(
                                 ','.join(str(x) for x in luns), record.get('snapshot_set')))
    # enabling (ARM took the PUT: the extension runs the recorded seq) / encrypting
    if _ext_seq(status) != record.get('seq'):
        return out('stop', "the extension runs SequenceVersion {0}, not the add-on's {1}: ADE was run again outside "
                           "this add-on; check the VM (add-on set {2})".format(_ext_seq(status), record.get('seq'),
                                                                               record.get('snapshot_set')))
    if phase == 'failed':
        return out('stop', 'the add-on encryption failed ({0}); the disks of add-on set {1} (LUN {2}) are the only ones '
                           'to restore - the OS and the disks encrypted before are not part of it'.format(
                               (status or {}).get('progress_message'), record.get('snapshot_set'),
                               ','.join(str(x) for x in members)))
    if phase == 'succeeded':
        left = [x for x in members if x in luns]
        if left:
            return out('stop', 'the add-on run succeeded but LUN {0} still carries no ADE stamp (not mounted in the '
                               'guest?); mount it and take a new add-on set'.format(','.join(str(x) for x in left)))
        return out('record_encrypted', 'the disks of add-on set {0} (LUN {1}) are stamped'.format(
            record.get('snapshot_set'), ','.join(str(x) for x in members)))
    return out('wait', 'the add-on encryption (SequenceVersion {0}) is in progress'.format(record.get('seq')))


def rollout_wants_addon(record, status):
    """For rollout.plan: the VM's first rollout is finished (done) but disks were added later, or an add-on run is
    not finished: the encrypt playbook takes the add-on path."""
    stage = (record or {}).get('stage')
    if (status or {}).get('skipped_data_disks') and ade_data_vm(status):
        return True
    return stage in ('snapshot_taken', 'enabling', 'encrypting')

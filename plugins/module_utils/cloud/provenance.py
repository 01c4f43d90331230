# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: snapshots are trusted by recorded IDs and source disks, never by their tags (issue 15).

A snapshot's tags can be written by anyone with Disk Snapshot Contributor; its ``id``, ``properties.uniqueId`` and
``properties.creationData.sourceResourceId`` are set by ARM. So:

- ``vm_snapshot`` records, once every snapshot of the set succeeded, one VM tag ``azure_ade_snapshot_ids``
  (the rollout record lives in the VM's tags, written by the operator's side):
  ``v1:<digest>:<members>`` - members ``os`` and the data LUNs (``os,0,1``), digest = the first 32 hex digits of the
  SHA-256 over each member's ``key|snapshot resource ID|sourceResourceId|uniqueId`` (lower case, in member order).
  A tag value holds at most 256 characters and a resource at most 50 tags, so the IDs themselves (up to ~230
  characters each) are not stored: the member list says which snapshots the set has (their names follow from the VM
  name, the set name and the member: ``snapshots.snapshot_name``), the digest pins exactly which resources (and which
  source disks) they were. With 64 data disks the value is 221 characters.
- ``vm_restore`` (and ``vm_snapshot`` reusing a set) takes the members from the record - by name, not by tags - and
  refuses a set with a foreign member (its ``sourceResourceId`` is not the VM's own disk of that role/LUN, or the
  digest differs: a snapshot re-created under the same name), a missing member or two snapshots claiming one member.
  Without a record (a set taken before this version, or ``record: false``) the set is found by tags as before, but
  each snapshot's ``sourceResourceId`` must still be the VM's own disk and each member may appear once.

"The VM's own disk at the time of the snapshot": the disk the VM has now for that role/LUN, or - on a VM already
moved to restored disks by an interrupted restore of this set - the disk that restored disk replaced (ARM's
``sourceResourceId`` of the restored disk names the snapshot, which in turn must pass the digest).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import re

TAG_IDS = 'azure_ade_snapshot_ids'
VERSION = 'v1'
MAX_TAG_VALUE = 256
_VALUE_RE = re.compile(r'^v1:(?P<digest>[0-9a-f]{32}):(?P<members>os(?:,\d{1,2})*|\d{1,2}(?:,\d{1,2})*)$')


class ProvenanceError(Exception):
    """A snapshot set that must not be used; the message names the snapshot and what to do."""


def member_key(role, lun):
    return 'os' if role == 'os' else str(int(lun))


def _order(key):
    return (-1 if key == 'os' else int(key))


def _snap_props(s):
    return (s or {}).get('properties') or {}


def source_of(s):
    return ((_snap_props(s).get('creationData') or {}).get('sourceResourceId') or '')


def digest(members):
    """members: [(key, snapshot dict)] -> 32 hex digits."""
    h = hashlib.sha256()
    for key, s in sorted(members, key=lambda m: _order(m[0])):
        line = '|'.join([key, (s.get('id') or '').lower(), source_of(s).lower(),
                         (_snap_props(s).get('uniqueId') or '').lower()])
        h.update((line + '\n').encode('utf-8'))
    return h.hexdigest()[:32]


def record_value(members):
    """The tag value for the set's members [(key, snapshot dict)]."""
    keys = sorted(set(k for k, _s in members), key=_order)
    if len(keys) != len(members):
        raise ProvenanceError('snapshot set has two snapshots for one disk: {0}'.format(
            ', '.join(s.get('name') or '?' for _k, s in members)))
    value = '{0}:{1}:{2}'.format(VERSION, digest(members), ','.join(keys))
    if len(value) > MAX_TAG_VALUE:
        raise ProvenanceError('snapshot record {0} is longer than an Azure tag value (256)'.format(value))
    return value


def parse_value(value):
    """-> (digest, [keys]) or None when there is no record. Raises ProvenanceError on a value that is not ours."""
    if not value:
        return None
    match = _VALUE_RE.match(value.strip())
    if not match:
        raise ProvenanceError("the VM's tag {0} ('{1}') is not a snapshot record of this collection; it was changed "
                              "by hand - remove the tag only if you have verified the set yourself".format(TAG_IDS, value))
    keys = match.group('members').split(',')
    if len(set(keys)) != len(keys):
        raise ProvenanceError("the VM's tag {0} lists a disk twice ('{1}')".format(TAG_IDS, value))
    return match.group('digest'), keys


def own_disks(current, restored_by_key=None):
    """{key: set of lower-case disk IDs the VM had for that member}: the current disk, and the disk an interrupted
    restore replaced (``restored_by_key``: {key: replaced disk ID} from disks this restore made)."""
    out = {}
    for key, did in (current or {}).items():
        out.setdefault(key, set()).add((did or '').lower())
    for key, did in (restored_by_key or {}).items():
        if did:
            out.setdefault(key, set()).add(did.lower())
    return out


def check_set(members, own, expected_names=None, record=None, snapshot_set=None, vm_name=None):
    """Verify a snapshot set. ``members``: [(key, snapshot dict or None)] - from the record's names (None = not
    found) or, without a record, from tags. ``own``: see own_disks. ``expected_names``: {key: name} for messages.
    ``record``: parse_value's (digest, keys) or None. Returns None; raises ProvenanceError naming the snapshot."""
    where = 'snapshot set {0} of VM {1}'.format(snapshot_set, vm_name)
    seen = {}
    for key, s in members:
        if s is None:
            raise ProvenanceError('{0}: member {1} (snapshot {2}) is missing; the recorded set is incomplete, so it '
                                  'is not used - restore from another verified backup'.format(
                                      where, key, (expected_names or {}).get(key, '?')))
        if key in seen:
            raise ProvenanceError('{0}: snapshots {1} and {2} both claim the {3} disk (a duplicate: one was not '
                                  'taken by this set); remove the one you did not take, or verify by hand'.format(
                                      where, seen[key].get('name'), s.get('name'), _what(key)))
        seen[key] = s
        src = source_of(s).lower()
        if not src or src not in own.get(key, set()):
            raise ProvenanceError('{0}: snapshot {1} ({2}) was taken from {3}, not from the VM\'s own {4} disk ({5}): '
                                  'a foreign snapshot; it is not used - remove it, or restore by hand'.format(
                                      where, s.get('name'), s.get('id'), source_of(s) or 'no source',
                                      _what(key), ', '.join(sorted(own.get(key, set()))) or 'none'))
    if record is not None:
        want_digest, keys = record
        if sorted(seen, key=_order) != sorted(keys, key=_order):
            missing = [k for k in keys if k not in seen]
            extra = [k for k in seen if k not in keys]
            raise ProvenanceError('{0}: the set does not match the VM\'s record (tag {1}): missing {2}, not '
                                  'recorded {3}'.format(where, TAG_IDS, missing or '-', [
                                      seen[k].get('name') for k in extra] or '-'))
        if digest([(k, seen[k]) for k in keys]) != want_digest:
            names = ', '.join(seen[k].get('name') or '?' for k in keys)
            raise ProvenanceError('{0}: snapshots {1} are not the ones recorded when the set was taken (tag {2}: '
                                  'resource ID, source disk or uniqueId differ - one was deleted and made again); '
                                  'the set is not used - restore by hand from a verified backup'.format(
                                      where, names, TAG_IDS))


def _what(key):
    return 'OS' if key == 'os' else 'LUN {0} data'.format(key)


def _disk_key(disk):
    return member_key(disk['role'], disk['lun'])


def _as_member(s, key, source_tag):
    """The snapshot with its role/LUN tags set from the verified member (tags are not trusted)."""
    tags = dict(s.get('tags') or {})
    tags[source_tag[0]] = 'os' if key == 'os' else 'data'
    if key == 'os':
        tags.pop(source_tag[1], None)
    else:
        tags[source_tag[1]] = key
    out = dict(s)
    out['tags'] = tags
    return out


def select_members(vm, vm_disks, snapshot_set, snapshots, name_of, restored_disks=None, tags=('azure_ade_disk_role',
                   'azure_ade_lun', 'azure_ade_run_id', 'azure_ade_vm_id', 'azure_ade_replaces_disk_id')):
    """The verified members of ``snapshot_set`` for a restore. Pure.

    ``vm``: the VM (its tags hold the record); ``vm_disks``: snapshots.vm_disks(vm); ``snapshots``: every snapshot of
    the snapshot resource group; ``name_of(key)``: the name vm_snapshot gives the member; ``restored_disks``: disks an
    earlier, interrupted restore of this set made (their ``azure_ade_replaces_disk_id`` names the VM's own disk when
    the VM already runs on them). Returns [snapshot dict] with role/LUN tags from the verified member; raises
    ProvenanceError naming the snapshot."""
    role_tag, lun_tag, run_tag, vm_tag, replaces_tag = tags
    vm_tags = vm.get('tags') or {}
    current = dict((_disk_key(d), d['id']) for d in vm_disks)
    replaced = {}
    current_ids = dict((v.lower(), k) for k, v in current.items())
    for disk in restored_disks or []:
        key = current_ids.get((disk.get('id') or '').lower())
        if key is not None:
            replaced[key] = (disk.get('tags') or {}).get(replaces_tag)
    own = own_disks(current, replaced)
    record = None
    if vm_tags.get('azure_ade_snapshot_set') == snapshot_set:
        record = parse_value(vm_tags.get(TAG_IDS))
    if record is not None:
        by_name = dict(((s.get('name') or '').lower(), s) for s in snapshots)
        names = dict((k, name_of(k)) for k in record[1])
        members = [(k, by_name.get(names[k].lower())) for k in record[1]]
        # a snapshot tagged as a member of this set under another name is not used (and reported by the module)
        check_set(members, own, names, record, snapshot_set, vm.get('name'))
    else:
        members = []
        for s in snapshots:
            st = s.get('tags') or {}
            if st.get(run_tag) != snapshot_set or (st.get(vm_tag) or '').lower() != (vm.get('id') or '').lower():
                continue
            role = st.get(role_tag)
            try:
                key = 'os' if role == 'os' else member_key('data', st.get(lun_tag))
            except (TypeError, ValueError):
                raise ProvenanceError('snapshot set {0} of VM {1}: snapshot {2} has no valid role/LUN tags; it is not '
                                      'used'.format(snapshot_set, vm.get('name'), s.get('name')))
            members.append((key, s))
        check_set(members, own, None, None, snapshot_set, vm.get('name'))
    return [_as_member(s, k, (role_tag, lun_tag)) for k, s in members]


def ignored(snapshots, members, vm_id, snapshot_set, run_tag='azure_ade_run_id', vm_tag='azure_ade_vm_id'):
    """Names of snapshots tagged as members of the set that the verified set does not contain (planted). Pure."""
    ids = set((s.get('id') or '').lower() for s in members)
    out = []
    for s in snapshots:
        st = s.get('tags') or {}
        if st.get(run_tag) == snapshot_set and (st.get(vm_tag) or '').lower() == (vm_id or '').lower() \
                and (s.get('id') or '').lower() not in ids:
            out.append(s.get('name'))
    return out

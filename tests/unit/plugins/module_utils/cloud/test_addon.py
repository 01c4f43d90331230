# -*- coding: utf-8 -*-
"""Data disks added after the encryption (issue 16 item 4): the add-on set and its run, decided in cloud/addon.py."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import addon as A
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

SEQ, SEQ2 = 'seq-first', 'seq-addon'
IDS = 'v1:' + '0' * 32 + ':2'


def status(phase='succeeded', seq=SEQ, stamped=('vm1_data0', 'vm1_data1'), skipped=('vm1_data2',), vt='Data'):
    return dict(phase=phase, encryption_mode='single_pass', volume_type=vt, operation='EnableEncryption',
                extension={'settings': {'SequenceVersion': seq, 'EncryptionOperation': 'EnableEncryption'}},
                os_volume_encrypted='NotEncrypted', data_volumes_encrypted='Encrypted',
                data_disks_stamped=list(stamped), skipped_data_disks=list(skipped),
                skipped_data_luns=[int(n[-1]) for n in skipped], progress_message='m')


def guest(devices=('d0crypt', 'd1crypt'), marker=False, bek=()):
    return {'root': {'device': '/dev/sda1', 'source': '/dev/sda1'}, 'crypt': {'devices': list(devices)},
            'ade_state': {'encryption_marker': marker, 'bek': {'passphrase_files': [{'name': n, 'size': 32} for n in bek]}}}


VM = F.vm(data_disks=3, data_stamped=(0, 1))


def rec(stage=None, seq=None, members=True, snapshot_set='ao1'):
    tags = {}
    if stage:
        tags = {A.TAG_STAGE: stage, A.TAG_SET: snapshot_set, A.TAG_IDS: IDS if members else None}
        if seq:
            tags[A.TAG_SEQ] = seq
    return A.parse_record(tags)


def test_added_disks_are_the_unstamped_ones():
    assert [d['lun'] for d in A.added_disks(VM, status())] == [2]
    assert A.added_disks(VM, status(skipped=())) == []


def test_snapshot_only_a_disk_whose_encryption_has_not_begun():
    assert A.snapshot_refusal(VM, status(), [2], guest(), rec(), 'ao1') is None
    # stamped on the platform (the disk encrypted before)
    msg = A.snapshot_refusal(VM, status(), [1, 2], guest(), rec(), 'ao1')
    assert 'never snapshot once encryption began' in msg and 'LUN 1 (vm1_data1)' in msg and 'LUN 2' not in msg
    # the guest cannot prove it
    assert "guest's facts are unknown" in A.snapshot_refusal(VM, status(), [2], None, rec(), 'ao1')
    assert "guest's facts are unknown" in A.snapshot_refusal(VM, status(), [2], {'distribution': {}}, rec(), 'ao1')
    # the guest shows an ADE run, a passphrase file for the LUN, or one dm-crypt data volume more than stamped
    assert 'request queued' in A.snapshot_refusal(VM, status(), [2], guest(marker=True), rec(), 'ao1')
    assert 'passphrase file for LUN 2' in A.snapshot_refusal(
        VM, status(), [2], guest(bek=('LinuxPassPhraseFileName_1_2',)), rec(), 'ao1')
    assert A.snapshot_refusal(VM, status(), [2], guest(bek=('LinuxPassPhraseFileName',)), rec(), 'ao1') is None
    assert 'late' in A.snapshot_refusal(VM, status(), [2], guest(devices=('d0', 'd1', 'late')), rec(), 'ao1')
    # ADE's own mappers and the root are not data volumes
    assert A.snapshot_refusal(VM, status(), [2], guest(devices=('osencrypt', 'resourceencrypt', 'd0', 'd1')),
                              rec(), 'ao1') is None
    # the OS disk is never part of it, a missing LUN is named
    assert 'no data disk attached' in A.snapshot_refusal(VM, status(), [5], guest(), rec(), 'ao1')


def test_snapshot_refused_on_a_vm_that_is_no_finished_data_ade_vm_or_an_add_on_that_began():
    assert 'full pre-encryption set' in A.snapshot_refusal(VM, status(phase='in_progress'), [2], guest(), rec(), 'ao1')
    assert 'full pre-encryption set' in A.snapshot_refusal(VM, status(vt='OS'), [2], guest(), rec(), 'ao1')
    for stage in ('enabling', 'encrypting'):
        msg = A.snapshot_refusal(VM, status(), [2], guest(), rec(stage, SEQ2), 'ao1')
        assert 'add-on encryption of VM vm1 began' in msg
    assert 'use snapshot_set ao1' in A.snapshot_refusal(VM, status(), [2], guest(), rec('snapshot_taken'), 'ao2')
    assert 'no LUN named' in A.snapshot_refusal(VM, status(), [], guest(), rec(), 'ao1')


def test_record_transitions():
    tags = A.transition(rec(), 'snapshot_taken', snapshot_set='ao1', ids=IDS, now=0)
    assert tags[A.TAG_SET] == 'ao1' and tags[A.TAG_STAGE] == 'snapshot_taken' and tags[A.TAG_SEQ] == ''
    r = A.parse_record(A.merged_tags({'owner': 'x', A.TAG_SEQ: 'old'}, tags))
    assert r['members'] == [2] and r['seq'] is None and r['stage'] == 'snapshot_taken'
    with pytest.raises(A.AddonError):
        A.transition(rec(), 'enabling', seq=SEQ2)              # never enable without the add-on set
    with pytest.raises(A.AddonError):
        A.transition(rec('snapshot_taken'), 'enabling')        # the intent needs its SequenceVersion
    with pytest.raises(A.AddonError):
        A.transition(rec('encrypting', SEQ2), 'snapshot_taken', snapshot_set='x', ids=IDS)  # began: no new set
    assert A.transition(rec('encrypted', SEQ2), 'snapshot_taken', snapshot_set='ao2', ids=IDS)[A.TAG_SET] == 'ao2'
    assert A.safe_record({A.TAG_IDS: 'hand-made'})['error']


def test_plan_enable():
    assert A.plan_enable(rec(), status(skipped=()), VM)['action'] == 'none'
    stop = A.plan_enable(rec(), status(), VM)
    assert stop['action'] == 'stop' and 'no add-on snapshot set' in stop['reason'] and 'luns=2' in stop['reason']
    assert A.plan_enable(rec('snapshot_taken'), status(), VM)['action'] == 'enable'
    # the set holds other disks than the unstamped ones
    vm4 = F.vm(data_disks=4, data_stamped=(0, 1))
    assert 'holds LUN 2' in A.plan_enable(rec('snapshot_taken'), status(skipped=('vm1_data2', 'vm1_data3')), vm4)['reason']
    # enabling whose PUT ARM did not take: again; took it: wait / record
    assert A.plan_enable(rec('enabling', SEQ2), status(seq=SEQ), VM)['action'] == 'enable'
    assert A.plan_enable(rec('enabling', SEQ2), status('in_progress', SEQ2, skipped=()), VM)['action'] == 'wait'
    assert A.plan_enable(rec('encrypting', SEQ2), status('in_progress', SEQ2, skipped=()), VM)['action'] == 'wait'
    done = status(seq=SEQ2, stamped=('vm1_data0', 'vm1_data1', 'vm1_data2'), skipped=())
    assert A.plan_enable(rec('encrypting', SEQ2), done, VM)['action'] == 'record_encrypted'
    assert A.plan_enable(rec('encrypted', SEQ2), done, VM)['action'] == 'none'
    # still unstamped after success, failed, another seq: stop
    assert 'still carries no ADE stamp' in A.plan_enable(rec('encrypting', SEQ2), status(seq=SEQ2), VM)['reason']
    failed = A.plan_enable(rec('encrypting', SEQ2), status('failed', SEQ2, skipped=()), VM)
    assert failed['action'] == 'stop' and 'only ones to restore' in failed['reason']
    assert 'outside this add-on' in A.plan_enable(rec('encrypting', SEQ2), status(seq='x'), VM)['reason']


def test_rollout_plan_takes_the_add_on_path():
    first = R.parse_record({R.TAG_RUN: 'rv1', R.TAG_STAGE: 'verified', R.TAG_SEQ: SEQ})
    p = R.plan(first, status(), 'r-new', addon_record=rec())
    assert p['action'] == 'addon' and p['addon_set'] == 'r-new-addon' and p['addon_luns'] == [2]
    assert not p['snapshot_allowed'] and p['snapshot_set'] == 'rv1'
    # an add-on run that is not finished: resumed with its own set and members, even while the extension runs
    going = R.plan(first, status('in_progress', SEQ2, skipped=()), 'r-new', addon_record=rec('encrypting', SEQ2))
    assert going['action'] == 'addon' and going['addon_set'] == 'ao1' and going['addon_luns'] == [2]
    # done once the new disks are stamped
    done = status(seq=SEQ2, stamped=('vm1_data0', 'vm1_data1', 'vm1_data2'), skipped=())
    assert R.plan(first, done, 'r-new', addon_record=rec('encrypted', SEQ2))['action'] == 'done'
    # the first rollout's record at 'encrypting' (no restart check): the add-on's seq is not "another run"
    enc = R.parse_record({R.TAG_RUN: 'rv1', R.TAG_STAGE: 'encrypting', R.TAG_SEQ: SEQ})
    assert R.plan(enc, done, 'r-new', addon_record=rec('encrypted', SEQ2), verify=False)['action'] == 'done'
    assert R.plan(enc, done, 'r-new', addon_record=rec(), verify=False)['action'] == 'stop'
    # a failed add-on run is never a restore from the first rollout's set (that would swap the OS disk)
    failed = status('failed', SEQ2, skipped=())
    for first_rec in (first, enc):
        p = R.plan(first_rec, failed, 'r-new', addon_record=rec('encrypting', SEQ2), verify=False)
        assert p['action'] == 'addon' and p['restore_from'] is None and p['addon_set'] == 'ao1'

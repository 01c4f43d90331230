# -*- coding: utf-8 -*-
"""Stale reads right after this run's extension PUT are never taken for this run's result."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import consistency as C
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R


def st(seq='S2', code='ProvisioningState/succeeded', message='Encryption succeeded for data volumes', sub='{"os": "NotEncrypted"}',
       phase='succeeded', settings=True):
    return {'phase': phase, 'progress_message': message,
            'extension': {'settings': {'SequenceVersion': seq} if settings else {}, 'status_code': code,
                          'status': 'success', 'substatus': sub}}


def test_fingerprint_changes_with_any_part_of_the_status():
    base = C.fingerprint(st())
    assert base == C.fingerprint(st(seq='other'))            # the SequenceVersion is not part of the status
    assert base != C.fingerprint(st(message='Encryption succeeded for all volumes'))
    assert base != C.fingerprint(st(code='ProvisioningState/failed/19'))
    assert base != C.fingerprint(st(sub='{"os": "Encrypted"}'))
    assert C.fingerprint({'extension': None}) is None and C.fingerprint(None) is None


def test_stale_when_another_or_no_sequence_or_the_status_from_before_the_put():
    before = C.fingerprint(st(seq='S1'))
    assert C.is_stale(st(seq='S1'), 'S2') is True                       # the model is older than the PUT
    assert C.is_stale({'extension': None}, 'S2') is True                 # no extension yet: older than the PUT
    assert C.is_stale(st(seq='S2'), 'S2', before) is True                # new settings, previous run's status
    assert C.is_stale(st(seq='S2', message='x'), 'S2', before) is False  # this run reports
    assert C.is_stale(st(seq='S2'), 'S2', None) is False
    assert C.is_stale(st(seq='S1'), None, before) is False               # nothing expected: nothing to judge


def test_guard_holds_within_the_grace_then_gives_up_and_latches_on_a_fresh_read():
    g = C.StaleGuard(grace=10)
    before = C.fingerprint(st(seq='S1'))
    assert g.holds('vm', st(seq='S1'), 'S2', before, now=100) is True
    assert g.holds('vm', st(seq='S2'), 'S2', before, now=105) is True
    assert g.holds('vm', st(seq='S2'), 'S2', before, now=111) is False   # grace over: taken as it is
    assert g.count['vm'] == 3
    g2 = C.StaleGuard(grace=10)
    assert g2.holds('vm', st(seq='S2', message='Encrypting'), 'S2', before, now=0) is False
    # once this run was seen, a later status equal to the old one is this run's (e.g. the same final message)
    assert g2.holds('vm', st(seq='S2'), 'S2', before, now=1) is False


def test_a_listed_vm_without_settings_is_undecided():
    g = C.StaleGuard(grace=0.0)
    assert g.holds('vm', st(settings=False), 'S2', None, now=0) is False
    assert 'vm' not in g.seen_fresh and 'vm' not in g.count


def test_grace_from_the_environment():
    assert C.stale_grace({'AZURE_ADE_STALE_GRACE': '7'}) == 7.0
    assert C.stale_grace({'AZURE_ADE_STALE_GRACE': 'x'}) == C.STALE_GRACE
    assert C.stale_grace({}) == C.STALE_GRACE


def test_record_keeps_the_pre_put_digest_from_enabling_to_encrypting_only():
    r0 = R.parse_record({R.TAG_RUN: 'ade-r1', R.TAG_STAGE: 'snapshot_taken'})
    t1 = R.transition(r0, 'enabling', seq='S2', prev='abc')
    assert t1[R.TAG_PREV] == 'abc' and R.parse_record(t1)['prev'] == 'abc'
    t2 = R.transition(R.parse_record(t1), 'encrypting')
    assert t2[R.TAG_PREV] == 'abc' and t2[R.TAG_SEQ] == 'S2'
    t3 = R.transition(R.parse_record(t2), 'verified')
    assert R.TAG_PREV not in t3
    assert R.TAG_PREV not in R.transition(r0, 'enabling', seq='S2')


def test_stall_factor_scales_what_is_plausible():
    status = {'phase': 'in_progress', 'name': 'vm1', 'progress_message': 'OS disk encryption started',
              'os_volume_encrypted': 'EncryptionInProgress'}
    limit = R.plausible_seconds(status, 30, 0)
    assert R.stall_report(status, limit - 1, 30, 0) is None
    assert R.stall_report(status, limit / 10.0, 30, 0, factor=0.05)['plausible_seconds'] == int(limit * 0.05)
    assert R.stall_report(status, limit / 10.0, 30, 0, factor=0) is None      # not a positive factor: 1.0
    assert R.stall_factor({'AZURE_ADE_STALL_FACTOR': '0.5'}) == 0.5
    assert R.stall_factor({'AZURE_ADE_STALL_FACTOR': '-1'}) == 1.0
    assert R.stall_factor({'AZURE_ADE_STALL_FACTOR': 'x'}) == 1.0 and R.stall_factor({}) == 1.0

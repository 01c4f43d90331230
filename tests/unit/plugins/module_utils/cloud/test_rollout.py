# -*- coding: utf-8 -*-
"""Every transition of the per-VM rollout record, and every branch of the decisions taken from it."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R

SEQ = '11111111-aaaa-4bbb-8ccc-000000000001'
OTHER = '22222222-aaaa-4bbb-8ccc-000000000002'


def rec(stage=None, run='ade-r1', seq=None):
    if stage is None:
        return R.parse_record({})
    tags = {R.TAG_RUN: run, R.TAG_STAGE: stage}
    if seq:
        tags[R.TAG_SEQ] = seq
    return R.parse_record(tags)


def st(phase='not_started', seq=None, op='EnableEncryption', os='NotEncrypted', data='NotEncrypted', msg=None):
    if seq is None and phase == 'not_started':
        return dict(phase='not_started', operation=None, extension=None, os_volume_encrypted='NotEncrypted',
                    data_volumes_encrypted='NotEncrypted', progress_message=msg)
    return dict(phase=phase, operation=op, extension={'settings': {'SequenceVersion': seq, 'EncryptionOperation': op}},
                os_volume_encrypted=os, data_volumes_encrypted=data, progress_message=msg)


# ---- parse / tags ---------------------------------------------------------------------------------

def test_parse_empty_and_full():
    assert R.parse_record(None) == dict(snapshot_set=None, stage=None, seq=None, at=None, prev=None)
    r = R.parse_record({R.TAG_RUN: 'r', R.TAG_STAGE: 'restoring', R.TAG_SEQ: SEQ, R.TAG_AT: 't', 'owner': 'x'})
    assert r == dict(snapshot_set='r', stage='restoring', seq=SEQ, at='t', prev=None)


def test_merged_tags_keep_user_tags_and_drop_stale_record_tags():
    vm_tags = {'owner': 'team', R.TAG_SEQ: 'old', R.TAG_STAGE: 'enabling'}
    out = R.merged_tags(vm_tags, {R.TAG_RUN: 'r', R.TAG_STAGE: 'restored'})
    assert out == {'owner': 'team', R.TAG_RUN: 'r', R.TAG_STAGE: 'restored'}


# ---- transitions: every allowed one ----------------------------------------------------------------

ALLOWED = [(frm, to) for frm, tos in R.TRANSITIONS.items() for to in tos]


@pytest.mark.parametrize('frm,to', ALLOWED)
def test_allowed_transition(frm, to):
    record = rec(frm, seq=SEQ if frm in ('enabling', 'encrypting', 'verified', 'verify_failed', 'restoring') else None)
    tags = R.transition(record, to, snapshot_set='ade-r1', seq=SEQ if to == 'enabling' else None, now=0)
    assert tags[R.TAG_STAGE] == to and tags[R.TAG_RUN] == 'ade-r1' and tags[R.TAG_AT] == '1970-01-01T00:00:00Z'
    if to in ('enabling', 'encrypting', 'verified', 'verify_failed'):
        assert tags[R.TAG_SEQ] == SEQ


NOT_ALLOWED = [(frm, to) for frm in list(R.TRANSITIONS) for to in R.STAGES if to not in R.TRANSITIONS[frm]]


@pytest.mark.parametrize('frm,to', NOT_ALLOWED)
def test_refused_transition(frm, to):
    with pytest.raises(R.RolloutError, match='no transition'):
        R.transition(rec(frm, seq=SEQ), to, snapshot_set='ade-r1', seq=SEQ)


def test_every_stage_is_covered_by_the_table():
    assert set(R.STAGES) <= set(s for s in R.TRANSITIONS if s) | set(t for ts in R.TRANSITIONS.values() for t in ts)
    # No way back to snapshot_taken once the encryption began.
    for stage in R.STARTED:
        assert 'snapshot_taken' not in R.TRANSITIONS[stage]


def test_no_new_set_after_start_even_with_another_run():
    with pytest.raises(R.RolloutError):
        R.transition(rec('encrypting', seq=SEQ), 'snapshot_taken', snapshot_set='ade-r2')


def test_run_cannot_change_mid_rollout():
    with pytest.raises(R.RolloutError, match='belongs to run ade-r1'):
        R.transition(rec('snapshot_taken'), 'enabling', snapshot_set='ade-r2', seq=SEQ)


def test_new_run_after_restored_is_allowed():
    tags = R.transition(rec('restored'), 'snapshot_taken', snapshot_set='ade-r2')
    assert tags[R.TAG_RUN] == 'ade-r2' and R.TAG_SEQ not in tags


def test_enabling_needs_seq_and_run_needed():
    with pytest.raises(R.RolloutError, match='SequenceVersion'):
        R.transition(rec('snapshot_taken'), 'enabling')
    with pytest.raises(R.RolloutError, match='run ID'):
        R.transition(rec(), 'snapshot_taken')


def test_unknown_stage_refused():
    with pytest.raises(R.RolloutError, match='unknown stage'):
        R.transition(R.parse_record({R.TAG_RUN: 'r', R.TAG_STAGE: 'weird'}), 'enabling', seq=SEQ)


def test_restoring_keeps_the_seq():
    tags = R.transition(rec('encrypting', seq=SEQ), 'restoring')
    tags2 = R.transition(R.parse_record(tags), 'restored')
    assert tags2[R.TAG_SEQ] == SEQ and tags2[R.TAG_RUN] == 'ade-r1'


# ---- platform reading ------------------------------------------------------------------------------

def test_encryption_began():
    assert not R.encryption_began(st())
    assert R.encryption_began(st('in_progress', SEQ))
    assert R.encryption_began(dict(operation=None, os_volume_encrypted='Encrypted'))
    assert R.encryption_began(dict(operation=None, data_volumes_encrypted='EncryptionInProgress'))
    assert not R.encryption_began(dict(operation='DisableEncryption', os_volume_encrypted='NotEncrypted',
                                       data_volumes_encrypted='NotEncrypted'))


@pytest.mark.parametrize('stage,status,expected', [
    ('enabling', st(), 'enabling'),                               # PUT not accepted
    ('enabling', st('in_progress', SEQ), 'encrypting'),           # accepted, not recorded
    ('enabling', st('failed', SEQ), 'failed'),
    ('encrypting', st('in_progress', SEQ), 'encrypting'),
    ('encrypting', st('succeeded', SEQ), 'succeeded'),
    ('encrypting', st('failed', SEQ), 'failed'),
    ('encrypting', st('restart_pending', SEQ), 'restart_pending'),
    ('encrypting', st('failed', OTHER), 'encrypting_other_seq'),
    ('snapshot_taken', st(), 'snapshot_taken'),
    ('verified', st('succeeded', SEQ), 'verified'),
])
def test_effective_stage(stage, status, expected):
    assert R.effective_stage(rec(stage, seq=SEQ), status) == expected


# ---- plan: every branch ----------------------------------------------------------------------------

@pytest.mark.parametrize('record,status,kw,action,run_id,restore_from', [
    (rec(), st(), {}, 'start', 'ade-new', None),
    (rec(), st('succeeded', OTHER), {}, 'done', None, None),
    (rec(), st('in_progress', OTHER), {}, 'stop', None, None),
    (rec(), st('failed', OTHER), {}, 'stop', None, None),            # no pre-change set: never restore
    (rec('snapshot_taken'), st(), {}, 'resume', 'ade-r1', None),
    (rec('snapshot_taken'), st('in_progress', OTHER), {}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('enabling', seq=SEQ), st(), {}, 'resume', 'ade-r1', None),
    (rec('enabling', seq=SEQ), st('failed', OTHER), {}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('enabling', seq=SEQ), st('in_progress', SEQ), {}, 'wait', 'ade-r1', None),
    (rec('encrypting', seq=SEQ), st('in_progress', SEQ), {}, 'wait', 'ade-r1', None),
    (rec('encrypting', seq=SEQ), st('restart_pending', SEQ), {}, 'wait', 'ade-r1', None),
    (rec('encrypting', seq=SEQ), st('failed', SEQ), {}, 'restore', 'ade-r1', 'ade-r1'),
    (rec('encrypting', seq=SEQ), st('failed', OTHER), {}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('encrypting', seq=SEQ), st('succeeded', SEQ), {}, 'verify', 'ade-r1', None),
    (rec('encrypting', seq=SEQ), st('succeeded', SEQ), {'verify': False}, 'done', 'ade-r1', None),
    (rec('verified', seq=SEQ), st('succeeded', SEQ), {}, 'done', 'ade-r1', None),
    (rec('restoring', seq=SEQ), st('failed', SEQ), {}, 'restore', 'ade-r1', 'ade-r1'),
    (rec('restoring', seq=SEQ), st(), {}, 'restore', 'ade-r1', 'ade-r1'),
    (rec('restored', seq=SEQ), st(), {}, 'stop', None, 'ade-r1'),
    (rec('restored', seq=SEQ), st(), {'retry_restored': True}, 'start', 'ade-new', None),
    (rec('restored', seq=SEQ), st('failed', SEQ), {'retry_restored': True}, 'stop', None, None),
    (R.parse_record({R.TAG_RUN: 'r', R.TAG_STAGE: 'weird'}), st(), {}, 'stop', None, None),
    # issue 16: a failed restart check waits for the operator; a re-run sends no restart unless retry_verify
    (rec('verify_failed', seq=SEQ), st('succeeded', SEQ), {}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('verify_failed', seq=SEQ), st('succeeded', SEQ), {'verify': False}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('verify_failed', seq=SEQ), st('succeeded', SEQ), {'retry_restored': True}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('verify_failed', seq=SEQ), st('succeeded', SEQ), {'retry_verify': True}, 'verify', 'ade-r1', None),
    (rec('verify_failed', seq=SEQ), st('succeeded', OTHER), {'retry_verify': True}, 'stop', 'ade-r1', 'ade-r1'),
    (rec('verify_failed', seq=SEQ), st('in_progress', SEQ), {'retry_verify': True}, 'stop', 'ade-r1', 'ade-r1'),
])
def test_plan(record, status, kw, action, run_id, restore_from):
    p = R.plan(record, status, 'ade-new', **kw)
    assert (p['action'], p['snapshot_set'], p['restore_from']) == (action, run_id, restore_from), p['reason']
    assert p['reason']
    # Only start (new set) and resume from snapshot_taken may snapshot; never once the encryption began.
    assert p['snapshot_allowed'] == (action == 'start' or (action == 'resume' and record['stage'] == 'snapshot_taken'))


def test_plan_never_restores_from_a_set_other_than_the_record():
    for stage in ('enabling', 'encrypting', 'restoring'):
        p = R.plan(rec(stage, run='ade-first', seq=SEQ), st('failed', SEQ), 'ade-second')
        assert p['restore_from'] in (None, 'ade-first') and p['snapshot_set'] == 'ade-first'


# ---- outcome after a wait --------------------------------------------------------------------------

@pytest.mark.parametrize('seq,status,timed_out,expected', [
    (SEQ, st('succeeded', SEQ), False, 'encrypted'),
    (SEQ, st('failed', SEQ), False, 'restore'),
    (SEQ, st('restart_pending', SEQ), False, 'restart_pending'),
    (SEQ, st('in_progress', SEQ), True, 'timeout'),
    (SEQ, st('failed', OTHER), False, 'not_this_run'),
    (SEQ, st(), False, 'not_this_run'),
    (None, st('failed', OTHER), False, 'restore'),
])
def test_outcome_after_wait(seq, status, timed_out, expected):
    assert R.outcome_after_wait(seq, status, timed_out) == expected


# ---- vm_snapshot's refusal -------------------------------------------------------------------------

@pytest.mark.parametrize('record,status,run,allow,refused', [
    (rec(), st(), 'ade-r1', False, None),
    (rec(), st('in_progress', OTHER), 'ade-r1', False, 'ADE already began'),
    (rec(), st('in_progress', OTHER), 'ade-r1', True, None),
    (rec('snapshot_taken'), st(), 'ade-r1', False, None),
    (rec('snapshot_taken'), st(), 'ade-r2', False, 'already names snapshot set ade-r1'),
    (rec('enabling', seq=SEQ), st(), 'ade-r1', False, 'encryption of this VM began'),
    (rec('encrypting', seq=SEQ), st('in_progress', SEQ), 'ade-r2', False, 'encryption of this VM began'),
    (rec('encrypting', seq=SEQ), st('in_progress', SEQ), 'ade-r2', True, None),
    (rec('restoring', seq=SEQ), st(), 'ade-r1', False, 'encryption of this VM began'),
    (rec('restored', seq=SEQ), st(), 'ade-r2', False, None),
])
def test_snapshot_refusal(record, status, run, allow, refused):
    out = R.snapshot_refusal(record, status, run, allow)
    if refused is None:
        assert out is None
    else:
        assert refused in out


# ---- rollout stop rule -----------------------------------------------------------------------------

@pytest.mark.parametrize('outcome,changed,cont,stops', [
    ('encrypted', True, False, False),
    ('blocked', False, False, False),
    ('unreachable', False, False, False),
    ('unreachable', True, False, True),           # the guest went away after we changed it (reboot)
    ('prerequisites_failed', True, False, True),  # the role changed the guest, then failed
    ('reboot_required', False, False, True),
    ('failed_restored', True, False, True),
    ('failed_restored', True, True, False),
    ('needs_attention', False, False, False),
])
def test_stops_rollout(outcome, changed, cont, stops):
    assert R.stops_rollout(outcome, changed, cont) is stops


# ---- identity --------------------------------------------------------------------------------------

def test_identity_error():
    vm = {'id': '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
          'properties': {'vmId': 'AAAA-1'}}
    assert R.identity_error(vm, None) is None
    assert R.identity_error(vm, 'aaaa-1') is None
    msg = R.identity_error(vm, 'bbbb-2')
    assert 'bbbb-2' in msg and 'AAAA-1' in msg and 'Nothing was changed' in msg
    assert 'vmId (none)' in R.identity_error({'properties': {}}, 'x')
    # an empty expected vmId is an error, never "no check" (issue 15 item 1)
    for empty in ('', '  '):
        assert 'expected_vm_id is empty' in R.identity_error(vm, empty)


@pytest.mark.parametrize('kw,expected', [
    (dict(stage='wait', restore='ok'), 'failed_restored'),
    (dict(stage='wait', restore='failed'), 'failed_restore_failed'),
    (dict(stage='wait', restore='off'), 'failed_not_restored'),
    (dict(stage='prerequisites', reboot_required=True), 'reboot_required'),
    (dict(stage='preflight', guest_unreachable=True), 'unreachable'),
    (dict(stage='identity'), 'identity_mismatch'),
    (dict(stage='verify', replan_action='verify'), 'verify_failed'),
    (dict(stage='prerequisites'), 'prerequisites_failed'),
    (dict(stage='wait', replan_action='wait'), 'timeout'),
    (dict(stage='enable', replan_action='stop'), 'needs_attention'),
    (dict(stage='enable', replan_action='resume'), 'failed'),
])
def test_failure_outcome(kw, expected):
    assert R.failure_outcome(**kw) == expected


# ---- stalls -----------------------------------------------------------------------------------------

def test_plausible_by_phase_and_size():
    os_phase = dict(phase='in_progress', progress_message='OS disk encryption started', os_volume_encrypted='EncryptionInProgress')
    assert R.plausible_seconds(os_phase, 30, 0) == 16 * 3600
    assert R.plausible_seconds(os_phase, 30, 2048) == 16 * 3600 + 120 * 2048
    data = dict(phase='in_progress', progress_message='Encrypting 1 data volumes', data_volumes_encrypted='EncryptionInProgress')
    assert R.plausible_seconds(data, 30, 100) == 2 * 3600 + 120 * 100
    assert R.plausible_seconds(dict(phase='in_progress', progress_message='Transitioning'), 30, 0) == 2 * 3600


def test_stall_report_only_past_the_limit_and_only_in_progress():
    st = dict(name='vm1', phase='in_progress', progress_message='OS disk encryption started',
              os_volume_encrypted='EncryptionInProgress')
    assert R.stall_report(st, 15 * 3600, 30, 0) is None
    rep = R.stall_report(st, 17 * 3600, 30, 0)
    assert rep['held_seconds'] == 17 * 3600 and rep['plausible_seconds'] == 16 * 3600
    assert 'Do not reboot' in rep['message'] and 'vm1' in rep['message'] and '17.0 h' in rep['message']
    # the same hold is plausible with big data disks
    assert R.stall_report(st, 17 * 3600, 30, 1024) is None
    assert R.stall_report(dict(st, phase='failed'), 99 * 3600, 30, 0) is None


def test_disk_sizes():
    vm = {'properties': {'storageProfile': {'osDisk': {'diskSizeGB': 64}, 'dataDisks': [{'diskSizeGB': 8}, {'diskSizeGB': 100}]}}}
    assert R.disk_sizes(vm) == (64, 108)
    assert R.disk_sizes({}) == (30, 0)


def test_reasons_carry_the_first_line_of_long_messages_only():
    msg = 'Failed to encrypt OS volume with error: x\nTraceback (most recent call last):\n' + 'y' * 500
    p = R.plan(rec('encrypting', seq=SEQ), st('failed', SEQ, msg=msg), 'n')
    assert p['action'] == 'restore' and 'Traceback' not in p['reason'] and 'Failed to encrypt OS volume' in p['reason']
    p = R.plan(rec('encrypting', seq=SEQ), st('in_progress', SEQ, msg='z' * 500), 'n')
    assert p['action'] == 'wait' and len(p['reason']) < 300


# ---- restart verification ---------------------------------------------------------------------------

def _facts(root_on_crypt=True, data_on_crypt=True):
    devs = [{'name': 'sda', 'type': 'disk', 'parent': None}, {'name': 'sda1', 'type': 'part', 'parent': 'sda'},
            {'name': 'sdc', 'type': 'disk', 'parent': None}, {'name': 'sdc1', 'type': 'part', 'parent': 'sdc'}]
    if root_on_crypt:
        devs.append({'name': 'osencrypt', 'type': 'crypt', 'parent': 'sda1'})
    if data_on_crypt:
        devs.append({'name': 'resourceencrypt-data', 'type': 'crypt', 'parent': 'sdc1'})
    return {'block_devices': devs,
            'root': {'device': '/dev/mapper/osencrypt' if root_on_crypt else '/dev/sda1'},
            'crypt': {'osencrypt': False},
            'data_mounts': [{'mountpoint': '/data', 'source': '/dev/mapper/resourceencrypt-data' if data_on_crypt else '/dev/sdc1'}]}


def test_guest_unlocked():
    assert R.guest_unlocked(_facts(), 'All') == []
    assert 'root file system' in R.guest_unlocked(_facts(root_on_crypt=False), 'All')[0]
    assert R.guest_unlocked(_facts(root_on_crypt=False), 'Data') == []
    probs = R.guest_unlocked(_facts(data_on_crypt=False), 'All')
    assert len(probs) == 1 and '/data' in probs[0]
    assert R.guest_unlocked(dict(_facts(root_on_crypt=False), crypt={'osencrypt': True}), 'OS') == []
    assert 'lsblk' in R.guest_unlocked({'block_devices': None}, 'OS')[0]
    # the resource disk is encrypted by EncryptFormatAll only: a plain one passes unless the run used it
    res = dict(_facts(data_on_crypt=False), resource_disk_mountpoint='/data')
    assert R.guest_unlocked(res, 'All') == []
    assert len(R.guest_unlocked(res, 'All', format_all=True)) == 1


def test_platform_verified():
    ok = dict(phase='succeeded', os_volume_encrypted='Encrypted', data_volumes_encrypted='NotMounted')
    assert R.platform_verified(ok, 'All') == []
    assert R.platform_verified(dict(ok, os_volume_encrypted='NotEncrypted'), 'Data') == []
    assert len(R.platform_verified(dict(ok, phase='in_progress', data_volumes_encrypted='EncryptionInProgress'), 'All')) == 2


# ---- retention -------------------------------------------------------------------------------------

DAY = 86400.0


@pytest.mark.parametrize('record,times,days,require,kept', [
    (rec('verified', seq=SEQ), [0.0], None, True, None),
    (rec('encrypting', seq=SEQ), [0.0], None, True, 'kept until the VM is verified'),
    (rec('restored', seq=SEQ), [0.0], None, True, 'kept until the VM is verified'),
    (rec('encrypting', seq=SEQ), [0.0], None, False, None),
    (rec('verified', run='other', seq=SEQ), [0.0], None, True, None),      # not the record's set
    (rec('verified', seq=SEQ), [0.0, 9 * DAY], 7, True, 'younger than 7 days'),
    (rec('verified', seq=SEQ), [0.0, 2 * DAY], 7, True, None),
    (rec('verified', seq=SEQ), [None], 7, True, 'unknown age'),
])
def test_retention_refusal(record, times, days, require, kept):
    out = R.retention_refusal(record, 'ade-r1', times, 10 * DAY, days, require)
    if kept is None:
        assert out is None
    else:
        assert kept in out


# ---- stages and outcomes declared once (issue 18) ------------------------------------------------------

def test_stages_and_outcomes_are_declared_once_and_checked():
    assert R.check_stage('wait') == 'wait'
    for bad in ('waiting', 'Wait', None, ''):
        with pytest.raises(R.RolloutError, match='undeclared rollout stage'):
            R.check_stage(bad)
    assert set(R.WAVE_STAGES) <= set(R.HOST_STAGES)
    assert R.check_outcome('failed_restored') == 'failed_restored'
    with pytest.raises(R.RolloutError, match='undeclared rollout outcome'):
        R.check_outcome('restored_ok')
    assert set(R.ENCRYPTED_OUTCOMES) == {'encrypted', 'already_encrypted', 'would_encrypt', 'encrypted_added_disks'}
    assert set(R.OK_OUTCOMES) == {
        'encrypted', 'would_encrypt', 'blocked', 'not_attempted', 'already_encrypted', 'encrypted_added_disks'}


@pytest.mark.parametrize('stage', R.HOST_STAGES)
@pytest.mark.parametrize('restore', [None, 'ok', 'failed', 'off'])
@pytest.mark.parametrize('action', [None, 'wait', 'stop', 'restore'])
def test_every_failure_outcome_is_declared(stage, restore, action):
    for unreachable in (False, True):
        for reboot in (False, True):
            R.check_outcome(R.failure_outcome(stage, unreachable, reboot, action, restore))


RESTORED = {'changed': True, 'snapshot_set': 'ade-r1'}


def test_failure_report_restored():
    replan = {'action': 'restore', 'reason': 'it failed', 'restore_from': 'ade-r1'}
    rep = R.failure_report('wait', '  Encryption of vm1:\n restore  ', replan=replan, restore=RESTORED, host='h1')
    assert rep['outcome'] == 'failed_restored' and rep['restore'] == 'ok'
    assert rep['message'] == 'stage wait: Encryption of vm1: restore | it failed | restored from snapshot set ade-r1'


def test_failure_report_says_verify_failed_was_recorded():
    rep = R.failure_report('verify', 'restart check failed', replan={'action': 'verify', 'reason': 'r'},
                           verify_failed_recorded=True, host='h1')
    assert rep['message'] == ('stage verify: restart check failed | r | recorded verify_failed: a re-run sends this VM '
                              'no restart until ade_retry_verify=true')
    assert 'verify_failed' not in R.failure_report('verify', 'x', replan={'action': 'verify'})['message']


def test_failure_report_restore_failed_names_the_set_and_the_command():
    rep = R.failure_report('wait', 'x', replan={'action': 'restore', 'restore_from': 'ade-r1'},
                           restore={'failed': True, 'msg': 'boom'}, restore_error='boom', host='h1',
                           selinux_error='no answer')
    assert rep['outcome'] == 'failed_restore_failed'
    assert 'RESTORE FAILED: boom (run azure_ade.linux.restore -l h1; it restores from ade-r1' in rep['message']
    assert rep['message'].endswith('| SELinux: no answer')


def test_failure_report_restore_off_and_skipped_restore():
    rep = R.failure_report('wait', 'x', replan={'action': 'restore', 'restore_from': 'ade-r1'},
                           restore={'skipped': True}, restore_on_failure=False, host='h1')
    assert rep['outcome'] == 'failed_not_restored' and rep['restore'] == 'off'
    assert 'not restored (ade_restore_on_failure=false): run azure_ade.linux.restore -l h1' in rep['message']
    # a skipped restore is no restore
    rep = R.failure_report('wait', 'x', replan={'action': 'wait'}, restore={'skipped': True})
    assert (rep['outcome'], rep['restore']) == ('timeout', None)


def test_failure_report_other_outcomes():
    assert R.failure_report('preflight', 'x', guest_unreachable=True, replan={'action': 'unknown'})['outcome'] == 'unreachable'
    assert R.failure_report('identity', 'x')['outcome'] == 'identity_mismatch'
    assert R.failure_report('prerequisites', 'x', reboot_required=True)['outcome'] == 'reboot_required'
    assert R.failure_report('enable', 'x', replan={'action': 'stop', 'reason': 'r'})['outcome'] == 'needs_attention'
    with pytest.raises(R.RolloutError):
        R.failure_report('enabling', 'x')


PF_BLOCKED = {'blocking': ['kernel'], 'checks': [
    {'id': 'memory', 'requirement': 'R0.2', 'message': 'ok', 'fix': None},
    {'id': 'kernel', 'requirement': 'R2', 'message': 'old kernel.', 'fix': {'text': 'install linux-azure'}}]}


def test_blocked_by_the_preflight_first_for_any_action():
    for action in ('start', 'resume'):
        rep = R.blocked_report(PF_BLOCKED, {'ade_blockers': [{'id': 'x', 'message': 'y'}]}, action)
        assert rep == dict(blocked=True, by='preflight', message='[kernel (R2)] old kernel. Fix: install linux-azure',
                           warning='')


def test_azure_blockers_and_encryption_at_host_only_for_a_new_run():
    st = {'ade_blockers': [{'id': 'b1', 'message': 'm1'}, {'id': 'b2', 'message': 'm2'}]}
    assert R.blocked_report({'blocking': []}, st, 'start')['message'] == '[b1] m1; [b2] m2'
    assert not R.blocked_report({'blocking': []}, st, 'resume')['blocked']
    eah = {'retirement': {'path': 'enable_encryption_at_host', 'message': 'use EAH'}}
    rep = R.blocked_report({}, eah, 'start', 'refuse')
    assert rep['blocked'] and rep['by'] == 'azure' and rep['message'] == 'use EAH (ade_prefer_encryption_at_host=refuse)'
    rep = R.blocked_report({}, eah, 'start', 'warn')
    assert not rep['blocked'] and rep['warning'] == 'use EAH'
    assert R.blocked_report({}, eah, 'start', 'ignore') == dict(blocked=False, by=None, message='', warning='')


# ---- vm_encryption state=restarted / state=verified decisions ------------------------------------------------

def test_restart_refused_while_ade_runs():
    assert 'R4.1' in R.restart_refusal('vm1', {'phase': 'in_progress', 'progress_message': 'OS'})
    for phase in ('succeeded', 'failed', 'restart_pending', 'not_started', None):
        assert R.restart_refusal('vm1', {'phase': phase}) is None


def test_verify_failed_waits_for_the_operator():
    p = R.plan(rec('verify_failed', seq=SEQ), st('succeeded', SEQ), 'ade-new')
    assert p['outcome'] == 'verify_failed' and 'ade_retry_verify=true' in p['reason'] and 'restore' in p['reason']
    assert R.plan(rec('encrypting', seq=SEQ), st('succeeded', SEQ), 'ade-new')['outcome'] is None
    assert R.plan(rec('verify_failed', seq=SEQ), st('succeeded', SEQ), 'n', retry_verify=True)['outcome'] is None


def test_done_names_plain_data_disks():
    # issue 16 item 4: a re-run on an encrypted VM with a data disk attached later no longer calls it done silently
    plain = dict(st('succeeded', SEQ), skipped_data_disks=['vm1-late'])
    for record, kw in ((rec('verified', seq=SEQ), {}), (rec('encrypting', seq=SEQ), {'verify': False}), (rec(), {})):
        p = R.plan(record, plain, 'ade-new', **kw)
        assert p['action'] == 'done' and p['plain_data_disks'] == ['vm1-late'], p
        assert 'vm1-late are NOT encrypted' in p['reason'] and 'attached after the encryption' in p['reason']
        assert not p['snapshot_allowed']
    p = R.plan(rec('verified', seq=SEQ), st('succeeded', SEQ), 'ade-new')
    assert p['plain_data_disks'] == [] and 'NOT encrypted' not in p['reason']


def test_verify_failed_record():
    assert R.verify_failed_problems({'snapshot_set': 'ade-r1', 'stage': 'encrypting'}, 'ade-r1') == []
    assert R.verify_failed_problems({'snapshot_set': 'ade-r1', 'stage': 'verify_failed'}, 'ade-r1') == []
    for stage in ('snapshot_taken', 'enabling', 'verified', 'restoring', 'restored', None):
        assert 'is not run' in R.verify_failed_problems({'snapshot_set': 'ade-r1', 'stage': stage}, 'ade-r1')[0]
    assert R.verify_failed_problems({'snapshot_set': 'ade-r1', 'stage': 'encrypting'}, 'ade-r2')
    tags = R.transition(rec('encrypting', seq=SEQ), 'verify_failed')
    assert tags[R.TAG_STAGE] == 'verify_failed' and tags[R.TAG_SEQ] == SEQ and tags[R.TAG_RUN] == 'ade-r1'
    # no new snapshot set once verify_failed (the encryption began), a retried check may record verified
    assert 'verify_failed' in R.STARTED
    assert R.snapshot_refusal(rec('verify_failed', seq=SEQ), st('succeeded', SEQ), 'ade-r2')
    assert R.transition(rec('verify_failed', seq=SEQ), 'verified')[R.TAG_STAGE] == 'verified'


def test_verify_problems():
    ok = {'phase': 'succeeded', 'os_volume_encrypted': 'Encrypted', 'data_volumes_encrypted': 'Encrypted',
          'volume_type': 'All', 'extension': {'settings': {'SequenceVersion': SEQ}}}
    record = {'snapshot_set': 'ade-r1', 'stage': 'encrypting', 'seq': SEQ}
    assert R.verify_problems(record, ok, 'ade-r1') == []
    assert R.verify_problems(dict(record, stage='verified'), ok, 'ade-r1') == []
    assert R.verify_problems(dict(record, stage='verify_failed'), ok, 'ade-r1') == []
    assert 'is not run ade-r2' in R.verify_problems(record, ok, 'ade-r2')[0]
    assert 'is not run' in R.verify_problems(dict(record, stage='enabling'), ok, 'ade-r1')[0]
    assert "not this run's" in R.verify_problems(dict(record, seq=OTHER), ok, 'ade-r1')[0]
    probs = R.verify_problems(record, dict(ok, phase='failed', os_volume_encrypted='NotEncrypted'), 'ade-r1')
    assert len(probs) == 2

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: the per-VM rollout record (tags on the Azure VM) and the decisions taken from it.

The record lives with the VM, not with the control node, so any control node, a re-launched AWX job or
another job slice resumes where the last one stopped. Tags (all on the VM; docs/architecture.md
"Rollout record"):

  azure_ade_snapshot_set   the snapshot set (run ID) taken before anything changed on the VM
  azure_ade_rollout_stage  one of STAGES
  azure_ade_rollout_seq    SequenceVersion of this run's extension PUT (set with stage 'enabling')
  azure_ade_rollout_at     UTC time of the last transition (ISO 8601)

(vm_restore remembers the disks it swapped out on the restored disks themselves: tag azure_ade_replaces_disk_id.)

Transitions (every one unit-tested; anything else is refused by ``transition``):

  (none|restored) --snapshot_taken--> snapshot_taken      vm_snapshot, after every snapshot is Succeeded
  snapshot_taken  --enabling--------> enabling            vm_encryption, BEFORE the extension PUT (intent + seq)
  enabling        --enabling--------> enabling            a retried PUT (new seq: the earlier one was refused)
  enabling        --encrypting------> encrypting          vm_encryption, once ARM accepted the PUT
  encrypting      --verified--------> verified            post-success restart check passed
  encrypting      --verify_failed---> verify_failed       the restart check failed (issue 16): the VM waits for the
                                                          operator; a re-run sends no restart (``plan``: stop) until
                                                          asked (retry_verify, role var ade_retry_verify)
  verify_failed   --verified--------> verified            a retried restart check passed
  snapshot_taken|enabling|encrypting|verified|verify_failed --restoring--> restoring   vm_restore, before the first write
  restoring       --restoring-------> restoring           a resumed restore
  restoring       --restored--------> restored            vm_restore, once the VM runs on the restored disks

'succeeded' and 'failed' are not stored: they are read from the platform (phase) and count for this run
only when the extension's SequenceVersion equals the record's seq (see ``effective_stage``).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import addon

TAG_RUN = 'azure_ade_snapshot_set'
TAG_STAGE = 'azure_ade_rollout_stage'
TAG_SEQ = 'azure_ade_rollout_seq'
TAG_AT = 'azure_ade_rollout_at'
# Digest of the extension status read before this run's PUT (cloud/consistency.py): a later read showing the
# very same status is a stale read, not this run's result.
TAG_PREV = 'azure_ade_rollout_prev'
TAGS = (TAG_RUN, TAG_STAGE, TAG_SEQ, TAG_AT, TAG_PREV)

STAGES = ('snapshot_taken', 'enabling', 'encrypting', 'verified', 'verify_failed', 'restoring', 'restored')
# Stages after which the VM's disks may already be changed by ADE: no new snapshot set, ever.
STARTED = ('enabling', 'encrypting', 'verified', 'verify_failed', 'restoring')

TRANSITIONS = {
    None: ('snapshot_taken',),
    'restored': ('snapshot_taken',),
    'snapshot_taken': ('snapshot_taken', 'enabling', 'restoring'),
    'enabling': ('enabling', 'encrypting', 'restoring'),
    'encrypting': ('encrypting', 'verified', 'verify_failed', 'restoring'),
    'verified': ('verified', 'restoring'),
    'verify_failed': ('verify_failed', 'verified', 'restoring'),
    'restoring': ('restoring', 'restored'),
}

# ---- the encrypt rollout's host stages and outcomes, declared once ----------------------------------------
# Where a host of the encrypt rollout is (fact ``ade_stage``), in order. The stage decides which hosts join a
# wave-wide read or wait (cloud/wave.py) and which outcome a failure gets (``failure_outcome``); a stage name
# that is not declared here is an error (``check_stage``, filter ``rollout_stage``), never a silent drop.
HOST_STAGES = ('start', 'preflight', 'identity', 'plan', 'snapshot', 'prerequisites', 'enable', 'wait',
               'restore_selinux', 'verify')
# Stages at which the hosts of a wave are read / waited for with one call (cloud/wave.py).
WAVE_STAGES = ('identity', 'plan', 'wait')   # identity: the rollout role's identify.yml (its read also feeds the plan)

# Every outcome of the encrypt rollout: word -> (ended encrypted, not a failure of the rollout, meaning).
OUTCOMES = {
    'encrypted': (True, True, 'encrypted by this run (and verified after a restart unless ade_verify_restart=false)'),
    'already_encrypted': (True, True, 'nothing to do: encrypted before, or a dual-pass VM moved to single pass'),
    'encrypted_added_disks': (True, True, 'data disks added after the encryption: snapshotted alone (add-on set) and '
                                          'encrypted; the OS and the disks encrypted before untouched'),
    'would_encrypt': (True, True, 'check mode: what the run would do'),
    'blocked': (False, True, 'blocked by the preflight or an Azure-side blocker; never snapshotted nor encrypted'),
    'not_attempted': (False, True, 'the rollout stopped after a failure on another host before this one'),
    'needs_attention': (False, False, 'not this rollout\'s to touch (foreign encryption, restored VM, ...)'),
    'unreachable': (False, False, 'the guest did not answer before any change'),
    'identity_mismatch': (False, False, 'the guest is not the VM the inventory names (IMDS vmId != ARM vmId)'),
    'prerequisites_failed': (False, False, 'the preflight or a prerequisite fix failed'),
    'reboot_required': (False, False, 'a prerequisite fix needs a reboot that ade_allow_reboot does not allow'),
    'timeout': (False, False, 'the encryption still runs after ade_wait_timeout; run again to resume the wait'),
    'verify_failed': (False, False, 'encrypted, but the restart check failed; the snapshot set is kept'),
    'failed_restored': (False, False, 'this run\'s encryption failed; restored from the pre-change snapshot set'),
    'failed_restore_failed': (False, False, 'this run\'s encryption failed and the restore failed too'),
    'failed_not_restored': (False, False, 'this run\'s encryption failed; not restored (ade_restore_on_failure=false)'),
    'failed': (False, False, 'failed; see the message'),
    'in_progress': (False, False, 'the host stopped while its block ran (no outcome recorded)'),
    'no_result': (False, False, 'no outcome recorded (unreachable or failed before the first stage)'),
}
ENCRYPTED_OUTCOMES = tuple(sorted(k for k, v in OUTCOMES.items() if v[0]))


def check_stage(stage, declared=HOST_STAGES):
    """``stage`` if it is a declared stage, else RolloutError naming the declared ones."""
    if stage not in declared:
        raise RolloutError("undeclared rollout stage {0!r}: the declared stages are {1} "
                           "(plugins/module_utils/cloud/rollout.py HOST_STAGES)".format(stage, ', '.join(declared)))
    return stage


def check_outcome(outcome):
    if outcome not in OUTCOMES:
        raise RolloutError("undeclared rollout outcome {0!r}: the declared outcomes are {1} "
                           "(plugins/module_utils/cloud/rollout.py OUTCOMES)".format(outcome, ', '.join(sorted(OUTCOMES))))
    return outcome


ENABLE_OPS = ('EnableEncryption', 'EnableEncryptionFormatAll', 'EnableEncryptionFormat')
_ENCRYPTED_STATES = ('encrypted', 'encryptioninprogress', 'vmrestartpending')


class RolloutError(Exception):
    pass


def _short(text, limit=200):
    """First line of an extension message, at most ``limit`` characters (they carry whole stack traces)."""
    line = (str(text or '').strip().splitlines() or [''])[0]
    return line if len(line) <= limit else line[:limit - 3] + '...'


def parse_record(tags):
    """The record from a VM's tags (dict or None). Returns dict(snapshot_set, stage, seq, at); stage None
    when the VM carries no record. An unknown stage value is kept as is (``plan`` reports it)."""
    tags = tags or {}
    return dict(snapshot_set=tags.get(TAG_RUN) or None, stage=tags.get(TAG_STAGE) or None,
                seq=tags.get(TAG_SEQ) or None, at=tags.get(TAG_AT) or None, prev=tags.get(TAG_PREV) or None)


def now_iso(now=None):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() if now is None else now))


def transition(record, stage, snapshot_set=None, seq=None, now=None, prev=None):
    """The tags of the record after the transition to ``stage``. Raises RolloutError on a transition
    that is not in TRANSITIONS (e.g. a new snapshot set after the encryption began)."""
    cur = (record or {}).get('stage')
    if cur is not None and cur not in TRANSITIONS:
        raise RolloutError("the VM's rollout record has an unknown stage '{0}' (tag {1}); fix or remove the tag"
                           .format(cur, TAG_STAGE))
    if stage not in TRANSITIONS.get(cur, ()):
        raise RolloutError("rollout record: no transition from stage {0} to {1}".format(cur or '(none)', stage))
    run = snapshot_set or (record or {}).get('snapshot_set')
    if not run:
        raise RolloutError('rollout record: stage {0} needs a run ID'.format(stage))
    if cur not in (None, 'restored') and run != (record or {}).get('snapshot_set'):
        raise RolloutError("rollout record: the VM belongs to run {0} (stage {1}); refusing to move it to run {2}"
                           .format(record.get('snapshot_set'), cur, run))
    tags = {TAG_RUN: run, TAG_STAGE: stage, TAG_AT: now_iso(now)}
    if stage == 'enabling':
        if not seq:
            raise RolloutError('rollout record: stage enabling needs the SequenceVersion of the PUT')
        tags[TAG_SEQ] = seq
        if prev:
            tags[TAG_PREV] = prev
    elif stage in ('encrypting', 'verified', 'verify_failed', 'restoring', 'restored'):
        keep = seq or (record or {}).get('seq')
        if keep:
            tags[TAG_SEQ] = keep
        keep_prev = prev or (record or {}).get('prev')
        if keep_prev and stage == 'encrypting':
            tags[TAG_PREV] = keep_prev
    return tags


def merged_tags(vm_tags, record_tags):
    """The VM's full tag set with the record replaced (record tags not in ``record_tags`` dropped). Pure."""
    out = dict((k, v) for k, v in (vm_tags or {}).items() if k not in TAGS)
    out.update(record_tags)
    return out


def extension_seq(status):
    return (((status or {}).get('extension') or {}).get('settings') or {}).get('SequenceVersion')


def encryption_began(status):
    """The platform shows that ADE began on this VM (an enable op installed, or a volume not NotEncrypted)."""
    status = status or {}
    if status.get('operation') in ENABLE_OPS:
        return True
    for key in ('os_volume_encrypted', 'data_volumes_encrypted'):
        if (status.get(key) or '').lower() in _ENCRYPTED_STATES:
            return True
    return False


def effective_stage(record, status):
    """The stage with the platform's word added: 'succeeded' / 'failed' / 'restart_pending' when the
    extension runs this run's SequenceVersion; 'enabling' stays 'enabling' while ARM has not taken the PUT."""
    stage = (record or {}).get('stage')
    if stage in ('enabling', 'encrypting'):
        mine = record.get('seq') and extension_seq(status) == record.get('seq')
        if not mine:
            return 'enabling' if stage == 'enabling' else 'encrypting_other_seq'
        phase = (status or {}).get('phase')
        if phase in ('succeeded', 'failed', 'restart_pending'):
            return phase
        return 'encrypting'
    return stage


def plan(record, status, new_run, retry_restored=False, verify=True, retry_verify=False, addon_record=None):
    """What the encrypt playbook does next for one VM. Pure.

    Returns dict(action, snapshot_set, stage, reason, restore_from, snapshot_allowed):
      start        no record: snapshot set ``new_run``, prerequisites, preflight again, enable, wait
      resume       set taken (stage snapshot_taken, or enabling whose PUT ARM did not take): reuse the set
                   (no new snapshot), prerequisites, preflight again, enable, wait
      wait         this run's encryption is in progress: wait (no snapshot, no enable)
      restore      this run's encryption failed: restore from the set taken before the first enable
      verify       this run's encryption succeeded: restart check (when ``verify``), then done
      done         nothing to do (verified, or succeeded without verification)
      stop         never touch automatically; ``reason`` says what to do (foreign encryption, restored VM, ...)

    ``plain_data_disks``: attached data disks without an ADE stamp (status ``skipped_data_disks``); a ``done`` reason
    names them (issue 16 item 4: a re-run used to call such a VM done without a word).
    ``outcome`` (only with stop/done when the record knows better than the generic word): 'verify_failed' for a VM
    whose restart check failed in an earlier run - it waits for the operator (``retry_verify``) and a re-run sends
    it no restart (issue 16: a 4-VM rollout re-run restarted two VMs already reported verify_failed).
      addon        (issue 16 item 4) the VM is done, but data disks were added after the encryption (or an add-on run
                   is not finished, ``addon_record``: the VM's add-on record, cloud/addon.py): snapshot the new disks
                   alone and re-run the enable for them (``addon_set`` names the add-on set to take or resume)
    """
    record = record or {}
    stage = record.get('stage')
    run = record.get('snapshot_set')
    addon_record = addon_record or {}
    eff = effective_stage(record, status)

    plain = list((status or {}).get('skipped_data_disks') or [])
    plain_luns = list((status or {}).get('skipped_data_luns') or [])

    def out(action, reason, snapshot_set=None, restore_from=None, outcome=None):
        if action == 'done' and addon.rollout_wants_addon(addon_record, status):
            going = addon_record.get('stage') in ('snapshot_taken', 'enabling', 'encrypting')
            aset = addon_record.get('snapshot_set') if going else '{0}-addon'.format(new_run)
            return dict(action='addon', snapshot_set=snapshot_set, stage=stage, effective_stage=eff,
                        reason=reason + '; data disk(s) added after the encryption: add-on run {0} (snapshot the new '
                                        'disks alone, re-run the enable for them)'.format(aset),
                        restore_from=restore_from, outcome=None, plain_data_disks=plain, snapshot_allowed=False,
                        addon_set=aset, addon_luns=(addon_record.get('members') or []) if going else plain_luns)
        if action == 'done' and plain:
            reason = reason + '; ' + plain_disks_note(plain)
        return dict(action=action, snapshot_set=snapshot_set, stage=stage, effective_stage=eff, reason=reason,
                    restore_from=restore_from, outcome=outcome, plain_data_disks=plain, addon_set=None, addon_luns=[],
                    snapshot_allowed=action == 'start' or (action == 'resume' and stage == 'snapshot_taken'))

    if addon_record.get('seq') and extension_seq(status) == addon_record['seq']:
        # The extension runs the add-on's SequenceVersion (issue 16 item 4): it started from a finished first rollout,
        # and whatever the add-on's run does (even fail) is the add-on's to handle - never a restore from the first
        # rollout's pre-encryption set, which would swap the OS disk.
        return out('done', 'the first rollout of this VM finished (run {0}); the extension runs the add-on run {1}'
                   .format(run, addon_record.get('snapshot_set')), snapshot_set=run)
    if stage is None:
        if encryption_began(status):
            phase = (status or {}).get('phase')
            if phase == 'succeeded':
                return out('done', 'already encrypted outside this rollout (no rollout record); nothing to do')
            return out('stop', "ADE began on this VM outside this rollout (phase {0}, no rollout record): there is no "
                               "snapshot set taken before it, so this rollout will not snapshot, enable or restore it; "
                               "check it with azure_ade.linux.status".format(phase))
        return out('start', 'no rollout record: new run', snapshot_set=new_run)
    if stage not in TRANSITIONS:
        return out('stop', "unknown rollout stage '{0}' in tag {1}; fix or remove the tag".format(stage, TAG_STAGE))
    if stage == 'restored':
        if not retry_restored:
            return out('stop', 'restored from snapshot set {0} after a failed encryption; fix the cause, then run again '
                               'with ade_retry_restored=true for a new run'.format(run), restore_from=run)
        if encryption_began(status):
            return out('stop', 'restored, but the platform still shows ADE on this VM; check it before a new run')
        return out('start', 'restored earlier; new run as asked (ade_retry_restored)', snapshot_set=new_run)
    if stage == 'snapshot_taken':
        if encryption_began(status):
            return out('stop', 'the record says snapshot set {0} was taken, but the platform shows ADE began without '
                               'this rollout recording its enable; check the VM (restore from {0} if needed)'.format(run),
                       snapshot_set=run, restore_from=run)
        return out('resume', 'snapshot set {0} already taken; resuming (no new snapshot)'.format(run), snapshot_set=run)
    if stage == 'restoring':
        return out('restore', 'a restore from set {0} began; finishing it'.format(run), snapshot_set=run, restore_from=run)
    if stage == 'verified':
        return out('done', 'encrypted and verified after a restart (run {0})'.format(run), snapshot_set=run)
    if stage == 'verify_failed':
        return _plan_verify_failed(out, record, status, run, retry_verify)
    # enabling / encrypting
    if eff == 'enabling':
        if encryption_began(status):
            return out('stop', "ARM shows another encryption on this VM (SequenceVersion {0}, this run's {1}); "
                               "check it before going on".format(extension_seq(status), record.get('seq')),
                       snapshot_set=run, restore_from=run)
        return out('resume', 'the enable of run {0} was not accepted by ARM; enabling again (set kept)'.format(run),
                   snapshot_set=run)
    if eff == 'encrypting_other_seq':
        return out('stop', "the extension runs SequenceVersion {0}, not this run's {1}: someone re-ran ADE outside "
                           "this rollout; check it before going on (pre-change set: {2})".format(
                               extension_seq(status), record.get('seq'), run), snapshot_set=run, restore_from=run)
    if eff == 'failed':
        return out('restore', "this run's encryption failed ({0}); restoring from set {1} taken before the first enable"
                   .format(_short((status or {}).get('progress_message')), run), snapshot_set=run, restore_from=run)
    if eff == 'succeeded':
        if verify:
            return out('verify', 'encrypted (run {0}); restart check pending'.format(run), snapshot_set=run)
        return out('done', 'encrypted (run {0}); restart check off'.format(run), snapshot_set=run)
    return out('wait', "this run's encryption is in progress ({0}); waiting (no new snapshot)".format(
        _short((status or {}).get('progress_message'))), snapshot_set=run)


def plain_disks_note(disks):
    """What a re-run says about data disks of an encrypted VM that carry no ADE stamp (issue 16 item 4). Pure."""
    return ('BUT data disk(s) {0} are NOT encrypted (no ADE stamp: attached after the encryption, or not mounted '
            'when it ran); mount them in the guest and run encrypt again: it snapshots them alone (add-on set) and '
            're-runs the enable for them (a new SequenceVersion encrypts the new volumes only)'.format(', '.join(disks)))


def _plan_verify_failed(out, record, status, run, retry_verify):
    """A VM whose restart check failed in an earlier run: no restart until the operator asks (``retry_verify``)."""
    if not retry_verify:
        return out('stop', 'the restart check of run {0} failed earlier (recorded at {1}); the VM waits for you and gets '
                           'no restart from a re-run: look at its boot diagnostics serial log and the guest, then run '
                           'again with ade_retry_verify=true to repeat the restart check, or restore it from set {0} '
                           '(azure_ade.linux.restore)'.format(run, record.get('at') or '?'),
                   snapshot_set=run, restore_from=run, outcome='verify_failed')
    if extension_seq(status) != record.get('seq') or (status or {}).get('phase') != 'succeeded':
        return out('stop', "restart check retry refused: the platform no longer shows run {0}'s encryption succeeded "
                           "(SequenceVersion {1}, this run's {2}; phase {3}); check the VM before going on".format(
                               run, extension_seq(status), record.get('seq'), (status or {}).get('phase')),
                   snapshot_set=run, restore_from=run, outcome='verify_failed')
    return out('verify', 'restart check failed earlier (run {0}); repeating it as asked (ade_retry_verify)'.format(run),
               snapshot_set=run)


def verify_failed_problems(record, snapshot_set):
    """Why the VM must not be recorded ``verify_failed`` for ``snapshot_set`` (empty: record it). Pure."""
    record = record or {}
    if record.get('snapshot_set') != snapshot_set or record.get('stage') not in ('encrypting', 'verify_failed'):
        return ['its rollout record (set {0}, stage {1}) is not run {2} at stage encrypting'.format(
            record.get('snapshot_set'), record.get('stage'), snapshot_set)]
    return []


def outcome_after_wait(record_seq, status, timed_out=False):
    """After a wait: 'encrypted', 'restore' (this run failed), 'restart_pending', 'timeout', or
    'not_this_run' (the extension runs another SequenceVersion: never restore then). Pure."""
    if record_seq and extension_seq(status) != record_seq:
        return 'not_this_run'
    phase = (status or {}).get('phase')
    if phase == 'succeeded':
        return 'encrypted'
    if phase == 'failed':
        return 'restore'
    if phase == 'restart_pending':
        return 'restart_pending'
    return 'timeout' if timed_out or phase == 'in_progress' else 'not_this_run'


def snapshot_refusal(record, status, snapshot_set, allow_after_start=False):
    """Why vm_snapshot must not take a (new) set on this VM, or None. Pure.

    Reusing a complete set of the record's own run sends no write and is not refused here (the caller
    checks that nothing would be created)."""
    if allow_after_start:
        return None
    stage = (record or {}).get('stage')
    if stage in STARTED:
        return ("the encryption of this VM began (rollout stage {0}, run {1}): a snapshot now would capture disks "
                "being encrypted, and a restore from it would lose data. Restore from set {1} (taken before the first "
                "enable) if needed; set allow_after_encryption_start=true only if you know the disks are consistent"
                .format(stage, (record or {}).get('snapshot_set')))
    if encryption_began(status) and stage != 'restored':
        return ("ADE already began on this VM (operation {0}, OS {1}, data {2}): a snapshot now would capture disks "
                "being encrypted. Set allow_after_encryption_start=true only if you know the disks are consistent"
                .format(status.get('operation'), status.get('os_volume_encrypted'), status.get('data_volumes_encrypted')))
    if stage == 'snapshot_taken' and record.get('snapshot_set') and record.get('snapshot_set') != snapshot_set:
        return ("this VM's rollout record already names snapshot set {0} (taken before any change); use snapshot_set {0} "
                "(the encrypt playbook resumes it) instead of a new set {1}".format(record.get('snapshot_set'), snapshot_set))
    return None


# Outcomes of the encrypt playbook that are not a failure of the rollout (from OUTCOMES).
OK_OUTCOMES = tuple(sorted(k for k, v in OUTCOMES.items() if v[1]))


def stops_rollout(outcome, changed_anything, continue_on_failure=False):
    """Whether a host's outcome stops the next hosts and waves. Any failure after this rollout changed the guest
    or Azure (snapshot, prerequisites, enable, restore) stops it unless ``continue_on_failure``; a guest
    blocked or unreachable before any change does not. Pure."""
    if outcome in OK_OUTCOMES:
        return False
    if continue_on_failure:
        return False
    return bool(changed_anything) or outcome not in ('unreachable', 'needs_attention')


def failure_outcome(stage, guest_unreachable=False, reboot_required=False, replan_action=None, restore=None):
    """The outcome of a host whose encrypt block failed. Pure.

    stage: where it failed (preflight, identity, plan, snapshot, prerequisites, enable, wait, verify);
    replan_action: what ``plan`` says after re-reading the platform in the rescue (e.g. 'wait': still running);
    restore: None (not needed/tried), 'ok', 'failed', 'off' (needed but ade_restore_on_failure=false)."""
    if restore == 'ok':
        return 'failed_restored'
    if restore == 'failed':
        return 'failed_restore_failed'
    if restore == 'off':
        return 'failed_not_restored'
    if reboot_required:
        return 'reboot_required'
    if guest_unreachable and stage in ('preflight', 'identity', 'plan'):
        return 'unreachable'
    if stage == 'identity':
        return 'identity_mismatch'
    if stage == 'verify':
        return 'verify_failed'
    if stage in ('preflight', 'prerequisites'):
        return 'prerequisites_failed'
    if replan_action == 'wait':
        return 'timeout'
    if replan_action == 'stop':
        return 'needs_attention'
    return 'failed'


def _ran_ok(result):
    """A registered task result that ran and did not fail (Jinja: ``is succeeded and is not skipped``)."""
    return isinstance(result, dict) and bool(result) and not result.get('failed') and not result.get('skipped')


def failure_report(stage, error='', guest_unreachable=False, reboot_required=False, replan=None, restore=None,
                   restore_error=None, restore_on_failure=True, selinux_error=None, host='', verify_failed_recorded=False):
    """The outcome and message of a host whose encrypt block failed (the rescue). Pure.

    stage: the declared host stage that failed; error: the failed task's message; replan: ``plan`` after
    re-reading the platform ({'action': 'unknown'} when it could not be read); restore: the vm_restore result
    (None when it did not run); restore_error: the restore's error; selinux_error: the SELinux put-back's error;
    verify_failed_recorded: the rescue recorded the VM verify_failed (a re-run leaves it alone).
    Returns {'outcome', 'restore': None|'ok'|'failed'|'off', 'message'} (one line)."""
    check_stage(stage)
    replan = replan or {}
    if restore_error:
        restored = 'failed'
    elif _ran_ok(restore):
        restored = 'ok'
    elif replan.get('action') == 'restore' and not restore_on_failure:
        restored = 'off'
    else:
        restored = None
    outcome = check_outcome(failure_outcome(stage, bool(guest_unreachable), bool(reboot_required),
                                            replan.get('action'), restored))
    parts = ['stage {0}: {1}'.format(stage, ' '.join(str(error or '').split()))]
    if replan.get('reason'):
        parts.append(replan['reason'])
    if verify_failed_recorded:
        parts.append('recorded verify_failed: a re-run sends this VM no restart until ade_retry_verify=true')
    if restored == 'ok':
        parts.append('restored from snapshot set {0}'.format(replan.get('restore_from')))
    elif restored == 'failed':
        parts.append('RESTORE FAILED: {0} (run azure_ade.linux.restore -l {1}; it restores from {2}, the set named in '
                     'the VM record)'.format(' '.join(str(restore_error).split()), host, replan.get('restore_from')))
    elif restored == 'off':
        parts.append('not restored (ade_restore_on_failure=false): run azure_ade.linux.restore -l {0}'.format(host))
    if selinux_error:
        parts.append('SELinux: {0}'.format(' '.join(str(selinux_error).split())))
    return dict(outcome=outcome, restore=restored, message=' | '.join(parts))


def blocked_report(preflight=None, vm_status=None, action='start', prefer_encryption_at_host='warn'):
    """Whether the rollout must leave this VM untouched before its snapshot (outcome ``blocked``), and why. Pure.

    preflight: the preflight result (its ``blocking`` IDs and ``checks``); vm_status: the vm_encryption_info row
    (``ade_blockers``, ``retirement``); Azure-side blockers and ``prefer_encryption_at_host=refuse`` count for a
    new run (action ``start``) only. Returns {'blocked': bool, 'by': None|'preflight'|'azure', 'message',
    'warning': text when encryption at host would do instead (``warn``), else ''}."""
    preflight = preflight or {}
    vm_status = vm_status or {}
    retirement = vm_status.get('retirement') or {}
    eah = retirement.get('path') == 'enable_encryption_at_host'
    out = dict(blocked=False, by=None, message='', warning='')
    blocking = list(preflight.get('blocking') or [])
    if blocking:
        texts = ['[{0} ({1})] {2} Fix: {3}'.format(c.get('id'), c.get('requirement'), c.get('message'),
                                                   (c.get('fix') or {}).get('text') or '-')
                 for c in preflight.get('checks') or [] if c.get('id') in blocking]
        out.update(blocked=True, by='preflight', message='; '.join(texts) or ', '.join(blocking))
        return out
    if action != 'start':
        return out
    blockers = list(vm_status.get('ade_blockers') or [])
    if blockers:
        out.update(blocked=True, by='azure', message='; '.join(
            '[{0}] {1}'.format(b.get('id'), b.get('message')) for b in blockers))
    elif eah and prefer_encryption_at_host == 'refuse':
        out.update(blocked=True, by='azure', message='{0} (ade_prefer_encryption_at_host=refuse)'.format(
            retirement.get('message')))
    elif eah and prefer_encryption_at_host == 'warn':
        out['warning'] = retirement.get('message') or ''
    return out


# ---- hang at boot after encryption (issue 6 item 7) -------------------------------------------------
# The VM's restart succeeded at ARM but the guest never reported again: it most likely waits at boot for its
# encrypted root (the initramfs could not unlock it: BEK volume / key). Microsoft's advice for a VM that cannot
# unlock its encrypted disk at boot (troubleshoot-bitlocker-boot-error; Linux: the serial console shows the
# passphrase prompt): look at boot diagnostics, stop-deallocate and start once (the platform attaches the key
# volume again), else restore from the backup/snapshot taken before encryption (R4.3).
BOOT_HANG_ADVICE = ("Look at its boot diagnostics (serial log / screenshot: a passphrase prompt or a wait for the "
                    "root device means the encrypted volumes were not unlocked). Do not re-run the encryption. Stop "
                    "(deallocate) and start it once so that the platform attaches its key volume again; if it still "
                    "does not come back, restore it from the snapshot set taken before encryption "
                    "(ansible-playbook azure_ade.linux.restore -l <host>), which is kept")


# ---- stalls (issue 6 item 8, R4.1) ------------------------------------------------------------------
# Docs: "3 to 16 hours to finish on a stock gallery image" (about 30 GB); "If you add multiterabyte-sized data
# disks, the process might take days". So: 16 h for the OS phase of a 30 GB OS disk, plus 2 min per GB beyond;
# data volumes 2 h plus 2 min per GB; anything else (prechecks, stamping) 2 h.
OS_PLAUSIBLE_BASE = 16 * 3600
EARLY_PLAUSIBLE = 2 * 3600
SECONDS_PER_GB = 120
STALL_ADVICE = ("Do not reboot, stop or resize the VM: ADE turns SSH off while it encrypts the OS volume and a "
                "restart in the middle can leave it unbootable (R4.1). Look at the platform status (azure_ade.linux."
                "status or vm_encryption_info), the boot diagnostics serial log, and, once the guest answers, "
                "/var/log/azure/Microsoft.Azure.Security.AzureDiskEncryptionForLinux/extension.log. Keep waiting "
                "(run the encrypt playbook again: it resumes the wait) or open a support case if nothing moves.")


def plausible_seconds(status, os_gb=0, data_gb=0):
    """How long ADE may plausibly show one phase/message for these disk sizes (GB). Pure."""
    status = status or {}
    os_gb = max(0, int(os_gb or 0))
    data_gb = max(0, int(data_gb or 0))
    msg = (status.get('progress_message') or '').lower()
    if status.get('os_volume_encrypted') == 'EncryptionInProgress' or 'os disk encryption' in msg or \
            'background encrypting' in msg or status.get('transient_error'):
        return OS_PLAUSIBLE_BASE + SECONDS_PER_GB * max(0, os_gb + data_gb - 30)
    if status.get('data_volumes_encrypted') == 'EncryptionInProgress':
        return EARLY_PLAUSIBLE + SECONDS_PER_GB * data_gb
    return EARLY_PLAUSIBLE


def stall_factor(environ=None):
    """E(AZURE_ADE_STALL_FACTOR): scales what is plausible (operators with faster or slower disks; tests whose
    simulated time runs faster than the wall clock). 1.0 when unset or not a positive number."""
    import os  # pylint: disable=import-outside-toplevel
    env = os.environ if environ is None else environ
    try:
        f = float(env.get('AZURE_ADE_STALL_FACTOR', 1.0))
    except (TypeError, ValueError):
        return 1.0
    return f if f > 0 else 1.0


def stall_report(status, held_seconds, os_gb=0, data_gb=0, factor=1.0):
    """None, or {held_seconds, plausible_seconds, message} when an in-progress VM has shown the same phase and
    message for longer than its disk sizes make plausible (times ``factor``). A report, never a failure. Pure."""
    if (status or {}).get('phase') != 'in_progress':
        return None
    limit = plausible_seconds(status, os_gb, data_gb) * (factor if factor and factor > 0 else 1.0)
    if held_seconds <= limit:
        return None
    return dict(held_seconds=int(held_seconds), plausible_seconds=int(limit),
                message="{0}: no change for {1:.1f} h ('{2}'), longer than {3:.1f} h plausible for {4} GB of disks. {5}"
                .format(status.get('name'), held_seconds / 3600.0, _short(status.get('progress_message')), limit / 3600.0,
                        int(os_gb or 0) + int(data_gb or 0), STALL_ADVICE))


def disk_sizes(vm):
    """(os_gb, data_gb) from a VM model (REST shape). Pure."""
    storage = ((vm or {}).get('properties') or {}).get('storageProfile') or {}
    os_gb = int((storage.get('osDisk') or {}).get('diskSizeGB') or 30)
    data_gb = sum(int(d.get('diskSizeGB') or 0) for d in storage.get('dataDisks') or [])
    return os_gb, data_gb


def identity_error(vm, expected_vm_id):
    """Why ``vm`` is not the VM the guest says it is (IMDS vmId vs ARM vmId), or None. Pure.

    ``expected_vm_id`` None (option not given) means no check; an empty string is an error, never "no check"
    (a template that rendered a missing vmId as '' must not switch the check off)."""
    if expected_vm_id is None:
        return None
    if not str(expected_vm_id).strip():
        return ("expected_vm_id is empty: give the vmId the VM must have (the rollout role passes ARM's vmId, "
                "confirmed by the guest's IMDS), or leave the option out. Nothing was changed.")
    arm_id = ((vm or {}).get('properties') or {}).get('vmId') or ''
    if arm_id.lower() != str(expected_vm_id).lower():
        return ("identity check failed: the guest's IMDS vmId is {0} but ARM VM {1} has vmId {2}; the inventory (or "
                "the guest's IMDS answer) names another VM than the one this guest runs on. Nothing was changed. Fix "
                "azure_resource_group/azure_vm_name for this host".format(
                    expected_vm_id, (vm or {}).get('id'), arm_id or '(none)'))
    return None


# ---- restart verification (issue 6 item 7) ----------------------------------------------------------

def _on_crypt(devices, name):
    """Whether block device ``name`` (lsblk name) is a dm-crypt device or sits on one. Pure."""
    by_name = dict((d.get('name'), d) for d in devices or [])
    seen = set()
    while name and name not in seen:
        seen.add(name)
        dev = by_name.get(name)
        if dev is None:
            return False
        if dev.get('type') == 'crypt':
            return True
        name = dev.get('parent')
    return False


def _dev_name(path):
    path = path or ''
    if path.startswith('/dev/mapper/'):
        return path[len('/dev/mapper/'):]
    return path[len('/dev/'):] if path.startswith('/dev/') else path


def guest_unlocked(facts, volume_type, format_all=False):
    """After a restart: are the volumes ADE encrypted unlocked on dm-crypt? Reads azure_ade facts (guest_facts).
    The resource (temp) disk counts only with EncryptFormatAll: ADE encrypts it (resourceencrypt) in that mode only
    (handle.py enable_encryption, ade-sp-release-1.4.0.12). Returns a list of problems (empty = verified). Pure."""
    facts = facts or {}
    devices = facts.get('block_devices')
    if devices is None:
        return ['the guest facts carry no block devices (lsblk failed), so the volumes cannot be verified']
    problems = []
    if volume_type in ('OS', 'All'):
        root = (facts.get('root') or {}).get('device')
        if not ((facts.get('crypt') or {}).get('osencrypt') or _on_crypt(devices, _dev_name(root))):
            problems.append('the root file system ({0}) is not on dm-crypt after the restart'.format(root))
    if volume_type in ('Data', 'All'):
        resource = facts.get('resource_disk_mountpoint')
        for m in facts.get('data_mounts') or []:
            if resource and m.get('mountpoint') == resource and not format_all:
                continue
            if not _on_crypt(devices, _dev_name(m.get('source'))):
                problems.append('data volume {0} ({1}) is not on dm-crypt after the restart'.format(
                    m.get('mountpoint'), m.get('source')))
    return problems


def platform_verified(status, volume_type):
    """Problems with the platform's view after the restart (empty = Encrypted as asked). Pure."""
    status = status or {}
    problems = []
    if status.get('phase') != 'succeeded':
        problems.append('the platform shows phase {0} ({1})'.format(status.get('phase'), _short(status.get('progress_message'))))
    if volume_type in ('OS', 'All') and status.get('os_volume_encrypted') != 'Encrypted':
        problems.append('the platform shows the OS volume {0}'.format(status.get('os_volume_encrypted')))
    if volume_type in ('Data', 'All') and status.get('data_volumes_encrypted') not in ('Encrypted', 'NotMounted'):
        problems.append('the platform shows the data volumes {0}'.format(status.get('data_volumes_encrypted')))
    return problems


# ---- snapshot retention ------------------------------------------------------------------------------

def retention_refusal(record, snapshot_set, created_times, now, older_than_days=None, require_verified=True):
    """Why vm_snapshot state=absent must keep this set, or None. Pure.

    The set the VM's record names is kept until the VM is ``verified`` (restart check passed), unless
    ``require_verified`` is false. With ``older_than_days`` every snapshot must be older than that (``created_times``
    are epoch seconds, None when unknown: then kept)."""
    record = record or {}
    if require_verified and record.get('snapshot_set') == snapshot_set and record.get('stage') != 'verified':
        return ("set {0} is the pre-change set of this VM's rollout (stage {1}); it is kept until the VM is verified "
                "after a restart (set require_verified=false to delete it anyway)".format(snapshot_set, record.get('stage')))
    if older_than_days is not None:
        limit = now - float(older_than_days) * 86400
        young = [t for t in created_times if t is None or t > limit]
        if young:
            return 'set {0} has {1} snapshot(s) younger than {2} days (or of unknown age); kept'.format(
                snapshot_set, len(young), older_than_days)
    return None


def restart_refusal(name, status):
    """Why vm_encryption state=restarted must not restart the VM now, or None (R4.1: never restart while ADE
    is in progress; a restart in the middle can leave it unbootable). Pure."""
    if (status or {}).get('phase') == 'in_progress':
        return 'refusing to restart {0}: ADE is in progress ({1}); a restart now can leave it unbootable (R4.1)'.format(
            name, (status or {}).get('progress_message'))
    return None


def verify_problems(record, status, snapshot_set):
    """Why the VM must not be recorded ``verified`` for ``snapshot_set`` (empty: record it). The platform must show
    this run's encryption succeeded as asked, and the record must be this run at stage encrypting (or verified). Pure."""
    record = record or {}
    status = status or {}
    problems = platform_verified(status, status.get('volume_type') or 'All')
    if record.get('snapshot_set') != snapshot_set or record.get('stage') not in ('encrypting', 'verified', 'verify_failed'):
        problems.append('its rollout record (set {0}, stage {1}) is not run {2} at stage encrypting'.format(
            record.get('snapshot_set'), record.get('stage'), snapshot_set))
    elif extension_seq(status) != record.get('seq'):
        problems.append("the extension runs SequenceVersion {0}, not this run's {1}".format(
            extension_seq(status), record.get('seq')))
    return problems

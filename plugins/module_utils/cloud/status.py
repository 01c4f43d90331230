# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: a VM (model + instance view, REST shape) -> ADE status with Get-AzVMDiskEncryptionStatus
semantics plus a ``phase`` by the completion rule of ade-reference 5.6; the poll-interval policy; the
time rules a waiting loop applies on top (``apply_time_limits`` / ``StatusClock``).

Messages and their order follow the extension's source (Azure/azure-linux-extensions, branch
ade-sp-release-1.4.0.12, commit affba5a94405b9d0d59a3124ae4ab6981dfa15fc, VMEncryption/main); simulator/README.md
lists them with the source lines.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import os
import re

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.ade import (
    DISABLE_OP, ENABLE_OPS, EXTENSION_NAME, EXTENSION_TYPE, PUBLISHER, canonical_volume_type, find_ade_extension,
    find_ostc_extension, instance_view, is_dual_pass, parse_resource_id, power_state)

PHASES = ('not_started', 'in_progress', 'succeeded', 'failed', 'restart_pending')
TERMINAL = ('not_started', 'succeeded', 'failed', 'restart_pending')

# Error statuses that are a normal part of the offline OS flow (ref 5.3, 11.2).
TRANSIENT_ERRORS = (
    re.compile(r'^Restarted extension from stripped down OS', re.I),
    re.compile(r'^Attempt #\d+ to unmount /oldroot failed', re.I),
)
SUCCESS_MESSAGES = {
    'Data': ('Encryption succeeded for data volumes',),
    'OS': ('Encryption succeeded for OS volume', 'Encryption succeeded for all volumes'),
    'All': ('Encryption succeeded for all volumes',),
}
OS_PHASE = re.compile(r'^(OS disk encryption started|OS disk encryption already in progress|Background encrypting|'
                      r'Background Encrypting|Restarting vm after patching|Online Encryption initialized|'
                      r'Online encryption initialized)', re.I)
RESTART_MESSAGE = 'OS disk successfully encrypted, please reboot the VM'
BUSY_MESSAGE = 'An operation is already in progress'
# handle.py update_encryption_settings: an enable with a new vault/KEK on encrypted volumes ends with this message
UPDATED_MESSAGE = 'Encryption settings updated'
MIGRATED_MESSAGE = 'Migration Succeeded'   # handle.py perform_migration (single pass, MigrateFlag)
# Seconds a waiting loop accepts before it acts (see apply_time_limits).
TRANSIENT_ERROR_LIMIT = 1800.0
RESTART_PENDING_GRACE = 1800.0


def _status_state(status):
    """'transitioning' | 'success' | 'error' | None from an instance-view status code/level."""
    code = (status.get('code') or '').lower()
    if 'transitioning' in code:
        return 'transitioning'
    if '/failed' in code or 'error' in (status.get('level') or '').lower():
        return 'error'
    if '/succeeded' in code:
        return 'success'
    return None


def is_transient_error(message):
    return any(p.match(message or '') for p in TRANSIENT_ERRORS)


def parse_substatus(message):
    """{"os": .., "data": ..} -> (os, data); 'Unknown' for what cannot be read (as the CLI/PS do)."""
    try:
        obj = json.loads(message)
        if not isinstance(obj, dict):
            raise ValueError
    except (TypeError, ValueError):
        return 'Unknown', 'Unknown'
    return obj.get('os') or 'Unknown', obj.get('data') or 'Unknown'


def _ade_instance_extension(iv):
    for ext in iv.get('extensions') or []:
        if (ext.get('type') or '').lower().startswith(PUBLISHER.lower()) and \
                (ext.get('name') or '').lower() == EXTENSION_NAME.lower():
            return ext
    for ext in iv.get('extensions') or []:
        if (ext.get('type') or '').lower() == (PUBLISHER + '.' + EXTENSION_TYPE).lower():
            return ext
    return None


def _disk_encryption_state(disk):
    state = None
    for st in disk.get('statuses') or []:
        code = st.get('code') or ''
        if code.lower().startswith('encryptionstate/'):
            state = code.split('/', 1)[1]
    return state


def compute_status(vm):
    """The ADE status of one VM. Pure. ``vm`` is a VM GET with $expand=instanceView (REST shape)."""
    props = vm.get('properties') or {}
    iv = instance_view(vm)
    rid = parse_resource_id(vm.get('id') or '') or {}
    storage = props.get('storageProfile') or {}
    os_disk_name = (storage.get('osDisk') or {}).get('name')
    model_ext = find_ade_extension(vm)
    iv_ext = _ade_instance_extension(iv)
    dual = is_dual_pass(vm)
    if not dual and model_ext is None and iv_ext is not None:
        # VM lists carry no extension resources: fall back on the handler version of the instance view.
        dual = (iv_ext.get('typeHandlerVersion') or '').split('.')[0] == '0'
    out = dict(
        name=vm.get('name'), id=vm.get('id'), resource_group=rid.get('resource_group'),
        subscription_id=rid.get('subscription'), location=vm.get('location'),
        power_state=power_state(vm), instance_view_available=bool(iv),
        encryption_mode='none', extension=None,
        ostc_extension_present=find_ostc_extension(vm) is not None,
        os_volume_encrypted='NotEncrypted', data_volumes_encrypted='NotEncrypted',
        os_volume_encryption_settings=None, progress_message=None,
        os_disk_stamped=False, data_disks_stamped=[],
        operation=None, volume_type=None, phase='not_started', phase_reason=None, transient_error=False,
        skipped_data_disks=[], skipped_data_luns=[], warnings=[], stalled=False,
    )
    # Disks (single pass stamps them; stamped is NOT encrypted).
    for disk in iv.get('disks') or []:
        state = _disk_encryption_state(disk)
        enc = [e for e in disk.get('encryptionSettings') or [] if e]
        if disk.get('name') == os_disk_name:
            out['os_disk_stamped'] = state == 'encrypted'
            if enc:
                out['os_volume_encryption_settings'] = enc[0]
        elif state == 'encrypted':
            out['data_disks_stamped'].append(disk.get('name'))
    if dual:
        es = (storage.get('osDisk') or {}).get('encryptionSettings')
        if es:
            out['os_volume_encryption_settings'] = es

    if model_ext is None and iv_ext is None:
        out['progress_message'] = 'No Encryption extension or metadata found on the VM'
        out['phase_reason'] = 'ADE extension not installed'
        return out

    settings = (model_ext or {}).get('settings') or {}
    out['operation'] = settings.get('EncryptionOperation')
    out['volume_type'] = canonical_volume_type(settings.get('VolumeType'))
    out['encryption_mode'] = 'dual_pass' if dual else 'single_pass'
    out['extension'] = dict(
        name=(model_ext or iv_ext or {}).get('name'), publisher=PUBLISHER, type=EXTENSION_TYPE,
        type_handler_version=(model_ext or {}).get('type_handler_version'),
        handler_version=(iv_ext or {}).get('typeHandlerVersion'),
        provisioning_state=(model_ext or {}).get('provisioning_state'),
        settings=settings,
    )
    statuses = (iv_ext or {}).get('statuses') or []
    substatuses = (iv_ext or {}).get('substatuses') or []
    st0 = statuses[0] if statuses else {}
    message = st0.get('message') or st0.get('displayStatus')
    out['extension']['status_code'] = st0.get('code')
    out['extension']['display_status'] = st0.get('displayStatus')
    out['extension']['substatus'] = substatuses[0].get('message') if substatuses else None
    state = _status_state(st0) if st0 else None
    out['extension']['status'] = state

    if not statuses:
        out['progress_message'] = 'Extension status not available on the VM'
        out['os_volume_encrypted'] = 'Encrypted' if out['os_disk_stamped'] and dual else 'Unknown'
        out['data_volumes_encrypted'] = 'Unknown'
    else:
        out['progress_message'] = message
        if substatuses:
            os_s, data_s = parse_substatus(substatuses[0].get('message'))
        else:
            os_s, data_s = 'Unknown', 'Unknown'
        out['os_volume_encrypted'] = os_s
        out['data_volumes_encrypted'] = data_s

    out['phase'], out['phase_reason'], out['transient_error'] = _phase(out, state, message, model_ext)
    _skipped_data_disks(out, storage, iv)
    return out


def _skipped_data_disks(out, storage, iv):
    """Attached data disks of a VM whose Data/All enable succeeded that carry no ADE stamp (issue 16 item 4): the
    extension encrypts mounted data volumes only (substatus data NotMounted, or a disk it did not send for stamping),
    and a data disk attached after the encryption stays plain (the extension's substatus is the one of its last run,
    so it still says data Encrypted: only the per-disk stamp tells)."""
    if out['phase'] != 'succeeded' or out['encryption_mode'] != 'single_pass' or out['operation'] not in ENABLE_OPS:
        return
    if out['volume_type'] not in ('Data', 'All'):
        return
    attached = [d.get('name') for d in storage.get('dataDisks') or [] if d.get('name')]
    if not attached:
        return
    if out['data_volumes_encrypted'] == 'NotMounted':
        skipped = attached
    elif iv.get('disks'):
        skipped = [n for n in attached if n not in out['data_disks_stamped']]
    else:
        skipped = []
    if skipped:
        out['skipped_data_disks'] = skipped
        out['skipped_data_luns'] = [d.get('lun') for d in storage.get('dataDisks') or [] if d.get('name') in skipped]
        out['warnings'] = ['{0}: VolumeType {1} succeeded but attached data disk(s) {2} carry no ADE stamp (substatus '
                           'data {3}): they are NOT encrypted - attached after the encryption, or not mounted in the '
                           'guest when it ran (ADE encrypts only data volumes mounted in the guest: fstab, supported '
                           'file system); mount them and run the enable again'.format(
                               out['name'], out['volume_type'], ', '.join(skipped), out['data_volumes_encrypted'])]


def _phase(out, state, message, model_ext):
    prov = ((model_ext or {}).get('provisioning_state') or '').lower()
    op = out['operation']
    os_s, data_s = out['os_volume_encrypted'], out['data_volumes_encrypted']
    msg = message or ''
    vt = out['volume_type']
    if vt is None:
        # Settings unknown (VM read from a list, which has no extension resources): infer. For VolumeType
        # All/OS the OS volume is EncryptionInProgress (marker) while data finishes, so a data-success message
        # with the OS volume NotEncrypted and nothing in progress means VolumeType Data.
        vt = 'Data' if (msg in SUCCESS_MESSAGES['Data'] and os_s == 'NotEncrypted') else 'All'
        if msg in SUCCESS_MESSAGES['OS'][:1]:
            vt = 'OS'
    if prov == 'failed' and state != 'transitioning' and not is_transient_error(msg):
        if state != 'success':
            return 'failed', 'extension provisioning failed: {0}'.format(msg or 'no message'), False
    if state is None:
        if prov in ('creating', 'updating', ''):
            return 'in_progress', 'waiting for the extension to report status', False
        return 'in_progress', 'extension status not available yet', False
    if state == 'error':
        if is_transient_error(msg):
            return 'in_progress', 'transient error status, normal during offline OS encryption: ' + msg, True
        if msg.startswith(BUSY_MESSAGE):
            return 'in_progress', msg, False
        return 'failed', msg or 'extension reported an error', False
    if op == DISABLE_OP:
        if msg.startswith('Decryption failed'):
            return 'failed', msg, False
        if 'InProgress' in data_s or state == 'transitioning':
            return 'in_progress', msg, False
        if msg == 'Decryption succeeded' and state == 'success':
            return 'succeeded', msg, False
        # transitioning "" then "Decrypting N data volumes", "Decrypting data volume i/N: X%" (handle.py)
        return 'in_progress', msg or 'decryption starting', False
    if os_s == 'VMRestartPending' or msg.startswith(RESTART_MESSAGE):
        # HandlerUtil.do_status_report writes this while the extension's own reboot is under way (races it);
        # a waiting loop treats it as in progress for RESTART_PENDING_GRACE (apply_time_limits)
        return 'restart_pending', 'OS volume encrypted; the VM must be restarted to finish', False
    if state == 'transitioning' or 'InProgress' in os_s or 'InProgress' in data_s:
        return 'in_progress', msg, False
    migrated = state == 'success' and msg == MIGRATED_MESSAGE and \
        ((out.get('extension') or {}).get('settings') or {}).get('MigrateFlag') == 'Migrate'
    if (out['encryption_mode'] == 'dual_pass' or migrated) and state == 'success':
        # dual pass reports the secret URL as its message, a dual -> single pass migration (-Migrate) "Migration
        # Succeeded" (handle.py perform_migration): only the substatus tells completion
        want_os = vt in ('OS', 'All')
        want_data = vt in ('Data', 'All')
        if (not want_os or os_s == 'Encrypted') and (not want_data or data_s in ('Encrypted', 'NotMounted')):
            return 'succeeded', 'dual-pass: substatus os {0}, data {1}'.format(os_s, data_s), False
        return 'in_progress', msg, False
    if op in ENABLE_OPS or op is None:
        if vt == 'Data':
            ok = data_s in ('Encrypted', 'NotMounted') and msg in SUCCESS_MESSAGES['Data'] + SUCCESS_MESSAGES['All']
        elif vt == 'OS':
            ok = os_s == 'Encrypted' and msg in SUCCESS_MESSAGES['OS']
        else:
            ok = os_s == 'Encrypted' and data_s in ('Encrypted', 'NotMounted') and msg in SUCCESS_MESSAGES['All']
        if not ok and msg == UPDATED_MESSAGE and state == 'success':
            # new vault/KEK on volumes already encrypted as asked: re-stamped, nothing else to do
            ok = (vt not in ('OS', 'All') or os_s == 'Encrypted') and \
                (vt not in ('Data', 'All') or data_s in ('Encrypted', 'NotMounted'))
        if ok:
            return 'succeeded', msg, False
        return 'in_progress', msg or 'not finished', False
    return 'in_progress', msg, False


def apply_time_limits(status, held_seconds, transient_limit=TRANSIENT_ERROR_LIMIT,
                      restart_grace=RESTART_PENDING_GRACE):
    """PURE. The phase a waiting loop acts on, given how long the VM has shown this same status.

    - ``restart_pending`` (VMRestartPending, "please reboot the VM") is written while the extension's own reboot
      races it: in progress for ``restart_grace`` s, then terminal (the VM did not reboot by itself);
    - a transient error ("Restarted extension from stripped down OS", "Attempt #n to unmount /oldroot failed")
      that has not changed for ``transient_limit`` s is ``failed`` with ``stalled`` (the agent did not come back in
      the stripped-down OS), instead of waiting for the overall timeout.
    Returns a new dict; the input is not changed.
    """
    out = dict(status)
    held = max(0.0, float(held_seconds or 0.0))
    if status.get('phase') == 'restart_pending':
        if held < restart_grace:
            out['phase'] = 'in_progress'
            out['phase_reason'] = ('VMRestartPending: OS volume encrypted, the extension reboots the VM itself '
                                   '(waiting up to {0:.0f}s, {1:.0f}s so far)'.format(restart_grace, held))
        else:
            out['phase_reason'] = ('VMRestartPending for {0:.0f}s: the VM did not reboot by itself; restart it '
                                   '(az vm restart) and check the status again'.format(held))
    elif status.get('phase') == 'in_progress' and status.get('transient_error') and held >= transient_limit:
        out['phase'] = 'failed'
        out['stalled'] = True
        out['phase_reason'] = ("transient error '{0}' has not cleared for {1:.0f}s (limit {2:.0f}s): the VM agent "
                               "did not restart in the stripped-down OS (or /oldroot stays busy). Check the serial "
                               "console / boot diagnostics; restore the VM from the snapshot taken before "
                               "encryption".format((status.get('progress_message') or '')[:200], held,
                                                   transient_limit))
    return out


def _env_seconds(name, default, environ=None):
    try:
        return float((environ if environ is not None else os.environ).get(name, default))
    except (TypeError, ValueError):
        return float(default)


class StatusClock(object):
    """Remembers since when each VM shows its current status (phase, message, substatus) during one wait, and
    applies ``apply_time_limits``. ``now`` is passed in (pure apart from this memory). The limits default to
    E(AZURE_ADE_TRANSIENT_ERROR_LIMIT) / E(AZURE_ADE_RESTART_PENDING_GRACE) seconds when set (tests, operators),
    else TRANSIENT_ERROR_LIMIT / RESTART_PENDING_GRACE."""

    def __init__(self, transient_limit=None, restart_grace=None, environ=None):
        self.transient_limit = transient_limit if transient_limit is not None else _env_seconds(
            'AZURE_ADE_TRANSIENT_ERROR_LIMIT', TRANSIENT_ERROR_LIMIT, environ)
        self.restart_grace = restart_grace if restart_grace is not None else _env_seconds(
            'AZURE_ADE_RESTART_PENDING_GRACE', RESTART_PENDING_GRACE, environ)
        self._seen = {}

    def held(self, key, status, now):
        sig = (status.get('phase'), status.get('progress_message'), status.get('os_volume_encrypted'),
               status.get('data_volumes_encrypted'))
        prev = self._seen.get(key)
        if prev is None or prev[0] != sig:
            self._seen[key] = (sig, now)
            return 0.0
        return now - prev[1]

    def apply(self, key, status, now):
        return apply_time_limits(status, self.held(key, status, now), self.transient_limit, self.restart_grace)


def os_phase_running(status):
    msg = status.get('progress_message') or ''
    return bool(OS_PHASE.match(msg)) or status.get('os_volume_encrypted') == 'EncryptionInProgress' or \
        status.get('transient_error')


def next_poll_interval(status, base, retry_after=0.0, maximum=900.0, remaining_reads=None, reads_per_poll=0):
    """Seconds until the next look at this VM (adaptive by phase, never below Retry-After). Pure.

    - terminal phase: 0 (stop);
    - not yet reporting / stamping (first minutes): base;
    - data volumes encrypting: 2 x base;
    - OS volume encrypting (hours, SSH off; transient errors included): 10 x base;
    capped at ``maximum`` but never below ``retry_after``; when ARM says fewer reads remain
    (x-ms-ratelimit-remaining-subscription-reads) than two polls need, at least 60 s.
    """
    phase = status.get('phase')
    if phase in TERMINAL:
        return 0.0
    if os_phase_running(status):
        interval = base * 10
    elif status.get('data_volumes_encrypted') in ('EncryptionInProgress', 'DecryptionInProgress'):
        interval = base * 2
    else:
        interval = base
    interval = min(interval, maximum)
    if remaining_reads is not None and reads_per_poll and remaining_reads < 2 * reads_per_poll:
        interval = max(interval, 60.0)
    return max(interval, retry_after or 0.0)


def summarise(statuses):
    out = dict((p, 0) for p in PHASES)
    for st in statuses:
        out[st['phase']] = out.get(st['phase'], 0) + 1
    out['total'] = len(statuses)
    return out

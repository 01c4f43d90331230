# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Key rotation guard (issue 16 item 3). Pure.

An enable on a VM whose volumes ADE already encrypted, with another vault or another KEK (or a KEK added/removed),
is not a first encryption but a rotation: the extension re-stamps the disks with new settings (handle.py
update_encryption_settings, "Encryption settings updated") and writes a new secret. On current Ubuntu guests that
re-run is known to fail in handle.py and leave /mnt/azure_bek_disk empty, so the next boot cannot unlock
(Azure/azure-linux-extensions issue 2035, open: Ubuntu 24.04.2, also seen on 22.04.5). So a rotation is refused
unless asked for (vm_encryption rotate=true), before anything is written.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import hashlib
import time

ENCRYPTED_STATES = ('Encrypted', 'EncryptionInProgress', 'VMRestartPending')
# issue 2035 class: distro/version prefixes where a re-run of enable with new key settings emptied the BEK volume
AFFECTED_DISTROS = (('ubuntu', '22.04.5'), ('ubuntu', '24.04'))


def _norm(value):
    return (value or '').strip().rstrip('/').lower() or None


def current_keys(status):
    """(vault_id, kek_url) the VM's volumes are stamped with now, from a vm_encryption_info/compute_status row: the OS
    disk's settings, else the installed extension's settings (data-only VMs). (None, None) when none."""
    es = status.get('os_volume_encryption_settings') or {}
    dek = es.get('diskEncryptionKey') or {}
    vault = (dek.get('sourceVault') or {}).get('id')
    kek = (es.get('keyEncryptionKey') or {}).get('keyUrl')
    if vault:
        return vault, kek
    settings = ((status.get('extension') or {}).get('settings')) or {}
    return settings.get('KeyVaultResourceId') or None, settings.get('KeyEncryptionKeyURL') or None


def is_encrypted(status):
    return (status.get('os_volume_encrypted') in ENCRYPTED_STATES
            or status.get('data_volumes_encrypted') in ENCRYPTED_STATES
            or bool(status.get('os_disk_stamped')) or bool(status.get('data_disks_stamped')))


def detect(status, vault_id, kek_url):
    """None when the request is not a rotation, else dict(from_vault, to_vault, from_kek, to_kek, changes [..])."""
    if not is_encrypted(status):
        return None
    cur_vault, cur_kek = current_keys(status)
    if not cur_vault:
        return None
    changes = []
    if _norm(cur_vault) != _norm(vault_id):
        changes.append('vault')
    if _norm(cur_kek) != _norm(kek_url):
        changes.append('kek')
    if not changes:
        return None
    return dict(from_vault=cur_vault, to_vault=vault_id, from_kek=cur_kek, to_kek=kek_url, changes=changes)


def refusal(vm_name, rot):
    """The error text for a rotation not asked for (nothing written)."""
    what = ' and '.join({'vault': 'key vault', 'kek': 'key encryption key'}[c] for c in rot['changes'])
    return ("VM {0} is already encrypted with vault {1}{2}; the request names another {3} ({4}{5}): that is a key "
            "rotation, not an encryption. Refusing (nothing written). A rotation re-stamps every disk and writes a new "
            "secret; on Ubuntu 22.04.5/24.04 it can leave the BEK volume empty so the next boot cannot unlock "
            "(Azure/azure-linux-extensions issue 2035). Take a snapshot set first, then set rotate=true "
            "to rotate on purpose.").format(
                vm_name, rot['from_vault'], ' and KEK ' + rot['from_kek'] if rot['from_kek'] else '', what,
                rot['to_vault'], ', KEK ' + rot['to_kek'] if rot['to_kek'] else ', no KEK')


def affected_distro(distro, version):
    """True for the guests of the issue-2035 class (rotation must prove the BEK volume still holds a passphrase file
    before any reboot)."""
    d, v = (distro or '').lower(), (version or '')
    return any(d.startswith(ad) and v.startswith(av) for ad, av in AFFECTED_DISTROS)


# ---- the rotation as a guarded rollout (issue 16 item 3): its record, plan, reboot guard and proof --------------
#
# Record (VM tags, beside the encrypt rollout's record which a rotation never touches):
#   azure_ade_rotate_stage   rotating (intent, written before the extension PUT, with its SequenceVersion) |
#                            verified (the cold-start proof passed with the new keys)
#   azure_ade_rotate_seq     SequenceVersion of the rotation's extension PUT
#   azure_ade_rotate_to      digest of the target keys (vault ID + KEK URL, case-insensitive)
#   azure_ade_rotate_old     the secret URL the VM was stamped with before the rotation (kept until the proof passed)
#   azure_ade_rotate_at      UTC time of the last transition
# Transitions: (none|verified) -> rotating; rotating -> rotating (a PUT ARM did not take: new seq) | verified.

TAG_STAGE = 'azure_ade_rotate_stage'
TAG_SEQ = 'azure_ade_rotate_seq'
TAG_TO = 'azure_ade_rotate_to'
TAG_OLD = 'azure_ade_rotate_old'
TAG_AT = 'azure_ade_rotate_at'
RECORD_TAGS = (TAG_STAGE, TAG_SEQ, TAG_TO, TAG_OLD, TAG_AT)
RECORD_STAGES = ('rotating', 'verified')
RECORD_TRANSITIONS = {None: ('rotating',), 'verified': ('rotating',), 'rotating': ('rotating', 'verified')}
# What the rotate playbook does next (``plan``): the module result key ``rotation_plan``.
ACTIONS = ('start', 'resume', 'wait', 'verify', 'done', 'stop')
DEFAULT_PASSPHRASE_FILE = 'LinuxPassPhraseFileName'   # VMEncryption Common.py / EncryptionEnvironment default


class RotationError(Exception):
    pass


def target_digest(vault_id, kek_url):
    """16 hex digits naming the target keys (vault ID + KEK URL; case and trailing slashes ignored)."""
    text = '{0}|{1}'.format(_norm(vault_id) or '', _norm(kek_url) or '')
    return hashlib.sha256(text.encode('utf-8')).hexdigest()[:16]


def parse_record(tags):
    tags = tags or {}
    return dict(stage=tags.get(TAG_STAGE) or None, seq=tags.get(TAG_SEQ) or None, to=tags.get(TAG_TO) or None,
                old=tags.get(TAG_OLD) or None, at=tags.get(TAG_AT) or None)


def transition(record, stage, seq=None, to=None, old=None, now=None):
    """The rotation record's tags after the move to ``stage``; RotationError on a move not in RECORD_TRANSITIONS."""
    record = record or {}
    cur = record.get('stage')
    if cur is not None and cur not in RECORD_TRANSITIONS:
        raise RotationError("the VM's rotation record has an unknown stage '{0}' (tag {1}); fix or remove the tag"
                            .format(cur, TAG_STAGE))
    if stage not in RECORD_TRANSITIONS.get(cur, ()):
        raise RotationError('rotation record: no transition from stage {0} to {1}'.format(cur or '(none)', stage))
    if stage == 'rotating' and not (seq and to):
        raise RotationError('rotation record: stage rotating needs the SequenceVersion and the target keys')
    if stage == 'verified' and cur == 'rotating' and to and to != record.get('to'):
        raise RotationError('rotation record: the VM is rotating to other keys ({0}), not {1}'.format(record.get('to'), to))
    keep_old = record.get('old') if cur == 'rotating' else None
    tags = {TAG_STAGE: stage, TAG_SEQ: seq or record.get('seq'), TAG_TO: to or record.get('to'),
            TAG_AT: time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() if now is None else now))}
    if old or keep_old:
        tags[TAG_OLD] = old or keep_old
    return dict((k, v) for k, v in tags.items() if v)


def merged_tags(vm_tags, record_tags):
    out = dict((k, v) for k, v in (vm_tags or {}).items() if k not in RECORD_TAGS)
    out.update(record_tags)
    return out


def current_secrets(status):
    """Secret URLs the VM's disks are stamped with now (OS disk first), from a compute_status row."""
    es = status.get('os_volume_encryption_settings') or {}
    url = (es.get('diskEncryptionKey') or {}).get('secretUrl')
    return [url] if url else []


def _ext_seq(status):
    return (((status or {}).get('extension') or {}).get('settings') or {}).get('SequenceVersion')


def plan(record, status, vault_id, kek_url, rotate=False):
    """What a rotation of this VM to (vault_id, kek_url) does next. Pure.

    Returns dict(action, reason, rotation (``detect``'s answer or None), record):
      start    another vault/KEK than the VM's keys and no rotation of it recorded: record rotating, then the PUT
      resume   rotating to these keys but ARM never ran the recorded PUT (the extension shows another seq): PUT again
      wait     this rotation's PUT runs (extension on the recorded seq, in progress)
      verify   this rotation succeeded on the platform, its cold-start proof is pending (guard, restart, check)
      done     the VM is on these keys: proved (record verified) or never rotated (nothing to do); no write
      stop     refused / failed / another rotation unfinished: ``reason`` says what to do
    """
    record = record or dict(stage=None)
    rot = detect(status, vault_id, kek_url)
    to = target_digest(vault_id, kek_url)
    stage = record.get('stage')

    def out(action, reason):
        return dict(action=action, reason=reason, rotation=rot, record=record, target=to)

    if stage not in (None,) + RECORD_STAGES:
        return out('stop', "unknown rotation stage '{0}' in tag {1}; fix or remove the tag".format(stage, TAG_STAGE))
    if stage == 'rotating' and record.get('to') != to:
        return out('stop', 'another rotation of this VM (to keys {0}, SequenceVersion {1}) is unfinished; finish it '
                           '(run rotate with its keys) before rotating to other keys'.format(record.get('to'),
                                                                                             record.get('seq')))
    mine = stage == 'rotating' and record.get('seq') and _ext_seq(status) == record.get('seq')
    if stage == 'rotating' and mine:
        phase = (status or {}).get('phase')
        if phase == 'succeeded':
            return out('verify', 'the rotation succeeded on the platform (SequenceVersion {0}); the cold-start proof '
                                 'with the new keys is pending, the old secret {1} is kept until it passed'.format(
                                     record.get('seq'), record.get('old') or '?'))
        if phase == 'failed':
            return out('stop', "the rotation's extension run failed ({0}); the VM's old secret {1} is kept: check the "
                               "guest's BEK volume and the extension status before a retry".format(
                                   _short((status or {}).get('progress_message')), record.get('old') or '?'))
        return out('wait', 'the rotation (SequenceVersion {0}) is in progress'.format(record.get('seq')))
    if rot is None:
        if stage == 'verified' and record.get('to') == to:
            return out('done', 'rotated to these keys and proved by a cold start ({0})'.format(record.get('at')))
        if stage == 'rotating':
            return out('stop', "the VM shows the target keys but not the rotation's SequenceVersion {0} (extension: "
                               "{1}): someone ran ADE outside this rotation; check it".format(
                                   record.get('seq'), _ext_seq(status)))
        if not is_encrypted(status):
            return out('stop', 'the VM is not encrypted with ADE: there is nothing to rotate (use encrypt)')
        return out('done', 'the VM is already on these keys; nothing to rotate')
    if not rotate:
        return out('stop', 'a rotation needs rotate=true')
    if stage == 'rotating':
        return out('resume', 'the rotation PUT (SequenceVersion {0}) was not taken by ARM; sending it again'.format(
            record.get('seq')))
    return out('start', 'rotating {0}'.format(' and '.join(rot['changes'])))


def _short(text, limit=200):
    line = (str(text or '').strip().splitlines() or [''])[0]
    return line if len(line) <= limit else line[:limit - 3] + '...'


def bek_usable(bek):
    """True when the guest's BEK report (guest_facts ade_state.bek) shows a usable passphrase file."""
    bek = bek or {}
    return bool(bek.get('mounted')) and any((f or {}).get('size', 0) > 0 for f in bek.get('passphrase_files') or [])


def reboot_refusal(name, guest):
    """Before any reboot of a VM whose rotation proof is pending (issue 2035 guard). ``guest``: dict(distribution,
    version, bek) as the guest reported (guest_facts: distribution.id, distribution.version_full, ade_state.bek).
    Returns (refusal or None, warning or None). Pure."""
    if not guest or not isinstance(guest, dict) or 'bek' not in guest:
        return ("refusing to restart {0}: its key rotation is not proved yet and the guest's BEK volume report is "
                "missing; pass guest_bek (guest_facts: distribution id and version_full, ade_state.bek) so that the "
                "issue-2035 guard can run (nothing sent)".format(name), None)
    distro, version = guest.get('distribution'), guest.get('version')
    if bek_usable(guest['bek']):
        return None, None
    what = ('no BEK volume mounted at /mnt/azure_bek_disk' if not (guest['bek'] or {}).get('mounted') else
            'no non-empty passphrase file ({0}*) on its BEK volume'.format(
                (guest['bek'] or {}).get('passphrase_file_name') or DEFAULT_PASSPHRASE_FILE))
    if affected_distro(distro, version):
        return ("refusing to restart {0} ({1} {2}): after the key rotation the guest has {3} - the issue-2035 class "
                "(Azure/azure-linux-extensions issue 2035: re-running enable with a new KEK left /mnt/azure_bek_disk "
                "empty on Ubuntu 22.04.5/24.04) - so its next boot would stop at the passphrase prompt. Rollout stopped "
                "before the reboot (nothing sent). Fix: keep the VM running; a stop-deallocate + start makes the "
                "platform attach the BEK volume again from the new secret only if that secret is usable (check "
                "vm_encryption_info check_custody); the old secret is kept".format(name, distro, version, what), None)
    return None, ('{0}: the guest has {1} before the restart ({2} {3} is not of the issue-2035 class: the platform '
                  'attaches the BEK volume again at the cold start)'.format(name, what, distro, version))


def verify_problems(record, status):
    """Why the rotation must not be recorded verified (empty: record it): the record must be a rotation whose
    SequenceVersion the platform shows succeeded, to the keys the disks are stamped with now. Pure."""
    record = record or {}
    if record.get('stage') != 'rotating':
        return ['its rotation record (stage {0}) shows no rotation waiting for its proof'.format(record.get('stage'))]
    if _ext_seq(status) != record.get('seq') or (status or {}).get('phase') != 'succeeded':
        return ["the platform does not show the rotation's SequenceVersion {0} succeeded (extension {1}, phase {2})"
                .format(record.get('seq'), _ext_seq(status), (status or {}).get('phase'))]
    if record.get('to') != target_digest(*current_keys(status)):
        return ['the disks are not stamped with the keys of the rotation ({0})'.format(record.get('to'))]
    return []


def start_refusal(name, rollout_stage, status):
    """A rotation starts only on a VM whose encryption is finished: no encrypt rollout mid-way (its snapshot set and
    restore would not know the new keys), the extension not running. Pure; None when it may start."""
    if rollout_stage not in (None, 'verified'):
        return ("refusing to rotate the keys of {0}: its encrypt rollout is at stage {1}; finish it (verified) or "
                "restore it first (nothing sent)".format(name, rollout_stage))
    if (status or {}).get('phase') not in ('succeeded',):
        return ("refusing to rotate the keys of {0}: the ADE extension is {1} ({2}), not succeeded; rotate only a VM "
                "whose encryption finished (nothing sent)".format(name, (status or {}).get('phase'),
                                                                  _short((status or {}).get('progress_message'))))
    return None

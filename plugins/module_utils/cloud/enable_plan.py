# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: what vm_encryption state=encrypted does, decided before anything is written.

The module reads, this decides, then the module acts (community.crypto luks_device style):

  wanted(params, vm)                 the settings asked for; a VM migrated from dual pass keeps its own when the
                                     task names no vault / volume type (the parameters are never changed)
  precheck(want, vm, status, ...)    refusals that need no Key Vault read (Azure-side blockers, encryption
                                     identity), and the vault IDs to read
  -- the module reads the KEK (data plane) and the vault(s) --
  decide(pre, vm, status, reads...)  every other refusal (vault, KEK, volume type, busy encryption, the rollout
                                     record), the action (none / enable), the steps and the request body
  -- the module reads the encryption-at-host advice when plan['eah_check'] --
  eah_refusal(msg)                   the last refusal

Every refusal raises ``Refusal`` (message and the result keys to return with it); nothing is written before
``decide`` returned. Steps, in order (the module runs exactly these):

  set_encryption_identity   PATCH securityProfile.encryptionIdentity (only when it changes)
  record_encrypting         a re-run finds the extension running the recorded seq: the last run's PUT was
                            accepted but not recorded (rollout record enabling -> encrypting); no PUT
  record_enabling           rollout record -> enabling with the new SequenceVersion (intent, before the PUT)
  put_extension             the extension PUT (``body``)
  record_accepted           rollout record -> encrypting once ARM accepted the PUT
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade, compat, dual_pass, rollout

# Rollout stages at which an enable of the record's own run may go on (the set taken, no other run).
ENABLE_STAGES = ('snapshot_taken', 'enabling', 'encrypting')


class Refusal(Exception):
    """Nothing is written: ``msg`` says why and what to do; ``extra`` goes into the module result."""

    def __init__(self, msg, **extra):
        Exception.__init__(self, msg)
        self.msg = msg
        self.extra = extra


def wanted(params, vm):
    """The settings asked for: dict(key_vault, key_vault_resource_group, volume_type, kek, kek_vault, algorithm,
    format_all, confirm_format_all, encryption_identity, own). ``own`` is True when a VM migrated from dual pass
    keeps its own vault, KEK and volume type (migrate_dual_pass with neither key_vault nor volume_type)."""
    want = dict(key_vault=params.get('key_vault'), key_vault_resource_group=params.get('key_vault_resource_group'),
                volume_type=params.get('volume_type'), kek=params.get('kek'), kek_vault=params.get('kek_vault'),
                algorithm=params.get('algorithm'), format_all=bool(params.get('encrypt_format_all')),
                confirm_format_all=bool(params.get('confirm_format_all')),
                encryption_identity=params.get('encryption_identity'), own=False)
    if params.get('migrate_dual_pass') and not want['key_vault'] and not want['volume_type'] and \
            dual_pass.was_migrated(vm):
        own = dual_pass.own_settings(vm)
        want.update(key_vault=own['vault_id'], volume_type=own['volume_type'], kek=own['kek'],
                    kek_vault=own['kek_vault_id'], algorithm=own['algorithm'] or want['algorithm'], own=True)
    return want


def precheck(want, vm, status, subscription_id, resource_group):
    """Refusals before any Key Vault read, and what to read. Returns dict(new_ade, blockers (for the result),
    identity_change, vault_id, kek_vault_id). Raises Refusal."""
    if not want['key_vault'] or not want['volume_type']:
        raise Refusal('state=encrypted needs key_vault and volume_type (both may be omitted only with '
                      'migrate_dual_pass=true on a dual-pass VM, or one migrated from dual pass, which keeps its own)')
    # Azure-side exclusions (issue 7): refuse before any Key Vault read or write when ADE would be new.
    new_ade = ade.find_ade_extension(vm) is None
    msg, blockers = compat.blocked(vm, new_ade)
    if msg:
        raise Refusal(msg, status=status, ade_blockers=blockers)
    msg = compat.identity_error(vm, want['encryption_identity'])
    if msg:
        raise Refusal(msg, status=status, ade_blockers=blockers)
    vault_rg = want['key_vault_resource_group'] or resource_group
    vault_id, err = ade.resolve_vault_id(want['key_vault'], subscription_id, vault_rg)
    if err:
        raise Refusal(err, ade_blockers=blockers)
    kek_vault_id = None
    if want['kek_vault']:
        kek_vault_id, err = ade.resolve_vault_id(want['kek_vault'], subscription_id, vault_rg)
        if err:
            raise Refusal('kek_vault: ' + err, ade_blockers=blockers)
    elif want['kek']:
        kek_vault_id = vault_id
    return dict(new_ade=new_ade, blockers=blockers, vault_id=vault_id, kek_vault_id=kek_vault_id,
                kek_vault_name=(ade.parse_resource_id(kek_vault_id) or {}).get('name') if kek_vault_id else None,
                identity_change=compat.identity_change(vm, want['encryption_identity']))


def decide(want, pre, vm, status, vault, kek_vault=None, kek_url=None, kek_errors=(), keyvault_suffix='',
           snapshot_set=None, passphrase=None, check_mode=False, sequence_version=None):
    """The plan: dict(action: none|enable, reason, steps, settings, body, request (masked), kek_resolved,
    eah_check, record). ``kek_url``/``kek_errors``: the KEK as resolved on the Key Vault data plane; ``vault`` /
    ``kek_vault``: the vaults read (kek_vault only when it is another vault). Raises Refusal."""
    name = vm.get('name')
    extra = dict(ade_blockers=pre['blockers'])
    if kek_errors:
        raise Refusal('refusing to enable ADE on {0}: {1}'.format(name, ' | '.join(kek_errors)),
                      errors=list(kek_errors), status=status, **extra)
    kek = kek_url if want['kek'] else None
    request = dict(vault_id=pre['vault_id'], volume_type=want['volume_type'], kek=kek,
                   kek_vault_id=pre['kek_vault_id'], algorithm=want['algorithm'], format_all=want['format_all'],
                   confirm_format_all=want['confirm_format_all'], keyvault_suffix=keyvault_suffix)
    errors = ade.validate_enable(vm, vault, request, kek_vault=kek_vault)
    errors = compat.relax_vault_errors(errors, want['encryption_identity'] or compat.current_encryption_identity(vm))
    if errors:
        raise Refusal('refusing to enable ADE on {0}: {1}'.format(name, ' | '.join(errors)), errors=errors,
                      status=status, **extra)
    settings = ade.build_enable_settings(pre['vault_id'], ade.vault_url(vault, keyvault_suffix), want['volume_type'],
                                         kek, pre['kek_vault_id'], want['algorithm'], want['format_all'],
                                         sequence_version=sequence_version)
    action, reason = ade.decide_enable(vm, status, settings)
    extra['reason'] = reason
    if action == 'refuse':
        raise Refusal('refusing to enable ADE on {0}: {1}'.format(name, reason), status=status, **extra)
    msg = compat.blocked(vm, action == 'enable')[0]
    if msg:
        raise Refusal(msg, status=status, **extra)
    record = rollout.parse_record(vm.get('tags'))
    if snapshot_set and (record['snapshot_set'] != snapshot_set or record['stage'] not in ENABLE_STAGES):
        msg = ("refusing to enable ADE on {0}: its rollout record (run {1}, stage {2}) does not show the snapshot set "
               "of run {3} taken before any change; take it with vm_snapshot snapshot_set={3} first (never encrypt "
               "without a snapshot set)".format(name, record['snapshot_set'], record['stage'], snapshot_set))
        raise Refusal(msg, status=status, **extra)
    steps = []
    if pre['identity_change']:
        steps.append('set_encryption_identity')
    plan = dict(action=action, reason=reason, settings=settings, record=record, steps=steps, body=None, request=None,
                kek_resolved=kek_url if (want['kek'] and kek_url != want['kek']) else None,
                eah_check=action == 'enable' and pre['new_ade'])
    if action == 'none':
        if snapshot_set and record['stage'] == 'enabling' and not check_mode and \
                rollout.extension_seq(status) == record['seq']:
            # The PUT of the last run was accepted but the control node stopped before recording it.
            steps.append('record_encrypting')
        return plan
    body = ade.build_extension_body(vm['location'], settings, passphrase)
    plan.update(body=body, request=ade.redact_body(body))
    if snapshot_set:
        steps.append('record_enabling')
    steps.append('put_extension')
    if snapshot_set:
        steps.append('record_accepted')
    return plan


def eah_refusal(msg, status, plan, pre):
    """The encryption-at-host refusal (prefer_encryption_at_host=refuse), read after ``decide``."""
    if msg:
        raise Refusal(msg, status=status, reason=plan['reason'], ade_blockers=pre['blockers'])

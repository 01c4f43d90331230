#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_encryption_info
short_description: Azure Disk Encryption status of one Linux VM or a fleet, read from the control plane
version_added: 0.1.0
description:
  - Reads the ADE status of VMs from Azure Resource Manager (never from the guest, whose SSH is off for hours
    during OS encryption) with C(Get-AzVMDiskEncryptionStatus) semantics - O(name), a list (O(names)),
    a resource group, or the whole subscription.
  - Adds RV(vms[].phase) (V(not_started), V(in_progress), V(succeeded), V(failed), V(restart_pending)) by the
    ADE completion rule - the extension's provisioning state is not completion; the transient errors
    C(Restarted extension from stripped down OS) and C(Attempt no. N to unmount /oldroot failed) do not fail it;
    data V(NotMounted) is success; disks stamped with encryption settings are not encrypted.
  - With O(wait_for=completed) it polls until every selected VM is in a terminal phase or O(timeout) passes,
    adapting its interval to the phase (OS encryption takes hours) and never polling faster than Azure's
    C(Retry-After); it returns the progress messages it saw.
  - Cost - a resource group or subscription costs one paged list call (with instance views) per poll; named
    VMs cost one GET each per poll (VMs named in bulk in one resource group are read with one list call).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
  - azure_ade.linux.attributes.actiongroup_azure
options:
  resource_group:
    description:
      - Resource group of O(name)/O(names); alone, every VM of the group. Omit everything for the whole subscription.
    type: str
  name:
    description: One VM name (needs O(resource_group)).
    type: str
  names:
    description:
      - Several VMs, each a name in O(resource_group) or a full VM resource ID.
    type: list
    elements: str
  wait_for:
    description:
      - V(none) reads once; V(completed) polls until every selected VM reaches a terminal phase
        (V(not_started), V(succeeded), V(failed), V(restart_pending)).
    type: str
    choices: [none, completed]
    default: none
  timeout:
    description: Seconds to wait with O(wait_for=completed) (OS encryption can take 3-16 hours, days with large disks).
    type: int
    default: 86400
  poll_interval:
    description:
      - Base poll interval in seconds. Early phases are polled at this interval, data encryption at twice it,
        the OS-volume phase at ten times it (capped at 900 s), never faster than a C(Retry-After) from Azure, and
        at least every 60 s when ARM reports fewer remaining reads than two polls need.
    type: float
    default: 30
  fail_on_timeout:
    description: Fail when O(timeout) passes before every VM is done (the status read last is still returned).
    type: bool
    default: true
  ignore_missing:
    description:
      - With O(names), leave VMs that do not exist out of RV(vms) instead of failing (the encrypt playbook reads a
        whole wave at once and lets each host fail on its own VM).
    type: bool
    default: false
  bulk_threshold:
    description:
      - When at least this many VMs named in O(names) live in one resource group, read that group with one list
        call instead of one GET per VM.
    type: int
    default: 10
  query:
    description:
      - JMESPath expression applied to RV(vms) (as C(az ... --query)); the result is in RV(query_result).
        Example - C([?phase=='failed'].name).
    type: str
  retirement:
    description:
      - Add RV(vms[].retirement) - what the ADE retirement (2028-09-15) means for each VM and its documented path
        (encryption at host, migrate, or a new VM). Costs one GET of the subscription's
        C(Microsoft.Compute/EncryptionAtHost) feature and one resource SKU list per region, once per run.
      - RV(vms[].ade_blockers) is always returned (it needs no extra request).
    type: bool
    default: true
  check_custody:
    description:
      - Add RV(vms[].custody) and RV(vms[].unlock_at_risk) - whether the VM's next cold start (deallocate/start,
        redeploy, host maintenance, resize - the platform fetches the disk-encryption secret from Key Vault again)
        would find its secret and KEK. Checked from the data plane - each disk's secret version exists, is enabled,
        is inside its C(nbf)/C(exp) dates and carries ADE's tags for this VM; the KEK exists, is enabled, is not
        expired and permits C(unwrapKey); the vault exists, is enabled for disk encryption and sits in the VM's region
        and subscription. Warnings - expiry inside O(custody_warn_days), no soft delete, no purge protection, no
        C(CanNotDelete) lock.
      - Cost, bounded per fleet - one request per distinct secret (its version list - attributes and tags, never the
        value), one per distinct KEK version, two per vault (properties, locks), plus one authentication challenge
        per vault. Needs azure-keyvault-secrets, azure-keyvault-keys, azure-mgmt-keyvault and
        azure-mgmt-resource-locks, and read access (secrets C(list), keys C(get), vault C(Reader)).
    type: bool
    default: false
  custody_warn_days:
    description: With O(check_custody), warn when a secret or KEK expires within this many days.
    type: int
    default: 30
  custody_workers:
    description: With O(check_custody), parallel Key Vault reads (each vault's first read runs alone).
    type: int
    default: 8
  check_protection:
    description:
      - Add RV(vms[].protection) - whether Azure Backup protects the VM and Site Recovery replicates it, and what a
        restore, migrate or rebuild that swaps its disks means for them (C(swap_warning)). Reads the Recovery Services
        vaults of each subscription of the VMs and, per vault, its backup and replication protected items (GET only,
        1 + 2 per vault for the whole run).
      - With O(check_custody) too, a VM protected by Azure Backup gets C(backup_vault_access) - whether the Backup
        Management Service can read its ADE keys in Key Vault (access policy secrets get/list/backup, with a KEK keys
        get/list/backup; on an RBAC vault it is not confirmed); without it its backups fail with
        C(UserErrorKeyVaultPermissionsNotConfigured). From the vault reads of the custody check - no extra request.
      - A vault list the caller may not read makes the facts C(null) and a warning, never a failure.
    type: bool
    default: false
  backup_principal_id:
    description:
      - Object ID, in the tenant, of the Backup Management Service principal (C(az ad sp show --id
        262044b1-e2ce-469f-a196-69ab7ada62d3 --query id)). With it, C(backup_vault_access) is C(ok) or C(missing) for
        that principal; without it a vault whose policies grant the permissions to some principal is C(unconfirmed).
    type: str
notes:
  - Check mode is supported; nothing is ever changed.
seealso:
  - module: azure_ade.linux.vm_encryption
'''

EXAMPLES = r'''
- name: Status of one VM
  azure_ade.linux.vm_encryption_info:
    resource_group: rg-app
    name: vm1
  register: st

- name: Wait (hours) until the encryption of a VM is done
  azure_ade.linux.vm_encryption_info:
    resource_group: rg-app
    name: vm1
    wait_for: completed
    timeout: 86400
  register: st
  failed_when: st.vms[0].phase != 'succeeded'

- name: Every VM of the subscription whose encryption failed
  azure_ade.linux.vm_encryption_info:
    query: "[?phase=='failed'].{name: name, rg: resource_group, message: progress_message}"
  register: failed

- name: Would every ADE VM of a group unlock at its next cold start? (Key Vault custody check)
  azure_ade.linux.vm_encryption_info:
    resource_group: rg-app
    check_custody: true
    query: "[?unlock_at_risk].{name: name, reason: custody.reason, fix: custody.fix}"
  register: custody
  failed_when: custody.custody.at_risk > 0

- name: Credentials once for the whole collection
  module_defaults:
    group/azure_ade.linux.azure:
      auth_source: env
  block:
    - azure_ade.linux.vm_encryption_info:
        resource_group: rg-app
'''

RETURN = r'''
vms:
  description: One status per VM.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: VM name.
      type: str
      returned: always
    id:
      description: VM resource ID.
      type: str
      returned: always
    resource_group:
      description: Resource group.
      type: str
      returned: always
    location:
      description: Region.
      type: str
      returned: always
    power_state:
      description: Last C(PowerState/*) code, e.g. C(running).
      type: str
      returned: always
    encryption_mode:
      description: "C(single_pass), C(dual_pass) or C(none)."
      type: str
      returned: always
    os_volume_encrypted:
      description: C(Encrypted), C(NotEncrypted), C(EncryptionInProgress), C(VMRestartPending) or C(Unknown) (substatus JSON).
      type: str
      returned: always
    data_volumes_encrypted:
      description: C(Encrypted), C(NotEncrypted), C(NotMounted), C(EncryptionInProgress), C(DecryptionInProgress) or C(Unknown).
      type: str
      returned: always
    os_volume_encryption_settings:
      description: Encryption settings stamped on the OS disk (or VM model for dual pass).
      type: dict
      returned: always
    progress_message:
      description: The extension's status message (display status when empty).
      type: str
      returned: always
    os_disk_stamped:
      description: The OS disk carries C(EncryptionState/encrypted) (stamped, not proof of encryption).
      type: bool
      returned: always
    data_disks_stamped:
      description: Data disks carrying C(EncryptionState/encrypted).
      type: list
      elements: str
      returned: always
    operation:
      description: EncryptionOperation of the installed extension settings.
      type: str
      returned: always
    volume_type:
      description: VolumeType of the installed extension settings.
      type: str
      returned: always
    phase:
      description: not_started, in_progress, succeeded, failed or restart_pending.
      type: str
      returned: always
    phase_reason:
      description: Why that phase.
      type: str
      returned: always
    transient_error:
      description: The current error status is one of the normal transient ones.
      type: bool
      returned: always
    stalled:
      description:
        - While waiting (O(wait_for=completed)), a transient error that did not clear for 1800 s; RV(vms[].phase) is
          then V(failed). A VMRestartPending status counts as in progress for 1800 s while waiting.
      type: bool
      returned: always
    skipped_data_disks:
      description:
        - Attached data disks of a VM whose Data/All enable succeeded that carry no ADE stamp, so NOT encrypted - a
          data disk attached after the encryption, or one not mounted in the guest when the enable ran (issue 16).
          The extension's substatus still shows its last run (data C(Encrypted)); only the per-disk stamp tells.
      type: list
      elements: str
      returned: always
    skipped_data_luns:
      description: The LUNs of RV(vms[].skipped_data_disks), in the same order (issue 16 item 4, the add-on run).
      type: list
      elements: int
      returned: always
    warnings:
      description: Warnings about this VM (also emitted as Ansible warnings), e.g. skipped data disks.
      type: list
      elements: str
      returned: always
    extension:
      description: The ADE extension (name, publisher, type, type_handler_version, handler_version, provisioning_state, settings, status).
      type: dict
      returned: always
    ostc_extension_present:
      description: The deprecated OSTCExtensions ADE extension is installed.
      type: bool
      returned: always
    vm_id:
      description: The VM's ARM C(vmId) (compare with the guest's IMDS C(vmId)).
      type: str
      returned: always
    rollout:
      description:
        - The VM's rollout record from its tags (C(snapshot_set), C(stage), C(seq), C(at)); C(stage) is null
          when the VM carries none. See docs/architecture.md "Rollout record".
      type: dict
      returned: always
    addon:
      description:
        - The VM's add-on record from its tags (issue 16 item 4, data disks added after the encryption) -
          C(snapshot_set), C(stage) snapshot_taken, enabling, encrypting or encrypted, C(seq), C(members) - the LUNs of
          the add-on set - C(ids), C(at)); C(stage) is null when the VM carries none, C(error) when the tag is not ours.
          See docs/architecture.md "Disks added later".
      type: dict
      returned: always
    migration:
      description:
        - The VM's migration record off ADE from its tags (C(stage) copying, swapped, verified or restored, C(at),
          C(fs)); C(stage) is null when the VM carries none. See M(azure_ade.linux.vm_migrate).
      type: dict
      returned: always
    rebuild:
      description:
        - The VM's rebuild record from its tags (C(stage), C(new), C(at), C(ip), C(spare_ip), C(plan), C(log) - when
          each step was recorded); C(stage) is null when the VM carries none. See M(azure_ade.linux.vm_rebuild).
      type: dict
      returned: always
    stall_report:
      description:
        - While waiting (O(wait_for=completed)), set when the VM has shown the same phase and message for longer
          than its disk sizes make plausible (16 h for the OS phase of a 30 GB disk plus 2 min per further GB; data
          2 h plus 2 min per GB) - C(held_seconds), C(plausible_seconds), C(message) with the guide's advice (R4.1,
          do not reboot). A report and a warning, never a failure; null otherwise. E(AZURE_ADE_STALL_FACTOR) on the
          control node scales what is plausible (e.g. V(2) for slow disks).
      type: dict
      returned: always
    stall_seen:
      description:
        - While waiting, the last stall report (as RV(vms[].stall_report)) of a VM that stalled and then moved on;
          reported as a warning too. Absent otherwise.
      type: dict
      returned: when a VM stalled during the wait and later changed
    history:
      description: Progress seen while waiting ({time, phase, message, os, data}), one entry per change.
      type: list
      elements: dict
      returned: always
    ade_blockers:
      description:
        - Azure-side reasons the VM cannot take ADE ({id, message, source}); empty when none. Ids -
          C(windows_vm), C(encryption_at_host), C(confidential_vm), C(ephemeral_os_disk), C(unmanaged_disks),
          C(size_basic_tier), C(size_a_series), C(size_v6_or_newer), C(size_l_series), C(size_hpc_nvme),
          C(nvme_disk_controller), C(ultra_disk), C(premium_ssd_v2), C(m_series_write_accelerator), C(sse_cmk).
          M(azure_ade.linux.vm_encryption) refuses to enable ADE while any is present.
      type: list
      elements: dict
      returned: always
    retirement:
      description:
        - What the ADE retirement means for this VM - C(retirement_date), C(days_left), C(category)
          (C(no_ade), C(encryption_at_host), C(ade_data_only), C(ade_os), C(not_linux)), C(path)
          (C(enable_encryption_at_host), C(prepare_encryption_at_host), C(migrate), C(rebuild_vm), C(none)),
          C(message), C(ade_volumes) and C(encryption_at_host) (C(enabled), C(feature_state), C(size),
          C(size_supported), C(possible), C(reasons)).
      type: dict
      returned: when O(retirement=true)
    unlock_at_risk:
      description:
        - The VM's next cold start would stop at the passphrase prompt (the C(risks) of RV(vms[].custody) say why and how to
          fix it). Null for a VM without ADE key references.
      type: bool
      returned: when O(check_custody=true)
    custody:
      description:
        - Key custody of the VM - C(checked), C(unlock_at_risk), C(risks) and C(warnings) (each C(id), C(message),
          C(fix)), C(reason), C(fix) (all risks joined), C(secrets) (the secret URLs the disks are stamped with).
          Risk ids - C(secret_missing), C(secret_version_missing), C(secret_disabled), C(secret_expired),
          C(secret_not_yet_valid), C(kek_missing), C(kek_disabled), C(kek_expired), C(kek_no_unwrap),
          C(vault_not_found), C(vault_not_enabled), C(vault_region), C(vault_subscription).
      type: dict
      returned: when O(check_custody=true)
    protection:
      description:
        - Azure Backup and Site Recovery for the VM (issue 16 item 5) - C(protected_by_backup) and C(replicated_by_asr)
          (true, false, or null when not read), C(backup) (C(vault), C(state), C(last_backup_status), C(policy)),
          C(replication) (C(vault), C(state), C(health), C(target_location)), C(backup_vault_access) (with
          O(check_custody), per Key Vault of the VM's ADE keys - C(vault), C(status) C(ok)/C(missing)/C(unconfirmed)/
          C(unknown), C(message), C(fix)), C(warnings) (C(id), C(message), C(fix)) and C(swap_warning) - per operation
          (C(restore), C(migrate), C(rebuild)) what its disk swap or new VM means for Backup / Site Recovery and what
          to redo after; null when neither protects the VM.
      type: dict
      returned: when O(check_protection=true)
summary:
  description: Count of VMs per phase, and C(total).
  returned: always
  type: dict
query_result:
  description: Result of O(query).
  returned: when O(query) is set
  type: raw
timed_out:
  description: O(timeout) passed before every VM was done.
  returned: always
  type: bool
waited_seconds:
  description: Seconds spent waiting.
  returned: always
  type: float
polls:
  description: Number of polling rounds.
  returned: always
  type: int
retried:
  description:
    - While waiting, every failure the wait rode out (dropped connection, 5xx, throttling past the SDK's own retries)
      - C(time), C(what), C(kind), C(error), C(delay) (seconds of back-off before the next try).
  returned: always
  type: list
  elements: dict
protection:
  description: With O(check_protection) - C(protected_by_backup), C(replicated_by_asr), C(backup_access_missing) VM
    counts, C(requests) (the Recovery Services reads) and C(unread) (what could not be read).
  returned: when O(check_protection=true)
  type: dict
custody:
  description: With O(check_custody) - C(checked), C(at_risk), C(with_warnings) VM counts and C(requests), the Key Vault
    and vault requests the check made.
  returned: when O(check_custody=true)
  type: dict
requests:
  description: HTTP requests made (retries included), by method and status.
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import addon, custody, custody_reads, protection
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.ade import parse_resource_id
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import ade_blockers, for_output
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.rollout import disk_sizes, parse_record, stall_factor, stall_report
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import JMESPATH_IMPORT_ERROR
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.migrate import record as migrate_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.rebuild import record as rebuild_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.retirement import EahContext
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.waits import record_history, wait_for_phases
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.wave import needs_full_read
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.consistency import StaleGuard
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import (
    TERMINAL, StatusClock, compute_status, summarise)


class MissingVMs(Exception):
    """A VM named by the task is not there (and ignore_missing is false)."""


def select_targets(params):
    """[(resource_group, name)] or a scope ('rg', rg) / ('subscription', None). Pure."""
    rg = params.get('resource_group')
    if params.get('name'):
        if not rg:
            raise ValueError('name needs resource_group')
        return 'names', [(rg, params['name'])]
    if params.get('names'):
        out = []
        for n in params['names']:
            if n.startswith('/'):
                p = parse_resource_id(n)
                if not p or p['type'].lower() != 'virtualmachines':
                    raise ValueError("'{0}' is not a VM resource ID".format(n))
                out.append((p['resource_group'], p['name']))
            elif rg:
                out.append((rg, n))
            else:
                raise ValueError("'{0}' is a bare name: set resource_group or pass the VM's resource ID".format(n))
        return 'names', out
    if rg:
        return 'resource_group', rg
    return 'subscription', None


def fetch(session, mode, targets, bulk_threshold, waiting=False):
    """One round of reads. Returns {(rg_lower, name_lower): vm dict} for the targets (missing VMs absent).
    A VM read from a list lacks its extension resources (ADE settings): it is read again with a GET when they
    matter (wave.needs_full_read)."""
    found = {}

    def key(vm):
        p = parse_resource_id(vm.get('id') or '') or {}
        return ((p.get('resource_group') or '').lower(), (vm.get('name') or '').lower())

    def complete(vm):
        # Some list answers may lack the instance view: then one GET for that VM. Lists never carry the
        # extension resources: one GET when this run's SequenceVersion must be compared.
        if not ((vm.get('properties') or {}).get('instanceView')) or needs_full_read(vm, waiting):
            p = parse_resource_id(vm['id'])
            vm = session.get_vm(p['resource_group'], vm['name']) or vm
        return vm

    if mode == 'resource_group':
        for vm in session.list_vms(targets):
            found[key(vm)] = complete(vm)
        return found
    if mode == 'subscription':
        for vm in session.list_vms(None):
            found[key(vm)] = complete(vm)
        return found
    by_rg = {}
    for rg, name in targets:
        by_rg.setdefault(rg.lower(), []).append((rg, name))
    for items in by_rg.values():
        if len(items) >= bulk_threshold:
            wanted = set(item[1].lower() for item in items)
            for vm in session.list_vms(items[0][0]):
                if (vm.get('name') or '').lower() in wanted:
                    found[key(vm)] = complete(vm)
        else:
            for rg, name in items:
                vm = session.get_vm(rg, name)
                if vm is not None:
                    found[key(vm)] = vm
    return found


def check_custody(session, vms, vms_read, p):
    """Key custody per VM (issue 16): plan the reads for the fleet (each secret, KEK version and vault once), read,
    decide per VM (custody.py). Adds vms[].custody / unlock_at_risk; returns the fleet counts."""
    refs = {}
    for st in vms:
        k = ((st.get('resource_group') or '').lower(), (st.get('name') or '').lower())
        refs[k] = custody.key_refs(vms_read[k])
    before = session.stats.total
    reads = custody_reads.CustodyReader(session, p['custody_workers']).read_plan(custody.plan_reads(refs))
    now = time.time()
    verdicts = []
    for st in vms:
        k = ((st.get('resource_group') or '').lower(), (st.get('name') or '').lower())
        props = vms_read[k].get('properties') or {}
        ident = ((props.get('securityProfile') or {}).get('encryptionIdentity') or {}).get(
            'userAssignedIdentityResourceId')
        v = custody.assess_vm(dict(name=st.get('name'), location=st.get('location'),
                                   subscription_id=st.get('subscription_id'), encryption_identity=ident),
                              refs[k], reads, now, p['custody_warn_days'])
        st['custody'] = v
        st['unlock_at_risk'] = v['unlock_at_risk'] if v['checked'] else None
        if v['unlock_at_risk']:
            st.setdefault('warnings', []).append('UNLOCK AT RISK on the next cold start: {0}. Fix: {1}'.format(
                v['reason'], v['fix']))
        for w in v['warnings']:
            st.setdefault('warnings', []).append('key custody: {0} ({1})'.format(w['message'], w['fix']))
        verdicts.append(v)
    out = custody.summary(verdicts)
    out['requests'] = session.stats.total - before
    out['_refs'], out['_vaults'] = refs, reads['vaults']
    return out


def _list_status(session, url):
    try:
        return dict(status=200, items=session.list_paged(url))
    except Exception as exc:  # pylint: disable=broad-except
        if 'MissingSubscriptionRegistration' in str(exc):
            # Microsoft.RecoveryServices not registered in the subscription: it has no Recovery Services vault
            return dict(status=200, items=[])
        return dict(status=getattr(exc, 'status_code', None) or 500, items=[])


def check_protection(session, vms, vms_read, p, custody_out):
    """Azure Backup / Site Recovery per VM (issue 16 item 5): per subscription the Recovery Services vaults, per vault
    its backup and replication items (GET only); decisions in protection.py. Adds vms[].protection."""
    before = session.stats.total
    reads = dict(subs={}, backup={}, replication={})
    for sub in sorted(set((st.get('subscription_id') or session.subscription_id or '').lower() for st in vms)):
        r = _list_status(session, protection.vaults_url(sub))
        reads['subs'][sub] = dict(status=r['status'])
        for v in r['items']:
            vid = (v.get('id') or '').rstrip('/')
            reads['backup'][vid.lower()] = _list_status(session, protection.backup_items_url(vid))
            reads['replication'][vid.lower()] = _list_status(session, protection.replication_items_url(vid))
    index = protection.index_items(reads)
    refs = (custody_out or {}).get('_refs')
    vault_reads = (custody_out or {}).get('_vaults')
    counts = dict(protected_by_backup=0, replicated_by_asr=0, backup_access_missing=0)
    for st in vms:
        k = ((st.get('resource_group') or '').lower(), (st.get('name') or '').lower())
        prot = protection.vm_protection(vms_read[k].get('id') or '', index)
        a = protection.assess(prot, (refs or {}).get(k) or [], vault_reads, p['backup_principal_id'])
        a['swap_warning'] = protection.swap_warnings(st.get('name'), a)
        st['protection'] = a
        counts['protected_by_backup'] += 1 if a['protected_by_backup'] else 0
        counts['replicated_by_asr'] += 1 if a['replicated_by_asr'] else 0
        counts['backup_access_missing'] += 1 if any(
            w['id'] == 'backup_vault_access_missing' for w in a['warnings']) else 0
        for w in a['warnings']:
            st.setdefault('warnings', []).append('Azure Backup: {0} ({1})'.format(w['message'], w['fix']))
    counts['requests'] = session.stats.total - before
    counts['unread'] = index['unread']
    return counts


def main():
    base = AzureModule(
        dict(resource_group=dict(type='str'), name=dict(type='str'), names=dict(type='list', elements='str'),
             wait_for=dict(type='str', choices=['none', 'completed'], default='none'),
             timeout=dict(type='int', default=86400), poll_interval=dict(type='float', default=30),
             fail_on_timeout=dict(type='bool', default=True), bulk_threshold=dict(type='int', default=10),
             ignore_missing=dict(type='bool', default=False),
             query=dict(type='str'), retirement=dict(type='bool', default=True),
             check_custody=dict(type='bool', default=False), custody_warn_days=dict(type='int', default=30),
             custody_workers=dict(type='int', default=8), check_protection=dict(type='bool', default=False),
             backup_principal_id=dict(type='str')),
        mutually_exclusive=[('name', 'names')],
        non_negative=('timeout', 'custody_warn_days'), positive=('poll_interval', 'custody_workers'),
        supports_check_mode=True,
    )
    module = base.module
    p = module.params
    if p['query'] and JMESPATH_IMPORT_ERROR:
        base.fail("query needs the jmespath library on the control node: pip install jmespath")
    try:
        mode, targets = select_targets(p)
    except ValueError as exc:
        base.fail(str(exc))
    if p['check_custody'] and custody_reads.load_sdk():
        base.fail(custody_reads.missing_sdk_message())
    session = base.open_session()
    start = time.time()
    history = {}
    vms_read = {}
    waiting = p['wait_for'] == 'completed'
    clock = StatusClock()
    guard = StaleGuard()
    stall_f = stall_factor()
    stalls_seen = {}

    def read(pending):
        todo = targets
        if mode == 'names' and pending is not None:
            pending = set(pending)
            todo = [(rg, n) for rg, n in targets if (rg.lower(), n.lower()) in pending]
        found = fetch(session, mode, todo, p['bulk_threshold'], waiting=waiting)
        if mode == 'names' and not p['ignore_missing']:
            missing = [(rg, n) for rg, n in todo if (rg.lower(), n.lower()) not in found]
            if missing:
                raise MissingVMs('VM(s) not found: {0}'.format(', '.join('{0}/{1}'.format(*m) for m in missing)))
        return found

    def observe(k, vm, now):
        st = compute_status(vm)
        if waiting:
            # Right after this run's PUT a read can still show the VM as before it (stale read): while the
            # rollout record's SequenceVersion / pre-PUT status say so, the VM is not done (bounded).
            rec = parse_record(vm.get('tags'))
            if rec['stage'] in ('enabling', 'encrypting') and guard.holds(k, st, rec['seq'], rec['prev'], now):
                st = dict(st, phase='in_progress', stale_read=True,
                          phase_reason='read older than this run (stale read right after the PUT); reading again')
        held = clock.held(k, st, now) if waiting else 0.0
        if waiting:
            st = clock.apply(k, st, now)
        st['vm_id'] = (vm.get('properties') or {}).get('vmId')
        st['rollout'] = parse_record(vm.get('tags'))
        st['addon'] = addon.safe_record(vm.get('tags'))
        st['migration'] = migrate_record(vm)
        st['rebuild'] = rebuild_record(vm)
        st['stall_report'] = stall_report(st, held, *disk_sizes(vm), factor=stall_f)
        if st['stall_report']:
            stalls_seen[k] = st['stall_report']
        vms_read[k] = vm
        record_history(history.setdefault(k, []), st, now)
        return st

    retried = []
    try:
        # the one phase-wait for N VMs (module_utils/cloud/waits.py; vm_encryption uses it with N = 1)
        res = wait_for_phases(read, p['poll_interval'], p['timeout'], observe, stats=session.stats, wait=waiting)
        statuses, timed_out, polls, retried = res['statuses'], res['timed_out'], res['polls'], res['retried']
        if res['error']:
            module.warn(res['error'])
        eah = EahContext(session) if p['retirement'] else None
        vms = []
        for k in sorted(statuses):
            st = dict(statuses[k])
            st['history'] = history.get(k, [])
            blockers = ade_blockers(vms_read[k])
            st['ade_blockers'] = for_output(blockers)
            if eah is not None:
                st['retirement'] = eah.plan(vms_read[k], statuses[k], blockers)
            vms.append(st)
        custody_out = check_custody(session, vms, vms_read, p) if p['check_custody'] else None
        protection_out = check_protection(session, vms, vms_read, p, custody_out) if p['check_protection'] else None
        if custody_out is not None:
            custody_out.pop('_refs', None)
            custody_out.pop('_vaults', None)
    except MissingVMs as exc:
        base.fail(str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('reading VM status', exc)

    result = dict(changed=False, vms=vms, summary=summarise(vms), timed_out=timed_out,
                  waited_seconds=round(time.time() - start, 3), polls=polls, retried=retried)
    if custody_out is not None:
        result['custody'] = custody_out
    if protection_out is not None:
        result['protection'] = protection_out
        for text in protection_out['unread']:
            module.warn('Azure Backup / Site Recovery: ' + text)
    if p['query']:
        import jmespath  # pylint: disable=import-outside-toplevel
        try:
            result['query_result'] = jmespath.search(p['query'], vms)
        except jmespath.exceptions.JMESPathError as exc:
            base.fail("query '{0}' is not valid JMESPath: {1}".format(p['query'], exc), **result)
    for v in vms:
        for text in v.get('warnings') or []:
            module.warn(text)
    for v in vms:
        if v.get('stall_report'):
            module.warn('STALLED? (reported, not failed) ' + v['stall_report']['message'])
        else:
            seen = stalls_seen.get(((v.get('resource_group') or '').lower(), (v.get('name') or '').lower()))
            if seen:   # stalled during the wait, moved on since: still reported (R4.1)
                v['stall_seen'] = seen
                module.warn('STALLED? (reported, not failed; it moved on later, now {0}) {1}'.format(
                    v.get('phase'), seen['message']))
    if timed_out and p['fail_on_timeout']:
        not_done = ['{0} ({1}: {2})'.format(v['name'], v['phase'], v['progress_message']) for v in vms
                    if v['phase'] not in TERMINAL]
        base.fail('timeout after {0}s waiting for ADE to complete on: {1}'.format(
            p['timeout'], ', '.join(not_done)), **result)
    base.exit(**result)


if __name__ == '__main__':
    main()

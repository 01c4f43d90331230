#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_encryption
short_description: Enable or disable single-pass Azure Disk Encryption on a Linux VM, safely
version_added: 0.1.0
description:
  - O(state=encrypted) installs C(Microsoft.Azure.Security/AzureDiskEncryptionForLinux) version C(1.1)
    (single pass, no Azure AD application) with the settings C(az vm encryption enable) sends, and a fresh
    C(SequenceVersion) whenever it has to run again.
  - Before it changes anything it checks - the Key Vault exists, is enabled for disk encryption and sits in
    the VM's region and subscription; the vault name matches its URL; a KEK URL is versioned and has no port;
    the volume type only stays or widens to V(All); the VM is running; the deprecated
    C(Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux) is absent; no other extension operation is in
    progress (it waits up to O(busy_timeout) for it); the VM is not dual-pass (AAD, 0.1) - unless
    O(migrate_dual_pass=true), which moves it to single pass first.
  - Idempotent - a VM already encrypted as asked, or with that encryption in progress, is not changed.
  - O(state=decrypted) disables data volumes only, refuses when the OS volume is encrypted (Linux cannot
    decrypt it), waits for the decryption to succeed and only then removes the extension (disable, then
    remove - never the other way round).
  - Check mode validates everything and returns the request that would be sent.
  - O(state=encrypted) decides first, then acts - every refusal, the steps and the request body come from one pure
    plan (C(module_utils/cloud/enable_plan.py)) built from what was read; nothing is written before it is complete.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
  - azure_ade.linux.lease
  - azure_ade.linux.key_vault
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.actiongroup_azure
attributes:
  check_mode:
    support: full
    details: Validates everything and reports the request it would send; sends no write.
  diff_mode:
    support: none
options:
  state:
    description:
      - V(encrypted) enables ADE; V(decrypted) disables it on data volumes and removes the extension.
      - V(restarted) restarts the VM after a successful encryption (the check that its volumes unlock at boot) and
        waits until it runs with its agent Ready within O(timeout); refused while ADE is in progress (R4.1).
      - V(verified) records stage C(verified) in the VM's rollout record (needs O(snapshot_set)) once the platform shows
        this run's encryption succeeded; the encrypt playbook does it after V(restarted) and the guest showed its
        volumes on dm-crypt. Until then the snapshot set is kept (see M(azure_ade.linux.vm_snapshot) retention).
      - V(verify_failed) records stage C(verify_failed) in the VM's rollout record (needs O(snapshot_set)) when the restart
        check of this run failed. The encrypt playbook then sends the VM no restart on a re-run until the operator asks
        (role variable C(ade_retry_verify)); its snapshot set is kept. No write when already recorded.
      - V(restarted) and V(verified) are the rollout's restart check and its record, separate jobs that share this
        module's VM lookup, identity check and busy wait; their decisions are pure functions of
        C(module_utils/cloud/rollout.py) (C(restart_refusal), C(verify_problems)).
      - V(rotated) records a key rotation proved (the VM's rotation record C(azure_ade_rotate_stage) C(rotating) ->
        C(verified)) once the platform shows the rotation's C(SequenceVersion) succeeded with the disks stamped with its
        keys; the rotate playbook does it after the cold start and the guest showed its volumes on dm-crypt. Returns the
        old secret kept until then (RV(old_secrets)). No write when already recorded.
    type: str
    choices: [encrypted, decrypted, restarted, verified, verify_failed, rotated]
    default: encrypted
  restart_mode:
    description:
      - How O(state=restarted) restarts the VM. V(warm) (default) restarts it in place (C(restart)); the platform does
        not go back to Key Vault. V(cold) deallocates and starts it, as host maintenance, a resize or a redeploy do;
        the platform fetches the disk-encryption secret again, so the check proves that the next cold start finds
        its key (issue 16). Before the deallocate the module reads the VM's NICs and public IPs and refuses, with
        nothing sent, unless O(confirm_deallocate=true) accepts what it costs (a dynamic public IP changes, the
        resource disk is wiped; with EncryptFormatAll it is re-encrypted at boot). Returns RV(cold_start).
    type: str
    choices: [warm, cold]
    default: warm
  confirm_deallocate:
    description: Accepts the costs of O(restart_mode=cold) (see there).
    type: bool
    default: false
  volume_type:
    description:
      - Volumes to encrypt. Once set on a VM it can only stay the same or widen to V(All).
      - Required with O(state=encrypted). With O(state=decrypted) only V(Data) is accepted (Linux disables data
        volumes only).
    type: str
    choices: [OS, Data, All]
  encrypt_format_all:
    description:
      - Use C(EnableEncryptionFormatAll) - formats and encrypts every mounted data disk (needed for XFS/btrfs
        data volumes). This DESTROYS the data on them and on the resource disk; needs O(confirm_format_all=true).
    type: bool
    default: false
  confirm_format_all:
    description: Confirms that O(encrypt_format_all) may wipe the data disks.
    type: bool
    default: false
  passphrase:
    description: Passphrase for the volumes (protected setting); the extension generates one when omitted.
    type: str
  wait:
    description:
      - Wait until ADE reports a terminal phase (encrypted - succeeded/failed/restart pending;
        decrypted - decryption succeeded/failed). Removing the extension after a disable always waits.
      - The same default as every module of the collection that starts something it can wait for
        (M(azure_ade.linux.vm_snapshot), M(azure_ade.linux.vmss_encryption)) - the module returns when it is done.
        It was C(false) before 0.4.0; set O(wait=false) to return once Azure accepted the request (then wait with
        M(azure_ade.linux.vm_encryption_info) O(azure_ade.linux.vm_encryption_info#module:wait_for=completed), one
        call for a whole wave - what the C(azure_ade.linux.rollout) role does).
    type: bool
    default: true
  timeout:
    description: Seconds to wait (OS encryption takes hours); >= 0.
    type: int
    default: 86400
  poll_interval:
    description: Base poll interval in seconds while waiting (see M(azure_ade.linux.vm_encryption_info)); > 0.
    type: float
    default: 30
  busy_timeout:
    description:
      - Seconds to wait for another extension operation on the VM (or an ARM 409 conflict) to finish before
        failing. V(0) fails at once with the names of the busy extensions.
    type: int
    default: 0
  remove_extension:
    description: With O(state=decrypted), remove the ADE extension once the disable succeeded.
    type: bool
    default: true
  snapshot_set:
    description:
      - The snapshot set of the rollout this enable belongs to (M(azure_ade.linux.vm_snapshot) recorded it
        on the VM). When set, the module refuses to enable unless the VM's rollout record names this set as
        taken (stage C(snapshot_taken), or C(enabling) when an earlier PUT was not accepted), records
        stage C(enabling) with the new C(SequenceVersion) before the PUT and C(encrypting) once ARM accepted it,
        so that a re-run knows whether the platform's result belongs to this run. See docs/architecture.md.
      - The old name C(rollout_run) still works and is deprecated (one name for the set in every module).
    type: str
    aliases: [rollout_run]
  expected_vm_id:
    description:
      - An empty string is refused before any change (it never means "no check"); leave the option out for no check.
      - The guest's IMDS C(vmId). When set, the module refuses, before any change, a VM whose ARM C(vmId) differs.
    type: str
  encryption_identity:
    description:
      - ARM resource ID of a user-assigned managed identity of the VM that ADE uses to reach the Key Vault (as
        C(az vm encryption enable --encryption-identity)). It must already be assigned to the VM; it is written to
        C(securityProfile.encryptionIdentity) before the extension request. With an encryption identity the vault
        need not be enabled for disk encryption (the identity needs access to the vault instead); region and
        subscription checks stay.
    type: str
  migrate_dual_pass:
    description:
      - A VM encrypted with dual-pass ADE (Azure AD application, extension C(0.1), settings in the VM model) is refused
        unless this is V(true); then it is first migrated to single pass as Az PowerShell
        C(Set-AzVMDiskEncryptionExtension -Migrate) does - extension PUT at its dual-pass version with C(MigrateFlag)
        (the extension stamps the disks), VM model C(encryptionSettings.enabled=false), extension PUT at C(1.1) without
        the Azure AD settings, VM model settings cleared. No volume is re-encrypted. Each step is read back from Azure,
        so an interrupted run resumes at the step it stopped (the cmdlet cannot).
      - Refused before anything is written when the data volumes were encrypted in place by dual pass (detached LUKS
        header - the dual-pass extension refuses those), when the VM is not running, or when dual pass was disabled.
      - O(key_vault) and O(volume_type) may then be omitted - the VM keeps the vault, KEK and volume type it has (also
        on a re-run, once the VM was migrated).
        When given, the usual single-pass enable follows the migration (and may re-stamp or widen as usual).
      - Ignored for VMs that are not dual pass.
    type: bool
    default: false
    version_added: 0.3.0
  rotate:
    description:
      - A VM whose volumes ADE already encrypted, asked for with another O(key_vault) or another O(kek) (also a KEK
        added or removed), is a key rotation - the extension re-stamps every disk and writes a new secret, and on
        Ubuntu 22.04.5/24.04 a re-run of enable with a new KEK left the BEK volume empty so the next boot could not
        unlock (Azure/azure-linux-extensions issue 2035). Refused before anything is written unless this is V(true).
      - With V(true) the rotation is recorded in the VM's tags (C(azure_ade_rotate_stage) C(rotating) with the PUT's
        C(SequenceVersion), the target keys' digest and the old secret URL, written before the PUT; the encrypt
        rollout's record is not touched) and planned from that record (RV(rotation_plan)) - a re-run resumes a PUT ARM
        did not take, sends nothing while it runs or once it succeeded, and a proved rotation (O(state=rotated)) gets
        no write. A rotation starts only on a VM whose encrypt rollout is verified (or that has none) and whose
        extension succeeded. Until the rotation is proved, O(state=restarted) needs O(guest_bek).
    type: bool
    default: false
  added_disks:
    description:
      - Data disks added after the encryption (issue 16 item 4). On a VM whose ADE (VolumeType Data or All)
        succeeded, attached data disks without an ADE stamp stay plain - the guest agent re-runs the extension only for
        new settings. With V(true), and once M(azure_ade.linux.vm_snapshot) O(azure_ade.linux.vm_snapshot#module:luns)
        took the add-on set of exactly those disks (the VM's add-on record, tags C(azure_ade_addon_*)), the module
        re-sends the INSTALLED settings (the request must name the same vault, KEK and volume type) with a new
        C(SequenceVersion) (ADE's documented way to force a re-run; the extension encrypts and stamps the new volumes
        and leaves the encrypted ones alone). The add-on record moves to C(enabling) (with the SequenceVersion, before
        the PUT), C(encrypting) (ARM took it) and C(encrypted) (the new disks are stamped); a re-run resumes from it
        and sends nothing once the disks are stamped. The rollout record is not touched.
      - Refused before any write when a disk added later has no add-on set (snapshot it first), when the set holds
        other disks than the unstamped ones, or when the request's settings differ from the installed ones.
      - Not with O(snapshot_set) or O(rotate).
    type: bool
    default: false
  guest_bek:
    description:
      - O(state=restarted) of a VM whose key rotation is not proved yet (rotation record C(rotating)) - what the guest
        reports of its BEK volume - C(distribution) (guest_facts C(distribution.id)), C(version)
        (C(distribution.version_full), e.g. V(24.04.2)) and C(bek) (C(ade_state.bek) - C(mounted),
        C(passphrase_files) with C(name)/C(size)). On a distro of the issue-2035 class (Ubuntu 22.04.5, 24.04) a guest
        without a non-empty passphrase file on its BEK volume is refused before any write - its next boot would stop at
        the passphrase prompt; elsewhere it is a warning. Required while the rotation is not proved.
    type: dict
  prefer_encryption_at_host:
    description:
      - Before NEW ADE on a VM (no ADE extension yet) whose subscription has the C(EncryptionAtHost) feature
        registered and whose size supports encryption at host - V(warn) warns (ADE retires on 2028-09-15 and a VM
        that ever had ADE cannot get encryption at host in place), V(refuse) fails without writing anything,
        V(ignore) skips the check (and its two reads).
    type: str
    choices: [warn, refuse, ignore]
    default: warn
notes:
  - Azure-side exclusions are checked first - encryption at host, ephemeral OS disk, Ultra Disk or Premium SSD v2,
    unsupported sizes (Basic, A-series, v6 or newer, L family, HPC), the NVMe disk controller, confidential VMs,
    unmanaged disks, Windows, M-series with Write Accelerator, SSE with customer-managed keys. Any of them refuses the enable before anything
    is written (RV(ade_blockers); see RV(azure_ade.linux.vm_encryption_info#module:vms[].ade_blockers)).
  - Take a snapshot of every disk first (M(azure_ade.linux.vm_snapshot)); the docs make it mandatory.
seealso:
  - module: azure_ade.linux.vm_snapshot
  - module: azure_ade.linux.vm_encryption_info
  - module: azure_ade.linux.vm_restore
'''

EXAMPLES = r'''
- name: Encrypt OS and data volumes, wait until done
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm1
    key_vault: kv-app-westeurope
    volume_type: All
    wait: true
    timeout: 57600

- name: With a key encryption key from another resource group
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm1
    key_vault: /subscriptions/0000/resourceGroups/rg-sec/providers/Microsoft.KeyVault/vaults/kv1
    kek: https://kv1.vault.azure.net/keys/ade-kek/4f1c0e2d9b8a4c7e8f6a5b4c3d2e1f00
    volume_type: Data

- name: Move a dual-pass VM to single pass (keeps its vault, KEK and volume type)
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm-legacy
    migrate_dual_pass: true
- name: Disable data-volume encryption, then remove the extension
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm1
    state: decrypted

- name: Encrypt the data disks added after the encryption (their add-on set taken first with vm_snapshot luns)
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm1
    key_vault: kv-app
    volume_type: All
    added_disks: true
    wait: true

- name: Rotate to another key encryption key (the rotate playbook drives the whole guarded rollout)
  azure_ade.linux.vm_encryption:
    resource_group: rg-app
    name: vm1
    key_vault: kv-app
    kek: kek-2027
    volume_type: All
    rotate: true
'''

RETURN = r'''
changed:
  description: Whether ARM accepted a change (in check mode - whether one would be sent). A refused PUT is not a change.
  returned: always
  type: bool
actions:
  description:
    - What was (check mode - would be) done, in order - C(migrate_dual_pass), C(set_encryption_identity),
      C(put_extension), C(disable), C(remove_extension).
  returned: always
  type: list
  elements: str
reason:
  description: Why that decision.
  returned: always
  type: str
migration:
  description:
    - Dual pass -> single pass (O(migrate_dual_pass=true)) - C(steps) done (check mode - to do) out of C(stamp),
      C(disable_model), C(single_pass), C(clear_model); C(from_step) where this run started.
  returned: when the VM was (or is being) migrated from dual pass
  type: dict
request:
  description: The extension PUT body sent (or that would be sent); protected settings masked.
  returned: when a PUT is (or would be) sent
  type: dict
sequence_version:
  description: SequenceVersion of the request.
  returned: when a PUT is (or would be) sent
  type: str
stale_reads:
  description:
    - Reads right after the PUT that still showed the VM as before it (another or no SequenceVersion, or the
      previous run's very status) and were therefore not taken as this run's result; the module read again.
  returned: when a PUT was sent
  type: int
status:
  description: ADE status after the run (see RV(azure_ade.linux.vm_encryption_info#module:vms)).
  returned: always
  type: dict
rollout:
  description: The VM's rollout record after the run (snapshot_set, stage, seq, at, prev); see docs/architecture.md.
  returned: with O(state=encrypted)
  type: dict
history:
  description: Progress messages seen while waiting.
  returned: always
  type: list
  elements: dict
requests:
  description: HTTP requests made, by method and status.
  returned: always
  type: dict
ade_blockers:
  description: Azure-side reasons ADE is not supported on the VM ({id, message, source}); the enable is refused.
  returned: when O(state=encrypted)
  type: list
  elements: dict
kek_resolved:
  description: The versioned KEK URL a key name or unversioned URL in O(kek) resolved to.
  returned: when O(kek) was not a versioned URL
  type: str
encryption_identity:
  description: The encryption identity written to the VM (C(set_encryption_identity) in RV(actions)).
  returned: when written
  type: str
rotation:
  description:
    - The request is a key rotation - C(from_vault), C(to_vault), C(from_kek), C(to_kek), C(changes) (V(vault), V(kek)).
  returned: when the VM is encrypted and the request names another vault or KEK
  type: dict
rotation_plan:
  description:
    - With O(rotate=true) - what the key rotation does next, from its record (C(module_utils/cloud/rotation.py plan)) -
      V(start)/V(resume) (the PUT was sent), V(wait) (the rotation runs), V(verify) (succeeded, its cold-start proof
      pending), V(done) (proved, or already on these keys; nothing sent).
  returned: with O(rotate=true)
  type: str
rotation_reason:
  description: Why RV(rotation_plan) is what it is.
  returned: with O(rotate=true)
  type: str
rotation_record:
  description: The VM's key-rotation record - C(stage) (V(rotating), V(verified) or null), C(seq), C(to), C(old), C(at).
  returned: with O(rotate=true), O(state=rotated), and O(state=restarted) while a rotation is not proved
  type: dict
old_secrets:
  description: The secret URL(s) the VM used before the rotation, kept until the rotation was proved.
  returned: with O(state=rotated)
  type: list
  elements: str
addon_plan:
  description:
    - With O(added_disks=true) - what the add-on run does next (C(module_utils/cloud/addon.py plan_enable)) - V(none),
      V(enable), V(wait), V(record_encrypted) or V(stop).
  returned: with O(added_disks=true)
  type: str
addon:
  description: With O(added_disks=true) - the VM's add-on record (snapshot_set, stage, seq, members, ids, at).
  returned: with O(added_disks=true)
  type: dict
added_disks:
  description: With O(added_disks=true) - the LUNs of the data disks added after the encryption that carry no ADE stamp.
  returned: with O(added_disks=true)
  type: list
  elements: int
cold_start:
  description:
    - O(state=restarted) with O(restart_mode=cold) - C(costs) (list of C({id, message}), C(id) V(dynamic_public_ip) or
      V(resource_disk_wiped)) of the deallocate and C(confirmed) (O(confirm_deallocate)).
  returned: with restart_mode=cold
  type: dict
encryption_at_host_advice:
  description: The warning given (O(prefer_encryption_at_host=warn)) before new ADE on a VM that could use encryption at host.
  returned: when given
  type: str
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import addon, ade, compat, dual_pass, enable_plan, keyvault
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import cold_start, rollout, rotation
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import to_dict
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import VM_ARGSPEC, AzureModule, write_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import consistency
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.waits import record_history, wait_for_phase
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.snapshots import READ_ONLY_VM_PROPS


class Job:
    """One run of the module: the session, the (never changed) parameters, the result being built, the
    deadline; ``fail``/``finish`` end the run (exit_json/fail_json with the result)."""

    def __init__(self, base, session, start):
        self.base = base
        self.module = base.module
        self.check_mode = base.module.check_mode
        self.session = session
        self.p = base.params
        self.rg = self.p['resource_group']
        self.name = self.p['name']
        self.result = dict(changed=False, actions=[], reason=None, history=[])
        self.deadline = start + self.p['timeout']
        self.addon = False    # added_disks=true: the add-on run (issue 16 item 4)

    def finish(self, **kw):
        self.result.update(kw)
        for text in (self.result.get('status') or {}).get('warnings') or []:
            self.base.warn(text)       # e.g. attached data disks ADE skipped (not mounted)
        self.base.exit(**self.result)

    def fail(self, msg, **kw):
        self.result.update(kw)
        self.base.fail(msg, **self.result)

    def record(self, vm, stage, deadline, **kw):
        """Move the VM's rollout record to ``stage`` (one PATCH of its tags); the result carries the new record."""
        self.result['rollout'] = rollout.parse_record(write_record(self.session, self.rg, self.name, vm, stage, deadline,
                                                                   **kw))


STATES = {}   # state -> run function, filled below


def main():
    argument_spec = dict(VM_ARGSPEC,
                         state=dict(type='str', default='encrypted',
                                    choices=['encrypted', 'decrypted', 'restarted', 'verified', 'verify_failed', 'rotated']),
                         volume_type=dict(type='str', choices=list(ade.VOLUME_TYPES)),
                         encrypt_format_all=dict(type='bool', default=False), confirm_format_all=dict(type='bool', default=False),
                         passphrase=dict(type='str', no_log=True),
                         wait=dict(type='bool', default=True), timeout=dict(type='int', default=86400),
                         poll_interval=dict(type='float', default=30), busy_timeout=dict(type='int', default=0),
                         remove_extension=dict(type='bool', default=True),
                         snapshot_set=dict(type='str', aliases=['rollout_run'], deprecated_aliases=[
                             dict(name='rollout_run', version='2.0.0', collection_name='azure_ade.linux')]),
                         expected_vm_id=dict(type='str'),
                         prefer_encryption_at_host=dict(type='str', choices=list(compat.PREFER_EAH_CHOICES), default='warn'),
                         encryption_identity=dict(type='str'), migrate_dual_pass=dict(type='bool', default=False),
                         rotate=dict(type='bool', default=False), added_disks=dict(type='bool', default=False),
                         restart_mode=dict(type='str', choices=list(cold_start.MODES), default='warm'),
                         confirm_deallocate=dict(type='bool', default=False),
                         guest_bek=dict(type='dict'))
    argument_spec.update(ade.KEY_VAULT_ARGSPEC)
    base = AzureModule(
        argument_spec,
        required_if=[('state', 'verified', ('snapshot_set',)), ('state', 'verify_failed', ('snapshot_set',))],
        non_negative=('timeout', 'busy_timeout'), positive=('poll_interval',), lease=True,
        supports_check_mode=True,
    )
    p = base.params
    if p['added_disks'] and (p['state'] != 'encrypted' or p['snapshot_set'] or p['rotate'] or p['migrate_dual_pass']):
        base.fail('added_disks=true (the add-on run: data disks added after the encryption) works with state=encrypted '
                  'only, and not with snapshot_set, rotate or migrate_dual_pass. Nothing was sent to Azure.')
    if p['state'] == 'decrypted' and p['volume_type'] not in (None, 'Data'):
        base.fail("state=decrypted: Linux supports disabling ADE on data volumes only; use volume_type Data "
                  "(or omit it). An encrypted OS volume cannot be decrypted - restore from the snapshot")
    session = base.open_session()
    job = Job(base, session, time.time())
    try:
        vm = base.read_vm_leased(job.rg, job.name)
        if vm is None:
            job.fail('VM {0} not found in resource group {1}'.format(job.name, job.rg))
        err = rollout.identity_error(vm, p['expected_vm_id'])
        if err:
            job.fail(err)
        if p['state'] not in ('verify_failed', 'rotated'):   # a tags-only record: never held up by a busy extension
            vm = wait_not_busy(job, vm)
        STATES[p['state']](job, vm, compute_status(vm))
    except enable_plan.Refusal as exc:
        job.fail(exc.msg, **exc.extra)
    except (rollout.RolloutError, rotation.RotationError, addon.AddonError) as exc:
        job.fail(str(exc))
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_encryption {0}/{1}'.format(job.rg, job.name), exc, actions=job.result['actions'],
                        changed=job.result['changed'], request=job.result.get('request'))


def wait_not_busy(job, vm):
    """R1.3: serialise with other extension operations (wait up to busy_timeout for them). Returns the VM."""
    p = job.p
    busy = ade.busy_extensions(vm)
    busy_wait = Poller(p['busy_timeout'], base_delay=min(p['poll_interval'], 5.0))
    while busy and busy_wait.remaining() > 0:
        busy_wait.pause(min(max(p['poll_interval'], 1), busy_wait.remaining()))
        vm = busy_wait.call(lambda: job.session.get_vm(job.rg, job.name), 'GET VM {0}'.format(job.name))
        busy = ade.busy_extensions(vm)
    if busy:
        job.fail("VM {0}: other extension operations are in progress: {1}. ADE must not run at the same time as "
                 "other extensions or custom scripts; wait for them (or set busy_timeout) and run again"
                 .format(job.name, ', '.join(busy)), status=compute_status(vm))
    return vm


# ---- state=restarted / state=verified: the rollout's restart check and its record (separate jobs) ------------

def run_restart(job, vm, status):
    """Restart the VM (the post-encryption check that the volumes unlock at boot) and wait until it runs with
    its agent Ready again. Refused while the encryption is in progress (R4.1: never restart mid-encryption)."""
    p = job.p
    refusal = rollout.restart_refusal(job.name, status)
    if refusal:
        job.fail(refusal, status=status)
    rot_record = rotation.parse_record(vm.get('tags'))
    if rot_record['stage'] == 'rotating':
        # issue 16 item 3 (issue 2035): a key rotation not proved yet - before any reboot the guest must still hold
        # a usable passphrase file on its BEK volume (guest_facts ade_state.bek); refused before any write
        job.result['rotation_record'] = rot_record
        refusal, warning = rotation.reboot_refusal(job.name, p['guest_bek'])
        if refusal:
            job.fail(refusal, status=status)
        if warning:
            job.base.warn(warning)
    cold = p['restart_mode'] == 'cold'
    if cold:
        # issue 16 item 2: only a start after a deallocate makes the platform fetch the secret again; say what the
        # deallocate costs and refuse before any write unless confirmed (module_utils/cloud/cold_start.py)
        nics = [n for n in (job.session.arm_get(i, '2023-09-01') for i in cold_start.nic_ids(vm)) if n]
        pips = [x for x in (job.session.arm_get(i, '2023-09-01') for i in cold_start.public_ip_ids(nics)) if x]
        found = cold_start.costs(vm, pips, format_all=status.get('operation') == 'EnableEncryptionFormatAll')
        job.result['cold_start'] = dict(costs=found, confirmed=p['confirm_deallocate'])
        refusal = cold_start.refusal(job.name, found, p['confirm_deallocate'])
        if refusal:
            job.fail(refusal, status=status)
    job.result.update(changed=True, actions=['deallocate', 'start'] if cold else ['restart'])
    if job.check_mode:
        job.finish(status=status)
    steps = [('deallocating', job.session.deallocate_vm), ('starting', job.session.start_vm)] if cold else \
        [('restarting', job.session.restart_vm)]
    for what, call in steps:
        job.session.retry_conflicts(lambda call=call: call(job.rg, job.name),
                                    time.time() + max(p['busy_timeout'], 600), what + ' the VM',
                                    interval=conflict_interval(p))
    waiter = Poller(max(0.0, job.deadline - time.time()), base_delay=min(p['poll_interval'], 5.0))
    while True:
        vm = waiter.call(lambda: job.session.get_vm(job.rg, job.name), 'GET VM')
        if ade.power_state(vm) == 'running' and agent_ready(vm):
            break
        if not waiter.pause(p['poll_interval']):
            job.fail(cold_start.hang_message(job.name, p['restart_mode'], p['timeout'], ade.power_state(vm),
                                             rollout.BOOT_HANG_ADVICE), status=compute_status(vm))
    job.finish(status=compute_status(vm))


def _record_check(job, vm, status, stage, problems):
    """Record the outcome of the rollout's restart check (stage 'verified' or 'verify_failed') once: refused with the
    problems that forbid it, no write when the record already says so."""
    if problems:
        job.fail('not recording {0} as {1}: {2}'.format(job.name, stage, '; '.join(problems)), status=status)
    if job.result['rollout']['stage'] == stage:
        job.finish(status=status)
    job.result.update(changed=True, actions=['record_' + stage])
    if job.check_mode:
        job.finish(status=status)
    job.record(vm, stage, time.time() + max(job.p['busy_timeout'], 300))
    job.finish(status=status)


def run_verified(job, vm, status):
    """Record stage 'verified' once the platform shows this run's encryption succeeded (the playbook checked the
    guest's volumes after the restart first)."""
    record = job.result['rollout'] = rollout.parse_record(vm.get('tags'))
    _record_check(job, vm, status, 'verified', rollout.verify_problems(record, status, job.p['snapshot_set']))


def run_verify_failed(job, vm, status):
    """Record stage 'verify_failed': this run's restart check failed; a re-run of the rollout leaves the VM alone
    (no restart) until the operator asks for another check (issue 16)."""
    record = job.result['rollout'] = rollout.parse_record(vm.get('tags'))
    _record_check(job, vm, status, 'verify_failed', rollout.verify_failed_problems(record, job.p['snapshot_set']))


def run_rotated(job, vm, status):
    """Record the key rotation proved (rotation record stage 'verified') once the platform shows the rotation's
    SequenceVersion succeeded on the disks' keys and the playbook saw the guest unlocked after the cold start. The old
    secret (kept until now) is named in the result: from now on it may be disabled."""
    record = job.result['rotation_record'] = rotation.parse_record(vm.get('tags'))
    job.result['old_secrets'] = [record['old']] if record['old'] else []
    if record['stage'] == 'verified':
        job.finish(status=status)
    problems = rotation.verify_problems(record, status)
    if problems:
        job.fail('not recording the key rotation of {0} as verified: {1}'.format(job.name, '; '.join(problems)),
                 status=status)
    job.result.update(changed=True, actions=['record_rotation_verified'])
    if job.check_mode:
        job.finish(status=status)
    record_rotation(job, vm, 'verified', time.time() + max(job.p['busy_timeout'], 300), to=record['to'])
    job.finish(status=status)


def record_rotation(job, vm, stage, deadline, **kw):
    """Move the VM's key-rotation record to ``stage`` (one PATCH of its tags; the encrypt rollout's record stays)."""
    tags = rotation.transition(rotation.parse_record(vm.get('tags')), stage, **kw)
    full = rotation.merged_tags(vm.get('tags'), tags)
    job.session.retry_conflicts(lambda: job.session.update_vm_tags(job.rg, job.name, full), deadline,
                                'recording rotation stage {0}'.format(stage), interval=5.0)
    vm['tags'] = full
    job.result['rotation_record'] = rotation.parse_record(full)


def agent_ready(vm):
    agent = (ade.instance_view(vm).get('vmAgent') or {}).get('statuses') or []
    return any((s.get('displayStatus') or '').lower() == 'ready' for s in agent)


# ---- state=encrypted: decide (module_utils/cloud/enable_plan.py), then act -------------------------------------

def run_encrypt(job, vm, status):
    p, session, result = job.p, job.session, job.result
    if ade.is_dual_pass(vm) and p['migrate_dual_pass']:
        vm, status = run_migrate(job, vm, status)
    # Decide: reads only, then the pure plan (refusals raise enable_plan.Refusal; nothing is written before).
    want = enable_plan.wanted(p, vm)
    pre = enable_plan.precheck(want, vm, status, session.subscription_id, job.rg)
    result['ade_blockers'] = pre['blockers']
    kek_url, kek_errors = want['kek'], ()
    if want['kek']:
        # KEK by name / unversioned / versioned URL: resolved to the current version and checked (exists, enabled,
        # RSA) on the Key Vault data plane, as az does (module_utils/cloud/keyvault.py).
        kek_url, kek_errors = keyvault.resolve_kek(session, want['kek'], pre['kek_vault_name'])
    vault = session.get_key_vault(pre['vault_id'])
    kek_vault = None
    if pre['kek_vault_id'] and pre['kek_vault_id'].lower() != pre['vault_id'].lower():
        kek_vault = session.get_key_vault(pre['kek_vault_id'])
    plan = enable_plan.decide(want, pre, vm, status, vault, kek_vault, kek_url, kek_errors,
                              session.plan['cloud']['keyvault_suffix'], snapshot_set=p['snapshot_set'],
                              passphrase=p['passphrase'], check_mode=job.check_mode)
    if p['added_disks']:
        plan_added_disks(job, vm, status, plan)
    rot = rotation.detect(status, pre['vault_id'], plan['kek_resolved'] or kek_url)   # issue 16: another vault/KEK
    if rot:
        result['rotation'] = rot
        if not p['rotate']:
            job.fail(rotation.refusal(vm['name'], rot), status=status)
    if p['rotate']:
        # issue 16 item 3: the rotation as a guarded rollout, recorded in the VM's tags (module_utils/cloud/rotation.py)
        rplan = rotation.plan(rotation.parse_record(vm.get('tags')), status, pre['vault_id'],
                              (plan['kek_resolved'] or kek_url) if want['kek'] else None, rotate=True)
        result.update(rotation_plan=rplan['action'], rotation_record=rplan['record'])
        if rplan['action'] == 'start':
            refusal = rotation.start_refusal(vm['name'], rollout.parse_record(vm.get('tags'))['stage'], status)
            if refusal:
                job.fail(refusal, status=status)
        if rplan['action'] == 'stop':
            job.fail('key rotation of {0}: {1}'.format(vm['name'], rplan['reason']), status=status)
        if rplan['action'] in ('start', 'resume'):
            if plan['action'] != 'enable':
                job.fail('key rotation of {0}: planned {1} but the enable plan is {2} ({3})'.format(
                    vm['name'], rplan['action'], plan['action'], plan['reason']), status=status)
            keep = [s for s in plan['steps'] if s == 'set_encryption_identity']
            plan['steps'] = keep + ['record_rotating', 'put_extension']
            plan['rotation_target'] = rplan['target']
            plan['rotation_old'] = (rotation.current_secrets(status) or [None])[0] \
                if rplan['action'] == 'start' else None
        result['rotation_reason'] = rplan['reason']
    result['reason'] = plan['reason']
    if plan['kek_resolved']:
        result['kek_resolved'] = plan['kek_resolved']
    if plan['eah_check']:
        msg, advice, _eah = compat.eah_advice(session, vm, status, p['prefer_encryption_at_host'])
        enable_plan.eah_refusal(msg, status, plan, pre)
        if advice:
            job.module.warn(advice)
            result['encryption_at_host_advice'] = advice
    result['rollout'] = plan['record']
    act_encrypt(job, vm, status, plan, pre)


def plan_added_disks(job, vm, status, plan):
    """issue 16 item 4: the add-on run from the VM's add-on record (module_utils/cloud/addon.py plan_enable). Turns the
    enable plan into the add-on's steps - a forced re-run of the installed settings (new SequenceVersion) - or fails
    before any write."""
    record = addon.parse_record(vm.get('tags'))
    ap = addon.plan_enable(record, status, vm)
    job.addon = True
    job.result.update(addon_plan=ap['action'], addon=record, added_disks=ap['luns'])
    if ap['action'] == 'stop':
        job.fail('add-on encryption of {0}: {1}'.format(job.name, ap['reason']), status=status)
    if plan['action'] == 'enable':
        job.fail('add-on encryption of {0}: the request differs from the installed extension ({1}); the add-on run '
                 're-sends the installed settings only - name the vault, KEK and volume type the VM was encrypted with '
                 '(nothing was sent)'.format(job.name, plan['reason']), status=status)
    keep = [s for s in plan['steps'] if s == 'set_encryption_identity']
    if ap['action'] == 'enable':
        body = ade.build_extension_body(vm['location'], plan['settings'], job.p['passphrase'])
        plan.update(action='enable', body=body, request=ade.redact_body(body),
                    steps=keep + ['record_addon_enabling', 'put_extension', 'record_addon_accepted'])
    else:
        plan['steps'] = keep + (['record_addon_encrypted'] if ap['action'] == 'record_encrypted' else [])
    plan['reason'] = ap['reason']


def record_addon(job, vm, stage, deadline, **kw):
    """Move the VM's add-on record to ``stage`` (one PATCH of its tags; the rollout record stays)."""
    tags = addon.transition(addon.parse_record(vm.get('tags')), stage, **kw)
    full = addon.merged_tags(vm.get('tags'), tags)
    job.session.retry_conflicts(lambda: job.session.update_vm_tags(job.rg, job.name, full), deadline,
                                'recording add-on stage {0}'.format(stage), interval=5.0)
    vm['tags'] = full
    job.result['addon'] = addon.parse_record(full)


def finish_addon(job, status):
    """After the add-on's run succeeded: record it encrypted once its disks are stamped (one read, one tag write)."""
    if not job.addon or job.check_mode or status.get('phase') != 'succeeded':
        return status
    waiter = Poller(consistency.stale_grace(), base_delay=min(job.p['poll_interval'], 5.0))
    while True:
        vm = waiter.call(lambda: job.session.get_vm(job.rg, job.name), 'GET VM')
        status = compute_status(vm)
        ap = addon.plan_enable(addon.parse_record(vm.get('tags')), status, vm)
        # a read right after the PUT can still show the last run's success with the new disks unstamped (stale)
        if not (ap['action'] == 'stop' and status.get('phase') == 'succeeded' and ap['luns']) or \
                not waiter.pause(job.p['poll_interval']):
            break
    job.result.update(addon_plan=ap['action'], added_disks=ap['luns'])
    if ap['action'] == 'stop':
        job.fail('add-on encryption of {0}: {1}'.format(job.name, ap['reason']), status=status)
    if ap['action'] == 'record_encrypted':
        record_addon(job, vm, 'encrypted', time.time() + max(job.p['busy_timeout'], 300))
        job.result.update(changed=True, actions=job.result['actions'] + ['record_addon_encrypted'])
    return status


def act_encrypt(job, vm, status, plan, pre):
    """Run the plan's steps (enable_plan: set_encryption_identity, record_encrypting | record_enabling,
    put_extension, record_accepted), then settle / wait."""
    p, session, result = job.p, job.session, job.result
    history = result['history']
    steps = plan['steps']
    if 'set_encryption_identity' in steps:
        result.update(changed=True, actions=['set_encryption_identity'], encryption_identity=pre['identity_change'])
        if not job.check_mode:
            compat.set_encryption_identity(session, job.rg, job.name, pre['identity_change'])
    if plan['action'] == 'none':
        record_history(history, status, time.time())
        if 'record_encrypting' in steps:
            job.record(vm, 'encrypting', time.time() + max(p['busy_timeout'], 60))
        if 'record_addon_encrypted' in steps:
            result.update(changed=True, actions=result['actions'] + ['record_addon_encrypted'])
            if job.check_mode:
                job.finish(status=status)
            record_addon(job, vm, 'encrypted', time.time() + max(p['busy_timeout'], 60))
        if p['wait'] and status['phase'] == 'in_progress' and not job.check_mode:
            status, timed_out = wait_for_phase(session, job.rg, job.name, job.deadline, p['poll_interval'], history)
            check_final(job, status, timed_out)
            status = finish_addon(job, status)
        job.finish(status=status)
    seq = plan['settings']['SequenceVersion']
    result.update(request=plan['request'], sequence_version=seq)
    if job.check_mode:
        result.update(changed=True, actions=result['actions'] + ['put_extension'])
        job.finish(status=status)
    busy_deadline = time.time() + p['busy_timeout']
    # The status before the PUT: a read after it showing exactly this is stale (cloud/consistency.py). Not for the
    # add-on run: it ends with the very status it started from ('Encryption succeeded for data volumes', data
    # Encrypted); its fresh proof is the stamp on the new disks (finish_addon).
    before = None if job.addon else consistency.fingerprint(status)
    if 'record_rotating' in steps:
        # A key rotation's intent first (its own record; the encrypt rollout's record is not touched): a re-run compares
        # this SequenceVersion with the extension's to know whether ARM took the PUT.
        record_rotation(job, vm, 'rotating', busy_deadline + 60, seq=seq, to=plan['rotation_target'],
                        old=plan['rotation_old'])
    if 'record_enabling' in steps:
        # Intent first: if the control node dies after the PUT, the re-run compares this SequenceVersion with the
        # extension's to know whether ARM took it.
        job.record(vm, 'enabling', busy_deadline + 60, seq=seq, prev=before)
    if 'record_addon_enabling' in steps:
        record_addon(job, vm, 'enabling', busy_deadline + 60, seq=seq)   # the add-on's intent, same reason
    poller = session.retry_conflicts(
        lambda: session.begin_put_extension(job.rg, job.name, ade.EXTENSION_NAME, plan['body']),
        busy_deadline, 'enabling ADE', interval=conflict_interval(p))
    # ARM accepted the PUT: from here on the VM changed.
    result.update(changed=True, actions=result['actions'] + ['put_extension'])
    try:
        ext = to_dict(poller.result())
        lro_error = None
    except Exception as exc:  # pylint: disable=broad-except
        ext, lro_error = None, exc
    if 'record_accepted' in steps:
        # Recorded once the PUT's operation ended (the VM refuses tag updates while it runs).
        vm_now = session.get_vm(job.rg, job.name, instance_view=False) or vm
        job.record(vm_now, 'encrypting', time.time() + max(p['busy_timeout'], 300))
    if 'record_addon_accepted' in steps:
        vm_now = session.get_vm(job.rg, job.name, instance_view=False) or vm
        record_addon(job, vm_now, 'encrypting', time.time() + max(p['busy_timeout'], 300))
    if lro_error is not None:
        raise lro_error
    prov = ((ext or {}).get('properties') or {}).get('provisioningState')
    if prov != 'Succeeded':
        job.fail("the ADE extension was not provisioned correctly (provisioningState {0})".format(prov))
    status, stale = settle(session, p, seq, before)
    result['stale_reads'] = stale
    record_history(history, status, time.time())
    if status['phase'] == 'failed':
        job.fail('ADE failed on {0}: {1}'.format(job.name, status['progress_message']), status=status)
    if p['wait'] and status['phase'] == 'in_progress':
        status, timed_out = wait_for_phase(session, job.rg, job.name, job.deadline, p['poll_interval'], history)
        check_final(job, status, timed_out)
    status = finish_addon(job, status)
    job.finish(status=status)


def settle(session, p, seq, before, sleep=time.sleep, now=time.time):
    """Read the VM until the read shows this PUT (SequenceVersion ``seq``, a status other than ``before``):
    right after the PUT, ARM can still show the previous run's status or the VM as before the PUT. At most
    consistency.stale_grace() seconds; returns (status, number of stale reads)."""
    guard = consistency.StaleGuard()
    key = (p['resource_group'].lower(), p['name'].lower())
    while True:
        vm = session.get_vm(p['resource_group'], p['name'])
        status = compute_status(vm)
        if not guard.holds(key, status, seq, before, now()):
            return status, guard.count.get(key, 0)
        sleep(max(0.2, min(p['poll_interval'], 5.0)))


def run_migrate(job, vm, status):
    """Dual pass -> single pass (module_utils/cloud/dual_pass.py), step by step, each read back from Azure.
    Returns the VM and status once it is single pass; in check mode finishes with the steps it would take."""
    p, session, result, fail = job.p, job.session, job.result, job.fail
    rg, name = job.rg, job.name
    step, reason, err = dual_pass.next_step(vm)
    if err:
        fail('refusing to migrate {0} from dual pass: {1}'.format(name, err), status=status)
    errors = dual_pass.preconditions(vm, step)
    if errors:
        fail('refusing to migrate {0} from dual pass: {1}'.format(name, ' | '.join(errors)), errors=errors,
             status=status)
    migration = result['migration'] = dict(from_step=step, steps=[], reason=reason)
    if job.check_mode:
        todo = list(dual_pass.STEPS[dual_pass.STEPS.index(step):]) if step in dual_pass.STEPS else []
        migration['steps'] = todo
        result.update(changed=bool(todo), actions=['migrate_dual_pass'] if todo else [])
        if step in ('stamp', 'single_pass'):
            result['request'] = dual_pass.extension_body(vm, step)
        job.finish(status=status)
    while step in dual_pass.STEPS:
        def call(step=step, vm=vm):
            if step in ('stamp', 'single_pass'):
                return session.put_extension(rg, name, ade.EXTENSION_NAME, dual_pass.extension_body(vm, step))
            return session.put_vm(rg, name, dual_pass.vm_body(vm, step, READ_ONLY_VM_PROPS))
        try:
            session.retry_conflicts(call, time.time() + max(p['busy_timeout'], 60),
                                    'migrating from dual pass ({0})'.format(step), interval=conflict_interval(p))
        except Exception:  # pylint: disable=broad-except
            vm = session.get_vm(rg, name) or vm
            err = dual_pass.next_step(vm)[2]
            fail('migrating {0} from dual pass: step {1} failed: {2}'.format(name, step, err or 'see the status'),
                 status=compute_status(vm))
        migration['steps'].append(step)
        result.update(changed=True, actions=['migrate_dual_pass'])
        vm = session.get_vm(rg, name)
        nxt, reason, err = dual_pass.next_step(vm)
        if err or nxt == step:
            fail('migrating {0} from dual pass: after step {1}: {2}'.format(name, step, err or 'no progress'),
                 status=compute_status(vm))
        step = nxt
    return vm, compute_status(vm)


def conflict_interval(p):
    """Seconds between retries of a 409-conflicted write (Retry-After wins when Azure sends one)."""
    return max(1.0, min(15.0, p['poll_interval']))


def check_final(job, status, timed_out):
    p, fail = job.p, job.fail
    if timed_out:
        fail('timeout after {0}s: ADE on {1} still {2} ({3})'.format(
            p['timeout'], p['name'], status['phase'], status['progress_message']), status=status)
    if status['phase'] == 'failed':
        fail('ADE failed on {0}: {1}. Restore the VM from the snapshot taken before encryption (vm_restore), '
             'fix the cause (preflight) and retry'.format(p['name'], status['progress_message']), status=status)


def run_decrypt(job, vm, status):
    p, session, result, fail, finish = job.p, job.session, job.result, job.fail, job.finish
    actions, reason, error = ade.decide_disable(vm, status, p['remove_extension'])
    if error:
        fail('refusing to disable ADE: ' + error, status=status)
    result['reason'] = reason
    history = result['history']
    record_history(history, status, time.time())
    if not actions:
        finish(status=status)
    result.update(changed=True, actions=list(actions))
    if 'disable' in actions:
        ext = ade.find_ade_extension(vm)
        settings = ade.build_disable_settings()
        body = ade.build_extension_body(vm['location'], settings,
                                        version=(ext or {}).get('type_handler_version') or ade.SINGLE_PASS_VERSION)
        result.update(request=ade.redact_body(body), sequence_version=settings['SequenceVersion'])
    if job.check_mode:
        finish(status=status)
    done_actions = []
    if 'disable' in actions:
        ext_res = session.retry_conflicts(
            lambda: session.put_extension(p['resource_group'], p['name'], ade.EXTENSION_NAME, body),
            time.time() + p['busy_timeout'], 'disabling ADE', interval=conflict_interval(p))
        done_actions.append('disable')
        result['actions'] = done_actions
        prov = ((ext_res or {}).get('properties') or {}).get('provisioningState')
        if prov != 'Succeeded':
            fail("disabling ADE: extension update did not succeed (provisioningState {0}); the extension was NOT "
                 "removed".format(prov))
        if not (p['wait'] or 'remove_extension' in actions):
            vm = session.get_vm(p['resource_group'], p['name'])
            finish(status=compute_status(vm))

        def disabled(st):
            return st['operation'] == ade.DISABLE_OP and st['phase'] in ('succeeded', 'failed')
        status, timed_out = wait_for_phase(session, p['resource_group'], p['name'], job.deadline, p['poll_interval'],
                                           history, done=disabled)
        if timed_out:
            fail('timeout after {0}s waiting for the decryption of {1} ({2}); the extension was NOT removed (remove '
                 'it only after decryption succeeded)'.format(p['timeout'], p['name'], status['progress_message']),
                 status=status)
        if status['phase'] != 'succeeded':
            fail('decryption failed on {0}: {1}; the extension was NOT removed'.format(
                p['name'], status['progress_message']), status=status)
    if 'remove_extension' in actions:
        session.retry_conflicts(
            lambda: session.delete_extension(p['resource_group'], p['name'], ade.EXTENSION_NAME),
            time.time() + p['busy_timeout'], 'removing the ADE extension', interval=conflict_interval(p))
        done_actions.append('remove_extension')
        result['actions'] = done_actions
    vm = session.get_vm(p['resource_group'], p['name'])
    finish(status=compute_status(vm))


STATES.update(encrypted=run_encrypt, decrypted=run_decrypt, restarted=run_restart, verified=run_verified,
              verify_failed=run_verify_failed, rotated=run_rotated)


if __name__ == '__main__':
    main()

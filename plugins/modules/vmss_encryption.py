#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vmss_encryption
short_description: Enable or disable Azure Disk Encryption on the data volumes of a Linux scale set
version_added: 0.3.0
description:
  - Puts the ADE extension (C(Microsoft.Azure.Security/AzureDiskEncryptionForLinux) 1.1, single pass) into the model
    of a Uniform scale set, as C(Set-AzVmssDiskEncryptionExtension) does (C(az vmss encryption enable) writes the same
    entry), with a new C(forceUpdateTag) so that every instance runs it.
  - Linux scale sets take data volumes only - O(volume_type) other than V(Data) is refused (az, Az PowerShell and the
    docs agree). So are Flexible scale sets (their instances are VMs - use M(azure_ade.linux.vm_encryption)),
    Windows, ephemeral OS disks, unmanaged disks, the NVMe disk controller and sizes ADE does not support; all before
    anything is written. The Key Vault is checked as for a VM (exists, enabled for disk encryption, same region and
    subscription); a KEK is resolved and checked on the Key Vault data plane.
  - With upgrade mode C(Manual) the instances run the extension only once updated - O(upgrade_instances=true) updates
    those without the latest model (C(az vmss update-instances)); otherwise the result lists them and warns.
  - Idempotent - a model that already asks for the same settings is not changed.
  - O(state=decrypted) puts C(DisableEncryption) for the data volumes (as C(az vmss encryption disable)).
  - Take snapshots of the instances' data disks first if their data matters; scale-set instances are usually
    rebuilt from their image instead.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
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
  resource_group:
    description: Resource group of the scale set.
    type: str
    required: true
  name:
    description: Scale set name.
    type: str
    required: true
    aliases: [vmss_name]
  state:
    description: V(encrypted) enables ADE on the data volumes; V(decrypted) disables it.
    type: str
    choices: [encrypted, decrypted]
    default: encrypted
  volume_type:
    description: Only V(Data) is supported on Linux scale sets; V(OS) and V(All) are refused with the reason.
    type: str
    choices: [OS, Data, All]
    default: Data
  upgrade_instances:
    description: Update the instances that do not run the latest model (upgrade mode C(Manual)) so that they run ADE.
    type: bool
    default: false
  wait:
    description:
      - Wait until every instance is terminal (succeeded or failed) or waits for an upgrade.
      - The same default as every module of the collection that starts something it can wait for
        (M(azure_ade.linux.vm_encryption), M(azure_ade.linux.vm_snapshot)). It was C(false) before 0.4.0; set
        O(wait=false) to return once Azure accepted the request.
    type: bool
    default: true
  timeout:
    description: Seconds to wait; >= 0.
    type: int
    default: 86400
  poll_interval:
    description: Seconds between polls while waiting; > 0.
    type: float
    default: 30
seealso:
  - module: azure_ade.linux.vmss_encryption_info
  - module: azure_ade.linux.vm_encryption
'''
EXAMPLES = r'''
- name: Encrypt the data volumes of every instance, update Manual-mode instances, wait
  azure_ade.linux.vmss_encryption:
    resource_group: rg-app
    name: ss-web
    key_vault: kv-app
    upgrade_instances: true
    wait: true
'''
RETURN = r'''
changed:
  description: Whether Azure accepted a change (check mode - whether one would be sent).
  returned: always
  type: bool
actions:
  description: What was (check mode - would be) done - C(put_extension), C(update_instances).
  returned: always
  type: list
  elements: str
reason:
  description: Why that decision.
  returned: always
  type: str
request:
  description: The scale-set extension PUT body sent (or that would be sent).
  returned: when a PUT is (or would be) sent
  type: dict
updated_instances:
  description: Instance IDs updated to the latest model (or that would be).
  returned: when O(upgrade_instances=true)
  type: list
  elements: str
status:
  description: The scale set's ADE status, see RV(azure_ade.linux.vmss_encryption_info#module:scale_sets).
  returned: always
  type: dict
ade_blockers:
  description: Reasons ADE is refused on the scale set ({id, message, source}).
  returned: always
  type: list
  elements: dict
requests:
  description: HTTP requests made, by method and status.
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import ade, keyvault, vmss
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import to_dict
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller


def main():
    argument_spec = dict(resource_group=dict(type='str', required=True), name=dict(type='str', required=True, aliases=['vmss_name']),
                         state=dict(type='str', choices=['encrypted', 'decrypted'], default='encrypted'),
                         volume_type=dict(type='str', choices=list(ade.VOLUME_TYPES), default='Data'),
                         upgrade_instances=dict(type='bool', default=False), wait=dict(type='bool', default=True),
                         timeout=dict(type='int', default=86400), poll_interval=dict(type='float', default=30))
    argument_spec.update(ade.KEY_VAULT_ARGSPEC)
    base = AzureModule(
        argument_spec,
        required_if=[('state', 'encrypted', ('key_vault',))],
        non_negative=('timeout',), positive=('poll_interval',), supports_check_mode=True)
    module, p = base.module, base.params
    session = base.open_session()
    rg, name = p['resource_group'], p['name']
    result = dict(changed=False, actions=[], reason=None)
    try:
        ss = to_dict(session.compute.virtual_machine_scale_sets.get(rg, name))
        result['ade_blockers'] = found = vmss.blockers(ss, p['volume_type'])
        if found:
            base.fail('refusing ADE on scale set {0}: {1}'.format(name, ' | '.join(
                '[{0}] {1}'.format(b['id'], b['message']) for b in found)), **result)
        settings = settings_for(base, session, p, ss, result)
        action, result['reason'] = vmss.decide(ss, settings)
        ext = vmss.model_extension(ss)
        if action == 'put':
            body = vmss.extension_body(settings, (ext or {}).get('type_handler_version') or vmss.SINGLE_PASS_VERSION)
            result.update(request=body, changed=True, actions=['put_extension'])
            if not module.check_mode:
                session.retry_conflicts(lambda: session.compute.virtual_machine_scale_set_extensions.begin_create_or_update(
                    rg, name, (ext or {}).get('name') or ade.EXTENSION_NAME, body).result(),
                    time.time() + 600, 'putting the ADE extension into the scale-set model')
                ss = to_dict(session.compute.virtual_machine_scale_sets.get(rg, name))
        status = vmss.read_status(session, rg, ss)
        if module.check_mode and action == 'put':
            # not sent: every instance would lack the new model in Manual mode
            manual = status['upgrade_mode'] == 'Manual'
            status['pending_upgrade'] = [r['instance_id'] for r in status['instances']] if manual else []
        if status['pending_upgrade']:
            if p['upgrade_instances']:
                result.update(updated_instances=list(status['pending_upgrade']), changed=True,
                              actions=result['actions'] + ['update_instances'])
                if not module.check_mode:
                    ids = list(status['pending_upgrade'])
                    session.retry_conflicts(lambda: session.compute.virtual_machine_scale_sets.begin_update_instances(
                        rg, name, {'instanceIds': ids}).result(), time.time() + 600, 'updating the instances')
                    status = vmss.read_status(session, rg, ss)
            else:
                base.warn('scale set {0}: instance(s) {1} do not run the latest model (upgrade mode {2}), so they do '
                          'not run ADE yet; set upgrade_instances: true (or az vmss update-instances)'.format(
                              name, ', '.join(status['pending_upgrade']), status['upgrade_mode']))
        if p['wait'] and not module.check_mode:
            status = wait(session, rg, ss, p, status)
        result['status'] = status
        if status['phase'] == 'failed':
            bad = [r for r in status['instances'] if r['phase'] == 'failed']
            base.fail('ADE failed on scale set {0}, instance(s) {1}: {2}'.format(
                name, ', '.join(r['instance_id'] for r in bad), bad[0]['progress_message'] if bad else ''), **result)
        if p['wait'] and not module.check_mode and status['phase'] == 'in_progress':
            base.fail('timeout after {0}s: ADE on scale set {1} still in progress ({2})'.format(
                p['timeout'], name, status['counts']), **result)
        base.exit(**result)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vmss_encryption {0}/{1}'.format(rg, name), exc, **result)


def settings_for(base, session, p, ss, result):
    """The public settings to put, after the Key Vault checks (as for a VM)."""
    if p['state'] == 'decrypted':
        return ade.build_disable_settings()
    vault_rg = p['key_vault_resource_group'] or p['resource_group']
    vault_id, err = ade.resolve_vault_id(p['key_vault'], session.subscription_id, vault_rg)
    if err:
        base.fail(err, **result)
    kek_vault_id = vault_id
    if p['kek_vault']:
        kek_vault_id, err = ade.resolve_vault_id(p['kek_vault'], session.subscription_id, vault_rg)
        if err:
            base.fail('kek_vault: ' + err, **result)
    kek = p['kek']
    if kek:
        kek, errors = keyvault.resolve_kek(session, kek, (ade.parse_resource_id(kek_vault_id) or {}).get('name'))
        if errors:
            base.fail('refusing ADE on scale set {0}: {1}'.format(p['name'], ' | '.join(errors)), **result)
    vault = session.get_key_vault(vault_id)
    suffix = session.plan['cloud']['keyvault_suffix']
    errors = ade.validate_vault(ss, vault, vault_id, suffix, 'key_vault')
    if kek and kek_vault_id.lower() != vault_id.lower():
        errors += ade.validate_vault(ss, session.get_key_vault(kek_vault_id), kek_vault_id, suffix, 'kek_vault')
    if errors:
        base.fail('refusing ADE on scale set {0}: {1}'.format(p['name'], ' | '.join(errors)), **result)
    return ade.build_enable_settings(vault_id, ade.vault_url(vault, suffix), 'Data', kek,
                                     kek_vault_id if kek else None, p['algorithm'])


def wait(session, rg, ss, p, status):
    poller = Poller(p['timeout'], base_delay=min(p['poll_interval'], 5.0))
    while status['phase'] == 'in_progress':
        if not poller.pause(p['poll_interval']):
            break
        status = poller.call(lambda: vmss.read_status(session, rg, ss), 'listing the instances')
    return status


if __name__ == '__main__':
    main()

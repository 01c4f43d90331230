#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vmss_encryption_info
short_description: Azure Disk Encryption status of Linux scale sets, instance by instance
version_added: 0.3.0
description:
  - Reads one scale set (or every scale set of a resource group), the ADE extension of its model and, for each
    instance, the ADE status the instance view shows (the same reads as C(az vmss encryption show) - the instances
    with C($expand=instanceView) - plus the model).
  - One phase per scale set - C(not_started) (no ADE in the model), C(pending_upgrade) (instances without the latest
    model; upgrade mode Manual - update them, see M(azure_ade.linux.vmss_encryption) O(azure_ade.linux.vmss_encryption#module:upgrade_instances)),
    C(in_progress), C(failed) (any instance failed), C(succeeded) (every instance succeeded).
  - RV(scale_sets[].ade_blockers) names what ADE does not support on the set (Flexible orchestration - use
    M(azure_ade.linux.vm_encryption) per VM; Windows; ephemeral OS disks; unmanaged disks; NVMe disk controller;
    unsupported sizes).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
  - azure_ade.linux.attributes.actiongroup_azure
options:
  resource_group:
    description: Resource group of the scale set(s).
    type: str
    required: true
  name:
    description: One scale set; omitted - every scale set of O(resource_group).
    type: str
    aliases: [vmss_name]
seealso:
  - module: azure_ade.linux.vmss_encryption
  - module: azure_ade.linux.vm_encryption_info
'''
EXAMPLES = r'''
- name: ADE status of a scale set, instance by instance
  azure_ade.linux.vmss_encryption_info:
    resource_group: rg-app
    name: ss-web
  register: ss
- name: Instances not encrypted yet
  ansible.builtin.debug:
    msg: "{{ ss.scale_sets[0].instances | rejectattr('phase', 'eq', 'succeeded') | map(attribute='instance_id') }}"
'''
RETURN = r'''
scale_sets:
  description: One entry per scale set.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Scale set name.
      type: str
    upgrade_mode:
      description: C(Automatic), C(Manual) or C(Rolling) - with C(Manual) instances take a model change only when updated.
      type: str
    extension:
      description: The ADE extension of the model (name, settings, type_handler_version, force_update_tag), or null.
      type: dict
    phase:
      description: C(not_started), C(pending_upgrade), C(in_progress), C(failed) or C(succeeded).
      type: str
    pending_upgrade:
      description: Instance IDs without the latest model.
      type: list
      elements: str
    instances:
      description:
        - Per instance - instance_id, name, latest_model_applied, power_state, phase, phase_reason, progress_message,
          os_volume_encrypted, data_volumes_encrypted, os_disk_stamped, data_disks_stamped, operation, sequence.
      type: list
      elements: dict
    counts:
      description: Instances per phase.
      type: dict
    ade_blockers:
      description: What ADE does not support on this scale set ({id, message, source}); empty when none.
      type: list
      elements: dict
requests:
  description: HTTP requests made, by method and status.
  returned: always
  type: dict
'''

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import vmss
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import to_dict


def main():
    base = AzureModule(dict(resource_group=dict(type='str', required=True),
                            name=dict(type='str', aliases=['vmss_name'])), supports_check_mode=True)
    p = base.params
    session = base.open_session()
    try:
        if p['name']:
            sets = [to_dict(session.compute.virtual_machine_scale_sets.get(p['resource_group'], p['name']))]
        else:
            sets = [to_dict(s) for s in session.compute.virtual_machine_scale_sets.list(p['resource_group'])]
        rows = [dict(vmss.read_status(session, p['resource_group'], s), ade_blockers=vmss.blockers(s)) for s in sets]
        base.exit(changed=False, scale_sets=rows)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vmss_encryption_info {0}/{1}'.format(p['resource_group'], p['name'] or '*'), exc)


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_address_info
short_description: The private and public IP addresses of the VMs in scope, as ARM reports their NICs
version_added: 0.2.0
description:
  - Lists the network interfaces (and, when a NIC has one, the public IP addresses) of a subscription or of the
    given resource groups - one paged call each - and returns every VM's addresses.
  - The rollout role's identity step uses it to name the VM of a host that has no host vars naming it - the address
    Ansible connects to must belong to exactly one VM in scope (filter C(azure_ade.linux.vm_address_target)).
    The guest's IMDS answer never chooses the VM.
  - Reads only; needs C(Microsoft.Network/networkInterfaces/read) and C(Microsoft.Network/publicIPAddresses/read).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
  - azure_ade.linux.attributes.actiongroup_azure
options:
  resource_groups:
    description: Resource groups in scope; empty means the whole subscription.
    type: list
    elements: str
    default: []
'''

EXAMPLES = r'''
- name: The NIC addresses of the VMs of the subscription
  azure_ade.linux.vm_address_info:
  register: nics
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
vms:
  description: One entry per VM that has a NIC in scope.
  returned: success
  type: list
  elements: dict
  contains:
    id:
      description: The VM's resource ID.
      type: str
    addresses:
      description: The private IP addresses of its NICs' IP configurations and their public IP addresses.
      type: list
      elements: str
requests:
  description: Request statistics of the module run.
  returned: always
  type: dict
'''

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule, azure_error_text
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import identity

NETWORK_API = '2024-05-01'


def _list(session, path):
    return session.list_paged('{0}?api-version={1}'.format(path, NETWORK_API))


def main():
    base = AzureModule(dict(resource_groups=dict(type='list', elements='str', default=[])), supports_check_mode=True)
    session = base.open_session()
    scopes = ['/subscriptions/{0}'.format(session.subscription_id)]
    if base.params['resource_groups']:
        scopes = ['/subscriptions/{0}/resourceGroups/{1}'.format(session.subscription_id, rg)
                  for rg in base.params['resource_groups']]
    nics, pips = [], []
    try:
        for scope in scopes:
            found = _list(session, scope + '/providers/Microsoft.Network/networkInterfaces')
            nics.extend(found)
            if any(((c.get('properties') or {}).get('publicIPAddress')) for n in found
                   for c in ((n.get('properties') or {}).get('ipConfigurations') or [])):
                pips.extend(_list(session, scope + '/providers/Microsoft.Network/publicIPAddresses'))
    except Exception as exc:  # pylint: disable=broad-except
        base.fail('listing the NICs in scope ({0}): {1}'.format(', '.join(scopes), azure_error_text(exc)), vms=[])
    base.exit(changed=False, vms=identity.nic_addresses(nics, pips))


if __name__ == '__main__':
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: ade_inventory_info
short_description: Everything Azure Disk Encryption touched in a subscription, with what to do before its retirement
version_added: 0.4.0
description:
  - Lists, for one subscription (or one resource group of it), what the ADE retirement (2028-09-15) concerns - VMs
    with their path (C(migrate), C(rebuild) or C(nothing)), scale sets with ADE in their model (the model change and the
    instance upgrade they need), and the disks, snapshots, images and restore points that carry ADE settings or the
    UDE flag - each with what to do before the date and the days left.
  - The UDE flag is not a property ARM shows. A disk or snapshot carries it when it shows ADE settings
    (C(encryptionSettingsCollection)), when it was copied or snapshotted from one that does (C(creationData) lineage,
    through any number of copies), or when it belongs to a VM that has or had ADE; an image or restore point when its
    source does (Microsoft's "Migrate from Azure Disk Encryption to encryption at host").
  - Each VM is read as it is now, after its last change - a VM put back on its pre-encryption disks (rollout record
    C(restored)) is not reported as ADE on its OS volume because its extension still has the old settings.
  - Read-only - one list call per resource type (VMs with their instance view, scale sets, disks, snapshots, images,
    restore point collections with their points), the EncryptionAtHost feature and the VM sizes of each region.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
  - azure_ade.linux.attributes.actiongroup_azure
options:
  resource_group:
    description: Only this resource group of the subscription; omitted - the whole subscription.
    type: str
seealso:
  - module: azure_ade.linux.vm_encryption_info
  - module: azure_ade.linux.vmss_encryption_info
  - name: Migrate from Azure Disk Encryption to encryption at host
    description: Microsoft's article on the way off ADE.
    link: https://learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate
'''
EXAMPLES = r'''
- name: What ADE touched in the subscription of AZURE_SUBSCRIPTION_ID
  azure_ade.linux.ade_inventory_info:
  register: ade_inv

- name: Everything that still needs work, with the days left
  ansible.builtin.debug:
    msg: "{{ ade_inv.inventory.entries | rejectattr('carries', 'eq', 'none')
             | map(attribute='kind') | list }} - {{ ade_inv.inventory.days_left }} days left"
'''
RETURN = r'''
inventory:
  description: What ADE touched in the subscription.
  returned: success
  type: dict
  contains:
    subscription_id:
      description: The subscription read.
      type: str
    retirement_date:
      description: C(2028-09-15).
      type: str
    days_left:
      description: Days until the retirement date.
      type: int
    entries:
      description:
        - One entry per VM (every VM, with C(path) C(migrate), C(rebuild) or C(nothing)) and per scale set, disk,
          snapshot, image and restore point that carries ADE - C(kind), C(name), C(id), C(resource_group),
          C(carries) (C(ade_settings), C(ude_flag), C(ade_extension) or C(none)), C(action) (what to do before the
          date), C(why), C(days_left); VMs and scale sets also C(path), disks C(vm) (the VM using it or null).
      type: list
      elements: dict
    summary:
      description: Number of items that carry ADE per kind, and C(vm_paths) (VMs per path).
      type: dict
requests:
  description: HTTP requests made, by method and status.
  returned: always
  type: dict
'''

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import ade_blockers
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import COMPUTE_API
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.migrate import record as migrate_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.rollout import parse_record
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status


def list_all(session, scope, typ, expand=None):
    """Every resource of ``typ`` (Microsoft.Compute/<typ>) under ``scope``, following nextLink."""
    url = '{0}/providers/Microsoft.Compute/{1}?api-version={2}'.format(scope, typ, COMPUTE_API)
    if expand:
        url += '&$expand=' + expand
    out = []
    while url:
        body = _get(session, url)
        out.extend((body or {}).get('value') or [])
        url = (body or {}).get('nextLink')
    return out


def _get(session, url):
    from azure.core.rest import HttpRequest  # pylint: disable=import-outside-toplevel
    resp = session.send_request(HttpRequest('GET', url))
    if resp.status_code == 404:
        return None
    resp.raise_for_status()
    return resp.json()


def main():
    base = AzureModule(dict(resource_group=dict(type='str')), supports_check_mode=True)
    p = base.params
    session = base.open_session()
    scope = '/subscriptions/{0}'.format(session.subscription_id)
    if p['resource_group']:
        scope += '/resourceGroups/{0}'.format(p['resource_group'])
    try:
        eah = retirement.EahContext(session)
        rows = []
        for vm in session.list_vms(p['resource_group'], instance_view=True):
            st = compute_status(vm)
            st['rollout'] = parse_record(vm.get('tags'))
            st['migration'] = migrate_record(vm)
            st['retirement'] = eah.plan(vm, st, ade_blockers(vm))
            rows.append(st)
        scale_sets = list_all(session, scope, 'virtualMachineScaleSets')
        disks = list_all(session, scope, 'disks')
        snapshots = list_all(session, scope, 'snapshots')
        images = list_all(session, scope, 'images')
        points = []
        for coll in list_all(session, scope, 'restorePointCollections'):
            full = _get(session, '{0}?api-version={1}&$expand=restorePoints'.format(coll['id'], COMPUTE_API)) or {}
            for rp in (full.get('properties') or {}).get('restorePoints') or []:
                points.append(dict(rp, collection=coll))
        inv = retirement.ade_inventory(rows, scale_sets, disks, snapshots, images, points)
        inv['subscription_id'] = session.subscription_id
        base.exit(changed=False, inventory=inv)
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('ade_inventory_info {0}'.format(scope), exc)


if __name__ == '__main__':
    main()

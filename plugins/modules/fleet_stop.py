#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: fleet_stop
short_description: The fleet-wide stop marker of a rollout run (AWX job slices stop each other)
version_added: 0.4.0
description:
  - AWX job slicing runs one C(ansible-playbook) per slice, so a failure in one slice cannot stop the other slices
    through Ansible. With this module a failing slice writes a stop marker in Azure and every slice reads it before
    its next VM, so the sliced job behaves like one serial rollout.
  - The marker is one tag on the resource group, C(azure_ade_stop_<run>) = C(v1;vm=...;host=...;at=...;why=...),
    written with the Tags API's C(Merge) and removed with its C(Delete) (C(Microsoft.Resources/tags/default) at the
    group's scope), so other tags and the markers of other runs are never touched and two slices failing at once
    do not overwrite each other; the first failure's marker is kept.
  - O(state=query) reads it (RV(stopped), RV(message)); O(state=present) writes it (a failing slice);
    O(state=absent) removes it (the operator, once the cause is fixed).
  - Needs C(Microsoft.Resources/tags/read) and, to write, C(Microsoft.Resources/tags/write) on the resource group.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.actiongroup_azure
attributes:
  check_mode:
    support: full
    details: Reads the marker and reports what would be written; sends no write.
  diff_mode:
    support: none
options:
  resource_group:
    description: The resource group that carries the marker (the one of the rollout's VMs every slice can read).
    type: str
    required: true
  run:
    description:
      - The rollout run every slice shares. The C(azure_ade.linux.rollout) role uses C(ade_fleet_stop_run) when given,
        else C(awx-<awx_workflow_job_id>) under AWX (the slices of one sliced job are the nodes of one workflow job).
        Letters, digits, C(.), C(_) and C(-), at most 80 characters.
    type: str
    required: true
  state:
    description: C(query) reads the marker, C(present) writes it (kept if one is there), C(absent) removes it.
    type: str
    choices: [query, present, absent]
    default: query
  vm:
    description: With O(state=present), the VM whose failure stops the run.
    type: str
  host:
    description: With O(state=present), the inventory host of that VM (or the slice).
    type: str
  reason:
    description: With O(state=present), why the run stops (cut to fit the 256-character tag value).
    type: str
'''

EXAMPLES = r'''
- name: Stop every slice of this rollout before its next VM
  azure_ade.linux.fleet_stop:
    resource_group: rg-app
    run: "awx-{{ awx_workflow_job_id }}"
    state: present
    vm: "{{ ade_vm_name }}"
    host: "{{ inventory_hostname }}"
    reason: "{{ ade_outcome | azure_ade.linux.fleet_stop_reason(ade_failed_stage) }}"
  delegate_to: localhost

- name: Before the next VM - did another slice stop the run?
  azure_ade.linux.fleet_stop:
    resource_group: rg-app
    run: "awx-{{ awx_workflow_job_id }}"
  register: stop
  delegate_to: localhost
  run_once: true
'''

RETURN = r'''
stopped:
  description: Whether the run is stopped (a marker is there) - after the change for O(state=present)/O(state=absent).
  returned: success
  type: bool
marker:
  description: The marker as read before any change (vm, host, at, why), or null.
  returned: success
  type: dict
tag:
  description: The tag name of the run's marker.
  returned: success
  type: str
message:
  description: The stop as a sentence (who failed, when, why, how to go on); empty when not stopped.
  returned: success
  type: str
requests:
  description: Request statistics of the module run.
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule, azure_error_text
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import fleet_stop

TAGS_API = '2021-04-01'


def _tags_path(session, rg):
    return '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Resources/tags/default'.format(
        session.subscription_id, rg)


def main():
    base = AzureModule(dict(
        resource_group=dict(type='str', required=True), run=dict(type='str', required=True),
        state=dict(type='str', default='query', choices=['query', 'present', 'absent']),
        vm=dict(type='str'), host=dict(type='str'), reason=dict(type='str')), supports_check_mode=True)
    p = base.params
    try:
        fleet_stop.tag_name(p['run'])
    except fleet_stop.StopError as exc:
        base.fail('fleet_stop: {0}. Nothing was sent to Azure.'.format(exc))
    session = base.open_session()
    from azure.core.rest import HttpRequest  # pylint: disable=import-outside-toplevel
    path = _tags_path(session, p['resource_group'])
    try:
        tags = (((session.arm_get(path, TAGS_API) or {}).get('properties') or {}).get('tags')) or {}
    except Exception as exc:  # pylint: disable=broad-except
        base.fail('reading the tags of resource group {0}: {1}'.format(p['resource_group'], azure_error_text(exc)))
    at = time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())
    pl = fleet_stop.plan(p['state'], tags, p['run'], vm=p['vm'], host=p['host'], reason=p['reason'], at=at)
    d = pl['decision']
    stopped = d['stopped'] if not pl['changed'] else p['state'] == 'present'
    result = dict(changed=pl['changed'], stopped=stopped, marker=d['marker'], tag=d['tag'], message=d['message'])
    if pl['changed'] and not base.check_mode:
        try:
            resp = session.send_request(HttpRequest(
                'PATCH', '{0}?api-version={1}'.format(path, TAGS_API), json={'operation': pl['operation'], 'properties': {'tags': pl['tags']}}))
            resp.raise_for_status()
        except Exception as exc:  # pylint: disable=broad-except
            result.update(changed=False, stopped=d['stopped'])
            base.fail('{0} of tag {1} on resource group {2}: {3}'.format(
                pl['operation'], d['tag'], p['resource_group'], azure_error_text(exc)), **result)
        if p['state'] == 'present':
            result['message'] = fleet_stop.decide(pl['tags'], p['run'])['message']
    base.exit(**result)


if __name__ == '__main__':
    main()

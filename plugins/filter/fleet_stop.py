# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the fleet-wide stop marker (issue 18 item 6: AWX job slices stop each other; the logic lives in
module_utils/cloud/fleet_stop.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Filters (documented in plugins/filter/fleet_stop_*.yml):
#   ansible_play_hosts_all | azure_ade.linux.fleet_stop_target(hostvars, run, resource_group, awx_workflow_job_id,
#                                                              scope_resource_groups, subscription_id)
#       -> {enabled, run, source, resource_group, subscription_id}
#   local_stopped | azure_ade.linux.fleet_stop_wave(local_by, read) -> {stop, by, message}
#   outcome | azure_ade.linux.fleet_stop_reason(stage) -> the marker's reason (no failure text)

from ansible.errors import AnsibleFilterError

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import fleet_stop

_KEYS = ('azure_vm_resource_id', 'id', 'azure_resource_group')


def fleet_stop_target(hosts, hostvars, run=None, resource_group=None, awx_workflow_job_id=None,
                      scope_resource_groups=None, subscription_id=None):
    host_vars = []
    for host in hosts or []:
        hv = hostvars[host] if host in hostvars else {}
        host_vars.append(dict((k, hv.get(k)) for k in _KEYS))
    try:
        return fleet_stop.target(host_vars, run=run, resource_group=resource_group,
                                 awx_workflow_job_id=awx_workflow_job_id,
                                 scope_resource_groups=list(scope_resource_groups or []),
                                 subscription_id=subscription_id)
    except fleet_stop.StopError as exc:
        raise AnsibleFilterError(str(exc))


def fleet_stop_wave(local_stopped, local_by=None, read=None):
    return fleet_stop.wave_stop(bool(local_stopped), local_by, read)


def fleet_stop_reason(outcome, stage=None):
    return fleet_stop.write_reason(outcome, stage)


class FilterModule(object):
    def filters(self):
        return {'fleet_stop_target': fleet_stop_target, 'fleet_stop_wave': fleet_stop_wave,
                'fleet_stop_reason': fleet_stop_reason}

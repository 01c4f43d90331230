# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the identity step (roles/rollout/tasks/identify.yml); the logic lives in module_utils/cloud/identity.py."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Filters (documented in plugins/filter/vm_*.yml):
#   {'azure_vm_name': ..., ...} | azure_ade.linux.vm_target(address=, vms=)  -> target named by the operator's side
#                                   (with vms: else the VM whose NIC carries address, when exactly one VM in scope has it)
#   ansible_play_batch | azure_ade.linux.vm_targets_unnamed(hostvars)       -> hosts nothing on the operator's side names
#   ansible_host | azure_ade.linux.vm_address_target(vms_in_scope)          -> target from a unique NIC address
#   target | azure_ade.linux.vm_identity(arm_vm, guest, guest_required, host) -> {ok, msg, vm, vm_id, ...}
#   guest_imds | azure_ade.linux.vm_status_identity(platform_entry, target) -> mismatch text or None
#   imds | azure_ade.linux.vm_guest_answer(guest_facts_result, unreachable_msg) -> {answered, vm_id, error}

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import identity


HOST_KEYS = ('azure_vm_resource_id', 'azure_subscription_id', 'azure_resource_group', 'azure_vm_name', 'id')


def vm_target(host_vars, address=None, vms=None):
    return identity.host_target(dict(host_vars or {}), address, vms)


def vm_targets_unnamed(batch, hostvars):
    targets = {}
    for host in batch or []:
        hv = hostvars[host] if host in hostvars else {}
        targets[host] = identity.operator_target(dict((k, hv.get(k)) for k in HOST_KEYS))
    return identity.unnamed(targets)


def vm_address_target(address, vms):
    return identity.address_target(address, vms)


def vm_identity(target, arm_vm, guest, guest_required=True, host=None):
    return identity.confirm(target, arm_vm, guest, guest_required=guest_required, host=host)


def vm_status_identity(guest_imds, platform, target=None):
    return identity.status_mark(guest_imds, platform, target)


def vm_guest_answer(imds, guest_result=None, unreachable_msg=None):
    return identity.guest_answer(imds, guest_result, unreachable_msg)


class FilterModule(object):
    def filters(self):
        return {'vm_target': vm_target, 'vm_targets_unnamed': vm_targets_unnamed,
                'vm_address_target': vm_address_target, 'vm_identity': vm_identity,
                'vm_status_identity': vm_status_identity, 'vm_guest_answer': vm_guest_answer}

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that carry the rollout's decisions into the playbooks (the logic lives in module_utils/cloud/rollout.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Filters (documented in plugins/filter/rollout_*.yml):
#   vm_status | azure_ade.linux.rollout_plan(new_run, retry_restored=false, verify=true, retry_verify=false)
#       -> {action: start|resume|wait|restore|verify|done|stop, run_id, restore_from, stage, effective_stage, reason}
#   vm_status | azure_ade.linux.rollout_outcome(timed_out=false)
#       -> encrypted|restore|restart_pending|timeout|not_this_run
#   stage | azure_ade.linux.rollout_failure_outcome(guest_unreachable, reboot_required, replan_action, restore)
#       -> failed_restored|failed_restore_failed|failed_not_restored|reboot_required|unreachable|identity_mismatch|...
#   azure_ade_facts | azure_ade.linux.rollout_unlocked(volume_type) -> [problems] (empty: volumes on dm-crypt)
#   outcome | azure_ade.linux.rollout_stop(changed_anything, continue_on_failure=false) -> bool
#   'wait' | azure_ade.linux.rollout_stage -> 'wait' (an undeclared stage name is an error)
#   stage | azure_ade.linux.rollout_failure(error, guest_unreachable, reboot_required, replan, restore, restore_error,
#                                           restore_on_failure, selinux_error, host, verify_failed_recorded)
#       -> {outcome, restore, message}
#   preflight_result | azure_ade.linux.rollout_blocked(vm_status, action, prefer_encryption_at_host)
#       -> {blocked, by: preflight|azure|None, message, warning}
#   hosts | azure_ade.linux.rollout_fleet(hostvars) -> [encrypt fleet rows]
#   rows | azure_ade.linux.rollout_not_encrypted -> [rows whose outcome is not an encrypted one]

from ansible.errors import AnsibleFilterError

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_rows


def rollout_plan(vm_status, new_run, retry_restored=False, verify=True, retry_verify=False):
    vm_status = vm_status or {}
    return rollout.plan(vm_status.get('rollout'), vm_status, new_run, retry_restored=bool(retry_restored),
                        verify=bool(verify), retry_verify=bool(retry_verify), addon_record=vm_status.get('addon'))


def rollout_outcome(vm_status, timed_out=False):
    vm_status = vm_status or {}
    return rollout.outcome_after_wait((vm_status.get('rollout') or {}).get('seq'), vm_status, bool(timed_out))


def rollout_failure_outcome(stage, guest_unreachable=False, reboot_required=False, replan_action=None, restore=None):
    return rollout.failure_outcome(stage, bool(guest_unreachable), bool(reboot_required), replan_action, restore)


def rollout_unlocked(facts, volume_type, format_all=False):
    return rollout.guest_unlocked(facts, volume_type, bool(format_all))


def rollout_stop(outcome, changed_anything, continue_on_failure=False):
    return rollout.stops_rollout(outcome, bool(changed_anything), bool(continue_on_failure))


def rollout_stage(stage):
    try:
        return rollout.check_stage(stage)
    except rollout.RolloutError as exc:
        raise AnsibleFilterError(str(exc))


def rollout_failure(stage, error='', guest_unreachable=False, reboot_required=False, replan=None, restore=None,
                    restore_error=None, restore_on_failure=True, selinux_error=None, host='', verify_failed_recorded=False):
    try:
        return rollout.failure_report(stage, error, bool(guest_unreachable), bool(reboot_required), replan, restore,
                                      restore_error, bool(restore_on_failure), selinux_error, host,
                                      bool(verify_failed_recorded))
    except rollout.RolloutError as exc:
        raise AnsibleFilterError(str(exc))


def rollout_blocked(preflight, vm_status=None, action='start', prefer_encryption_at_host='warn'):
    return rollout.blocked_report(preflight, vm_status, action, prefer_encryption_at_host)


def rollout_fleet(hosts, hostvars):
    return fleet_rows.encrypt_fleet(hosts, hostvars)


def rollout_not_encrypted(rows):
    return fleet_rows.not_encrypted(rows, rollout.ENCRYPTED_OUTCOMES)


class FilterModule(object):
    def filters(self):
        return {'rollout_plan': rollout_plan, 'rollout_outcome': rollout_outcome, 'rollout_stop': rollout_stop,
                'rollout_failure_outcome': rollout_failure_outcome, 'rollout_unlocked': rollout_unlocked,
                'rollout_stage': rollout_stage, 'rollout_failure': rollout_failure, 'rollout_blocked': rollout_blocked,
                'rollout_fleet': rollout_fleet, 'rollout_not_encrypted': rollout_not_encrypted}

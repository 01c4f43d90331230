# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that carry the rollout's decisions into the playbooks (the logic lives in module_utils/cloud/rollout.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Filters (documented in plugins/filter/rollout_*.yml):
#   vm_status | azure_ade.linux.rollout_plan(new_run, retry_restored=false, verify=true)
#       -> {action: start|resume|wait|restore|verify|done|stop, run_id, restore_from, stage, effective_stage, reason}
#   vm_status | azure_ade.linux.rollout_outcome(timed_out=false)
#       -> encrypted|restore|restart_pending|timeout|not_this_run
#   stage | azure_ade.linux.rollout_failure_outcome(guest_unreachable, reboot_required, replan_action, restore)
#       -> failed_restored|failed_restore_failed|failed_not_restored|reboot_required|unreachable|identity_mismatch|...
#   azure_ade_facts | azure_ade.linux.rollout_unlocked(volume_type) -> [problems] (empty: volumes on dm-crypt)
#   outcome | azure_ade.linux.rollout_stop(changed_anything, continue_on_failure=false) -> bool

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout


def rollout_plan(vm_status, new_run, retry_restored=False, verify=True):
    vm_status = vm_status or {}
    return rollout.plan(vm_status.get('rollout'), vm_status, new_run, retry_restored=bool(retry_restored),
                        verify=bool(verify))


def rollout_outcome(vm_status, timed_out=False):
    vm_status = vm_status or {}
    return rollout.outcome_after_wait((vm_status.get('rollout') or {}).get('seq'), vm_status, bool(timed_out))


def rollout_failure_outcome(stage, guest_unreachable=False, reboot_required=False, replan_action=None, restore=None):
    return rollout.failure_outcome(stage, bool(guest_unreachable), bool(reboot_required), replan_action, restore)


def rollout_unlocked(facts, volume_type, format_all=False):
    return rollout.guest_unlocked(facts, volume_type, bool(format_all))


def rollout_stop(outcome, changed_anything, continue_on_failure=False):
    return rollout.stops_rollout(outcome, bool(changed_anything), bool(continue_on_failure))


class FilterModule(object):
    def filters(self):
        return {'rollout_plan': rollout_plan, 'rollout_outcome': rollout_outcome, 'rollout_stop': rollout_stop,
                'rollout_failure_outcome': rollout_failure_outcome, 'rollout_unlocked': rollout_unlocked}

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for reading a whole wave at once (the logic lives in module_utils/cloud/wave.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

# Filters (documented in plugins/filter/rollout_wave_*.yml):
#   ansible_play_batch | azure_ade.linux.rollout_wave_vms(hostvars, stage)
#       -> [{subscription_id, names, hosts, timeout}] one entry per subscription
#   registered_wave_result | azure_ade.linux.rollout_wave_pick(ade_vm) -> {vms: [entry], timed_out, found}
#   target | azure_ade.linux.rollout_triage(wave_result, guest_answer, guest_reachable, new_run, ...)
#       -> {info, identity, plan, run_set, changed, fail, end, outcome, message} (the encrypt job's per-host decision)

from ansible.errors import AnsibleFilterError

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import wave


def rollout_wave_vms(batch, hostvars, stage):
    try:
        return wave.wave_vms(batch, hostvars, stage)
    except wave.WaveError as exc:
        raise AnsibleFilterError(str(exc))


def rollout_wave_pick(results, vm):
    return wave.pick(results, vm)


def rollout_triage(target, results, answer, guest_reachable, new_run, retry_restored=False, verify=True,
                   retry_verify=False, migrate_dual_pass=False, host=None, selinux_saved=False):
    return wave.triage(target, results, answer, bool(guest_reachable), new_run, retry_restored=bool(retry_restored),
                       verify=bool(verify), retry_verify=bool(retry_verify), migrate_dual_pass=bool(migrate_dual_pass),
                       host=host, selinux_saved=bool(selinux_saved))


class FilterModule(object):
    def filters(self):
        return {'rollout_wave_vms': rollout_wave_vms, 'rollout_wave_pick': rollout_wave_pick,
                'rollout_triage': rollout_triage}

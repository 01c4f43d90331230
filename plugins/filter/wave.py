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

from ansible.errors import AnsibleFilterError

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import wave


def rollout_wave_vms(batch, hostvars, stage):
    try:
        return wave.wave_vms(batch, hostvars, stage)
    except wave.WaveError as exc:
        raise AnsibleFilterError(str(exc))


def rollout_wave_pick(results, vm):
    return wave.pick(results, vm)


class FilterModule(object):
    def filters(self):
        return {'rollout_wave_vms': rollout_wave_vms, 'rollout_wave_pick': rollout_wave_pick}

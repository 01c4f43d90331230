# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that build the preflight and status fleet rows (logic in module_utils/report/fleet_rows.py).

  preflight_result | azure_ade.linux.preflight_verdict            -> READY|FIXABLE|BLOCKED|NO RESULT
  preflight_result | azure_ade.linux.preflight_findings           -> [{kind, id, requirement, message, fix}]
  hosts | azure_ade.linux.preflight_fleet(hostvars)               -> [{host, verdict, fixable, blocking, warnings, error}]
  rows | azure_ade.linux.preflight_counts                         -> {READY, FIXABLE, BLOCKED, NO RESULT, total}
  rows | azure_ade.linux.preflight_fail_msg(fail_when_not_ready)  -> '' or 'Not ready: h1, h2'
  hosts | azure_ade.linux.status_targets(hostvars)                -> [{host, subscription_id, resource_group, name, target}]
  hosts | azure_ade.linux.status_vms(hostvars)                    -> [{host, subscription_id, resource_group, name}]
  vms | azure_ade.linux.status_groups                             -> [[subscription_id, resource_group], ...]
  looped_info_result | azure_ade.linux.status_index               -> {'sub/rg/name': platform row, 'sub/rg/': {error}}
  vms | azure_ade.linux.status_fleet(index, hostvars, crypt_var, imds_var) -> [status rows] (fleet_status.status_row)
  rows | azure_ade.linux.status_summary                           -> {vms, encrypted, not_encrypted, in_progress, failed, mismatches}
  rows | azure_ade.linux.status_fail_msg(fail_on_mismatch, require_encrypted, fail_on_risk) -> '' or why it fails
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_rows as R


def preflight_verdict(result):
    return R.preflight_verdict(result)


def preflight_findings(result):
    return R.preflight_findings(result)


def preflight_fleet(hosts, hostvars, var='ade_preflight'):
    return R.preflight_fleet(hosts, hostvars, var)


def preflight_counts(rows):
    return R.verdict_counts(rows)


def preflight_fail_msg(rows, fail_when_not_ready=False):
    return R.preflight_fail_message(rows, fail_when_not_ready)


def status_targets(hosts, hostvars, target_var='ade_status_target'):
    return R.status_targets(hosts, hostvars, target_var)


def status_fail_msg(rows, fail_on_mismatch=True, require_encrypted=False, fail_on_risk=False):
    return R.status_fail_message(rows, fail_on_mismatch, require_encrypted, fail_on_risk)


def status_vms(hosts, hostvars, facts_var='ade_guest'):
    return R.status_vms(hosts, hostvars, facts_var)


def status_groups(vms):
    return R.status_groups(vms)


def status_index(results):
    return R.status_index(results)


def status_fleet(vms, index, hostvars, crypt_var='ade_guest_crypt', imds_var=None):
    return R.status_fleet(vms, index, hostvars, crypt_var, imds_var)


def status_summary(rows):
    return R.status_summary(rows)


class FilterModule(object):
    def filters(self):
        return {'preflight_verdict': preflight_verdict, 'preflight_findings': preflight_findings,
                'preflight_fleet': preflight_fleet, 'preflight_counts': preflight_counts,
                'status_vms': status_vms, 'status_groups': status_groups, 'status_index': status_index,
                'status_fleet': status_fleet, 'status_summary': status_summary,
                'preflight_fail_msg': preflight_fail_msg, 'status_targets': status_targets,
                'status_fail_msg': status_fail_msg}

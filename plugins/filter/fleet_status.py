# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that carry the status playbook's decisions (logic in module_utils/report/fleet_status.py).

  facts | azure_ade.linux.guest_crypt                 -> {os, data, devices} or None
  ident | azure_ade.linux.status_row(platform, guest, error) -> the fleet row of one VM (mismatch both ways, R6.1)
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_status


def guest_crypt(facts):
    return fleet_status.guest_crypt(facts)


def status_row(ident, platform=None, guest=None, error=None):
    return fleet_status.status_row(ident, platform, guest, error)


class FilterModule(object):
    def filters(self):
        return {'guest_crypt': guest_crypt, 'status_row': status_row}

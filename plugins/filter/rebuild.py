# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17 filters (logic in module_utils/cloud/retirement.py):
plan | azure_ade.linux.migrate_page_row(row) -> one VM of the migrate page (fleet_report kind migrate);
hosts | azure_ade.linux.read_again_groups(hostvars) -> the VMs to read again after the run's last change;
rows | azure_ade.linux.read_again(results, hosts, hostvars) -> the encrypt rows with the retirement read then."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement


def migrate_page_row(plan, row=None):
    return retirement.migrate_page_row(plan, row)


def read_again_groups(hosts, hostvars):
    return retirement.read_again_groups(hosts, hostvars)


def read_again(rows, results, hosts, hostvars):
    return retirement.read_again(rows, results, hosts, hostvars)


class FilterModule(object):
    def filters(self):
        return {'migrate_page_row': migrate_page_row, 'read_again_groups': read_again_groups,
                'read_again': read_again}

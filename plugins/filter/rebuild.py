# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plan | azure_ade.linux.migrate_page_row(row) -> one VM of the migrate page (fleet_report kind migrate), issue 17
(logic in module_utils/cloud/retirement.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement


def migrate_page_row(plan, row=None):
    return retirement.migrate_page_row(plan, row)


class FilterModule(object):
    def filters(self):
        return {'migrate_page_row': migrate_page_row}

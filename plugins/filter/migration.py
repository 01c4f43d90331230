# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""row | azure_ade.linux.migration_plan -> the documented migration steps for one vm_encryption_info row
(logic in module_utils/cloud/retirement.py); row | azure_ade.linux.migrate_target -> what the migrate playbook does
with the VM (logic in module_utils/cloud/migrate.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import migrate, retirement


def migration_plan(row):
    return retirement.migration_plan(row)


def migrate_target(row):
    return migrate.target(row)


class FilterModule(object):
    def filters(self):
        return {'migration_plan': migration_plan, 'migrate_target': migrate_target}

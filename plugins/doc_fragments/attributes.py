# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):
    """Module attributes (check mode, diff mode, action group), as community.crypto documents them."""

    # Descriptions of check_mode and diff_mode; each module states its own support level.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
'''

    # For the controller modules in meta/runtime.yml's action group "azure".
    ACTIONGROUP_AZURE = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/azure_ade.linux.azure) in C(module_defaults) to set defaults (credentials, subscription) for this module.
    support: full
    membership:
      - azure_ade.linux.azure
'''

    # For modules that only read (the *_info modules and the guest's fact and check modules), as community.crypto's
    # attributes.info_module: check mode runs the same, there is never a diff.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state, so it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
'''

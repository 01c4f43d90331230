# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type


class ModuleDocFragment(object):

    # The one VM a controller module acts on (vm_encryption, vm_snapshot, vm_restore).
    DOCUMENTATION = r'''
options:
  resource_group:
    description: Resource group of the VM.
    type: str
    required: true
  name:
    description: VM name.
    type: str
    required: true
    aliases: [vm_name]
'''

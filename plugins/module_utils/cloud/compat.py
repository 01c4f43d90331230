# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Azure-side gate vm_encryption runs before it writes anything (blockers, encryption-at-host advice)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.blockers import (
    ade_blockers, for_output, refusal_message)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.retirement import EahContext, new_ade_advice

PREFER_EAH_CHOICES = ('warn', 'refuse', 'ignore')


def blocked(vm, will_enable):
    """(message, blockers_for_output) when Azure does not support ADE on the VM and an enable would be sent;
    (None, blockers_for_output) otherwise. A VM that already has the ADE extension is only refused when an
    enable request would actually be sent (``will_enable``)."""
    blockers = ade_blockers(vm)
    if blockers and will_enable:
        return refusal_message(vm.get('name'), blockers), for_output(blockers)
    return None, for_output(blockers)


def eah_advice(session, vm, status, prefer):
    """Before NEW ADE (no ADE extension on the VM): (error, warning, plan). ``prefer`` in PREFER_EAH_CHOICES.
    Reads the EncryptionAtHost feature (one GET) and the region's VM sizes (one list) unless prefer=ignore."""
    if prefer == 'ignore':
        return None, None, None
    plan = EahContext(session).plan(vm, status, [])
    advice = new_ade_advice(vm, plan)
    if advice is None:
        return None, None, plan
    if prefer == 'refuse':
        return ('refusing new ADE (prefer_encryption_at_host=refuse): ' + advice), None, plan
    return None, advice, plan

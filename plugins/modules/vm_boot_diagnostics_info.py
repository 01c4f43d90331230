#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_boot_diagnostics_info
short_description: What a VM's serial console log says about its last boot (an encrypted VM stuck at its unlock)
version_added: 0.3.0
description:
  - Reads the VM's boot diagnostics through the API (C(retrieveBootDiagnosticsData) gives a short-lived SAS URI of
    the serial console log; the module reads that blob) and classifies the last boot - V(passphrase_file_missing)
    (ADE's key script found no passphrase file on the BEK volume), V(unlock_failed), V(passphrase_prompt),
    V(dracut_emergency), V(oldroot_busy), V(booted), V(unknown) - with the lines that show it and the fix.
  - The rollout role calls it when a VM did not come back from the restart check (the guest's SSH never answers
    when the root volume cannot be unlocked), so the failure names the cause; use it by hand on a VM that hangs.
  - The SAS URI is a credential - it is never returned or logged; the log's text is returned only as the matched
    lines and a few lines around them (each cut to 200 characters, credential-like text masked).
  - Reads only. Needs C(Microsoft.Compute/virtualMachines/retrieveBootDiagnosticsData/action) and boot
    diagnostics enabled on the VM (managed storage is enough); a VM without it gives RV(verdict=not_enabled).
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.azure_vm
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.info_module
  - azure_ade.linux.attributes.actiongroup_azure
options:
  context:
    description: Lines kept before and after each matched line.
    type: int
    default: 2
  max_lines:
    description: At most this many lines in RV(excerpt) and RV(findings).
    type: int
    default: 20
requirements:
  - azure-mgmt-compute >= 30
  - requests (installed with azure-core)
seealso:
  - module: azure_ade.linux.vm_encryption_info
  - name: Virtual Machines - Retrieve Boot Diagnostics Data
    description: The REST operation.
    link: https://learn.microsoft.com/rest/api/compute/virtual-machines/retrieve-boot-diagnostics-data
'''

EXAMPLES = r'''
- name: Why does web01 not come back after its restart?
  azure_ade.linux.vm_boot_diagnostics_info:
    resource_group: rg-prod
    name: web01
  register: boot

- name: Say it
  ansible.builtin.debug:
    msg: "{{ boot.message }}"
'''

RETURN = r'''
verdict:
  description: >-
    What stopped the last boot - V(passphrase_file_missing), V(unlock_failed), V(passphrase_prompt),
    V(dracut_emergency), V(oldroot_busy) - or V(booted), V(unknown), V(empty), V(not_enabled).
  returned: success
  type: str
meaning:
  description: The verdict in words.
  returned: success
  type: str
fix:
  description: What to do about it (null when the VM booted).
  returned: success
  type: str
message:
  description: One line naming the VM, the cause, the line that shows it and the fix (for failure messages).
  returned: success
  type: str
findings:
  description: The matched lines of the last boot.
  returned: success
  type: list
  elements: dict
  contains:
    kind:
      description: Which class the line belongs to.
      type: str
    line:
      description: Its line number in the log.
      type: int
    text:
      description: The line (cut, masked).
      type: str
excerpt:
  description: The matched lines with O(context) lines around them.
  returned: success
  type: list
  elements: str
lines:
  description: How many lines the serial log has.
  returned: success
  type: int
requests:
  description: Request statistics of the module run (ARM only; the blob read is not counted).
  returned: always
  type: dict
'''

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule, azure_error_text
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import bootdiag

try:
    import requests
except ImportError:  # pragma: no cover - requests comes with azure-core
    requests = None

SAS_MINUTES = 5


def read_serial_log(session, rg, name):
    """-> (text or None when boot diagnostics is off, error text or None). The SAS URI stays in this function.
    Whether boot diagnostics is on is read from the VM model (diagnosticsProfile), so every error of the retrieve
    call is reported as what it is."""
    try:
        vm = session.get_vm(rg, name, instance_view=False)
    except Exception as exc:  # pylint: disable=broad-except
        return None, 'reading VM {0}: {1}'.format(name, azure_error_text(exc))
    if vm is None:
        return None, 'VM {0} not found in resource group {1}'.format(name, rg)
    diag = ((vm.get('properties') or {}).get('diagnosticsProfile') or {}).get('bootDiagnostics') or {}
    if not diag.get('enabled'):
        return None, None
    try:
        data = session.compute.virtual_machines.retrieve_boot_diagnostics_data(
            rg, name, sas_uri_expiration_time_in_minutes=SAS_MINUTES)
    except Exception as exc:  # pylint: disable=broad-except
        return None, 'retrieving the boot diagnostics of {0}: {1}'.format(name, azure_error_text(exc))
    uri = getattr(data, 'serial_console_log_blob_uri', None)
    if not uri:
        return None, None
    try:
        resp = requests.get(uri, timeout=60, verify=session.plan.get('ca_bundle') or True)
    except Exception as exc:  # pylint: disable=broad-except
        # the exception text may carry the URL: name the class only
        return None, 'reading the serial log of {0} failed ({1})'.format(name, type(exc).__name__)
    if resp.status_code != 200:
        return None, 'reading the serial log of {0}: HTTP {1} ({2})'.format(
            name, resp.status_code, resp.headers.get('x-ms-error-code') or 'no error code')
    return resp.content.decode('utf-8', 'replace'), None


def main():
    base = AzureModule(dict(resource_group=dict(type='str', required=True),
                            name=dict(type='str', required=True, aliases=['vm_name']),
                            context=dict(type='int', default=2),
                            max_lines=dict(type='int', default=20)),
                       non_negative=('context',), positive=('max_lines',), supports_check_mode=True)
    if requests is None:
        base.fail('the serial log is read with the Python package requests (installed with azure-core): '
                  'pip install -r requirements.txt of this collection')
    p = base.params
    session = base.open_session()
    text, error = read_serial_log(session, p['resource_group'], p['name'])
    if error:
        base.fail(error)
    if text is None:
        result = dict(verdict='not_enabled', meaning='boot diagnostics is not enabled on the VM', findings=[],
                      excerpt=[], lines=0,
                      fix='enable boot diagnostics (managed storage) on the VM so a boot that hangs can be read')
    else:
        result = bootdiag.classify(text, context=p['context'], max_lines=p['max_lines'])
    result['message'] = bootdiag.message(p['name'], result)
    base.exit(changed=False, **result)


if __name__ == '__main__':
    main()

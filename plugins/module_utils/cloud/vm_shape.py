# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: reading the shape of a VM (REST dict, model + instance view) - its extensions, the ADE extension and the
deprecated OSTC one, power state, dual pass, other extensions busy. Also the ADE extension's identity."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

PUBLISHER = 'Microsoft.Azure.Security'
EXTENSION_TYPE = 'AzureDiskEncryptionForLinux'
EXTENSION_NAME = 'AzureDiskEncryptionForLinux'
OSTC_PUBLISHER = 'Microsoft.OSTCExtensions'


def _props(d):
    return (d or {}).get('properties') or {}


def vm_extensions(vm):
    """Extension resources of the VM model ({name, publisher, type, version, state, settings})."""
    out = []
    for res in (vm or {}).get('resources') or []:
        p = _props(res)
        out.append(dict(name=res.get('name') or (res.get('id') or '').rsplit('/', 1)[-1],
                        publisher=p.get('publisher'), type=p.get('type'),
                        type_handler_version=p.get('typeHandlerVersion'),
                        provisioning_state=p.get('provisioningState'),
                        settings=p.get('settings') or {}))
    return out


def find_ade_extension(vm):
    for ext in vm_extensions(vm):
        if (ext['publisher'] or '').lower() == PUBLISHER.lower() and (ext['type'] or '').lower() == EXTENSION_TYPE.lower():
            return ext
    return None


def find_ostc_extension(vm):
    """The deprecated Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux, from the model or instance view."""
    for ext in vm_extensions(vm):
        if (ext['publisher'] or '').lower() == OSTC_PUBLISHER.lower() and \
                (ext['type'] or '').lower() == EXTENSION_TYPE.lower():
            return ext
    for ext in instance_view(vm).get('extensions') or []:
        if (ext.get('type') or '').lower() == (OSTC_PUBLISHER + '.' + EXTENSION_TYPE).lower():
            return dict(name=ext.get('name'), publisher=OSTC_PUBLISHER, type=EXTENSION_TYPE,
                        type_handler_version=ext.get('typeHandlerVersion'), provisioning_state=None, settings={})
    return None


def instance_view(vm):
    iv = _props(vm).get('instanceView')
    if iv is None and vm and 'instanceView' in vm:
        iv = vm['instanceView']
    return iv or {}


def power_state(vm):
    """Last PowerState/* code of the instance view (as Get-AzVMDiskEncryptionStatus), e.g. 'running'."""
    state = None
    for st in instance_view(vm).get('statuses') or []:
        code = st.get('code') or ''
        if code.startswith('PowerState/'):
            state = code.split('/', 1)[1]
    return state


def is_dual_pass(vm):
    """Dual pass (AAD, 0.1): VM-model osDisk.encryptionSettings set, or ADE extension major version 0."""
    os_disk = _props(vm).get('storageProfile', {}).get('osDisk') or {}
    es = os_disk.get('encryptionSettings')
    if es and (es.get('enabled') or es.get('diskEncryptionKey')):
        return True
    ext = find_ade_extension(vm)
    if ext and (ext['type_handler_version'] or '').split('.')[0] == '0':
        return True
    return False


def busy_extensions(vm):
    """Other extensions with an operation in progress (model provisioningState or instance-view status)."""
    busy = []
    for ext in vm_extensions(vm):
        if (ext['provisioning_state'] or '').lower() in ('creating', 'updating', 'deleting'):
            if not (ext['type'] or '').lower() == EXTENSION_TYPE.lower():
                busy.append('{0} ({1})'.format(ext['name'], ext['provisioning_state']))
    for ext in instance_view(vm).get('extensions') or []:
        if (ext.get('type') or '').lower().endswith(EXTENSION_TYPE.lower()):
            continue
        for st in ext.get('statuses') or []:
            if 'transitioning' in (st.get('code') or '').lower():
                name = '{0} (transitioning)'.format(ext.get('name'))
                if not any(b.startswith(ext.get('name') + ' ') for b in busy):
                    busy.append(name)
    return busy

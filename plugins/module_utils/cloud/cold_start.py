# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: the cold-start proof's costs and refusal (issue 16 item 2).

A warm restart (``restart``) keeps the VM on its host and never asks Key Vault again; the platform fetches the
disk-encryption secret only when it places the VM anew: a start after a deallocate (what host maintenance, a resize or
a redeploy do). ``vm_encryption state=restarted restart_mode=cold`` therefore deallocates and starts the VM - which
costs something the operator must accept first:
  - a dynamic public IP address is released at deallocate and the VM gets another one at start (REST
    publicIPAddresses: publicIPAllocationMethod Dynamic; "Dynamic IP addresses are released when the VM is
    deallocated", learn.microsoft.com virtual-network ip-services public-ip-addresses);
  - the resource (temporary) disk is wiped (learn.microsoft.com virtual-machines managed-disks-overview, "Temporary
    disk": data on it may be lost during a deallocate or a redeploy); with EncryptFormatAll ADE re-encrypts it at
    boot, which the guest check must then find on dm-crypt again.
Nothing is sent before ``refusal`` returned None. No SDK, no I/O.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

MODES = ('warm', 'cold')


def nic_ids(vm):
    """The VM's network interface IDs (REST shape)."""
    props = (vm or {}).get('properties') or {}
    return [n.get('id') for n in ((props.get('networkProfile') or {}).get('networkInterfaces') or []) if n.get('id')]


def public_ip_ids(nics):
    out = []
    for nic in nics or []:
        for conf in ((nic or {}).get('properties') or {}).get('ipConfigurations') or []:
            pid = (((conf or {}).get('properties') or {}).get('publicIPAddress') or {}).get('id')
            if pid and pid not in out:
                out.append(pid)
    return out


def costs(vm, public_ips, format_all=False):
    """What a deallocate + start costs on this VM: [{id, message}] (each one loses something). Pure.

    public_ips: the public IP resources of the VM's NICs (REST shape); format_all: the VM was encrypted with
    EncryptFormatAll (its resource disk is re-encrypted at boot)."""
    out = []
    for pip in public_ips or []:
        props = (pip or {}).get('properties') or {}
        if (props.get('publicIPAllocationMethod') or '').lower() == 'dynamic':
            out.append(dict(id='dynamic_public_ip', message=(
                'public IP {0} ({1}) is dynamic: the deallocate releases it and the VM gets another address at start; '
                'make it static first, or accept the change'.format(pip.get('name'), props.get('ipAddress') or 'none'))))
    out.append(dict(id='resource_disk_wiped', message=(
        'the resource (temporary) disk, if the VM size has one, is wiped at deallocate' + (
            '; with EncryptFormatAll ADE encrypts it again at boot, the guest check requires it on dm-crypt'
            if format_all else ''))))
    return out


def refusal(name, found, confirmed):
    """Why the cold start must not run now (None: go). ``found``: ``costs``; ``confirmed``: confirm_deallocate."""
    if confirmed or not found:
        return None
    return ('refusing to deallocate {0} for the cold-start proof without confirm_deallocate=true: {1}. Nothing was '
            'sent. (restart_mode=warm restarts it in place but does not prove that its next cold start finds its key)'
            .format(name, '; '.join(c['message'] for c in found)))


def hang_message(name, mode, timeout, power, advice):
    """The failure when the VM did not come back after the restart check's restart."""
    if mode == 'cold':
        return ('{0} did not come back (power {1}, agent not Ready) within {2}s after the cold start (deallocate + '
                'start, the platform fetched its disk-encryption secret from Key Vault again): it likely stops at '
                'the passphrase prompt. Check the key custody (azure_ade.linux.vm_encryption_info check_custody=true: '
                'secret disabled, deleted or expired, vault access for disk encryption) and fix it before another '
                'start. {3}'.format(name, power, timeout, advice))
    return ('{0} did not come back (power {1}, agent not Ready) within {2}s after the restart; it may hang at boot '
            '(volumes not unlocked). {3}'.format(name, power, timeout, advice))

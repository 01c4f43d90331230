# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: which Azure VM a host is (issue 15 item 1). One decision for every job of the rollout role.

The VM a job acts on is named by the operator's side only, by one of:

* host vars ``azure_vm_resource_id`` (a VM resource ID), or ``azure_resource_group`` + ``azure_vm_name``
  (+ ``azure_subscription_id``);
* an Azure dynamic inventory's host vars: azure.azcollection's ``azure_rm`` plugin sets ``id`` to the VM's
  resource ID (also ``resource_group`` and ``name``);
* a match between the address Ansible connects to and the NIC addresses ARM reports, counted only when
  exactly one VM in scope has that address (private ranges repeat across networks).

The guest's IMDS answer only confirms: its vmId must be present and equal ARM's vmId of the named VM. It
never chooses a VM. Root on a guest controls that answer (and even the interpreter Ansible runs), so a
guest that gives no vmId, or another VM's, is refused before any write, with a message naming the source
that disagreed.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

VM_RID = re.compile(r'^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Compute/'
                    r'virtualMachines/([^/]+)/?$', re.IGNORECASE)

# Where a target came from (the names the messages use).
SOURCE_RESOURCE_ID = 'host var azure_vm_resource_id'
SOURCE_HOST_VARS = 'host vars azure_resource_group/azure_vm_name'
SOURCE_DYNAMIC = 'dynamic inventory host var id (azure_rm)'
SOURCE_ADDRESS = 'NIC address match'
SOURCE_GUEST = 'guest IMDS (unconfirmed)'

FIX = ("name the VM on the operator's side: host vars azure_resource_group + azure_vm_name (and "
       "azure_subscription_id) or azure_vm_resource_id, or an azure.azcollection.azure_rm dynamic inventory")


class IdentityError(ValueError):
    pass


def parse_vm_id(rid):
    """(subscription, resource group, name) of a VM resource ID, or None."""
    m = VM_RID.match((rid or '').strip()) if isinstance(rid, str) else None
    return (m.group(1), m.group(2), m.group(3)) if m else None


def _text(value):
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _same(a, b):
    """Two targets name the same VM (subscription compared only when both give one)."""
    if (a['resource_group'] or '').lower() != (b['resource_group'] or '').lower():
        return False
    if (a['name'] or '').lower() != (b['name'] or '').lower():
        return False
    sa, sb = a.get('subscription_id'), b.get('subscription_id')
    return not (sa and sb and sa.lower() != sb.lower())


def _label(t):
    return '{0}{1}/{2}'.format((t['subscription_id'] + '/') if t.get('subscription_id') else '',
                               t['resource_group'], t['name'])


def _target(sub, rg, name, source):
    return {'subscription_id': _text(sub), 'resource_group': _text(rg), 'name': _text(name), 'source': source}


def operator_target(host_vars):
    """The VM the operator's side names for one host, from its variables (a dict; missing keys = unset).

    Keys read: azure_vm_resource_id, azure_subscription_id, azure_resource_group, azure_vm_name, and the
    azure_rm dynamic inventory's id. Returns {subscription_id, resource_group, name, source, sources, error}:
    source None and error None when nothing names the VM (the address match may then decide); error set when
    a source is malformed or two sources name different VMs. Pure."""
    hv = host_vars or {}
    found = []
    rid = _text(hv.get('azure_vm_resource_id'))
    if rid is not None:
        parts = parse_vm_id(rid)
        if not parts:
            return _error('host var azure_vm_resource_id {0!r} is not a VM resource ID '
                          '(/subscriptions/SUB/resourceGroups/RG/providers/Microsoft.Compute/virtualMachines/NAME)'
                          .format(rid))
        found.append(_target(parts[0], parts[1], parts[2], SOURCE_RESOURCE_ID))
    rg, name = _text(hv.get('azure_resource_group')), _text(hv.get('azure_vm_name'))
    if rg or name:
        if not (rg and name):
            return _error('host var {0} is set but {1} is not: set both (or azure_vm_resource_id)'.format(
                'azure_resource_group' if rg else 'azure_vm_name', 'azure_vm_name' if rg else 'azure_resource_group'))
        found.append(_target(hv.get('azure_subscription_id'), rg, name, SOURCE_HOST_VARS))
    dyn = parse_vm_id(_text(hv.get('id')))
    if dyn:
        found.append(_target(dyn[0], dyn[1], dyn[2], SOURCE_DYNAMIC))
    if not found:
        return {'subscription_id': None, 'resource_group': None, 'name': None, 'source': None, 'sources': [],
                'error': None}
    first = found[0]
    for other in found[1:]:
        if not _same(first, other):
            return _error('the operator\'s sources disagree: {0} names {1}, {2} names {3}; fix the inventory'.format(
                first['source'], _label(first), other['source'], _label(other)))
    sub = next((t['subscription_id'] for t in found if t['subscription_id']), None)
    out = dict(first, subscription_id=sub, sources=[t['source'] for t in found], error=None)
    return out


def _error(msg):
    return {'subscription_id': None, 'resource_group': None, 'name': None, 'source': None, 'sources': [],
            'error': msg}


def address_target(address, vms):
    """The VM whose NICs carry ``address`` among ``vms`` (the VMs in scope: [{id, addresses: [...]}]).

    Counted only when exactly one VM has it: private ranges repeat across virtual networks. Returns a target
    dict as operator_target does (error set when no VM or several VMs have the address). Pure."""
    address = _text(address)
    if not address:
        return _error('no address to match: ansible_host is empty')
    hits = []
    for vm in vms or []:
        if address in [str(a).strip() for a in vm.get('addresses') or []]:
            if vm.get('id') not in [h.get('id') for h in hits]:
                hits.append(vm)
    if not hits:
        return _error('no VM in scope has a NIC with address {0}; {1}'.format(address, FIX))
    if len(hits) > 1:
        return _error('{0} VMs in scope have a NIC with address {1} ({2}): an address names a VM only when it is '
                      'unique; {3}'.format(len(hits), address, ', '.join(sorted(h.get('id') or '?' for h in hits)), FIX))
    parts = parse_vm_id(hits[0].get('id'))
    if not parts:
        return _error('the VM matched by address {0} has no VM resource ID ({1!r})'.format(address, hits[0].get('id')))
    out = _target(parts[0], parts[1], parts[2], SOURCE_ADDRESS)
    out.update(sources=[SOURCE_ADDRESS], error=None)
    return out


def host_target(host_vars, address=None, vms=None):
    """The VM of one host in one step: operator_target, else - when ``vms`` (the NIC addresses in scope) was read and
    nothing on the operator's side names the VM - address_target. Pure."""
    target = operator_target(host_vars)
    if vms is None or target.get('source') is not None or target.get('error'):
        return target
    return address_target(address, vms)


def unnamed(targets):
    """The hosts (of {host: operator_target result}) that nothing on the operator's side names and whose sources are
    not in error: the ones the NIC address match may name. Pure."""
    return sorted(h for h, t in (targets or {}).items() if t.get('source') is None and not t.get('error'))


def confirm(target, arm_vm, guest, guest_required=True, host=None):
    """Decide whether a job may act on ``target`` (from operator_target/address_target).

    ``arm_vm``: the VM as ARM reports it ({} / None when not found; key vm_id = ARM's vmId, or properties.vmId).
    ``guest``: {'answered': bool, 'vm_id': IMDS vmId or None, 'error': why it did not answer}.
    ``guest_required``: a guest that did not answer (unreachable, its module failed) refuses the job; when
    False (a restore of a VM that does not boot, a resumed wait) the operator's source alone names the VM.
    A guest that answered must give ARM's vmId, always.

    Returns {ok, msg, vm: {subscription_id, resource_group, name}, vm_id, guest_vm_id, source, confirmed}. Pure."""
    target = target or {}
    guest = guest or {}
    who = host or 'this host'
    vm = {'subscription_id': target.get('subscription_id'), 'resource_group': target.get('resource_group'),
          'name': target.get('name')}
    out = {'ok': False, 'msg': '', 'vm': vm, 'vm_id': None, 'guest_vm_id': _text(guest.get('vm_id')),
           'source': target.get('source'), 'confirmed': False}
    if target.get('error'):
        out['msg'] = 'Identity of {0}: {1}. Nothing was changed.'.format(who, target['error'])
        return out
    if not (vm['resource_group'] and vm['name']):
        out['msg'] = ('Identity of {0}: nothing on the operator\'s side names its VM (the guest\'s IMDS answer only '
                      'confirms, it never chooses); {1}. Nothing was changed.'.format(who, FIX))
        return out
    label = _label(vm)
    arm_vm = arm_vm or {}
    arm_id = _text(arm_vm.get('vm_id') or (arm_vm.get('properties') or {}).get('vmId'))
    if not (arm_vm.get('name') or arm_vm.get('id')):
        out['msg'] = ('Identity of {0}: VM {1} (named by {2}) was not found in Azure; check the inventory and the '
                      'credentials\' subscription. Nothing was changed.'.format(who, label, target.get('source')))
        return out
    if not arm_id:
        out['msg'] = ('Identity of {0}: ARM reports no vmId for VM {1} (named by {2}). Nothing was changed.'.format(
            who, label, target.get('source')))
        return out
    out['vm_id'] = arm_id
    if not guest.get('answered'):
        if guest_required:
            out['msg'] = ('Identity of {0}: the guest did not answer ({1}), so it cannot confirm that it is VM {2} '
                          '(named by {3}). Nothing was changed.'.format(
                              who, guest.get('error') or 'unreachable', label, target.get('source')))
            return out
        out.update(ok=True, msg='VM {0} named by {1}; the guest did not answer ({2}): not confirmed'.format(
            label, target.get('source'), guest.get('error') or 'unreachable'))
        return out
    gid = out['guest_vm_id']
    if not gid:
        out['msg'] = ('Identity of {0}: the guest answered without an IMDS vmId, so it cannot confirm that it is VM '
                      '{1} (vmId {2}, named by {3}); the guest disagrees. Nothing was changed.'.format(
                          who, label, arm_id, target.get('source')))
        return out
    if gid.lower() != arm_id.lower():
        out['msg'] = ('Identity of {0}: the guest\'s IMDS vmId {1} is not the vmId {2} of VM {3} named by {4}; the '
                      'guest disagrees with the operator\'s side (a wrong inventory entry, or a guest that lies). '
                      'Nothing was changed.'.format(who, gid, arm_id, label, target.get('source')))
        return out
    out.update(ok=True, confirmed=True,
               msg='VM {0} named by {1}, confirmed by the guest (vmId {2})'.format(label, target.get('source'), arm_id))
    return out


def guest_answer(imds=None, guest_result=None, unreachable_msg=None):
    """What the guest answered for the identity step, in the shape ``confirm`` takes as ``guest``.

    ``imds``: IMDS facts the caller already has (the preflight's ``facts.imds``), used when they carry a vmId;
    ``guest_result``: the registered guest_facts result (skipped, unreachable, failed or its ansible_facts);
    ``unreachable_msg``: why the guest did not answer, when the caller knows. Returns {'answered': bool,
    'vm_id': IMDS vmId or None, 'error': why it did not answer (only when it did not)}. Pure."""
    imds = imds if isinstance(imds, dict) else {}
    if imds.get('vm_id') is not None:
        return {'answered': True, 'vm_id': imds['vm_id']}
    result = guest_result if isinstance(guest_result, dict) else {}
    if not result or result.get('skipped') or result.get('unreachable'):
        return {'answered': False, 'vm_id': None, 'error': unreachable_msg or 'unreachable'}
    if result.get('failed'):
        return {'answered': False, 'vm_id': None, 'error': 'guest_facts failed: {0}'.format(result.get('msg') or '?')}
    facts = ((result.get('ansible_facts') or {}).get('azure_ade') or {}).get('imds') or {}
    return {'answered': True, 'vm_id': facts.get('vm_id')}


def status_mark(guest_imds, platform, target=None):
    """For the status report: None when the guest's IMDS vmId is absent (nothing to compare) or equals the
    platform's vmId of the VM the row names, else a one-line mismatch text starting 'identity: '. The row then
    shows no platform status: it would be another VM's. With ``target`` (the row's vm_target), a target error
    (malformed or disagreeing sources, an address several VMs have) is marked too; a host nothing names is not a
    mismatch (its row says the VM is unknown). Pure."""
    if target is not None:
        if target.get('error'):
            return 'identity: ' + target['error']
    gid = _text((guest_imds or {}).get('vm_id'))
    if not platform or platform.get('error'):
        return None
    pid = _text(platform.get('vm_id'))
    if gid is None or pid is None:
        return None
    if gid.lower() == pid.lower():
        return None
    return ('identity: the guest\'s IMDS vmId {0} is not the vmId {1} of VM {2}/{3}; the platform status of that VM '
            'is not shown for this host'.format(gid, pid, platform.get('resource_group'), platform.get('name')))


def nic_addresses(nics, public_ips=None):
    """[{id: VM resource ID, addresses: [private and public IPs]}] from NIC and public IP lists (REST shape).

    A NIC attached to no VM is left out. Pure."""
    pub = {}
    for pip in public_ips or []:
        addr = ((pip or {}).get('properties') or {}).get('ipAddress')
        if pip.get('id') and addr:
            pub[pip['id'].lower()] = addr
    out = {}
    for nic in nics or []:
        props = (nic or {}).get('properties') or {}
        vm_id = (props.get('virtualMachine') or {}).get('id')
        if not vm_id:
            continue
        entry = out.setdefault(vm_id.lower(), {'id': vm_id, 'addresses': []})
        for conf in props.get('ipConfigurations') or []:
            cp = (conf or {}).get('properties') or {}
            for addr in (cp.get('privateIPAddress'), pub.get(((cp.get('publicIPAddress') or {}).get('id') or '').lower())):
                if addr and addr not in entry['addresses']:
                    entry['addresses'].append(addr)
    return [out[k] for k in sorted(out)]

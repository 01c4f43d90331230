#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

DOCUMENTATION = r'''
module: vm_rebuild
short_description: Rebuild a VM whose ADE covers its OS volume as a new VM with encryption at host (Azure side)
version_added: 0.4.0
description:
  - The Azure side of the way off ADE for a Linux VM whose OS volume is ADE-encrypted, which cannot be decrypted
    (Microsoft's "Migrate from Azure Disk Encryption to encryption at host") - a NEW VM with a new OS disk and
    encryption at host, the data copied at the application level, the old VM kept until the new one is verified.
    The C(rebuild) playbook runs the guest side (the operator's configuration, the rsync copy, the comparison) between
    the states of this module.
  - O(state=present) records the plan in the OLD VM's tags (C(azure_ade_rebuild_*)), creates a NIC in the same subnet
    and NSG (same accelerated networking; real C(azure-mgmt-network)) and the new VM - same image reference at its
    current version (a custom or gallery image by the same ID), same size (or O(size)), zone, availability set,
    proximity placement group, tags, managed identities, boot diagnostics, encryption at host on, empty data disks of
    the same sizes, caching and LUNs.
  - O(state=configured), O(state=copied), O(state=compared) record the guest steps the playbook finished.
  - O(state=cut_over) deallocates the old VM (kept with its disks, its keys and its snapshot set) and, with
    O(cutover=private_ip), moves its private address - the old NIC takes a spare static address of the subnet, the
    new NIC takes the old address - or, with O(cutover=dns), swaps the DNS name - the old public IP's label
    (C(dnsSettings.domainNameLabel)) freed, the new VM's public IP (built with the new VM, same SKU) given it, so
    C(<label>.<region>.cloudapp.azure.com) names the new VM - then starts the new VM. The label is recorded at the
    plan and a marker before the first label write, so an interrupted swap resumes (or falls back) from the record.
  - O(state=fallback) (until verified) deallocates the new VM, gives the address (or the DNS label) back and starts
    the old VM;
    O(state=verified) records the operator's confirmation and the retention - the date until which the old VM is
    kept (O(retention_days), tag C(azure_ade_rebuild_keep_until)); the old VM and its disks stay, the module never
    deletes them.
  - Every step is recorded; an interrupted run resumes where it stopped and a finished one sends no write.
    Refusals come before any write - a VM in a scale set, a specialized or attached OS disk (no image to recreate it
    from), an unmanaged disk, the EncryptionAtHost feature not registered, a size without encryption at host and no
    O(size); with O(cutover=dns) an old VM without a public IP or whose public IP has no DNS label, and - at the
    cut-over or fallback - a DNS label another resource took meanwhile.
author:
  - azure_ade.linux maintainers (@azure-ade)
extends_documentation_fragment:
  - azure_ade.linux.azure_auth
  - azure_ade.linux.lease
  - azure_ade.linux.attributes
  - azure_ade.linux.attributes.actiongroup_azure
attributes:
  check_mode:
    support: full
    details: Reads and returns the steps it would take; sends no write.
  diff_mode:
    support: none
options:
  resource_group:
    description: Resource group of the old VM (the new VM, its NIC and disks go there too).
    type: str
    required: true
  name:
    description: The old VM (ADE on its OS volume).
    type: str
    required: true
  new_name:
    description: Name of the new VM; default the old name + C(-eah). A resumed run takes the name of the record.
    type: str
  size:
    description: Size of the new VM, when the old size cannot take encryption at host.
    type: str
  state:
    description: What to reach (see the description).
    type: str
    choices: [present, configured, copied, compared, cut_over, fallback, verified]
    default: present
  cutover:
    description:
      - C(private_ip) moves the old VM's private address to the new VM at the cut-over; C(dns) moves the DNS name
        (label) of the old VM's public IP to a public IP built for the new VM; C(none) leaves addresses alone (the
        operator changes DNS or clients).
      - Recorded with the plan; a resumed run follows the record (default), another value than the record's is
        refused. Without a record, C(private_ip).
    type: str
    choices: [private_ip, dns, none]
  admin_username:
    description: Admin user of the new VM; default the old VM's.
    type: str
  ssh_public_keys:
    description: SSH public keys for the new VM's admin user; default the old VM's.
    type: list
    elements: str
  timeout:
    description: Seconds to wait for each Azure operation.
    type: int
    default: 3600
  retention_days:
    description:
      - With O(state=verified) - keep the old VM (deallocated, with its disks, keys and snapshot set) at least this
        many days; the date is recorded in its tags (C(keep_until) in RV(record)) and shown on the rebuild page.
        Nothing is deleted by the module, before or after that date.
    type: int
    default: 30
  expected_vm_id:
    description:
      - The old VM's vmId as its guest's IMDS reported it (the rebuild playbook passes ARM's vmId confirmed by the
        guest); the module refuses before any write when ARM's vmId of O(name) differs. An empty string is an error.
    type: str
seealso:
  - module: azure_ade.linux.ade_inventory_info
  - module: azure_ade.linux.vm_migrate
  - name: Migrate from Azure Disk Encryption to encryption at host
    description: Microsoft's article on the way off ADE.
    link: https://learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate
'''
EXAMPLES = r'''
- name: Build the new VM (resumable; a re-run of a built VM sends nothing)
  azure_ade.linux.vm_rebuild:
    resource_group: rg-app
    name: web01
  register: rb

- name: After the playbook copied and compared the data - cut over (the private IP moves)
  azure_ade.linux.vm_rebuild:
    resource_group: rg-app
    name: web01
    state: cut_over

- name: Or swap the DNS name of the old VM's public IP (planned with cutover dns; the record keeps it)
  azure_ade.linux.vm_rebuild:
    resource_group: rg-app
    name: web01
    state: cut_over
    cutover: dns

- name: Something is wrong on the new VM - back to the old one
  azure_ade.linux.vm_rebuild:
    resource_group: rg-app
    name: web01
    state: fallback
'''
RETURN = r'''
record:
  description: The rebuild record of the old VM after this run (C(stage), C(new), C(at), C(ip), C(spare_ip), C(plan),
    C(keep_until) - the retention recorded with O(state=verified), C(log) - when each step was recorded,
    C(cutover), C(dns) - the DNS label a DNS cut-over moves, C(swap) - set before its first label write).
  returned: always
  type: dict
steps:
  description: The steps this run took (or would take in check mode), in order.
  returned: always
  type: list
  elements: str
new_vm:
  description: ID of the new VM (when it exists).
  returned: when it exists
  type: str
new_vm_id:
  description: The new VM's vmId (what its guest's IMDS must answer).
  returned: when it exists
  type: str
new_address:
  description: The private address of the new VM's NIC as ARM reports it after this run (the rebuild playbook
    connects to the new guest there before the cut-over).
  returned: when the new NIC exists
  type: str
data_disks:
  description: The new VM's empty data disks (C(lun), C(size_gb)) - the old VM's data disk sizes and LUNs (the
    rebuild playbook checks before the build that the old guest's data fits them).
  returned: when the old VM was read
  type: list
  elements: dict
refusals:
  description: Why nothing was done (each with its reason).
  returned: when refused
  type: list
  elements: str
requests:
  description: HTTP requests made, by method and status.
  returned: always
  type: dict
'''

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rebuild as RB
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import retirement
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.base import AzureModule
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import to_dict


def network_client(session):
    from azure.mgmt.network import NetworkManagementClient  # pylint: disable=import-outside-toplevel
    return NetworkManagementClient(session.credential, session.subscription_id, **session._client_kwargs())


def _parts(rid):
    p = (rid or '').strip('/').split('/')
    return dict(rg=p[3] if len(p) > 3 else None, name=p[7] if len(p) > 7 else None,
                child=p[9] if len(p) > 9 else None)


def get_nic(net, rid):
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel
    p = _parts(rid)
    try:
        return to_dict(net.network_interfaces.get(p['rg'], p['name']))
    except ResourceNotFoundError:
        return None


def get_pip(net, rid):
    from azure.core.exceptions import ResourceNotFoundError  # pylint: disable=import-outside-toplevel
    p = _parts(rid)
    try:
        return to_dict(net.public_ip_addresses.get(p['rg'], p['name']))
    except ResourceNotFoundError:
        return None


def wait_provisioned(session, rg, name, deadline):
    """A new VM whose create an interrupted run sent may still be provisioning: wait until ARM says Succeeded."""
    while True:
        vm = session.get_vm(rg, name, instance_view=False) or {}
        state = (vm.get('properties') or {}).get('provisioningState')
        if state == 'Succeeded':
            return
        if state == 'Failed' or not vm:
            raise RB.RebuildError('the new VM {0} is {1}: delete it (its NIC and disks stay) and run again'.format(
                name, 'gone' if not vm else 'in provisioning state Failed'))
        if time.time() > deadline:
            raise RB.RebuildError('the new VM {0} is still {1} after the timeout'.format(name, state))
        time.sleep(2)


def nic_address(nic):
    return ((RB.primary_ipconfig(nic) or {}).get('properties') or {}).get('privateIPAddress')


def power(vm):
    for s in ((vm or {}).get('properties') or {}).get('instanceView', {}).get('statuses') or []:
        if (s.get('code') or '').startswith('PowerState/'):
            return s['code'].split('/', 1)[1]
    return None


def new_facts(new, new_nic):
    out = {}
    if new:
        out.update(new_vm=new.get('id'), new_vm_id=(new.get('properties') or {}).get('vmId'))
    if new_nic:
        out['new_address'] = nic_address(new_nic)
    return out


def main():
    base = AzureModule(dict(
        resource_group=dict(type='str', required=True), name=dict(type='str', required=True),
        new_name=dict(type='str'), size=dict(type='str'),
        state=dict(type='str', default='present', choices=['present', 'configured', 'copied', 'compared', 'cut_over',
                                                           'fallback', 'verified']),
        cutover=dict(type='str', choices=['private_ip', 'dns', 'none']),
        admin_username=dict(type='str'), ssh_public_keys=dict(type='list', elements='str', no_log=False),
        timeout=dict(type='int', default=3600), expected_vm_id=dict(type='str'),
        retention_days=dict(type='int', default=30)), supports_check_mode=True,
        positive=('timeout',), non_negative=('retention_days',), lease=True)
    p = base.params
    rg, name = p['resource_group'], p['name']
    session = base.open_session()
    deadline = time.time() + p['timeout']
    try:
        net = network_client(session)
    except ImportError:
        base.fail('vm_rebuild needs azure-mgmt-network on the control node (pip install "azure-mgmt-network>=33,<34"; '
                  'requirements.txt). Nothing was sent to Azure.')
    taken = []
    try:
        # one run per VM (issue 14): every write below (the old VM's record, NIC, new VM, power) holds its lease
        old = base.read_vm_leased(rg, name)
        if old is None:
            base.fail('VM {0}/{1} not found. Nothing was sent to Azure.'.format(rg, name))
        err = rollout.identity_error(old, p['expected_vm_id'])
        if err:
            base.fail('vm_rebuild {0}/{1}: {2}'.format(rg, name, err), steps=[])
        rec = RB.record(old)
        cutover = RB.effective_cutover(rec, p['cutover'])
        new_name = rec['new'] or p['new_name'] or RB.new_name(name)
        nic_name = new_name + '-nic'
        pip_name = new_name + '-pip'
        old_nic_id = (((old.get('properties') or {}).get('networkProfile') or {}).get('networkInterfaces')
                      or [{}])[0].get('id')
        old_nic = get_nic(net, old_nic_id) if old_nic_id else None
        old_pip_id = RB.public_ip_id(old_nic) if cutover == 'dns' else None
        old_pip = get_pip(net, old_pip_id) if old_pip_id else None
        new = session.get_vm(rg, new_name)
        new_nic = get_nic(net, '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Network/'
                               'networkInterfaces/{2}'.format(session.subscription_id, rg, nic_name))
        new_pip_id = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Network/publicIPAddresses/{2}'.format(
            session.subscription_id, rg, pip_name)
        new_pip = get_pip(net, new_pip_id) if cutover == 'dns' else None
        want = p['state'] if p['state'] in ('present', 'cut_over', 'fallback', 'verified') else 'recorded:' + p['state']
        if rec['stage'] is None and want == 'present':
            eah = retirement.EahContext(session)
            caps = eah.size_caps(dict(old, properties=dict(old.get('properties') or {}, hardwareProfile={
                'vmSize': p['size'] or ((old.get('properties') or {}).get('hardwareProfile') or {}).get('vmSize')})))
            refused = RB.refusals(old, eah.feature_state(), caps, p['size'], cutover, old_nic, old_pip)
            if old_nic is None and cutover == 'private_ip':
                refused.append('VM {0}: its primary NIC {1} cannot be read'.format(name, old_nic_id))
            if new is not None and ((new.get('tags') or {}).get(RB.TAG_OF) or '').lower() != old['id'].lower():
                refused.append('a VM named {0} exists and is not a rebuild of {1}: give new_name'.format(new_name, name))
            if refused:
                base.fail('vm_rebuild refused, nothing was sent to Azure: ' + '; '.join(refused), refusals=refused,
                          record=rec, steps=[])
        steps = RB.next_steps(rec, new is not None, new_nic is not None, cutover, want, new_pip is not None)
        label = rec['dns'] or RB.dns_label(old_pip)
        if any(s.endswith('_dns') for s in steps):
            if not label:
                raise RB.RebuildError('the record has no DNS label to move (planned before dns cut-overs existed?)')
            # the label may have been taken by another resource while it was free (an interrupted swap): refuse
            # before any write of this cut-over / fallback
            taker = RB.dns_conflict(label, old['location'], [to_dict(x) for x in net.public_ip_addresses.list_all()],
                                    [old_pip_id, new_pip_id])
            if taker:
                refused = ['the DNS name {0} ({1}) is now held by another resource, public IP {2}: free it there and '
                           'run again'.format(label, '.'.join(RB.fqdn_key(label, old['location'])) +
                                              '.cloudapp.azure.com', taker)]
                base.fail('vm_rebuild refused, nothing was sent to Azure: ' + refused[0], refusals=refused,
                          record=rec, steps=[])
    except RB.RebuildError as exc:
        base.fail('vm_rebuild {0}/{1}: {2}. Nothing was sent to Azure.'.format(rg, name, exc), steps=[])
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_rebuild {0}/{1} (reading)'.format(rg, name), exc)
    if base.check_mode or not steps:
        base.exit(changed=bool(steps), record=rec, steps=steps, data_disks=RB.new_data_disks(old),
                  **new_facts(new, new_nic))
    done = []
    tags = dict(old.get('tags') or {})

    def record_step(stage, **kw):
        new_tags = RB.record_tags(tags, stage, **kw)
        session.retry_conflicts(lambda: session.update_vm_tags(rg, name, new_tags), deadline,
                                'recording rebuild step {0}'.format(stage), interval=5.0)
        tags.clear()
        tags.update(new_tags)

    def swap_label(pip_id, give, mark=False):
        """Give ``label`` to the public IP (give) or free it there; writes only what is not so yet."""
        pip = get_pip(net, pip_id)
        if pip is None:
            raise RB.RebuildError('public IP {0} is gone'.format(pip_id))
        has = (RB.dns_label(pip) or '').lower() == label.lower()
        if has == give:
            return
        if mark and not RB.record({'tags': tags})['swap']:
            record_step(tags.get(RB.TAG_STAGE), swap='dns')      # before the first label write of a cut-over
        net.public_ip_addresses.begin_create_or_update(
            _parts(pip_id)['rg'], pip['name'], RB.pip_dns_update(pip, label if give else None)).result()

    try:
        body_nic = RB.nic_body(old_nic, old['location'], new_pip_id if cutover == 'dns' else None) \
            if old_nic else None
        for step in steps:
            if step == 'record_plan':
                vm_b = RB.vm_body(old, '<nic>', p['size'], p['admin_username'], p['ssh_public_keys'])
                record_step('planned', new=new_name, plan=RB.plan_digest(vm_b, body_nic),
                            ip=nic_address(old_nic) if old_nic else None, cutover=cutover,
                            dns=label if cutover == 'dns' else None)
            elif step == 'create_pip':
                new_pip = to_dict(net.public_ip_addresses.begin_create_or_update(
                    rg, pip_name, RB.new_pip_body(old_pip, old['location'])).result())
            elif step in ('release_old_dns', 'take_new_dns', 'release_new_dns', 'give_back_old_dns'):
                swap_label(new_pip_id if 'new' in step else old_pip_id, give=step.startswith(('take', 'give')),
                           mark=step == 'release_old_dns')
            elif step == 'create_nic':
                new_nic = to_dict(net.network_interfaces.begin_create_or_update(rg, nic_name, body_nic).result())
            elif step == 'record_verified':
                record_step('verified', keep_until=RB.keep_until(p['retention_days']))
            elif step in ('record_nic', 'record_vm', 'record_configured', 'record_copied', 'record_compared',
                          'record_cut_over', 'record_fallback'):
                if step == 'record_vm':
                    wait_provisioned(session, rg, new_name, deadline)
                record_step(step[len('record_'):])
            elif step == 'create_vm':
                vm_b = RB.vm_body(old, new_nic['id'], p['size'], p['admin_username'], p['ssh_public_keys'])
                vm_b['properties']['osProfile']['computerName'] = new_name[:64]
                new = to_dict(session.compute.virtual_machines.begin_create_or_update(rg, new_name, vm_b).result())
            elif step == 'deallocate_old':
                if power(session.get_vm(rg, name)) != 'deallocated':
                    session.deallocate_vm(rg, name)
            elif step == 'deallocate_new':
                if power(session.get_vm(rg, new_name)) != 'deallocated':
                    session.deallocate_vm(rg, new_name)
            elif step in ('release_old_ip', 'release_new_ip'):
                nic = get_nic(net, old_nic_id if step == 'release_old_ip' else new_nic['id'])
                ip = RB.record({'tags': tags})['ip']
                if nic_address(nic) == ip:
                    spare = RB.record({'tags': tags})['spare_ip']
                    if not spare or step == 'release_new_ip':
                        sub = (RB.primary_ipconfig(nic).get('properties') or {}).get('subnet', {}).get('id')
                        sp = _parts(sub)
                        prefix = to_dict(net.subnets.get(sp['rg'], sp['name'], sp['child'])).get(
                            'properties', {}).get('addressPrefix')
                        taken = [nic_address(to_dict(n)) for n in net.network_interfaces.list_all()]
                        spare = RB.spare_address(prefix, [t for t in taken if t], avoid=[ip])
                        if step == 'release_old_ip':
                            record_step(tags.get(RB.TAG_STAGE), spare_ip=spare)
                    net.network_interfaces.begin_create_or_update(
                        _parts(nic['id'])['rg'], nic['name'], RB.ipconfig_update(nic, spare)).result()
            elif step in ('take_new_ip', 'give_back_old_ip'):
                nic = get_nic(net, new_nic['id'] if step == 'take_new_ip' else old_nic_id)
                ip = RB.record({'tags': tags})['ip']
                if nic_address(nic) != ip:
                    net.network_interfaces.begin_create_or_update(
                        _parts(nic['id'])['rg'], nic['name'], RB.ipconfig_update(nic, ip)).result()
            elif step in ('start_new', 'start_old'):
                vm_name = new_name if step == 'start_new' else name
                if power(session.get_vm(rg, vm_name)) != 'running':
                    session.start_vm(rg, vm_name)
            done.append(step)
    except RB.RebuildError as exc:
        base.fail('vm_rebuild {0}/{1}: {2} (done: {3}; a re-run resumes)'.format(rg, name, exc, ', '.join(done)),
                  changed=bool(done), steps=done, record=RB.record({'tags': tags}))
    except Exception as exc:  # pylint: disable=broad-except
        base.fail_azure('vm_rebuild {0}/{1} at step {2} (done: {3}; a re-run resumes)'.format(
            rg, name, steps[len(done)], ', '.join(done) or 'none'), exc, changed=bool(done), steps=done,
            record=RB.record({'tags': tags}))
    if new_nic is not None:
        new_nic = get_nic(net, new_nic['id'])
    base.exit(changed=True, steps=done, record=RB.record({'tags': tags}), data_disks=RB.new_data_disks(old),
              **new_facts(new, new_nic))


if __name__ == '__main__':
    main()

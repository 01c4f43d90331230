# -*- coding: utf-8 -*-
"""Identity from the operator's side only; the guest's IMDS answer confirms, never chooses (issue 15 item 1)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import identity as I

SUB = '11111111-1111-1111-1111-111111111111'
RID = '/subscriptions/%s/resourceGroups/rg-a/providers/Microsoft.Compute/virtualMachines/vm-a' % SUB
VICTIM = {'name': 'vm-b', 'resource_group': 'rg-a', 'id': RID.replace('vm-a', 'vm-b'), 'vm_id': 'bbbb'}
OWN = {'name': 'vm-a', 'resource_group': 'rg-a', 'id': RID, 'vm_id': 'AAAA'}


def test_no_source_names_nothing():
    t = I.operator_target({})
    assert t['source'] is None and t['error'] is None
    d = I.confirm(t, OWN, {'answered': True, 'vm_id': 'aaaa'}, host='h1')
    assert not d['ok'] and "nothing on the operator's side names its VM" in d['msg'] and 'h1' in d['msg']


def test_host_vars():
    t = I.operator_target({'azure_resource_group': 'rg-a', 'azure_vm_name': 'vm-a', 'azure_subscription_id': SUB})
    assert (t['subscription_id'], t['resource_group'], t['name'], t['source']) == (SUB, 'rg-a', 'vm-a', I.SOURCE_HOST_VARS)


def test_one_host_var_alone_is_an_error():
    assert 'azure_vm_name' in I.operator_target({'azure_resource_group': 'rg-a'})['error']
    assert 'azure_resource_group' in I.operator_target({'azure_vm_name': 'vm-a', 'azure_resource_group': ''})['error']


def test_resource_id_and_dynamic_inventory():
    t = I.operator_target({'azure_vm_resource_id': RID})
    assert (t['resource_group'], t['name'], t['source']) == ('rg-a', 'vm-a', I.SOURCE_RESOURCE_ID)
    t = I.operator_target({'id': RID, 'name': 'vm-a', 'resource_group': 'rg-a'})
    assert (t['subscription_id'], t['name'], t['source']) == (SUB, 'vm-a', I.SOURCE_DYNAMIC)
    assert 'not a VM resource ID' in I.operator_target({'azure_vm_resource_id': '/subscriptions/x'})['error']
    # an `id` host var that is no VM resource ID is not a source (another meaning of a common name)
    assert I.operator_target({'id': 42})['source'] is None


def test_sources_must_agree():
    t = I.operator_target({'id': RID, 'azure_resource_group': 'RG-A', 'azure_vm_name': 'VM-A'})
    assert t['error'] is None and t['subscription_id'] == SUB and len(t['sources']) == 2
    t = I.operator_target({'id': RID, 'azure_resource_group': 'rg-a', 'azure_vm_name': 'vm-b'})
    assert 'disagree' in t['error'] and 'vm-b' in t['error'] and I.SOURCE_DYNAMIC in t['error']


def test_address_match_counts_only_a_unique_address():
    vms = [{'id': RID, 'addresses': ['10.0.0.4', '52.1.1.1']},
           {'id': VICTIM['id'], 'addresses': ['10.0.0.5']},
           {'id': RID.replace('rg-a', 'rg-b'), 'addresses': ['10.0.0.5']}]
    t = I.address_target('52.1.1.1', vms)
    assert (t['name'], t['source']) == ('vm-a', I.SOURCE_ADDRESS)
    assert '2 VMs in scope' in I.address_target('10.0.0.5', vms)['error']
    assert 'no VM in scope' in I.address_target('10.9.9.9', vms)['error']
    assert 'empty' in I.address_target('', vms)['error']


def _target():
    return I.operator_target({'azure_resource_group': 'rg-a', 'azure_vm_name': 'vm-a'})


def test_confirmed():
    d = I.confirm(_target(), OWN, {'answered': True, 'vm_id': 'aaaa'})
    assert d['ok'] and d['confirmed'] and d['vm_id'] == 'AAAA' and d['vm']['name'] == 'vm-a'


def test_guest_names_another_vm_is_refused():
    d = I.confirm(_target(), OWN, {'answered': True, 'vm_id': 'bbbb'}, host='h1')
    assert not d['ok'] and 'bbbb' in d['msg'] and I.SOURCE_HOST_VARS in d['msg'] and 'guest disagrees' in d['msg']


def test_guest_without_vm_id_is_refused_even_when_not_required():
    for req in (True, False):
        d = I.confirm(_target(), OWN, {'answered': True, 'vm_id': None}, guest_required=req)
        assert not d['ok'] and 'without an IMDS vmId' in d['msg']


def test_guest_that_did_not_answer():
    d = I.confirm(_target(), OWN, {'answered': False, 'error': 'ssh timeout'})
    assert not d['ok'] and 'ssh timeout' in d['msg']
    d = I.confirm(_target(), OWN, {'answered': False, 'error': 'ssh timeout'}, guest_required=False)
    assert d['ok'] and not d['confirmed'] and d['vm_id'] == 'AAAA'


def test_vm_not_found_or_without_vm_id():
    assert 'not found' in I.confirm(_target(), {}, {'answered': True, 'vm_id': 'aaaa'})['msg']
    assert 'no vmId' in I.confirm(_target(), dict(OWN, vm_id=None), {'answered': True, 'vm_id': 'aaaa'})['msg']
    # the REST shape works too
    d = I.confirm(_target(), {'id': RID, 'properties': {'vmId': 'aaaa'}}, {'answered': True, 'vm_id': 'AAAA'})
    assert d['ok']


def test_target_error_is_refused():
    d = I.confirm(I.operator_target({'azure_vm_name': 'x'}), OWN, {'answered': True, 'vm_id': 'aaaa'})
    assert not d['ok'] and 'azure_resource_group' in d['msg']


def test_status_mark():
    assert I.status_mark({'vm_id': 'aaaa'}, OWN) is None
    assert I.status_mark({}, OWN) is None
    assert I.status_mark({'vm_id': 'aaaa'}, None) is None
    m = I.status_mark({'vm_id': 'aaaa'}, VICTIM)
    assert m.startswith('identity: ') and 'bbbb' in m and 'vm-b' in m
    assert I.status_mark({'vm_id': 'aaaa'}, None, {'name': None, 'error': None}) is None
    assert I.status_mark({}, None, {'error': 'bad id'}) == 'identity: bad id'
    assert I.status_mark({'vm_id': 'aaaa'}, OWN, _target()) is None


def test_guest_answer():
    # IMDS facts the caller already has win (the preflight's facts.imds); the guest_facts result is not looked at
    assert I.guest_answer({'vm_id': 'aaaa'}, {'failed': True}) == {'answered': True, 'vm_id': 'aaaa'}
    # skipped (the caller found the guest unreachable) / unreachable / not run: the caller's reason, else 'unreachable'
    skipped = I.guest_answer({}, {'skipped': True}, 'SSH timed out')
    assert skipped == {'answered': False, 'vm_id': None, 'error': 'SSH timed out'}
    unreachable = I.guest_answer(None, {'unreachable': True, 'msg': 'x'}, '')
    assert unreachable == {'answered': False, 'vm_id': None, 'error': 'unreachable'}
    assert I.guest_answer({'vm_id': None}, None)['error'] == 'unreachable'
    # its module failed: said so, with the module's message
    assert I.guest_answer({}, {'failed': True, 'msg': 'no python'}) == {
        'answered': False, 'vm_id': None, 'error': 'guest_facts failed: no python'}
    assert I.guest_answer({}, {'failed': True})['error'] == 'guest_facts failed: ?'
    # it answered: its IMDS vmId, or None (answered without one: confirm refuses that)
    ok = {'changed': False, 'ansible_facts': {'azure_ade': {'imds': {'vm_id': 'AAAA'}}}}
    assert I.guest_answer({}, ok) == {'answered': True, 'vm_id': 'AAAA'}
    assert I.guest_answer({}, {'changed': False, 'ansible_facts': {}}) == {'answered': True, 'vm_id': None}
    assert I.confirm(_target(), OWN, I.guest_answer({}, ok))['confirmed']
    assert not I.confirm(_target(), OWN, I.guest_answer({}, {'changed': False}))['ok']


def test_nic_addresses():
    pip_id = '/subscriptions/s/resourceGroups/rg-a/providers/Microsoft.Network/publicIPAddresses/pip1'
    own = {'virtualMachine': {'id': RID}, 'ipConfigurations': [
        {'properties': {'privateIPAddress': '10.0.0.4', 'publicIPAddress': {'id': pip_id.upper()}}},
        {'properties': {'privateIPAddress': '10.0.0.6'}}]}
    detached = {'ipConfigurations': [{'properties': {'privateIPAddress': '10.0.0.9'}}]}
    victim = {'virtualMachine': {'id': VICTIM['id']}, 'ipConfigurations': [{'properties': {'privateIPAddress': '10.0.0.5'}}]}
    nics = [{'properties': own}, {'properties': detached}, {'properties': victim}]
    pips = [{'id': pip_id, 'properties': {'ipAddress': '52.1.1.1'}}]
    out = I.nic_addresses(nics, pips)
    assert out == [{'id': RID, 'addresses': ['10.0.0.4', '52.1.1.1', '10.0.0.6']},
                   {'id': VICTIM['id'], 'addresses': ['10.0.0.5']}]
    assert I.address_target('52.1.1.1', out)['name'] == 'vm-a'


# ---- one step: operator's side, else the NIC address (issue 18 item 4: one host task instead of two) ----------

def test_host_target_prefers_the_operator_side_and_falls_back_to_a_unique_address():
    vms = [{'id': '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm-a',
            'addresses': ['10.0.0.4']},
           {'id': '/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm-b',
            'addresses': ['10.0.0.5', '10.0.0.6']}]
    named = I.host_target({'azure_resource_group': 'rg2', 'azure_vm_name': 'vm-x'}, '10.0.0.4', vms)
    assert (named['resource_group'], named['name']) == ('rg2', 'vm-x') and named['source'] != I.SOURCE_ADDRESS
    by_nic = I.host_target({}, '10.0.0.6', vms)
    assert (by_nic['resource_group'], by_nic['name'], by_nic['source']) == ('rg1', 'vm-b', I.SOURCE_ADDRESS)
    assert I.host_target({}, '10.0.0.9', vms)['error']              # no VM has it
    assert I.host_target({}, '10.0.0.4', None)['source'] is None     # addresses not read: nothing names it
    bad = I.host_target({'azure_vm_name': 'vm-x'}, '10.0.0.4', vms)  # a malformed source is not overridden by the NIC
    assert bad['error'] and 'azure_resource_group' in bad['error']


def test_unnamed_hosts_are_the_ones_without_a_source_or_an_error():
    targets = {'h1': I.operator_target({}), 'h2': I.operator_target({'azure_resource_group': 'rg', 'azure_vm_name': 'v'}),
               'h3': I.operator_target({'azure_vm_name': 'v'})}
    assert I.unnamed(targets) == ['h1']

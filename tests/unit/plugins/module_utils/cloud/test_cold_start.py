# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import cold_start as C

NIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkInterfaces/vm1-nic'
PIP = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/vm1-ip'


def _vm():
    return {'name': 'vm1', 'properties': {'networkProfile': {'networkInterfaces': [{'id': NIC}]}}}


def _nic(pip=PIP):
    conf = {'properties': {'privateIPAddress': '10.0.0.4'}}
    if pip:
        conf['properties']['publicIPAddress'] = {'id': pip}
    return {'id': NIC, 'properties': {'ipConfigurations': [conf]}}


def _pip(method):
    return {'id': PIP, 'name': 'vm1-ip', 'properties': {'publicIPAllocationMethod': method, 'ipAddress': '20.1.2.3'}}


def test_ids_from_vm_and_nics():
    assert C.nic_ids(_vm()) == [NIC]
    assert C.nic_ids({}) == []
    assert C.public_ip_ids([_nic(), _nic()]) == [PIP]
    assert C.public_ip_ids([_nic(pip=None)]) == []


def test_costs_name_a_dynamic_ip_and_the_resource_disk():
    found = C.costs(_vm(), [_pip('Dynamic')])
    assert [c['id'] for c in found] == ['dynamic_public_ip', 'resource_disk_wiped']
    assert '20.1.2.3' in found[0]['message'] and 'static' in found[0]['message']
    assert [c['id'] for c in C.costs(_vm(), [_pip('Static')])] == ['resource_disk_wiped']
    assert 'EncryptFormatAll' in C.costs(_vm(), [], format_all=True)[0]['message']
    assert 'EncryptFormatAll' not in C.costs(_vm(), [])[0]['message']


def test_refused_unless_confirmed():
    found = C.costs(_vm(), [_pip('Dynamic')])
    msg = C.refusal('vm1', found, False)
    assert 'confirm_deallocate=true' in msg and 'Nothing was sent' in msg and 'dynamic' in msg
    assert C.refusal('vm1', found, True) is None
    assert C.refusal('vm1', [], False) is None


def test_hang_message_points_at_key_custody_after_a_cold_start():
    cold = C.hang_message('vm1', 'cold', 60, 'running', 'ADVICE')
    assert 'cold start' in cold and 'check_custody' in cold and cold.endswith('ADVICE')
    warm = C.hang_message('vm1', 'warm', 60, 'running', 'ADVICE')
    assert 'cold start' not in warm and 'did not come back' in warm

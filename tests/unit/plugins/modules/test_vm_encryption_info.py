# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.modules import vm_encryption_info as M
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F


class RecordingSession:
    """Stands in for AzureSession's two read calls and records them (the decision under test is which
    calls the module makes, not what Azure answers)."""

    def __init__(self, vms):
        self.vms = vms
        self.calls = []

    def list_vms(self, resource_group=None, instance_view=True):
        self.calls.append(('list', resource_group))
        return [v for v in self.vms if resource_group is None or v['id'].split('/')[4].lower() == resource_group.lower()]

    def get_vm(self, resource_group, name, instance_view=True):
        self.calls.append(('get', resource_group, name))
        for v in self.vms:
            if v['name'] == name and v['id'].split('/')[4] == resource_group:
                return v
        return None


def params(**kw):
    p = dict(resource_group=None, name=None, names=None)
    p.update(kw)
    return p


def test_select_targets():
    assert M.select_targets(params(resource_group='rg', name='a')) == ('names', [('rg', 'a')])
    vid = '/subscriptions/s/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/b'
    assert M.select_targets(params(resource_group='rg', names=['a', vid])) == ('names', [('rg', 'a'), ('rg2', 'b')])
    assert M.select_targets(params(resource_group='rg')) == ('resource_group', 'rg')
    assert M.select_targets(params()) == ('subscription', None)
    with pytest.raises(ValueError, match='resource_group'):
        M.select_targets(params(name='a'))
    with pytest.raises(ValueError, match='bare name'):
        M.select_targets(params(names=['a']))
    with pytest.raises(ValueError, match='not a VM resource ID'):
        M.select_targets(params(names=['/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/x']))


def fleet(n, rg=F.RG):
    return [F.vm(name='vm{0}'.format(i), rg=rg) for i in range(n)]


def test_resource_group_is_one_list_call():
    s = RecordingSession(fleet(30))
    found = M.fetch(s, 'resource_group', F.RG, 10)
    assert len(found) == 30 and s.calls == [('list', F.RG)]


def test_few_names_are_read_one_by_one_many_in_bulk():
    s = RecordingSession(fleet(30))
    found = M.fetch(s, 'names', [(F.RG, 'vm1'), (F.RG, 'vm2')], 10)
    assert len(found) == 2 and s.calls == [('get', F.RG, 'vm1'), ('get', F.RG, 'vm2')]
    s = RecordingSession(fleet(30))
    targets = [(F.RG, 'vm{0}'.format(i)) for i in range(12)]
    found = M.fetch(s, 'names', targets, 10)
    assert len(found) == 12 and s.calls == [('list', F.RG)]


def test_listed_vm_without_instance_view_costs_one_get():
    vms = fleet(3)
    bare = dict(vms[1])
    bare['properties'] = dict(bare['properties'])
    bare['properties'].pop('instanceView')

    class S(RecordingSession):
        def list_vms(self, resource_group=None, instance_view=True):
            self.calls.append(('list', resource_group))
            return [vms[0], bare, vms[2]]
    s = S(vms)
    found = M.fetch(s, 'resource_group', F.RG, 10)
    assert len(found) == 3 and s.calls == [('list', F.RG), ('get', F.RG, 'vm1')]
    assert all(v['properties'].get('instanceView') for v in found.values())

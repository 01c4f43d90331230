# -*- coding: utf-8 -*-
"""Every name and value checked before the first write (issue 15): the rules of docs/validation.md."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import validate as V
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import migrate as M


@pytest.mark.parametrize('name, ok', [
    ('vm1-osdisk', True), ('a', True), ('d' * 80, True), ('disk_', True), ('Disk.1-x_y', True),
    ('d' * 81, False), ('', False), ('my disk', False), ('disk-', False), ('disk.', False), ('-disk', False),
    ('_disk', False), ('a/x', False), ('disk\u00e9', False),
])
def test_disk_names(name, ok):
    assert (V.disk_name_error(name) is None) == ok


@pytest.mark.parametrize('params, word', [
    ({'new_disk_suffix': '/x'}, "new_disk_suffix '/x' may hold only"),
    ({'new_disk_suffix': 'x' * 100}, 'has 100 characters; at most 40'),
    ({'new_disk_suffix': ''}, 'is empty'),
    ({'new_disk_suffix': '-eah-'}, 'must end with'),
    ({'resource_group': 'rg.'}, 'not a valid resource group'),
    ({'resource_group': 'r' * 91}, 'not a valid resource group'),
    ({'snapshot_resource_group': 'rg/x'}, 'snapshot_resource_group'),
    ({'name': 'vm 1'}, "not a valid Azure VM name (no spaces nor ' '"),
    ({'name': 'v' * 65}, 'Azure allows 1-64'),
    ({'name': 'vm-'}, "not ending with '.' or '-'"),
    ({'names': ['ok', 'bad/name']}, "names 'bad/name'"),
    ({'snapshot_set': '-x'}, 'must be 1-60'),
    ({'snapshot_set': 's' * 61}, 'must be 1-60'),
    ({'key_vault': 'kv--x'}, 'not a valid Key Vault name'),
    ({'key_vault': 'kv'}, 'not a valid Key Vault name'),
    ({'tags': {'a': 'b' * 257}}, 'Azure allows 256'),
    ({'tags': {'a/b': 'c'}}, "tag name 'a/b'"),
    ({'tags': dict(('t%d' % i, 'v') for i in range(51))}, '51 tags'),
    ({'tags': {'azure_ade_rollout_stage': 'verified'}}, 'reserved'),
])
def test_param_errors_refuse(params, word):
    errors = V.param_errors(params)
    assert len(errors) == 1 and word in errors[0], errors


def test_param_errors_accept_what_azure_accepts():
    assert V.param_errors({'resource_group': 'rg-ade_(1).x', 'name': 'vm_1.a', 'names': ['vm-a', '/subscriptions/s/'
                           'resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/b'], 'snapshot_set': 'ade-20261130',
                           'key_vault': 'kv-ade', 'kek_vault': '/subscriptions/s/resourceGroups/rg/providers/'
                           'Microsoft.KeyVault/vaults/kv', 'tags': {'owner': 'x'}, 'new_disk_suffix': '-eah',
                           'snapshot_resource_group': None, 'other_option': 'a b'}) == []


def test_new_disk_names_unique_and_valid():
    olds = ['vm1-os', 'vm1-data0']
    assert V.new_disk_names_errors(olds, [M.new_disk_name(o, '-eah') for o in olds]) == []
    # a long common prefix and a suffix that leaves 40 characters: the OS and data copies would share one name
    long_os, long_data = 'x' * 60 + '-os', 'x' * 60 + '-data0'
    names = [M.new_disk_name(n, 's' * 40) for n in (long_os, long_data)]
    errors = V.new_disk_names_errors([long_os, long_data], names)
    assert len(errors) == 1 and 'would be used for both' in errors[0]
    errors = V.new_disk_names_errors(['a', 'b'], ['b', 'a-x'])
    assert errors == ["new disk name 'b' is the name of one of the VM's disks"]
    assert 'already exists' in V.new_disk_names_errors(['a'], ['a-x'], ['a-x'])[0]
    assert 'not valid for Azure' in V.new_disk_names_errors(['a'], ['a x'])[0]

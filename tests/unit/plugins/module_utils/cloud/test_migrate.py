# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import migrate as M
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

GIB = 1024 ** 3


def disk(name, size_gb=10, tags=None, state='Attached', create='Empty', sku='Premium_LRS', os_type=None):
    props = {'diskSizeGB': size_gb, 'diskSizeBytes': size_gb * GIB, 'diskState': state,
             'creationData': {'createOption': create}, 'hyperVGeneration': 'V2'}
    if os_type:
        props['osType'] = os_type
    return {'name': name, 'id': '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/disks/{2}'.format(
        F.SUB, F.RG, name), 'location': 'eastus', 'sku': {'name': sku}, 'tags': tags or {}, 'properties': props}


def olds(vm):
    return dict((M.lower_id(e['id']), disk(e['name'])) for e in M.vm_disks(vm))


def plan_ok(eah=True, feature='Registered', size=True):
    return {'category': 'no_ade', 'path': 'enable_encryption_at_host' if eah else 'prepare_encryption_at_host',
            'encryption_at_host': {'enabled': False, 'possible': eah, 'size_supported': size,
                                   'reasons': [] if eah else ['size X does not support encryption at host']}}


def test_upload_body_adds_the_vhd_footer_and_keeps_sku():
    body = M.upload_body(disk('d0', 4, sku='Premium_LRS'), 'data')
    assert body['properties']['creationData'] == {'createOption': 'Upload', 'uploadSizeBytes': 4 * GIB + 512}
    assert body['sku'] == {'name': 'Premium_LRS'} and 'osType' not in body['properties']
    assert body['tags'][M.TAG_REPLACES].endswith('/disks/d0')
    os_body = M.upload_body(disk('os', 30, os_type='Linux'), 'os')
    assert os_body['properties']['osType'] == 'Linux' and os_body['properties']['hyperVGeneration'] == 'V2'


def test_upload_body_without_size_is_an_error():
    d = disk('d0')
    d['properties'].pop('diskSizeBytes')
    d['properties'].pop('diskSizeGB')
    with pytest.raises(M.MigrateError, match='no size'):
        M.upload_body(d, 'data')


def test_copy_chunks_split_at_4_mib_and_need_alignment():
    assert M.copy_chunks([(0, 511)]) == [(0, 512)]
    four = 4 * 1024 * 1024
    assert M.copy_chunks([(0, four * 2 + 511)]) == [(0, four), (four, four), (2 * four, 512)]
    with pytest.raises(M.MigrateError):
        M.copy_chunks([(1, 512)])


def test_new_disk_name_is_at_most_80_characters():
    assert M.new_disk_name('a' * 100) == 'a' * 76 + '-eah'
    assert M.new_disk_name('vm1_data0') == 'vm1_data0-eah'


def test_plan_and_steps_fresh_vm():
    vm = F.vm(data_disks=2)
    items = M.plan(vm, olds(vm), {})
    assert [i['action'] for i in items] == ['copy'] * 3 and [i['role'] for i in items] == ['os', 'data', 'data']
    assert M.steps(items, 'running', False, None) == [
        'record_copying', 'deallocate', 'copy_disks', 'swap_disks', 'enable_encryption_at_host', 'start',
        'record_swapped']


def test_plan_resumes_unverified_copy_and_keeps_verified_one():
    vm = F.vm(data_disks=1)
    entries = M.vm_disks(vm)
    new = {
        M.new_disk_name(entries[0]['name']).lower(): disk(M.new_disk_name(entries[0]['name']), state='Unattached',
                                                          create='Upload', tags={M.TAG_REPLACES: entries[0]['id'],
                                                                                 M.TAG_COPY: 'abc'}),
        M.new_disk_name(entries[1]['name']).lower(): disk(M.new_disk_name(entries[1]['name']), state='ActiveUpload',
                                                          create='Upload', tags={M.TAG_REPLACES: entries[1]['id']}),
    }
    items = M.plan(vm, olds(vm), new)
    assert [i['action'] for i in items] == ['done', 'recopy']
    assert M.steps(items, 'deallocated', False, 'copying') == [
        'copy_disks', 'swap_disks', 'enable_encryption_at_host', 'start', 'record_swapped']


def test_plan_refuses_a_foreign_disk_with_the_new_name():
    vm = F.vm(data_disks=0)
    e = M.vm_disks(vm)[0]
    new = {M.new_disk_name(e['name']).lower(): disk(M.new_disk_name(e['name']), tags={M.TAG_REPLACES: '/other'})}
    with pytest.raises(M.MigrateError, match='does not replace'):
        M.plan(vm, olds(vm), new)


def swapped_vm(power='running', eah=True):
    vm = F.vm(data_disks=1, power=power)
    if eah:
        vm['properties']['securityProfile'] = {'encryptionAtHost': True}
    old = {}
    for e in M.vm_disks(vm):
        nn = M.new_disk_name(e['name'])
        d = disk(nn, create='Upload', tags={M.TAG_REPLACES: e['id'], M.TAG_COPY: 'x'})
        old[M.lower_id(d['id'])] = d
    for entry in (vm['properties']['storageProfile']['osDisk'], vm['properties']['storageProfile']['dataDisks'][0]):
        entry['managedDisk']['id'] += '-eah'
        entry['name'] += '-eah'
    return vm, old


def test_swapped_vm_needs_nothing_more():
    vm, old = swapped_vm()
    items = M.plan(vm, old, {})
    assert [i['action'] for i in items] == ['in_place', 'in_place']
    assert items[0]['old_id'].endswith('_OsDisk_1_b1c2d3')
    assert M.steps(items, 'running', True, 'swapped') == []
    assert M.steps(items, 'running', True, 'copying') == ['record_swapped']
    assert M.steps(items, 'deallocated', True, 'swapped') == ['start']
    assert M.verify_platform(vm, items) == []


def test_verify_platform_problems():
    vm, old = swapped_vm(power='deallocated', eah=False)
    items = M.plan(vm, old, {})
    problems = M.verify_platform(vm, items, {'name': 'AzureDiskEncryptionForLinux'})
    assert any('encryptionAtHost is not true' in p for p in problems)
    assert any('ADE extension' in p for p in problems)
    assert any('deallocated, not running' in p for p in problems)


def test_refusals():
    vm = F.vm(data_disks=1)
    assert 'ADE on its OS volume' in M.refusal(vm, {'category': 'ade_os', 'path': 'rebuild_vm'})
    assert 'still has the ADE extension' in M.refusal(vm, plan_ok(), None, {'name': 'x'})
    assert 'cannot get encryption at host: size X' in M.refusal(vm, plan_ok(eah=False))
    mapped = {'block_devices': [{'name': 'resourceencrypt', 'type': 'crypt'}], 'crypt': {'devices': ['resourceencrypt']}}
    assert 'dm-crypt mappings (resourceencrypt)' in M.refusal(vm, plan_ok(), mapped)
    assert M.refusal(vm, plan_ok(), {'block_devices': [], 'crypt': {'devices': []}}) is None


def test_guest_filesystems_and_verification():
    before = {'block_devices': [
        {'name': 'sdc', 'type': 'disk', 'fstype': 'ext4', 'uuid': 'u1', 'mountpoint': '/data0'},
        {'name': 'sdd', 'type': 'disk', 'fstype': 'crypto_LUKS', 'uuid': 'l1'},
        {'name': 'resourceencrypt', 'type': 'crypt', 'fstype': 'ext4', 'uuid': 'u9', 'mountpoint': '/x'}]}
    assert M.guest_filesystems(before) == ['u1 ext4 /data0']
    dig = M.fs_digest(before)
    assert len(dig) == 32 and M.fs_digest({'block_devices': []}) is None
    same = {'block_devices': [before['block_devices'][0]], 'crypt': {'devices': []}}
    assert M.verify_guest(dig, same) == []
    other = {'block_devices': [dict(before['block_devices'][0], uuid='u2')], 'crypt': {'devices': []}}
    assert 'differ' in M.verify_guest(dig, other)[0]
    assert 'dm-crypt' in M.verify_guest(None, {'crypt': {'devices': ['x']}})[0]


def test_record_tags_keep_other_tags():
    vm = F.vm()
    vm['tags'] = {'owner': 'me'}
    tags = M.record_tags(vm, 'copying', 'abc')
    assert tags['owner'] == 'me' and tags[M.TAG_STAGE] == 'copying' and tags[M.TAG_FS] == 'abc'
    with pytest.raises(M.MigrateError):
        M.record_tags(vm, 'bogus')


def test_restore_steps():
    vm, old = swapped_vm()
    items = M.plan(vm, old, {})
    assert M.restore_steps(items, 'running', 'swapped') == [
        'deallocate', 'disable_encryption_at_host', 'swap_back', 'start', 'record_restored']
    fresh = F.vm(data_disks=1)
    fitems = M.plan(fresh, olds(fresh), {})
    assert M.restore_steps(fitems, 'running', None) == []
    assert M.restore_steps(fitems, 'deallocated', 'copying') == ['start', 'record_restored']
    fitems[1]['old_state'] = 'ActiveSAS'
    assert M.restore_steps(fitems, 'deallocated', 'copying')[0] == 'revoke_access'


def test_swap_body_maps_disks_and_drops_read_only():
    vm = F.vm(data_disks=1)
    e = M.vm_disks(vm)
    mapping = dict((M.lower_id(x['id']), (x['name'] + '-eah', x['id'] + '-eah')) for x in e)
    body = M.swap_body(vm, mapping)
    sp = body['properties']['storageProfile']
    assert sp['osDisk']['managedDisk']['id'].endswith('-eah') and sp['osDisk']['name'].endswith('-eah')
    assert sp['dataDisks'][0]['managedDisk']['id'].endswith('-eah') and sp['dataDisks'][0]['createOption'] == 'Attach'
    assert 'instanceView' not in body['properties'] and 'resources' not in body
    assert vm['properties']['storageProfile']['osDisk']['managedDisk']['id'] == e[0]['id']   # input untouched

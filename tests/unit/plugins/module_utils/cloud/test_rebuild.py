# -*- coding: utf-8 -*-
"""Pure decisions of the rebuild of an OS-encrypted VM (issue 17 item 1): refusals before any write, the new VM's
and NIC's bodies, the record in the old VM's tags (resume, no step back, verified final), next steps per state,
the cut-over address, the guest copy's refusals and the comparison of both sides."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rebuild as RB

VMID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web'
SUBNET = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/app'
NSG = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/networkSecurityGroups/nsg'
EAH = {'EncryptionAtHostSupported': 'True'}


def old_vm(**kw):
    vm = {'name': 'web', 'id': VMID, 'location': 'eastus', 'zones': ['2'],
          'tags': {'app': 'web', 'azure_ade_rollout_stage': 'verified'},
          'identity': {'type': 'UserAssigned', 'userAssignedIdentities': {'/id/u1': {'principalId': 'p'}}},
          'properties': {
              'hardwareProfile': {'vmSize': 'Standard_D4s_v3'},
              'storageProfile': {
                  'imageReference': {'publisher': 'Canonical', 'offer': 'UbuntuServer', 'sku': '18.04-LTS',
                                     'version': 'latest', 'exactVersion': '18.04.202001'},
                  'osDisk': {'createOption': 'FromImage', 'caching': 'ReadWrite', 'diskSizeGB': 30,
                             'managedDisk': {'id': 'x', 'storageAccountType': 'Premium_LRS'}},
                  'dataDisks': [{'lun': 1, 'diskSizeGB': 64, 'caching': 'None',
                                 'managedDisk': {'storageAccountType': 'StandardSSD_LRS'}},
                                {'lun': 0, 'diskSizeGB': 16, 'caching': 'ReadOnly', 'managedDisk': {}}]},
              'osProfile': {'adminUsername': 'ops', 'linuxConfiguration': {'ssh': {'publicKeys': [
                  {'path': '/home/ops/.ssh/authorized_keys', 'keyData': 'ssh-ed25519 AAA'}]}}},
              'availabilitySet': {'id': '/as/1'}, 'proximityPlacementGroup': {'id': '/ppg/1'},
              'diagnosticsProfile': {'bootDiagnostics': {'enabled': True}},
              'networkProfile': {'networkInterfaces': [{'id': '/nic/web-nic'}]}}}
    vm['properties'].update(kw)
    return vm


def nic():
    return {'name': 'web-nic', 'id': '/nic/web-nic', 'etag': 'W/"1"', 'tags': {'t': '1'}, 'properties': {
        'enableAcceleratedNetworking': True, 'networkSecurityGroup': {'id': NSG},
        'ipConfigurations': [{'name': 'ipconfig1', 'etag': 'x', 'properties': {
            'primary': True, 'privateIPAddress': '10.0.0.10', 'privateIPAllocationMethod': 'Static',
            'subnet': {'id': SUBNET}}}]}}


def test_refusals_before_any_write():
    assert RB.refusals(old_vm(), 'Registered', EAH) == []
    r = RB.refusals(old_vm(virtualMachineScaleSet={'id': '/ss/1'}), 'Registered', EAH)
    assert len(r) == 1 and 'scale set' in r[0]
    sp = old_vm()['properties']['storageProfile']
    sp['osDisk']['createOption'] = 'Attach'
    r = RB.refusals(old_vm(storageProfile=sp), 'Registered', EAH)
    assert 'specialized' in r[0]
    sp = old_vm()['properties']['storageProfile']
    del sp['imageReference']
    assert 'no image reference' in RB.refusals(old_vm(storageProfile=sp), 'Registered', EAH)[0]
    assert 'feature' in RB.refusals(old_vm(), 'NotRegistered', EAH)[0]
    assert 'does not support encryption at host' in RB.refusals(old_vm(), 'Registered',
                                                                {'EncryptionAtHostSupported': 'False'})[0]
    assert 'not offered' in RB.refusals(old_vm(), 'Registered', None)[0]
    assert 'cutover' in RB.refusals(old_vm(), 'Registered', EAH, cutover='ipv6')[0]


def test_image_reference_current_version_or_same_id():
    ref, why = RB.image_reference(old_vm())
    assert why is None and ref == {'publisher': 'Canonical', 'offer': 'UbuntuServer', 'sku': '18.04-LTS',
                                   'version': 'latest'}
    sp = old_vm()['properties']['storageProfile']
    sp['imageReference'] = {'id': '/galleries/g/images/i/versions/1.0.0'}
    assert RB.image_reference(old_vm(storageProfile=sp)) == ({'id': '/galleries/g/images/i/versions/1.0.0'}, None)


def test_vm_body_keeps_what_matters():
    b = RB.vm_body(old_vm(), '/nic/web-eah-nic')
    p = b['properties']
    assert b['zones'] == ['2'] and b['location'] == 'eastus'
    assert b['tags'] == {'app': 'web', RB.TAG_OF: VMID}            # records stay on the old VM
    assert b['identity'] == {'type': 'UserAssigned', 'userAssignedIdentities': {'/id/u1': {}}}
    assert p['securityProfile']['encryptionAtHost'] is True
    assert p['hardwareProfile']['vmSize'] == 'Standard_D4s_v3'
    assert p['availabilitySet'] == {'id': '/as/1'} and p['proximityPlacementGroup'] == {'id': '/ppg/1'}
    assert p['diagnosticsProfile']['bootDiagnostics']['enabled'] is True
    assert p['storageProfile']['osDisk']['createOption'] == 'FromImage'
    assert [(d['lun'], d['diskSizeGB'], d['caching'], d['createOption'], d['managedDisk']['storageAccountType'])
            for d in p['storageProfile']['dataDisks']] == [(0, 16, 'ReadOnly', 'Empty', 'Premium_LRS'),
                                                           (1, 64, 'None', 'Empty', 'StandardSSD_LRS')]
    assert p['networkProfile']['networkInterfaces'] == [{'id': '/nic/web-eah-nic', 'properties': {'primary': True}}]
    assert p['osProfile']['linuxConfiguration']['ssh']['publicKeys'][0]['keyData'] == 'ssh-ed25519 AAA'
    assert RB.vm_body(old_vm(), 'n', size='Standard_E4s_v5')['properties']['hardwareProfile']['vmSize'] == \
        'Standard_E4s_v5'


def test_nic_body_same_subnet_nsg_accel_dynamic():
    b = RB.nic_body(nic(), 'eastus')
    c = b['properties']['ipConfigurations'][0]['properties']
    assert c == {'subnet': {'id': SUBNET}, 'primary': True, 'privateIPAllocationMethod': 'Dynamic'}
    assert b['properties']['networkSecurityGroup'] == {'id': NSG}
    assert b['properties']['enableAcceleratedNetworking'] is True


def test_record_moves_forward_fallback_and_verified_final():
    t = RB.record_tags({'app': 'web'}, 'planned', new='web-eah', plan='abc')
    assert RB.record({'tags': t}) == dict(stage='planned', new='web-eah', at=t[RB.TAG_AT], ip=None, spare_ip=None,
                                          plan='abc', keep_until=None, log=[dict(step='planned', at=t[RB.TAG_AT])],
                                          cutover=None, dns=None, swap=None)
    t = RB.record_tags(t, 'nic')
    with pytest.raises(RB.RebuildError):
        RB.record_tags(t, 'planned')
    for st in ('vm', 'configured', 'copied', 'compared', 'cut_over'):
        t = RB.record_tags(t, st)
    t = RB.record_tags(t, 'fallback')
    t = RB.record_tags(t, 'cut_over')
    t = RB.record_tags(t, 'verified')
    with pytest.raises(RB.RebuildError):
        RB.record_tags(t, 'fallback')
    with pytest.raises(RB.RebuildError):
        RB.record_tags({}, 'fallback')
    assert t['app'] == 'web'


def test_next_steps_resume_and_no_write_when_done():
    none = {'stage': None}
    assert RB.next_steps(none, False, False, 'private_ip', 'present') == [
        'record_plan', 'create_nic', 'record_nic', 'create_vm', 'record_vm']
    # interrupted after the NIC was created but before it was recorded
    assert RB.next_steps({'stage': 'planned'}, False, True, 'private_ip', 'present') == [
        'record_nic', 'create_vm', 'record_vm']
    # interrupted after the VM PUT was accepted
    assert RB.next_steps({'stage': 'nic'}, True, True, 'private_ip', 'present') == ['record_vm']
    assert RB.next_steps({'stage': 'vm'}, True, True, 'private_ip', 'present') == []
    assert RB.next_steps({'stage': 'compared'}, True, True, 'private_ip', 'present') == []
    assert RB.next_steps({'stage': 'vm'}, True, True, 'private_ip', 'recorded:copied') == ['record_copied']
    assert RB.next_steps({'stage': 'copied'}, True, True, 'private_ip', 'recorded:copied') == []
    with pytest.raises(RB.RebuildError):
        RB.next_steps({'stage': 'nic'}, False, True, 'private_ip', 'recorded:copied')
    with pytest.raises(RB.RebuildError):
        RB.next_steps({'stage': 'copied'}, True, True, 'private_ip', 'cut_over')
    assert RB.next_steps({'stage': 'compared'}, True, True, 'private_ip', 'cut_over') == [
        'deallocate_old', 'release_old_ip', 'take_new_ip', 'start_new', 'record_cut_over']
    assert RB.next_steps({'stage': 'compared'}, True, True, 'none', 'cut_over') == [
        'deallocate_old', 'start_new', 'record_cut_over']
    assert RB.next_steps({'stage': 'cut_over'}, True, True, 'private_ip', 'cut_over') == []
    assert RB.next_steps({'stage': 'cut_over'}, True, True, 'private_ip', 'fallback') == [
        'deallocate_new', 'release_new_ip', 'give_back_old_ip', 'start_old', 'record_fallback']
    assert RB.next_steps({'stage': 'configured'}, True, True, 'private_ip', 'fallback') == [
        'deallocate_new', 'start_old', 'record_fallback']
    assert RB.next_steps({'stage': 'fallback'}, True, True, 'private_ip', 'fallback') == []
    assert RB.next_steps({'stage': 'cut_over'}, True, True, 'private_ip', 'verified') == ['record_verified']
    assert RB.next_steps({'stage': 'verified'}, True, True, 'private_ip', 'fallback') == []
    with pytest.raises(RB.RebuildError):
        RB.next_steps({'stage': 'compared'}, True, True, 'private_ip', 'verified')


def test_spare_address_and_ipconfig_update():
    assert RB.spare_address('10.0.0.0/24', ['10.0.0.254']) == '10.0.0.253'
    assert RB.spare_address('10.0.0.0/29', ['10.0.0.6', '10.0.0.5']) == '10.0.0.4'
    with pytest.raises(RB.RebuildError):
        RB.spare_address('10.0.0.0/29', ['10.0.0.6', '10.0.0.5', '10.0.0.4'])
    b = RB.ipconfig_update(nic(), '10.0.0.200')
    c = b['properties']['ipConfigurations'][0]
    assert c['properties']['privateIPAddress'] == '10.0.0.200' and 'etag' not in b and 'etag' not in c
    assert b['properties']['networkSecurityGroup'] == {'id': NSG}
    assert nic()['properties']['ipConfigurations'][0]['properties']['privateIPAddress'] == '10.0.0.10'


def test_copy_refusals_and_compare():
    vols = [{'mountpoint': '/data', 'readable': True, 'used_bytes': 100},
            {'mountpoint': '/logs', 'readable': False, 'error': 'Input/output error'},
            {'mountpoint': '/big', 'readable': True, 'used_bytes': 10 ** 12},
            {'mountpoint': '/gone', 'readable': True, 'used_bytes': 1}]
    r = RB.copy_refusals(vols, {'/data': 1000, '/big': 10 ** 9})
    assert len(r) == 3 and 'cannot be read' in r[0] and 'not enough space' in r[1] and 'no readable volume' in r[2]
    assert RB.copy_refusals(vols[:1], {'/data': 1000}) == []
    assert RB.rsync_args() == ['-aHAXS', '--numeric-ids', '--one-file-system']
    assert RB.rsync_args(final=True)[-1] == '--delete'
    a = [{'path': 'x', 'size': 1, 'sha256': 'a'}, {'path': 'y', 'size': 2, 'sha256': 'b'},
         {'path': 'z', 'size': 3, 'sha256': 'c'}]
    assert RB.compare(a, a)['same'] is True
    b = [{'path': 'x', 'size': 1, 'sha256': 'a'}, {'path': 'y', 'size': 2, 'sha256': 'B'},
         {'path': 'w', 'size': 1, 'sha256': 'd'}]
    d = RB.compare(a, b)
    assert not d['same'] and d['only_old'] == ['z'] and d['only_new'] == ['w'] and d['checksum_differs'] == ['y']
    assert RB.compare(a, b, sample=1)['checksum_differs'] == [] and RB.compare(a, b, sample=1)['checksummed'] == 1


def test_compare_types_links_and_sampled_checksums():
    a = [{'path': 'd', 'type': 'd'}, {'path': 'd/f', 'type': 'f', 'size': 3, 'sha256': 'x'},
         {'path': 'l', 'type': 'l', 'target': 'd/f'}, {'path': 'g', 'type': 'f', 'size': 1, 'sha256': None}]
    b = [{'path': 'd', 'type': 'd'}, {'path': 'd/f', 'type': 'f', 'size': 3, 'sha256': 'x'},
         {'path': 'l', 'type': 'l', 'target': 'elsewhere'}, {'path': 'g', 'type': 'f', 'size': 1, 'sha256': 'y'}]
    d = RB.compare(a, b)
    assert d['type_differs'] == ['l'] and not d['same']
    assert d['checksummed'] == 1          # g was not in the old side's sample: not compared by checksum
    same = RB.compare(a, a)
    assert same['same'] and same['files'] == 4


def test_compare_trees_reports_lines_and_refuses_missing_side():
    t = {'/data': [{'path': 'a', 'type': 'f', 'size': 1, 'sha256': 'x'}]}
    assert RB.compare_trees(t, t)['same'] is True
    assert RB.compare_trees({}, {})['same'] is False          # nothing compared is no proof
    d = RB.compare_trees(t, {'/data': [{'path': 'a', 'type': 'f', 'size': 1, 'sha256': 'z'}]})
    assert not d['same'] and d['lines'] == ['/data: checksum differs: a']
    d = RB.compare_trees(dict(t, **{'/logs': []}), t)
    assert not d['same'] and d['lines'] == ['/logs: not read on the new VM']
    many = {'/d': [{'path': 'f%03d' % i, 'type': 'f', 'size': 1, 'sha256': 'x'} for i in range(30)]}
    d = RB.compare_trees(many, {'/d': []}, limit=2)
    assert d['lines'] == ['/d: only on the old VM: f000, f001 (+28 more)']


def test_copy_refusals_from_guest_volumes():
    old = [{'path': '/data', 'readable': True, 'used_bytes': 500}]
    assert RB.copy_refusals(old, [{'path': '/data', 'readable': True, 'free_bytes': 300, 'used_bytes': 300}]) == []
    r = RB.copy_refusals(old, [{'path': '/data', 'readable': True, 'free_bytes': 100, 'used_bytes': 0}])
    assert 'not enough space' in r[0]
    r = RB.copy_refusals(old, [{'path': '/data', 'readable': False, 'error': 'No such file or directory'}])
    assert 'no readable volume at /data' in r[0]


@pytest.mark.parametrize('stage,want,parts', [
    (None, 'cut_over', ['build', 'configure', 'copy', 'final', 'cut_over']),
    ('planned', 'cut_over', ['build', 'configure', 'copy', 'final', 'cut_over']),
    ('vm', 'cut_over', ['configure', 'copy', 'final', 'cut_over']),
    ('configured', 'cut_over', ['copy', 'final', 'cut_over']),
    ('copied', 'cut_over', ['final', 'cut_over']),
    ('compared', 'cut_over', ['final', 'cut_over']),
    ('compared', 'compared', ['final']),
    (None, 'compared', ['build', 'configure', 'copy', 'final']),
    ('cut_over', 'cut_over', []),
    ('cut_over', 'verified', ['verify']),
    ('cut_over', 'fallback', ['fallback']),
    ('vm', 'fallback', ['fallback']),
    ('fallback', 'fallback', []),
    ('fallback', 'cut_over', ['build', 'configure', 'copy', 'final', 'cut_over']),
    ('verified', 'cut_over', []),
    ('verified', 'fallback', []),
])
def test_guest_parts(stage, want, parts):
    got = RB.guest_parts(stage, want)
    assert got['parts'] == parts
    assert got['old_guest'] == any(p in parts for p in ('copy', 'final'))
    assert got['new_guest'] == any(p in parts for p in ('configure', 'copy', 'final'))


@pytest.mark.parametrize('stage,want,msg', [
    ('compared', 'verified', 'after the cut-over'), (None, 'fallback', 'nothing to fall back'),
    ('nic', 'fallback', 'nothing to fall back'), ('vm', 'later', 'must be one of'), ('odd', 'cut_over', 'unknown'),
])
def test_guest_parts_refusals(stage, want, msg):
    with pytest.raises(RB.RebuildError, match=msg):
        RB.guest_parts(stage, want)


def test_next_steps_after_fallback_starts_the_new_vm_again():
    assert RB.next_steps({'stage': 'fallback'}, True, True, 'private_ip', 'present') == ['start_new']
    assert RB.next_steps({'stage': 'fallback'}, True, True, 'private_ip', 'recorded:configured') == [
        'record_configured']


def test_rsync_argv_has_no_secret_and_keeps_metadata():
    argv = RB.rsync_argv('/data/', '10.0.0.5', '/var/tmp/k-web', port=2222)
    assert argv[:5] == ['rsync', '-aHAXS', '--numeric-ids', '--one-file-system', '-e']
    assert '-i /var/tmp/k-web/id_ed25519' in argv[5] and 'StrictHostKeyChecking=yes' in argv[5]
    assert 'UserKnownHostsFile=/var/tmp/k-web/known_hosts' in argv[5] and '-p 2222' in argv[5]
    assert argv[-2:] == ['/data/', 'root@10.0.0.5:/data/']
    fin = RB.rsync_argv('/data', 'fd00::5', '/k', user='azureuser', final=True)
    assert '--delete' in fin and fin[fin.index('--rsync-path') + 1] == 'sudo rsync'
    assert fin[-1] == 'azureuser@[fd00::5]:/data/'
    with pytest.raises(RB.RebuildError):
        RB.rsync_argv('data', '10.0.0.5', '/k')


def test_authorized_key_line_and_known_hosts():
    line = RB.authorized_key_line('ssh-ed25519 AAAAC3Nz old-comment', '10.0.0.4', 'web01')
    assert line == ('from="10.0.0.4",no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding '
                    'ssh-ed25519 AAAAC3Nz azure_ade_rebuild:web01')
    assert RB.authorized_key_line('ssh-ed25519 AAAA', '', 'w').startswith('no-pty,')
    with pytest.raises(RB.RebuildError):
        RB.authorized_key_line('-----BEGIN OPENSSH PRIVATE KEY-----', '10.0.0.4', 'web01')
    keys = 'ssh-ed25519 AAAA root@h\necdsa-sha2-nistp256 BBBB root@h\n\ngarbage\n'
    assert RB.known_hosts_lines(keys, '10.0.0.5') == ['10.0.0.5 ssh-ed25519 AAAA', '10.0.0.5 ecdsa-sha2-nistp256 BBBB']
    assert RB.known_hosts_lines(keys, '10.0.0.5', 2222)[0].startswith('[10.0.0.5]:2222 ')
    with pytest.raises(RB.RebuildError):
        RB.known_hosts_lines('', '10.0.0.5')


def test_rsync_through_the_control_node():
    old = dict(address='10.0.0.4', user='root', port=22, key='/k/id', ssh_args='-o StrictHostKeyChecking=no')
    new = dict(address='10.0.0.5', user='azureuser', port=2222)
    pull, push = RB.rsync_controller_argvs('/data', old, new, '/var/tmp/st', final=True)
    assert pull[:4] == ['rsync', '-aHAXS', '--numeric-ids', '--one-file-system'] and '--delete' in pull
    assert pull[pull.index('-e') + 1] == ('ssh -o BatchMode=yes -p 22 -i /k/id -o IdentitiesOnly=yes '
                                          '-o StrictHostKeyChecking=no')
    assert pull[-2:] == ['root@10.0.0.4:/data/', '/var/tmp/st/data/']
    assert push[-2:] == ['/var/tmp/st/data/', 'azureuser@10.0.0.5:/data/']
    assert push[push.index('--rsync-path') + 1] == 'sudo rsync' and '-p 2222' in push[push.index('-e') + 1]
    with pytest.raises(RB.RebuildError):
        RB.rsync_controller_argvs('/data', old, new, 'rel')


def test_refusals_name_the_region_and_the_fix():
    r = RB.refusals(old_vm(), 'Registered', dict(EAH, _restricted='NotAvailableForSubscription'))
    assert len(r) == 1 and 'not available to this subscription in eastus' in r[0] and 'ade_rebuild_size' in r[0]
    assert 'ade_rebuild_size' in RB.refusals(old_vm(), 'Registered', {'EncryptionAtHostSupported': 'False'})[0]
    assert 'not offered in eastus' in RB.refusals(old_vm(), 'Registered', None)[0]
    assert 'upgrade its instances' in RB.refusals(old_vm(virtualMachineScaleSet={'id': '/ss/1'}), 'Registered', EAH)[0]


def test_new_data_disks_same_sizes_and_luns():
    assert RB.new_data_disks(old_vm()) == [dict(lun=0, size_gb=16), dict(lun=1, size_gb=64)]
    assert RB.new_data_disks({'properties': {}}) == []


GIB = 1 << 30


@pytest.mark.parametrize('volumes, mounts, says', [
    ([{'path': '/data', 'readable': True, 'used_bytes': 10 * GIB}], ['/data'], None),
    ([{'path': '/data', 'readable': True, 'used_bytes': 80 * GIB + 1}], ['/data'], 'not enough space'),
    # two volumes on the data disks: their sum counts (16 + 64 GiB)
    ([{'path': '/data', 'readable': True, 'used_bytes': 50 * GIB},
      {'path': '/logs', 'readable': True, 'used_bytes': 40 * GIB}], ['/data', '/logs'], 'not enough space'),
    # a tree below a data mount counts, a tree on the OS disk does not (the new OS disk has the old one's size)
    ([{'path': '/data/app', 'readable': True, 'used_bytes': 90 * GIB}], ['/data'], 'not enough space'),
    ([{'path': '/srv', 'readable': True, 'used_bytes': 90 * GIB}], ['/data'], None),
    ([{'path': '/data', 'readable': False, 'error': 'Permission denied'}], ['/data'], 'cannot be read on the old VM'),
])
def test_build_refusals(volumes, mounts, says):
    out = RB.build_refusals(volumes, RB.new_data_disks(old_vm()), mounts)
    if says is None:
        assert out == []
    else:
        assert len(out) == 1 and says in out[0] and 'ade_rebuild_paths' in out[0]


def test_build_refusals_without_data_disks_and_default_mounts():
    vols = [{'path': '/data', 'readable': True, 'used_bytes': 1}]
    assert 'not enough space' in RB.build_refusals(vols, [])[0]       # every path counts when no mounts are given
    assert RB.build_refusals(vols, [], []) == []                      # no data volume: the tree goes to the OS disk
    assert RB.build_refusals([], [{'lun': 0, 'size_gb': 1}], ['/data']) == []


def test_log_records_when_each_step_was_recorded_within_a_tag_value():
    import datetime
    t0 = datetime.datetime(2026, 12, 7, 10, 0, 0)
    t = {}
    for j, st in enumerate(['planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over']):
        t = RB.record_tags(t, st, now=t0 + datetime.timedelta(minutes=j))
    t = RB.record_tags(t, 'cut_over', now=t0 + datetime.timedelta(minutes=9), spare_ip='10.0.0.250')  # same stage
    log = RB.record({'tags': t})['log']
    assert [e['step'] for e in log] == ['planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over']
    assert log[0]['at'] == '2026-12-07T10:00:00Z' and log[-1]['at'] == '2026-12-07T10:06:00Z'
    for k in range(40):                                          # many fallbacks: the oldest entries go
        t = RB.record_tags(t, 'fallback' if k % 2 == 0 else 'cut_over', now=t0 + datetime.timedelta(hours=k + 1))
    assert len(t[RB.TAG_LOG]) <= 256
    log = RB.record({'tags': t})['log']
    assert log[-1] == dict(step='cut_over', at='2026-12-09T02:00:00Z') and log[0]['step'] in ('fallback', 'cut_over')
    assert RB.parse_log('pl=261207100000,zz=1,vm=bad,co=261207100500') == [
        dict(step='planned', at='2026-12-07T10:00:00Z'), dict(step='cut_over', at='2026-12-07T10:05:00Z')]
    assert RB.TAG_LOG not in RB.vm_body({'tags': t, 'location': 'eastus', 'properties': old_vm()['properties'],
                                         'id': VMID}, '/nic/x')['tags']


def _rec(*stages, **kw):
    t = {}
    for st in stages:
        t = RB.record_tags(t, st, new='web-eah', ip='10.0.0.10', **kw)
    return RB.record({'tags': t})


def test_page_row_timeline_kept_and_left_to_confirm():
    vm = {'name': 'web', 'resource_group': 'rg'}
    cut = _rec('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over', spare_ip='10.0.0.250')
    r = RB.page_row('web-host', vm, cut, compare={'same': True, 'files': 3, 'checksummed': 3, 'lines': []},
                    snapshot_set='ade-1')
    assert r['outcome'] == 'cut_over' and r['new_vm'] == 'web-eah' and len(r['steps']) == 7
    assert all(s['at'] and s['state'] == 'done' for s in r['steps'])
    assert any('deallocated' in k for k in r['kept']) and any('ade-1' in k for k in r['kept'])
    assert any('10.0.0.10' in k and '10.0.0.250' in k for k in r['kept'])
    assert 'ade_rebuild_state=verified' in r['to_confirm'][0] and 'fallback' in r['to_confirm'][0]
    assert '3 files checksummed' in r['message'] and 'the same' in r['message']
    fb = RB.page_row('h', vm, _rec('planned', 'nic', 'vm', 'fallback'))
    assert fb['outcome'] == 'fallback' and fb['steps'][-1]['state'] == 'fallback'
    assert any('web-eah' in k and 'deallocated' in k for k in fb['kept'])
    ver = RB.page_row('h', vm, _rec('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over',
                                    'verified'), snapshot_set='ade-1')
    assert ver['kept'] == [] and 'never deletes' in ver['to_confirm'][0] and 'ade-1' in ver['to_confirm'][0]
    ref = RB.page_row('h', vm, _rec(), refused='VM size X does not support encryption at host')
    assert ref['outcome'] == 'refused' and ref['steps'][-1]['state'] == 'refused' and ref['kept'] == []
    assert 'nothing was written' in ref['to_confirm'][0]
    stop = RB.page_row('h', vm, _rec('planned', 'nic', 'vm', 'configured', 'copied'), failed='no cut-over - differs')
    assert stop['outcome'] == 'failed' and stop['message'] == 'no cut-over - differs'
    assert RB.page_row('h', vm, _rec('planned'))['to_confirm'][0].startswith('run the rebuild again')
    none = RB.page_row('h', vm, _rec('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over'),
                       cutover='none')
    assert any('cut-over none' in k for k in none['kept'])


def test_page_fail_msg_names_the_refused():
    assert RB.page_fail_msg([{'host': 'a', 'outcome': 'cut_over'}]) == ''
    m = RB.page_fail_msg([{'host': 'a', 'outcome': 'refused', 'message': 'size'}, {'host': 'b', 'outcome': 'failed'},
                          {'host': 'c', 'outcome': 'refused', 'message': 'feature'}])
    assert m == 'Refused, nothing was written - a: size | c: feature'


def test_retention_recorded_at_verified_and_shown():
    import datetime
    assert RB.keep_until(30, now=datetime.datetime(2026, 12, 7, 23, 0)) == '2027-01-06'
    assert RB.keep_until(0, now=datetime.datetime(2026, 12, 7)) == '2026-12-07'
    with pytest.raises(RB.RebuildError):
        RB.keep_until(-1)
    rec = _rec('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over')
    t = {}
    for st in ('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over'):
        t = RB.record_tags(t, st, new='web-eah')
    t = RB.record_tags(t, 'verified', keep_until='2027-01-06')
    rec = RB.record({'tags': t})
    assert rec['keep_until'] == '2027-01-06' and t[RB.TAG_KEEP] == '2027-01-06'
    r = RB.page_row('h', {'name': 'web'}, rec)
    assert r['kept'] == ['the old VM web with its OS and data disks and its ADE keys in Key Vault - deallocated, kept '
                         'until 2027-01-06 (retention)']
    assert r['to_confirm'][0].startswith('from 2027-01-06, delete web') and 'never deletes' in r['to_confirm'][0]


PIP = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/web-pip'
NEW_PIP = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/publicIPAddresses/web-eah-pip'


def pip(pid=PIP, label='web-ade', location='eastus'):
    p = {'name': pid.rsplit('/', 1)[1], 'id': pid, 'etag': 'W/"2"', 'location': location, 'zones': ['2'],
         'sku': {'name': 'Standard', 'tier': 'Regional'}, 'tags': {'t': '1'},
         'properties': {'provisioningState': 'Succeeded', 'ipAddress': '20.1.2.3', 'publicIPAllocationMethod': 'Static',
                        'publicIPAddressVersion': 'IPv4', 'ipConfiguration': {'id': '/nic/web-nic/ipConfigurations/x'}}}
    if label:
        p['properties']['dnsSettings'] = {'domainNameLabel': label, 'fqdn': label + '.eastus.cloudapp.azure.com'}
    return p


def nic_with_pip():
    n = nic()
    n['properties']['ipConfigurations'][0]['properties']['publicIPAddress'] = {'id': PIP}
    return n


def test_dns_refusals_before_any_write():
    ok = RB.refusals(old_vm(), 'Registered', EAH, cutover='dns', nic=nic_with_pip(), pip=pip())
    assert ok == []
    r = RB.refusals(old_vm(), 'Registered', EAH, cutover='dns', nic=nic(), pip=None)
    assert len(r) == 1 and 'no public IP' in r[0] and 'ade_rebuild_cutover=private_ip' in r[0]
    r = RB.refusals(old_vm(), 'Registered', EAH, cutover='dns', nic=nic_with_pip(), pip=pip(label=None))
    assert len(r) == 1 and 'no DNS name' in r[0]
    assert 'cannot be read' in RB.refusals(old_vm(), 'Registered', EAH, cutover='dns', nic=None)[0]
    # private_ip and none do not need a public IP
    assert RB.refusals(old_vm(), 'Registered', EAH, cutover='none', nic=nic()) == []


def test_dns_conflict_only_another_resource_in_the_same_zone():
    other = pip('/x/publicIPAddresses/squatter', label='WEB-ade')
    west = pip('/x/publicIPAddresses/west', location='westus')
    assert RB.dns_conflict('web-ade', 'eastus', [pip(label=None), pip(NEW_PIP), west], [PIP, NEW_PIP]) is None
    assert RB.dns_conflict('web-ade', 'East US', [pip(), other], [PIP, NEW_PIP]) == '/x/publicIPAddresses/squatter'


def test_effective_cutover_follows_the_record():
    assert RB.effective_cutover({}, None) == 'private_ip'
    assert RB.effective_cutover({}, 'dns') == 'dns'
    assert RB.effective_cutover({'cutover': 'dns'}, None) == 'dns'
    assert RB.effective_cutover({'cutover': 'dns'}, 'dns') == 'dns'
    with pytest.raises(RB.RebuildError, match='planned with cut-over dns'):
        RB.effective_cutover({'cutover': 'dns'}, 'private_ip')
    with pytest.raises(RB.RebuildError):
        RB.effective_cutover({}, 'ipv6')


def test_dns_bodies():
    b = RB.new_pip_body(pip(), 'eastus')
    assert b['sku'] == {'name': 'Standard', 'tier': 'Regional'} and b['zones'] == ['2']
    assert b['properties'] == {'publicIPAllocationMethod': 'Static', 'publicIPAddressVersion': 'IPv4'}
    freed = RB.pip_dns_update(pip(), None)
    assert 'dnsSettings' not in freed['properties'] and 'id' not in freed and 'ipAddress' not in freed['properties']
    assert freed['sku']['name'] == 'Standard' and freed['location'] == 'eastus'
    given = RB.pip_dns_update(pip(NEW_PIP, label=None), 'web-ade')
    assert given['properties']['dnsSettings'] == {'domainNameLabel': 'web-ade'}
    n = RB.nic_body(nic_with_pip(), 'eastus', pip_id=NEW_PIP)
    assert n['properties']['ipConfigurations'][0]['properties']['publicIPAddress'] == {'id': NEW_PIP}
    assert 'publicIPAddress' not in RB.nic_body(nic_with_pip(), 'eastus')['properties']['ipConfigurations'][0][
        'properties']


def test_dns_next_steps_build_swap_resume_and_give_back():
    assert RB.next_steps({'stage': None}, False, False, 'dns', 'present', new_pip_exists=False) == [
        'record_plan', 'create_pip', 'create_nic', 'record_nic', 'create_vm', 'record_vm']
    # interrupted after the public IP PUT: it exists, the NIC is next
    assert RB.next_steps({'stage': 'planned'}, False, False, 'dns', 'present', new_pip_exists=True) == [
        'create_nic', 'record_nic', 'create_vm', 'record_vm']
    assert RB.next_steps({'stage': 'compared'}, True, True, 'dns', 'cut_over') == [
        'deallocate_old', 'release_old_dns', 'take_new_dns', 'start_new', 'record_cut_over']
    assert RB.next_steps({'stage': 'cut_over'}, True, True, 'dns', 'fallback') == [
        'deallocate_new', 'release_new_dns', 'give_back_old_dns', 'start_old', 'record_fallback']
    # a cut-over interrupted between the label's release and its record: the fallback gives the label back
    assert RB.next_steps({'stage': 'compared', 'swap': 'dns'}, True, True, 'dns', 'fallback') == [
        'deallocate_new', 'release_new_dns', 'give_back_old_dns', 'start_old', 'record_fallback']
    assert RB.next_steps({'stage': 'compared', 'spare_ip': '10.0.0.250'}, True, True, 'private_ip', 'fallback') == [
        'deallocate_new', 'release_new_ip', 'give_back_old_ip', 'start_old', 'record_fallback']
    assert RB.next_steps({'stage': 'compared'}, True, True, 'dns', 'fallback') == [
        'deallocate_new', 'start_old', 'record_fallback']


def test_dns_record_and_page():
    tags = RB.record_tags({}, 'planned', cutover='dns', dns='web-ade')
    rec = RB.record({'tags': tags})
    assert rec['cutover'] == 'dns' and rec['dns'] == 'web-ade' and rec['swap'] is None
    tags = RB.record_tags(RB.record_tags(tags, 'vm'), 'cut_over', swap='dns')
    rec = RB.record({'tags': tags})
    assert rec['swap'] == 'dns' and rec['dns'] == 'web-ade'
    row = RB.page_row('h', {'name': 'web'}, dict(rec, new='web-eah'))
    assert any('DNS name web-ade' in k and 'web-eah' in k for k in row['kept'])

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type


import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import layout
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import parsers
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.guest.guest_fixtures import fixture


def mount(mountpoint, source=None, fstype='ext4', root='/'):
    if source is None:
        source = '/dev/disk-at' + mountpoint.replace('/', '_')  # one device per mount
    return {'source': source, 'mountpoint': mountpoint, 'fstype': fstype, 'options': 'rw', 'root': root,
            'major_minor': None}


def annotated(mounts, devices=None, root=None):
    return layout.annotate_mounts(devices or [], mounts, root or {})


def test_ubuntu_nested_layout():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_ubuntu1804_nested.txt'))
    mounts = parsers.parse_mountinfo(fixture('mountinfo_ubuntu1804_nested.txt'))
    root = layout.root_info(devices, mounts)
    assert root == {'device': '/dev/sda1', 'source': '/dev/sda1', 'fstype': 'ext4', 'on_lvm': False, 'vg': None,
                    'lv': None, 'rootvg_layout': False, 'rootvg_lvs_present': [], 'pttype': 'gpt', 'disk': 'sda'}
    marked = layout.annotate_mounts(devices, mounts, root)
    data = [m['mountpoint'] for m in marked if m['is_data_drive']]
    # not /, /boot/efi, pseudo fs, snap squashfs or cifs
    assert data == ['/mnt', '/mnt/data1', '/data3', '/data3/data4', '/data30']
    assert layout.nested_pairs(marked) == [['/data3', '/data3/data4'], ['/mnt', '/mnt/data1']]
    assert layout.resource_disk_mountpoint(marked, '/mnt') == '/mnt'


def test_rhel_rootvg_layout():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_rhel7_rootvg.txt'))
    mounts = parsers.parse_proc_mounts(fixture('proc_mounts_rhel7_rootvg.txt'))
    root = layout.root_info(devices, mounts)
    assert (root['on_lvm'], root['vg'], root['lv'], root['rootvg_layout'], root['disk'], root['pttype']) == \
        (True, 'rootvg', 'rootlv', True, 'sda', 'gpt')
    assert root['rootvg_lvs_present'] == list(layout.supported.ROOTVG_LVS)
    marked = layout.annotate_mounts(devices, mounts, root)
    # OS-disk LVs (/var, /var/tmp bind, /usr ...) are not data drives; the resource disk is
    assert [m['mountpoint'] for m in marked if m['is_data_drive']] == ['/mnt/resource']
    assert layout.nested_pairs(marked) == []
    assert layout.resource_disk_mountpoint(marked, None) == '/mnt/resource'


def test_rhel_plain_lvm_root():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_rhel7_plain_lvm_noise.txt'))
    root = layout.root_info(devices, [mount('/', '/dev/mapper/rhel-root', 'xfs')])
    assert (root['on_lvm'], root['vg'], root['lv'], root['rootvg_layout'], root['rootvg_lvs_present']) == \
        (True, 'rhel', 'root', False, [])


def test_old_lsblk_crypt_data_and_root():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_old_no_pkname.txt'))
    mounts = [mount('/', '/dev/sda1'), mount('/mnt', '/dev/sdb1'), mount('/data', '/dev/mapper/b3f1a2c4-data')]
    root = layout.root_info(devices, mounts)
    assert root['disk'] == 'sda' and root['pttype'] is None
    marked = layout.annotate_mounts(devices, mounts, root)
    assert [m['mountpoint'] for m in marked if m['is_data_drive']] == ['/mnt', '/data']


def test_root_without_lsblk_falls_back_to_mapper_name():
    root = layout.root_info([], [mount('/', '/dev/mapper/localhost--vg-root')])
    assert (root['device'], root['on_lvm'], root['vg'], root['lv']) == (None, True, 'localhost-vg', 'root')


# mountpoints (all block-device ext4 unless noted) -> expected nested pairs
NESTING = [
    (['/data3', '/data3/data4'], [['/data3', '/data3/data4']]),
    (['/data3', '/data30'], []),                                   # string prefix is not nesting
    (['/data3/', '/data3/data4'], [['/data3/', '/data3/data4']]),
    (['/mnt', '/mnt/data1', '/mnt/data2'], [['/mnt', '/mnt/data1'], ['/mnt', '/mnt/data2']]),
    (['/mnt/resource', '/mnt/data1'], []),                         # /mnt itself is not a drive mount
    (['/a', '/a/b', '/a/b/c'], [['/a', '/a/b'], ['/a', '/a/b/c'], ['/a/b', '/a/b/c']]),
    (['/data', '/data'], []),                                      # over-mount of the same path
]


def test_same_device_mounted_twice_is_one_drive():
    mounts = [mount('/srv', '/dev/sdc1'), mount('/srv/again', '/dev/sdc1')]
    assert layout.nested_pairs(annotated(mounts)) == []


@pytest.mark.parametrize('points, pairs', NESTING)
def test_nested_pairs(points, pairs):
    assert layout.nested_pairs(annotated([mount(p) for p in points])) == pairs


@pytest.mark.parametrize('extra, expected_data', [
    (mount('/mnt/tmpfs', 'tmpfs', 'tmpfs'), False),
    (mount('/mnt/nfs', 'server:/export', 'nfs4'), False),
    (mount('/mnt/snap', '/dev/loop3', 'squashfs'), False),
    (mount('/mnt/cg', 'cgroup', 'cgroup'), False),
    (mount('/mnt/bind', '/dev/sdc1', 'ext4', root='/some/dir'), False),
    (mount('/mnt/azure_bek_disk', '/dev/sdd1', 'vfat'), False),
    (mount('/boot/efi', '/dev/sda15', 'vfat'), False),
    (mount('/mnt/data1', '/dev/sdc1', 'ext4'), True),
    (mount('/mnt/loop', '/dev/loop7', 'ext4'), True),
])
def test_which_mounts_are_data_drives(extra, expected_data):
    marked = annotated([mount('/', '/dev/sda1'), mount('/mnt', '/dev/sdb1'), extra])
    assert marked[2]['is_data_drive'] is expected_data
    assert layout.nested_pairs(marked) == ([['/mnt', extra['mountpoint']]] if expected_data else [])


def test_lsblk_mountpoint_counts_as_drive_even_with_odd_source():
    devices = [{'name': 'sdc1', 'kname': 'sdc1', 'parent': 'sdc', 'type': 'part', 'fstype': 'ext4',
                'mountpoint': '/mnt/data1', 'size_bytes': 1, 'uuid': 'u', 'label': None, 'pttype': None}]
    marked = layout.annotate_mounts(devices, [mount('/mnt', '/dev/sdb1'), mount('/mnt/data1', 'overlayish', 'xfs')],
                                    {})
    assert layout.nested_pairs(marked) == [['/mnt', '/mnt/data1']]


@pytest.mark.parametrize('name, expected', [
    ('rootvg-rootlv', ('rootvg', 'rootlv')), ('ubuntu--vg-root', ('ubuntu-vg', 'root')),
    ('data--vg-data--lv', ('data-vg', 'data-lv')), ('osencrypt', (None, None)), (None, (None, None)),
])
def test_split_lvm_name(name, expected):
    assert layout.split_lvm_name(name) == expected


def test_without_lsblk_root_vg_lvs_and_repeated_sources_are_not_data():
    mounts = parsers.parse_proc_mounts(fixture('proc_mounts_rhel7_rootvg.txt'))
    root = layout.root_info([], mounts)
    assert (root['on_lvm'], root['vg'], root['device']) == (True, 'rootvg', None)
    marked = layout.annotate_mounts([], mounts, root)
    assert [m['mountpoint'] for m in marked if m['is_data_drive']] == ['/mnt/resource']
    assert layout.nested_pairs(marked) == []


def test_without_lsblk_other_volume_groups_are_data():
    mounts = [mount('/', '/dev/mapper/vgsys-root'), mount('/var', '/dev/mapper/vgsys-var'),
              mount('/data', '/dev/mapper/vgdata-lv0'), mount('/data/inner', '/dev/mapper/vgdata-lv1')]
    marked = layout.annotate_mounts([], mounts, layout.root_info([], mounts))
    assert [m['mountpoint'] for m in marked if m['is_data_drive']] == ['/data', '/data/inner']
    assert layout.nested_pairs(marked) == [['/data', '/data/inner']]

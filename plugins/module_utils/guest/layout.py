# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure derivations over parsed block devices and mounts: root device, data drives, nesting.

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import supported


# Filesystems that never stand for a drive: kernel pseudo filesystems, in-memory, network and
# read-only image filesystems (snap squashfs on loop devices, ISO).
NOT_DRIVE_FSTYPES = frozenset((
    'proc', 'sysfs', 'devtmpfs', 'devpts', 'tmpfs', 'ramfs', 'cgroup', 'cgroup2', 'securityfs', 'pstore',
    'debugfs', 'tracefs', 'configfs', 'fusectl', 'mqueue', 'hugetlbfs', 'autofs', 'binfmt_misc', 'rpc_pipefs',
    'selinuxfs', 'bpf', 'efivarfs', 'overlay', 'aufs', 'nsfs', 'squashfs', 'iso9660', 'udf', 'swap',
    'nfs', 'nfs4', 'cifs', 'smb3', 'smbfs', 'glusterfs', 'fuse.glusterfs', 'ceph', 'fuse.ceph', '9p', 'virtiofs',
    'fuse', 'fuse.lxcfs', 'fuse.gvfsd-fuse', 'fuse.sshfs', 'fuse.s3fs', 'fuse.blobfuse', 'fuse.blobfuse2',
    'nfsd', 'sunrpc', 'none',
))
# Block device types that stand for no drive ADE encrypts unless one is mounted as a drive: loop devices (snap
# images, detached loops) and optical drives (the provisioning ISO).
NOT_DRIVE_DEVICE_TYPES = ('loop', 'rom')
BEK_MOUNTPOINT = '/mnt/azure_bek_disk'
BEK_LABELS = ('BEK VOLUME', 'BEK')


def _by_kname(devices):
    return dict((d['kname'], d) for d in devices)


def find_device(devices, source=None, mountpoint=None):
    """The lsblk device behind a mount source (/dev/sda1, /dev/mapper/vg-lv, /dev/dm-0, UUID=...) or mountpoint."""
    if source:
        name = source
        for prefix in ('/dev/mapper/', '/dev/'):
            if name.startswith(prefix):
                name = name[len(prefix):]
                break
        for dev in devices:
            if name in (dev['name'], dev['kname']):
                return dev
        if source.startswith('/dev/disk/by-uuid/') or source.startswith('UUID='):
            uuid = source.split('/')[-1].split('=')[-1]
            for dev in devices:
                if dev['uuid'] == uuid:
                    return dev
    if mountpoint:
        for dev in devices:
            if dev['mountpoint'] == mountpoint:
                return dev
    return None


def top_disk(devices, dev):
    """Follow parents up to the whole disk; returns the disk's kname (or the device's own if no parent)."""
    index = _by_kname(devices)
    seen = set()
    current = dev
    while current is not None and current.get('parent') and current['kname'] not in seen:
        seen.add(current['kname'])
        parent = index.get(current['parent'])
        if parent is None:
            return current['parent']
        current = parent
    return current['kname'] if current else None


def split_lvm_name(name):
    """device-mapper name 'rootvg-rootlv' -> ('rootvg', 'rootlv'); '--' is an escaped '-'."""
    if not name:
        return None, None
    placeholder = '\0'
    work = name.replace('--', placeholder)
    if '-' not in work:
        return None, None
    vg, lv = work.split('-', 1)
    return vg.replace(placeholder, '-'), lv.replace(placeholder, '-')


def root_info(devices, mounts):
    """Root filesystem facts: {device, source, fstype, on_lvm, vg, lv, rootvg_layout, rootvg_lvs_present,
    pttype, disk}. Follows ADE: on_lvm when lsblk shows TYPE lvm at MOUNTPOINT /."""
    root_mount = None
    for mount in mounts:
        if mount['mountpoint'] == '/':
            root_mount = mount  # the last one wins (over-mounts)
    dev = None
    for candidate in devices:
        if candidate['mountpoint'] == '/':
            dev = candidate
            break
    if dev is None and root_mount is not None:
        dev = find_device(devices, source=root_mount['source'])
    names = set(d['name'] for d in devices)
    present = [lv for lv in supported.ROOTVG_LVS if lv in names]
    info = {
        'device': ('/dev/' + dev['name']) if dev else None,
        'source': root_mount['source'] if root_mount else None,
        'fstype': (dev['fstype'] if dev and dev['fstype'] else (root_mount['fstype'] if root_mount else None)),
        'on_lvm': False,
        'vg': None,
        'lv': None,
        'rootvg_layout': len(present) == len(supported.ROOTVG_LVS),
        'rootvg_lvs_present': present,
        'pttype': None,
        'disk': None,
    }
    if dev is not None:
        info['on_lvm'] = dev['type'] == 'lvm'
        if info['on_lvm']:
            info['vg'], info['lv'] = split_lvm_name(dev['name'])
        disk = top_disk(devices, dev)
        info['disk'] = disk
        disk_dev = _by_kname(devices).get(disk)
        info['pttype'] = (disk_dev or {}).get('pttype') or dev.get('pttype')
    elif root_mount is not None and root_mount['source'].startswith('/dev/mapper/'):
        # lsblk could not tell: judge by the device-mapper name like an admin reading df would.
        vg, lv = split_lvm_name(root_mount['source'][len('/dev/mapper/'):])
        if vg:
            info.update({'on_lvm': True, 'vg': vg, 'lv': lv})
    return info


def stands_for_drive(mount, lsblk_mountpoints):
    """A mount that stands for a drive: a real filesystem whose source is a block device, or a mountpoint
    lsblk lists. Pseudo, network and image filesystems never do."""
    fstype = (mount.get('fstype') or '').lower()
    if fstype in NOT_DRIVE_FSTYPES or fstype.startswith('fuse.') or fstype.startswith('cgroup'):
        return False
    source = mount.get('source') or ''
    return source.startswith('/dev/') or mount['mountpoint'] in lsblk_mountpoints


def annotate_mounts(devices, mounts, root):
    """Adds is_data_drive to each mount (new dicts) and returns them.

    Data drive: stands for a drive, is not /, /boot or below, not the BEK volume, not a bind of a
    sub-directory, and does not live on the OS disk (when lsblk tells which disk that is).
    """
    lsblk_mountpoints = set(d['mountpoint'] for d in devices if d['mountpoint'])
    os_disk = root.get('disk') if root else None
    root_vg = root.get('vg') if root else None
    seen_sources = set()
    result = []
    for mount in mounts:
        entry = {
            'source': mount['source'], 'mountpoint': mount['mountpoint'], 'fstype': mount['fstype'],
            'options': mount.get('options') or '', 'is_data_drive': False,
        }
        mp = mount['mountpoint']
        data = stands_for_drive(mount, lsblk_mountpoints)
        if data and (mp == '/' or mp == '/boot' or mp.startswith('/boot/') or mp == BEK_MOUNTPOINT):
            data = False
        if data and mount.get('root') not in (None, '/'):
            data = False  # bind mount of a directory
        if data and mount['source'] in seen_sources:
            data = False  # the same device mounted again (bind mount as /proc/mounts shows it)
        if data:
            seen_sources.add(mount['source'])
            dev = find_device(devices, source=mount['source'], mountpoint=mp)
            if dev is not None:
                if dev.get('label') in BEK_LABELS:
                    data = False
                elif os_disk and top_disk(devices, dev) == os_disk:
                    data = False
            elif root_vg and mount['source'].startswith('/dev/mapper/') and \
                    split_lvm_name(mount['source'][len('/dev/mapper/'):])[0] == root_vg:
                data = False  # no lsblk answer: an LV of the root's volume group is on the OS disk
        entry['is_data_drive'] = data
        result.append(entry)
    return result


def _inside(inner, outer):
    inner = inner.rstrip('/') or '/'
    outer = outer.rstrip('/')
    return inner != (outer or '/') and inner.startswith(outer + '/')


def nested_pairs(mounts):
    """[[outer, inner], ...] for data-drive mounts whose mountpoint path lies inside another's.

    Path nesting (not string prefix): /data3/data4 is inside /data3, /data30 is not.
    """
    points = []
    for mount in mounts:
        if mount['is_data_drive'] and mount['mountpoint'] not in points:
            points.append(mount['mountpoint'])
    pairs = []
    for outer in points:
        for inner in points:
            if _inside(inner, outer):
                pairs.append([outer, inner])
    pairs.sort()
    return pairs


def resource_disk_mountpoint(mounts, configured=None):
    """Where the resource (temp) disk is mounted: waagent's ResourceDisk.MountPoint if mounted, else
    /mnt/resource (RHEL/SLES images) or /mnt (Ubuntu with cloud-init); None if none is a drive mount."""
    drive_points = set(m['mountpoint'] for m in mounts if m['is_data_drive'])
    for candidate in (configured, '/mnt/resource', '/mnt'):
        if candidate and candidate.rstrip('/') in drive_points:
            return candidate.rstrip('/')
    return None


def drive_facts(facts):
    """The facts without what decides no check: the mounts that stand for no drive (kernel pseudo, in-memory, network
    and image filesystems) and the loop and optical devices that carry no drive mount. What the preflight returns
    (guest_facts keeps everything): the controller gets, parses and copies a smaller result; a guest's list of
    mounts and devices can be long (dozens of cgroup mounts, a loop device per snap). New dicts; the input is kept."""
    out = dict(facts)
    devices = facts.get('block_devices')
    mounts = facts.get('mounts')
    if mounts is not None:
        lsblk_mountpoints = set(d['mountpoint'] for d in devices or [] if d.get('mountpoint'))
        out['mounts'] = [m for m in mounts if m.get('is_data_drive') or stands_for_drive(m, lsblk_mountpoints)]
    if devices is not None:
        drive_points = set(m['mountpoint'] for m in out['mounts'] or [])
        out['block_devices'] = [d for d in devices
                                if d.get('type') not in NOT_DRIVE_DEVICE_TYPES or d.get('mountpoint') in drive_points]
    return out

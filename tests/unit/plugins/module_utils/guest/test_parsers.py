# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table-driven tests of every guest parser (fixtures written for this project, shaped after real outputs)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type


import re

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import parsers
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.guest.guest_fixtures import fixture, release_files


# name, id, ade_id, version, version_full, ade_version, codename
DISTRIBUTIONS = [
    ('ubuntu1404', 'ubuntu', 'Ubuntu', '14.04', '14.04.5', '14.04', 'trusty'),
    ('ubuntu1804', 'ubuntu', 'Ubuntu', '18.04', '18.04.6', '18.04', 'bionic'),
    ('rhel72', 'rhel', 'redhat', '7.2', '7.2', '7.2', 'Maipo'),
    ('rhel79', 'rhel', 'redhat', '7.9', '7.9', '7.9', 'Maipo'),
    ('centos76', 'centos', 'centos', '7', '7.6.1810', '7.6.1810', 'Core'),
    ('centos73', 'centos', 'centos', '7', '7.3.1611', '7.3.1611', 'Core'),
    ('centos71', 'centos', 'centos', '7.1.1503', '7.1.1503', '7.1.1503', 'Core'),
    ('rhel610_nospace', 'rhel', 'redhat', '6.10', '6.10', '6.10', 'Santiago'),
    ('rhel85_beta', 'rhel', 'redhat', '8.5', '8.5', '8.5', 'Ootpa'),
    ('rhel86_comments', 'rhel', 'redhat', '8.6', '8.6', '8.6', None),
    ('sles12sp5', 'sles', 'SuSE', '12.5', '12.5', '12.5', None),
    ('sles11sp4_suse_release_only', 'sles', 'SuSE', '11.4', '11.4', '11.4', None),
    ('sles_sap12', 'sles_sap', 'SuSE', '12.3', '12.3', '12.3', None),
    ('debian11', 'debian', 'debian', '11', '11.9', '11', 'bullseye'),
    ('debian_version_only', 'debian', 'debian', '8.11', '8.11', '8.11', None),
    ('oracle85', 'ol', 'oracle', '8.5', '8.5', '8.5', None),
    ('mariner2', 'mariner', 'mariner', '2.0', '2.0', '2.0', None),
    ('centos_stream8', 'centos', 'centos', '8', '8', '8', None),
    # traps: derivatives are not their parents
    ('scientific7', 'scientific', None, '7.4', '7.4', '7.4', None),
    ('linuxmint_lsb_only', 'linuxmint', None, '19.3', '19.3', '19.3', 'tricia'),
    ('popos', 'pop', None, '22.04', '22.04', '22.04', 'jammy'),
    ('neon', 'neon', None, '20.04', '20.04', '20.04', 'focal'),
    ('rocky8', 'rocky', None, '8.5', '8.5', '8.5', None),
    ('alma8', 'almalinux', None, '8.6', '8.6', '8.6', None),
    ('eurolinux8', 'eurolinux', None, '8.6', '8.6', '8.6', None),
    ('virtuozzo_release_only', 'virtuozzo', None, None, None, None, None),
    ('empty_id', None, None, '18.04', '18.04', '18.04', None),
    ('none', None, None, None, None, None, None),
]


@pytest.mark.parametrize('name, os_id, ade_id, version, version_full, ade_version, codename', DISTRIBUTIONS)
def test_parse_distribution(name, os_id, ade_id, version, version_full, ade_version, codename):
    dist = parsers.parse_distribution(release_files(name))
    assert (dist['id'], dist['ade_id'], dist['version'], dist['version_full'], dist['ade_version'],
            dist['codename']) == (os_id, ade_id, version, version_full, ade_version, codename)


def test_usr_lib_os_release_is_a_fallback():
    text = release_files('ubuntu1804')['/etc/os-release']
    dist = parsers.parse_distribution({'/usr/lib/os-release': text})
    assert dist['ade_id'] == 'Ubuntu' and dist['version'] == '18.04'


@pytest.mark.parametrize('line, expected', [
    ('Red Hat Enterprise Linux Server release 7.2 (Maipo)', ('rhel', '7.2', 'Maipo')),
    ('Red Hat Enterprise Linux Server release 6.10(Santiago)', ('rhel', '6.10', 'Santiago')),
    ('Red Hat Enterprise Linux release 8.5 Beta (Ootpa)', ('rhel', '8.5', 'Ootpa')),
    ('CentOS Linux release 7.9.2009 (Core)', ('centos', '7.9.2009', 'Core')),
    ('CentOS release 6.9 (Final)', ('centos', '6.9', 'Final')),
    ('Virtuozzo Linux release 7.8', (None, '7.8', None)),
    ('Fedora release 23 (Twenty Three)', (None, '23', 'Twenty Three')),
    ('', None),
])
def test_parse_release_line(line, expected):
    result = parsers.parse_release_line(line)
    if expected is None:
        assert result is None
    else:
        assert (result['id'], result['version'], result['codename']) == expected


@pytest.mark.parametrize('name, total', [
    ('meminfo_8g.txt', 8152812),
    ('meminfo_4g.txt', 4026864),
])
def test_parse_meminfo(name, total):
    assert parsers.parse_meminfo(fixture(name))['MemTotal'] == total


def test_parse_meminfo_empty():
    assert parsers.parse_meminfo('') == {}
    assert parsers.parse_meminfo(None) == {}


@pytest.mark.parametrize('text, expected', [
    (fixture('selinux_config_enforcing.txt'), ('enforcing', 'enforcing', 'targeted')),
    (fixture('selinux_config_invalid.txt'), ('invalid', 'enabled', 'targeted')),
    (fixture('selinux_config_disabled_quoted.txt'), ('disabled', 'Disabled', None)),
    ('# only comments\n', ('invalid', None, None)),
    (None, ('absent', None, None)),
])
def test_parse_selinux_config(text, expected):
    result = parsers.parse_selinux_config(text)
    assert (result['config'], result['config_raw'], result['policy']) == expected


@pytest.mark.parametrize('text, expected', [
    ('1\n', 'enforcing'), ('0', 'permissive'), ('', None), ('x', None), (None, None),
])
def test_parse_selinux_enforce(text, expected):
    assert parsers.parse_selinux_enforce(text) == expected


@pytest.mark.parametrize('name, version, goal, running_on', [
    ('waagent_version_2232.txt', '2.2.32', '2.2.32', 'ubuntu 18.04'),
    ('waagent_version_autoupdated.txt', '2.2.32.2', '2.9.1.1', 'redhat 7.7'),
    ('waagent_version_old.txt', '2.0.16', None, 'Ubuntu 14.04'),
])
def test_parse_waagent_version(name, version, goal, running_on):
    result = parsers.parse_waagent_version(fixture(name))
    assert (result['version'], result['goal_state_version'], result['running_on']) == (version, goal, running_on)


def test_parse_waagent_version_garbage():
    assert parsers.parse_waagent_version('command not found')['version'] is None
    assert parsers.parse_waagent_version(None)['version'] is None


@pytest.mark.parametrize('name, auto_update, proxy, mount_point, fmt, swap', [
    ('waagent_conf_ubuntu.txt', True, {'host': '10.0.0.5', 'port': 3128}, '/mnt', False, False),
    ('waagent_conf_rhel.txt', False, None, '/mnt/resource', True, True),
])
def test_parse_waagent_conf(name, auto_update, proxy, mount_point, fmt, swap):
    conf = parsers.parse_waagent_conf(fixture(name))
    assert conf['auto_update'] is auto_update
    assert conf['http_proxy'] == proxy
    assert conf['resource_disk'] == {'mount_point': mount_point, 'format': fmt, 'enable_swap': swap}


def test_parse_waagent_conf_missing():
    conf = parsers.parse_waagent_conf(None)
    assert conf['auto_update'] is None and conf['http_proxy'] is None


def test_parse_crypttab():
    entries = parsers.parse_crypttab(fixture('crypttab.txt'))
    assert [e['name'] for e in entries] == ['osencrypt', 'resourceencrypt', 'swapcrypt']
    assert entries[0]['options'] == ['luks', 'discard', 'header=/boot/luks/osluksheader']
    assert entries[2]['keyfile'] is None and entries[2]['options'] == []


def test_parse_lsblk_pairs_new():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_ubuntu1804_nested.txt'))
    by_name = dict((d['name'], d) for d in devices)
    assert len(devices) == 14
    assert by_name['sda1'] == {
        'name': 'sda1', 'kname': 'sda1', 'parent': 'sda', 'type': 'part', 'fstype': 'ext4', 'mountpoint': '/',
        'size_bytes': 32096894464, 'uuid': '1a2b3c4d-0000-4000-8000-000000000001', 'label': 'cloudimg-rootfs',
        'pttype': 'gpt'}
    assert by_name['sdc1']['label'] == 'data one'  # \x20 escape
    assert by_name['sda']['parent'] is None and by_name['sda']['mountpoint'] is None


def test_parse_lsblk_pairs_ignores_stderr_noise():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_rhel7_plain_lvm_noise.txt'))
    assert devices[0]['name'] == 'sda'
    root = [d for d in devices if d['mountpoint'] == '/'][0]
    assert (root['name'], root['kname'], root['parent'], root['type']) == ('rhel-root', 'dm-0', 'sda2', 'lvm')


def test_parse_lsblk_pairs_old_util_linux_infers_parents():
    devices = parsers.parse_lsblk_pairs(fixture('lsblk_old_no_pkname.txt'))
    parents = dict((d['name'], d['parent']) for d in devices)
    assert parents == {'sda': None, 'sda1': 'sda', 'sdb': None, 'sdb1': 'sdb', 'sdc': None, 'sdc1': 'sdc',
                       'vg0-lv0': 'sdc1', 'b3f1a2c4-data': 'sdc1'}
    assert all(d['pttype'] is None for d in devices)


def test_parse_lsblk_pairs_dev_prefixed_names():
    devices = parsers.parse_lsblk_pairs('NAME="/dev/sda2" FSTYPE="LVM2_member" UUID="x" LABEL=""\n')
    assert devices[0]['name'] == 'sda2' and devices[0]['kname'] == 'sda2'


def test_parse_mountinfo():
    mounts = parsers.parse_mountinfo(fixture('mountinfo_ubuntu1804_nested.txt'))
    by_point = dict((m['mountpoint'], m) for m in mounts)
    assert by_point['/']['source'] == '/dev/sda1' and by_point['/']['fstype'] == 'ext4'
    assert by_point['/data3/data4']['fstype'] == 'xfs'
    assert by_point['/srv/my share']['source'] == '//fileserver/my share'  # \040
    assert by_point['/sys/fs/cgroup/unified']['fstype'] == 'cgroup2'
    assert by_point['/mnt']['root'] == '/'


def test_parse_proc_mounts_with_stray_quotes_and_escapes():
    mounts = parsers.parse_proc_mounts(fixture('proc_mounts_stray_quote.txt'))
    assert [m['mountpoint'] for m in mounts] == ['/sys', '/proc', '/', '/boot', '/mnt/data 1']
    assert mounts[2]['source'] == '/dev/mapper/ubuntu--vg-root'


@pytest.mark.parametrize('name, expected', [
    ('Microsoft.Azure.Extensions.CustomScript-2.1.10', ('Microsoft.Azure.Extensions.CustomScript', '2.1.10')),
    ('Microsoft.Azure.Security.AzureDiskEncryptionForLinux-1.4.0.12',
     ('Microsoft.Azure.Security.AzureDiskEncryptionForLinux', '1.4.0.12')),
    ('Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux-0.1.0.999345',
     ('Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux', '0.1.0.999345')),
    ('WALinuxAgent-2.2.53', None),
    ('Microsoft.Azure.Extensions.CustomScript-2.1.10.zip', None),
    ('GoalState.1.xml', None),
])
def test_parse_handler_dir(name, expected):
    assert parsers.parse_handler_dir(name) == expected


@pytest.mark.parametrize('name, expected', [
    ('status_transitioning.json', ('transitioning', 'Enable', 'Enable in progress')),
    ('status_success.json', ('success', 'Enable', 'Enable succeeded')),
    ('status_broken.json', None),
])
def test_parse_status_file(name, expected):
    result = parsers.parse_status_file(fixture(name))
    if expected is None:
        assert result is None
    else:
        assert (result['status'], result['operation'], result['message']) == expected


@pytest.mark.parametrize('text, expected', [
    ('168.63.129.16\n', '168.63.129.16'), ('10.1.2.3', '10.1.2.3'), ('300.1.1.1', None), ('', None),
    (None, None), ('a8:3f::1', None),
])
def test_parse_wireserver_endpoint(text, expected):
    assert parsers.parse_wireserver_endpoint(text) == expected


@pytest.mark.parametrize('text, expected', [
    ('kernel/fs/fat/vfat.ko\n', True),
    ('kernel/fs/fat/vfat.ko.xz: kernel/fs/fat/fat.ko.xz\n', True),
    ('kernel/fs/fat/fat.ko: \nkernel/fs/fat/msdos.ko: kernel/fs/fat/fat.ko\n', False),
    ('kernel/fs/fat/notvfat.ko:\n', False),
    (None, False),
    ('vfat.ko', True), ('x/vfat.ko.zst\tdep', True), ('x/vfat.ko.\n', False), ('x/vfat.ko.xz1:', False),
    ('x/vfat.kobj:\nvfat.ko.gz', True), ('x/vfat.koX:\n', False),
])
def test_module_listed(text, expected):
    assert parsers.module_listed(text, 'vfat') is expected


def test_module_listed_as_the_pattern_it_replaces():
    """The string search answers as the regular expression it replaced, on every short mix of the pieces."""
    pattern = re.compile(r'(^|/)vfat\.ko(\.[a-z]+)?(:|[ \t\n\r\x0b\x0c]|$)', re.MULTILINE)
    pieces = ['vfat', '.ko', '.', 'xz', '/', '\n', ':', ' ', 'a', '1']
    for a in pieces:
        for b in pieces:
            for c in pieces:
                for d in ('', 'vfat.ko', '.ko:'):
                    text = a + b + c + d
                    assert parsers.module_listed(text, 'vfat') is bool(pattern.search(text)), text


def test_parse_proc_filesystems():
    assert parsers.parse_proc_filesystems('nodev\tsysfs\n\text4\n\tvfat\n') == set(['sysfs', 'ext4', 'vfat'])


def test_parse_ini_value():
    text = '[azure_crypt_config]\nvolumetype = Data\npassphrase_file_name = LinuxPassPhraseFileName\n'
    assert parsers.parse_ini_value(text, 'VolumeType') == 'Data'
    assert parsers.parse_ini_value(text, 'missing') is None


def test_parse_key_value_quotes_and_comments():
    kv = parsers.parse_key_value('A="x \\"y\\""\n#B=1\n  C = \'z\'\nD=\nbad line\n')
    assert kv == {'A': 'x "y"', 'C': 'z', 'D': ''}


def test_parse_fstab():
    text = '# c\nUUID=1 / ext4 defaults 0 1\n/dev/sdc1\t/data\\040x\txfs\tdefaults,nofail 0 2\nbad\n'
    assert parsers.parse_fstab(text) == [
        {'spec': 'UUID=1', 'file': '/', 'vfstype': 'ext4', 'options': ['defaults']},
        {'spec': '/dev/sdc1', 'file': '/data x', 'vfstype': 'xfs', 'options': ['defaults', 'nofail']}]
    assert parsers.parse_fstab(None) == []


def test_parse_dpkg_status_and_upstream_version():
    text = ('Package: walinuxagent\nStatus: install ok installed\nVersion: 2.2.45-0ubuntu1~18.04.1\n\n'
            'Package: lsscsi\nStatus: deinstall ok config-files\nVersion: 0.29-2\n\n'
            'Package: libc6:amd64\nStatus: install ok installed\nDescription: x\n continued: line\nVersion: 2.31\n')
    assert parsers.parse_dpkg_status(text) == {'walinuxagent': '2.2.45-0ubuntu1~18.04.1', 'libc6': '2.31'}
    # only the packages asked for; a stanza not starting with Package: is parsed whole
    assert parsers.parse_dpkg_status(text, set(['walinuxagent', 'lsscsi'])) == {'walinuxagent': '2.2.45-0ubuntu1~18.04.1'}
    assert parsers.parse_dpkg_status('Status: install ok installed\nPackage: at\n\nPackage: b\n', set(['at'])) == {'at': None}
    assert parsers.upstream_version('2.2.45-0ubuntu1~18.04.1') == '2.2.45'
    assert parsers.upstream_version('1:2.7.3.0-4.1') == '2.7.3.0'
    assert parsers.upstream_version(None) is None


def test_parse_apt_sources_and_proxy():
    assert parsers.parse_apt_sources('deb [signed-by=/k arch=amd64] http://a/ubuntu bionic main\n#deb http://b/ x\n'
                                     'deb cdrom:[Ubuntu]/ bionic main\n') == ['http://a/ubuntu', 'cdrom:[Ubuntu]/']
    assert parsers.parse_apt_sources('Types: deb\nURIs: http://c/ http://d/\nEnabled: no\n\nURIs: http://e/\n',
                                     deb822=True) == ['http://e/']
    assert parsers.parse_apt_proxy('Acquire::http::Proxy "http://p:3128";') == 'http://p:3128'
    assert parsers.parse_apt_proxy('Acquire { http { Proxy "http://q:8080"; }; };') == 'http://q:8080'
    assert parsers.parse_apt_proxy('// Acquire::http::Proxy "http://p:3128";\nAcquire::http::Proxy "DIRECT";') is None


def test_parse_repo_file_and_proxy_settings():
    text = ('[a]\nbaseurl=http://m1/x/\n  http://m2/x/\nenabled=1\n[b]\nmirrorlist=https://m3/list\n'
            '[c]\nmetalink=https://m4/ml\nenabled=0\n')
    assert parsers.parse_repo_file(text) == ['http://m1/x/', 'http://m2/x/', 'https://m3/list']
    assert parsers.parse_proxy_setting('[main]\nproxy=http://y:3128\n') == 'http://y:3128'
    assert parsers.parse_proxy_setting('[main]\nproxy=_none_\n') is None
    assert parsers.parse_proxy_setting('PROXY_ENABLED="yes"\nHTTP_PROXY="http://z:80"\n', ('HTTP_PROXY',)) == \
        'http://z:80'
    assert parsers.parse_proxy_setting('PROXY_ENABLED="no"\nHTTP_PROXY="http://z:80"\n', ('HTTP_PROXY',)) is None


def test_split_url():
    assert parsers.split_url('http://u@h:8080/p') == {'url': 'http://u@h:8080/p', 'scheme': 'http', 'host': 'h',
                                                      'port': 8080}
    assert parsers.split_url('https://[fd00::1]/x')['host'] == 'fd00::1'
    assert parsers.split_url('mirror+http://m/list')['port'] == 80
    assert parsers.split_url('file:/media/cdrom') is None


def test_proc_stat_and_agent_version_sources():
    stat = parsers.parse_proc_stat('42 (my (odd) name) S 1 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 1234 0 0')
    assert stat == {'comm': 'my (odd) name', 'state': 'S', 'ppid': 1, 'session': 42, 'flags': 4194560,
                    'starttime': 1234}
    assert parsers.parse_proc_stat('garbage') is None
    assert parsers.parse_proc_status_uid('Name:\tx\nUid:\t1001\t1001\t1001\t1001\n') == 1001
    assert parsers.parse_agent_version_module("AGENT_VERSION = '2.7.3.0'\n") == '2.7.3.0'
    assert parsers.exthandler_version('python3 -u bin/WALinuxAgent-2.9.1.1-py3.8.egg -run-exthandlers') == '2.9.1.1'
    assert parsers.exthandler_version('/usr/bin/python3 -u /usr/sbin/waagent -run-exthandlers') == 'installed'
    assert parsers.exthandler_version('/usr/bin/python3 -u /usr/sbin/waagent -daemon') is None

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""gather() over a guest laid out as a directory tree (files) + a fake command runner (lsblk, waagent)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import io
import json
import os
import socket
import threading

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import checks
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import layout
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.guest.guest_fixtures import fixture, release_files


def write(root, path, text, mode=None):
    full = os.path.join(root, path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with io.open(full, 'wb') as handle:
        handle.write(text.encode('utf-8'))
    if mode:
        os.chmod(full, mode)


def proc(root, pid, comm, cmdline, ppid=1, starttime=100, flags=0x400100, uid=0, links=None):
    """A /proc/PID entry: stat (comm, ppid, flags, starttime in ticks), cmdline, status and symlinks."""
    rest = ['S', str(ppid), str(pid), str(pid), '0', '-1', str(flags)] + ['0'] * 12 + [str(starttime)] + ['0'] * 10
    write(root, '/proc/%d/stat' % pid, '%d (%s) %s\n' % (pid, comm, ' '.join(rest)))
    write(root, '/proc/%d/cmdline' % pid, cmdline)
    write(root, '/proc/%d/status' % pid, 'Name:\t%s\nUid:\t%d\t%d\t%d\t%d\n' % (comm, uid, uid, uid, uid))
    for name, target in (links or {}).items():
        full = os.path.join(root, 'proc', str(pid), name)
        if not os.path.isdir(os.path.dirname(full)):
            os.makedirs(os.path.dirname(full))
        os.symlink(target, full)


class Runner(object):
    def __init__(self, outputs):
        self.outputs = outputs
        self.calls = []

    def __call__(self, argv):
        self.calls.append(list(argv))
        key = os.path.basename(argv[0])
        if key == 'lsblk' and 'PKNAME' not in ','.join(argv) and 'lsblk_old' in self.outputs:
            return self.outputs['lsblk_old']
        return self.outputs.get(key, (127, '', 'not found'))


def ubuntu_guest(root):
    for path, text in release_files('ubuntu1804').items():
        write(root, path, text)
    write(root, '/proc/meminfo', fixture('meminfo_8g.txt'))
    write(root, '/proc/self/mountinfo', fixture('mountinfo_ubuntu1804_nested.txt'))
    write(root, '/proc/filesystems', 'nodev\tsysfs\nnodev\tproc\n\text4\n')
    write(root, '/lib/modules/5.4.0-1109-azure/modules.dep', 'kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko\n')
    write(root, '/etc/waagent.conf', fixture('waagent_conf_ubuntu.txt'))
    write(root, '/lib/systemd/system/walinuxagent.service', '[Unit]\n')
    write(root, '/usr/sbin/waagent', '#!/bin/sh\n', 0o755)
    write(root, '/bin/lsblk', '#!/bin/sh\n', 0o755)
    proc(root, 1, 'systemd', '/sbin/init\0', ppid=0)
    proc(root, 812, 'mongod', '/usr/bin/mongod\0--config\0/etc/mongod.conf\0')
    proc(root, 900, 'java', 'java\0-cp\0/usr/share/cassandra/x.jar\0org.apache.cassandra.service.CassandraDaemon\0')
    proc(root, 901, 'java', 'java\0-jar\0app.jar\0')
    write(root, '/proc/self/comm', 'python\n')
    for mp in ('/mnt', '/mnt/data1', '/data3', '/data3/data4', '/data30'):
        if not os.path.isdir(os.path.join(root, mp.lstrip('/'))):
            os.makedirs(os.path.join(root, mp.lstrip('/')))
    write(root, '/etc/init.d/docker', '#!/bin/sh\n')
    ext = '/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/status/'
    write(root, ext + '0.status', fixture('status_success.json'))
    write(root, ext + '1.status', fixture('status_transitioning.json'))
    diag = '/var/lib/waagent/Microsoft.OSTCExtensions.LinuxDiagnostic-2.3.9029/status/'
    write(root, diag + '3.status', fixture('status_success.json'))
    write(root, diag + '2.status', fixture('status_transitioning.json'))  # older: ignored
    write(root, '/var/lib/waagent/WALinuxAgent-2.9.1.1/HandlerManifest.json', '[]')
    write(root, '/var/lib/waagent/Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux-0.1.0.999345/x', '')
    write(root, '/var/lib/waagent/WireServerEndpoint', '127.0.0.1')
    return Runner({
        'lsblk': (0, fixture('lsblk_ubuntu1804_nested.txt'), ''),
        'waagent': (0, fixture('waagent_version_2232.txt'), ''),
    })


def uname():
    return ('Linux', 'vm1', '5.4.0-1109-azure', '#115~18.04.1-Ubuntu SMP', 'x86_64')


def test_gather_ubuntu_guest(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    facts = gather.gather(runner, root=root, uname=uname)
    assert facts['errors'] == []
    assert facts['distribution']['ade_id'] == 'Ubuntu' and facts['distribution']['version_full'] == '18.04.6'
    assert facts['kernel'] == {'release': '5.4.0-1109-azure', 'version': '#115~18.04.1-Ubuntu SMP',
                               'machine': 'x86_64'}
    assert facts['memory'] == {'mem_total_kb': 8152812}
    assert facts['selinux']['runtime'] == 'absent' and facts['selinux']['present'] is False
    agent = facts['agent']
    assert (agent['installed'], agent['version'], agent['effective_version'], agent['service'],
            agent['auto_update']) == (True, '2.2.32', '2.2.32', 'walinuxagent', True)
    assert agent['http_proxy'] == {'host': '10.0.0.5', 'port': 3128}
    assert facts['root']['device'] == '/dev/sda1'
    assert facts['nested_mounts'] == [['/data3', '/data3/data4'], ['/mnt', '/mnt/data1']]
    assert facts['resource_disk_mountpoint'] == '/mnt'
    assert [(p['app'], p['pid']) for p in facts['processes']['blocking']] == [('mongodb', 812), ('cassandra', 900)]
    assert facts['processes']['blocking'][0] == {'app': 'mongodb', 'name': 'mongod', 'pid': 812}  # never the cmdline
    assert facts['app_markers'] == ['/etc/init.d/docker']
    ext = facts['extensions']
    assert [e['handler'] for e in ext['in_progress']] == ['Microsoft.Azure.Extensions.CustomScript']
    assert ext['custom_script_handlers'] == ['Microsoft.Azure.Extensions.CustomScript-2.1.10']
    assert ext['ostc_ade_present'] is True
    assert facts['vfat'] == {'loadable': True, 'how': 'module'}
    assert facts['network'] is None and facts['imds'] is None
    assert facts['ade_state']['config_dir'] is False
    # commands: one lsblk, one waagent, both by absolute path
    assert [os.path.basename(c[0]) for c in runner.calls] == ['waagent', 'lsblk']
    # no dpkg database in this tree: every package the extension installs counts as missing
    assert facts['packages']['database'] == 'files' and facts['packages']['missing'][:2] == ['at', 'cryptsetup-bin']
    assert facts['packages']['sources'] == []
    assert facts['processes']['root_busy'] == []  # no /proc/uptime: no age, and nothing holds the root
    result = checks.evaluate(facts, check_network=False)
    assert result['fixable'] == ['agent_version', 'packages']
    assert result['blocking'] == ['blocking_apps', 'extensions_in_progress', 'nested_mounts', 'ostc_extension',
                                  'data_filesystems', 'data_fstab']


def test_gather_missing_sources_give_null_and_errors(tmpdir):
    root = str(tmpdir)
    facts = gather.gather(Runner({}), root=root, uname=uname)
    sources = sorted(e['source'] for e in facts['errors'])
    assert sources == ['/etc/os-release', '/proc/filesystems', '/proc/meminfo', '/proc/mounts', 'lsblk']
    assert facts['memory'] == {'mem_total_kb': None}
    assert facts['block_devices'] is None and facts['mounts'] is None and facts['nested_mounts'] is None
    assert facts['root'] is None
    assert facts['agent']['installed'] is False and facts['agent']['version'] is None
    assert facts['vfat'] == {'loadable': False, 'how': 'missing'}
    result = checks.evaluate(facts, check_network=False)
    assert result['ready'] is False
    assert set(['os_supported', 'memory', 'root_layout', 'nested_mounts']) <= set(result['blocking'])


def test_gather_old_lsblk_retries_without_new_columns(tmpdir):
    root = str(tmpdir)
    write(root, '/bin/lsblk', '', 0o755)
    write(root, '/proc/mounts', 'proc /proc proc rw 0 0\n/dev/sda1 / ext4 rw 0 0\n')
    runner = Runner({'lsblk': (1, '', 'lsblk: unknown column: PKNAME'),
                     'lsblk_old': (0, fixture('lsblk_old_no_pkname.txt'), '')})
    facts = gather.gather(runner, root=root, uname=uname)
    assert len(runner.calls) == 2 and 'PKNAME' not in runner.calls[1][-1]
    assert facts['root']['disk'] == 'sda'
    assert not [e for e in facts['errors'] if e['source'] == 'lsblk']


class ColumnsLsblk(object):
    """lsblk of a util-linux that knows `known` columns: refuses others like util-linux does."""
    def __init__(self, known):
        self.known = known
        self.calls = []

    def __call__(self, argv):
        self.calls.append(argv[-1])
        for column in argv[-1].split(','):
            if column not in self.known:
                return 1, '', 'lsblk: unknown column: %s\n' % column
        return 0, 'NAME="sda" KNAME="sda" TYPE="disk" MOUNTPOINT="" SIZE="1"\n', ''


@pytest.mark.parametrize('dist, known, calls', [
    ({'ade_id': 'redhat', 'ade_version': '7.9'}, gather.LSBLK_MID_COLUMNS, [gather.LSBLK_MID_COLUMNS]),
    ({'ade_id': 'centos', 'ade_version': '7.6.1810'}, gather.LSBLK_MID_COLUMNS, [gather.LSBLK_MID_COLUMNS]),
    ({'ade_id': 'Ubuntu', 'ade_version': '14.04'}, gather.LSBLK_OLD_COLUMNS, [gather.LSBLK_OLD_COLUMNS]),
    ({'ade_id': 'Ubuntu', 'ade_version': '18.04'}, gather.LSBLK_COLUMNS, [gather.LSBLK_COLUMNS]),
    # a release not in the table with util-linux 2.25 (PKNAME, no PTTYPE): one refusal, then PKNAME kept
    ({'ade_id': 'debian', 'ade_version': '8'}, gather.LSBLK_MID_COLUMNS, [gather.LSBLK_COLUMNS, gather.LSBLK_MID_COLUMNS]),
    # 2.20 where the table does not know it: the refusal names PKNAME, the middle set is skipped
    ({'ade_id': None}, gather.LSBLK_OLD_COLUMNS, [gather.LSBLK_COLUMNS, gather.LSBLK_OLD_COLUMNS]),
    # a RHEL 7 whose lsblk is older than the table says: still falls back
    ({'ade_id': 'redhat', 'ade_version': '7.2'}, gather.LSBLK_OLD_COLUMNS, [gather.LSBLK_MID_COLUMNS, gather.LSBLK_OLD_COLUMNS]),
])
def test_lsblk_first_call_uses_the_columns_of_the_release(dist, known, calls):
    lsblk = ColumnsLsblk(known.split(','))
    guest = gather.Guest(lsblk, root='/')
    guest.which = lambda name: '/bin/lsblk'
    devices = gather.gather_block_devices(guest, dist)
    assert lsblk.calls == calls and [d['name'] for d in devices] == ['sda'] and guest.errors == []


def test_gather_selinux_enforcing_and_waagent_failure(tmpdir):
    root = str(tmpdir)
    write(root, '/etc/selinux/config', fixture('selinux_config_enforcing.txt'))
    write(root, '/sys/fs/selinux/enforce', '1')
    write(root, '/usr/sbin/waagent', '', 0o755)
    facts = gather.gather(Runner({'waagent': (1, '', 'Traceback: boom')}), root=root, uname=uname)
    assert facts['selinux'] == {'present': True, 'runtime': 'enforcing', 'config': 'enforcing',
                                'config_raw': 'enforcing', 'policy': 'targeted', 'saved_state': False}
    assert facts['agent']['installed'] is True and facts['agent']['version'] is None
    assert [e for e in facts['errors'] if e['source'] == 'waagent --version']


def test_gather_selinux_saved_state_of_the_prerequisites_role(tmpdir):
    root = str(tmpdir)
    write(root, '/etc/selinux/config', fixture('selinux_config_enforcing.txt'))
    write(root, '/sys/fs/selinux/enforce', '0')
    write(root, '/var/lib/azure_ade/selinux.json', '{}')
    assert gather.gather(Runner({}), root=root, uname=uname)['selinux']['saved_state'] is True
    assert gather.gather(Runner({}), root=root, uname=uname, state_dir='/srv/ade')['selinux']['saved_state'] is False
    write(root, '/srv/ade/selinux.json', '{}')
    assert gather.gather(Runner({}), root=root, uname=uname, state_dir='/srv/ade/')['selinux']['saved_state'] is True


def test_gather_ade_state(tmpdir):
    root = str(tmpdir)
    base = '/var/lib/azure_disk_encryption_config/'
    write(root, base + 'azure_crypt_config.ini', '[azure_crypt_config]\nvolumetype = Data\n')
    write(root, base + 'azure_crypt_request_queue.ini', '')
    write(root, base + 'os_encryption_markers/PrereqState', '')
    write(root, '/etc/crypttab', fixture('crypttab.txt'))
    facts = gather.gather(Runner({}), root=root, uname=uname)
    assert facts['ade_state']['volume_type'] == 'Data'
    assert facts['ade_state']['encryption_marker'] is True
    assert facts['ade_state']['os_encryption_markers'] == ['PrereqState']
    assert [e['name'] for e in facts['crypt']['crypttab']] == ['osencrypt', 'resourceencrypt', 'swapcrypt']
    bek = facts['ade_state']['bek']          # no BEK volume mounted
    assert bek == {'mounted': False, 'fstype': None, 'passphrase_file_name': 'LinuxPassPhraseFileName',
                   'passphrase_files': [], 'usable': False}


BEK_MOUNTINFO = ('22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n'
                 '40 22 8:49 / /mnt/azure_bek_disk rw,relatime shared:30 - vfat /dev/sdd1 rw,fmask=0077,dmask=0022\n')


@pytest.mark.parametrize('files, configured, usable', [
    ({'LinuxPassPhraseFileName': 'x' * 32}, None, True),
    ({'LinuxPassPhraseFileName_1_0': 'x' * 32}, None, True),     # a data disk's file (controller 1, LUN 0)
    ({'LinuxPassPhraseFileName': ''}, None, False),              # issue 2035: the file emptied
    ({}, None, False),                                           # issue 2035: the volume emptied
    ({'otherfile': 'x'}, None, False),
    ({'MyBek': 'x'}, 'MyBek', True),                             # BekFileName from azure_crypt_config.ini
])
def test_gather_bek_volume(tmpdir, files, configured, usable):
    root = str(tmpdir)
    write(root, '/proc/self/mountinfo', BEK_MOUNTINFO)
    os.makedirs(os.path.join(root, 'mnt/azure_bek_disk'))
    for name, text in files.items():
        write(root, '/mnt/azure_bek_disk/' + name, text)
    if configured:
        write(root, '/var/lib/azure_disk_encryption_config/azure_crypt_config.ini',
              '[azure_crypt_config]\nBekFileName = %s\nvolumetype = All\n' % configured)
    bek = gather.gather(Runner({}), root=root, uname=uname)['ade_state']['bek']
    assert bek['mounted'] is True and bek['fstype'] == 'vfat' and bek['usable'] is usable
    assert bek['passphrase_file_name'] == (configured or 'LinuxPassPhraseFileName')
    # names and sizes only, never the content
    assert all(set(f) == {'name', 'size'} for f in bek['passphrase_files'])
    assert 'x' * 32 not in json.dumps(bek)


class _Imds(object):
    """A tiny local HTTP server standing in for IMDS (127.0.0.1 only)."""

    def __init__(self, body, require_header=True):
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.body = body
        self.require_header = require_header
        self.requests = []
        self.thread = threading.Thread(target=self.serve)
        self.thread.daemon = True
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _addr = self.sock.accept()
            except Exception:  # pylint: disable=broad-except
                return
            data = conn.recv(65536).decode('latin-1')
            self.requests.append(data)
            if 'metadata: true' in data.lower() or not self.require_header:
                status, body = '200 OK', self.body
            else:
                status, body = '400 Bad Request', '{"error": "Bad request"}'
            conn.sendall(('HTTP/1.0 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s'
                          % (status, len(body), body)).encode('latin-1'))
            conn.close()


COMPUTE = json.dumps({'subscriptionId': '11111111-1111-1111-1111-111111111111', 'resourceGroupName': 'rg-ade-test',
                      'name': 'vm1', 'location': 'eastus', 'vmSize': 'Standard_D2s_v3',
                      'securityProfile': {'securityType': 'TrustedLaunch'},
                      'vmId': '0f4ab5c6-7d8e-4f90-a1b2-c3d4e5f60718'})


def test_network_probes_against_local_endpoints(tmpdir):
    imds = _Imds(COMPUTE)
    guest = gather.Guest(Runner({}), root=str(tmpdir))
    network, identity = gather.gather_network(guest, {'http_proxy': None},
                                              imds_endpoint='http://127.0.0.1:%d' % imds.port,
                                              wireserver_endpoint='127.0.0.1:%d' % imds.port, timeout=2)
    assert network['imds']['reachable'] is True and network['imds']['status'] == 200
    assert 'GET /metadata/instance/compute?api-version=2021-02-01 ' in imds.requests[0]
    assert identity == {'reachable': True, 'subscription_id': '11111111-1111-1111-1111-111111111111',
                        'resource_group': 'rg-ade-test', 'name': 'vm1', 'location': 'eastus',
                        'vm_size': 'Standard_D2s_v3', 'security_type': 'TrustedLaunch',
                        'vm_id': '0f4ab5c6-7d8e-4f90-a1b2-c3d4e5f60718'}
    assert network['wireserver']['reachable'] is True and network['wireserver']['via_proxy'] is None


def test_network_probe_refused_and_wireserver_file(tmpdir):
    free = socket.socket()
    free.bind(('127.0.0.1', 0))
    port = free.getsockname()[1]
    free.close()  # nothing listens there now
    root = str(tmpdir)
    write(root, '/var/lib/waagent/WireServerEndpoint', '127.0.0.1\n')
    guest = gather.Guest(Runner({}), root=root)
    assert gather.wireserver_address(guest) == ('127.0.0.1', 80)
    assert gather.wireserver_address(guest, '127.0.0.2:8080') == ('127.0.0.2', 8080)
    network, identity = gather.gather_network(guest, {}, imds_endpoint='http://127.0.0.1:%d' % port,
                                              wireserver_endpoint='127.0.0.1:%d' % port, timeout=1)
    assert network['imds']['reachable'] is False and network['imds']['error']
    assert identity['reachable'] is False and identity['subscription_id'] is None
    assert network['wireserver']['reachable'] is False


def test_wireserver_default_without_file(tmpdir):
    guest = gather.Guest(Runner({}), root=str(tmpdir))
    assert gather.wireserver_address(guest) == ('168.63.129.16', 80)


def test_imds_without_document_is_reachable_but_not_ok(tmpdir):
    imds = _Imds('not json', require_header=False)
    guest = gather.Guest(Runner({}), root=str(tmpdir))
    network, identity = gather.gather_network(guest, {}, imds_endpoint='http://127.0.0.1:%d' % imds.port,
                                              wireserver_endpoint='127.0.0.1:%d' % imds.port, timeout=2)
    assert network['imds']['reachable'] is True and network['imds']['error']
    facts = {'network': network, 'imds': identity}
    assert checks._imds(facts, {}, ('OS',))[0] is False  # pylint: disable=protected-access


@pytest.mark.parametrize('endpoint, expected', [
    ('http://169.254.169.254', ('169.254.169.254', 80)),
    ('http://169.254.169.254/', ('169.254.169.254', 80)),
    ('http://127.0.0.1:8080/metadata', ('127.0.0.1', 8080)),
    ('169.254.169.254', ('169.254.169.254', 80)),
    ('http://[::1]:81', ('::1', 81)),
])
def test_split_http_endpoint(endpoint, expected):
    assert gather.split_http_endpoint(endpoint) == expected


def test_split_http_endpoint_refuses_https():
    with pytest.raises(ValueError):
        gather.split_http_endpoint('https://169.254.169.254')


def test_http_get_rejects_non_http_answers(tmpdir):
    server = socket.socket()
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    port = server.getsockname()[1]

    def answer():
        conn, _addr = server.accept()
        conn.recv(4096)
        conn.sendall(b'SSH-2.0-OpenSSH_8.4\r\n')
        conn.close()

    thread = threading.Thread(target=answer)
    thread.daemon = True
    thread.start()
    result, identity = gather.probe_imds('http://127.0.0.1:%d' % port, 2)
    assert result['reachable'] is False and 'not an HTTP answer' in result['error'] and identity is None


def test_agent_versions_from_files_without_running_waagent(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/usr/lib/python3/dist-packages/azurelinuxagent/common/version.py',
          "AGENT_NAME = 'WALinuxAgent'\nAGENT_VERSION = '2.2.45'\n")
    proc(root, 7, 'python3', '/usr/bin/python3\0-u\0/usr/sbin/waagent\0-daemon\0')
    proc(root, 8, 'python3', 'python3\0-u\0bin/WALinuxAgent-2.9.1.1-py2.7.egg\0-run-exthandlers\0')
    facts = gather.gather(runner, root=root, uname=uname)
    agent = facts['agent']
    versions = (agent['version'], agent['goal_state_version'], agent['effective_version'])
    assert versions == ('2.2.45', '2.9.1.1', '2.9.1.1')
    assert agent['version_source'].startswith('files (/usr/lib/python3/dist-packages/azurelinuxagent')
    assert [os.path.basename(c[0]) for c in runner.calls] == ['lsblk']


def test_agent_version_from_dpkg_and_installed_exthandler(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/var/lib/dpkg/status', 'Package: waagent\nStatus: install ok installed\nVersion: 2.7.3.0-4.1\n\n'
                                        'Package: lsscsi\nStatus: deinstall ok config-files\nVersion: 0.32-1\n')
    proc(root, 8, 'python3', '/usr/bin/python3\0-u\0/usr/sbin/waagent\0-run-exthandlers\0')
    facts = gather.gather(runner, root=root, uname=uname)
    assert (facts['agent']['version'], facts['agent']['goal_state_version']) == ('2.7.3.0', '2.7.3.0')
    assert facts['agent']['version_source'] == 'files (/var/lib/dpkg/status, /proc exthandler)'
    assert facts['packages']['database'] == 'dpkg' and 'lsscsi' in facts['packages']['missing']


def test_agent_version_falls_back_to_the_command_without_exthandler(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/usr/lib/python3/dist-packages/azurelinuxagent/common/version.py', "AGENT_VERSION = '2.2.45'\n")
    facts = gather.gather(runner, root=root, uname=uname)
    assert facts['agent']['version_source'] == 'waagent --version' and facts['agent']['version'] == '2.2.32'
    assert [os.path.basename(c[0]) for c in runner.calls] == ['waagent', 'lsblk']


DPKG_ALL = ''.join('Package: %s\nStatus: install ok installed\nVersion: 1\n\n' % p for p in (
    'at', 'cryptsetup-bin', 'grub-pc-bin', 'lsscsi', 'python-parted', 'python-six', 'procps', 'psmisc'))


def test_packages_from_dpkg_sources_and_proxy(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/var/lib/dpkg/status', DPKG_ALL)
    write(root, '/etc/apt/sources.list', '# comment\ndeb http://azure.archive.ubuntu.com/ubuntu/ bionic main\n'
                                         'deb [arch=amd64] http://127.0.0.1:9/ubuntu bionic-updates main\n'
                                         'deb-src http://azure.archive.ubuntu.com/ubuntu/ bionic main\n')
    write(root, '/etc/apt/sources.list.d/extra.sources', 'Types: deb\nURIs: https://packages.microsoft.com/repos/x/\n'
                                                         'Suites: bionic\nEnabled: yes\n')
    write(root, '/etc/apt/apt.conf.d/90proxy', '// proxy\nAcquire::http::Proxy "http://127.0.0.1:9";\n')
    facts = gather.gather(runner, root=root, uname=uname)
    pk = facts['packages']
    assert (pk['manager'], pk['database'], pk['missing']) == ('apt', 'dpkg', ['nvme-cli'])
    assert pk['sources'] == ['http://azure.archive.ubuntu.com/ubuntu/', 'http://127.0.0.1:9/ubuntu',
                             'https://packages.microsoft.com/repos/x/']
    assert pk['proxy'] == 'http://127.0.0.1:9'
    probe = gather.probe_package_sources(pk, 1.0)
    assert probe['reachable'] is False and [p['kind'] for p in probe['probed']] == ['proxy']
    assert probe['probed'][0]['endpoint'] == '127.0.0.1:9'


def test_package_sources_probe_reaches_a_listening_source(tmpdir):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(('127.0.0.1', 0))
    server.listen(1)
    try:
        port = server.getsockname()[1]
        pk = {'missing': ['lsscsi'], 'proxy': None,
              'sources': ['http://127.0.0.1:9/a', 'http://127.0.0.1:%d/b' % port, 'file:/media/cdrom']}
        probe = gather.probe_package_sources(pk, 1.0)
        assert probe['reachable'] is True
        assert [(p['endpoint'], p['reachable']) for p in probe['probed']] == [
            ('127.0.0.1:9', False), ('127.0.0.1:%d' % port, True)]
        assert gather.probe_package_sources({'missing': [], 'sources': ['http://x/']}, 1.0) is None
    finally:
        server.close()


def test_rpm_packages_from_files(tmpdir):
    root = str(tmpdir)
    write(root, '/etc/os-release', 'NAME="Red Hat Enterprise Linux Server"\nID="rhel"\nVERSION_ID="7.9"\n')
    for path in ('/usr/sbin/cryptsetup', '/usr/bin/lsscsi', '/usr/bin/killall', '/usr/sbin/lvm', '/usr/bin/at',
                 '/usr/bin/patch', '/usr/bin/ps', '/usr/bin/lsblk'):
        write(root, path, '', 0o755)
    repo = ('[rhui-rhel-7-server-rhui-rpms]\nname=RHEL 7\nmirrorlist=https://rhui-1.microsoft.com/pulp/mirror/x\n'
            'enabled=1\n[disabled]\nbaseurl=http://127.0.0.2/\nenabled=0\n')
    write(root, '/etc/yum.repos.d/rh-cloud.repo', repo)
    write(root, '/etc/yum.conf', '[main]\nproxy=http://10.0.0.9:3128\n')
    facts = gather.gather(Runner({}), root=root, uname=uname)
    pk = facts['packages']
    assert (pk['manager'], pk['database'], pk['missing']) == ('yum', 'files', ['uuid'])
    assert pk['sources'] == ['https://rhui-1.microsoft.com/pulp/mirror/x'] and pk['proxy'] == 'http://10.0.0.9:3128'


def test_root_busy_names_long_running_processes_on_the_root(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/proc/uptime', '1000.00 1900.00\n')
    # a report daemon started 900 s ago, cwd and an open file on /
    proc(root, 950, 'reportd', '/opt/report/bin/reportd\0-f\0', starttime=10000, uid=1001,
         links={'cwd': '/srv/report', 'exe': '/opt/report/bin/reportd', 'fd/0': '/dev/null',
                'fd/3': 'socket:[1234]', 'fd/4': '/var/lib/report/db.sqlite (deleted)'})
    # started 2 s ago: not long-running
    proc(root, 951, 'rsync', 'rsync\0-a\0/x\0/y\0', starttime=99800, links={'cwd': '/root'})
    # holds only a data drive
    proc(root, 952, 'indexer', '/data30/bin/indexer\0', starttime=100, links={'cwd': '/data30', 'exe': '/data30/bin/indexer'})
    # system daemons and the agent are left out
    proc(root, 953, 'sshd', '/usr/sbin/sshd\0-D\0', starttime=100, links={'cwd': '/'})
    proc(root, 954, 'python3', '/usr/bin/python3\0-u\0/usr/sbin/waagent\0-daemon\0', starttime=100,
         links={'cwd': '/'})
    # kernel thread
    proc(root, 2, 'kthreadd', '', ppid=0, flags=0x00208040, starttime=0)
    facts = gather.gather(runner, root=root, uname=uname)
    busy = facts['processes']['root_busy']
    assert [(p['pid'], p['name'], p['uid'], p['age_seconds']) for p in busy] == [(950, 'reportd', 1001, 900)]
    assert busy[0]['open'] == ['/srv/report', '/opt/report/bin/reportd', '/var/lib/report/db.sqlite']  # /dev is a mount
    result = checks.evaluate(facts, check_network=False)
    assert 'root_busy' in result['warnings'] and 'mongod' not in str(busy)


def test_no_secret_leaves_the_guest(tmpdir):
    # issue 15: a busy process with a password on its command line, an apt proxy and sources with credentials
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/proc/uptime', '1000.00 1900.00\n')
    proc(root, 960, 'reportd', '/opt/r/reportd\0--db-password=Hunter2XYZZY\0', starttime=10000, uid=1001,
         links={'cwd': '/srv/report'})
    proc(root, 961, 'mongod', '/usr/bin/mongod\0--auth-token\0Hunter2XYZZY\0')
    write(root, '/etc/apt/sources.list', 'deb http://mirror:Hunter2XYZZY@127.0.0.1:9/ubuntu bionic main\n'
                                         'deb https://127.0.0.1:9/x?token=Hunter2XYZZY bionic main\n')
    write(root, '/etc/apt/apt.conf.d/90proxy', 'Acquire::http::Proxy "http://ade:Hunter2XYZZY@127.0.0.1:9/";\n')
    write(root, '/etc/fstab', '//srv/share /mnt/s cifs username=u,password=Hunter2XYZZY 0 0\n')
    facts = gather.gather(runner, root=root, uname=uname, network=True, imds_endpoint='http://127.0.0.1:9',
                          wireserver_endpoint='127.0.0.1:9', timeout=0.5)
    assert [(p['pid'], p['name']) for p in facts['processes']['root_busy']] == [(960, 'reportd')]
    assert {'app': 'mongodb', 'name': 'mongod', 'pid': 961} in facts['processes']['blocking']
    pk = facts['packages']
    assert pk['proxy'] == 'http://127.0.0.1:9/'
    assert pk['sources'] == ['http://127.0.0.1:9/ubuntu', 'https://127.0.0.1:9/x']
    assert facts['network']['package_sources']['probed'][0]['url'] == 'http://127.0.0.1:9/'
    result = checks.evaluate(facts)
    blob = json.dumps([facts, result])
    assert 'Hunter2XYZZY' not in blob and 'cmdline' not in blob
    assert 'through proxy http://127.0.0.1:9/' in [c for c in result['checks'] if c['id'] == 'packages'][0]['message']


def test_data_usage_and_fstab(tmpdir):
    root = str(tmpdir)
    runner = ubuntu_guest(root)
    write(root, '/etc/fstab', 'LABEL=cloudimg-rootfs / ext4 defaults 0 1\nUUID=abc /data30 ext4 defaults 0 2\n')
    facts = gather.gather(runner, root=root, uname=uname)
    assert facts['fstab'][1] == {'spec': 'UUID=abc', 'file': '/data30', 'vfstype': 'ext4', 'options': ['defaults']}
    data30 = [m for m in facts['data_mounts'] if m['mountpoint'] == '/data30'][0]
    assert data30['size_bytes'] > 0 and 0 <= data30['free_bytes'] <= data30['size_bytes']
    assert facts['root_usage']['size_bytes'] > 0 and facts['firmware'] == {'uefi': False}
    check = [c for c in checks.evaluate(facts, check_network=False)['checks'] if c['id'] == 'data_fstab'][0]
    assert '/data30 (no nofail' in check['message'] and '/data3 (no /etc/fstab entry' in check['message']


def test_package_sources_local_file_mirror(tmpdir):
    root = str(tmpdir)
    write(root, '/srv/mirror/Packages', '')
    guest = gather.Guest(Runner({}), root=root)
    pk = {'missing': ['lsscsi'], 'proxy': None, 'sources': ['file:/srv/mirror', 'file:///srv/gone']}
    probe = gather.probe_package_sources(pk, 1.0, guest=guest)
    assert probe['reachable'] is True
    assert [(p['kind'], p['endpoint'], p['reachable']) for p in probe['probed']] == [
        ('local', '/srv/mirror', True), ('local', '/srv/gone', False)]


def test_command_runner_c_locale_text_devnull_stdin_and_no_inherited_descriptor(tmpdir):
    """The modules' runner: LC_ALL=C, text out, stdin /dev/null, and no descriptor of the module reaches the command
    (on Python 2.7 the runner closes the open ones itself instead of close_fds' one close() per possible fd)."""
    fd = os.open(str(tmpdir), os.O_RDONLY)
    try:
        if hasattr(os, 'set_inheritable'):
            os.set_inheritable(fd, True)  # Python 3 opens non-inheritable: make it a descriptor that would leak
        run = gather.command_runner()
        rc, out, err = run(['sh', '-c', 'echo "$LC_ALL $LANG"; [ -e /proc/$$/fd/%d ] && echo leaked || echo closed; '
                                        'cat; echo err >&2; exit 3' % fd])
    finally:
        os.close(fd)
    assert (rc, out, err) == (3, u'C C\nclosed\n', u'err\n')
    assert isinstance(out, type(u''))
    rc, out, err = gather.Guest(run).run(['/nonexistent/lsblk'])
    assert rc == 127 and out == ''


def test_drive_facts_leave_out_what_decides_no_check(tmpdir):
    """The preflight returns layout.drive_facts(): no pseudo/image mounts, no loop/rom devices without a drive mount;
    every verdict computed from them is the one computed from the whole facts (they can be handed back in)."""
    root = str(tmpdir)
    facts = gather.gather(ubuntu_guest(root), root=root, uname=uname)
    small = layout.drive_facts(facts)
    assert [m['mountpoint'] for m in small['mounts']] == [
        m['mountpoint'] for m in facts['mounts'] if m['source'].startswith('/dev/') and m['fstype'] != 'squashfs']
    assert '/proc' not in [m['mountpoint'] for m in small['mounts']] and '/' in [m['mountpoint'] for m in small['mounts']]
    assert set(d['name'] for d in facts['block_devices']) - set(d['name'] for d in small['block_devices']) == \
        set(['loop0', 'sr0'])
    assert facts['mounts'] != small['mounts'] and len(facts['block_devices']) == 14  # the input is kept
    for volume_type in ('OS', 'Data', 'All'):
        for format_all in (False, True):
            assert checks.evaluate(small, volume_type, format_all, check_network=False) == \
                checks.evaluate(facts, volume_type, format_all, check_network=False)
    loop_data = dict(facts, mounts=[{'source': '/dev/loop3', 'mountpoint': '/data', 'fstype': 'ext4', 'options': '',
                                     'is_data_drive': True}],
                     block_devices=[{'name': 'loop3', 'type': 'loop', 'mountpoint': '/data'},
                                    {'name': 'loop4', 'type': 'loop', 'mountpoint': None}])
    assert [d['name'] for d in layout.drive_facts(loop_data)['block_devices']] == ['loop3']  # a drive mount keeps it
    assert layout.drive_facts(dict(facts, mounts=None, block_devices=None))['mounts'] is None

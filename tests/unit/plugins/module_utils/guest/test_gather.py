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
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.guest.guest_fixtures import fixture, release_files


def write(root, path, text, mode=None):
    full = os.path.join(root, path.lstrip('/'))
    if not os.path.isdir(os.path.dirname(full)):
        os.makedirs(os.path.dirname(full))
    with io.open(full, 'wb') as handle:
        handle.write(text.encode('utf-8'))
    if mode:
        os.chmod(full, mode)


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
    write(root, '/proc/1/comm', 'systemd\n')
    write(root, '/proc/1/cmdline', '/sbin/init\0')
    write(root, '/proc/812/comm', 'mongod\n')
    write(root, '/proc/812/cmdline', '/usr/bin/mongod\0--config\0/etc/mongod.conf\0')
    write(root, '/proc/900/comm', 'java\n')
    write(root, '/proc/900/cmdline', 'java\0-cp\0/usr/share/cassandra/x.jar\0'
                                     'org.apache.cassandra.service.CassandraDaemon\0')
    write(root, '/proc/901/comm', 'java\n')
    write(root, '/proc/901/cmdline', 'java\0-jar\0app.jar\0')
    write(root, '/proc/self/comm', 'python\n')
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
    assert facts['processes']['blocking'][0]['cmdline'] == '/usr/bin/mongod --config /etc/mongod.conf'
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
    result = checks.evaluate(facts, check_network=False)
    assert result['fixable'] == ['agent_version']
    assert result['blocking'] == ['blocking_apps', 'extensions_in_progress', 'nested_mounts', 'ostc_extension',
                                  'data_filesystems']


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


def test_gather_selinux_enforcing_and_waagent_failure(tmpdir):
    root = str(tmpdir)
    write(root, '/etc/selinux/config', fixture('selinux_config_enforcing.txt'))
    write(root, '/sys/fs/selinux/enforce', '1')
    write(root, '/usr/sbin/waagent', '', 0o755)
    facts = gather.gather(Runner({'waagent': (1, '', 'Traceback: boom')}), root=root, uname=uname)
    assert facts['selinux'] == {'present': True, 'runtime': 'enforcing', 'config': 'enforcing',
                                'config_raw': 'enforcing', 'policy': 'targeted'}
    assert facts['agent']['installed'] is True and facts['agent']['version'] is None
    assert [e for e in facts['errors'] if e['source'] == 'waagent --version']


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

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Table-driven tests of the preflight rules: facts variant -> exact verdict."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import checks


GIB = 1 << 30
MIB = 1 << 20


def ubuntu1804():
    """Facts of a ready Ubuntu 18.04 Azure VM (network probed)."""
    return {
        'schema_version': 1,
        'distribution': {'id': 'ubuntu', 'ade_id': 'Ubuntu', 'version': '18.04', 'version_full': '18.04.6',
                         'ade_version': '18.04', 'codename': 'bionic', 'pretty_name': 'Ubuntu 18.04.6 LTS'},
        'kernel': {'release': '5.4.0-1109-azure', 'version': '#115~18.04.1-Ubuntu SMP', 'machine': 'x86_64'},
        'memory': {'mem_total_kb': 8152812},
        'selinux': {'present': False, 'runtime': 'absent', 'config': 'absent', 'config_raw': None, 'policy': None},
        'agent': {'installed': True, 'version': '2.2.45', 'goal_state_version': '2.9.1.1',
                  'effective_version': '2.9.1.1', 'service': 'walinuxagent', 'auto_update': True,
                  'http_proxy': None,
                  'resource_disk': {'mount_point': '/mnt', 'format': False, 'enable_swap': False}},
        'block_devices': [],
        'root': {'device': '/dev/sda1', 'source': '/dev/sda1', 'fstype': 'ext4', 'on_lvm': False, 'vg': None,
                 'lv': None, 'rootvg_layout': False, 'rootvg_lvs_present': [], 'pttype': 'gpt', 'disk': 'sda',
                 'boot_separate': False},
        'root_usage': {'size_bytes': 30 * GIB, 'free_bytes': 28 * GIB},
        'mounts': [],
        'data_mounts': [{'source': '/dev/sdb1', 'mountpoint': '/mnt', 'fstype': 'ext4', 'options': 'rw',
                         'is_data_drive': True, 'size_bytes': 16 * GIB, 'free_bytes': 15 * GIB}],
        'fstab': [{'spec': 'LABEL=cloudimg-rootfs', 'file': '/', 'vfstype': 'ext4', 'options': ['defaults']}],
        'packages': {'manager': 'apt', 'database': 'dpkg', 'missing': [], 'sources': [], 'proxy': None,
                     'required': ['at', 'cryptsetup-bin', 'lsscsi']},
        'firmware': {'uefi': True},
        'resource_disk_mountpoint': '/mnt',
        'nested_mounts': [],
        'crypt': {'devices': [], 'crypttab': [], 'osencrypt': False, 'resourceencrypt': False},
        'processes': {'blocking': [], 'root_busy': []},
        'app_markers': [],
        'extensions': {'handlers': [], 'in_progress': [], 'custom_script_handlers': [], 'ostc_ade_present': False,
                       'ade_handlers': []},
        'ade_state': {'config_dir': False, 'volume_type': None, 'encryption_marker': False,
                      'decryption_marker': False, 'bek_volume_mounted': False, 'os_encryption_markers': []},
        'vfat': {'loadable': True, 'how': 'module'},
        'imds': {'reachable': True, 'subscription_id': '11111111-1111-1111-1111-111111111111',
                 'resource_group': 'rg-ade-test', 'name': 'vm1', 'location': 'eastus', 'vm_size': 'Standard_D2s_v3',
                 'security_type': None},
        'network': {'imds': {'endpoint': 'http://169.254.169.254/metadata', 'reachable': True, 'error': None,
                             'status': 200},
                    'wireserver': {'endpoint': '168.63.129.16:80', 'reachable': True, 'error': None,
                                   'via_proxy': None},
                    'package_sources': None},
        'errors': [],
    }


def variant(changes):
    facts = ubuntu1804()
    for path, value in changes.items():
        node = facts
        keys = path.split('.')
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = copy.deepcopy(value)
    return facts


UBUNTU1404 = {'distribution': {'id': 'ubuntu', 'ade_id': 'Ubuntu', 'version': '14.04', 'version_full': '14.04.5',
                               'ade_version': '14.04', 'codename': 'trusty', 'pretty_name': 'Ubuntu 14.04.5 LTS'}}
RHEL77 = {'distribution': {'id': 'rhel', 'ade_id': 'redhat', 'version': '7.7', 'version_full': '7.7',
                           'ade_version': '7.7', 'codename': 'Maipo', 'pretty_name': 'RHEL 7.7'},
          'kernel.release': '3.10.0-1062.el7.x86_64', 'root.fstype': 'xfs', 'root.boot_separate': True}
RHEL86 = {'distribution': {'id': 'rhel', 'ade_id': 'redhat', 'version': '8.6', 'version_full': '8.6',
                           'ade_version': '8.6', 'codename': 'Ootpa', 'pretty_name': 'RHEL 8.6'}}
SLES12 = {'distribution': {'id': 'sles', 'ade_id': 'SuSE', 'version': '12.5', 'version_full': '12.5',
                           'ade_version': '12.5', 'codename': None, 'pretty_name': 'SLES 12 SP5'}}
DEBIAN11 = {'distribution': {'id': 'debian', 'ade_id': 'debian', 'version': '11', 'version_full': '11.9',
                             'ade_version': '11', 'codename': 'bullseye', 'pretty_name': 'Debian 11'}}
ROCKY8 = {'distribution': {'id': 'rocky', 'ade_id': None, 'version': '8.5', 'version_full': '8.5',
                           'ade_version': '8.5', 'codename': None, 'pretty_name': 'Rocky Linux 8.5'}}
PLAIN_LVM_ROOT = {'root.on_lvm': True, 'root.vg': 'rhel', 'root.lv': 'root', 'root.device': '/dev/rhel-root',
                  'root.fstype': 'xfs'}
ROOTVG = {'root.on_lvm': True, 'root.vg': 'rootvg', 'root.lv': 'rootlv', 'root.rootvg_layout': True,
          'root.device': '/dev/rootvg-rootlv', 'root.fstype': 'xfs',
          'root.rootvg_lvs_present': ['rootvg-tmplv', 'rootvg-usrlv', 'rootvg-optlv', 'rootvg-homelv',
                                      'rootvg-varlv', 'rootvg-rootlv']}


DATA_FSTAB = [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'xfs', 'options': ['defaults', 'nofail']}]


def merge(*dicts):
    result = {}
    for item in dicts:
        result.update(item)
    return result


# name, fact changes, options, ready, fixable, blocking, failed warnings
CASES = [
    ('ubuntu1804 ready', {}, {}, True, [], [], []),
    ('ubuntu1404 k4.4', merge(UBUNTU1404, {'kernel.release': '4.4.0-148-generic'}), {}, False, ['kernel'], [],
     ['os_documented']),
    ('ubuntu1404 k4.15', merge(UBUNTU1404, {'kernel.release': '4.15.0-1113-azure'}), {}, True, [], [],
     ['os_documented']),
    ('ubuntu1404 k4.4 Data only', merge(UBUNTU1404, {'kernel.release': '4.4.0-148-generic'}),
     {'volume_type': 'Data'}, True, [], [], ['os_documented']),
    ('rhel7 rootvg', merge(RHEL77, ROOTVG), {}, True, [], [], []),
    ('rhel7 plain lvm', merge(RHEL77, PLAIN_LVM_ROOT), {}, False, [], ['root_lvm_layout'], []),
    ('rhel7 plain lvm Data', merge(RHEL77, PLAIN_LVM_ROOT), {'volume_type': 'Data'}, True, [], [], []),
    ('rhel8.6 plain lvm: online encryption skips the rule', merge(RHEL86, PLAIN_LVM_ROOT), {}, True, [], [], []),
    ('selinux enforcing', merge(RHEL77, {'selinux.runtime': 'enforcing', 'selinux.config': 'enforcing'}), {},
     False, ['selinux'], [], []),
    ('selinux enforcing Data', merge(RHEL77, {'selinux.runtime': 'enforcing'}), {'volume_type': 'Data'},
     True, [], [], []),
    ('selinux permissive', merge(RHEL77, {'selinux.runtime': 'permissive', 'selinux.config': 'enforcing'}), {},
     True, [], [], []),
    ('sles12 All', SLES12, {}, False, [], ['os_supported'], ['os_documented']),
    ('sles12 OS', SLES12, {'volume_type': 'OS'}, False, [], ['os_supported'], []),
    ('sles12 Data', SLES12, {'volume_type': 'Data'}, True, [], [], ['os_documented']),
    ('debian11 Data', DEBIAN11, {'volume_type': 'Data'}, True, [], [], ['os_documented']),
    ('rocky8 Data', ROCKY8, {'volume_type': 'Data'}, False, [], ['os_supported'], []),
    ('low memory', {'memory.mem_total_kb': 4026864}, {}, False, [], ['memory'], []),
    ('low memory Data', {'memory.mem_total_kb': 4026864}, {'volume_type': 'Data'}, True, [], [], []),
    ('memory threshold option', {'memory.mem_total_kb': 7500000}, {'min_memory_kb': 8000000}, False, [],
     ['memory'], []),
    ('memory unreadable', {'memory.mem_total_kb': None}, {}, False, [], ['memory'], ['memory_documented']),
    ('nested mounts', {'nested_mounts': [['/mnt', '/mnt/data1']]}, {}, False, [], ['nested_mounts'], []),
    ('mongod', {'processes.blocking': [{'app': 'mongodb', 'name': 'mongod', 'pid': 42, 'cmdline': 'mongod'}]}, {},
     False, [], ['blocking_apps'], []),
    ('mongod Data', {'processes.blocking': [{'app': 'mongodb', 'name': 'mongod', 'pid': 42, 'cmdline': ''}]},
     {'volume_type': 'Data'}, True, [], [], []),
    ('markers only', {'app_markers': ['/etc/init.d/docker']}, {}, True, [], [], ['app_markers']),
    ('agent 2.2.32', {'agent.version': '2.2.32', 'agent.goal_state_version': '2.2.32',
                      'agent.effective_version': '2.2.32'}, {}, False, ['agent_version'], [], []),
    ('agent auto-updated', {'agent.version': '2.2.32', 'agent.goal_state_version': '2.2.53',
                            'agent.effective_version': '2.2.53'}, {}, True, [], [], []),
    ('no agent', {'agent.installed': False, 'agent.version': None, 'agent.effective_version': None}, {}, False,
     ['agent_version'], [], []),
    ('ostc', {'extensions.ostc_ade_present': True}, {}, False, [], ['ostc_extension'], []),
    ('extension busy', {'extensions.in_progress': [{'handler': 'Microsoft.Azure.Extensions.CustomScript',
                                                    'status': 'transitioning'}]}, {}, False, [],
     ['extensions_in_progress'], []),
    ('no vfat', {'vfat': {'loadable': False, 'how': 'missing'}}, {}, False, [], ['vfat'], []),
    ('xfs data in place', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'xfs',
                                            'options': '', 'is_data_drive': True}], 'fstab': DATA_FSTAB}, {}, False, [],
     ['data_filesystems'], []),
    ('xfs data format all', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'xfs',
                                              'options': '', 'is_data_drive': True}], 'fstab': DATA_FSTAB},
     {'encrypt_format_all': True}, True, [], [], []),
    ('xfs data OS only', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'xfs',
                                           'options': '', 'is_data_drive': True}]}, {'volume_type': 'OS'},
     True, [], [], []),
    ('imds down', {'network.imds': {'endpoint': 'x', 'reachable': False, 'error': 'timed out', 'status': None}},
     {}, False, [], ['imds'], []),
    ('imds down not checked', {'network': None}, {'check_network': False}, True, [], [], []),
    ('network not probed but asked', {'network': None}, {}, False, [], ['imds', 'wireserver'], []),
    ('wireserver only via proxy', {'network.wireserver': {'endpoint': '168.63.129.16:80', 'reachable': False,
                                                          'error': 'x', 'via_proxy': {'endpoint': 'p:3128',
                                                                                      'reachable': True}}},
     {}, True, [], [], []),
    ('confidential VM OS', {'imds.security_type': 'ConfidentialVM'}, {}, False, [], ['os_supported'], []),
    ('confidential VM Data', {'imds.security_type': 'ConfidentialVM'}, {'volume_type': 'Data'}, True, [], [], []),
    ('ade ran before', {'ade_state.config_dir': True, 'ade_state.volume_type': 'Data'}, {'volume_type': 'OS'},
     True, [], [], ['ade_state']),
    ('root on tmpfs', {'root': {'device': None, 'source': 'rootfs', 'fstype': 'tmpfs', 'on_lvm': False}}, {},
     False, [], ['root_layout'], []),
    ('root unknown', {'root': None}, {}, False, [], ['root_layout'], []),
    # packages the extension installs (R0.3/R5): fixable where the sources answer, blocking where none does
    ('packages missing, sources answer', {'packages.missing': ['lsscsi', 'psmisc'],
                                          'network.package_sources': {'reachable': True, 'probed': [
                                              {'endpoint': 'azure.archive.ubuntu.com:80', 'reachable': True,
                                               'error': None, 'kind': 'source', 'url': 'http://x/'}]}},
     {}, False, ['packages'], [], []),
    ('packages missing, sources unreachable', {'packages.missing': ['lsscsi'], 'packages.proxy': 'http://p:3128',
                                               'network.package_sources': {'reachable': False, 'probed': [
                                                   {'endpoint': 'p:3128', 'reachable': False,
                                                    'error': 'timed out', 'kind': 'proxy', 'url': 'http://p:3128'}]}},
     {}, False, [], ['packages'], []),
    ('packages missing, not probed', {'packages.missing': ['lsscsi'], 'network': None}, {'check_network': False},
     False, ['packages'], [], []),
    # busy root (R1.2): a warning with the list, for OS only
    ('root busy', {'processes.root_busy': [{'pid': 77, 'name': 'reportd', 'uid': 1000, 'age_seconds': 600,
                                            'cmdline': '/opt/report/bin/reportd', 'open': ['/opt/report/bin/reportd']}]},
     {}, True, [], [], ['root_busy']),
    ('root busy Data', {'processes.root_busy': [{'pid': 77, 'name': 'reportd', 'open': ['/x']}]},
     {'volume_type': 'Data'}, True, [], [], []),
    ('root busy unknown', {'processes.root_busy': None}, {}, True, [], [], ['root_busy']),
    # layouts (R1.1, R0.2)
    ('data volume without nofail', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4',
                                                     'options': 'rw', 'is_data_drive': True, 'size_bytes': GIB,
                                                     'free_bytes': GIB // 2}],
                                    'fstab': [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'ext4',
                                               'options': ['defaults']}]},
     {}, False, [], ['data_fstab'], []),
    ('data volume without nofail OS', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4',
                                                        'options': 'rw', 'is_data_drive': True}],
                                       'fstab': [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'ext4',
                                                  'options': ['defaults']}]},
     {'volume_type': 'OS'}, True, [], [], []),
    ('data volume by /dev/sdc1 name', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4',
                                                        'options': 'rw', 'is_data_drive': True, 'size_bytes': GIB,
                                                        'free_bytes': GIB // 2}],
                                       'fstab': [{'spec': '/dev/sdc1', 'file': '/data', 'vfstype': 'ext4',
                                                  'options': ['defaults', 'nofail']}]},
     {}, False, [], ['data_fstab'], []),
    ('data volume not in fstab', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4',
                                                   'options': 'rw', 'is_data_drive': True, 'size_bytes': GIB,
                                                   'free_bytes': GIB // 2}]},
     {}, False, [], ['data_fstab'], []),
    ('full ext4 data volume', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4',
                                                'options': 'rw', 'is_data_drive': True, 'size_bytes': GIB,
                                                'free_bytes': 20 * MIB}],
                               'fstab': [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'ext4',
                                          'options': ['defaults', 'nofail']}]},
     {}, False, [], ['data_shrink'], []),
    ('full ext4 data volume with EncryptFormatAll', {'data_mounts': [
        {'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'ext4', 'options': 'rw', 'is_data_drive': True,
         'size_bytes': GIB, 'free_bytes': 0}],
        'fstab': [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'ext4', 'options': ['nofail']}]},
     {'encrypt_format_all': True}, True, [], [], []),
    ('xfs data volume', {'data_mounts': [{'source': '/dev/sdc1', 'mountpoint': '/data', 'fstype': 'xfs',
                                          'options': 'rw', 'is_data_drive': True, 'size_bytes': GIB, 'free_bytes': 0}],
                         'fstab': [{'spec': 'UUID=1', 'file': '/data', 'vfstype': 'xfs', 'options': ['nofail']}]},
     {}, False, [], ['data_filesystems'], []),
    ('root on the whole disk', {'root.device': '/dev/sda', 'root.disk': 'sda'}, {}, False, [], ['root_layout'], []),
    ('ubuntu root nearly full', {'root_usage.size_bytes': 3 * GIB, 'root_usage.free_bytes': 100 * MIB}, {}, False, [], ['root_layout'], []),
    ('rhel7 without /boot', merge(RHEL77, {'root.boot_separate': False}), {}, False, [], ['root_layout'], []),
    ('rhel7 without /boot Data', merge(RHEL77, {'root.boot_separate': False}), {'volume_type': 'Data'},
     True, [], [], []),
    # the VM itself (R0.1, R0.2)
    ('A-series', {'imds.vm_size': 'Standard_A2_v2'}, {}, False, [], ['vm_size'], []),
    ('Basic tier', {'imds.vm_size': 'Basic_A1'}, {'volume_type': 'Data'}, False, [], ['vm_size'], []),
    ('v6 size', {'imds.vm_size': 'Standard_D4ds_v6'}, {}, False, [], ['vm_size'], []),
    ('L-series', {'imds.vm_size': 'Standard_L8s_v3'}, {}, False, [], ['vm_size'], []),
    ('v5 size', {'imds.vm_size': 'Standard_E4s_v5'}, {}, True, [], [], []),
    ('arm64', {'kernel.machine': 'aarch64'}, {}, True, [], [], ['vm_platform']),
    ('root uses 6 GB, 8 GB VM', {'root_usage.size_bytes': 30 * GIB, 'root_usage.free_bytes': 24 * GIB}, {}, True, [], [],
     ['memory_documented']),
    ('1 GB VM Data', {'memory.mem_total_kb': 1000000}, {'volume_type': 'Data'}, True, [], [], ['memory_documented']),
    ('many at once', merge(UBUNTU1404, {'kernel.release': '4.4.0-21-generic', 'memory.mem_total_kb': 3000000,
                                        'agent.effective_version': '2.1.0', 'selinux.runtime': 'enforcing'}),
     {}, False, ['kernel', 'selinux', 'agent_version'], ['memory'], ['os_documented']),
]


@pytest.mark.parametrize('name, changes, options, ready, fixable, blocking, warnings', CASES,
                         ids=[c[0] for c in CASES])
def test_verdicts(name, changes, options, ready, fixable, blocking, warnings):
    result = checks.evaluate(variant(changes), **options)
    assert (result['ready'], result['fixable'], result['blocking'], result['warnings']) == \
        (ready, fixable, blocking, warnings)
    assert result['ready_for'][options.get('volume_type', 'All')] is ready


def test_check_shape_and_ids():
    result = checks.evaluate(variant(merge(UBUNTU1404, {'kernel.release': '4.4.0-148-generic'})))
    ids = [c['id'] for c in result['checks']]
    assert ids == [c['id'] for c in checks.CHECKS]
    for check in result['checks']:
        assert set(check) >= set(['id', 'requirement', 'severity', 'applies_to', 'applies', 'passed', 'message',
                                  'fix'])
        assert check['severity'] in ('fatal', 'warning')
        assert '\n' not in check['message'] and check['message']
        if check['passed']:
            assert check['fix'] == {'role_task': None, 'text': None}
        else:
            assert check['fix']['text']
    kernel = [c for c in result['checks'] if c['id'] == 'kernel'][0]
    assert kernel['requirement'] == 'R2' and kernel['fix']['role_task'] == 'kernel'
    memory = [c for c in result['checks'] if c['id'] == 'memory'][0]
    assert (memory['requirement'], memory['requirements']) == ('R0.2', ['R0.2', 'R1.6'])
    assert '4.4.0-148-generic' in kernel['message'] and 'linux-azure' in kernel['message']
    assert result['fix_tasks'] == ['kernel']
    assert result['ready_for'] == {'OS': False, 'Data': True, 'All': False}


def test_fix_tasks_map_agent_check_to_agent_task():
    result = checks.evaluate(variant({'agent.effective_version': '2.2.32'}))
    assert result['fixable'] == ['agent_version'] and result['fix_tasks'] == ['agent']


def test_blocking_apps_details_name_process_and_pid():
    procs = [{'app': 'docker', 'name': 'dockerd', 'pid': 314, 'cmdline': '/usr/bin/dockerd -H fd://'}]
    result = checks.evaluate(variant({'processes.blocking': procs}))
    check = [c for c in result['checks'] if c['id'] == 'blocking_apps'][0]
    assert check['details'] == procs and 'dockerd (pid 314)' in check['message']


def test_network_checks_left_out_when_not_asked():
    ids = [c['id'] for c in checks.evaluate(variant({}), check_network=False)['checks']]
    assert 'imds' not in ids and 'wireserver' not in ids


def test_summary_counts():
    result = checks.evaluate(variant({'memory.mem_total_kb': 1, 'app_markers': ['/usr/sap']}))
    assert result['summary'] == {'total': 25, 'passed': 22, 'failed': 3, 'fatal_failed': 1, 'warnings': 2}


def test_one_registry():
    """Every check comes from one registry entry that carries its rule, requirements and fix."""
    assert len(set(c['id'] for c in checks.CHECKS)) == len(checks.CHECKS)
    for spec in checks.CHECKS:
        assert callable(spec['rule']) and spec['requirements'] and spec['fix']
        assert spec['severity'] in ('fatal', 'warning')
        assert all(r.startswith('R') for r in spec['requirements'])
    assert [c['id'] for c in checks.CHECKS if c['network']] == ['imds', 'wireserver']


def test_packages_unfixable_when_no_source_answers():
    facts = variant({'packages.missing': ['lsscsi', 'at'], 'packages.proxy': None,
                     'network.package_sources': {'reachable': False, 'probed': [
                         {'endpoint': 'azure.archive.ubuntu.com:80', 'reachable': False, 'error': 'no route',
                          'kind': 'source', 'url': 'http://azure.archive.ubuntu.com/ubuntu/'}]}})
    result = checks.evaluate(facts)
    check = [c for c in result['checks'] if c['id'] == 'packages'][0]
    assert check['fix']['role_task'] is None and 'lsscsi, at' in check['fix']['text']
    assert check['details'] == ['lsscsi', 'at'] and 'no route' in check['message']
    assert result['fix_tasks'] == [] and result['blocking'] == ['packages']


def test_root_busy_lists_processes():
    busy = [{'pid': 4242, 'name': 'reportd', 'uid': 1001, 'age_seconds': 300, 'cmdline': '/opt/r/reportd -f',
             'open': ['/var/lib/report/db.sqlite']}]
    check = [c for c in checks.evaluate(variant({'processes.root_busy': busy}))['checks']
             if c['id'] == 'root_busy'][0]
    assert check['severity'] == 'warning' and not check['passed'] and check['details'] == busy
    assert 'reportd (pid 4242, /var/lib/report/db.sqlite)' in check['message']


def test_bad_volume_type():
    with pytest.raises(ValueError):
        checks.evaluate(variant({}), volume_type='os')


def test_memory_documented_ignores_usage_of_a_root_not_on_a_disk():
    facts = variant({'root': {'device': None, 'source': 'overlay', 'fstype': 'overlay', 'on_lvm': False},
                     'root_usage': {'size_bytes': 100 * GIB, 'free_bytes': 10 * GIB}})
    check = [c for c in checks.evaluate(facts)['checks'] if c['id'] == 'memory_documented'][0]
    assert check['passed']
    facts = variant({'root_usage': {'size_bytes': 100 * GIB, 'free_bytes': 10 * GIB}})
    check = [c for c in checks.evaluate(facts)['checks'] if c['id'] == 'memory_documented'][0]
    assert not check['passed'] and '2x' in check['message']

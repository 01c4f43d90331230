# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""preflight module: options -> verdict, facts input, fail_when_not_ready, bad input."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy

import pytest


from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather
from ansible_collections.azure_ade.linux.plugins.modules import preflight
from ansible_collections.azure_ade.linux.tests.unit.compat.module_args import run_module as compat_run_module


def ubuntu1404_facts(kernel='4.4.0-148-generic'):
    """A complete facts dict (schema 1) of an Ubuntu 14.04 VM."""
    return {
        'schema_version': 1,
        'distribution': {'id': 'ubuntu', 'ade_id': 'Ubuntu', 'version': '14.04', 'version_full': '14.04.5',
                         'ade_version': '14.04', 'codename': 'trusty', 'pretty_name': 'Ubuntu 14.04.5 LTS'},
        'kernel': {'release': kernel, 'version': '#1', 'machine': 'x86_64'},
        'memory': {'mem_total_kb': 8152812},
        'selinux': {'present': False, 'runtime': 'absent', 'config': 'absent', 'config_raw': None, 'policy': None},
        'agent': {'installed': True, 'version': '2.2.45', 'goal_state_version': None, 'effective_version': '2.2.45',
                  'service': 'walinuxagent', 'auto_update': True, 'http_proxy': None,
                  'resource_disk': {'mount_point': '/mnt', 'format': False, 'enable_swap': False}},
        'block_devices': [],
        'root': {'device': '/dev/sda1', 'source': '/dev/sda1', 'fstype': 'ext4', 'on_lvm': False, 'vg': None,
                 'lv': None, 'rootvg_layout': False, 'rootvg_lvs_present': [], 'pttype': 'dos', 'disk': 'sda'},
        'mounts': [], 'data_mounts': [], 'resource_disk_mountpoint': None, 'nested_mounts': [],
        'crypt': {'devices': [], 'crypttab': [], 'osencrypt': False, 'resourceencrypt': False},
        'processes': {'blocking': [], 'root_busy': []}, 'app_markers': [],
        'fstab': [{'spec': 'LABEL=cloudimg-rootfs', 'file': '/', 'vfstype': 'ext4', 'options': ['defaults']}],
        'packages': {'manager': 'apt', 'database': 'dpkg', 'required': ['at'], 'missing': [], 'sources': [],
                     'proxy': None},
        'firmware': {'uefi': False}, 'root_usage': {'size_bytes': 32212254720, 'free_bytes': 30064771072},
        'extensions': {'handlers': [], 'in_progress': [], 'custom_script_handlers': [], 'ostc_ade_present': False,
                       'ade_handlers': []},
        'ade_state': {'config_dir': False, 'volume_type': None, 'encryption_marker': False,
                      'decryption_marker': False, 'bek_volume_mounted': False, 'os_encryption_markers': []},
        'vfat': {'loadable': True, 'how': 'module'},
        'imds': None, 'network': None, 'errors': [],
    }


@pytest.fixture
def patched(monkeypatch):
    calls = {'gather': [], 'network': []}

    def fake_gather(run, **kwargs):
        calls['gather'].append(kwargs)
        return ubuntu1404_facts()

    def fake_network(guest, agent, **kwargs):
        calls['network'].append(kwargs)
        return ({'imds': {'endpoint': 'x', 'reachable': True, 'error': None, 'status': 200},
                 'wireserver': {'endpoint': 'y:80', 'reachable': True, 'error': None, 'via_proxy': None}},
                {'reachable': True, 'subscription_id': 's', 'resource_group': 'g', 'name': 'n', 'location': 'l',
                 'vm_size': 'v', 'security_type': None})

    monkeypatch.setattr(gather, 'gather', fake_gather)
    monkeypatch.setattr(gather, 'gather_network', fake_network)
    return calls


def run_module(args):
    """(failed, result) of one in-process run of the module's main()."""
    result = compat_run_module(preflight.main, args)
    return result['failed'], result


def test_default_all_not_ready_kernel_fixable(patched):
    failed, result = run_module({'check_network': False})
    assert failed is False and result['changed'] is False
    assert (result['ready'], result['fixable'], result['blocking'], result['fix_tasks']) == \
        (False, ['kernel'], [], ['kernel'])
    assert result['warnings_failed'] == ['os_documented']
    assert result['ready_for'] == {'OS': False, 'Data': True, 'All': False}
    assert 'ansible_facts' not in result and result['facts']['schema_version'] == 1
    assert result['msg'] == 'not ready for ADE volume type All: fixable kernel, blocking -'
    assert 'cpu_seconds' not in result
    assert patched['gather'] == [{'network': False, 'imds_endpoint': 'http://169.254.169.254',
                                  'wireserver_endpoint': None, 'timeout': 2.0, 'state_dir': '/var/lib/azure_ade'}]


def test_data_volume_type_ready(patched):
    failed, result = run_module({'volume_type': 'Data', 'check_network': False})
    assert failed is False and result['ready'] is True and result['msg'] == 'ready for ADE volume type Data'


def test_fail_when_not_ready(patched):
    failed, result = run_module({'check_network': False, 'fail_when_not_ready': True})
    assert failed is True and result['ready'] is False and result['fixable'] == ['kernel']


def test_memory_option(patched):
    failed, result = run_module({'check_network': False, 'volume_type': 'OS', 'min_memory_kb': 9000000})
    assert result['blocking'] == ['memory']


def test_facts_input_skips_gathering_and_probes_network(patched):
    facts = ubuntu1404_facts(kernel='4.15.0-1113-azure')
    failed, result = run_module({'facts': copy.deepcopy(facts), 'wireserver_endpoint': '10.0.0.1'})
    assert failed is False and patched['gather'] == []
    assert patched['network'] == [{'imds_endpoint': 'http://169.254.169.254', 'wireserver_endpoint': '10.0.0.1',
                                   'timeout': 2.0, 'packages': facts['packages']}]
    assert result['ready'] is True
    assert [c['id'] for c in result['checks'] if c['id'] in ('imds', 'wireserver')] == ['imds', 'wireserver']


def test_facts_input_with_network_already_probed(patched):
    facts = ubuntu1404_facts(kernel='4.15.0-1113-azure')
    facts['network'] = {'imds': {'endpoint': 'x', 'reachable': False, 'error': 'timed out', 'status': None},
                        'wireserver': {'endpoint': 'y:80', 'reachable': True, 'error': None, 'via_proxy': None}}
    failed, result = run_module({'facts': facts})
    assert patched['network'] == [] and result['blocking'] == ['imds']


@pytest.mark.parametrize('args, message', [
    ({'facts': {'schema_version': 2}}, 'facts.schema_version is 2, expected 1'),
    ({'facts': {'schema_version': 1, 'distribution': {}}}, 'facts lacks kernel, memory'),
    ({'volume_type': 'os'}, 'volume_type'),
    ({'min_memory_kb': -1}, 'min_memory_kb must be >= 0'),
    ({'network_timeout': -2.0}, 'network_timeout must be a positive number'),
])
def test_bad_input_fails_clearly(patched, args, message):
    failed, result = run_module(args)
    assert failed is True and message in result['msg']

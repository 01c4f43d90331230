# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_facts module: argument handling, command runner (LC_ALL=C), facts output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

import pytest

from ansible.module_utils import basic

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather
from ansible_collections.azure_ade.linux.plugins.modules import guest_facts
from ansible_collections.azure_ade.linux.tests.unit.compat.module_args import run_module as compat_run_module


@pytest.fixture
def module_env(monkeypatch, tmpdir):
    """Guest = an (almost empty) directory tree; commands answered by a table; calls recorded."""
    root = str(tmpdir)
    os.makedirs(os.path.join(root, 'usr', 'sbin'))
    waagent = os.path.join(root, 'usr', 'sbin', 'waagent')
    with open(waagent, 'w') as handle:
        handle.write('#!/bin/sh\n')
    os.chmod(waagent, 0o755)
    os.makedirs(os.path.join(root, 'proc'))
    with open(os.path.join(root, 'proc', 'meminfo'), 'w') as handle:
        handle.write('MemTotal:        8152812 kB\n')
    calls = []

    def command_runner(module=None):
        assert isinstance(module, basic.AnsibleModule)

        def run(args):
            calls.append(list(args))
            return 0, 'WALinuxAgent-2.2.53 running on ubuntu 18.04\nPython: 3.6.9\nGoal state agent: 2.2.53\n', ''
        return run

    real_gather = gather.gather

    def rooted_gather(run, **kwargs):
        calls.append(('gather', kwargs))
        return real_gather(run, root=root, uname=lambda: ('Linux', 'h', '5.4.0-1109-azure', '#1', 'x86_64'),
                           **kwargs)

    monkeypatch.setattr(gather, 'command_runner', command_runner)  # its C locale: test_gather.py
    monkeypatch.setattr(gather, 'gather', rooted_gather)
    return calls


def run_module(args):
    """(failed, result) of one in-process run of the module's main()."""
    result = compat_run_module(guest_facts.main, args)
    return result['failed'], result


def test_facts_returned_and_nothing_changed(module_env):
    failed, result = run_module({})
    assert failed is False
    assert result['changed'] is False
    facts = result['ansible_facts']['azure_ade']
    assert facts['schema_version'] == 1
    assert facts['memory'] == {'mem_total_kb': 8152812}
    assert facts['agent']['version'] == '2.2.53' and facts['agent']['installed'] is True
    assert facts['network'] is None
    argv = module_env[1]
    assert argv[0].endswith('/usr/sbin/waagent') and argv[1:] == ['--version']


def test_gather_network_option_is_passed(module_env):
    failed, result = run_module({'gather_network': True, 'imds_endpoint': 'http://127.0.0.1:9',
                                 'wireserver_endpoint': '127.0.0.1:9', 'network_timeout': 0.5, 'state_dir': '/srv/ade'})
    assert failed is False
    options = module_env[0][1]
    assert options == {'network': True, 'imds_endpoint': 'http://127.0.0.1:9', 'wireserver_endpoint': '127.0.0.1:9',
                       'timeout': 0.5, 'state_dir': '/srv/ade'}
    network = result['ansible_facts']['azure_ade']['network']
    assert network['imds']['reachable'] is False and network['wireserver']['reachable'] is False


def test_check_mode_gathers_the_same(module_env):
    failed, result = run_module({'_ansible_check_mode': True})
    assert failed is False and result['ansible_facts']['azure_ade']['memory']['mem_total_kb'] == 8152812


@pytest.mark.parametrize('args, message', [
    ({'network_timeout': 0}, 'network_timeout must be a positive number'),
    ({'gather_network': 'maybe'}, 'gather_network'),
    ({'bogus': 1}, 'bogus'),
])
def test_bad_input_fails_clearly(module_env, args, message):
    failed, result = run_module(args)
    assert failed is True and message in result['msg']

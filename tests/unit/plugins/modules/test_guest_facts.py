# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""guest_facts module: argument handling, command runner (LC_ALL=C), facts output."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import contextlib
import json
import os

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import gather
from ansible_collections.azure_ade.linux.plugins.modules import guest_facts

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core 2.16
    @contextlib.contextmanager
    def patch_module_args(args):
        old = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = old


class ExitJson(Exception):
    pass


class FailJson(Exception):
    pass


def exit_json(self, **kwargs):
    raise ExitJson(kwargs)


def fail_json(self, **kwargs):
    raise FailJson(kwargs)


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

    def run_command(self, args, **kwargs):
        calls.append((list(args), kwargs))
        return 0, 'WALinuxAgent-2.2.53 running on ubuntu 18.04\nPython: 3.6.9\nGoal state agent: 2.2.53\n', ''

    real_gather = gather.gather

    def rooted_gather(run, **kwargs):
        calls.append(('gather', kwargs))
        return real_gather(run, root=root, uname=lambda: ('Linux', 'h', '5.4.0-1109-azure', '#1', 'x86_64'),
                           **kwargs)

    monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
    monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
    monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
    monkeypatch.setattr(gather, 'gather', rooted_gather)
    return calls


def run_module(args):
    with patch_module_args(args):
        with pytest.raises((ExitJson, FailJson)) as info:
            guest_facts.main()
    return info.type, info.value.args[0]


def test_facts_returned_and_nothing_changed(module_env):
    kind, result = run_module({})
    assert kind is ExitJson
    assert result['changed'] is False
    facts = result['ansible_facts']['azure_ade']
    assert facts['schema_version'] == 1
    assert facts['memory'] == {'mem_total_kb': 8152812}
    assert facts['agent']['version'] == '2.2.53' and facts['agent']['installed'] is True
    assert facts['network'] is None
    argv, kwargs = module_env[1]
    assert argv[0].endswith('/usr/sbin/waagent') and argv[1:] == ['--version']
    assert kwargs['environ_update']['LC_ALL'] == 'C' and kwargs['check_rc'] is False


def test_gather_network_option_is_passed(module_env):
    kind, result = run_module({'gather_network': True, 'imds_endpoint': 'http://127.0.0.1:9',
                               'wireserver_endpoint': '127.0.0.1:9', 'network_timeout': 0.5})
    assert kind is ExitJson
    options = module_env[0][1]
    assert options == {'network': True, 'imds_endpoint': 'http://127.0.0.1:9', 'wireserver_endpoint': '127.0.0.1:9',
                       'timeout': 0.5}
    network = result['ansible_facts']['azure_ade']['network']
    assert network['imds']['reachable'] is False and network['wireserver']['reachable'] is False


def test_check_mode_gathers_the_same(module_env):
    kind, result = run_module({'_ansible_check_mode': True})
    assert kind is ExitJson and result['ansible_facts']['azure_ade']['memory']['mem_total_kb'] == 8152812


@pytest.mark.parametrize('args, message', [
    ({'network_timeout': 0}, 'network_timeout must be a positive number'),
    ({'gather_network': 'maybe'}, 'gather_network'),
    ({'bogus': 1}, 'bogus'),
])
def test_bad_input_fails_clearly(module_env, args, message):
    kind, result = run_module(args)
    assert kind is FailJson and message in result['msg']

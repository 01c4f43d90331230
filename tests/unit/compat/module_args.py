# -*- coding: utf-8 -*-
"""Run a module's main() in-process under both ansible-core lines (2.16 and 2.19) and Python 2.7+.

core 2.19 reads module args through ansible.module_utils.testing.patch_module_args; core 2.16 through
basic._ANSIBLE_ARGS. Usage::

    from ansible_collections.azure_ade.linux.tests.unit.compat.module_args import run_module
    result = run_module(preflight.main, {'volume_type': 'OS'}, check_mode=True)
    assert result['failed'] is False and result['changed'] is False
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import json

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:
    from ansible.module_utils.testing import patch_module_args as _patch_module_args  # core >= 2.19
except ImportError:
    _patch_module_args = None


@contextlib.contextmanager
def module_args(args):
    """Make ``args`` the module arguments of every AnsibleModule created inside the block."""
    args = dict(args)
    if _patch_module_args is not None:
        with _patch_module_args(args):
            yield
        return
    saved = basic._ANSIBLE_ARGS
    basic._ANSIBLE_ARGS = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args}))
    try:
        yield
    finally:
        basic._ANSIBLE_ARGS = saved


class ModuleExit(Exception):
    """Raised instead of sys.exit by exit_json / fail_json; ``result`` holds what the module returned."""

    def __init__(self, result):
        super(ModuleExit, self).__init__(result)
        self.result = result


def _exit_json(self, **kwargs):
    kwargs.setdefault('changed', False)
    kwargs['failed'] = False
    raise ModuleExit(kwargs)


def _fail_json(self, msg=None, **kwargs):
    kwargs['msg'] = msg
    kwargs['failed'] = True
    raise ModuleExit(kwargs)


def run_module(main, args, check_mode=False):
    """Call ``main()`` with ``args``; return the module's result dict (``failed`` is always set)."""
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    saved = basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json
    basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = _exit_json, _fail_json
    try:
        with module_args(args):
            try:
                main()
            except ModuleExit as exc:
                return exc.result
    finally:
        basic.AnsibleModule.exit_json, basic.AnsibleModule.fail_json = saved
    raise AssertionError('the module returned without calling exit_json or fail_json')

# -*- coding: utf-8 -*-
"""Unit-test setup shared by every test under tests/unit (runs on Python 2.7, 3.6 and 3.10+).

ansible-test runs tests under tests/unit/plugins/modules/ and tests/unit/plugins/module_utils/ on every
Python the collection's modules support (2.7 and 3.6+, see tests/config.yml), because modules and
module_utils normally run on the managed host. Our controller-side code (plugins/module_utils/cloud/,
the vm_* modules) needs Python 3.10+ and the Azure SDK, so its tests are skipped, not collected, on
older Pythons: a test file counts as controller-side when it sits in a directory named ``cloud`` or its
name starts with ``test_vm_``. (Tests under tests/unit/ outside plugins/modules and plugins/module_utils
are run by ansible-test on controller Pythons only and need no such rule.)
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import sys

import pytest

CONTROLLER_MIN = (3, 10)


def is_controller_test(path):
    path = str(path)
    parts = path.replace(os.sep, '/').split('/')
    return 'cloud' in parts[:-1] or parts[-1].startswith('test_vm_')


if sys.version_info < CONTROLLER_MIN:

    class ControllerOnlyModule(pytest.Module):
        """A test module that is reported as skipped instead of being imported."""

        def collect(self):
            pytest.skip('controller-side test: needs Python %d.%d+ (this is %d.%d)'
                        % (CONTROLLER_MIN + sys.version_info[:2]))

    @pytest.hookimpl(tryfirst=True)
    def pytest_pycollect_makemodule(path, parent):
        if not is_controller_test(path):
            return None
        if hasattr(ControllerOnlyModule, 'from_parent'):  # pytest >= 5.4 (Python 3.6)
            return ControllerOnlyModule.from_parent(parent, fspath=path)
        return ControllerOnlyModule(path, parent)  # pytest 4.6 (Python 2.7)

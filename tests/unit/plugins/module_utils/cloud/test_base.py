# -*- coding: utf-8 -*-
"""The controller modules' one base: numbers checked before anything is sent, errors in one line."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import base as B
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import PollTimeout


@pytest.mark.parametrize('params,errors', [
    ({'timeout': 0, 'poll_interval': 0.1}, []),
    ({'timeout': -10, 'poll_interval': 1}, ['timeout must be >= 0 (seconds), got -10']),
    ({'timeout': 5, 'poll_interval': 0}, ['poll_interval must be > 0']),
    ({'timeout': -1, 'poll_interval': -2}, ['timeout must be >= 0', 'poll_interval must be > 0']),
    ({'timeout': None, 'poll_interval': None}, []),
])
def test_number_errors(params, errors):
    out = B.number_errors(params, non_negative=('timeout',), positive=('poll_interval',))
    assert len(out) == len(errors)
    for got, want in zip(out, errors):
        assert want in got


def test_error_text_one_line():
    assert B.azure_error_text(PollTimeout('GET VM: still failing')) == 'GET VM: still failing'
    assert B.azure_error_text(ValueError('bad')) == 'ValueError: bad'

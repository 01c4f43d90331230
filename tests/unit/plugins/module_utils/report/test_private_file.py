# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reports private by default (issue 15): the mode survives umask 000 and the atomic move (Python 2.7, 3.6, 3.10+)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.report import private_file as P
from ansible_collections.azure_ade.linux.plugins.modules import fleet_report
from ansible_collections.azure_ade.linux.tests.unit.compat.module_args import run_module


@pytest.fixture
def umask000():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def perms(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_parse_mode_defaults_and_refusals():
    assert P.parse_mode(None) == 0o600
    assert P.parse_mode(None, group='audit') == 0o640
    assert P.parse_mode('0640') == 0o640
    assert P.parse_mode('600') == 0o600
    assert P.parse_mode(0o640) == 0o640
    assert P.parse_mode('0o600') == 0o600
    for bad, word in (('0644', 'others'), ('0666', 'others'), ('4600', 'set-id'), ('u=rw', 'octal'),
                      ('0400', 'owner'), (644, 'set-id'), ('99', 'octal')):
        with pytest.raises(ValueError, match=word):
            P.parse_mode(bad)


def test_write_private_under_umask_000_replaces_world_readable_file(tmp_path, umask000):
    dest = str(tmp_path / 'encrypt.html')
    with open(dest, 'w') as f:
        f.write('old')
    os.chmod(dest, 0o666)
    P.write_private(dest, b'new page', 0o600)
    assert perms(dest) == 0o600
    with open(dest, 'rb') as f:
        assert f.read() == b'new page'
    # no temporary file left beside it
    assert os.listdir(str(tmp_path)) == ['encrypt.html']


def test_write_private_new_file_and_group(tmp_path, umask000):
    dest = str(tmp_path / 'status.html')
    gid = os.getegid()
    P.write_private(dest, b'x' * 100000, 0o640, gid)
    assert perms(dest) == 0o640
    assert os.stat(dest).st_gid == gid
    assert os.path.getsize(dest) == 100000


def test_fleet_report_module_default_0600_under_umask_000(tmp_path, umask000):
    dest = str(tmp_path / 'status.html')
    vms = [{'host': 'web-1', 'outcome': 'succeeded'}]
    r = run_module(fleet_report.main, {'dest': dest, 'vms': vms})
    assert r['changed'] is True and r['mode'] == '0600'
    assert perms(dest) == 0o600
    # an existing page with a wider mode is rewritten private, even with the same content
    os.chmod(dest, 0o644)
    r = run_module(fleet_report.main, {'dest': dest, 'vms': vms})
    assert r['changed'] is True and perms(dest) == 0o600
    r = run_module(fleet_report.main, {'dest': dest, 'vms': vms})
    assert r['changed'] is False
    r = run_module(fleet_report.main, {'dest': dest, 'vms': vms, 'group': str(os.getegid())})
    assert r['changed'] is True and r['mode'] == '0640' and perms(dest) == 0o640
    r = run_module(fleet_report.main, {'dest': dest, 'vms': vms, 'mode': '0644'})
    assert r['failed'] is True and 'others' in r['msg']
    assert perms(dest) == 0o640

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import pytest

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import supported


@pytest.mark.parametrize('left, right, expected', [
    ('2.2.32', '2.2.38', -1), ('2.2.38', '2.2.38', 0), ('2.2.53', '2.2.38', 1), ('2.10.0', '2.2.38', 1),
    ('2.2.38.1', '2.2.38', 1), ('4.4.0-101-generic', '4.15', -1), ('4.15.0-1113-azure', '4.15', 1),
    ('4.15', '4.15', 0), ('8', '8.1', -1), ('8.0', '8.1', -1), ('8.1.1911', '8.1', 1), ('9.0', '9.0', 0),
    ('3.10.0-1160.el7.x86_64', '4.15', -1), ('5.4.0-1036-azure', '4.15', 1),
])
def test_compare_versions(left, right, expected):
    assert supported.compare_versions(left, right) == expected


# ade_id, version, kernel, listed, min_ok, kernel_ok
ALLOW = [
    ('Ubuntu', '14.04', '4.4.0-148-generic', True, True, False),
    ('Ubuntu', '14.04', '4.15.0-1113-azure', True, True, True),
    ('Ubuntu', '16.04', '4.4.0-210-generic', True, True, True),   # no kernel rule for 16.04
    ('Ubuntu', '18.04', '5.4.0-1036-azure', True, True, True),
    ('Ubuntu', '23.04', '6.2.0-1018-azure', False, True, True),
    ('Ubuntu', '24.04', '6.8.0-1010-azure', True, True, True),
    ('redhat', '7.2', '3.10.0-327.el7.x86_64', True, True, True),
    ('redhat', '7.1', '3.10.0-229.el7.x86_64', False, True, True),
    ('redhat', '7.0', '3.10.0-123.el7.x86_64', False, True, True),
    ('redhat', '6.7', '2.6.32-573.el6.x86_64', False, True, True),
    ('redhat', '6.8', '2.6.32-642.el6.x86_64', True, True, True),
    ('redhat', '8.0', '4.18.0-80.el8.x86_64', True, False, True),
    ('redhat', '8.6', '4.18.0-372.el8.x86_64', True, True, True),
    ('redhat', '9.4', '5.14.0-427.el9.x86_64', True, True, True),
    ('centos', '7.6.1810', '3.10.0-957.el7.x86_64', True, True, True),
    ('centos', '7.3.1611', '3.10.0-514.el7.x86_64', True, True, True),
    ('centos', '7.1.1503', '3.10.0-229.el7.x86_64', False, True, True),
    ('centos', '8', '4.18.0-305.el8.x86_64', True, False, True),    # CentOS Stream 8
    ('oracle', '8.4', '5.4.17', True, False, True),
    ('oracle', '8.5', '5.4.17', True, True, True),
    ('oracle', '7.9', '5.4.17', False, True, True),
    ('SuSE', '12.5', '4.12.14-122-azure', False, True, True),
    ('debian', '11', '5.10.0-28-cloud-amd64', False, True, True),
    (None, '8.5', '4.18', False, True, True),
    ('mariner', '2.0', '5.15.0', True, True, True),
    ('azurelinux', '3.0', '6.6.0', True, True, True),
]


@pytest.mark.parametrize('ade_id, version, kernel, listed, min_ok, kernel_ok', ALLOW)
def test_match_allow_list(ade_id, version, kernel, listed, min_ok, kernel_ok):
    match = supported.match_allow_list(ade_id, version, kernel)
    assert (match['listed'], match['min_ok'], match['kernel_ok']) == (listed, min_ok, kernel_ok)


@pytest.mark.parametrize('ade_id, version, expected', [
    ('Ubuntu', '18.04', 'os'), ('Ubuntu', '16.04', None), ('Ubuntu', '14.04', None),
    ('redhat', '7.2', None), ('redhat', '7.9', 'os'), ('redhat', '6.8', 'data'), ('redhat', '8.10', None),
    ('centos', '7.6.1810', 'os'), ('centos', '7.3.1611', None), ('SuSE', '12.4', 'data'), ('SuSE', '12.5', None),
    ('debian', '11', None), ('mariner', '2.0', 'os'), (None, None, None),
])
def test_docs_status(ade_id, version, expected):
    assert supported.docs_status(ade_id, version) == expected


@pytest.mark.parametrize('ade_id, version, expected', [
    ('redhat', '7.9', False), ('redhat', '8.1', True), ('redhat', '8.0', False), ('centos', '8.2.2004', True),
    ('Ubuntu', '22.04', False), ('Ubuntu', '24.04', True), ('oracle', '8.5', True), ('SuSE', '15', False),
])
def test_online_encryption_capable(ade_id, version, expected):
    assert supported.online_encryption_capable(ade_id, version) is expected


@pytest.mark.parametrize('ade_id, version, expected', [
    ('Ubuntu', '18.04', ['at', 'cryptsetup-bin', 'grub-pc-bin', 'lsscsi', 'python3-parted|python-parted',
                         'python-six', 'procps', 'psmisc', 'nvme-cli']),
    ('redhat', '7.9', ['cryptsetup', 'lsscsi', 'psmisc', 'lvm2', 'uuid', 'at', 'patch', 'procps-ng', 'util-linux']),
    ('redhat', '8.6', ['cryptsetup', 'lsscsi', 'lvm2', 'util-linux', 'nvme-cli']),
    ('redhat', '6.8', ['lsscsi', 'psmisc', 'lvm2', 'uuid', 'at', 'patch', 'cryptsetup-reencrypt']),
    ('centos', '7.9', ['cryptsetup', 'lsscsi', 'psmisc', 'lvm2', 'uuid', 'at', 'patch', 'procps-ng', 'util-linux',
                       'pyparted']),
    ('SuSE', '12.5', ['cryptsetup', 'lsscsi']),
    ('oracle', '8.6', ['cryptsetup', 'lsscsi']),
    ('debian', '11', []),
    (None, None, []),
])
def test_extension_packages(ade_id, version, expected):
    assert supported.extension_packages(ade_id, version) == expected


@pytest.mark.parametrize('size, problem', [
    ('Standard_D2s_v3', None), ('Standard_E4s_v5', None), ('Standard_B2s', None), (None, None), ('weird', None),
    ('Basic_A1', 'Basic'), ('Standard_A2_v2', 'A-series'), ('Standard_L8s_v3', 'L-series'),
    ('Standard_D4ds_v6', 'v6'), ('Standard_E8s_v7', 'v7'),
])
def test_vm_size_problem(size, problem):
    result = supported.vm_size_problem(size)
    assert (result is None) if problem is None else (problem in result)

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ADE supports, as data, and the version compare the extension uses.

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.

Sources (see /docs and the project's ADE reference):
- OS_ALLOW_LIST: Azure/azure-linux-extensions VMEncryption/main/SupportedOS.json at
  ade-sp-release-1.4.0.12 (the extension's own gate for OS-volume encryption).
- PATCHING_DISTROS: the extension's Patching classes (patch/__init__.py); a distro with one can
  encrypt data volumes (no version list for data).
- DOCS_*: MicrosoftDocs disk-encryption-overview.md supported table (ms.date 02/20/2026).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re


# ADE extension cut-off (check_util.py validate_memory_os_encryption): MemTotal kB.
MIN_MEMORY_KB = 7000000
# disk-encryption-troubleshooting.md: "Update ... agent versions earlier than 2.2.38".
MIN_AGENT_VERSION = '2.2.38'
# check_util.py validate_lvm_os: all must be present when / is on LVM.
ROOTVG_LVS = ('rootvg-tmplv', 'rootvg-usrlv', 'rootvg-optlv', 'rootvg-homelv', 'rootvg-varlv', 'rootvg-rootlv')

# ade_id -> list of {'version': prefix, 'min': MinSupportedVersion or None, 'kernel': Kernel or None}
OS_ALLOW_LIST = {
    'Ubuntu': [
        {'version': '24.04', 'min': '24.04', 'kernel': None},
        {'version': '23.10', 'min': '23.10', 'kernel': None},
        {'version': '16.04', 'min': None, 'kernel': None},
        {'version': '18.04', 'min': None, 'kernel': None},
        {'version': '20.04', 'min': None, 'kernel': None},
        {'version': '22.04', 'min': None, 'kernel': None},
        {'version': '14.04', 'min': None, 'kernel': '4.15'},
    ],
    'redhat': [
        {'version': '9', 'min': '9.0', 'kernel': None},
        {'version': '8', 'min': '8.1', 'kernel': None},
        {'version': '7.9', 'min': None, 'kernel': None},
        {'version': '7.8', 'min': None, 'kernel': None},
        {'version': '7.7', 'min': None, 'kernel': None},
        {'version': '7.6', 'min': None, 'kernel': None},
        {'version': '7.5', 'min': None, 'kernel': None},
        {'version': '7.4', 'min': None, 'kernel': None},
        {'version': '7.3', 'min': None, 'kernel': None},
        {'version': '7.2', 'min': None, 'kernel': None},
        {'version': '6.8', 'min': None, 'kernel': None},
    ],
    'centos': [
        {'version': '8', 'min': '8.1', 'kernel': None},
        {'version': '7.9', 'min': None, 'kernel': None},
        {'version': '7.8', 'min': None, 'kernel': None},
        {'version': '7.7', 'min': None, 'kernel': None},
        {'version': '7.6', 'min': None, 'kernel': None},
        {'version': '7.5', 'min': None, 'kernel': None},
        {'version': '7.4', 'min': None, 'kernel': None},
        {'version': '7.3.1611', 'min': None, 'kernel': None},
        {'version': '7.2.1511', 'min': None, 'kernel': None},
        {'version': '6.9', 'min': None, 'kernel': None},
        {'version': '6.8', 'min': None, 'kernel': None},
    ],
    'oracle': [{'version': '8', 'min': '8.5', 'kernel': None}],
    'mariner': [{'version': '2', 'min': '2.0', 'kernel': None}],
    'azurelinux': [{'version': '3', 'min': '3.0', 'kernel': None}],
}

# Distros with a Patching class in the extension: data-volume encryption is possible.
PATCHING_DISTROS = ('Ubuntu', 'debian', 'redhat', 'centos', 'SuSE', 'oracle', 'mariner', 'azurelinux')

# Online (in-place, reboot-based) OS encryption thresholds: the LVM layout rule is skipped there.
ONLINE_ENCRYPTION_MIN = {
    'Ubuntu': '23.10', 'redhat': '8.1', 'centos': '8.1', 'oracle': '8.5', 'mariner': '2.0', 'azurelinux': '3.0',
}

# Current Microsoft docs table: ade_id -> (OS+data version prefixes, data-only version prefixes).
# A version matches when equal to a prefix or starting with prefix + '.'.
DOCS_SUPPORTED = {
    'Ubuntu': (('24.04', '22.04', '20.04', '18.04'), ()),
    'mariner': (('2',), ()),
    'centos': (('8.2', '8.3', '8.4', '7.4', '7.5', '7.6', '7.7', '7.8', '7.9'), ('6.8',)),
    'oracle': (('8.5', '8.6'), ()),
    'redhat': (('9.0', '9.2', '9.3', '9.4', '8.1', '8.2', '8.3', '8.4', '8.5', '8.6', '8.7', '8.8', '8.9',
                '7.4', '7.5', '7.6', '7.7', '7.8', '7.9'), ('6.7', '6.8')),
    'SuSE': ((), ('12.4', '12.3', '42.3')),
}

# Filesystems the extension can encrypt in place (EnableEncryption) and with EncryptFormatAll.
INPLACE_FILESYSTEMS = ('ext4', 'ext3', 'ext2')
FORMAT_FILESYSTEMS = ('ext4', 'ext3', 'ext2', 'xfs', 'btrfs')

# ADE's own app-compat markers (check_util.py is_app_compat_issue_detected).
APP_MARKERS = ('/usr/sap', '/etc/init.d/mongodb', '/etc/init.d/cassandra', '/etc/init.d/docker',
               '/opt/Symantec/symantec_antivirus')

# Process names (/proc/PID/comm, 15 chars max) of applications the guide says block OS encryption.
BLOCKING_PROCESSES = {
    'sapstartsrv': 'sap', 'sapstart': 'sap', 'hdbindexserver': 'sap', 'hdbnameserver': 'sap',
    'hdbdaemon': 'sap', 'disp+work': 'sap', 'msg_server': 'sap', 'gwrd': 'sap', 'icman': 'sap',
    'mongod': 'mongodb', 'mongos': 'mongodb',
    'cassandra': 'cassandra',
    'dockerd': 'docker', 'docker': 'docker', 'containerd': 'docker', 'docker-containe': 'docker',
    'containerd-shim': 'docker',
}
# Java processes are Cassandra when their command line names its main class.
CASSANDRA_MARKERS = ('org.apache.cassandra.service.CassandraDaemon', 'apache-cassandra', 'cassandra.yaml')


# --------------------------------------------------------------------------- versions

def _tokens(version):
    """LooseVersion-like split: '7.3.1611' -> [7, 3, 1611]; '4.15.0-1113-azure' -> [4, 15, 0, '-', 1113, ...]."""
    result = []
    for part in re.findall(r'\d+|[a-zA-Z]+|[^\da-zA-Z.]', version or ''):
        result.append(int(part) if part.isdigit() else part)
    return result


def compare_versions(left, right):
    """-1, 0, 1 like distutils LooseVersion (numbers numerically, strings sort after numbers)."""
    a, b = _tokens(left), _tokens(right)
    for x, y in zip(a, b):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, int):
            return -1
        if isinstance(y, int):
            return 1
        return -1 if x < y else 1
    if len(a) == len(b):
        return 0
    return -1 if len(a) < len(b) else 1


def version_lt(left, right):
    return compare_versions(left, right) < 0


def match_allow_list(ade_id, version, kernel_release):
    """Evaluate the extension's OS allow-list like check_util.is_supported_os.

    Returns {'listed': bool, 'entry': dict|None, 'min_ok': bool, 'kernel_ok': bool, 'reason': str|None}.
    Matching: version.startswith(entry.version); then MinSupportedVersion and Kernel via loose compare.
    """
    result = {'listed': False, 'entry': None, 'min_ok': True, 'kernel_ok': True, 'reason': None}
    entries = OS_ALLOW_LIST.get(ade_id or '')
    if not entries or not version:
        result['reason'] = 'not_listed'
        return result
    for entry in entries:
        if version.startswith(entry['version']):
            result['listed'] = True
            result['entry'] = entry
            if entry['min'] and version_lt(version, entry['min']):
                result['min_ok'] = False
                result['reason'] = 'min_version'
            if entry['kernel'] and (not kernel_release or version_lt(kernel_release, entry['kernel'])):
                result['kernel_ok'] = False
                result['reason'] = result['reason'] or 'kernel'
            return result
    result['reason'] = 'not_listed'
    return result


def docs_status(ade_id, version):
    """'os' (docs list it for OS+data), 'data' (data only), or None (docs do not list it)."""
    both, data_only = DOCS_SUPPORTED.get(ade_id or '', ((), ()))

    def hit(prefixes):
        for prefix in prefixes:
            if version == prefix or (version or '').startswith(prefix + '.'):
                return True
        return False

    if hit(both):
        return 'os'
    if hit(data_only):
        return 'data'
    return None


def online_encryption_capable(ade_id, version):
    threshold = ONLINE_ENCRYPTION_MIN.get(ade_id or '')
    return bool(threshold and version and not version_lt(version, threshold))

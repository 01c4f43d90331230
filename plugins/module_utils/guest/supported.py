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


# --------------------------------------------------------------------------- what the extension installs
# Azure/azure-linux-extensions VMEncryption/main/patch/*Patching.py install_extras() at
# ade-sp-release-1.4.0.12 (commit affba5a94405b9d0d59a3124ae4ab6981dfa15fc). An entry 'a|b' is met by
# either package (Ubuntu: python3-parted under Python 3, python-parted under Python 2).
_RHEL_PACKAGES = ('cryptsetup', 'lsscsi', 'psmisc', 'lvm2', 'uuid', 'at', 'patch', 'procps-ng', 'util-linux')
_RHEL_ONLINE_DROPS = ('psmisc', 'uuid', 'at', 'patch', 'procps-ng')
# package manager the extension calls per distro
PACKAGE_MANAGER = {
    'Ubuntu': 'apt', 'debian': 'apt', 'redhat': 'yum', 'centos': 'yum', 'oracle': 'yum', 'mariner': 'yum',
    'azurelinux': 'tdnf', 'SuSE': 'zypper',
}
# Files each package installs (on rpm distros the module looks for them instead of querying the rpm database).
PACKAGE_FILES = {
    'cryptsetup': ('/usr/sbin/cryptsetup', '/sbin/cryptsetup'),
    'cryptsetup-reencrypt': ('/usr/sbin/cryptsetup-reencrypt', '/sbin/cryptsetup-reencrypt'),
    'lsscsi': ('/usr/bin/lsscsi',),
    'psmisc': ('/usr/bin/killall', '/usr/sbin/fuser', '/sbin/fuser', '/bin/fuser'),
    'lvm2': ('/usr/sbin/lvm', '/sbin/lvm'),
    'uuid': ('/usr/bin/uuid',),
    'at': ('/usr/bin/at',),
    'patch': ('/usr/bin/patch',),
    'procps-ng': ('/usr/bin/ps', '/bin/ps'),
    'util-linux': ('/usr/bin/lsblk', '/bin/lsblk'),
    'nvme-cli': ('/usr/sbin/nvme', '/sbin/nvme'),
    'pyparted': ('/usr/lib64/python2.7/site-packages/parted/__init__.py',
                 '/usr/lib64/python3.6/site-packages/parted/__init__.py'),
    'python-six': ('/usr/lib/python2.7/site-packages/six.py',),
}


def extension_packages(ade_id, version):
    """Packages the extension's daemon installs before encrypting (its install_extras), in its order."""
    version = version or ''
    online = online_encryption_capable(ade_id, version)
    if ade_id == 'Ubuntu':
        return ['at', 'cryptsetup-bin', 'grub-pc-bin', 'lsscsi', 'python3-parted|python-parted', 'python-six',
                'procps', 'psmisc', 'nvme-cli']
    if ade_id in ('redhat', 'mariner', 'azurelinux', 'centos'):
        packages = list(_RHEL_PACKAGES)
        if ade_id == 'centos':
            packages.append('pyparted')
        if version.startswith('6.'):
            packages.append('cryptsetup-reencrypt')
            if ade_id == 'centos':
                packages.append('python-six')
            for name in ('cryptsetup', 'procps-ng', 'util-linux'):
                packages.remove(name)
        if online and ade_id != 'centos':  # centosPatching has no online variant of the list
            packages.append('nvme-cli')
            packages = [p for p in packages if p not in _RHEL_ONLINE_DROPS]
        return packages
    if ade_id in ('oracle', 'SuSE'):
        return ['cryptsetup', 'lsscsi']
    return []  # debianPatching installs nothing


# --------------------------------------------------------------------------- layouts
# Common.py luks_header_size / luks_header_size_v2: in-place encryption shrinks the filesystem by the
# LUKS header (LUKS2, cryptsetup >= 2.1.0: 16 MiB; LUKS1: 2 MiB) with e2fsck -f + resize2fs first.
LUKS2_HEADER_BYTES = 32768 * 512
# resize2fs refuses to shrink below its own minimum (used blocks + group metadata + slack): ask for the
# header plus 1 % of the filesystem free before calling a filesystem shrinkable.
SHRINK_SLACK_FRACTION = 0.01
# oscrypto/ubuntu_1604/encryptstates/SplitRootPartitionState.py: the offline Ubuntu flow shrinks the root
# ext4 filesystem by 256 MiB (resize2fs) to split a boot partition off the root partition.
UBUNTU_SPLIT_BOOT_BYTES = 256 * 1024 * 1024
# Root filesystems the offline state machines handle per family (Ubuntu: ext4 via e2fsck/resize2fs).
OFFLINE_ROOT_FSTYPES = {'Ubuntu': ('ext4',), 'redhat': ('xfs', 'ext4'), 'centos': ('xfs', 'ext4')}

# --------------------------------------------------------------------------- the VM itself
# disk-encryption-overview.md "Supported VMs" / "Additional VM requirements" (MicrosoftDocs, ms.date 02/20/2026):
# not Basic tier, not A-series, not v6/v7 series or newer, not L-series (NVMe local disks), memory 8 GB for OS
# (2 x root usage when root usage > 4 GB), 2 GB for data only; Gen1 and Gen2 are both supported.
DOCS_SOURCE = 'disk-encryption-overview.md (MicrosoftDocs, ms.date 02/20/2026)'
# MemTotal of a 2 GB VM, scaled like the extension's 7,000,000 kB cut-off stands for the docs' 8 GB.
DOCS_MEMORY_DATA_KB = 1750000
DOCS_ROOT_USAGE_FACTOR_ABOVE_BYTES = 4 * 1024 * 1024 * 1024


def vm_size_problem(vm_size):
    """Why the docs exclude this VM size, or None (unknown sizes pass)."""
    if not vm_size:
        return None
    if vm_size.startswith('Basic_'):
        return 'Basic tier VMs are not supported'
    match = re.match(r'^Standard_([A-Za-z]+)', vm_size)
    if not match:
        return None
    family = match.group(1).upper()
    gen = re.search(r'_v(\d+)$', vm_size)
    if family.startswith('A'):
        return 'A-series VMs are not supported'
    if family.startswith('L'):
        return 'L-series (storage optimized, NVMe local disks) VMs are not supported'
    if gen and int(gen.group(1)) >= 6:
        return 'v%s series VMs are not supported ("v6 series VMs, v7 series VMs, or newer")' % gen.group(1)
    return None


# --------------------------------------------------------------------------- processes
# Long-running, non-system processes that keep files open on the root filesystem block the offline
# unmount of /oldroot (the extension kills what fuser lists only after stripping down).
BUSY_MIN_AGE_SECONDS = 10
SYSTEM_PROCESSES = frozenset((
    'systemd', 'init', 'upstart', 'systemd-journal', 'systemd-journald', 'systemd-udevd', 'systemd-logind',
    'systemd-network', 'systemd-networkd', 'systemd-resolve', 'systemd-resolved', 'systemd-timesyn',
    'systemd-timesyncd', 'udevd', 'sshd', 'agetty', 'getty', 'mingetty', 'login', 'cron', 'crond', 'atd',
    'rsyslogd', 'syslog-ng', 'auditd', 'dbus-daemon', 'dbus-broker', 'dbus-broker-lau', 'polkitd', 'chronyd',
    'ntpd', 'irqbalance', 'dhclient', 'dhcpcd', 'NetworkManager', 'wickedd', 'wickedd-dhcp4', 'wickedd-dhcp6',
    'wickedd-nanny', 'wickedd-auto4', 'snapd', 'lxcfs', 'accounts-daemon', 'multipathd', 'iscsid', 'lvmetad',
    'tuned', 'firewalld', 'unattended-upgr', 'networkd-dispat', 'atopacctd', 'haveged', 'rngd', 'gssproxy',
    'rpcbind', 'hv_kvp_daemon', 'hv_vss_daemon', 'hv_fcopy_daemon', 'waagent', 'omsagent', 'mdsd',
    'containerd-shim', 'udisksd', 'ModemManager', 'packagekitd', 'sssd', 'nscd', 'postfix', 'master', 'qmgr',
    'pickup', 'tlsmgr', 'sendmail', 'exim4', 'bash', 'sh', 'dash', 'sudo', 'su', 'sleep', 'screen', 'tmux',
))
# Interpreter processes that are the agent or its extensions (judged by the command line).
SYSTEM_CMDLINE_MARKERS = ('waagent', 'WALinuxAgent', 'azurelinuxagent', '/var/lib/waagent/', 'networkd-dispatcher',
                          'unattended-upgrade')

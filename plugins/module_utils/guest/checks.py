# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure rules: `azure_ade` facts + options -> checks[] and the verdict (ready / fixable / blocking).

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.
Verdicts follow the ADE extension where it is the source of truth (allow-list with kernel minimums,
memory cut-off, LVM layout rule, in-place filesystems) and say so where Microsoft's docs are stricter
(warning `os_documented`). Check IDs and requirement IDs are a stable contract (docs/architecture.md).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import supported


VOLUME_TYPES = ('OS', 'Data', 'All')
OS = 'OS'
DATA = 'Data'


def requested_types(volume_type):
    if volume_type == 'All':
        return (OS, DATA)
    if volume_type in (OS, DATA):
        return (volume_type,)
    raise ValueError('volume_type must be one of OS, Data, All, got %r' % (volume_type,))


def _dist_label(dist):
    name = dist.get('ade_id') or dist.get('id') or 'unknown distribution'
    version = dist.get('ade_version') or dist.get('version') or '?'
    return '%s %s' % (name, version)


# --------------------------------------------------------------------------- rules
# Each rule: (facts, opts, types) -> (passed, message[, details])

def _os_supported(facts, opts, types):
    dist = facts.get('distribution') or {}
    ade_id = dist.get('ade_id')
    label = _dist_label(dist)
    if not ade_id:
        return False, '%s (%s) is not a distribution ADE supports (no match for its os-release ID); ' \
            'use a supported image' % (dist.get('pretty_name') or dist.get('id') or 'unknown', label)
    problems = []
    if OS in types:
        match = supported.match_allow_list(ade_id, dist.get('ade_version'), (facts.get('kernel') or {}).get('release'))
        if not match['listed']:
            hint = ' (it is supported for data volumes only: use volume_type=Data)' \
                if ade_id in supported.PATCHING_DISTROS else ''
            problems.append('%s is not on the extension\'s allow-list for OS encryption%s' % (label, hint))
        elif not match['min_ok']:
            problems.append('%s is below the minimum supported version %s for OS encryption'
                            % (label, match['entry']['min']))
        security = (facts.get('imds') or {}).get('security_type')
        if security == 'ConfidentialVM':
            problems.append('ADE blocks volume type OS on confidential VMs')
    if DATA in types and ade_id not in supported.PATCHING_DISTROS:
        problems.append('%s cannot encrypt data volumes with ADE' % label)
    if problems:
        return False, '; '.join(problems)
    return True, '%s is supported by the ADE extension for %s' % (label, ' and '.join(types))


def _os_documented(facts, opts, types):
    dist = facts.get('distribution') or {}
    ade_id = dist.get('ade_id')
    label = _dist_label(dist)
    version = dist.get('ade_version')
    docs = supported.docs_status(ade_id, version)
    undocumented = []
    if OS in types and supported.match_allow_list(ade_id, version, None)['listed'] and docs != 'os':
        undocumented.append('OS')
    if DATA in types and ade_id in supported.PATCHING_DISTROS and docs not in ('os', 'data'):
        undocumented.append('Data')
    if undocumented:
        return False, '%s: the ADE extension accepts it for %s but current Microsoft docs do not list it; ' \
            'prefer a documented version' % (label, '/'.join(undocumented))
    return True, '%s: no disagreement between the extension and the docs for %s' % (label, '/'.join(types))


def _kernel(facts, opts, types):
    dist = facts.get('distribution') or {}
    release = (facts.get('kernel') or {}).get('release')
    match = supported.match_allow_list(dist.get('ade_id'), dist.get('ade_version'), release)
    entry = match['entry']
    if entry is None or not entry['kernel']:
        return True, 'no kernel minimum applies to %s (running %s)' % (_dist_label(dist), release)
    if not match['kernel_ok']:
        return False, 'kernel %s is older than %s required for %s OS encryption (4.4 OOM killer kills dd); ' \
            'install linux-azure and reboot' % (release, entry['kernel'], _dist_label(dist))
    return True, 'kernel %s meets the %s minimum for %s' % (release, entry['kernel'], _dist_label(dist))


def _memory(facts, opts, types):
    total = (facts.get('memory') or {}).get('mem_total_kb')
    minimum = opts['min_memory_kb']
    if total is None:
        return False, 'MemTotal could not be read from /proc/meminfo; cannot confirm %d kB' % minimum
    if total < minimum:
        return False, 'MemTotal %d kB is below %d kB needed for OS encryption; resize the VM (8 GB recommended)' \
            % (total, minimum)
    return True, 'MemTotal %d kB >= %d kB' % (total, minimum)


def _root_lvm_layout(facts, opts, types):
    root = facts.get('root') or {}
    dist = facts.get('distribution') or {}
    if not root.get('on_lvm'):
        return True, 'root filesystem is not on LVM'
    name = '%s-%s' % (root.get('vg'), root.get('lv'))
    if root.get('rootvg_layout'):
        return True, 'root is on LVM with the Azure rootvg layout (%s), which ADE accepts' % name
    if supported.online_encryption_capable(dist.get('ade_id'), dist.get('ade_version')):
        return True, 'root is on LVM (%s); %s uses online encryption, which skips the layout rule' \
            % (name, _dist_label(dist))
    missing = [lv for lv in supported.ROOTVG_LVS if lv not in (root.get('rootvg_lvs_present') or [])]
    return False, 'root is on LVM (%s) without the Azure rootvg layout (missing %s): ADE fails with ' \
        '"LVM OS disk layout does not satisfy prerequisites"; encrypt data volumes only' % (name, ', '.join(missing))


def _root_layout(facts, opts, types):
    root = facts.get('root')
    if not root or not root.get('device') and not root.get('source'):
        return False, 'the root filesystem and its device could not be determined (lsblk/mountinfo); ' \
            'check the errors list'
    device = root.get('device') or root.get('source')
    if not root.get('device') and not (root.get('source') or '').startswith('/dev/'):
        return False, 'root is mounted from %s (%s), not a disk partition; ADE needs a marketplace disk layout' \
            % (root.get('source'), root.get('fstype'))
    fstype = root.get('fstype')
    if fstype not in supported.FORMAT_FILESYSTEMS:
        return False, 'root filesystem %s on %s is not one ADE can encrypt (ext2/3/4, xfs, btrfs)' % (fstype, device)
    problems = []
    if not root.get('on_lvm') and root.get('disk') and device == '/dev/' + root.get('disk'):
        problems.append('root is on the whole disk %s without a partition table; the OS state machines '
                        'encrypt a root partition next to a boot partition' % device)
    if (root.get('disk') or '').startswith('md'):
        problems.append('root is on software RAID (%s), which ADE does not encrypt' % root.get('disk'))
    dist = facts.get('distribution') or {}
    ade_id = dist.get('ade_id')
    offline = supported.match_allow_list(ade_id, dist.get('ade_version'), None)['listed'] and \
        not supported.online_encryption_capable(ade_id, dist.get('ade_version'))
    if offline and not problems:
        allowed = supported.OFFLINE_ROOT_FSTYPES.get(ade_id)
        if allowed and fstype not in allowed:
            problems.append('the %s offline OS flow handles a %s root, not %s' % (ade_id, '/'.join(allowed), fstype))
        free = (facts.get('root_usage') or {}).get('free_bytes')
        if ade_id == 'Ubuntu' and not root.get('boot_separate') and free is not None and \
                free < supported.UBUNTU_SPLIT_BOOT_BYTES:
            problems.append('root has %d MiB free; the Ubuntu flow shrinks it by 256 MiB (resize2fs) to split '
                            'off a boot partition' % (free // (1024 * 1024)))
        if ade_id in ('redhat', 'centos') and not root.get('on_lvm') and root.get('boot_separate') is False:
            problems.append('no separate /boot partition: the RHEL/CentOS offline flow encrypts the root '
                            'partition and boots from an unencrypted /boot')
    if problems:
        return False, '%s layout outside what the extension supports (custom image?): %s' \
            % (device, '; '.join(problems))
    return True, 'root %s on %s (disk %s, partition table %s)' % (fstype, device, root.get('disk'), root.get('pttype'))


def _blocking_apps(facts, opts, types):
    procs = (facts.get('processes') or {}).get('blocking') or []
    if not procs:
        return True, 'no SAP, MongoDB, Cassandra or Docker process is running'
    names = ', '.join('%s (pid %s)' % (p['name'], p['pid']) for p in procs)
    return False, 'running %s: these keep the OS drive busy and ADE cannot stop them; stop them before ' \
        'OS encryption' % names, procs


def _app_markers(facts, opts, types):
    markers = facts.get('app_markers') or []
    if not markers:
        return True, 'none of ADE\'s app-compat markers exist'
    return False, 'ADE app-compat markers found: %s; make sure these applications are stopped' \
        % ', '.join(markers), markers


def _extensions_in_progress(facts, opts, types):
    busy = (facts.get('extensions') or {}).get('in_progress') or []
    if not busy:
        return True, 'no other extension is transitioning'
    names = ', '.join(b['handler'] for b in busy)
    return False, 'extensions still running: %s; wait for them to finish before enabling ADE' % names, busy


def _selinux(facts, opts, types):
    se = facts.get('selinux') or {}
    runtime = se.get('runtime')
    note = ''
    if se.get('config') == 'invalid':
        note = ' (note: /etc/selinux/config has an invalid SELINUX=%s)' % se.get('config_raw')
    if runtime == 'enforcing':
        return False, 'SELinux is enforcing: the OS unmount fails; set it permissive for encryption ' \
            'and restore it after (role task selinux)%s' % note
    return True, 'SELinux runtime %s, config %s%s' % (runtime, se.get('config'), note)


def _nested_mounts(facts, opts, types):
    pairs = facts.get('nested_mounts')
    if pairs is None:
        return False, 'mounts could not be read; nesting of data drives not checked'
    if not pairs:
        return True, 'no data drive is mounted inside another one'
    text = ', '.join('%s inside %s' % (inner, outer) for outer, inner in pairs)
    return False, 'nested data mounts: %s; remount them at separate top-level paths' % text, pairs


def _agent_version(facts, opts, types):
    agent = facts.get('agent') or {}
    if not agent.get('installed'):
        return False, 'the Azure Linux agent (waagent) is not installed; install/update it to >= %s' \
            % supported.MIN_AGENT_VERSION
    version = agent.get('effective_version')
    if not version:
        return False, 'the Azure Linux agent version could not be read (waagent --version); update it to >= %s' \
            % supported.MIN_AGENT_VERSION
    if supported.version_lt(version, supported.MIN_AGENT_VERSION):
        return False, 'Azure Linux agent %s is older than %s; update it (role task agent)' \
            % (version, supported.MIN_AGENT_VERSION)
    return True, 'Azure Linux agent %s >= %s' % (version, supported.MIN_AGENT_VERSION)


def _ostc_extension(facts, opts, types):
    ext = facts.get('extensions') or {}
    if ext.get('ostc_ade_present'):
        return False, 'the deprecated Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux handler is present; ' \
            'remove it and use Microsoft.Azure.Security.AzureDiskEncryptionForLinux'
    return True, 'the deprecated OSTCExtensions ADE handler is not present'


def _vfat(facts, opts, types):
    vfat = facts.get('vfat') or {}
    if vfat.get('loadable'):
        return True, 'vfat is available (%s)' % vfat.get('how')
    return False, 'the vfat kernel module is missing: ADE cannot read the BEK volume; install/enable vfat'


def _data_filesystems(facts, opts, types):
    mounts = facts.get('data_mounts')
    if mounts is None:
        return False, 'mounts could not be read; data filesystems not checked'
    resource = facts.get('resource_disk_mountpoint')
    crypt = set((facts.get('crypt') or {}).get('devices') or [])
    allowed = supported.FORMAT_FILESYSTEMS if opts['encrypt_format_all'] else supported.INPLACE_FILESYSTEMS
    bad = []
    for mount in mounts:
        if mount['mountpoint'] == resource:
            continue
        if mount['source'].startswith('/dev/mapper/') and mount['source'][len('/dev/mapper/'):] in crypt:
            continue  # already encrypted
        if mount['fstype'] not in allowed:
            bad.append('%s (%s)' % (mount['mountpoint'], mount['fstype']))
    if bad:
        hint = 'use encrypt_format_all (it wipes them)' if not opts['encrypt_format_all'] else 'reformat them'
        return False, 'data filesystems ADE cannot encrypt %s: %s; %s' % (
            'with EncryptFormatAll' if opts['encrypt_format_all'] else 'in place', ', '.join(bad), hint), bad
    return True, 'data filesystems are %s' % ('/'.join(allowed))


def _imds(facts, opts, types):
    net = (facts.get('network') or {}).get('imds')
    if net is None:
        return False, 'IMDS not probed (gather with gather_network=true or check_network=true)'
    if net.get('reachable') and net.get('status') == 200 and not net.get('error'):
        ident = facts.get('imds') or {}
        return True, 'IMDS answered: VM %s in %s/%s (%s)' % (
            ident.get('name'), ident.get('subscription_id'), ident.get('resource_group'), ident.get('location'))
    if net.get('reachable'):
        return False, 'IMDS at %s answered %s: ADE needs the compute document; remove any proxy or header ' \
            'rewriting for 169.254.169.254' % (net.get('endpoint'), net.get('error'))
    return False, 'IMDS at %s unreachable (%s); allow direct HTTP to 169.254.169.254' \
        % (net.get('endpoint'), net.get('error'))


def _wireserver(facts, opts, types):
    net = (facts.get('network') or {}).get('wireserver')
    if net is None:
        return False, 'WireServer not probed (gather with gather_network=true or check_network=true)'
    if net.get('reachable'):
        return True, 'WireServer %s reachable' % net.get('endpoint')
    proxy = net.get('via_proxy')
    if proxy and proxy.get('reachable'):
        return True, 'WireServer %s not reachable directly, but the agent proxy %s is (ADE posts through it)' \
            % (net.get('endpoint'), proxy.get('endpoint'))
    return False, 'WireServer %s unreachable (%s); allow TCP 80 to it (ADE posts the key there)' \
        % (net.get('endpoint'), net.get('error'))


def _ade_state(facts, opts, types):
    state = facts.get('ade_state') or {}
    crypt = facts.get('crypt') or {}
    found = []
    if state.get('config_dir'):
        found.append('config dir (volume type %s)' % state.get('volume_type'))
    if state.get('encryption_marker'):
        found.append('encryption in progress marker')
    if state.get('decryption_marker'):
        found.append('decryption in progress marker')
    if state.get('bek_volume_mounted'):
        found.append('BEK volume mounted')
    if crypt.get('osencrypt'):
        found.append('osencrypt mapper')
    if crypt.get('resourceencrypt'):
        found.append('resourceencrypt mapper')
    if crypt.get('devices'):
        found.append('dm-crypt devices %s' % ', '.join(crypt['devices']))
    if not found:
        return True, 'no ADE state in the guest'
    recorded = state.get('volume_type')
    note = ''
    if recorded and opts['volume_type'] not in (recorded, 'All') and recorded.lower() != opts['volume_type'].lower():
        note = '; the extension only allows moving from %s to All' % recorded
    return False, 'ADE state found in the guest: %s%s; compare with vm_encryption_info before retrying' \
        % (', '.join(found), note), found


def _packages(facts, opts, types):
    pk = facts.get('packages') or {}
    missing = pk.get('missing') or []
    if not missing:
        return True, 'the packages the extension installs are present (%s)' % (', '.join(pk.get('required') or [])
                                                                               or 'none for this distribution')
    names = ', '.join(missing)
    via = ' through proxy %s' % pk['proxy'] if pk.get('proxy') else ''
    net = ((facts.get('network') or {}).get('package_sources'))
    if net is None:
        return False, 'missing %s (the extension installs them with %s mid-way); package sources not probed ' \
            '(check_network=false): the role installs them where the sources answer' % (names, pk.get('manager')), \
            missing
    if net.get('reachable'):
        answered = [p['endpoint'] for p in net['probed'] if p['reachable']]
        return False, 'missing %s; the package sources answer%s (%s): the role installs them before ' \
            'encryption (role task packages)' % (names, via, ', '.join(answered)), missing
    tried = ', '.join('%s (%s)' % (p['endpoint'], p['error']) for p in net['probed']) or 'no source configured'
    return False, 'missing %s and no package source answers%s: %s; an isolated VM fails half way when the ' \
        'extension installs them: install them from a reachable mirror first' % (names, via, tried), missing, \
        {'role_task': None, 'text': 'make the package sources (or a proxy) reachable, or install %s by hand' % names}


def _root_busy(facts, opts, types):
    busy = (facts.get('processes') or {}).get('root_busy')
    if busy is None:
        return False, 'processes holding the root filesystem were not read (mounts unknown)'
    if not busy:
        return True, 'no long-running non-system process holds files open on the root filesystem'
    text = ', '.join('%s (pid %s, %s)' % (p['name'], p['pid'], (p.get('open') or ['?'])[0]) for p in busy)
    return False, 'long-running processes hold files open on the root filesystem: %s; stop them before ' \
        'the offline phase or the OS unmount may fail' % text, busy


_PERSISTENT_SPECS = ('UUID=', 'LABEL=', 'PARTUUID=', 'PARTLABEL=', '/dev/disk/', '/dev/mapper/')


def _data_fstab(facts, opts, types):
    mounts = facts.get('data_mounts')
    fstab = facts.get('fstab')
    if mounts is None or fstab is None:
        return False, '/etc/fstab or the mounts could not be read; data volume entries not checked'
    resource = facts.get('resource_disk_mountpoint')
    by_file = dict((e['file'].rstrip('/') or '/', e) for e in fstab)
    bad = []
    for mount in mounts:
        mp = mount['mountpoint']
        if mp == resource:
            continue
        entry = by_file.get(mp.rstrip('/') or '/')
        if entry is None:
            bad.append('%s (no /etc/fstab entry: ADE encrypts data volumes listed in fstab)' % mp)
            continue
        problems = []
        if 'nofail' not in entry['options']:
            problems.append('no nofail: the VM will not boot if the volume cannot be unlocked')
        spec = entry['spec']
        if spec.startswith('/dev/') and not spec.startswith(_PERSISTENT_SPECS) and spec.count('/') == 2:
            problems.append('%s is not a persistent name (use UUID=)' % spec)
        if problems:
            bad.append('%s (%s)' % (mp, '; '.join(problems)))
    if bad:
        return False, 'data volume fstab entries ADE needs differently: %s; list each data volume by UUID with ' \
            'nofail' % ', '.join(bad), bad
    return True, 'every data volume is in /etc/fstab by a persistent name with nofail'


def _data_shrink(facts, opts, types):
    mounts = facts.get('data_mounts')
    if mounts is None:
        return False, 'mounts could not be read; free space of data filesystems not checked'
    if opts['encrypt_format_all']:
        return True, 'EncryptFormatAll reformats data volumes: no shrink needed'
    resource = facts.get('resource_disk_mountpoint')
    crypt = set((facts.get('crypt') or {}).get('devices') or [])
    bad = []
    for mount in mounts:
        if mount['mountpoint'] == resource or mount['fstype'] not in supported.INPLACE_FILESYSTEMS:
            continue
        if mount['source'].startswith('/dev/mapper/') and mount['source'][len('/dev/mapper/'):] in crypt:
            continue
        size, free = mount.get('size_bytes'), mount.get('free_bytes')
        if size is None or free is None:
            bad.append('%s (free space unknown)' % mount['mountpoint'])
            continue
        need = supported.LUKS2_HEADER_BYTES + int(size * supported.SHRINK_SLACK_FRACTION)
        if free < need:
            bad.append('%s (%s, %d MiB free of %d MiB, needs %d MiB)' % (
                mount['mountpoint'], mount['fstype'], free // 1048576, size // 1048576, need // 1048576))
    if bad:
        return False, 'in-place encryption shrinks each filesystem by the LUKS header (e2fsck -f, resize2fs) ' \
            'and fails on: %s; free space or use encrypt_format_all (wipes them)' % ', '.join(bad), bad
    return True, 'in-place data filesystems have room for the LUKS header'


def _vm_size(facts, opts, types):
    imds = facts.get('imds') or {}
    size = imds.get('vm_size')
    if not size:
        return True, 'VM size not known (IMDS not probed or silent); see %s' % supported.DOCS_SOURCE
    problem = supported.vm_size_problem(size)
    if problem:
        return False, 'VM size %s: %s by ADE (%s); resize the VM' % (size, problem, supported.DOCS_SOURCE)
    return True, 'VM size %s is not excluded by %s' % (size, supported.DOCS_SOURCE)


def _vm_platform(facts, opts, types):
    machine = (facts.get('kernel') or {}).get('machine')
    uefi = (facts.get('firmware') or {}).get('uefi')
    security = (facts.get('imds') or {}).get('security_type') or 'Standard'
    gen = 'generation 2 (UEFI)' if uefi else 'generation 1 (BIOS)'
    if machine in ('aarch64', 'arm64'):
        return False, '%s VM: the extension\'s allow-list and the docs\' supported image table list x64 images ' \
            'only; ADE on Arm64 is not documented' % machine
    return True, '%s %s VM, security type %s: Gen1 and Gen2 are supported (%s); confidential VMs are ' \
        'refused for OS volumes (os_supported)' % (machine, gen, security, supported.DOCS_SOURCE)


def _memory_documented(facts, opts, types):
    """What the docs ask beyond the extension's own cut-off (check memory): 2x root usage for OS when root
    usage is above 4 GB, 2 GB for data-only."""
    total = (facts.get('memory') or {}).get('mem_total_kb')
    if total is None:
        return False, 'MemTotal could not be read'
    needs = []
    if OS in types:
        # root usage of the OS disk (a root that is not on a disk, e.g. overlay, fails root_layout instead)
        root = facts.get('root_usage') if (facts.get('root') or {}).get('device') else None
        root = root or {}
        used = (root.get('size_bytes') or 0) - (root.get('free_bytes') or 0)
        if root.get('size_bytes') and used > supported.DOCS_ROOT_USAGE_FACTOR_ABOVE_BYTES:
            needs.append(('OS (root uses %d MiB, above 4 GB: 2x)' % (used // 1048576), 2 * used // 1024))
    if DATA in types:
        needs.append(('Data (2 GB)', supported.DOCS_MEMORY_DATA_KB))
    short = ['%s needs %d kB' % (t, n) for t, n in needs if total < n]
    if short:
        return False, 'MemTotal %d kB is below what the docs ask (%s): %s' \
            % (total, supported.DOCS_SOURCE, '; '.join(short))
    return True, 'MemTotal %d kB meets the documented memory beyond the extension\'s cut-off (%s)' \
        % (total, ', '.join(t for t, n in needs) or 'nothing more asked')


def _check(check_id, requirements, severity, applies_to, role_task, fix, rule, network=False):
    return {'id': check_id, 'requirements': requirements.split(', '), 'severity': severity,
            'applies_to': applies_to, 'role_task': role_task, 'fix': fix, 'rule': rule, 'network': network}


# The one registry: every check with its requirement IDs, severity, volume types, the role task that fixes
# it (or None), the fix text and its rule. Order = order of the checks in results.
CHECKS = (
    _check('os_supported', 'R0.1', 'fatal', (OS, DATA), None,
           'use a distribution/version ADE supports (or encrypt data volumes only where the extension allows it)',
           _os_supported),
    _check('os_documented', 'R0.1', 'warning', (OS, DATA), None,
           'prefer a distribution/version listed in the current ADE docs (disk-encryption-overview)', _os_documented),
    _check('vm_size', 'R0.1', 'fatal', (OS, DATA), None,
           'resize the VM to a size ADE supports (not Basic, A-series, L-series, v6 or newer)', _vm_size),
    _check('vm_platform', 'R0.1', 'warning', (OS, DATA), None,
           'use an x64 VM for ADE, or encryption at host', _vm_platform),
    _check('kernel', 'R2', 'fatal', (OS,), 'kernel', 'install linux-azure (kernel >= 4.15) and reboot', _kernel),
    _check('memory', 'R0.2, R1.6', 'fatal', (OS,), None, 'resize the VM to a size with at least 8 GB of memory',
           _memory),
    _check('memory_documented', 'R0.2, R1.6', 'warning', (OS, DATA), None,
           'resize the VM to the documented memory (8 GB or 2x root usage for OS, 2 GB for data)',
           _memory_documented),
    _check('root_lvm_layout', 'R1.5', 'fatal', (OS,), None,
           'OS disks on LVM are supported only with the Azure rootvg layout; encrypt data volumes only',
           _root_lvm_layout),
    _check('root_layout', 'R1.1', 'fatal', (OS,), None,
           'use a supported marketplace image layout (root on a partition or the rootvg LVM layout, ext4/xfs)',
           _root_layout),
    _check('blocking_apps', 'R1.2', 'fatal', (OS,), None,
           'stop these applications yourself before OS encryption (ADE cannot stop them safely)', _blocking_apps),
    _check('app_markers', 'R1.2', 'warning', (OS,), None,
           'make sure these applications are stopped and disabled before OS encryption', _app_markers),
    _check('root_busy', 'R1.2', 'warning', (OS,), None,
           'stop these processes (and keep them from restarting) before the offline phase of OS encryption',
           _root_busy),
    _check('extensions_in_progress', 'R1.3', 'fatal', (OS, DATA), None,
           'wait for the other extensions to finish; run nothing else during encryption', _extensions_in_progress),
    _check('selinux', 'R1.4', 'fatal', (OS,), 'selinux', 'set SELinux to permissive/disabled before, restore after',
           _selinux),
    _check('nested_mounts', 'R1.7', 'fatal', (OS, DATA), None,
           'mount each data drive at its own top-level path (not under /mnt or under another data mount)',
           _nested_mounts),
    _check('agent_version', 'R3.1', 'fatal', (OS, DATA), 'agent', 'update the Azure Linux agent to 2.2.38 or later',
           _agent_version),
    _check('ostc_extension', 'R3.3', 'fatal', (OS, DATA), None,
           'remove the deprecated Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux extension', _ostc_extension),
    _check('vfat', 'R0.2', 'fatal', (OS, DATA), None, 'install/enable the vfat kernel module (needed for the BEK volume)',
           _vfat),
    _check('packages', 'R0.3, R5', 'fatal', (OS, DATA), 'packages',
           'install the packages the extension needs (role task packages) while the package sources answer',
           _packages),
    _check('data_filesystems', 'R0.2', 'fatal', (DATA,), None,
           'use ext2/3/4 data filesystems, or encrypt_format_all (wipes them) for xfs/btrfs', _data_filesystems),
    _check('data_fstab', 'R0.2, R1.1', 'fatal', (DATA,), None,
           'list each data volume in /etc/fstab by UUID with the nofail option', _data_fstab),
    _check('data_shrink', 'R0.2', 'fatal', (DATA,), None,
           'free space on the data filesystem (LUKS header + 1 %) or use encrypt_format_all (wipes it)', _data_shrink),
    _check('imds', 'R0.3, R5', 'fatal', (OS, DATA), None,
           'allow direct (no proxy) HTTP to 169.254.169.254 with the Metadata header', _imds, network=True),
    _check('wireserver', 'R0.3, R5', 'fatal', (OS, DATA), None,
           'allow TCP 80 to the WireServer (168.63.129.16) directly or through the agent proxy', _wireserver,
           network=True),
    _check('ade_state', 'R4.4, R6.1', 'warning', (OS, DATA), None,
           'ADE ran here before: check vm_encryption_info and the guest state before retrying', _ade_state),
)


def _options(volume_type='All', encrypt_format_all=False, min_memory_kb=None, check_network=True):
    requested_types(volume_type)
    return {
        'volume_type': volume_type,
        'encrypt_format_all': bool(encrypt_format_all),
        'min_memory_kb': supported.MIN_MEMORY_KB if min_memory_kb is None else int(min_memory_kb),
        'check_network': bool(check_network),
    }


def run_checks(facts, volume_type='All', encrypt_format_all=False, min_memory_kb=None, check_network=True):
    """All checks for one requested volume type -> list of check dicts (network checks only if asked)."""
    opts = _options(volume_type, encrypt_format_all, min_memory_kb, check_network)
    types = requested_types(volume_type)
    results = []
    for spec in CHECKS:
        if spec['network'] and not opts['check_network']:
            continue
        outcome = spec['rule'](facts, opts, types)
        passed, message = outcome[0], outcome[1]
        fix = {'role_task': spec['role_task'], 'text': spec['fix']}
        if len(outcome) > 3:
            fix.update(outcome[3])  # the rule knows better in this case (e.g. not fixable here)
        check = {
            'id': spec['id'],
            'requirement': spec['requirements'][0],
            'requirements': list(spec['requirements']),
            'severity': spec['severity'],
            'applies_to': list(spec['applies_to']),
            'applies': any(t in spec['applies_to'] for t in types),
            'passed': bool(passed),
            'message': message,
            'fix': {'role_task': None, 'text': None} if passed else fix,
        }
        if len(outcome) > 2 and outcome[2] is not None:
            check['details'] = outcome[2]
        results.append(check)
    return results


def verdict(checks):
    """ready / fixable / blocking / summary from a checks list."""
    failed_fatal = [c for c in checks if c['applies'] and c['severity'] == 'fatal' and not c['passed']]
    fixable = [c['id'] for c in failed_fatal if c['fix']['role_task']]
    fix_tasks = []
    for check in failed_fatal:
        if check['fix']['role_task'] and check['fix']['role_task'] not in fix_tasks:
            fix_tasks.append(check['fix']['role_task'])
    blocking = [c['id'] for c in failed_fatal if not c['fix']['role_task']]
    warnings = [c['id'] for c in checks if c['applies'] and c['severity'] == 'warning' and not c['passed']]
    return {
        'ready': not failed_fatal,
        'fixable': fixable,
        'blocking': blocking,
        'fix_tasks': fix_tasks,
        'warnings': warnings,
        'summary': {
            'total': len(checks),
            'passed': len([c for c in checks if c['passed']]),
            'failed': len([c for c in checks if not c['passed']]),
            'fatal_failed': len(failed_fatal),
            'warnings': len(warnings),
        },
    }


def evaluate(facts, volume_type='All', encrypt_format_all=False, min_memory_kb=None, check_network=True):
    """Checks for the requested volume type plus the verdict, and `ready_for` every volume type."""
    checks = run_checks(facts, volume_type, encrypt_format_all, min_memory_kb, check_network)
    result = verdict(checks)
    result['checks'] = checks
    result['volume_type'] = volume_type
    ready_for = {}
    for other in VOLUME_TYPES:
        if other == volume_type:
            ready_for[other] = result['ready']
        else:
            ready_for[other] = verdict(run_checks(facts, other, encrypt_format_all, min_memory_kb,
                                                  check_network))['ready']
    result['ready_for'] = ready_for
    return result

# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the guest (files first, a command only where no file answers) and build `azure_ade` facts.

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.
This is the only guest code that touches the system, and it never changes it. Every failure to
read a source gives null for the fact and an entry in `errors`; nothing raises.
Commands run through a `run_command(argv) -> (rc, stdout, stderr)` callable given by the caller
(command_runner() in the modules: LC_ALL=C, stdin /dev/null).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import fcntl
import glob
import json
import os
import socket
import stat
import subprocess
import sys

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import layout
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import parsers
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import supported
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import redact


SCHEMA_VERSION = 1
DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254'
IMDS_PATH = '/metadata/instance/compute?api-version=2021-02-01'
DEFAULT_WIRESERVER = '168.63.129.16'
WIRESERVER_FILE = '/var/lib/waagent/WireServerEndpoint'
WAAGENT_DIR = '/var/lib/waagent'
ADE_CONFIG_DIR = '/var/lib/azure_disk_encryption_config'
BEK_DEFAULT_FILE = 'LinuxPassPhraseFileName'   # VMEncryption EncryptionEnvironment default_bek_filename
ADE_HANDLER = 'Microsoft.Azure.Security.AzureDiskEncryptionForLinux'
OSTC_ADE_HANDLER = 'Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux'

RELEASE_FILES = ('/etc/os-release', '/usr/lib/os-release', '/etc/lsb-release', '/etc/redhat-release',
                 '/etc/centos-release', '/etc/SuSE-release', '/etc/debian_version', '/etc/system-release',
                 '/etc/oracle-release')
AGENT_UNITS = (
    ('/lib/systemd/system/walinuxagent.service', 'walinuxagent'),
    ('/etc/systemd/system/walinuxagent.service', 'walinuxagent'),
    ('/usr/lib/systemd/system/walinuxagent.service', 'walinuxagent'),
    ('/usr/lib/systemd/system/waagent.service', 'waagent'),
    ('/lib/systemd/system/waagent.service', 'waagent'),
    ('/etc/systemd/system/waagent.service', 'waagent'),
    ('/etc/init/walinuxagent.conf', 'walinuxagent'),
    ('/etc/init.d/waagent', 'waagent'),
    ('/etc/init.d/walinuxagent', 'walinuxagent'),
)
LSBLK_COLUMNS = 'NAME,KNAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL,PTTYPE'
LSBLK_MID_COLUMNS = 'NAME,KNAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL'   # util-linux 2.23-2.26: no PTTYPE
LSBLK_OLD_COLUMNS = 'NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL'           # before 2.23: no PKNAME either
# The prerequisites role's state directory (role var prerequisites_state_dir): selinux.json there = a saved SELinux state
DEFAULT_STATE_DIR = '/var/lib/azure_ade'
BIN_DIRS = ('/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin')


# Options of the network probes, shared by guest_facts and preflight (doc fragment azure_ade.linux.guest_network).
NETWORK_ARGUMENT_SPEC = dict(
    network_timeout=dict(type='float', default=2.0),
    imds_endpoint=dict(type='str', default=DEFAULT_IMDS_ENDPOINT),
    wireserver_endpoint=dict(type='str'),
)
# Where the prerequisites role keeps what it saved (guest_facts and preflight: facts selinux.saved_state)
STATE_ARGUMENT_SPEC = dict(state_dir=dict(type='path', default=DEFAULT_STATE_DIR))


def network_option_error(params):
    """Problem with the network probe options, or None."""
    if params['network_timeout'] <= 0:
        return 'network_timeout must be a positive number of seconds, got %s' % params['network_timeout']
    return None


def _close_inherited():  # pragma: no cover (runs in the child, between fork and exec)
    """Close the descriptors above stderr that the command would inherit (what close_fds does on Python 3). Those
    marked close-on-exec are left alone: subprocess reports a failed exec through one of them."""
    try:
        fds = [int(fd) for fd in os.listdir('/proc/self/fd')]
    except (OSError, ValueError):
        fds = range(3, os.sysconf('SC_OPEN_MAX'))
    for fd in fds:
        if fd > 2:
            try:
                if not fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC:
                    os.close(fd)
            except (IOError, OSError):
                pass


def command_runner(module=None):  # pylint: disable=unused-argument
    """run(argv) -> (rc, out, err) as text: C locale, stdin /dev/null, never raising on rc (Guest.run catches the
    rest). Not AnsibleModule.run_command: on Python 2.7 its close_fds closes every possible descriptor in the child,
    one close() per RLIMIT_NOFILE (3-4 ms of CPU per command at a limit of 20,000); this closes the open ones
    (/proc/self/fd), as Python 3's close_fds does. `module` is accepted for the callers' sake."""
    env = dict(os.environ)
    env.update({'LC_ALL': 'C', 'LANG': 'C'})
    py2 = sys.version_info[0] == 2

    def run(argv):
        with open(os.devnull, 'rb') as devnull:
            # not run_command on purpose (docstring): fixed argv lists (lsblk, waagent --version), no shell, no secret
            proc = subprocess.Popen(argv, stdin=devnull, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,  # pylint: disable=ansible-bad-function
                                    close_fds=not py2, preexec_fn=_close_inherited if py2 else None)
            out, err = proc.communicate()
        return proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace')
    return run


class Guest(object):
    """File and command access, rooted at `root` (tests point it at a fixture tree)."""

    def __init__(self, run_command, root='/', uname=None):
        self.run_command = run_command
        self.root = root
        self._uname = uname or os.uname
        self.errors = []

    def path(self, path):
        if self.root in ('/', ''):
            return path
        return os.path.join(self.root, path.lstrip('/'))

    def error(self, source, err):
        self.errors.append({'source': source, 'error': '%s' % (err,)})

    def read(self, path, required=False):
        """Text of a file, None if missing (an error only when required or unreadable)."""
        try:
            with open(self.path(path), 'rb') as handle:
                data = handle.read()
        except (IOError, OSError) as exc:
            if required or getattr(exc, 'errno', None) not in (errno.ENOENT, errno.ENOTDIR):
                self.error(path, exc)
            return None
        return data.decode('utf-8', 'replace')

    def exists(self, path):
        return os.path.exists(self.path(path))

    def isdir(self, path):
        return os.path.isdir(self.path(path))

    def listdir(self, path):
        try:
            return sorted(os.listdir(self.path(path)))
        except (IOError, OSError) as exc:
            if getattr(exc, 'errno', None) not in (errno.ENOENT, errno.ENOTDIR):
                self.error(path, exc)
            return []

    def statvfs(self, path):
        """{'size_bytes', 'free_bytes', 'avail_bytes'} of the filesystem at path, None if it cannot be read."""
        try:
            st = os.statvfs(self.path(path))
        except (IOError, OSError) as exc:
            self.error('statvfs %s' % path, exc)
            return None
        return {'size_bytes': st.f_blocks * st.f_frsize, 'free_bytes': st.f_bfree * st.f_frsize,
                'avail_bytes': st.f_bavail * st.f_frsize}

    def size(self, path):
        """Size in bytes of a regular file (os.stat: the content is never read), None if it is not one."""
        try:
            st = os.stat(self.path(path))
        except (IOError, OSError):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    def readlink(self, path):
        try:
            return os.readlink(self.path(path))
        except (IOError, OSError):
            return None

    def glob(self, pattern):
        base = self.path('/')
        found = sorted(glob.glob(self.path(pattern)))
        if self.root in ('/', ''):
            return found
        return ['/' + f[len(base):].lstrip('/') for f in found]

    def which(self, name):
        for directory in BIN_DIRS:
            candidate = directory + '/' + name
            if os.access(self.path(candidate), os.X_OK):
                return candidate
        return None

    def run(self, argv):
        try:
            return self.run_command(argv)
        except Exception as exc:  # pylint: disable=broad-except
            return 127, '', '%s' % (exc,)

    def uname(self):
        return self._uname()


# --------------------------------------------------------------------------- sources

def gather_distribution(guest):
    files = {}
    for path in RELEASE_FILES:
        text = guest.read(path)
        if text is not None:
            files[path] = text
    if not files:
        guest.error('/etc/os-release', 'no release file found (/etc/os-release, /etc/*-release)')
    dist = parsers.parse_distribution(files)
    dist['release_files'] = sorted(files)
    return dist


def gather_kernel(guest):
    try:
        uts = guest.uname()
    except Exception as exc:  # pylint: disable=broad-except
        guest.error('uname', exc)
        return {'release': None, 'version': None, 'machine': None}
    return {'release': uts[2], 'version': uts[3], 'machine': uts[4]}


def gather_memory(guest):
    info = parsers.parse_meminfo(guest.read('/proc/meminfo', required=True))
    total = info.get('MemTotal')
    if total is None and not any(e['source'] == '/proc/meminfo' for e in guest.errors):
        guest.error('/proc/meminfo', 'no MemTotal line')
    return {'mem_total_kb': total}


def gather_selinux(guest, state_dir=DEFAULT_STATE_DIR):
    config_text = guest.read('/etc/selinux/config')
    config = parsers.parse_selinux_config(config_text)
    runtime = None
    selinuxfs = None
    for fs_dir in ('/sys/fs/selinux', '/selinux'):
        text = guest.read(fs_dir + '/enforce')
        if text is not None:
            selinuxfs = fs_dir
            runtime = parsers.parse_selinux_enforce(text)
            if runtime is None:
                guest.error(fs_dir + '/enforce', 'unexpected content %r' % text.strip())
            break
    if selinuxfs is None:
        # no selinuxfs mounted: SELinux is not running (disabled, or not installed at all)
        runtime = 'disabled' if config_text is not None else 'absent'
    return {
        'present': selinuxfs is not None or config_text is not None,
        'runtime': runtime,
        'config': config['config'],
        'config_raw': config['config_raw'],
        'policy': config['policy'],
        # the prerequisites role saved the state to put back (R1.4) and no put-back removed it yet: a run stopped
        # between its SELinux fix and the put-back (the rollout puts it back even when the VM is done meanwhile)
        'saved_state': guest.exists(state_dir.rstrip('/') + '/selinux.json'),
    }


AGENT_VERSION_MODULES = (
    '/usr/lib/python3/dist-packages/azurelinuxagent/common/version.py',
    '/usr/lib/python2.7/dist-packages/azurelinuxagent/common/version.py',
    '/usr/lib/python2.7/site-packages/azurelinuxagent/common/version.py',
    '/usr/lib/python3*/site-packages/azurelinuxagent/common/version.py',
)
AGENT_PACKAGES = ('walinuxagent', 'waagent')


def installed_agent_version(guest, dpkg):
    """Version of the installed agent from files: its package's version module, else the dpkg database.
    Returns (version, source) or (None, None)."""
    for pattern in AGENT_VERSION_MODULES:
        paths = guest.glob(pattern) if '*' in pattern else [pattern]
        for path in paths:
            version = parsers.parse_agent_version_module(guest.read(path))
            if version:
                return version, path
    for name in AGENT_PACKAGES:
        version = parsers.upstream_version((dpkg or {}).get(name))
        if version:
            return version, '/var/lib/dpkg/status'
    return None, None


def gather_agent(guest, procs=None, dpkg=None):
    """The agent: config, service, and versions. Versions come from files where they say what
    `waagent --version` says (installed package's version module or dpkg database for the daemon; the
    running extension handler's command line in /proc for the goal-state agent, as the agent finds it);
    the command runs only when they do not answer."""
    conf_text = guest.read('/etc/waagent.conf')
    conf = parsers.parse_waagent_conf(conf_text)
    service = None
    for unit, name in AGENT_UNITS:
        if guest.exists(unit):
            service = name
            break
    binary = guest.which('waagent')
    version = {'version': None, 'goal_state_version': None, 'python': None, 'running_on': None}
    source = None
    if binary is not None:
        installed, origin = installed_agent_version(guest, dpkg)
        goal = None
        for proc in procs or []:
            if proc['cmdline'] is not None and '-run-exthandlers' in proc['cmdline']:
                goal = parsers.exthandler_version(proc['cmdline'])
                break
        if installed and goal:
            version['version'] = installed
            version['goal_state_version'] = installed if goal == 'installed' else goal
            source = 'files (%s, /proc exthandler)' % origin
        else:
            rc, out, err = guest.run([binary, '--version'])
            version = parsers.parse_waagent_version(out)
            source = 'waagent --version'
            if version['version'] is None:
                guest.error('waagent --version', 'rc=%s, no version in output: %s'
                            % (rc, (err or out or '').strip()[:200]))
    return {
        'installed': binary is not None,
        'path': binary,
        'version': version['version'],
        'goal_state_version': version['goal_state_version'],
        'effective_version': version['goal_state_version'] or version['version'],
        'version_source': source,
        'service': service,
        'config_present': conf_text is not None,
        'auto_update': conf['auto_update'],
        'http_proxy': conf['http_proxy'],
        'resource_disk': conf['resource_disk'],
    }


def lsblk_column_sets(dist):
    """The lsblk column lists to try, in order: the first is the one the release's util-linux knows, so that its first
    call answers (a refused column list costs a whole lsblk run). RHEL, CentOS and Oracle Linux 7 ship util-linux
    2.23.2 (PKNAME, no PTTYPE) in every minor release, 6 util-linux-ng 2.17.2 and Ubuntu 14.04 util-linux 2.20.1
    (neither); every other release starts with all columns."""
    dist = dist or {}
    major = (dist.get('ade_version') or '').split('.')[0]
    rhel_like = dist.get('ade_id') in ('redhat', 'centos', 'oracle')
    if (dist.get('ade_id') == 'Ubuntu' and major == '14') or (rhel_like and major == '6'):
        return [LSBLK_OLD_COLUMNS]
    if rhel_like and major == '7':
        return [LSBLK_MID_COLUMNS, LSBLK_OLD_COLUMNS]
    return [LSBLK_COLUMNS, LSBLK_MID_COLUMNS, LSBLK_OLD_COLUMNS]


def gather_block_devices(guest, dist=None):
    lsblk = guest.which('lsblk')
    if lsblk is None:
        guest.error('lsblk', 'lsblk not found in %s' % ', '.join(BIN_DIRS))
        return None
    tries = lsblk_column_sets(dist)
    while tries:
        columns = tries.pop(0)
        rc, out, err = guest.run([lsblk, '-P', '-b', '-o', columns])
        devices = parsers.parse_lsblk_pairs(out)
        if rc == 0 or devices:
            return devices
        # an older util-linux refuses a column it does not know ("unknown column: PKNAME"): fewer columns
        if 'PKNAME' in (err or '') and tries and 'PKNAME' in tries[0]:
            tries.pop(0)
    guest.error('lsblk', 'rc=%s: %s' % (rc, (err or '').strip()[:300]))
    return None


def gather_mounts(guest):
    text = guest.read('/proc/self/mountinfo')
    if text is not None:
        return parsers.parse_mountinfo(text)
    text = guest.read('/proc/mounts', required=True)
    if text is None:
        return None
    return parsers.parse_proc_mounts(text)


INTERPRETERS = ('python', 'python2', 'python3', 'python2.7', 'python3.6', 'python3.8', 'python3.9', 'waagent')
PF_KTHREAD = 0x00200000


def scan_processes(guest):
    """One pass over /proc: [{pid, comm, ppid, session, kthread, starttime, cmdline}] (cmdline read only
    for interpreters, the agent and the applications the checks name)."""
    procs = []
    for entry in guest.listdir('/proc'):
        if not entry.isdigit():
            continue
        stat = parsers.parse_proc_stat(guest.read('/proc/%s/stat' % entry))
        if stat is None:
            continue  # process exited meanwhile
        comm = stat['comm']
        kthread = bool(stat['flags'] & PF_KTHREAD)
        cmdline = None
        if not kthread and (comm in supported.BLOCKING_PROCESSES or comm == 'java' or comm in INTERPRETERS
                            or comm.startswith('python')):
            cmdline = (guest.read('/proc/%s/cmdline' % entry) or '').replace('\0', ' ').strip()
        procs.append({'pid': int(entry), 'comm': comm, 'ppid': stat['ppid'], 'session': stat['session'],
                      'kthread': kthread, 'starttime': stat['starttime'], 'cmdline': cmdline})
    return procs


def _uptime(guest):
    text = guest.read('/proc/uptime')
    try:
        return float((text or '').split()[0])
    except (IndexError, ValueError):
        return None


def _mount_of(path, mountpoints):
    """The mountpoint a path lives on (longest prefix)."""
    best = '/'
    for mp in mountpoints:
        if mp != '/' and (path == mp or path.startswith(mp.rstrip('/') + '/')) and len(mp) > len(best):
            best = mp
    return best


def _ancestors(procs, pid):
    by_pid = dict((p['pid'], p) for p in procs)
    seen = set()
    while pid in by_pid and pid not in seen and pid > 1:
        seen.add(pid)
        pid = by_pid[pid]['ppid']
    return seen


def root_busy(guest, procs, mounts, blocking_pids, max_paths=3):
    """Long-running, non-system processes holding files open on the root filesystem (cwd, executable,
    open files): [{pid, name, uid, age_seconds, cmdline, open}]. The applications named by
    blocking_apps, kernel threads, the system daemons and this module's own session are left out."""
    uptime = _uptime(guest)
    try:
        ticks = os.sysconf('SC_CLK_TCK')
    except (ValueError, OSError, AttributeError):
        ticks = 100
    mountpoints = [m['mountpoint'] for m in (mounts or [])]
    me = set([os.getpid()]) | _ancestors(procs, os.getpid()) if guest.root in ('/', '') else set()
    busy = []
    for proc in procs:
        pid = proc['pid']
        if proc['kthread'] or pid == 1 or pid in me or pid in blocking_pids:
            continue
        comm = proc['comm']
        if comm in supported.SYSTEM_PROCESSES or comm.startswith('kworker'):
            continue
        cmdline = proc['cmdline']
        if cmdline is None:
            cmdline = (guest.read('/proc/%d/cmdline' % pid) or '').replace('\0', ' ').strip()
        if not cmdline:
            continue  # zombie or kernel thread without the flag
        if any(marker in cmdline for marker in supported.SYSTEM_CMDLINE_MARKERS):
            continue
        age = None
        if uptime is not None:
            age = int(uptime - proc['starttime'] / float(ticks))
            if age < supported.BUSY_MIN_AGE_SECONDS:
                continue
        on_root = []
        links = [guest.readlink('/proc/%d/cwd' % pid), guest.readlink('/proc/%d/exe' % pid)]
        for fd in guest.listdir('/proc/%d/fd' % pid)[:256]:
            links.append(guest.readlink('/proc/%d/fd/%s' % (pid, fd)))
        for link in links:
            if not link or not link.startswith('/'):
                continue  # socket:[..], pipe:[..], anon_inode:..
            path = link[:-len(' (deleted)')] if link.endswith(' (deleted)') else link
            if _mount_of(path, mountpoints) == '/' and path not in on_root:
                on_root.append(path)
        if not on_root:
            continue
        uid = parsers.parse_proc_status_uid(guest.read('/proc/%d/status' % pid))
        # no cmdline: it may carry secrets (--db-password=...); name, pid and these facts are what the check needs
        busy.append({'pid': pid, 'name': comm, 'uid': uid, 'age_seconds': age, 'open': on_root[:max_paths]})
    busy.sort(key=lambda p: p['pid'])
    return busy


def gather_processes(guest, procs=None, mounts=None):
    """Running applications that block OS encryption (blocking), and other long-running processes that
    hold files open on the root filesystem (root_busy)."""
    if procs is None:
        procs = scan_processes(guest)
    blocking = []
    for proc in procs:
        comm = proc['comm']
        app = supported.BLOCKING_PROCESSES.get(comm)
        if proc['kthread'] or (app is None and comm != 'java'):
            continue
        cmdline = proc['cmdline'] or ''
        if app is None:
            if not any(marker in cmdline for marker in supported.CASSANDRA_MARKERS):
                continue
            app = 'cassandra'
        blocking.append({'app': app, 'name': comm, 'pid': proc['pid']})  # never the cmdline (redact.py)
    blocking.sort(key=lambda p: p['pid'])
    busy = root_busy(guest, procs, mounts, set(p['pid'] for p in blocking)) if mounts is not None else None
    return {'blocking': blocking, 'root_busy': busy}


# --------------------------------------------------------------------------- packages the extension installs

APT_SOURCE_FILES = ('/etc/apt/sources.list',)
APT_CONF_FILES = ('/etc/apt/apt.conf',)


def package_sources(guest, manager):
    """(source URLs, proxy URL) of the package manager the extension calls."""
    urls = []
    proxy = None
    if manager == 'apt':
        for path in APT_SOURCE_FILES:
            urls.extend(parsers.parse_apt_sources(guest.read(path)))
        for name in guest.listdir('/etc/apt/sources.list.d'):
            path = '/etc/apt/sources.list.d/' + name
            if name.endswith('.list'):
                urls.extend(parsers.parse_apt_sources(guest.read(path)))
            elif name.endswith('.sources'):
                urls.extend(parsers.parse_apt_sources(guest.read(path), deb822=True))
        conf = [guest.read(p) for p in APT_CONF_FILES]
        conf += [guest.read('/etc/apt/apt.conf.d/' + n) for n in guest.listdir('/etc/apt/apt.conf.d')]
        for text in conf:
            proxy = proxy or parsers.parse_apt_proxy(text)
    else:
        repo_dir = {'zypper': '/etc/zypp/repos.d', 'tdnf': '/etc/yum.repos.d'}.get(manager, '/etc/yum.repos.d')
        for name in guest.listdir(repo_dir):
            if name.endswith('.repo'):
                urls.extend(parsers.parse_repo_file(guest.read(repo_dir + '/' + name)))
        if manager == 'zypper':
            proxy = parsers.parse_proxy_setting(guest.read('/etc/sysconfig/proxy'), ('HTTP_PROXY', 'HTTPS_PROXY'))
        else:
            for path in ('/etc/dnf/dnf.conf', '/etc/yum.conf', '/etc/tdnf/tdnf.conf'):
                proxy = proxy or parsers.parse_proxy_setting(guest.read(path))
    seen = []
    for url in urls:
        url = redact.url(url)  # no user:password@, query or fragment leaves the guest
        if url not in seen:
            seen.append(url)
    return seen, redact.url(proxy)


def dpkg_names(dist):
    """The packages whose dpkg record the facts need: the agent's and those the extension installs here."""
    names = set(AGENT_PACKAGES)
    for entry in supported.extension_packages(dist.get('ade_id'), dist.get('ade_version')):
        names.update(entry.split('|'))
    return names


def gather_packages(guest, dist, dpkg):
    """The packages the extension's daemon installs on this distro: which are missing, and where the
    package manager would fetch them (sources and proxy; read only when something is missing)."""
    ade_id = dist.get('ade_id')
    manager = supported.PACKAGE_MANAGER.get(ade_id)
    required = supported.extension_packages(ade_id, dist.get('ade_version'))
    use_dpkg = manager == 'apt' and dpkg is not None
    missing = []
    for entry in required:
        names = entry.split('|')
        if use_dpkg:
            present = any(name in dpkg for name in names)
        else:
            present = any(guest.exists(path) for name in names for path in supported.PACKAGE_FILES.get(name, ()))
        if not present:
            missing.append(entry)
    sources, proxy = (package_sources(guest, manager) if missing and manager else ([], None))
    return {
        'manager': manager,
        'database': 'dpkg' if use_dpkg else 'files',
        'required': required,
        'missing': missing,
        'sources': sources,
        'proxy': proxy,
    }


def gather_fstab(guest):
    text = guest.read('/etc/fstab')
    return None if text is None else parsers.parse_fstab(text)


def add_usage(guest, mounts):
    """size/free bytes (statvfs) on each data mount, in place."""
    for mount in mounts or []:
        usage = guest.statvfs(mount['mountpoint'])
        mount['size_bytes'] = usage['size_bytes'] if usage else None
        mount['free_bytes'] = usage['free_bytes'] if usage else None


def gather_app_markers(guest):
    return [path for path in supported.APP_MARKERS if guest.exists(path)]


def gather_extensions(guest):
    in_progress = []
    custom_script = []
    ade_handlers = []
    handlers = []
    for entry in guest.listdir(WAAGENT_DIR):
        parsed = parsers.parse_handler_dir(entry)
        if parsed is None or not guest.isdir(WAAGENT_DIR + '/' + entry):
            continue
        handler, version = parsed
        handlers.append(entry)
        if 'CustomScript' in handler:
            custom_script.append(entry)
        if handler in (ADE_HANDLER, OSTC_ADE_HANDLER):
            ade_handlers.append(entry)
        status_dir = '%s/%s/status' % (WAAGENT_DIR, entry)
        seqs = []
        for name in guest.listdir(status_dir):
            stem = name[:-len('.status')] if name.endswith('.status') else None
            if stem is not None and stem.isdigit():
                seqs.append(int(stem))
        if not seqs:
            continue
        status_file = '%s/%d.status' % (status_dir, max(seqs))
        status = parsers.parse_status_file(guest.read(status_file))
        if status is None:
            continue
        if status['status'] == 'transitioning' and handler != ADE_HANDLER:
            in_progress.append({'handler': handler, 'version': version, 'status_file': status_file,
                                'status': status['status'], 'operation': status['operation']})
    return {
        'handlers': handlers,
        'in_progress': in_progress,
        'custom_script_handlers': custom_script,
        'ostc_ade_present': any(parsers.parse_handler_dir(h)[0] == OSTC_ADE_HANDLER for h in ade_handlers),
        'ade_handlers': ade_handlers,
    }


def gather_ade_state(guest, mounts):
    config_dir = guest.isdir(ADE_CONFIG_DIR)
    volume_type = None
    if config_dir:
        volume_type = parsers.parse_ini_value(guest.read(ADE_CONFIG_DIR + '/azure_crypt_config.ini'), 'VolumeType')
    mountpoints = set(m['mountpoint'] for m in (mounts or []))
    bek_fs = [m.get('fstype') for m in (mounts or []) if m['mountpoint'] == layout.BEK_MOUNTPOINT]
    return {
        'config_dir': config_dir,
        'volume_type': volume_type,
        'encryption_marker': guest.exists(ADE_CONFIG_DIR + '/azure_crypt_request_queue.ini'),
        'decryption_marker': guest.exists(ADE_CONFIG_DIR + '/azure_decrypt_request_queue.ini'),
        'bek_volume_mounted': layout.BEK_MOUNTPOINT in mountpoints,
        'os_encryption_markers': guest.listdir(ADE_CONFIG_DIR + '/os_encryption_markers') if config_dir else [],
        'bek': gather_bek(guest, bek_fs[0] if bek_fs else None,
                          parsers.parse_ini_value(guest.read(ADE_CONFIG_DIR + '/azure_crypt_config.ini'), 'BekFileName')
                          if config_dir else None),
    }


def gather_bek(guest, fstype, configured_name):
    """The BEK volume and its passphrase files (issue 16: a key rotation must not reboot a guest whose BEK volume lost
    them, Azure/azure-linux-extensions issue 2035). Like the extension (BekUtilVolumeImpl.get_bek_passphrase_file): the
    file named in azure_crypt_config.ini (BekFileName; default LinuxPassPhraseFileName), or any file whose name
    contains it (data disks: LinuxPassPhraseFileName_<controller>_<lun>). Names and sizes only (os.stat): a passphrase
    is never read, so no secret leaves the guest."""
    name = configured_name or BEK_DEFAULT_FILE
    mounted = fstype is not None
    files = []
    if mounted:
        for entry in guest.listdir(layout.BEK_MOUNTPOINT):
            if name in entry:
                files.append({'name': entry, 'size': guest.size(layout.BEK_MOUNTPOINT + '/' + entry)})
    usable = any((f['size'] or 0) > 0 for f in files)
    return {'mounted': mounted, 'fstype': fstype, 'passphrase_file_name': name, 'passphrase_files': files,
            'usable': mounted and usable}


def gather_crypt(guest, devices):
    crypttab_text = guest.read('/etc/crypttab')
    names = [d['name'] for d in (devices or []) if d['type'] == 'crypt']
    return {
        'devices': names,
        'crypttab': parsers.parse_crypttab(crypttab_text),
        'osencrypt': 'osencrypt' in names or guest.exists('/dev/mapper/osencrypt'),
        'resourceencrypt': 'resourceencrypt' in names or guest.exists('/dev/mapper/resourceencrypt'),
    }


def gather_vfat(guest, kernel_release):
    if 'vfat' in parsers.parse_proc_filesystems(guest.read('/proc/filesystems', required=True)):
        return {'loadable': True, 'how': 'loaded'}
    if guest.isdir('/sys/module/vfat'):
        return {'loadable': True, 'how': 'loaded'}
    if kernel_release:
        moddir = '/lib/modules/%s' % kernel_release
        if parsers.module_listed(guest.read(moddir + '/modules.builtin'), 'vfat'):
            return {'loadable': True, 'how': 'builtin'}
        if parsers.module_listed(guest.read(moddir + '/modules.dep'), 'vfat'):
            return {'loadable': True, 'how': 'module'}
    return {'loadable': False, 'how': 'missing'}


# --------------------------------------------------------------------------- network (only when asked)

def split_http_endpoint(endpoint):
    """'http://169.254.169.254[:port][/...]' -> (host, port). Only plain HTTP (IMDS never uses TLS)."""
    rest = endpoint.strip()
    if rest.lower().startswith('http://'):
        rest = rest[len('http://'):]
    elif '://' in rest:
        raise ValueError('only http:// endpoints are supported, got %s' % endpoint)
    hostport = rest.split('/', 1)[0]
    if hostport.startswith('['):
        host, _sep, port = hostport[1:].partition(']')
        port = port.lstrip(':')
    elif hostport.count(':') == 1:
        host, port = hostport.split(':')
    else:
        host, port = hostport, ''
    return host, int(port) if port else 80


def http_get(host, port, path, headers, timeout):
    """Plain HTTP/1.0 GET over a socket: never goes through a proxy (like ADE's IMDS call, noProxy).
    Returns (status, body text)."""
    lines = ['GET %s HTTP/1.0' % path, 'Host: %s' % host, 'User-Agent: azure_ade.linux-preflight',
             'Connection: close']
    lines.extend('%s: %s' % item for item in sorted(headers.items()))
    request = ('\r\n'.join(lines) + '\r\n\r\n').encode('ascii')
    sock = socket.create_connection((host, port), timeout)
    try:
        sock.settimeout(timeout)
        sock.sendall(request)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    raw = b''.join(chunks)
    head, _sep, body = raw.partition(b'\r\n\r\n')
    status_line = head.split(b'\r\n', 1)[0].decode('latin-1')
    parts = status_line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith('HTTP/') or not parts[1].isdigit():
        raise ValueError('not an HTTP answer: %r' % status_line[:80])
    return int(parts[1]), body.decode('utf-8', 'replace')


def probe_imds(endpoint, timeout):
    """GET the IMDS compute document: header Metadata: true, never through a proxy."""
    url = endpoint.rstrip('/') + IMDS_PATH
    result = {'endpoint': url, 'reachable': False, 'error': None, 'status': None}
    identity = None
    try:
        host, port = split_http_endpoint(endpoint)
        status, body = http_get(host, port, IMDS_PATH, {'Metadata': 'true'}, timeout)
    except (socket.error, socket.timeout, ValueError) as exc:
        result['error'] = '%s' % (exc,)
        return result, identity
    result['reachable'] = True  # it answered
    result['status'] = status
    if status != 200:
        result['error'] = 'HTTP %s %s' % (status, body.strip()[:200])
        return result, identity
    try:
        data = json.loads(body)
        security = (data.get('securityProfile') or {}).get('securityType')
        identity = {
            'subscription_id': data.get('subscriptionId'),
            'resource_group': data.get('resourceGroupName'),
            'name': data.get('name'),
            'location': data.get('location'),
            'vm_size': data.get('vmSize'),
            'security_type': security or None,
            'vm_id': data.get('vmId'),
        }
    except (ValueError, AttributeError) as exc:
        result['error'] = 'not the IMDS compute document: %s' % (exc,)
    return result, identity


def probe_tcp(host, port, timeout):
    result = {'endpoint': '%s:%s' % (host, port), 'reachable': False, 'error': None}
    sock = None
    try:
        sock = socket.create_connection((host, int(port)), timeout)
        result['reachable'] = True
    except (socket.error, socket.timeout, ValueError) as exc:
        result['error'] = '%s' % (exc,)
    finally:
        if sock is not None:
            sock.close()
    return result


def wireserver_address(guest, override=None):
    """host, port of the WireServer: the override, else the agent's WireServerEndpoint file like ADE,
    else the static 168.63.129.16."""
    if override:
        host, _sep, port = override.rpartition(':') if override.count(':') == 1 else (override, '', '')
        return (host or override), int(port) if port else 80
    text = guest.read(WIRESERVER_FILE)
    return (parsers.parse_wireserver_endpoint(text) or DEFAULT_WIRESERVER), 80


def probe_package_sources(packages, timeout, limit=3, guest=None):
    """TCP connect to the package proxy, else to up to `limit` distinct source hosts (a file: source on the guest
    answers when its directory exists); None when nothing is missing (no probe needed)."""
    if not packages or not packages.get('missing'):
        return None
    targets = []
    probed = []
    proxy = parsers.split_url(packages.get('proxy') or '') if packages.get('proxy') else None
    if proxy:
        targets.append(('proxy', proxy))
    else:
        for url in packages.get('sources') or []:
            if url.startswith('file:') and guest is not None:
                path = '/' + url[len('file:'):].lstrip('/')
                ok = guest.isdir(path)
                probed.append({'kind': 'local', 'url': url, 'endpoint': path, 'reachable': ok,
                               'error': None if ok else 'no such directory'})
                continue
            parsed = parsers.split_url(url)
            if parsed and all((parsed['host'], parsed['port']) != (t[1]['host'], t[1]['port']) for t in targets):
                targets.append(('source', parsed))
            if len(targets) >= limit:
                break
    for kind, target in targets:
        result = probe_tcp(target['host'], target['port'], timeout)
        result['kind'] = kind
        result['url'] = target['url']
        probed.append(result)
    return {'probed': probed, 'reachable': any(p['reachable'] for p in probed)}


def gather_network(guest, agent, imds_endpoint=None, wireserver_endpoint=None, timeout=2.0, packages=None):
    imds, identity = probe_imds(imds_endpoint or DEFAULT_IMDS_ENDPOINT, timeout)
    host, port = wireserver_address(guest, wireserver_endpoint)
    wire = probe_tcp(host, port, timeout)
    proxy = (agent or {}).get('http_proxy')
    if proxy and proxy.get('host'):
        # ADE sends the WireServer POST through waagent.conf's proxy
        wire['via_proxy'] = probe_tcp(proxy['host'], proxy.get('port') or 80, timeout)
    else:
        wire['via_proxy'] = None
    imds_facts = {'reachable': imds['reachable']}
    imds_facts.update(identity or dict((k, None) for k in (
        'subscription_id', 'resource_group', 'name', 'location', 'vm_size', 'security_type', 'vm_id')))
    return {'imds': imds, 'wireserver': wire,
            'package_sources': probe_package_sources(packages, timeout, guest=guest)}, imds_facts


# --------------------------------------------------------------------------- all together

def gather(run_command, root='/', network=False, imds_endpoint=None, wireserver_endpoint=None,
           timeout=2.0, uname=None, state_dir=DEFAULT_STATE_DIR):
    """One pass over the guest; returns the `azure_ade` facts dict (schema_version 1)."""
    guest = Guest(run_command, root=root, uname=uname)
    facts = {'schema_version': SCHEMA_VERSION}
    facts['distribution'] = gather_distribution(guest)
    facts['kernel'] = gather_kernel(guest)
    facts['memory'] = gather_memory(guest)
    facts['selinux'] = gather_selinux(guest, state_dir)
    dpkg_text = guest.read('/var/lib/dpkg/status')
    dpkg = parsers.parse_dpkg_status(dpkg_text, dpkg_names(facts['distribution'])) if dpkg_text is not None else None
    procs = scan_processes(guest)
    facts['agent'] = gather_agent(guest, procs, dpkg)
    devices = gather_block_devices(guest, facts['distribution'])
    raw_mounts = gather_mounts(guest)
    facts['block_devices'] = devices
    root_facts = layout.root_info(devices or [], raw_mounts or []) if (devices or raw_mounts) else None
    if root_facts is not None:
        root_facts['boot_separate'] = any(m['mountpoint'] == '/boot' for m in raw_mounts or [])
    facts['root'] = root_facts
    usage = guest.statvfs('/')
    facts['root_usage'] = {'size_bytes': usage['size_bytes'], 'free_bytes': usage['free_bytes']} if usage else None
    if raw_mounts is None:
        facts['mounts'] = None
        facts['data_mounts'] = None
        facts['nested_mounts'] = None
        facts['resource_disk_mountpoint'] = None
    else:
        mounts = layout.annotate_mounts(devices or [], raw_mounts, root_facts or {})
        facts['mounts'] = mounts
        facts['data_mounts'] = [m for m in mounts if m['is_data_drive']]
        add_usage(guest, facts['data_mounts'])
        facts['nested_mounts'] = layout.nested_pairs(mounts)
        facts['resource_disk_mountpoint'] = layout.resource_disk_mountpoint(
            mounts, facts['agent']['resource_disk']['mount_point'])
    facts['fstab'] = gather_fstab(guest)
    facts['crypt'] = gather_crypt(guest, devices)
    facts['processes'] = gather_processes(guest, procs, raw_mounts)
    facts['app_markers'] = gather_app_markers(guest)
    facts['extensions'] = gather_extensions(guest)
    facts['ade_state'] = gather_ade_state(guest, raw_mounts)
    facts['vfat'] = gather_vfat(guest, facts['kernel']['release'])
    facts['packages'] = gather_packages(guest, facts['distribution'], dpkg)
    facts['firmware'] = {'uefi': guest.isdir('/sys/firmware/efi')}
    if network:
        facts['network'], facts['imds'] = gather_network(
            guest, facts['agent'], imds_endpoint=imds_endpoint, wireserver_endpoint=wireserver_endpoint,
            timeout=timeout, packages=facts['packages'])
    else:
        facts['network'] = None
        facts['imds'] = None
    facts['errors'] = guest.errors
    return redact.facts(facts)  # last pass: no URL userinfo, no password=... anywhere in what leaves the guest

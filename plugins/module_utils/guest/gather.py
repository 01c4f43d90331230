# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the guest (files first, a command only where no file answers) and build `azure_ade` facts.

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.
This is the only guest code that touches the system, and it never changes it. Every failure to
read a source gives null for the fact and an entry in `errors`; nothing raises.
Commands run through a `run_command(argv) -> (rc, stdout, stderr)` callable given by the caller
(AnsibleModule.run_command with LC_ALL=C in the modules).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import errno
import json
import os
import socket

from ansible_collections.azure_ade.linux.plugins.module_utils.guest import layout
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import parsers
from ansible_collections.azure_ade.linux.plugins.module_utils.guest import supported


SCHEMA_VERSION = 1
DEFAULT_IMDS_ENDPOINT = 'http://169.254.169.254'
IMDS_PATH = '/metadata/instance/compute?api-version=2021-02-01'
DEFAULT_WIRESERVER = '168.63.129.16'
WIRESERVER_FILE = '/var/lib/waagent/WireServerEndpoint'
WAAGENT_DIR = '/var/lib/waagent'
ADE_CONFIG_DIR = '/var/lib/azure_disk_encryption_config'
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
LSBLK_OLD_COLUMNS = 'NAME,KNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL'
BIN_DIRS = ('/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin')


# Options of the network probes, shared by guest_facts and preflight (doc fragment azure_ade.linux.guest_network).
NETWORK_ARGUMENT_SPEC = dict(
    network_timeout=dict(type='float', default=2.0),
    imds_endpoint=dict(type='str', default=DEFAULT_IMDS_ENDPOINT),
    wireserver_endpoint=dict(type='str'),
)


def network_option_error(params):
    """Problem with the network probe options, or None."""
    if params['network_timeout'] <= 0:
        return 'network_timeout must be a positive number of seconds, got %s' % params['network_timeout']
    return None


def command_runner(module):
    """run(argv) -> (rc, out, err) through AnsibleModule.run_command, C locale, never raising on rc."""
    def run(argv):
        return module.run_command(argv, environ_update={'LC_ALL': 'C', 'LANG': 'C'}, check_rc=False)
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


def gather_selinux(guest):
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
    }


def gather_agent(guest):
    conf_text = guest.read('/etc/waagent.conf')
    conf = parsers.parse_waagent_conf(conf_text)
    service = None
    for unit, name in AGENT_UNITS:
        if guest.exists(unit):
            service = name
            break
    binary = guest.which('waagent')
    version = {'version': None, 'goal_state_version': None, 'python': None, 'running_on': None}
    if binary is not None:
        rc, out, err = guest.run([binary, '--version'])
        version = parsers.parse_waagent_version(out)
        if version['version'] is None:
            guest.error('waagent --version', 'rc=%s, no version in output: %s' % (rc, (err or out or '').strip()[:200]))
    return {
        'installed': binary is not None,
        'path': binary,
        'version': version['version'],
        'goal_state_version': version['goal_state_version'],
        'effective_version': version['goal_state_version'] or version['version'],
        'service': service,
        'config_present': conf_text is not None,
        'auto_update': conf['auto_update'],
        'http_proxy': conf['http_proxy'],
        'resource_disk': conf['resource_disk'],
    }


def gather_block_devices(guest):
    lsblk = guest.which('lsblk')
    if lsblk is None:
        guest.error('lsblk', 'lsblk not found in %s' % ', '.join(BIN_DIRS))
        return None
    rc, out, err = guest.run([lsblk, '-P', '-b', '-o', LSBLK_COLUMNS])
    devices = parsers.parse_lsblk_pairs(out)
    if rc != 0 and not devices:
        # util-linux before 2.23 (Ubuntu 14.04 has 2.20) lacks PKNAME/PTTYPE
        rc, out, err = guest.run([lsblk, '-P', '-b', '-o', LSBLK_OLD_COLUMNS])
        devices = parsers.parse_lsblk_pairs(out)
    if rc != 0 and not devices:
        guest.error('lsblk', 'rc=%s: %s' % (rc, (err or '').strip()[:300]))
        return None
    return devices


def gather_mounts(guest):
    text = guest.read('/proc/self/mountinfo')
    if text is not None:
        return parsers.parse_mountinfo(text)
    text = guest.read('/proc/mounts', required=True)
    if text is None:
        return None
    return parsers.parse_proc_mounts(text)


def gather_processes(guest):
    """Running applications that block OS encryption. Reads /proc/PID/comm once per process and
    /proc/PID/cmdline only for the few whose name matches."""
    blocking = []
    for entry in guest.listdir('/proc'):
        if not entry.isdigit():
            continue
        comm = guest.read('/proc/%s/comm' % entry)
        if comm is None:
            continue  # process exited meanwhile
        comm = comm.strip()
        app = supported.BLOCKING_PROCESSES.get(comm)
        if app is None and comm != 'java':
            continue
        cmdline = (guest.read('/proc/%s/cmdline' % entry) or '').replace('\0', ' ').strip()
        if app is None:
            if not any(marker in cmdline for marker in supported.CASSANDRA_MARKERS):
                continue
            app = 'cassandra'
        blocking.append({'app': app, 'name': comm, 'pid': int(entry), 'cmdline': cmdline})
    blocking.sort(key=lambda p: p['pid'])
    return {'blocking': blocking}


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
    return {
        'config_dir': config_dir,
        'volume_type': volume_type,
        'encryption_marker': guest.exists(ADE_CONFIG_DIR + '/azure_crypt_request_queue.ini'),
        'decryption_marker': guest.exists(ADE_CONFIG_DIR + '/azure_decrypt_request_queue.ini'),
        'bek_volume_mounted': layout.BEK_MOUNTPOINT in mountpoints,
        'os_encryption_markers': guest.listdir(ADE_CONFIG_DIR + '/os_encryption_markers') if config_dir else [],
    }


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


def gather_network(guest, agent, imds_endpoint=None, wireserver_endpoint=None, timeout=2.0):
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
    return {'imds': imds, 'wireserver': wire}, imds_facts


# --------------------------------------------------------------------------- all together

def gather(run_command, root='/', network=False, imds_endpoint=None, wireserver_endpoint=None,
           timeout=2.0, uname=None):
    """One pass over the guest; returns the `azure_ade` facts dict (schema_version 1)."""
    guest = Guest(run_command, root=root, uname=uname)
    facts = {'schema_version': SCHEMA_VERSION}
    facts['distribution'] = gather_distribution(guest)
    facts['kernel'] = gather_kernel(guest)
    facts['memory'] = gather_memory(guest)
    facts['selinux'] = gather_selinux(guest)
    facts['agent'] = gather_agent(guest)
    devices = gather_block_devices(guest)
    raw_mounts = gather_mounts(guest)
    facts['block_devices'] = devices
    root_facts = layout.root_info(devices or [], raw_mounts or []) if (devices or raw_mounts) else None
    facts['root'] = root_facts
    if raw_mounts is None:
        facts['mounts'] = None
        facts['data_mounts'] = None
        facts['nested_mounts'] = None
        facts['resource_disk_mountpoint'] = None
    else:
        mounts = layout.annotate_mounts(devices or [], raw_mounts, root_facts or {})
        facts['mounts'] = mounts
        facts['data_mounts'] = [m for m in mounts if m['is_data_drive']]
        facts['nested_mounts'] = layout.nested_pairs(mounts)
        facts['resource_disk_mountpoint'] = layout.resource_disk_mountpoint(
            mounts, facts['agent']['resource_disk']['mount_point'])
    facts['crypt'] = gather_crypt(guest, devices)
    facts['processes'] = gather_processes(guest)
    facts['app_markers'] = gather_app_markers(guest)
    facts['extensions'] = gather_extensions(guest)
    facts['ade_state'] = gather_ade_state(guest, raw_mounts)
    facts['vfat'] = gather_vfat(guest, facts['kernel']['release'])
    if network:
        facts['network'], facts['imds'] = gather_network(
            guest, facts['agent'], imds_endpoint=imds_endpoint, wireserver_endpoint=wireserver_endpoint,
            timeout=timeout)
    else:
        facts['network'] = None
        facts['imds'] = None
    facts['errors'] = guest.errors
    return facts

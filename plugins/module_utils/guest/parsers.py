# -*- coding: utf-8 -*-
# Copyright (c) azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure parsers: text as read from a guest -> plain data.

PRIVATE to the collection. Runs on the guest: Python 2.7 and 3.6+, stdlib only.
Nothing here reads a file or runs a command; gather.py does that and hands the text in.
Every function accepts None or '' and returns an empty/neutral result instead of raising.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import json
import re


# --------------------------------------------------------------------------- key=value files

def _unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in ('"', "'"):
        value = value[1:-1]
        # os-release(5): backslash escapes for \" \\ \$ \`
        if '\\' in value:
            value = re.sub(r'\\(["\\$`])', r'\1', value)
    return value


def parse_key_value(text, sep='='):
    """Shell-style KEY=value lines (os-release, lsb-release, selinux/config, waagent.conf).

    Comments (#) and blank lines are skipped; values may be quoted; a key may be empty-valued.
    """
    result = {}
    if not text:
        return result
    for line in text.splitlines():
        line = line.strip().lstrip("'")
        if not line or line.startswith('#') or sep not in line:
            continue
        key, value = line.split(sep, 1)
        key = key.strip()
        if not key or ' ' in key:
            continue
        # waagent.conf allows trailing comments after values: "Key=y # comment"
        value = value.split(' #', 1)[0] if not value.strip().startswith(('"', "'")) else value
        result[key] = _unquote(value)
    return result


# --------------------------------------------------------------------------- distribution

# os-release ID -> the name ADE's extension uses after normalisation (its Patching classes /
# SupportedOS.json keys). IDs not listed here (linuxmint, pop, neon, rocky, almalinux, eurolinux,
# virtuozzo, scientific, cloudlinux, amzn, fedora, ...) are NOT treated as their parents.
ADE_ID_BY_OS_RELEASE_ID = {
    'ubuntu': 'Ubuntu',
    'rhel': 'redhat',
    'redhat': 'redhat',
    'centos': 'centos',
    'sles': 'SuSE',
    'sles_sap': 'SuSE',
    'sled': 'SuSE',
    'suse': 'SuSE',
    'opensuse': 'SuSE',
    'opensuse-leap': 'SuSE',
    'ol': 'oracle',
    'oracle': 'oracle',
    'mariner': 'mariner',
    'azurelinux': 'azurelinux',
    'debian': 'debian',
}

# What the first words of a *-release file mean (the file alone, no os-release).
_RELEASE_FILE_PREFIXES = (
    ('red hat enterprise linux', 'rhel'),
    ('centos', 'centos'),
    ('oracle linux', 'ol'),
    ('suse linux enterprise', 'sles'),
    ('opensuse', 'opensuse'),
    ('common base linux mariner', 'mariner'),
    ('cbl-mariner', 'mariner'),
    ('microsoft azure linux', 'azurelinux'),
)

# Patterns are compiled where first used (re caches them): a guest only needs the few that match its files.
_RELEASE_RE = r'release\s+(\d+(?:\.\d+)*)\s*(?:beta\s*)?(?:\(([^)]*)\))?'


def parse_release_line(text):
    """'Red Hat Enterprise Linux Server release 7.2 (Maipo)' -> {'name', 'id', 'version', 'codename'}."""
    line = ''
    for candidate in (text or '').splitlines():
        if candidate.strip():
            line = candidate.strip()
            break
    if not line:
        return None
    lower = line.lower()
    os_id = None
    for prefix, pid in _RELEASE_FILE_PREFIXES:
        if lower.startswith(prefix):
            os_id = pid
            break
    version = None
    codename = None
    match = re.search(_RELEASE_RE, line, re.IGNORECASE)
    if match:
        version = match.group(1)
        codename = match.group(2)
    if os_id == 'centos' and 'stream' in lower.split('release')[0]:
        os_id = 'centos'  # CentOS Stream stays "centos" like the extension sees it (version "8")
    return {'name': line, 'id': os_id, 'version': version, 'codename': codename}


def parse_suse_release(text):
    """/etc/SuSE-release: first line name, then 'VERSION = 12' and 'PATCHLEVEL = 1'."""
    if not text or not text.strip():
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    kv = parse_key_value('\n'.join(lines[1:]), sep='=')
    name = lines[0].strip()
    version = kv.get('VERSION')
    patch = kv.get('PATCHLEVEL')
    full = version
    if version and patch and patch != '0' and '.' not in version:
        full = '%s.%s' % (version, patch)
    lower = name.lower()
    os_id = 'opensuse' if 'opensuse' in lower else ('sles' if 'suse' in lower else None)
    return {'name': name, 'id': os_id, 'version': full, 'codename': None}


def _first_version(value):
    match = re.match(r'\s*(\d+(?:\.\d+)*)', value or '')
    return match.group(1) if match else None


def parse_distribution(files):
    """Map of release-file path -> text (missing files absent or None) -> distribution facts.

    Keys read: /etc/os-release (else /usr/lib/os-release), /etc/lsb-release, /etc/redhat-release,
    /etc/centos-release, /etc/SuSE-release, /etc/debian_version, /etc/system-release,
    /etc/oracle-release.
    Returns {id, ade_id, version, version_full, ade_version, codename, pretty_name, id_like}.
    `ade_version` is the version string the extension matches against its allow-list
    (for RHEL/CentOS the *-release file's version, e.g. 7.6.1810; else VERSION_ID).
    """
    def get(path):
        return files.get(path) or None

    osr = parse_key_value(get('/etc/os-release') or get('/usr/lib/os-release'))
    lsb = parse_key_value(get('/etc/lsb-release'))
    centos_rel = parse_release_line(get('/etc/centos-release'))
    redhat_rel = parse_release_line(get('/etc/redhat-release'))
    oracle_rel = parse_release_line(get('/etc/oracle-release'))
    system_rel = parse_release_line(get('/etc/system-release'))
    suse_rel = parse_suse_release(get('/etc/SuSE-release'))
    debian_version = (get('/etc/debian_version') or '').strip() or None

    os_id = (osr.get('ID') or '').strip().lower() or None
    version = osr.get('VERSION_ID') or None
    version_full = None
    codename = osr.get('VERSION_CODENAME') or osr.get('UBUNTU_CODENAME') or None
    pretty = osr.get('PRETTY_NAME') or None

    if not os_id:
        # No (usable) os-release: lsb-release, then the distribution's own release file.
        lsb_id = (lsb.get('DISTRIB_ID') or '').strip().lower()
        if lsb_id:
            os_id = {'redhatenterpriseserver': 'rhel', 'redhatenterprise': 'rhel',
                     'suse linux': 'sles', 'suse': 'sles'}.get(lsb_id, lsb_id)
            version = lsb.get('DISTRIB_RELEASE') or None
            codename = lsb.get('DISTRIB_CODENAME') or None
            pretty = lsb.get('DISTRIB_DESCRIPTION') or None
        for rel in (centos_rel, oracle_rel, redhat_rel, suse_rel, system_rel):
            if rel is None:
                continue
            if os_id is None and rel['id'] is None:
                # the release file of something else (Virtuozzo, Scientific, CloudLinux, Fedora, ...)
                words = rel['name'].lower().split(' release')[0].split()
                os_id = re.sub(r'[^a-z0-9]+', '', words[0]) if words else None
                pretty = rel['name']
            elif rel['id'] is not None and os_id in (None, rel['id']):
                os_id = rel['id']
                version = version or rel['version']
                codename = codename or rel['codename']
                pretty = pretty or rel['name']
            else:
                continue
            break
        if not os_id and debian_version:
            os_id = 'debian'
            version = _first_version(debian_version)

    if os_id in ('rhel', 'centos'):
        # Rebuilds that keep ID=rhel/centos (Scientific Linux 7 says ID="rhel") are not RHEL/CentOS:
        # the release file and NAME must agree.
        rel = redhat_rel or centos_rel
        name = (osr.get('NAME') or '').lower()
        wanted = {'rhel': 'red hat', 'centos': 'centos'}[os_id]
        if (rel is not None and rel['id'] != os_id) or (name and wanted not in name):
            source = rel['name'] if rel is not None else osr.get('NAME', '')
            words = source.lower().split(' release')[0].split()
            os_id = re.sub(r'[^a-z0-9]+', '', words[0]) if words else None
    if os_id == 'ubuntu' and not codename:
        codename = lsb.get('DISTRIB_CODENAME') or None

    # Full version: the most precise source the guest has.
    if os_id == 'centos' and centos_rel and centos_rel['version']:
        version_full = centos_rel['version']
    elif os_id in ('rhel', 'centos') and redhat_rel and redhat_rel['id'] == os_id and redhat_rel['version']:
        version_full = redhat_rel['version']
    elif os_id == 'ol' and oracle_rel and oracle_rel['version']:
        version_full = oracle_rel['version']
    elif os_id == 'debian' and debian_version:
        version_full = _first_version(debian_version) or version
    elif os_id == 'ubuntu':
        version_full = _first_version(osr.get('VERSION')) or _first_version(
            lsb.get('DISTRIB_DESCRIPTION', '').replace('Ubuntu', '')) or version
    if not version_full:
        version_full = version
    if not version and version_full:
        version = version_full
    if os_id in ('rhel', 'centos') and not codename:
        for rel in (redhat_rel, centos_rel):
            if rel and rel['codename']:
                codename = rel['codename']
                break

    ade_id = ADE_ID_BY_OS_RELEASE_ID.get(os_id) if os_id else None
    if ade_id in ('redhat', 'centos', 'oracle'):
        ade_version = version_full
    else:
        ade_version = version
    return {
        'id': os_id,
        'ade_id': ade_id,
        'version': version,
        'version_full': version_full,
        'ade_version': ade_version,
        'codename': codename,
        'pretty_name': pretty,
        'id_like': (osr.get('ID_LIKE') or '').split() or [],
    }


# --------------------------------------------------------------------------- /proc, /etc small files

def parse_meminfo(text):
    """/proc/meminfo -> {'MemTotal': kB int, ...}."""
    result = {}
    for line in (text or '').splitlines():
        if ':' not in line:
            continue
        key, rest = line.split(':', 1)
        parts = rest.split()
        if parts and parts[0].isdigit():
            result[key.strip()] = int(parts[0])
    return result


SELINUX_MODES = ('disabled', 'permissive', 'enforcing')


def parse_selinux_config(text):
    """/etc/selinux/config -> {'config': mode|'invalid'|'absent', 'config_raw', 'policy'}."""
    if text is None:
        return {'config': 'absent', 'config_raw': None, 'policy': None}
    kv = parse_key_value(text)
    raw = kv.get('SELINUX')
    if raw is None:
        mode = 'invalid'
    else:
        mode = raw.strip().lower()
        if mode not in SELINUX_MODES:
            mode = 'invalid'
    return {'config': mode, 'config_raw': raw, 'policy': kv.get('SELINUXTYPE') or None}


def parse_selinux_enforce(text):
    """/sys/fs/selinux/enforce content -> 'enforcing' | 'permissive' | None."""
    value = (text or '').strip()
    if value == '1':
        return 'enforcing'
    if value == '0':
        return 'permissive'
    return None


_WAAGENT_VERSION_RE = r'WALinuxAgent-(\d+(?:\.\d+)+)'
_GOAL_STATE_RE = r'Goal state agent:\s*(\d+(?:\.\d+)+)'


def parse_waagent_version(text):
    """`waagent --version` -> {'version', 'goal_state_version', 'python', 'running_on'}."""
    result = {'version': None, 'goal_state_version': None, 'python': None, 'running_on': None}
    if not text:
        return result
    match = re.search(_WAAGENT_VERSION_RE, text)
    if match:
        result['version'] = match.group(1)
        run = re.search(r'running on (.+)', text.splitlines()[0] if text.splitlines() else '')
        if run:
            result['running_on'] = run.group(1).strip()
    match = re.search(_GOAL_STATE_RE, text)
    if match:
        result['goal_state_version'] = match.group(1)
    match = re.search(r'^Python:\s*(\S+)', text, re.MULTILINE)
    if match:
        result['python'] = match.group(1)
    return result


def _yes_no(value):
    if value is None:
        return None
    value = value.strip().lower()
    if value in ('y', 'yes', 'true', '1'):
        return True
    if value in ('n', 'no', 'false', '0'):
        return False
    return None


def parse_waagent_conf(text):
    """/etc/waagent.conf -> {'auto_update', 'http_proxy', 'resource_disk'}; None values when unset."""
    kv = parse_key_value(text)
    host = kv.get('HttpProxy.Host') or None
    port = kv.get('HttpProxy.Port') or None
    proxy = None
    if host and host.lower() != 'none':
        proxy = {'host': host, 'port': int(port) if port and port.isdigit() else None}
    return {
        'auto_update': _yes_no(kv.get('AutoUpdate.Enabled')),
        'http_proxy': proxy,
        'resource_disk': {
            'mount_point': kv.get('ResourceDisk.MountPoint') or None,
            'format': _yes_no(kv.get('ResourceDisk.Format')),
            'enable_swap': _yes_no(kv.get('ResourceDisk.EnableSwap')),
        },
    }


def parse_crypttab(text):
    """/etc/crypttab -> [{name, device, keyfile, options}]."""
    result = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        result.append({
            'name': parts[0],
            'device': parts[1] if len(parts) > 1 else None,
            'keyfile': parts[2] if len(parts) > 2 else None,
            'options': parts[3].split(',') if len(parts) > 3 else [],
        })
    return result


def parse_ini_value(text, key):
    """Value of `key` in an ini/ConfigParser file (any section), None if absent."""
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line[0] in '#;[':
            continue
        for sep in ('=', ':'):
            if sep in line:
                k, v = line.split(sep, 1)
                if k.strip().lower() == key.lower():
                    return v.strip() or None
                break
    return None


def parse_proc_filesystems(text):
    """/proc/filesystems -> set of filesystem names."""
    names = set()
    for line in (text or '').splitlines():
        parts = line.split()
        if parts:
            names.add(parts[-1])
    return names


def module_listed(text, module):
    """True if modules.builtin / modules.dep text lists <module>.ko (any compression): <module>.ko at the start of a
    line or after a /, an optional .<compression> suffix, then a colon, a blank or the end. A string search and a
    look at its neighbours: a regular expression over a distribution kernel's modules.dep (~450 KB) cost ~6 ms."""
    text = text or ''
    needle = module + '.ko'
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        if start == 0 or text[start - 1] in '/\n':
            if text[end:end + 1] == '.':
                letters = end + 1
                while text[letters:letters + 1] and 'a' <= text[letters] <= 'z':
                    letters += 1
                if letters > end + 1:
                    end = letters
            if end == len(text) or text[end] in ': \t\n\r\x0b\x0c':
                return True
        start = text.find(needle, start + 1)
    return False


def parse_wireserver_endpoint(text):
    """/var/lib/waagent/WireServerEndpoint -> dotted IPv4 string or None if invalid."""
    value = (text or '').strip()
    if re.match(r'^\d{1,3}(\.\d{1,3}){3}$', value) and all(int(p) < 256 for p in value.split('.')):
        return value
    return None


# --------------------------------------------------------------------------- lsblk

_LSBLK_PAIR_RE = r'([A-Z][A-Z0-9:_-]*)="((?:[^"\\]|\\.)*)"'


def _lsblk_unescape(value):
    # lsblk -P escapes unsafe chars as \xNN
    if '\\x' not in value:
        return value
    return re.sub(r'\\x([0-9a-fA-F]{2})', lambda m: chr(int(m.group(1), 16)), value)


def parse_lsblk_pairs(text):
    """`lsblk -P -b -o NAME,KNAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL,PTTYPE` -> list of devices.

    Lines that are not KEY="value" pairs (stderr noise like "lsblk: dm-0: failed to get device path")
    are ignored. Without PKNAME (old util-linux) the parent is taken from the tree order lsblk prints.
    Returns [{name, kname, parent, type, fstype, mountpoint, size_bytes, uuid, label, pttype}].
    """
    devices = []
    have_pkname = False
    last_by_type = {}
    last_disk = None
    pair_re = re.compile(_LSBLK_PAIR_RE)
    for line in (text or '').splitlines():
        pairs = pair_re.findall(line)
        if not pairs:
            continue
        row = dict((k, _lsblk_unescape(v)) for k, v in pairs)
        if 'NAME' not in row:
            continue
        if 'PKNAME' in row:
            have_pkname = True
        name = row.get('NAME')
        if name.startswith('/dev/'):
            name = name[5:]
        kname = row.get('KNAME') or name
        if kname.startswith('/dev/'):
            kname = kname[5:]
        dev_type = (row.get('TYPE') or '').lower() or None
        size = row.get('SIZE') or ''
        size_bytes = int(size) if size.isdigit() else None
        parent = row.get('PKNAME') or None
        if not have_pkname:
            if dev_type in ('disk', 'rom', 'loop'):
                parent = None
            elif dev_type == 'part':
                parent = last_disk
            else:
                parent = last_by_type.get('part') or last_disk
        dev = {
            'name': name,
            'kname': kname,
            'parent': parent,
            'type': dev_type,
            'fstype': row.get('FSTYPE') or None,
            'mountpoint': row.get('MOUNTPOINT') or None,
            'size_bytes': size_bytes,
            'uuid': row.get('UUID') or None,
            'label': row.get('LABEL') or None,
            'pttype': row.get('PTTYPE') or None,
        }
        devices.append(dev)
        if dev_type in ('disk', 'loop'):
            last_disk = kname
            last_by_type = {}
        elif dev_type == 'part':
            last_by_type['part'] = kname
    return devices


# --------------------------------------------------------------------------- mounts

def unescape_mount_field(value):
    """Octal escapes used by the kernel in mount tables: \\040 space, \\011 tab, \\012 newline, \\134 backslash."""
    if '\\' not in value:
        return value
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), value)


def parse_mountinfo(text):
    """/proc/self/mountinfo -> [{source, mountpoint, fstype, options, root, major_minor}]."""
    mounts = []
    for line in (text or '').splitlines():
        parts = line.split()
        if ' - ' not in line or len(parts) < 7:
            continue
        left, right = line.split(' - ', 1)
        lparts = left.split()
        rparts = right.split()
        if len(lparts) < 6 or len(rparts) < 2:
            continue
        mounts.append({
            'source': unescape_mount_field(rparts[1]),
            'mountpoint': unescape_mount_field(lparts[4]),
            'fstype': rparts[0],
            'options': lparts[5],
            'root': unescape_mount_field(lparts[3]),
            'major_minor': lparts[2],
        })
    return mounts


def parse_proc_mounts(text):
    """/proc/mounts (fstab format) -> [{source, mountpoint, fstype, options, root, major_minor}]."""
    mounts = []
    for line in (text or '').splitlines():
        line = line.strip().strip("'")
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) < 3:
            continue
        mounts.append({
            'source': unescape_mount_field(parts[0]),
            'mountpoint': unescape_mount_field(parts[1]),
            'fstype': parts[2],
            'options': parts[3] if len(parts) > 3 else '',
            'root': None,
            'major_minor': None,
        })
    return mounts


# --------------------------------------------------------------------------- agent / extensions

_HANDLER_DIR_RE = r'^(?P<handler>[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]+)+)-(?P<version>\d+(?:\.\d+)*)$'


def parse_handler_dir(name):
    """'Microsoft.Azure.Extensions.CustomScript-2.1.10' -> ('Microsoft.Azure.Extensions.CustomScript', '2.1.10').

    Returns None for other names (WALinuxAgent-2.2.53, files, ...).
    """
    match = re.match(_HANDLER_DIR_RE, name or '')
    if not match:
        return None
    return match.group('handler'), match.group('version')


def parse_status_file(text):
    """Extension <seq>.status JSON -> {'status', 'operation', 'message'} (lower-cased status) or None."""
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        return None
    if isinstance(data, list):
        data = data[0] if data else None
    if not isinstance(data, dict):
        return None
    status = data.get('status')
    if not isinstance(status, dict):
        return None
    message = status.get('formattedMessage') or {}
    if isinstance(message, dict):
        message = message.get('message')
    return {
        'status': (status.get('status') or '').lower() or None,
        'operation': status.get('operation'),
        'message': None if message is None else u'%s' % (message,),
    }


# --------------------------------------------------------------------------- fstab

def parse_fstab(text):
    """/etc/fstab -> [{spec, file, vfstype, options: [..]}] (comments and blank lines skipped)."""
    entries = []
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        entries.append({
            'spec': unescape_mount_field(parts[0]),
            'file': unescape_mount_field(parts[1]),
            'vfstype': parts[2] if len(parts) > 2 else None,
            'options': parts[3].split(',') if len(parts) > 3 else ['defaults'],
        })
    return entries


# --------------------------------------------------------------------------- packages and their sources

def parse_dpkg_status(text, names=None):
    """/var/lib/dpkg/status -> {package: version} of packages whose Status is 'install ok installed'.

    names: only these packages (a full image's database has ~1,000 stanzas; the callers ask for a dozen): a stanza
    that starts with another package's Package field is skipped unparsed."""
    installed = {}
    for stanza in re.split(r'\n\s*\n', text or ''):
        if names is not None and stanza.startswith('Package:'):
            end = stanza.find('\n')
            if stanza[8:end if end != -1 else len(stanza)].strip().split(':')[0] not in names:
                continue
        fields = {}
        for line in stanza.splitlines():
            if line[:1] in (' ', '\t') or ':' not in line:
                continue
            key, value = line.split(':', 1)
            fields[key.strip().lower()] = value.strip()
        name = fields.get('package')
        if name and fields.get('status', '').endswith(' installed') and \
                fields.get('status', '').split()[:1] == ['install']:
            name = name.split(':')[0]
            if names is None or name in names:
                installed[name] = fields.get('version')
    return installed


def upstream_version(debian_version):
    """'2.2.45-0ubuntu1~14.04.1' -> '2.2.45'; '1:2.7.3.0-4.1' -> '2.7.3.0'."""
    if not debian_version:
        return None
    value = debian_version.split(':', 1)[-1]
    value = value.rsplit('-', 1)[0] if '-' in value else value
    match = re.match(r'\d+(?:\.\d+)*', value)
    return match.group(0) if match else None


_URL_RE = r'^(?P<scheme>[a-z][a-z0-9+.-]*)://(?:[^@/]*@)?(?P<host>\[[^\]]+\]|[^:/\s]+)(?::(?P<port>\d+))?'


def split_url(url):
    """'http://user@host:8080/path' -> {'url', 'scheme', 'host', 'port'} or None (file:, cdrom:, mirror+file:)."""
    match = re.match(_URL_RE, (url or '').strip(), re.IGNORECASE)
    if not match:
        return None
    scheme = match.group('scheme').lower()
    if scheme.startswith('mirror+'):
        scheme = scheme[len('mirror+'):]
    if scheme not in ('http', 'https', 'ftp'):
        return None
    host = match.group('host').strip('[]')
    port = int(match.group('port')) if match.group('port') else {'http': 80, 'https': 443, 'ftp': 21}[scheme]
    return {'url': url.strip(), 'scheme': scheme, 'host': host, 'port': port}


def parse_apt_sources(text, deb822=False):
    """sources.list lines ('deb [opts] URI suite ...') or a deb822 .sources file -> [URI]."""
    uris = []
    if deb822:
        for stanza in re.split(r'\n\s*\n', text or ''):
            enabled = True
            found = []
            for line in stanza.splitlines():
                if ':' not in line or line.lstrip().startswith('#'):
                    continue
                key, value = line.split(':', 1)
                key = key.strip().lower()
                if key == 'uris':
                    found.extend(value.split())
                elif key == 'enabled' and value.strip().lower() in ('no', 'false', '0'):
                    enabled = False
            if enabled:
                uris.extend(found)
        return uris
    for line in (text or '').splitlines():
        line = line.split('#', 1)[0].strip()
        if not line.startswith('deb'):
            continue
        parts = line.split()
        if parts[0] not in ('deb', 'deb-src'):
            continue
        rest = parts[1:]
        if rest and rest[0].startswith('['):
            while rest and not rest[0].endswith(']'):
                rest = rest[1:]
            rest = rest[1:]
        if rest:
            uris.append(rest[0])
    return uris


_APT_PROXY_RE = r'Acquire\s*::\s*(?:https?\s*::\s*)?Proxy\s+"([^"]*)"'
_APT_PROXY_BLOCK_RE = r'Acquire\s*\{[^}]*?https?\s*\{[^}]*?Proxy\s+"([^"]*)"'


def parse_apt_proxy(text):
    """apt.conf(.d) text -> the first HTTP(S) proxy URL set with Acquire::http::Proxy, or None ("DIRECT" -> None)."""
    text = re.sub(r'(?m)^\s*(//|#).*$', '', text or '')
    for regex in (_APT_PROXY_RE, _APT_PROXY_BLOCK_RE):
        match = re.search(regex, text, re.IGNORECASE | re.DOTALL)
        if match and match.group(1) and match.group(1).upper() != 'DIRECT':
            return match.group(1)
    return None


def parse_repo_file(text):
    """yum/dnf/zypper .repo ini text -> [URL] of enabled repositories (baseurl, mirrorlist, metalink)."""
    urls = []
    section = None
    for raw in (text or '').splitlines() + ['[]']:
        line = raw.strip()
        if not line or line[0] in '#;':
            continue
        if line.startswith('['):
            if section is not None and section['enabled']:
                urls.extend(section['urls'])
            section = {'enabled': True, 'urls': []}
            continue
        if section is None or '=' not in line:
            if section is not None and section.get('last') == 'baseurl' and '://' in line:
                section['urls'].append(line.split()[0])
            continue
        key, value = line.split('=', 1)
        key = key.strip().lower()
        value = value.strip()
        section['last'] = key
        if key == 'enabled':
            section['enabled'] = value.lower() not in ('0', 'no', 'false')
        elif key in ('baseurl', 'mirrorlist', 'metalink'):
            section['urls'].extend(u for u in value.split() if '://' in u)
    return urls


def parse_proxy_setting(text, keys=('proxy',)):
    """proxy=URL from yum.conf/dnf.conf ([main]) or HTTP_PROXY="URL" from /etc/sysconfig/proxy -> URL or None."""
    kv = {}
    for line in (text or '').splitlines():
        line = line.strip()
        if not line or line[0] in '#;[' or '=' not in line:
            continue
        key, value = line.split('=', 1)
        kv[key.strip().lower()] = _unquote(value.strip())
    if 'proxy_enabled' in kv and kv['proxy_enabled'].lower() not in ('yes', 'true', '1'):
        return None
    for key in keys:
        value = kv.get(key.lower())
        if value and value.lower() not in ('_none_', 'none'):
            return value
    return None


# --------------------------------------------------------------------------- processes

def parse_proc_stat(text):
    """/proc/PID/stat -> {'comm', 'state', 'ppid', 'session', 'flags', 'starttime'} or None."""
    if not text or ')' not in text:
        return None
    left, right = text.rsplit(')', 1)
    comm = left.split('(', 1)[1] if '(' in left else ''
    fields = right.split()
    if len(fields) < 20:
        return None
    try:
        return {'comm': comm, 'state': fields[0], 'ppid': int(fields[1]), 'session': int(fields[3]),
                'flags': int(fields[6]), 'starttime': int(fields[19])}
    except ValueError:
        return None


def parse_proc_status_uid(text):
    """Real UID from /proc/PID/status, or None."""
    match = re.search(r'^Uid:\s+(\d+)', text or '', re.MULTILINE)
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------- agent versions from files

_AGENT_VERSION_MODULE_RE = r'^AGENT_VERSION\s*=\s*[\'"](\d+(?:\.\d+)+)[\'"]'
_EXTHANDLER_EGG_RE = r'WALinuxAgent-(\d+(?:\.\d+)+)'


def parse_agent_version_module(text):
    """azurelinuxagent/common/version.py -> AGENT_VERSION or None."""
    match = re.search(_AGENT_VERSION_MODULE_RE, text or '', re.MULTILINE)
    return match.group(1) if match else None


def exthandler_version(cmdline):
    """Command line of the agent's extension-handler process -> the goal-state agent version it runs,
    'installed' when it runs the installed agent (no WALinuxAgent-<version> egg/dir in it), None when the
    command line is not an extension handler."""
    args = (cmdline or '').replace('\0', ' ')
    if '-run-exthandlers' not in args:
        return None
    match = re.search(_EXTHANDLER_EGG_RE, args)
    return match.group(1) if match else 'installed'

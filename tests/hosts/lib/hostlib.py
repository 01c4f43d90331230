#!/usr/bin/env python
"""Build, start, stop and inspect the azure_ade test hosts (see ../README.md).

  hostlib.py up [NAME...]        build what is missing, start what is not running
  hostlib.py down [NAME...]      stop (kill the namespace, umount, detach loops, del netns)
  hostlib.py status              one line per host
  hostlib.py inventory           (re)write the inventories
  hostlib.py build [NAME...]     only build the disk images (what up does before starting)
  hostlib.py reset NAME...       stop + rebuild the disk images from the base rootfs
  hostlib.py forget NAME...      drop the ADE view the bridge gave a host (crypt.json, boot-hang); boot again if shown
  hostlib.py reboot NAME...      restart the running host from outside (reboot(2) in its PID namespace, as a
                                 guest `reboot` does: the supervisor boots it again, new boot ID, boot loader's kernel)

Internal: `boot NAME` runs as PID 1 of the host's new PID/mount/UTS namespace,
`_populate NAME` fills the images inside a private mount namespace.
State lives under $ADE_WORK/hosts (default /tmp/azure_ade/hosts).
"""
import base64
import ctypes
import hashlib
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import variants as V  # noqa: E402
import power as P  # noqa: E402

LIB = os.path.dirname(os.path.abspath(__file__))
WORK = os.environ.get("ADE_WORK", "/tmp/azure_ade")
HOSTS = os.path.join(WORK, "hosts")
BASE = os.path.join(WORK, "rootfs", "bullseye")
BASE_RPM = os.path.join(WORK, "rootfs", "bullseye-rpm")   # + rpm, dnf, zypper (up.sh step 2b)
RPMS = os.path.join(WORK, "rpms")                          # stub rpms, built once (build_rpm)
KEY = os.path.join(HOSTS, "id_ed25519")
ANSIBLE_TEST_KEY = os.path.expanduser("~/.ansible/test/id_rsa.pub")
PY = "/usr/bin/python3"
FORMAT_VERSION = "7"   # bump to force image rebuilds when the layout code changes

EXCLUDES = ["./proc/*", "./sys/*", "./dev/*", "./run/*", "./tmp/*", "./var/cache/apt/*",
            "./var/lib/apt/lists/*", "./usr/share/doc/*", "./usr/share/man/*", "./usr/share/locale/*",
            "./usr/share/info/*", "./var/log/*.log", "./etc/machine-id"]

libc = ctypes.CDLL("libc.so.6", use_errno=True)
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 32, 4096, 8192, 16384, 1 << 18
MNT_DETACH = 2


def log(msg):
    sys.stderr.write("[hosts] %s\n" % msg)
    sys.stderr.flush()


def run(cmd, **kw):
    kw.setdefault("check", True)
    return subprocess.run(cmd, **kw)  # pylint: disable=subprocess-run-check


def out(cmd):
    return subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout


def mount(source, target, fstype=None, flags=0, data=None):
    rc = libc.mount(source.encode() if source else None, target.encode(),
                    fstype.encode() if fstype else None, ctypes.c_ulong(flags),
                    data.encode() if data else None)
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, "mount(%s, %s, %s): %s" % (source, target, fstype, os.strerror(e)))


def umount2(target, flags=0):
    if libc.umount2(target.encode(), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "umount2(%s): %s" % (target, os.strerror(e)))


def hdir(name):
    return os.path.join(HOSTS, name)


def subnet(v):
    """First three octets of the host's /24 (fleet hosts of tests/hosts/lib/fleet.py carry their own)."""
    return v.get("subnet") or "10.203.%d" % v["n"]


def vm_ip(v):
    return subnet(v) + ".2"


def wire_ip(v):
    return subnet(v) + ".16"


def netns(v):
    return v.get("netns") or "ade-" + v["name"]


def veths(v):
    return v.get("veths") or ("adeh%d" % v["n"], "adeg%d" % v["n"])


def spec(name):
    """The spec of a host: one of variants.py, or a fleet host (spec.json written by fleet.py)."""
    v = V.by_name().get(name)
    if v is None:
        p = os.path.join(hdir(name), "spec.json")
        if not os.path.exists(p):
            raise KeyError("unknown test host %s (not in variants.py, no %s)" % (name, p))
        with open(p) as f:
            v = json.load(f)
    return v


def dev_path(d):
    if d["type"] not in ("disk", "part", "rom") and d.get("dm_name"):
        return "/dev/mapper/" + d["dm_name"]
    return "/dev/" + d["name"]


def fs_devices(v):
    devs = [d for d in v.get("devices", []) if d.get("fs")]
    return sorted(devs, key=lambda d: (d["fs"]["mountpoint"].rstrip("/").count("/") if d["fs"]["mountpoint"] != "/" else -1,
                                       d["fs"]["mountpoint"]))


def root_dev(v):
    return [d for d in v["devices"] if d.get("fs") and d["fs"]["mountpoint"] == "/"][0]


def kernel_info(v):
    key = v.get("kernel_key", v["kernel"])
    version, proc_mid, ko = V.KERNELS.get(key) or V.KERNELS.get(v["kernel"]) or (
        "#1 SMP Mon Jan 1 00:00:00 UTC 2024", "(buildd@azure-ade-test) (gcc version 4.8.4) ", "ko")
    return version, "Linux version %s %s%s\n" % (v["kernel"], proc_mid, version), ko


# ======================================================================= layer (guest files)
def waagent_script(v):
    a = v["agent"]
    interp = a["interpreter"]
    text = ("#!%s -u\n"
            "# Azure Linux Agent (azure_ade test host stand-in: answers like WALinuxAgent-%s)\n"
            "import os\nimport sys\nimport time\n\n"
            "VERSION_TEXT = %r\n"
            "USAGE = \"usage: %%s [-verbose] [-force] [-help] [-configuration-path:<path to configuration file>]"
            "-deprovision[+user]|-register-service|-version|-daemon|-start|-run-exthandlers|-show-configuration]\\n\"\n\n"
            "def main(argv):\n"
            "    for arg in argv[1:]:\n"
            "        opt = arg.lstrip('-').lower()\n"
            "        if opt in ('version', 'v'):\n"
            "            sys.stdout.write(VERSION_TEXT)\n"
            "            return 0\n"
            "        if opt in ('daemon', 'run-exthandlers'):\n"
            "            while True:\n"
            "                time.sleep(3600)\n"
            "        if opt in ('help', 'h'):\n"
            "            sys.stdout.write(USAGE %% argv[0])\n"
            "            return 0\n"
            "    sys.stderr.write(USAGE %% argv[0])\n"
            "    return 1\n\n"
            "if __name__ == '__main__':\n"
            "    sys.exit(main(sys.argv))\n") % (
        interp, a["version"],
        "WALinuxAgent-%s running on %s\nPython: %s\nGoal state agent: %s\n" % (a["version"], a["distro"], a["python"], a["goal"]))
    return text


SESTATUS = r"""#!/bin/sh
# sestatus (policycoreutils) as on RHEL/CentOS 7
cfg=$(sed -n 's/^[[:space:]]*SELINUX=[[:space:]]*\([A-Za-z]*\).*/\1/p' /etc/selinux/config 2>/dev/null | tail -1)
pol=$(sed -n 's/^[[:space:]]*SELINUXTYPE=[[:space:]]*\([A-Za-z]*\).*/\1/p' /etc/selinux/config 2>/dev/null | tail -1)
if [ ! -r /sys/fs/selinux/enforce ]; then
  printf '%-32s%s\n' "SELinux status:" disabled
  exit 0
fi
case $(cat /sys/fs/selinux/enforce) in 1) cur=enforcing ;; *) cur=permissive ;; esac
printf '%-32s%s\n' "SELinux status:" enabled "SELinuxfs mount:" /sys/fs/selinux "SELinux root directory:" /etc/selinux \
  "Loaded policy name:" "${pol:-targeted}" "Current mode:" "$cur" "Mode from config file:" "${cfg:-error (Success)}" \
  "Policy MLS status:" enabled "Policy deny_unknown status:" allowed "Max kernel policy version:" 31
"""

GETENFORCE = r"""#!/bin/sh
# getenforce (libselinux-utils) as on RHEL/CentOS 7
if [ -r /sys/fs/selinux/enforce ]; then
  case $(cat /sys/fs/selinux/enforce) in 1) echo Enforcing ;; *) echo Permissive ;; esac
else
  echo Disabled
fi
"""

SETENFORCE = r"""#!/bin/sh
# setenforce (libselinux-utils) as on RHEL/CentOS 7
usage() { echo "usage:  setenforce [ Enforcing | Permissive | 1 | 0 ]" >&2; exit 1; }
[ $# -eq 1 ] || usage
case $(echo "$1" | tr 'A-Z' 'a-z') in
  1|enforcing) val=1 ;;
  0|permissive) val=0 ;;
  *) usage ;;
esac
if [ ! -e /sys/fs/selinux/enforce ]; then
  echo "setenforce: SELinux is disabled" >&2
  exit 1
fi
if ! ( echo $val > /sys/fs/selinux/enforce ) 2>/dev/null; then
  echo "setenforce: security_setenforce() failed: Permission denied" >&2
  exit 1
fi
exit 0
"""

SELINUX_CONFIG = """
# This file controls the state of SELinux on the system.
# SELINUX= can take one of these three values:
#     enforcing - SELinux security policy is enforced.
#     permissive - SELinux prints warnings instead of enforcing.
#     disabled - No SELinux policy is loaded.
SELINUX=%(mode)s
# SELINUXTYPE= can take one of three values:
#     targeted - Targeted processes are protected,
#     minimum - Modification of targeted policy. Only selected processes are protected.%(sp)s
#     mls - Multi Level Security protection.
SELINUXTYPE=targeted%(sp)s


"""

LSB_RELEASE = r"""#!/bin/sh
# lsb_release as on Ubuntu (reads /etc/lsb-release)
. /etc/lsb-release
echo "No LSB modules are available." >&2
short=0; any=0
for a in "$@"; do case $a in -s|--short) short=1 ;; esac; done
p() { if [ $short = 1 ]; then echo "$2"; else printf '%s:\t%s\n' "$1" "$2"; fi; any=1; }
for a in "$@"; do
  case $a in
    -a|--all) p "Distributor ID" "$DISTRIB_ID"; p Description "$DISTRIB_DESCRIPTION"; p Release "$DISTRIB_RELEASE"; p Codename "$DISTRIB_CODENAME" ;;
    -i|--id) p "Distributor ID" "$DISTRIB_ID" ;;
    -d|--description) p Description "$DISTRIB_DESCRIPTION" ;;
    -r|--release) p Release "$DISTRIB_RELEASE" ;;
    -c|--codename) p Codename "$DISTRIB_CODENAME" ;;
    -cs|-sc) short=1; p Codename "$DISTRIB_CODENAME" ;;
    -rs|-sr) short=1; p Release "$DISTRIB_RELEASE" ;;
    -is|-si) short=1; p "Distributor ID" "$DISTRIB_ID" ;;
    -ds|-sd) short=1; p Description "$DISTRIB_DESCRIPTION" ;;
  esac
done
[ $any = 1 ] || echo "LSB Version:	core-9.20170808ubuntu1-noarch:security-9.20170808ubuntu1-noarch"
"""

RPM_QUERY = r"""#!/usr/bin/python3
# rpm, query subset (-q, -qa, --qf/--queryformat), over the packages this test host stands for
import re
import sys

PKGS = %s


def fmt(f, p):
    tags = {"NAME": p[0], "VERSION": p[1], "RELEASE": p[2], "ARCH": p[3]}
    return re.sub(r"%%\{(\w+)\}", lambda m: tags.get(m.group(1).upper(), "(none)"), f).encode().decode("unicode_escape")


def main(argv):
    qf = "%%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}\n"
    query = all_ = False
    names = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-q", "--query"):
            query = True
        elif a in ("-qa", "-aq"):
            query = all_ = True
        elif a in ("-a", "--all"):
            all_ = True
        elif a in ("--qf", "--queryformat"):
            i += 1
            qf = argv[i]
        elif a.startswith("--queryformat="):
            qf = a.split("=", 1)[1]
        elif a.startswith("-"):
            sys.stderr.write("rpm: %%s: only queries work on this test host\n" %% a)
            return 1
        else:
            names.append(a)
        i += 1
    if not query:
        sys.stderr.write("rpm: no operation specified\n")
        return 1
    rc = 0
    for p in PKGS if all_ else []:
        sys.stdout.write(fmt(qf, p))
    for n in names:
        hit = [p for p in PKGS if p[0] == n]
        if not hit:
            sys.stdout.write("package %%s is not installed\n" %% n)
            rc = 1
        for p in hit:
            sys.stdout.write(fmt(qf, p))
    return rc


sys.exit(main(sys.argv[1:]))
"""

DATALOSS = """WARNING: THIS IS A TEMPORARY DISK.

Any data stored on this drive is SUBJECT TO LOSS and THERE IS NO WAY TO RECOVER IT.

Please do not use this disk for storing any personal or application data.

For additional details to please refer to the MSDN documentation at :
http://msdn.microsoft.com/en-us/library/windowsazure/jj672979.aspx
"""


def fstab_text(v):
    lines = ["# /etc/fstab: static file system information (%s)" % v["name"]]
    fam = v["family"]
    for d in fs_devices(v):
        mp = d["fs"]["mountpoint"]
        if d["fs"]["content"] == "resource":
            if fam == "ubuntu1804":
                lines.append("/dev/disk/cloud/azure_resource-part1\t/mnt\tauto\t"
                             "defaults,nofail,x-systemd.requires=cloud-init.service,comment=cloudconfig\t0\t2")
            continue
        if d["type"] == "lvm":
            spec = dev_path(d)
        elif d.get("label") == "cloudimg-rootfs":
            spec = "LABEL=cloudimg-rootfs"
        else:
            spec = "UUID=" + d["uuid"]
        opts = "defaults,discard" if fam.startswith("ubuntu") and mp == "/" else "defaults"
        if d["fs"]["content"] in ("data", "full"):
            opts = d["fs"].get("fstab_opts") or "defaults,nofail"
        lines.append("%s\t%s\t%s\t%s\t0\t%d" % (spec, mp, d["fstype"], opts, 1 if mp == "/" and fam.startswith("ubuntu") else 0))
    for d in v["devices"]:
        if d.get("fstype") == "vfat":
            lines.append("UUID=%s\t/boot/efi\tvfat\tdefaults,uid=0,gid=0,umask=077,shortname=winnt\t0\t0" % d["uuid"])
        if d.get("fstype") == "swap":
            lines.append("%s\tswap\tswap\tdefaults\t0\t0" % dev_path(d))
    return "\n".join(lines) + "\n"


def layer_ops(v):
    """Everything that makes the Debian 11 rootfs look like the guest."""
    if v["family"] == "debian11":
        return [("file", "/etc/hostname", v["name"] + "\n", 0o644),
                ("file", "/etc/ssh/sshd_config.d/50-ade-test.conf", "PermitRootLogin prohibit-password\nUsePAM no\n", 0o644)]
    fam = v["family"]
    kver, proc_version, ko = kernel_info(v)
    ops = V.release_ops(fam)
    ops += [
        ("file", "/etc/hostname", v["name"] + "\n", 0o644),
        ("file", "/etc/hosts", "127.0.0.1 localhost\n127.0.1.1 %s\n\n::1 ip6-localhost ip6-loopback\n" % v["name"], 0o644),
        ("file", "/etc/fstab", fstab_text(v), 0o644),
        ("file", "/etc/ssh/sshd_config.d/50-ade-test.conf",
         "# azure_ade test host: root login with keys only\nPermitRootLogin prohibit-password\nUsePAM no\n", 0o644),
        ("preload", "/usr/lib/x86_64-linux-gnu/libade_uname.so", v["kernel"], kver),
        ("file", "/etc/ld.so.preload", "/usr/lib/x86_64-linux-gnu/libade_uname.so\n", 0o644),
        ("lsblk", "/usr/bin/lsblk"),
        ("waiter", v["pid1"]["path"]),
    ] + P.layer_ops(v)
    if v["pid1"]["path"] != "/sbin/init":
        ops.append(("symlink", "/sbin/init", "../lib/systemd/systemd"))
    if v.get("python_link"):
        ops.append(("symlink", "/usr/bin/python", "python2.7"))
    # kernel modules: vfat as a loadable module, as the guest kernels ship it
    mdir = "/lib/modules/%s" % v["kernel"]
    ops += [("kmod", "%s/kernel/fs/fat/fat.%s" % (mdir, ko), "fat", v["kernel"]),
            ("kmod", "%s/kernel/fs/fat/vfat.%s" % (mdir, ko), "vfat", v["kernel"]),
            ("file", "%s/modules.builtin" % mdir, "kernel/fs/ext4/ext4.ko\nkernel/fs/jbd2/jbd2.ko\nkernel/fs/mbcache.ko\n"
             if not fam.startswith("rhel") and fam != "centos7" else "kernel/fs/mbcache.ko\n", 0o644),
            ("file", "%s/modules.order" % mdir, "kernel/fs/fat/fat.ko\nkernel/fs/fat/vfat.ko\n", 0o644),
            ("depmod", v["kernel"]),
            ("file", "/boot/vmlinuz-%s" % v["kernel"], "", 0o755),
            ("file", "/boot/System.map-%s" % v["kernel"], "", 0o600),
            ("file", "/boot/config-%s" % v["kernel"], "CONFIG_VFAT_FS=m\nCONFIG_FAT_FS=m\nCONFIG_EXT4_FS=y\n", 0o644),
            ("file", ("/boot/initramfs-%s.img" if fam in ("rhel7", "centos7") else "/boot/initrd.img-%s") % v["kernel"], "", 0o600)]
    # agent
    a = v["agent"]
    unit_path, unit_text, service = V.unit_for(fam, a["interpreter"])
    ops += [("file", "/usr/sbin/waagent", waagent_script(v), 0o755),
            ("file", "/etc/waagent.conf", V.waagent_conf(fam, a["auto_update"]), 0o644),
            ("file", unit_path, unit_text, 0o644),
            ("file", "/var/lib/waagent/WireServerEndpoint", wire_ip(v), 0o644),
            ("file", "/var/lib/waagent/Incarnation", "1", 0o644),
            ("file", "/var/lib/waagent/provisioned", "", 0o644),
            ("dir", "/var/lib/waagent/history", 0o700, None),
            ("dir", "/var/lib/waagent/events", 0o700, None),
            ("file", "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/HandlerManifest.json",
             '[{"version": 1.0, "handlerManifest": {"installCommand": "bin/custom-script-shim install", '
             '"uninstallCommand": "bin/custom-script-shim uninstall", "updateCommand": "bin/custom-script-shim update", '
             '"enableCommand": "bin/custom-script-shim enable", "disableCommand": "bin/custom-script-shim disable", '
             '"rebootAfterInstall": false, "reportHeartbeat": false, "updateMode": "UpdateWithInstall"}}]\n', 0o644),
            ("file", "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/config/0.settings",
             '{"runtimeSettings":[{"handlerSettings":{"protectedSettingsCertThumbprint":null,"protectedSettings":null,'
             '"publicSettings":{"commandToExecute":"echo provisioned"}}}]}\n', 0o600),
            ("file", "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/status/0.status",
             '[{"version":"1.0","timestampUTC":"2024-05-02T09:14:27Z","status":{"operation":"Enable",'
             '"status":"success","formattedMessage":{"lang":"en","message":"Enable succeeded"}}}]\n', 0o644),
            ("file", "/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/HandlerEnvironment.json",
             '[{"name":"Microsoft.Azure.Extensions.CustomScript","seqNo":"0","version":1.0,"handlerEnvironment":'
             '{"logFolder":"/var/log/azure/custom-script","configFolder":"/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/config",'
             '"statusFolder":"/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/status",'
             '"heartbeatFile":"/var/lib/waagent/Microsoft.Azure.Extensions.CustomScript-2.1.10/heartbeat.log"}}]\n', 0o644),
            ("file", "/var/log/waagent.log",
             "2024-05-02T09:12:01.123456Z INFO Daemon Azure Linux Agent Version:%s\n"
             "2024-05-02T09:12:01.223456Z INFO Daemon OS: %s\n"
             "2024-05-02T09:12:01.323456Z INFO Daemon Python: %s\n" % (a["version"], a["distro"], a["python"]), 0o644)]
    if a.get("real_debs"):
        # the distribution's real agent package (files + dpkg entry); the processes stay the stand-in (see rc_script)
        ops.append(("file", STANDIN_WAAGENT, waagent_script(v), 0o755))
        ops += [("deb", name) for name in a["real_debs"]]
    if a["goal"] != a["version"]:
        ops += [("file", "/var/lib/waagent/WALinuxAgent-%s/HandlerManifest.json" % a["goal"],
                 '[{"name": "WALinuxAgent", "version": 1.0, "handlerManifest": {"installCommand": "", "uninstallCommand": "", '
                 '"updateCommand": "", "enableCommand": "python -u bin/WALinuxAgent-%s-py2.7.egg -run-exthandlers", '
                 '"disableCommand": "", "rebootAfterInstall": false, "reportHeartbeat": false}}]\n' % a["goal"], 0o644),
                ("egg", "/var/lib/waagent/WALinuxAgent-%s/bin/WALinuxAgent-%s-py2.7.egg" % (a["goal"], a["goal"]))]
    if fam == "ubuntu1404":
        ops.append(("file", "/etc/default/walinuxagent", "# To disable the Microsoft Azure Agent, set WALINUXAGENT_ENABLED=0\nWALINUXAGENT_ENABLED=1\n", 0o644))
    if fam.startswith("ubuntu"):
        ops.append(("file", "/usr/bin/lsb_release", LSB_RELEASE, 0o755))
        stanzas = ""
        for pkg, ver, section, desc in V.dpkg_packages(v):
            stanzas += ("Package: %s\nStatus: install ok installed\nPriority: optional\nSection: %s\nInstalled-Size: 1024\n"
                        "Maintainer: Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>\nArchitecture: amd64\n"
                        "Version: %s\nDescription: %s\n\n") % (pkg, section, ver, desc)
            ops.append(("file", "/var/lib/dpkg/info/%s.list" % pkg, "/.\n", 0o644))
        ops.append(("append", "/var/lib/dpkg/status", "\n" + stanzas))
        if v["kernel"] != "4.4.0-148-generic" and fam == "ubuntu1404":
            ops.append(("file", "/boot/vmlinuz-4.4.0-148-generic", "", 0o600))
    elif not v.get("rpm_tools"):
        ops.append(("file", "/usr/bin/rpm", RPM_QUERY % json.dumps(V.rpm_packages(v)), 0o755))
    # SELinux
    if v["selinux"]:
        ops += [("file", "/etc/selinux/config", SELINUX_CONFIG % {"mode": v["selinux"], "sp": " "}, 0o644),
                ("dir", "/etc/selinux/targeted/policy", 0o755, None),
                ("file", "/etc/selinux/targeted/policy/policy.31", "", 0o644),
                ("file", "/usr/sbin/getenforce", GETENFORCE, 0o755),
                ("file", "/usr/sbin/setenforce", SETENFORCE, 0o755),
                ("file", "/usr/sbin/sestatus", SESTATUS, 0o755)]
    # the resource disk's readme (on the resource filesystem)
    for d in fs_devices(v):
        if d["fs"]["content"] == "resource":
            ops.append(("file", d["fs"]["mountpoint"] + "/DATALOSS_WARNING_README.txt", DATALOSS, 0o644))
    ops += V.installed_package_ops(v)
    if v.get("rpm_tools"):
        ops += rpm_tool_ops(v)
    ops += v.get("extra_ops", [])
    return ops


def base_of(v):
    """The rootfs a host is built from: the rpm-family hosts with real package managers have their own."""
    return BASE_RPM if v.get("rpm_tools") else BASE


RPM_REPO = "/var/lib/ade-rpmrepo"


def rpm_tool_ops(v):
    """The real rpm database and package manager of an rpm-family host (base_of: Debian 11's rpm, dnf, zypper):
    stub rpms for what the guest has installed (V.rpm_packages), a local repository (RPM_REPO, createrepo_c) with
    the packages ADE installs and the agent (old + goal version), and the distribution's repo file pointing at it."""
    fam, a = v["family"], v["agent"]
    agent_pkg = V.rpm_packages(v)[0][0]
    installed, repo, seen = [], [], set()
    files = dict((name, paths) for name, _ver, _rel, paths in V.RPM_EXT_PACKAGES[fam])
    for name, ver, rel, arch in V.rpm_packages(v):
        if name == agent_pkg:
            pkg_files = {"/usr/sbin/waagent": (waagent_script(v), 0o755)}
        else:
            pkg_files = dict((p, ("" if p.endswith(".py") else V.STUB_BINARY, 0o644 if p.endswith(".py") else 0o755))
                             for p in files.get(name, ()) if p not in ("/usr/bin/ps", "/usr/bin/lsblk"))
        pkg = (name, ver, rel, arch, sorted(pkg_files.items()))
        if pkg[:4] in seen:
            continue
        seen.add(pkg[:4])
        if name in files or name == agent_pkg:
            repo.append(pkg)
        if name not in files or not v.get("packages_missing"):
            installed.append(pkg)
    for old in V.RPM_AGENT_OLD:
        if old != a["version"]:
            ov = dict(v, agent=dict(a, version=old, goal=old))
            repo.append((agent_pkg, old, V.rpm_packages(ov)[0][2], "noarch",
                         [("/usr/sbin/waagent", (waagent_script(ov), 0o755))]))
    ops = [("rpms", installed, repo)]
    if fam == "sles12":
        ops += [("file", "/etc/zypp/repos.d/ade-local.repo", V.RPM_REPO_FILE % {"repo": RPM_REPO, "zypper": "autorefresh=1\ntype=rpm-md\n"}, 0o644),
                ("rm", "/usr/bin/dnf"), ("rm", "/usr/bin/dnf-3"), ("rm", "/usr/bin/createrepo_c")]
    else:
        ops += [("file", "/etc/yum.repos.d/ade-local.repo", V.RPM_REPO_FILE % {"repo": RPM_REPO, "zypper": ""}, 0o644),
                ("file", "/etc/dnf/vars/releasever", "7Server\n" if fam == "rhel7" else "7\n", 0o644),
                ("rm", "/usr/bin/zypper"), ("rm", "/usr/bin/createrepo_c")]
    return ops


def build_rpm(name, ver, rel, arch, files):
    """A stub rpm (cached in $ADE_WORK/rpms by content), built with rpmbuild inside the rpm-family root."""
    digest = hashlib.sha256(json.dumps([name, ver, rel, arch, files]).encode()).hexdigest()[:16]
    out_dir = os.path.join(RPMS, digest)
    path = os.path.join(out_dir, "%s-%s-%s.%s.rpm" % (name, ver, rel, arch))
    if os.path.exists(path):
        return path
    top = "/tmp/ade-rpmbuild-" + digest
    host_top = inroot(BASE_RPM, top)
    shutil.rmtree(host_top, ignore_errors=True)
    os.makedirs(os.path.join(host_top, "SPECS"))
    install = "".join("mkdir -p %%{buildroot}%s\nbase64 -d > %%{buildroot}%s <<'EOF'\n%s\nEOF\nchmod %o %%{buildroot}%s\n" % (
        os.path.dirname(p), p, base64.b64encode(content.encode()).decode(), mode, p) for p, (content, mode) in files)
    with open(os.path.join(host_top, "SPECS", "stub.spec"), "w") as f:
        f.write("Name: %s\nVersion: %s\nRelease: %s\nSummary: azure_ade test stand-in of %s\nLicense: GPLv3+\n"
                "BuildArch: %s\nAutoReqProv: no\n\n%%description\nStand-in of %s built for the azure_ade test hosts.\n\n"
                "%%install\n%s\n%%files\n%s\n" % (name, ver, rel, name, arch, name, install,
                                                  "\n".join(p for p, _c in files)))
    run(["chroot", BASE_RPM, "rpmbuild", "-bb", "--quiet", "--define", "_topdir " + top,
         "--define", "debug_package %{nil}", "--define", "__os_install_post %{nil}", "--define", "_build_id_links none",
         top + "/SPECS/stub.spec"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.makedirs(out_dir, exist_ok=True)
    shutil.move(os.path.join(host_top, "RPMS", arch, os.path.basename(path)), path)
    shutil.rmtree(host_top, ignore_errors=True)
    return path


def install_rpms(root, installed, repo):
    """Install the stub rpms into the guest's rpm database (rpm -i, no scripts: the files are stubs) and lay out the
    local repository with createrepo_c, both with the guest's own tools."""
    tmp = inroot(root, "/var/tmp/ade-rpms")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    names = []
    for pkg in installed:
        src = build_rpm(*pkg)
        shutil.copy(src, tmp)
        names.append("/var/tmp/ade-rpms/" + os.path.basename(src))
    if names:
        run(["chroot", root, "rpm", "-i", "--nodeps", "--noscripts", "--nosignature"] + names,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(tmp, ignore_errors=True)
    repo_dir = inroot(root, RPM_REPO)
    os.makedirs(os.path.join(repo_dir, "Packages"), exist_ok=True)
    for pkg in repo:
        shutil.copy(build_rpm(*pkg), os.path.join(repo_dir, "Packages"))
    run(["chroot", root, "createrepo_c", "-q", RPM_REPO], stdout=subprocess.DEVNULL)


def layer_digest(v):
    h = hashlib.sha256()
    h.update(FORMAT_VERSION.encode())
    h.update(json.dumps(layer_ops(v), sort_keys=True, default=str).encode())
    spec = dict(v)
    spec.pop("imds", None)
    h.update(json.dumps(spec, sort_keys=True, default=str).encode())
    for f in ("lsblk_fake.py", "uname_preload.c", "waiter.c", "kmod_stub.c", "power.py"):
        with open(os.path.join(LIB, f), "rb") as fh:
            h.update(fh.read())
    base_stamp = base_of(v) + ".stamp"
    if os.path.exists(base_stamp):
        with open(base_stamp, "rb") as fh:
            h.update(fh.read())
    return h.hexdigest()


def inroot(root, path):
    """Resolve path inside root, treating absolute symlinks as relative to root."""
    parts = [p for p in path.split("/") if p]
    cur = root
    for i, p in enumerate(parts):
        nxt = os.path.join(cur, p)
        if i < len(parts) - 1 and os.path.islink(nxt):
            target = os.readlink(nxt)
            if target.startswith("/"):
                cur = inroot(root, target)
            else:
                cur = inroot(root, os.path.relpath(os.path.normpath(os.path.join(cur, target)), root))
        else:
            cur = nxt
    return cur


def _chown_name(root, path, user):
    if not user:
        return
    uid = gid = None
    with open(inroot(root, "/etc/passwd")) as f:
        for line in f:
            p = line.split(":")
            if p[0] == user:
                uid, gid = int(p[2]), int(p[3])
    with open(inroot(root, "/etc/group")) as f:
        for line in f:
            p = line.split(":")
            if p[0] == user:
                gid = int(p[2])
    os.lchown(path, uid, gid)


STANDIN_WAAGENT = "/usr/local/lib/azure-ade-test/waagent-standin"
DEBS = os.path.join(WORK, "debs")


def install_deb(root, filename):
    """Unpack a package from the Debian archive (fetched once with apt-get download into $ADE_WORK/debs) into the
    guest and record it in the guest's dpkg database, as dpkg -i would (no maintainer scripts)."""
    path = os.path.join(DEBS, filename)
    if not os.path.exists(path):
        os.makedirs(DEBS, exist_ok=True)
        name, version = filename.split("_")[:2]
        run(["apt-get", "download", "%s=%s" % (name, version.replace("%3a", ":"))], cwd=DEBS,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # tar keeps the rootfs' directory symlinks (merged /usr: /lib -> usr/lib), which dpkg-deb -x would replace
    tarball = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", path], stdout=subprocess.PIPE)
    run(["tar", "-C", root, "--keep-directory-symlink", "--no-overwrite-dir", "-xf", "-"], stdin=tarball.stdout)
    tarball.stdout.close()
    if tarball.wait() != 0:
        raise RuntimeError("dpkg-deb --fsys-tarfile %s failed" % path)
    fields = out(["dpkg-deb", "-f", path, "Package", "Version", "Architecture", "Maintainer", "Installed-Size",
                  "Depends", "Description"])
    name = fields.split("\n", 1)[0].split(":", 1)[1].strip()
    with open(inroot(root, "/var/lib/dpkg/status"), "a") as f:
        f.write("\n" + fields.replace("Package: %s\n" % name, "Package: %s\nStatus: install ok installed\n" % name, 1)
                .rstrip("\n") + "\n")
    files = [line.split(None, 5)[-1].lstrip(".") for line in out(["dpkg-deb", "-c", path]).splitlines()]
    with open(inroot(root, "/var/lib/dpkg/info/%s.list" % name), "w") as f:
        f.write("\n".join(p.rstrip("/") or "/." for p in files) + "\n")


def build_apt_repo(target, packages):
    """A local file-based apt repository (Packages index) of dummy packages [(name, version, [files])] that install
    a stub at each file (a mirror inside the guest that answers, for the role's packages task)."""
    os.makedirs(target, exist_ok=True)
    work = os.path.join(os.path.dirname(target.rstrip("/")), ".aptrepo-build")
    shutil.rmtree(work, ignore_errors=True)
    for name, version, files in packages:
        d = os.path.join(work, name)
        os.makedirs(os.path.join(d, "DEBIAN"))
        with open(os.path.join(d, "DEBIAN", "control"), "w") as f:
            f.write("Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: azure_ade.linux tests "
                    "<tests@example.invalid>\nSection: misc\nPriority: optional\nDescription: test stand-in of %s\n"
                    % (name, version, name))
        for path in files:
            p = os.path.join(d, path.lstrip("/"))
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write("#!/bin/sh\n# azure_ade test stand-in installed from the local mirror\nexit 0\n")
            os.chmod(p, 0o755)
        run(["dpkg-deb", "--root-owner-group", "--build", d, os.path.join(target, "%s_%s_all.deb" % (name, version))],
            stdout=subprocess.DEVNULL)
    shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(target, "Packages"), "w") as f:
        subprocess.run(["dpkg-scanpackages", "--multiversion", ".", "/dev/null"], cwd=target, stdout=f,
                       stderr=subprocess.DEVNULL, check=True)


def apply_layer(v, root):
    apply_ops(v, root, layer_ops(v))
    os.makedirs(os.path.join(hdir(v["name"]), "build"), exist_ok=True)


def apply_ops(v, root, ops):
    for op in ops:
        kind = op[0]
        if kind in ("file", "lsblk", "preload", "waiter", "egg") or kind == "symlink":
            p = inroot(root, op[1])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            if os.path.lexists(p) and not os.path.isdir(p):
                os.unlink(p)
        if kind == "file":
            with open(p, "w") as f:
                f.write(op[2])
            os.chmod(p, op[3])
            if len(op) > 4:
                _chown_name(root, p, op[4])
        elif kind == "symlink":
            os.symlink(op[2], p)
        elif kind == "append":
            with open(inroot(root, op[1]), "a") as f:
                f.write(op[2])
        elif kind == "rm":
            p = inroot(root, op[1])
            if os.path.lexists(p):
                os.unlink(p)
        elif kind == "dir":
            p = inroot(root, op[1])
            os.makedirs(p, exist_ok=True)
            os.chmod(p, op[2])
            _chown_name(root, p, op[3])
        elif kind == "lsblk":
            with open(os.path.join(LIB, "lsblk_fake.py")) as f:
                src = f.read()
            devs = []
            for d in v["devices"]:
                dd = dict((k, x) for k, x in d.items() if k not in ("fs",))
                devs.append(dd)
            src = src.replace("#!/usr/bin/env python\n", "#!/usr/bin/python3\n", 1)
            src = src.replace('UTIL_LINUX = "2.31.1"', "UTIL_LINUX = %r" % v["util_linux"], 1)
            src = src.replace("DEVICES = []  # list", "DEVICES = %r  # list" % (devs,), 1)
            with open(p, "w") as f:
                f.write(src)
            os.chmod(p, 0o755)
        elif kind == "preload":
            run(["gcc", "-O2", "-shared", "-fPIC", "-o", p,
                 "-DADE_RELEASE=\"%s\"" % op[2], "-DADE_VERSION=\"%s\"" % op[3],
                 os.path.join(LIB, "uname_preload.c")])
            os.chmod(p, 0o644)
        elif kind == "waiter":
            shutil.copyfile(os.path.join(HOSTS, ".bin", "waiter"), p)
            os.chmod(p, 0o755)
        elif kind == "egg":
            import zipfile
            with zipfile.ZipFile(p, "w") as z:
                z.writestr("__main__.py", "import time\nwhile True:\n    time.sleep(3600)\n")
            os.chmod(p, 0o644)
        elif kind == "user":
            name, uid, gid, home, shell = op[1:]
            with open(inroot(root, "/etc/passwd"), "a") as f:
                f.write("%s:x:%d:%d::%s:%s\n" % (name, uid, gid, home, shell))
            with open(inroot(root, "/etc/shadow"), "a") as f:
                f.write("%s:*:19000:0:99999:7:::\n" % name)
        elif kind == "group":
            name, gid = op[1:]
            with open(inroot(root, "/etc/group"), "a") as f:
                f.write("%s:x:%d:\n" % (name, gid))
            # a user of that name takes it as primary group
            pw = inroot(root, "/etc/passwd")
            with open(pw) as f:
                lines = f.readlines()
            with open(pw, "w") as f:
                for line in lines:
                    p2 = line.split(":")
                    if p2[0] == name:
                        p2[3] = str(gid)
                        line = ":".join(p2)
                    f.write(line)
        elif kind == "kmod":
            path, mod, release = op[1:]
            p = inroot(root, path)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            obj = p[:-3] if p.endswith(".xz") else p
            vermagic = "%s SMP mod_unload modversions " % release
            cmd = ["gcc", "-c", "-O0", "-fno-pic", "-DMOD_NAME=%s" % mod, "-DVERMAGIC=\"%s\"" % vermagic, "-o", obj,
                   os.path.join(LIB, "kmod_stub.c")]
            if mod == "fat":
                cmd.insert(1, "-DMOD_FAT")
            run(cmd)
            if p.endswith(".xz"):
                run(["xz", "-f", "--check=crc32", obj])
            os.chmod(p, 0o644)
        elif kind == "depmod":
            pass  # run by populate() with the rootfs' own depmod
        elif kind == "deb":
            install_deb(root, op[1])
        elif kind == "aptrepo":
            build_apt_repo(inroot(root, op[1]), op[2])
        elif kind == "rpms":
            install_rpms(root, op[1], op[2])
        elif kind == "fill":
            # fill the filesystem holding op[1] up to op[2] bytes left free (a full data volume)
            p = inroot(root, op[1])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            st = os.statvfs(os.path.dirname(p))
            size = st.f_bavail * st.f_frsize - op[2]
            with open(p, "wb") as f:
                if size > 0:
                    os.posix_fallocate(f.fileno(), 0, size)
        else:
            raise ValueError(op)


# ======================================================================= images
def image_path(v, d):
    return os.path.join(hdir(v["name"]), "images", d["name"] + ".img")


def needs_build(v):
    stamp_file = os.path.join(hdir(v["name"]), "images.stamp")
    if not os.path.exists(stamp_file) or open(stamp_file).read() != layer_digest(v):
        return True
    return not all(os.path.exists(image_path(v, d)) for d in fs_devices(v))


def build(v, force=False):
    name = v["name"]
    hd = hdir(name)
    os.makedirs(hd, exist_ok=True)
    stamp_file = os.path.join(hd, "images.stamp")
    digest = layer_digest(v)
    if v["family"] == "debian11":
        upper = os.path.join(hd, "upper")
        if force or not os.path.exists(stamp_file) or open(stamp_file).read() != digest:
            for sub in ("upper", "work"):
                shutil.rmtree(os.path.join(hd, sub), ignore_errors=True)
                os.makedirs(os.path.join(hd, sub))
            apply_layer(v, upper)
            with open(stamp_file, "w") as f:
                f.write(digest)
        return False
    imgs = [image_path(v, d) for d in fs_devices(v)]
    if not force and os.path.exists(stamp_file) and open(stamp_file).read() == digest and all(os.path.exists(i) for i in imgs):
        return False
    t0 = time.time()
    shutil.rmtree(os.path.join(hd, "images"), ignore_errors=True)
    os.makedirs(os.path.join(hd, "images"))
    for d in fs_devices(v):
        img = image_path(v, d)
        with open(img, "wb") as f:
            f.truncate(d["size"])
        if d["fstype"] == "ext4":
            cmd = ["mkfs.ext4", "-q", "-F", "-U", d["uuid"], "-E", "lazy_itable_init=1,lazy_journal_init=1"]
            if d.get("label"):
                cmd += ["-L", d["label"]]
            run(cmd + [img], stdout=subprocess.DEVNULL)
        else:
            cmd = ["mkfs.xfs", "-q", "-f", "-m", "uuid=%s" % d["uuid"]]
            if d.get("label"):
                cmd += ["-L", d["label"]]
            run(cmd + [img], stdout=subprocess.DEVNULL)
    run(["unshare", "--mount", "--propagation", "private", PY, os.path.abspath(__file__), "_populate", name])
    with open(stamp_file, "w") as f:
        f.write(digest)
    log("%s: images built in %.1f s" % (name, time.time() - t0))
    return True


def populate(name):
    """Inside a private mount namespace: mount the images nested, copy the base, apply the layer."""
    v = V.by_name()[name]
    m = os.path.join(hdir(name), "build", "m")
    os.makedirs(m, exist_ok=True)
    mounted = []
    try:
        for d in fs_devices(v):
            mp = d["fs"]["mountpoint"]
            target = m if mp == "/" else inroot(m, mp)
            os.makedirs(target, exist_ok=True)
            # nouuid: the same host may be running (xfs refuses a second mount of one UUID)
            opts = "loop,nouuid" if d["fstype"] == "xfs" else "loop"
            run(["mount", "-o", opts, image_path(v, d), target])
            mounted.append(target)
        excl = []
        for e in EXCLUDES:
            excl += ["--exclude", e]
        tar1 = subprocess.Popen(["tar", "-C", base_of(v), "--numeric-owner"] + excl + ["-cf", "-", "."], stdout=subprocess.PIPE)
        run(["tar", "-C", m, "--numeric-owner", "-xpf", "-"], stdin=tar1.stdout)
        tar1.stdout.close()
        if tar1.wait() != 0:
            raise RuntimeError("tar failed")
        for d in ("/proc", "/sys", "/dev", "/run", "/tmp"):
            os.makedirs(inroot(m, d), exist_ok=True)
        os.chmod(inroot(m, "/tmp"), 0o1777)
        apply_layer(v, m)
        # make every nested mount point exist in its parent fs too (they do, since we mounted on them)
        with open(inroot(m, "/etc/machine-id"), "w") as f:
            f.write(V.uid(name, "machine-id").replace("-", "") + "\n")
        # modules.dep.bin & co from the text files, with the guest's own depmod (kmod)
        for op in layer_ops(v):
            if op[0] == "depmod":
                run(["chroot", m, "/usr/sbin/depmod", op[1]], stdout=subprocess.DEVNULL)
    finally:
        for t in reversed(mounted):
            subprocess.run(["umount", t], check=False)


# ======================================================================= runtime data
def meminfo(total):
    free = int(total * 0.71)
    avail = int(total * 0.87)
    cached = int(total * 0.14)
    buffers = int(total * 0.012)
    f = [("MemTotal", total), ("MemFree", free), ("MemAvailable", avail), ("Buffers", buffers),
         ("Cached", cached), ("SwapCached", 0), ("Active", int(total * 0.11)), ("Inactive", int(total * 0.08)),
         ("Active(anon)", int(total * 0.045)), ("Inactive(anon)", 1280), ("Active(file)", int(total * 0.065)),
         ("Inactive(file)", int(total * 0.08) - 1280), ("Unevictable", 18432), ("Mlocked", 18432),
         ("SwapTotal", 0), ("SwapFree", 0), ("Dirty", 84), ("Writeback", 0), ("AnonPages", int(total * 0.04)),
         ("Mapped", int(total * 0.02)), ("Shmem", 1460), ("KReclaimable", int(total * 0.015)),
         ("Slab", int(total * 0.025)), ("SReclaimable", int(total * 0.015)), ("SUnreclaim", int(total * 0.01)),
         ("KernelStack", 3888), ("PageTables", 4716), ("NFS_Unstable", 0), ("Bounce", 0), ("WritebackTmp", 0),
         ("CommitLimit", total // 2), ("Committed_AS", int(total * 0.1)), ("VmallocTotal", 34359738367),
         ("VmallocUsed", 31768), ("VmallocChunk", 0), ("Percpu", 1952), ("HardwareCorrupted", 0),
         ("AnonHugePages", 0), ("ShmemHugePages", 0), ("ShmemPmdMapped", 0), ("FileHugePages", 0),
         ("FilePmdMapped", 0), ("CmaTotal", 0), ("CmaFree", 0)]
    lines = ["%-16s%8d kB" % (k + ":", n) for k, n in f]
    lines += ["HugePages_Total:       0", "HugePages_Free:        0", "HugePages_Rsvd:        0",
              "HugePages_Surp:        0", "Hugepagesize:       2048 kB", "Hugetlb:               0 kB",
              "DirectMap4k:      %8d kB" % 124864, "DirectMap2M:     %8d kB" % (total // 2), "DirectMap1G:     %8d kB" % (total // 2)]
    return "\n".join(lines) + "\n"


def partitions(v):
    lines = ["major minor  #blocks  name", ""]
    for d in v["devices"]:
        ma, mi = d["majmin"].split(":")
        lines.append("%4d  %7d %10d %s" % (int(ma), int(mi), d["size"] // 1024, d["kname"]))
    return "\n".join(lines) + "\n"


def rc_script(v):
    a = v["agent"]
    lines = ["#!/bin/bash", "rm -f \"$0\"", "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "cd /", "mkdir -p /run/sshd /run/lock && chmod 0755 /run/sshd"]
    # sshd starts last: a host that answers SSH already runs every process of its variant (up.sh waits for SSH only,
    # and a test that connected before busy-root's reportd was forked saw no root_busy process under CI load)
    sshd = ["/usr/sbin/sshd -D </dev/null >/dev/null 2>&1 &", "exit 0"]
    dargs = " ".join(a["daemon"])
    if v.get("fleet"):   # fleet hosts: sshd only (nothing reads the agent's processes; saves ~16 MB a host)
        return "\n".join(lines + sshd) + "\n"
    lines.append("%s </dev/null >/dev/null 2>&1 &" % dargs)
    # with the real agent package installed the processes run the stand-in (the real daemon would provision the VM)
    agent_script = STANDIN_WAAGENT if a.get("real_debs") else "/usr/sbin/waagent"
    if a["goal"] != a["version"]:
        lines.append("(cd /var/lib/waagent/WALinuxAgent-%s && exec -a python3 %s -u bin/WALinuxAgent-%s-py2.7.egg -run-exthandlers)"
                     " </dev/null >/dev/null 2>&1 &"
                     % (a["goal"], a["interpreter"], a["goal"]))
    else:
        lines.append("%s -u %s -run-exthandlers </dev/null >/dev/null 2>&1 &" % (a["interpreter"], agent_script))
    for p in v.get("processes", []):
        cmd = " ".join(p["argv"])
        if p.get("user"):
            cmd = "setpriv --reuid=%s --regid=%s --init-groups -- %s" % (p["user"], p["user"], cmd)
        lines.append("%s </dev/null >/dev/null 2>&1 &" % cmd)
    if v["name"] == "app-dockerd":
        lines.insert(4, "mkdir -p /run/containerd /run/docker && touch /run/containerd/containerd.sock /run/docker.pid")
    if v["name"] == "app-mongod":
        lines.insert(4, "mkdir -p /run/mongodb && chown mongodb:mongodb /run/mongodb")
    return "\n".join(lines + sshd) + "\n"


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def mknod(path, kind, major, minor, mode=0o660):
    os.mknod(path, mode | kind, os.makedev(major, minor))


def fake_sysfs_block(v, base):
    """/sys/class/block, /sys/block and /sys/dev/block for the guest's devices."""
    cls = os.path.join(base, "class_block")
    blk = os.path.join(base, "block")
    devb = os.path.join(base, "dev_block")
    for p in (cls, blk, devb):
        os.makedirs(p, exist_ok=True)
    children = {}
    for d in v["devices"]:
        for p in d.get("parents") or []:
            children.setdefault(p, []).append(d)
    for d in v["devices"]:
        dd = os.path.join(cls, d["kname"])
        os.makedirs(os.path.join(dd, "holders"), exist_ok=True)
        os.makedirs(os.path.join(dd, "slaves"), exist_ok=True)
        ma, mi = d["majmin"].split(":")
        write(os.path.join(dd, "dev"), d["majmin"] + "\n")
        write(os.path.join(dd, "size"), "%d\n" % (d["size"] // 512))
        write(os.path.join(dd, "ro"), "0\n")
        write(os.path.join(dd, "alignment_offset"), "0\n")
        write(os.path.join(dd, "discard_alignment"), "0\n")
        devtype = {"part": "partition"}.get(d["type"], "disk")
        write(os.path.join(dd, "uevent"), "MAJOR=%s\nMINOR=%s\nDEVNAME=%s\nDEVTYPE=%s\n%s" % (
            ma, mi, d["kname"], devtype, "PARTN=%d\n" % d["partnum"] if d["type"] == "part" else ""))
        if d["type"] in ("disk", "rom"):
            write(os.path.join(dd, "removable"), "1\n" if d["type"] == "rom" else "0\n")
            os.makedirs(os.path.join(dd, "queue"), exist_ok=True)
            write(os.path.join(dd, "queue", "rotational"), "1\n")
            write(os.path.join(dd, "queue", "logical_block_size"), "512\n")
            write(os.path.join(dd, "queue", "physical_block_size"), "4096\n")
            os.makedirs(os.path.join(dd, "device"), exist_ok=True)
            write(os.path.join(dd, "device", "model"), "Virtual Disk    \n" if d["type"] == "disk" else "Virtual CD/ROM  \n")
            write(os.path.join(dd, "device", "vendor"), "Msft    \n")
            os.symlink("../class/block/" + d["kname"], os.path.join(blk, d["kname"]))
        if d["type"] == "part":
            write(os.path.join(dd, "partition"), "%d\n" % d["partnum"])
            write(os.path.join(dd, "start"), "2048\n")
            os.symlink("../" + d["kname"], os.path.join(cls, d["parents"][0], d["kname"]))
        if d["type"] in ("lvm", "crypt"):
            os.makedirs(os.path.join(dd, "dm"), exist_ok=True)
            write(os.path.join(dd, "dm", "name"), d["dm_name"] + "\n")
            write(os.path.join(dd, "dm", "uuid"), d["dm_uuid"] + "\n")
            write(os.path.join(dd, "dm", "suspended"), "0\n")
            os.symlink("../class/block/" + d["kname"], os.path.join(blk, d["kname"]))
        for p in d.get("parents") or []:
            if d["type"] in ("lvm", "crypt"):
                pk = [x for x in v["devices"] if x["name"] == p][0]["kname"]
                os.symlink("../../" + pk, os.path.join(dd, "slaves", pk))
                os.symlink("../../" + d["kname"], os.path.join(cls, pk, "holders", d["kname"]))
        os.symlink("../../class/block/" + d["kname"], os.path.join(devb, d["majmin"]))
    return cls, blk, devb


# ======================================================================= fleet hosts (see fleet.py)
def fleet_mounts(v, R, hd):
    """A fleet host's filesystems: the root is an overlay of the kind's shared read-only layer over the base
    rootfs with the host's own upper dir, mounted under the guest's root device name (so mountinfo's source and
    lsblk's MOUNTPOINT agree); every other filesystem is a tmpfs under its guest device name holding what the
    layer put there. fstype in mountinfo is overlay/tmpfs (lsblk keeps the guest's): a known gap."""
    rd = root_dev(v)
    up, wk = os.path.join(hd, "upper"), os.path.join(hd, "work")
    mount(dev_path(rd), R, "overlay", 0, "lowerdir=%s:%s,upperdir=%s,workdir=%s" % (v["fleet_layer"], BASE, up, wk))
    for d in fs_devices(v):
        mp = d["fs"]["mountpoint"]
        if mp == "/":
            continue
        target = inroot(R, mp)
        os.makedirs(target, exist_ok=True)
        keep = os.path.join(hd, "stage", "keep" + mp.replace("/", "_"))
        shutil.copytree(target, keep, symlinks=True)
        mount(dev_path(d), target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=256m")
        for entry in os.listdir(keep):
            src, dst = os.path.join(keep, entry), os.path.join(target, entry)
            if os.path.isdir(src) and not os.path.islink(src):
                shutil.copytree(src, dst, symlinks=True)
            else:
                shutil.copy2(src, dst, follow_symlinks=False)
        shutil.rmtree(keep)


# ======================================================================= boot (PID 1 in the new namespaces)
def boot(name):
    v = spec(name)
    hd = hdir(name)
    with open(os.path.join(hd, "state.json")) as f:
        st = json.load(f)
    # after ADE (the bridge wrote crypt.json from the simulator): root/data on dm-crypt from this boot on
    crypt = {}
    if os.path.exists(os.path.join(hd, P.CRYPT_FILE)) and v["family"] != "debian11":
        with open(os.path.join(hd, P.CRYPT_FILE)) as f:
            crypt = json.load(f)
        v = P.crypt_view(v, crypt)
    hang = os.path.exists(os.path.join(hd, P.HANG_FILE))
    if hang:   # no network either: SSH times out as on a VM stuck at its passphrase prompt
        subprocess.run(["ip", "link", "set", "eth0", "down"], check=False)
    socket.sethostname(name)
    R = os.path.join(hd, "root")
    stage = os.path.join(hd, "stage")
    os.makedirs(R, exist_ok=True)
    os.makedirs(stage, exist_ok=True)
    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=16m")
    # guest /dev, built on a tmpfs mounted over /dev of this namespace so that the guest's
    # device names resolve while we mount its filesystems (the source string is kept as given)
    devsrc = "devtmpfs" if v["family"] in ("rhel7", "centos7", "sles12") else "udev"
    mount(devsrc, "/dev", "tmpfs", MS_NOSUID, "mode=755,size=8m")
    for n, ma, mi, mode in (("null", 1, 3, 0o666), ("zero", 1, 5, 0o666), ("full", 1, 7, 0o666),
                            ("random", 1, 8, 0o666), ("urandom", 1, 9, 0o666), ("tty", 5, 0, 0o666),
                            ("kmsg", 1, 11, 0o644)):
        mknod("/dev/" + n, stat.S_IFCHR, ma, mi, mode)
        os.chmod("/dev/" + n, mode)
    for n, t in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                 ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx"), ("core", "/proc/kcore")):
        os.symlink(t, "/dev/" + n)
    for p in ("pts", "shm", "mapper", "disk/by-uuid", "disk/by-label", "disk/by-partuuid", "disk/azure"):
        os.makedirs("/dev/" + p, exist_ok=True)
    loops = st.get("loops", {})
    if v["family"] != "debian11":
        mknod("/dev/mapper/control", stat.S_IFCHR, 10, 236, 0o600) if any(d["type"] in ("lvm", "crypt") for d in v["devices"]) else None
        for d in v["devices"]:
            if d.get("backing", d["name"]) in loops:
                ma, mi = loops[d.get("backing", d["name"])]["majmin"]
            else:
                ma, mi = [int(x) for x in d["majmin"].split(":")]
            mknod("/dev/" + d["kname"], stat.S_IFBLK, ma, mi, 0o660 if d["type"] != "rom" else 0o660)
            if d["type"] == "crypt":
                os.symlink("../" + d["kname"], "/dev/mapper/" + d["dm_name"])
            if d["type"] == "lvm":
                os.symlink("../" + d["kname"], "/dev/mapper/" + d["dm_name"])
                os.makedirs("/dev/" + d["vg"], exist_ok=True)
                os.symlink("../" + d["kname"], "/dev/%s/%s" % (d["vg"], d["lv"]))
            if d.get("uuid") and d["type"] != "disk":
                os.symlink("../../" + d["kname"], "/dev/disk/by-uuid/" + d["uuid"])
            if d.get("label"):
                os.symlink("../../" + d["kname"], "/dev/disk/by-label/" + d["label"])
            if d.get("partuuid"):
                os.symlink("../../" + d["kname"], "/dev/disk/by-partuuid/" + d["partuuid"])
            if d["type"] == "rom":
                os.symlink("sr0", "/dev/cdrom")
        for link, target in (("root", "sda"), ("resource", "sdb")):
            os.symlink("../../" + target, "/dev/disk/azure/" + link)
            for d in v["devices"]:
                if d.get("parents") == [target] and d["type"] == "part":
                    os.symlink("../../" + d["kname"], "/dev/disk/azure/%s-part%d" % (link, d["partnum"]))
        if v["family"] == "ubuntu1804":
            os.makedirs("/dev/disk/cloud", exist_ok=True)
            os.symlink("../../sda", "/dev/disk/cloud/azure_root")
            os.symlink("../../sda1", "/dev/disk/cloud/azure_root-part1")
            os.symlink("../../sdb", "/dev/disk/cloud/azure_resource")
            os.symlink("../../sdb1", "/dev/disk/cloud/azure_resource-part1")
        # filesystems, outermost first; the source string is the guest's device name
        if v.get("fleet"):
            fleet_mounts(v, R, hd)
        for d in ([] if v.get("fleet") else fs_devices(v)):
            mp = d["fs"]["mountpoint"]
            target = R if mp == "/" else inroot(R, mp)
            os.makedirs(target, exist_ok=True)
            mount(dev_path(d), target, d["fstype"], 0, d["fs"].get("opts") or None)
    else:
        up, wk = os.path.join(hd, "upper"), os.path.join(hd, "work")
        mount("overlay", R, "overlay", 0, "lowerdir=%s,upperdir=%s,workdir=%s" % (BASE, up, wk))
    # keys
    sshdir = inroot(R, "/root/.ssh")
    os.makedirs(sshdir, exist_ok=True)
    os.chmod(sshdir, 0o700)
    keys = ""
    for k in (KEY + ".pub", ANSIBLE_TEST_KEY):
        if os.path.exists(k):
            keys += open(k).read().strip() + "\n"
    write(os.path.join(sshdir, "authorized_keys"), keys, 0o600)
    # /proc with the guest's kernel/memory/disk view
    mount("proc", inroot(R, "/proc"), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    boot_rec = {"at": time.time(), "boot_id": str(uuid.uuid4()), "crypt": crypt, "hang": hang}
    if v["family"] != "debian11":
        # the kernel the guest's boot loader picks from its /boot (grub.cfg default, else the newest image)
        krel, why = P.pick_kernel(R, v["kernel"])
        if krel != v["kernel"]:
            v = dict(v, kernel=krel)
            v.pop("kernel_key", None)
        boot_rec.update(kernel=krel, why=why)
        proc_version = kernel_info(v)[1]
        rd = root_dev(v)
        files = {"meminfo": meminfo(v["mem_kb"]), "version": proc_version, "osrelease": v["kernel"] + "\n",
                 "kversion": kernel_info(v)[0] + "\n",
                 "cmdline": v["cmdline"].format(root_uuid=rd["uuid"], root_partuuid=rd.get("partuuid", "")) + "\n",
                 "partitions": partitions(v)}
        if v.get("swaps"):
            files["swaps"] = "Filename\t\t\t\tType\t\tSize\tUsed\tPriority\n" + "".join(
                "%s                               partition\t%s\t0\t-2\n" % tuple(s.split()) for s in v["swaps"])
        files["boot_id"] = boot_rec["boot_id"] + "\n"   # each boot is a new boot: its own boot ID
        for fn, text in files.items():
            write(os.path.join(stage, fn), text, 0o444)
        for fn in files:
            target = {"osrelease": "/proc/sys/kernel/osrelease", "boot_id": "/proc/sys/kernel/random/boot_id",
                      "kversion": "/proc/sys/kernel/version"}.get(fn, "/proc/" + fn)
            mount(os.path.join(stage, fn), inroot(R, target), None, MS_BIND)
            mount(None, inroot(R, target), None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    # /sys: real sysfs of this netns, with the guest's block devices and SELinux state
    sysd = inroot(R, "/sys")
    mount("sysfs", sysd, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    if v["family"] != "debian11":
        cls, blk, devb = fake_sysfs_block(v, os.path.join(stage, "sys"))
        for src, dst in ((cls, "class/block"), (blk, "block"), (devb, "dev/block")):
            mount(src, os.path.join(sysd, dst), None, MS_BIND | MS_REC)
        mount("tmpfs", os.path.join(sysd, "fs"), "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755,size=1m")
        for p in ("selinux", "cgroup", "pstore", "bpf", "fuse"):
            os.makedirs(os.path.join(sysd, "fs", p), exist_ok=True)
        if v["selinux"] in ("enforcing", "permissive"):
            sel = os.path.join(sysd, "fs", "selinux")
            mount("selinuxfs", sel, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=1m")
            write(os.path.join(sel, "enforce"), "1" if v["selinux"] == "enforcing" else "0", 0o644)
            for fn, text in (("policyvers", "31"), ("mls", "1"), ("deny_unknown", "0"), ("reject_unknown", "0"),
                             ("checkreqprot", "1")):
                write(os.path.join(sel, fn), text, 0o444)
    # /dev into the guest, plus devpts and shm
    mount("/dev", inroot(R, "/dev"), None, MS_MOVE)
    mount("devpts", inroot(R, "/dev/pts"), "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=620,gid=5")
    mount("tmpfs", inroot(R, "/dev/shm"), "tmpfs", MS_NOSUID | MS_NODEV)
    mount("tmpfs", inroot(R, "/run"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=755,size=%dk" % (v.get("mem_kb", 8000000) // 10))
    if v["family"] != "debian11":
        rc = inroot(R, "/run/ade-rc.sh")
        write(rc, rc_script(v), 0o700)
        # this boot's device table for the lsblk stand-in (differs from the built-in one after ADE)
        os.makedirs(inroot(R, "/run/azure-ade-test"), exist_ok=True)
        write(inroot(R, "/run/azure-ade-test/lsblk-devices.json"),
              json.dumps([dict((k, x) for k, x in d.items() if k not in ("fs",)) for d in v["devices"]]), 0o644)
    else:
        os.makedirs(inroot(R, "/run/sshd"), exist_ok=True)
    with open(os.path.join(hd, "boots.log"), "a") as f:
        f.write(json.dumps(boot_rec) + "\n")
    # become the guest: pivot_root into it and drop every mount of the test machine
    os.chdir(R)
    if libc.syscall(155, b".", b".") != 0:
        raise OSError(ctypes.get_errno(), "pivot_root")
    umount2(".", MNT_DETACH)
    os.chdir("/")
    fd = os.open("/dev/null", os.O_RDWR)
    for i in (0, 1, 2):
        os.dup2(fd, i)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    if v["family"] == "debian11":
        os.execve("/usr/sbin/sshd", ["/usr/sbin/sshd", "-D"], env)
    if not hang:   # hang: luksOpen never completes, the initramfs waits for ever (no sshd, no agent)
        env["ADE_RC"] = "/run/ade-rc.sh"
    env["ADE_COMM"] = v["pid1"]["comm"]
    os.execve(v["pid1"]["path"], v["pid1"]["argv"], env)


# ======================================================================= start / stop / status
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except (OSError, TypeError):
        return False


def read_state(name):
    p = os.path.join(hdir(name), "state.json")
    if os.path.exists(p):
        with open(p) as f:
            return json.load(f)
    return {}


def _children(pid):
    kids = []
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, tid)) as f:
                kids += [int(k) for k in f.read().split()]
    except OSError:
        pass
    return kids


def _is_ns_init(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("NSpid:"):
                    ids = line.split()[1:]
                    return len(ids) > 1 and ids[-1] == "1"
    except OSError:
        pass
    return False


def ns_init_pid(st):
    """PID (as the test machine sees it) of the host's PID 1: below its supervisor (super.c) and unshare."""
    pid = st.get("unshare_pid")
    if not pid or not alive(pid):
        return None
    level = [pid]
    for _depth in range(4):
        nxt = []
        for p in level:
            for k in _children(p):
                if _is_ns_init(k):
                    return k
                nxt.append(k)
        level = nxt
    return None


def tcp_ok(ip, port, timeout=1.0):
    try:
        with socket.create_connection((ip, port), timeout=timeout):
            return True
    except OSError:
        return False


def is_up(v):
    st = read_state(v["name"])
    if not st:
        return False
    if not os.path.exists("/run/netns/" + netns(v)):
        return False
    if not ns_init_pid(st):
        return False
    if v["azure"] and not v.get("fleet") and not alive(st.get("imds_pid")):
        return False
    return tcp_ok(vm_ip(v), 22)


def netns_up(v):
    ns = netns(v)
    h, g = veths(v)
    subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "link", "del", h], stderr=subprocess.DEVNULL, check=False)
    run(["ip", "netns", "add", ns])
    run(["ip", "link", "add", h, "type", "veth", "peer", "name", g])
    run(["ip", "link", "set", g, "netns", ns])
    run(["ip", "addr", "add", "%s.1/24" % subnet(v), "dev", h])
    run(["ip", "link", "set", h, "up"])
    run(["ip", "-n", ns, "link", "set", g, "name", "eth0"])
    run(["ip", "-n", ns, "addr", "add", "%s/24" % vm_ip(v), "dev", "eth0"])
    run(["ip", "-n", ns, "link", "set", "eth0", "up"])
    run(["ip", "-n", ns, "link", "set", "lo", "up"])
    if v["azure"]:
        run(["ip", "-n", ns, "addr", "add", "169.254.169.254/32", "dev", "lo"])
        run(["ip", "-n", ns, "addr", "add", "%s/32" % wire_ip(v), "dev", "lo"])


# The test hosts reach each other through this machine, as VMs of one virtual network do (issue 17: the rebuild's
# guest-to-guest copy, old guest -> new guest over SSH): each host gets a route to the test bed's /16 through its
# veth's host side, and this machine forwards IPv4. Only that /16: a host has no default route, so it still reaches
# nothing outside the test bed (pkgs-offline stays offline). The chaos fleet (tests/hosts/lib/fleet.py) is left out.
TESTBED_NET = "10.203.0.0/16"


def route_up(v):
    if v.get("fleet") or not subnet(v).startswith("10.203."):
        return
    run(["ip", "-n", netns(v), "route", "replace", TESTBED_NET, "via", subnet(v) + ".1"])


def forwarding_on():
    with open("/proc/sys/net/ipv4/ip_forward") as f:
        if f.read().strip() == "1":
            return
    with open("/proc/sys/net/ipv4/ip_forward", "w") as f:
        f.write("1\n")


OWNERS = "/run/ade-hosts"


def owner(v):
    """ADE_WORK of whoever runs this host now (netns names and addresses are machine-wide)."""
    p = os.path.join(OWNERS, v["name"])
    if os.path.exists(p) and os.path.exists("/run/netns/" + netns(v)):
        return open(p).read().strip()
    return None


def foreign(v):
    o = owner(v)
    if o and os.path.realpath(o) != os.path.realpath(WORK):
        return o
    return None


def start(v):
    name = v["name"]
    hd = hdir(name)
    other = foreign(v)
    if other:
        if os.environ.get("ADE_HOSTS_TAKEOVER") == "1":
            log("%s: run by ADE_WORK=%s; ADE_HOSTS_TAKEOVER=1, stopping it there" % (name, other))
            subprocess.run([PY, os.path.abspath(__file__), "down", name], env=dict(os.environ, ADE_WORK=other), check=False)
        else:
            raise SystemExit("%s is running from ADE_WORK=%s (addresses and netns names are machine-wide). "
                             "Stop it with `ADE_WORK=%s tests/hosts/down.sh`, or set ADE_HOSTS_TAKEOVER=1." % (name, other, other))
    stop(v, quiet=True)
    os.makedirs(OWNERS, exist_ok=True)
    with open(os.path.join(OWNERS, name), "w") as f:
        f.write(WORK + "\n")
    netns_up(v)
    st = {"loops": {}}
    if v["azure"] and not v.get("fleet"):
        for d in fs_devices(v):
            dev = out(["losetup", "--find", "--show", image_path(v, d)]).strip()
            rdev = os.stat(dev).st_rdev
            st["loops"][d["name"]] = {"dev": dev, "majmin": [os.major(rdev), os.minor(rdev)]}
    with open(os.path.join(hd, "state.json"), "w") as f:
        json.dump(st, f)
    for fn in ("boots.log", "link-hold"):
        if os.path.exists(os.path.join(hd, fn)):
            os.unlink(os.path.join(hd, fn))
    p = spawn(v, "w")
    st["unshare_pid"] = p.pid
    if v["azure"] and not v.get("fleet"):   # fleet hosts share one IMDS process (fleet.py)
        cfg = os.path.join(hd, "imds.json")
        with open(cfg, "w") as f:
            json.dump({"imds_addr": "169.254.169.254", "wireserver_addr": wire_ip(v), "instance": {
                "compute": v["imds"],
                "network": {"interface": [{"ipv4": {"ipAddress": [{"privateIpAddress": vm_ip(v), "publicIpAddress": ""}],
                                                    "subnet": [{"address": subnet(v) + ".0", "prefix": "24"}]},
                                           "ipv6": {"ipAddress": []}, "macAddress": "000D3A%06X" % v["n"]}]}}}, f, indent=1)
        ilog = open(os.path.join(hd, "imds.log"), "w")
        q = subprocess.Popen(["ip", "netns", "exec", netns(v), PY, os.path.join(LIB, "imds_server.py"), cfg],
                             stdin=subprocess.DEVNULL, stdout=ilog, stderr=ilog, start_new_session=True, close_fds=True)
        st["imds_pid"] = q.pid
    with open(os.path.join(hd, "state.json"), "w") as f:
        json.dump(st, f)
    return p


def spawn(v, mode="a"):
    """Power on: the host's supervisor (super.c) runs its namespace (`boot`) and boots it again after each reboot.
    The netns (and the IMDS sockets in it) must exist. `unshare_pid` in state.json is the supervisor's PID."""
    name = v["name"]
    logf = open(os.path.join(hdir(name), "boot.log"), mode)
    me = os.path.abspath(__file__)
    return subprocess.Popen([os.path.join(HOSTS, ".bin", "super"), PY, me, "rebooted", name, "--",
                             "ip", "netns", "exec", netns(v), "unshare", "--mount", "--pid", "--uts", "--ipc", "--fork",
                             "--kill-child", "--propagation", "private", PY, me, "boot", name],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf, start_new_session=True, close_fds=True)


REBOOT_SECONDS = float(os.environ.get("ADE_HOST_REBOOT_SECONDS", "3"))


def set_link(v, up):
    subprocess.run(["ip", "-n", netns(v), "link", "set", "eth0", "up" if up else "down"],
                   stderr=subprocess.DEVNULL, check=False)


def hold_link(name, hold):
    """The bridge keeps a host's link down (VM stopped, offline OS encryption): reboots then leave it down."""
    p = os.path.join(hdir(name), "link-hold")
    if hold:
        open(p, "w").close()
    elif os.path.exists(p):
        os.unlink(p)


def rebooted(name):
    """Supervisor hook after the guest rebooted (its PID namespace ended with SIGHUP): off the network for a moment,
    like a VM between shutdown and the next boot's sshd, then the supervisor boots it again."""
    v = spec(name)
    set_link(v, False)
    time.sleep(float(v.get("reboot_seconds", REBOOT_SECONDS)))
    if not os.path.exists(os.path.join(hdir(name), "link-hold")):
        set_link(v, True)
    return 0


def boots(name):
    p = os.path.join(hdir(name), "boots.log")
    if not os.path.exists(p):
        return []
    with open(p) as f:
        return [json.loads(line) for line in f if line.strip()]


def reboot(name):
    """Restart a host from outside, the way the guest does it: reboot(2) in its PID namespace (the supervisor boots
    it again). A host that is off (its namespace ended) is powered on. Does not wait."""
    v = spec(name)
    init = ns_init_pid(read_state(name))
    if init:
        subprocess.run(["nsenter", "-t", str(init), "-p", "--", PY, "-c",
                        "import ctypes, os; os.sync(); ctypes.CDLL(None).reboot(ctypes.c_uint(0x01234567))"],
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        return "rebooted"
    st = read_state(name)
    p = spawn(v)
    st["unshare_pid"] = p.pid
    with open(os.path.join(hdir(name), "state.json"), "w") as f:
        json.dump(st, f)
    return "powered on"


def power_off(name, timeout=5.0):
    """Pull the plug (files kept): the supervisor first, so that a host between two boots does not boot again, then
    its PID 1; returns once both are gone. hostlib.reboot powers it on again."""
    st = read_state(name)
    init = ns_init_pid(st)
    sup = st.get("unshare_pid")
    if sup and alive(sup):
        try:
            with open("/proc/%d/cmdline" % sup) as f:
                if "super" in f.read().split("\0")[0]:
                    os.kill(sup, 9)
        except OSError:
            pass
    if init:
        try:
            os.kill(init, 9)
        except OSError:
            pass
    t0 = time.time()
    while time.time() - t0 < timeout and ((sup and alive(sup)) or (init and alive(init))):
        for p in (sup, init):
            try:
                os.waitpid(p, os.WNOHANG)   # our own child (the fleet's supervisors are not): reaped here
            except (ChildProcessError, TypeError, OSError):
                pass
        time.sleep(0.05)


def wait_boot(name, n_before, timeout=120):
    """Wait until boot number n_before+1 has sshd answering; returns seconds waited."""
    v = spec(name)
    t0 = time.time()
    while time.time() - t0 < timeout:
        if len(boots(name)) > n_before and tcp_ok(vm_ip(v), 22, 0.3):
            return time.time() - t0
        time.sleep(0.1)
    raise RuntimeError("%s did not boot again within %d s (see %s/boot.log)" % (name, timeout, hdir(name)))


def wait_up(v, proc, timeout=30):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            break
        if tcp_ok(vm_ip(v), 22, 0.3):
            return True
        time.sleep(0.1)
    logp = os.path.join(hdir(v["name"]), "boot.log")
    raise RuntimeError("%s did not come up; %s:\n%s" % (v["name"], logp, open(logp).read()[-3000:]))


def stop(v, quiet=False):
    name = v["name"]
    other = foreign(v)
    if other:
        if not quiet:
            log("%s: left alone, it runs from ADE_WORK=%s" % (name, other))
        return
    st = read_state(name)
    init = ns_init_pid(st)
    sup = st.get("unshare_pid")
    if sup and alive(sup):   # the supervisor first, so that it does not boot the host again
        try:
            with open("/proc/%d/cmdline" % sup) as f:
                if "super" in f.read().split("\0")[0]:
                    os.kill(sup, 9)
        except OSError:
            pass
    if init:
        os.kill(init, 9)
    if st.get("unshare_pid") and alive(st["unshare_pid"]):
        for _attempt in range(50):
            if not alive(st["unshare_pid"]):
                break
            try:
                os.waitpid(st["unshare_pid"], os.WNOHANG)
            except ChildProcessError:
                pass
            time.sleep(0.05)
    ip = st.get("imds_pid")
    if ip and alive(ip):
        try:
            with open("/proc/%d/cmdline" % ip) as f:
                if "imds_server" in f.read():
                    os.kill(ip, 15)
        except OSError:
            pass
    ns = netns(v)
    if os.path.exists("/run/netns/" + ns):
        pids = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE, text=True, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), 9)
            except OSError:
                pass
        time.sleep(0.1 if pids else 0)
        subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL, check=False)
    subprocess.run(["ip", "link", "del", veths(v)[0]], stderr=subprocess.DEVNULL, check=False)
    for d, info in st.get("loops", {}).items():
        subprocess.run(["losetup", "-d", info["dev"]], stderr=subprocess.DEVNULL, check=False)
    # loops attached by an earlier, crashed run
    if v.get("devices") and not v.get("fleet"):
        for d in fs_devices(v):
            for line in subprocess.run(["losetup", "-j", image_path(v, d)], stdout=subprocess.PIPE, text=True, check=False).stdout.splitlines():
                subprocess.run(["losetup", "-d", line.split(":")[0]], stderr=subprocess.DEVNULL, check=False)
    sp = os.path.join(hdir(name), "state.json")
    if os.path.exists(sp):
        os.unlink(sp)
    op = os.path.join(OWNERS, name)
    if os.path.exists(op) and (not os.path.exists("/run/netns/" + netns(v)) or not foreign(v)):
        os.unlink(op)
    if not quiet:
        log("%s: stopped" % name)


def inventory():
    allv = V.variants()
    for kind, interp in (("py27", "/usr/bin/python2.7"), ("py3", "/usr/bin/python3")):
        lines = ["# written by tests/hosts/up.sh - azure_ade test hosts (%s)" % kind, "all:", "  children:",
                 "    ade_guests:", "      hosts:"]
        for v in allv:
            lines.append("        %s:" % v["name"])
            lines.append("          ansible_host: %s" % vm_ip(v))
        lines += ["      vars:", "        ansible_user: root",
                  "        ansible_ssh_private_key_file: %s" % KEY,
                  "        ansible_python_interpreter: %s" % interp,
                  "        ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null",
                  # one SSH command per guest task instead of three or four (mkdir, put, run, rm): measured on 8 hosts,
                  # a gather task cost the control node 1.6 -> 1.23 CPU-s, the guests 1.56 -> 1.30, wall 12/6.8 -> 5.6/4.1 s.
                  # Only the guests: the controller modules on localhost keep their AnsiballZ file, which the kill tests
                  # find by name (tests/integration/runproc.py). The chaos fleet sets it too (tests/chaos/run.sh).
                  "        ansible_pipelining: true"]
        # written aside and renamed: steps of the other host lane read it at any time (tests/ci/pipeline.sh), and
        # e2e's reboot section starts a host again (up.sh NAME) while they run
        path = os.path.join(HOSTS, "inventory-%s.yml" % kind)
        with open(path + ".tmp", "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(path + ".tmp", path)
    core = os.environ.get("ADE_CORE", "2.16")
    link = os.path.join(HOSTS, "inventory.yml")
    if os.path.lexists(link + ".tmp"):
        os.unlink(link + ".tmp")
    os.symlink("inventory-%s.yml" % ("py27" if core == "2.16" else "py3"), link + ".tmp")
    os.replace(link + ".tmp", link)


def select(names):
    allv = V.variants()
    if not names:
        return allv
    bn = dict((v["name"], v) for v in allv)
    bad = [n for n in names if n not in bn]
    if bad:
        sys.exit("unknown test host(s): %s (known: %s)" % (", ".join(bad), ", ".join(bn)))
    return [bn[n] for n in names]


def ensure_bins():
    os.makedirs(os.path.join(HOSTS, ".bin"), exist_ok=True)
    for b in ("waiter", "super"):
        binp = os.path.join(HOSTS, ".bin", b)
        src = os.path.join(LIB, b + ".c")
        if not os.path.exists(binp) or os.path.getmtime(binp) < os.path.getmtime(src):
            run(["gcc", "-O2", "-static", "-o", binp, src])


def cmd_up(names):
    t0 = time.time()
    ensure_bins()
    started = []
    for v in select(names):
        if needs_build(v):
            stop(v, quiet=True)   # a running host holds the old images (xfs refuses a 2nd mount of a UUID)
            build(v)
        elif is_up(v):
            continue
        started.append((v, start(v)))
    for v, p in started:
        wait_up(v, p)
        log("%s: up at %s" % (v["name"], vm_ip(v)))
    # hosts started earlier get the route too (idempotent), so a running test bed gains it without a restart
    forwarding_on()
    for v in select(names):
        if is_up(v):
            route_up(v)
    inventory()
    log("all up in %.1f s (%d started)" % (time.time() - t0, len(started)))


def cmd_status(names):
    for v in select(names):
        st = read_state(v["name"])
        up = is_up(v)
        print("%-16s %-12s %-5s init_pid=%s imds=%s" % (v["name"], vm_ip(v), "up" if up else "down",
                                                        ns_init_pid(st) if st else "-", st.get("imds_pid", "-") if st else "-"))


def main(argv):
    if not argv:
        sys.exit(__doc__)
    cmd, names = argv[0], argv[1:]
    if cmd == "boot":
        boot(names[0])
    elif cmd == "_populate":
        populate(names[0])
    elif cmd == "up":
        cmd_up(names)
    elif cmd == "down":
        for v in select(names):
            stop(v)
    elif cmd == "build":
        ensure_bins()
        for v in select(names):
            if needs_build(v):
                build(v)
    elif cmd == "reset":
        ensure_bins()
        for v in select(names):
            stop(v, quiet=True)
            for fn in (P.CRYPT_FILE, P.HANG_FILE, "link-hold"):   # what the bridge said about the VM
                if os.path.exists(os.path.join(hdir(v["name"]), fn)):
                    os.unlink(os.path.join(hdir(v["name"]), fn))
            build(v, force=True)
    elif cmd == "forget":   # drop what the bridge said about the VM; boot again if this boot showed it
        for n in names:
            hd = hdir(n)
            for fn in (P.CRYPT_FILE, P.HANG_FILE, "link-hold"):
                if os.path.exists(os.path.join(hd, fn)):
                    os.unlink(os.path.join(hd, fn))
            last = (boots(n) or [{}])[-1]
            if last.get("crypt") or last.get("hang"):
                before = len(boots(n))
                reboot(n)
                wait_boot(n, before)
                log("%s: booted again without the ADE view" % n)
    elif cmd == "rebooted":
        sys.exit(rebooted(names[0]))
    elif cmd == "reboot":
        for n in names:
            before = len(boots(n))
            t0 = time.time()
            how = reboot(n)
            waited = wait_boot(n, before)
            b = boots(n)[-1]
            log("%s: %s in %.1f s (ssh back); boot %d, kernel %s (%s), boot_id %s" % (
                n, how, time.time() - t0, len(boots(n)), b.get("kernel", "-"), b.get("why", ""), b["boot_id"]))
            del waited
    elif cmd == "status":
        cmd_status(names)
    elif cmd == "inventory":
        inventory()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])

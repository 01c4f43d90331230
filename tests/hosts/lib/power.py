"""Reboots of the test hosts: boot loader, power commands, and what a boot shows after ADE (see ../README.md).

* Boot loader: each boot runs the kernel the guest's GRUB would pick: the default entry of /boot/grub/grub.cfg
  (or /boot/grub2/grub.cfg; GRUB_DEFAULT numbers, titles, ids, `a>b` submenu paths and `saved` from grubenv),
  else the newest /boot/vmlinuz-* (what grub-mkconfig's 10_linux puts first), else the host's spec kernel.
  `grub-mkconfig` / `update-grub` in the Ubuntu guests are stand-ins that write grub.cfg the way 10_linux orders it
  (newest first), so installing or purging a kernel package changes what the next boot runs.
* Power commands in the guest (`reboot`, `shutdown -r|-h|-P|-c [TIME] [MSG]`, `halt`, `poweroff`) call reboot(2);
  in the host's PID namespace the kernel
  ends the namespace with SIGHUP (restart) or SIGINT (power off), which the host's supervisor (super.c) sees.
* After ADE: when the simulator shows a VM's volumes encrypted, the bridge (tests/chaos/guests.py) writes
  `crypt.json` in the host's dir; the next boot shows root (and data) on dm-crypt the way ADE leaves a guest:
  the partition is crypto_LUKS, its holder `osencrypt` (data: the partition's UUID) TYPE crypt is mounted from
  /dev/mapper/<name>, in lsblk, sysfs, /dev and /proc/partitions. `boot-hang` there: the next boot stops before
  the root is unlocked (luksOpen never completes): PID 1 runs, nothing else, the link stays down.
Pure helpers here (unit-tested in tests/hosts/test_power.py); hostlib.py does the mounts.
"""
import copy
import os
import re
import uuid

GRUB_CFGS = ("/boot/grub/grub.cfg", "/boot/grub2/grub.cfg")
CRYPT_FILE = "crypt.json"
HANG_FILE = "boot-hang"


def version_key(release):
    """Sort key of kernel releases like grub-mkconfig's version_sort (4.15.0-1113-azure > 4.4.0-148-generic)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"[.\-_~+]", release) if p != ""]


def newest(releases):
    return sorted(releases, key=version_key)[-1] if releases else None


def _entries(text):
    """Menu entries in order (submenus flattened, each with its path): [(title, id, kernel_release, path)]."""
    out = []
    stack = []
    entry = None
    for raw in text.splitlines():
        line = raw.strip()
        m = re.match(r"""(menuentry|submenu)\s+(['"])(.*?)\2(.*)\{\s*$""", line)
        if m:
            ident = None
            mi = re.search(r"""\$menuentry_id_option\s+(['"])(.*?)\1|--id[= ](['"]?)(\S+?)\3(\s|$)""", m.group(4))
            if mi:
                ident = mi.group(2) or mi.group(4)
            if m.group(1) == "submenu":
                stack.append((m.group(3), ident))
            else:
                entry = {"title": m.group(3), "id": ident, "kernel": None, "path": [s[0] for s in stack]}
            continue
        if entry is not None:
            k = re.match(r"(linux|linux16|linuxefi)\s+(\S+)", line)
            if k:
                entry["kernel"] = os.path.basename(k.group(2)).replace("vmlinuz-", "", 1)
            if line == "}":
                out.append(entry)
                entry = None
            continue
        if line == "}" and stack:
            stack.pop()
    return out


def grub_default(text, grubenv=""):
    """The kernel release GRUB boots by default from grub.cfg text (None if it names none). Pure."""
    entries = _entries(text)
    if not entries:
        return None
    default = "0"
    for line in text.splitlines():
        m = re.match(r"""\s*set\s+default=(['"]?)(.*?)\1\s*$""", line)
        if m and not line.startswith((" ", "\t")):
            default = m.group(2)
    if default in ("${saved_entry}", "saved", "${next_entry}"):
        m = re.search(r"^saved_entry=(.*)$", grubenv or "", re.M)
        default = m.group(1).strip() if m else "0"
    want = default.split(">")[-1]
    top = [e for e in entries if not e["path"]]
    if want.isdigit():
        if ">" in default:
            pool = [e for e in entries if e["path"]]
        else:
            pool = top
        i = int(want)
        return pool[i]["kernel"] if i < len(pool) else None
    for e in entries:
        if want in (e["title"], e["id"]):
            return e["kernel"]
    return None


def pick_kernel(root, fallback):
    """(release, why) the guest's boot loader would boot, reading the guest's /boot under `root`."""
    boot = os.path.join(root, "boot")
    try:
        installed = [f[len("vmlinuz-"):] for f in os.listdir(boot) if f.startswith("vmlinuz-")]
    except OSError:
        installed = []
    for cfg in GRUB_CFGS:
        p = os.path.join(root, cfg.lstrip("/"))
        if os.path.exists(p):
            with open(p) as f:
                text = f.read()
            envp = os.path.join(os.path.dirname(p), "grubenv")
            env = open(envp).read() if os.path.exists(envp) else ""
            k = grub_default(text, env)
            if k and k in installed:
                return k, "default entry of %s" % cfg
            if k:
                return fallback, "%s names %s, not in /boot: booted %s" % (cfg, k, fallback)
    if installed:
        return newest(installed), "newest /boot/vmlinuz-* (no grub.cfg)"
    return fallback, "no kernel in /boot: the spec's"


def grub_cfg(releases, default="0", root="", prefix="/boot", initrds=None):
    """grub.cfg text as grub-mkconfig's 10_linux writes it: one entry per kernel, newest version first."""
    initrds = initrds or {}
    rels = sorted(releases, key=version_key, reverse=True)
    lines = ["#", "# DO NOT EDIT THIS FILE", "#", "# It is automatically generated by grub-mkconfig using templates",
             "# from /etc/grub.d and settings from /etc/default/grub", "#", "",
             "set default=\"%s\"" % ("${saved_entry}" if default == "saved" else default), ""]
    for r in rels:
        lines += ["menuentry 'Linux, with Linux %s' --class gnu-linux --class os $menuentry_id_option 'gnulinux-%s' {" % (r, r),
                  "\tlinux\t%s/vmlinuz-%s root=%s ro console=ttyS0" % (prefix, r, root)]
        if initrds.get(r):
            lines.append("\tinitrd\t%s/%s" % (prefix, initrds[r]))
        lines += ["}", ""]
    return "\n".join(lines) + "\n"


GRUB_MKCONFIG_MAIN = r'''
def main(argv):
    out = argv[argv.index("-o") + 1] if "-o" in argv else None
    default = "0"
    if os.path.exists("/etc/default/grub"):
        for line in open("/etc/default/grub"):
            m = re.match(r"""\s*GRUB_DEFAULT=(['"]?)(.*?)\1\s*$""", line)
            if m:
                default = m.group(2)
    rels = sorted([f[8:] for f in os.listdir("/boot") if f.startswith("vmlinuz-")], key=version_key, reverse=True)
    sys.stderr.write("Generating grub configuration file ...\n")
    root = ([w[5:] for w in open("/proc/cmdline").read().split() if w.startswith("root=")] or [""])[0]
    initrds = {}
    for r in rels:
        sys.stderr.write("Found linux image: /boot/vmlinuz-%s\n" % r)
        for i in ("initrd.img-%s" % r, "initramfs-%s.img" % r):
            if os.path.exists("/boot/" + i):
                initrds[r] = i
                sys.stderr.write("Found initrd image: /boot/%s\n" % i)
                break
    text = grub_cfg(rels, default, root, "" if os.path.ismount("/boot") else "/boot", initrds)
    if out:
        with open(out + ".new", "w") as f:
            f.write(text)
        os.rename(out + ".new", out)
    else:
        sys.stdout.write(text)
    sys.stderr.write("done\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
'''


def grub_mkconfig_script():
    """The guest's grub-mkconfig stand-in: this module's version_key + grub_cfg (one source) and a main."""
    import inspect  # pylint: disable=import-outside-toplevel
    return ("#!/usr/bin/python3\n# grub-mkconfig stand-in of an azure_ade test host (tests/hosts/lib/power.py): writes grub.cfg\n"
            "# with one entry per /boot/vmlinuz-*, newest first (GRUB's 10_linux order), GRUB_DEFAULT from\n"
            "# /etc/default/grub. The host's boot loader model reads it at the next boot.\nimport os\nimport re\nimport sys\n\n\n"
            + inspect.getsource(version_key) + "\n\n" + inspect.getsource(grub_cfg) + GRUB_MKCONFIG_MAIN)


UPDATE_GRUB = """#!/bin/sh
set -e
exec grub-mkconfig -o /boot/grub/grub.cfg "$@"
"""

# reboot(2) through glibc; LINUX_REBOOT_CMD_* (include/uapi/linux/reboot.h)
POWER = r'''#!/usr/bin/python3
# Power commands of an azure_ade test host (tests/hosts/lib/power.py): reboot, shutdown, halt, poweroff and
# (systemd guests) systemctl reboot|poweroff|halt. They end in reboot(2) like the real ones; in the host's PID
# namespace the kernel ends the namespace, and the host's supervisor boots it again (restart) or leaves it off.
# Like systemd, the command returns first and the guest goes down a moment later (so a remote caller sees rc 0).
import ctypes, os, sys, time

CMDS = {"reboot": 0x01234567, "poweroff": 0x4321FEDC, "halt": 0xCDEF0123}
PENDING = "/run/azure-ade-test/shutdown.pid"

def go(cmd, delay):
    if os.fork():
        return 0
    os.setsid()
    if os.fork():
        os._exit(0)
    fd = os.open("/dev/null", os.O_RDWR)
    for i in (0, 1, 2):
        os.dup2(fd, i)
    try:
        os.makedirs(os.path.dirname(PENDING))
    except OSError:
        pass
    with open(PENDING, "w") as f:
        f.write(str(os.getpid()))
    time.sleep(delay)
    os.sync()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.reboot(ctypes.c_uint(CMDS[cmd]))
    os._exit(1)

def minutes(t):
    if t == "now":
        return 0
    if t.startswith("+"):
        return int(t[1:])
    if ":" in t:
        h, m = [int(x) for x in t.split(":")]
        lt = time.localtime()
        return ((h * 60 + m) - (lt.tm_hour * 60 + lt.tm_min)) % (24 * 60)
    return int(t)

def shutdown(args):
    cmd, when, cancel, warn_only = "poweroff", None, False, False
    rest = []
    for a in args:
        if a in ("-r", "--reboot"):
            cmd = "reboot"
        elif a in ("-h", "-P", "--poweroff"):
            cmd = "poweroff" if cmd != "reboot" else cmd
        elif a in ("-H", "--halt"):
            cmd = "halt"
        elif a in ("-c",):
            cancel = True
        elif a in ("-k",):
            warn_only = True
        elif a.startswith("-"):
            continue
        elif when is None:
            try:
                when = minutes(a)
            except ValueError:
                rest.append(a)
        else:
            rest.append(a)
    if cancel:
        try:
            os.kill(int(open(PENDING).read()), 9)
            os.unlink(PENDING)
        except (OSError, ValueError):
            pass
        return 0
    delay = 60 * (when if when is not None else 1)
    msg = " ".join(rest)
    if delay:
        sys.stdout.write("Shutdown scheduled for %s, use 'shutdown -c' to cancel.\n"
                         % time.strftime("%a %Y-%m-%d %H:%M:%S %Z", time.localtime(time.time() + delay)))
    with open("/run/azure-ade-test/last-shutdown", "w") if os.path.isdir("/run/azure-ade-test") else open(os.devnull, "w") as f:
        f.write("%s %d %s\n" % (cmd, delay, msg))
    if warn_only:
        return 0
    return go(cmd, max(delay, 1))

def main(argv):
    name = os.path.basename(argv[0])
    args = argv[1:]
    if name == "systemctl":
        verbs = [a for a in args if not a.startswith("-")]
        if verbs and verbs[0] in CMDS:
            return go(verbs[0], 1)
        sys.stderr.write("System has not been booted with systemd as init system (PID 1). Can't operate.\n"
                         "Failed to connect to bus: Host is down\n")
        return 1
    if name == "shutdown":
        return shutdown(args)
    if name in CMDS:
        return go(name, 1)
    sys.stderr.write("%s: unknown power command\n" % name)
    return 1

if __name__ == "__main__":
    sys.exit(main(sys.argv))
'''

POWER_PATH = "/usr/local/lib/azure-ade-test/power"


def layer_ops(v):
    """Files that give a guest its power commands and (Ubuntu) its GRUB tools; hostlib adds them to the layer."""
    fam = v["family"]
    ops = [("file", POWER_PATH, POWER, 0o755)]
    for n in ("reboot", "shutdown", "halt", "poweroff"):
        ops.append(("symlink", "/sbin/" + n, POWER_PATH))
    # no /bin/systemctl: the hosts run no systemd, and a systemctl that answers would change what Ansible's
    # service modules and the role's handlers do there (the power script still answers `systemctl reboot` if linked)
    if fam.startswith("ubuntu"):
        rels = [v["kernel"]] + (["4.4.0-148-generic"] if fam == "ubuntu1404" and v["kernel"] != "4.4.0-148-generic" else [])
        ops += [("file", "/usr/sbin/grub-mkconfig", grub_mkconfig_script(), 0o755),
                ("file", "/boot/grub/grub.cfg", grub_cfg(rels, "0", "UUID=" + root_uuid(v), "/boot",
                                                         dict((r, "initrd.img-" + r) for r in rels[:1])), 0o444),
                ("file", "/usr/sbin/update-grub", UPDATE_GRUB, 0o755),
                ("file", "/etc/default/grub", 'GRUB_DEFAULT=0\nGRUB_TIMEOUT=0\nGRUB_CMDLINE_LINUX_DEFAULT="console=tty1 '
                 'console=ttyS0 earlyprintk=ttyS0"\n', 0o644)]
    return ops


def root_uuid(v):
    return [d for d in v["devices"] if (d.get("fs") or {}).get("mountpoint") == "/"][0]["uuid"]


# ---- the guest's disks after ADE -------------------------------------------------------------------------
def crypt_view(v, crypt):
    """A copy of spec v whose devices show ADE's dm-crypt layer: crypt = {"os": bool, "data": bool}.
    OS: the partition holding / becomes crypto_LUKS with a holder `osencrypt` (TYPE crypt) carrying the file system.
    Data: every data file system (not the resource disk, not /boot) the same, the holder named by the partition's
    UUID as ADE's crypttab names it. An LVM root (RHEL rootvg) is left as is (not modelled)."""
    v = copy.deepcopy(v)
    devs = v["devices"]
    minor = 0
    for d in devs:
        if d["majmin"].startswith("253:"):
            minor = max(minor, int(d["majmin"].split(":")[1]) + 1)
    new = []
    for d in devs:
        fs = d.get("fs")
        if not fs or d["type"] != "part":
            continue
        mp = fs["mountpoint"]
        is_root = mp == "/"
        is_data = (not is_root and fs.get("content") not in ("resource",) and not mp.startswith("/boot")
                   and d.get("fstype") not in ("vfat", "swap"))
        if not ((is_root and crypt.get("os")) or (is_data and crypt.get("data"))):
            continue
        name = "osencrypt" if is_root else d["uuid"]
        luks = str(uuid.uuid5(uuid.NAMESPACE_URL, "azure-ade-test/%s/%s/luks" % (v["name"], d["name"])))
        c = {"name": name, "kname": "dm-%d" % minor, "type": "crypt", "dm_name": name,
             "dm_uuid": "CRYPT-LUKS1-%s-%s" % (luks.replace("-", ""), name), "majmin": "253:%d" % minor,
             "parents": [d["name"]], "size": d["size"] - 2 * 1024 * 1024, "fstype": d["fstype"], "uuid": d["uuid"],
             "label": d.get("label", ""), "fs": fs, "backing": d["name"], "static_mp": "", "partnum": None}
        minor += 1
        d.pop("fs")
        d["fstype"] = "crypto_LUKS"
        d["label"] = ""
        d["uuid"] = luks
        new.append((d["name"], c))
    for parent, c in new:
        i = [x["name"] for x in devs].index(parent)
        devs.insert(i + 1, c)
    return v

#!/usr/bin/env python
# -*- coding: utf-8 -*-
# lsblk stand-in for an azure_ade test host (tests/hosts).  The kernel of the test machine
# cannot show the guest's disks (sdX, LVM, device-mapper), so this renders the guest's
# device table the way util-linux lsblk of the guest's release does: any -o column list,
# -P/-r/-l/-J/-b/-n/-p/-d/-a/-f/-m/-t/-D/-S, device arguments, tree drawing, sizes.
# MOUNTPOINT comes from /proc/self/mountinfo (source string == the guest device) and
# /proc/swaps, so it stays consistent with what findmnt/mount show.
# The two lines below are replaced per test host by tests/hosts/lib/hostlib.py.
from __future__ import print_function

import getopt
import json
import os
import sys

UTIL_LINUX = "2.31.1"
DEVICES = []  # list of dicts, in the order the guest's lsblk prints them

VER = tuple(int(x) for x in UTIL_LINUX.split(".")[:2])
# the device table of this boot (written by hostlib.py boot; after ADE it has the dm-crypt devices)
_BOOT_DEVICES = "/run/azure-ade-test/lsblk-devices.json"
if os.path.exists(_BOOT_DEVICES):
    try:
        with open(_BOOT_DEVICES) as _f:
            DEVICES = json.load(_f)
    except (IOError, OSError, ValueError):
        pass

# columns known by each util-linux line (lsblk --help "Available columns")
_COLS_220 = ["NAME", "KNAME", "MAJ:MIN", "FSTYPE", "MOUNTPOINT", "LABEL", "UUID", "RO", "RM",
             "MODEL", "SIZE", "STATE", "OWNER", "GROUP", "MODE", "ALIGNMENT", "MIN-IO", "OPT-IO",
             "PHY-SEC", "LOG-SEC", "ROTA", "SCHED", "RQ-SIZE", "TYPE", "DISC-ALN", "DISC-GRAN",
             "DISC-MAX", "DISC-ZERO"]
_COLS_223 = _COLS_220 + ["PARTTYPE", "PARTLABEL", "PARTUUID", "PARTFLAGS", "RA", "WSAME", "WWN",
                         "RAND", "PKNAME", "HCTL", "TRAN", "REV", "VENDOR"]
_COLS_231 = _COLS_223 + ["PTUUID", "PTTYPE", "SERIAL", "HOTPLUG", "SUBSYSTEMS", "ZONED"]
_COLS_233 = _COLS_231 + ["PATH", "FSAVAIL", "FSSIZE", "FSUSED", "FSUSE%"]
if VER >= (2, 33):
    KNOWN = _COLS_233
elif VER >= (2, 27):
    KNOWN = _COLS_231
elif VER >= (2, 23):
    KNOWN = _COLS_223
else:
    KNOWN = _COLS_220

RIGHT = set(["MAJ:MIN", "RM", "RO", "SIZE", "RA", "ALIGNMENT", "MIN-IO", "OPT-IO", "PHY-SEC",
             "LOG-SEC", "ROTA", "RQ-SIZE", "DISC-ALN", "DISC-GRAN", "DISC-MAX", "DISC-ZERO",
             "WSAME", "RAND", "HOTPLUG", "FSAVAIL", "FSSIZE", "FSUSED", "FSUSE%"])
SIZE_COLS = set(["SIZE", "DISC-GRAN", "DISC-MAX", "WSAME", "FSAVAIL", "FSSIZE", "FSUSED"])
BOOL_COLS = set(["RO", "RM", "ROTA", "RAND", "HOTPLUG", "DISC-ZERO"])
NUM_COLS = set(["RA", "ALIGNMENT", "MIN-IO", "OPT-IO", "PHY-SEC", "LOG-SEC", "RQ-SIZE", "DISC-ALN"])

DEFAULT_COLS = ["NAME", "MAJ:MIN", "RM", "SIZE", "RO", "TYPE", "MOUNTPOINT"]


def prog_err(msg, code):
    sys.stderr.write("lsblk: %s\n" % msg)
    sys.exit(code)


def usage(out, code):
    out.write("\nUsage:\n lsblk [options] [<device> ...]\n\nList information about block devices.\n\n"
              "Options:\n -a, --all            print all devices\n -b, --bytes          print SIZE in bytes rather than in human readable format\n"
              " -d, --nodeps         don't print slaves or holders\n -D, --discard        print discard capabilities\n"
              " -e, --exclude <list> exclude devices by major number (default: RAM disks)\n"
              " -f, --fs             output info about filesystems\n -i, --ascii          use ascii characters only\n"
              " -I, --include <list> show only devices with specified major numbers\n")
    if VER >= (2, 27):
        out.write(" -J, --json           use JSON output format\n")
    out.write(" -l, --list           use list format output\n -m, --perms          output info about permissions\n"
              " -n, --noheadings     don't print headings\n -o, --output <list>  output columns\n")
    if VER >= (2, 23):
        out.write(" -p, --paths          print complete device path\n")
    out.write(" -P, --pairs          use key=\"value\" output format\n -r, --raw            use raw output format\n"
              " -s, --inverse        inverse dependencies\n")
    if VER >= (2, 24):
        out.write(" -S, --scsi           output info about SCSI devices\n")
    out.write(" -t, --topology       output info about topology\n\n -h, --help     display this help and exit\n"
              " -V, --version  output version information and exit\n\nAvailable columns (for --output):\n")
    for c in KNOWN:
        out.write(" %11s\n" % c)
    out.write("\nFor more details see lsblk(8).\n")
    sys.exit(code)


def human(n):
    n = int(n)
    exp = 0
    shft = 10
    while shft <= 60:
        if n < (1 << shft):
            break
        shft += 10
    exp = shft - 10
    letters = "BKMGTPE"
    if exp == 0:
        return "%dB" % n
    dec = n >> exp
    frac = n & ((1 << exp) - 1)
    if frac:
        frac = (frac // (1 << (exp - 10)) + 50) // 100
        if frac == 10:
            dec += 1
            frac = 0
    letter = letters[exp // 10]
    if frac:
        return "%d.%d%s" % (dec, frac, letter)
    return "%d%s" % (dec, letter)


def unescape_mount(s):
    out = ""
    i = 0
    while i < len(s):
        if s[i] == "\\" and i + 3 < len(s) and s[i + 1:i + 4].isdigit():
            out += chr(int(s[i + 1:i + 4], 8))
            i += 4
        else:
            out += s[i]
            i += 1
    return out


def read_mounts():
    found = {}
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                parts = line.split()
                if " - " not in line or len(parts) < 10:
                    continue
                sep = parts.index("-")
                source = unescape_mount(parts[sep + 2])
                mp = unescape_mount(parts[4])
                if source not in found:
                    found[source] = mp
    except (IOError, OSError):
        pass
    swaps = set()
    try:
        with open("/proc/swaps") as f:
            for line in f.readlines()[1:]:
                if line.split():
                    swaps.add(line.split()[0])
    except (IOError, OSError):
        pass
    return found, swaps


MOUNTS, SWAPS = read_mounts()
BY_NAME = dict((d["name"], d) for d in DEVICES)


def dev_path(d):
    if d["type"] not in ("disk", "part", "rom") and d.get("dm_name"):
        return "/dev/mapper/" + d["dm_name"]
    return "/dev/" + d["name"]


def mountpoint(d):
    for cand in (dev_path(d), "/dev/" + d["kname"], "/dev/" + d["name"]):
        if cand in MOUNTS:
            return MOUNTS[cand]
    for cand in (dev_path(d), "/dev/" + d["kname"]):
        if cand in SWAPS:
            return "[SWAP]"
    return ""


def disk_of(d):
    seen = 0
    while d.get("parents") and seen < 10:
        d = BY_NAME[d["parents"][0]]
        seen += 1
    return d


def value(d, col, opts, parent):
    if col == "NAME":
        return dev_path(d) if opts["paths"] else d["name"]
    if col == "KNAME":
        return "/dev/" + d["kname"] if opts["paths"] else d["kname"]
    if col == "PATH":
        return dev_path(d)
    if col == "PKNAME":
        if parent is None:
            return ""
        return "/dev/" + parent["kname"] if opts["paths"] else parent["kname"]
    if col == "MAJ:MIN":
        if opts["mode"] in ("raw", "pairs", "json"):
            return d["majmin"]
        ma, mi = d["majmin"].split(":")
        return "%3s:%-3s" % (ma, mi)
    if col == "MOUNTPOINT":
        return mountpoint(d)
    if col in ("SIZE",):
        return str(d["size"]) if opts["bytes"] else human(d["size"])
    if col in ("PTTYPE", "PTUUID"):
        if d["type"] in ("disk", "part"):
            return disk_of(d).get(col.lower(), "") or ""
        return ""
    if col == "OWNER":
        return "root"
    if col == "GROUP":
        return "cdrom" if d["type"] == "rom" else "disk"
    if col == "MODE":
        return "brw-rw----"
    if col in ("FSAVAIL", "FSSIZE", "FSUSED", "FSUSE%"):
        mp = mountpoint(d)
        if not mp or mp == "[SWAP]":
            return ""
        try:
            st = os.statvfs(mp)
        except OSError:
            return ""
        size = st.f_frsize * st.f_blocks
        avail = st.f_frsize * st.f_bavail
        used = size - st.f_frsize * st.f_bfree
        if col == "FSUSE%":
            return "%d%%" % (round(100.0 * used / size) if size else 0)
        n = {"FSAVAIL": avail, "FSSIZE": size, "FSUSED": used}[col]
        return str(n) if opts["bytes"] else human(n)
    key = col.lower().replace("-", "_").replace(":", "_").replace("%", "")
    v = d.get(key)
    if v is None:
        v = DEFAULTS.get(col, "")
        if isinstance(v, dict):
            v = v.get(d["type"], v.get("*", ""))
    if col in SIZE_COLS and v != "" and not opts["bytes"]:
        return human(v)
    return str(v)


DEFAULTS = {
    "RO": {"rom": "0", "*": "0"}, "RM": {"rom": "1", "*": "0"}, "HOTPLUG": "0",
    "MODEL": {"disk": "Virtual Disk", "rom": "Virtual CD/ROM", "*": ""},
    "VENDOR": {"disk": "Msft    ", "rom": "Msft    ", "*": ""},
    "REV": {"disk": "1.0 ", "rom": "1.0 ", "*": ""},
    "STATE": {"disk": "running", "rom": "running", "lvm": "running", "crypt": "running", "*": ""},
    "RA": {"rom": "128", "*": "128"}, "ALIGNMENT": "0", "MIN-IO": {"rom": "2048", "*": "4096"},
    "OPT-IO": "0", "PHY-SEC": {"rom": "2048", "*": "4096"}, "LOG-SEC": {"rom": "2048", "*": "512"},
    "ROTA": "1", "SCHED": {"lvm": "", "crypt": "", "*": "deadline"}, "RQ-SIZE": {"lvm": "128", "*": "128"},
    "DISC-ALN": "0", "DISC-GRAN": {"rom": "0", "*": "2097152"}, "DISC-MAX": {"rom": "0", "*": "4294966784"},
    "DISC-ZERO": "0", "WSAME": "0", "RAND": {"rom": "0", "*": "1"}, "TRAN": "", "SUBSYSTEMS": {
        "disk": "block:scsi:vmbus:acpi", "part": "block:scsi:vmbus:acpi", "rom": "block:scsi:vmbus:acpi", "*": "block"},
    "ZONED": "none", "WWN": "", "SERIAL": "", "HCTL": "", "PARTFLAGS": "",
}


def children_of(d):
    return [c for c in DEVICES if d["name"] in (c.get("parents") or [])]


def parents_of(d):
    return [BY_NAME[p] for p in (d.get("parents") or [])]


def build_rows(roots, opts):
    """Return list of (device, parent, depth, is_last_list_of_ancestors) in output order."""
    rows = []

    def walk(d, parent, depth, lasts):
        rows.append((d, parent, depth, lasts))
        if opts["nodeps"]:
            return
        kids = parents_of(d) if opts["inverse"] else children_of(d)
        kids = [k for k in kids if included(k, opts)]
        for i, k in enumerate(kids):
            walk(k, d, depth + 1, lasts + [i == len(kids) - 1])

    for d in roots:
        walk(d, None, 0, [])
    return rows


def included(d, opts):
    major = int(d["majmin"].split(":")[0])
    if opts["include"] is not None:
        return major in opts["include"]
    return major not in opts["exclude"]


def tree_prefix(lasts, ascii_only):
    if not lasts:
        return ""
    if ascii_only:
        vert, branch, last = "| ", "|-", "`-"
    else:
        vert, branch, last = u"\u2502 ", u"\u251c\u2500", u"\u2514\u2500"
    out = ""
    for l in lasts[:-1]:
        out += "  " if l else vert
    out += last if lasts[-1] else branch
    return out


def escape_raw(s):
    out = ""
    for ch in s:
        if ch == " " or ch == "\\" or ch == '"' or ord(ch) < 32 or ord(ch) == 127:
            out += "\\x%02x" % ord(ch)
        else:
            out += ch
    return out


def utf8_locale():
    for var in ("LC_ALL", "LC_CTYPE", "LANG"):
        v = os.environ.get(var)
        if v:
            v = v.lower()
            return "utf-8" in v or "utf8" in v
    return False


def emit(text):
    if sys.version_info[0] < 3:
        if not isinstance(text, bytes):
            text = text.encode("utf-8")
        sys.stdout.write(text)
    else:
        sys.stdout.buffer.write(text.encode("utf-8"))


def json_value(col, v):
    if VER < (2, 33):
        return v if v != "" else None
    if v == "":
        return None if col not in BOOL_COLS else False
    if col in BOOL_COLS:
        return v == "1"
    return v


def main(argv):
    shortopts = "abdDe:fhiI:lmno:OpPrsStVx:"
    longopts = ["all", "bytes", "nodeps", "discard", "exclude=", "fs", "help", "ascii", "include=",
                "list", "perms", "noheadings", "output=", "paths", "pairs", "raw", "inverse", "scsi",
                "topology", "version", "sort="]
    if VER >= (2, 27):
        shortopts += "J"
        longopts.append("json")
    if VER < (2, 23):
        shortopts = shortopts.replace("p", "").replace("S", "").replace("x:", "")
    try:
        optlist, args = getopt.gnu_getopt(argv, shortopts, longopts)
    except getopt.GetoptError as exc:
        if exc.opt and len(exc.opt) == 1:
            if "requires argument" in exc.msg:
                sys.stderr.write("lsblk: option requires an argument -- '%s'\n" % exc.opt)
            else:
                sys.stderr.write("lsblk: invalid option -- '%s'\n" % exc.opt)
        else:
            sys.stderr.write("lsblk: unrecognized option '--%s'\n" % exc.opt)
        sys.stderr.write("Try 'lsblk --help' for more information.\n")
        sys.exit(1)
    opts = {"mode": "tree", "bytes": False, "nodeps": False, "heads": True, "paths": False,
            "inverse": False, "ascii": not utf8_locale(), "all": False, "include": None, "exclude": [1]}
    cols = None
    extra = []
    preset = None
    for o, a in optlist:
        if o in ("-a", "--all"):
            opts["all"] = True
        elif o in ("-b", "--bytes"):
            opts["bytes"] = True
        elif o in ("-d", "--nodeps"):
            opts["nodeps"] = True
        elif o in ("-D", "--discard"):
            preset = ["NAME", "DISC-ALN", "DISC-GRAN", "DISC-MAX", "DISC-ZERO"]
        elif o in ("-e", "--exclude"):
            opts["exclude"] = [int(x) for x in a.split(",") if x]
        elif o in ("-I", "--include"):
            opts["include"] = [int(x) for x in a.split(",") if x]
        elif o in ("-f", "--fs"):
            preset = ["NAME", "FSTYPE", "LABEL", "UUID", "MOUNTPOINT"] if VER >= (2, 23) else \
                ["NAME", "FSTYPE", "LABEL", "MOUNTPOINT"]
            if VER >= (2, 33):
                preset = ["NAME", "FSTYPE", "LABEL", "UUID", "FSAVAIL", "FSUSE%", "MOUNTPOINT"]
        elif o in ("-h", "--help"):
            usage(sys.stdout, 0)
        elif o in ("-i", "--ascii"):
            opts["ascii"] = True
        elif o in ("-J", "--json"):
            opts["mode"] = "json"
        elif o in ("-l", "--list"):
            opts["mode"] = "list" if opts["mode"] != "json" else "json"
            opts["list"] = True
        elif o in ("-m", "--perms"):
            preset = ["NAME", "SIZE", "OWNER", "GROUP", "MODE"]
        elif o in ("-n", "--noheadings"):
            opts["heads"] = False
        elif o in ("-o", "--output"):
            if a.startswith("+"):
                extra += [c for c in a[1:].split(",") if c]
            else:
                cols = (cols or []) + [c for c in a.split(",") if c]
        elif o in ("-p", "--paths"):
            opts["paths"] = True
        elif o in ("-P", "--pairs"):
            opts["mode"] = "pairs"
        elif o in ("-r", "--raw"):
            opts["mode"] = "raw"
        elif o in ("-s", "--inverse"):
            opts["inverse"] = True
        elif o in ("-S", "--scsi"):
            preset = ["NAME", "HCTL", "TYPE", "VENDOR", "MODEL", "REV", "TRAN"]
            opts["nodeps"] = True
        elif o in ("-t", "--topology"):
            preset = ["NAME", "ALIGNMENT", "MIN-IO", "OPT-IO", "PHY-SEC", "LOG-SEC", "ROTA", "SCHED", "RQ-SIZE"]
            if VER >= (2, 23):
                preset += ["RA", "WSAME"]
        elif o in ("-V", "--version"):
            sys.stdout.write("lsblk from util-linux %s\n" % UTIL_LINUX)
            sys.exit(0)
    if cols is None:
        cols = list(preset or DEFAULT_COLS)
    cols = cols + extra
    cols = [c.upper() for c in cols]
    for c in cols:
        if c not in KNOWN:
            prog_err("unknown column: %s" % c, 1)
    if opts.get("list") and opts["mode"] == "tree":
        opts["mode"] = "list"

    # which devices to start from
    if args:
        roots = []
        rc = 0
        for a in args:
            real = a
            dev = None
            for d in DEVICES:
                if real in (dev_path(d), "/dev/" + d["kname"], "/dev/" + d["name"]):
                    dev = d
                    break
            if dev is None:
                sys.stderr.write("lsblk: %s: not a block device\n" % a)
                rc = 32 if VER >= (2, 25) else 1
                continue
            roots.append(dev)
        if not roots:
            sys.exit(rc)
    else:
        if opts["inverse"]:
            roots = [d for d in DEVICES if not children_of(d)]
        else:
            roots = [d for d in DEVICES if not d.get("parents")]
        roots = [d for d in roots if included(d, opts)]
    rows = build_rows(roots, opts)

    mode = opts["mode"]
    out = []
    if mode == "pairs":
        for d, parent, depth, lasts in rows:
            out.append(" ".join('%s="%s"' % (c, escape_pairs(value(d, c, opts, parent))) for c in cols))
        emit("".join(l + "\n" for l in out))
        return 0
    if mode == "raw":
        if opts["heads"]:
            out.append(" ".join(cols))
        for d, parent, depth, lasts in rows:
            out.append(" ".join(escape_raw(value(d, c, opts, parent)) for c in cols))
        emit("".join(l + "\n" for l in out))
        return 0
    if mode == "json":
        flat = bool(opts.get("list"))
        emit(render_json(rows, cols, opts, flat))
        return 0
    # tree or list table
    table = []
    for d, parent, depth, lasts in rows:
        cells = []
        for c in cols:
            v = value(d, c, opts, parent)
            if c == "NAME" and mode == "tree":
                v = tree_prefix(lasts, opts["ascii"]) + v
            cells.append(v)
        table.append(cells)
    widths = [len(c) for c in cols]
    for cells in table:
        for i, v in enumerate(cells):
            widths[i] = max(widths[i], len(v))

    def fmt(cells):
        parts = []
        for i, v in enumerate(cells):
            last = i == len(cells) - 1
            if cols[i] in RIGHT:
                parts.append(v.rjust(widths[i]))
            elif last:
                parts.append(v)
            else:
                parts.append(v.ljust(widths[i]))
        return " ".join(parts).rstrip() if cols[-1] not in RIGHT else " ".join(parts)

    if opts["heads"]:
        out.append(fmt(cols))
    for cells in table:
        out.append(fmt(cells))
    emit(u"".join(l + u"\n" for l in out))
    return 0


def escape_pairs(s):
    out = ""
    for ch in s:
        if ch == '"' or ch == "\\" or ord(ch) < 32 or ord(ch) == 127:
            out += "\\x%02x" % ord(ch)
        else:
            out += ch
    return out


def render_json(rows, cols, opts, flat):
    # util-linux <= 2.32 prints every value as a string (null when empty), 3-space indent
    def obj(d, parent):
        o = []
        for c in cols:
            o.append((c.lower(), json_value(c, value(d, c, opts, parent))))
        return o

    lines = ["{", '   "blockdevices": [']
    if flat:
        items = []
        for d, parent, depth, lasts in rows:
            items.append("      {" + ", ".join("%s: %s" % (json.dumps(k), json.dumps(v)) for k, v in obj(d, parent)) + "}")
        lines.append(",\n".join(items))
    else:
        def node(d, parent, indent):
            pad = " " * indent
            s = pad + "{" + ", ".join("%s: %s" % (json.dumps(k), json.dumps(v)) for k, v in obj(d, parent))
            kids = [] if opts["nodeps"] else (parents_of(d) if opts["inverse"] else children_of(d))
            kids = [k for k in kids if included(k, opts)]
            if kids:
                s += ",\n" + pad + '   "children": [\n'
                s += ",\n".join(node(k, d, indent + 6) for k in kids)
                s += "\n" + pad + "   ]\n" + pad + "}"
            else:
                s += "}"
            return s
        tops = [r for r in rows if r[2] == 0]
        lines.append(",\n".join(node(d, parent, 6) for d, parent, depth, lasts in tops))
    lines.append("   ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except IOError:
        sys.exit(1)

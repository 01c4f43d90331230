#!/usr/bin/env python
"""Molecule inventory: the test hosts of tests/hosts/up.sh, with the guest Python that the core line can
drive (Python 2.7 guests need ansible-core 2.16; 2.17+ drive Python 3 only).
Reads $ADE_WORK/hosts/inventory-py27.yml (ADE_CORE=2.16, the default) or inventory-py3.yml."""
import json
import os
import sys

import yaml


def convert(doc):
    out = {"_meta": {"hostvars": {}}}

    def walk(name, g):
        g = g or {}
        entry = out.setdefault(name, {"hosts": [], "vars": {}, "children": []})
        for h, hv in (g.get("hosts") or {}).items():
            if h not in entry["hosts"]:
                entry["hosts"].append(h)
            out["_meta"]["hostvars"].setdefault(h, {}).update(hv or {})
        entry["vars"].update(g.get("vars") or {})
        for c, cg in (g.get("children") or {}).items():
            if c not in entry["children"]:
                entry["children"].append(c)
            walk(c, cg)
    for name, g in (doc or {}).items():
        walk(name, g)
    return out


def main():
    work = os.environ.get("ADE_WORK", "/tmp/azure_ade")
    core = os.environ.get("ADE_CORE", "2.16")
    path = os.path.join(work, "hosts", "inventory-py27.yml" if core == "2.16" else "inventory-py3.yml")
    if "--host" in sys.argv:
        print("{}")
        return
    if not os.path.exists(path):
        sys.stderr.write("no %s: start the test hosts first (tests/hosts/up.sh)\n" % path)
        print(json.dumps({"_meta": {"hostvars": {}}}))
        return
    with open(path) as fh:
        print(json.dumps(convert(yaml.safe_load(fh)), indent=1))


if __name__ == "__main__":
    main()

"""Helpers to read the simulator's request log (python -m azsim log --json) in e2e assertions."""
import json


def entries(path):
    """The ARM requests, in order."""
    return [e for e in json.load(open(path)) if e.get("kind") == "arm"]


def first(log, pred):
    """seq of the first entry matching pred, or None."""
    for e in log:
        if pred(e):
            return e["seq"]
    return None


def vm_requests(log, vm, methods=("PUT", "PATCH", "POST", "DELETE")):
    """Requests that act on a VM (the VM itself, its extensions, or snapshots/disks named after it)."""
    vm = vm.lower()
    out = []
    for e in log:
        p = e["path"].lower()
        if e["method"] not in methods:
            continue
        if "/virtualmachines/%s" % vm in p or ("/snapshots/" in p and vm in p) or ("/disks/" in p and vm in p):
            out.append("%s %s" % (e["method"], e["path"]))
    return out

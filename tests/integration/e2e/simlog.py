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


LEASE_ONLY = ["azure_ade_lease"]


def vm_requests(log, vm, methods=("PUT", "PATCH", "POST", "DELETE"), lease=False):
    """Requests that act on a VM (the VM itself, its extensions, or snapshots/disks named after it). The VM lease's
    own writes (a PATCH that changed only the tag azure_ade_lease, issue 14) are left out unless ``lease``."""
    vm = vm.lower()
    out = []
    for e in log:
        p = e["path"].lower()
        if e["method"] not in methods or (not lease and e.get("tags_changed") == LEASE_ONLY):
            continue
        if "/virtualmachines/%s" % vm in p or ("/snapshots/" in p and vm in p) or ("/disks/" in p and vm in p):
            out.append("%s %s" % (e["method"], e["path"]))
    return out


def writers(log, vm, kinds=("arm",)):
    """[(client token, seq, 'METHOD path')] of the writes that act on a VM (as vm_requests), in order; the token is
    the lease token an azure_ade.linux module sends in its User-Agent (None: not a module of the collection)."""
    vm = vm.lower()
    out = []
    for e in log:
        p = e["path"].lower()
        if e.get("kind", "arm") not in kinds or e["method"] not in ("PUT", "PATCH", "POST", "DELETE"):
            continue
        if "/virtualmachines/%s" % vm in p or ("/snapshots/" in p and vm in p) or ("/disks/" in p and vm in p):
            out.append((e.get("client"), e["seq"], "%s %s" % (e["method"], e["path"])))
    return out


def interleaved(log, vm):
    """Writes of a run that came after another run had written the same VM in between (A ... B ... A): the
    violations of "one run per VM at a time", [] when none. Failed requests count too (they reached Azure)."""
    seen, last, bad = [], None, []
    for tok, seq, what in writers(log, vm):
        if tok != last:
            if tok in seen:
                bad.append((tok, seq, what))
            seen.append(tok)
            last = tok
    return bad


if __name__ == "__main__":
    # python3 simlog.py interleaved LOG.json VM...   (LOG: `python -m azsim log --json`, or the admin API's
    # {"entries": [...]}) -> prints the interleaved writes per VM; rc 1 when there are any
    import sys
    doc = json.load(open(sys.argv[2]))
    ents = [e for e in (doc["entries"] if isinstance(doc, dict) else doc) if e.get("kind", "arm") == "arm"]
    bad = dict((vm, interleaved(ents, vm)) for vm in sys.argv[3:])
    bad = dict((k, v) for k, v in bad.items() if v)
    for vm in sys.argv[3:]:
        print("%s: %s" % (vm, " ".join("%s@%d" % (t, s) for t, s, _w in writers(ents, vm))))
    print(json.dumps(bad))
    sys.exit(1 if bad else 0)

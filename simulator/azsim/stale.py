"""Stale reads right after a write (fault action ``stale_reads``).

A GET right after an accepted PUT can show the VM as it was before the PUT, for a moment:

* ``view: "instance"`` (default) - the extension's statuses in the instance view are the previous run's while
  the model already carries the new settings (new SequenceVersion). The instance view is what the guest agent
  last reported; until it has fetched the new goal state and the extension wrote its first status for the new
  sequence number, the old status is what ARM shows. The ADE extension itself even re-reports the previous
  sequence's status under the new sequence number on some paths: src Azure/azure-linux-extensions
  ade-sp-release-1.4.0.12 (affba5a9) `VMEncryption/main/Utils/HandlerUtil.py redo_last_status` lines 415-427
  (copies `<seq-1>.status` to `<seq>.status`), called from `handle.py enable_encryption` lines 1021 and 1040;
  status files are per sequence number (`HandlerUtil.py` docstring: `./config/<seq>.settings`,
  `do_status_report` writes `status/<seq>.status`).
* ``view: "all"`` - the whole VM (model, tags, extension settings and instance view) as before the write: an ARM
  read served by a replica that has not seen the write yet (ARM is eventually consistent across its regional
  instances: Azure/azure-powershell#13659, a resource read right after a deployment answered from another
  region's Resource Manager). **open:** Microsoft documents no bound for the window; the fault's ``seconds``
  sets it (wall seconds).

Fault rule: ``{"method": "PUT", "path": "/extensions/", "action": "stale_reads", "seconds": 5, "view":
"instance", "count": 1}``: the matching write is processed normally; afterwards, for ``seconds`` (wall), GETs of
that VM (VM GET with or without ``$expand=instanceView``, ``/instanceView``, the VM lists, the extension GET)
answer the state captured just before the write.
"""
import copy
import re
import time

VM_RX = re.compile(r"^/subscriptions/([^/]+)/resourceGroups/([^/]+)/providers/Microsoft\.Compute/"
                   r"virtualMachines/([^/]+)(/.*)?$", re.I)
LIST_RX = re.compile(r"/providers/Microsoft\.Compute/virtualMachines$", re.I)
VIEWS = ("instance", "all")


def _key(sub, rg, name):
    return (sub.lower(), rg.lower(), name.lower())


def _is_ade(ext):
    ext = ext or {}
    text = " ".join(str(x) for x in (ext.get("name"), ext.get("type"), (ext.get("properties") or {}).get("type")))
    return "azurediskencryption" in text.lower()


def _views(world):
    return world.__dict__.setdefault("stale_views", {})


def capture(world, path):
    """Before a write with the stale_reads fault: the VM's views as they are now (None if not a VM path)."""
    m = VM_RX.match(path)
    if not m:
        return None
    try:
        vm = world.vm(m.group(1), m.group(2), m.group(3))
    except Exception:  # noqa: BLE001 - unknown VM: the write fails on its own
        return None
    return {"key": _key(vm.sub, vm.rg, vm.name), "vm": vm.to_json(expand=True), "iv": vm.instance_view()}


def remember(world, before, fault, status):
    """After the write: serve the captured views for ``fault.seconds`` (only if the write was accepted)."""
    if before is None or status >= 400:
        return
    view = fault.view if getattr(fault, "view", None) in VIEWS else "instance"
    _views(world)[before["key"]] = dict(before, until=time.time() + max(0.0, fault.seconds), view=view)


def _active(world, key):
    st = _views(world).get(key)
    if st is None:
        return None
    if time.time() >= st["until"]:
        _views(world).pop(key, None)
        return None
    return st


def _old_ade_iv(st):
    return [e for e in (st["iv"].get("extensions") or []) if _is_ade(e)]


def _swap_ade_iv(extensions, st):
    return [e for e in (extensions or []) if not _is_ade(e)] + copy.deepcopy(_old_ade_iv(st))


def _vm_body(body, st, expand, resources=True):
    if st["view"] == "all":
        out = copy.deepcopy(st["vm"])
        if not expand:
            out["properties"].pop("instanceView", None)
        if not resources:
            out.pop("resources", None)
        return out
    out = copy.deepcopy(body)
    iv = (out.get("properties") or {}).get("instanceView")
    if iv is not None:
        exts = _swap_ade_iv(iv.get("extensions"), st)
        if exts:
            iv["extensions"] = exts
        else:
            iv.pop("extensions", None)
    return out


def rewrite(world, path, query, result):
    """A GET's answer, as a stale replica would give it. ``result`` = (status, body, headers)."""
    status, body, headers = result
    if status != 200 or not _views(world) or not isinstance(body, dict):
        return result
    expand = (query.get("$expand") or "").lower() == "instanceview" or (query.get("statusOnly") or "").lower() == "true"
    if LIST_RX.search(path):
        vals = []
        changed = False
        for v in body.get("value") or []:
            m = VM_RX.match(v.get("id") or "")
            st = _active(world, _key(*m.groups()[:3])) if m else None
            if st is not None:
                v = _vm_body(v, st, expand, resources=False)
                changed = True
            vals.append(v)
        if not changed:
            return result
        return status, dict(body, value=vals), headers
    m = VM_RX.match(path)
    if not m:
        return result
    st = _active(world, _key(*m.groups()[:3]))
    if st is None:
        return result
    rest = (m.group(4) or "").lower()
    if rest == "":
        return status, _vm_body(body, st, expand), headers
    if rest == "/instanceview":
        if st["view"] == "all":
            return status, copy.deepcopy(st["iv"]), headers
        out = copy.deepcopy(body)
        exts = _swap_ade_iv(out.get("extensions"), st)
        if exts:
            out["extensions"] = exts
        else:
            out.pop("extensions", None)
        return status, out, headers
    if rest.startswith("/extensions/") and _is_ade(body):
        out = copy.deepcopy(body)
        if st["view"] == "all":
            old = [r for r in (st["vm"].get("resources") or []) if _is_ade(r)]
            if old:
                out = copy.deepcopy(old[0])
        if "instanceView" in (out.get("properties") or {}):
            old_iv = _old_ade_iv(st)
            if old_iv:
                out["properties"]["instanceView"] = copy.deepcopy(old_iv[0])
            else:
                out["properties"].pop("instanceView", None)
        return status, out, headers
    return result

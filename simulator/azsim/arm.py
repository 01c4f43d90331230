"""ARM request handlers (Microsoft.Compute, Microsoft.KeyVault, Microsoft.Resources subsets)."""

import copy
import re

from . import ade, boot, compat, create, dual_pass, upload
# the features arm.py never calls: imported here so that importing arm registers every route and model hook
from . import backups, bootdiag, keyvault, network, recovery  # noqa: F401  pylint: disable=unused-import
from .errors import ArmError, _fault_ctx, conflict, not_found
from .model import Disk, Extension, vm_op
from .routing import DISKP, RGP, SUB, VMP, body_props, lro_headers, ok, paged, route


# ---------------------------------------------------------------------------------------------- Resources

def sub_json(w, s):
    return {"id": "/subscriptions/" + s.id, "subscriptionId": s.id, "displayName": s.name, "state": "Enabled",
            "tenantId": w.tenant,
            "subscriptionPolicies": {"locationPlacementId": "Public_2014-09-01", "quotaId": "PayAsYouGo_2014-09-01",
                                     "spendingLimit": "Off"},
            "authorizationSource": "RoleBased"}


@route("GET", r"^/subscriptions")
def list_subscriptions(req):
    w = req.world
    return ok({"value": [sub_json(w, s) for s in w.subs.values()]})


@route("GET", SUB)
def get_subscription(req):
    return ok(sub_json(req.world, req.world.sub(req.g("sub"))))


def rg_json(r):
    return {"id": r.id, "name": r.name, "type": "Microsoft.Resources/resourceGroups", "location": r.location,
            "tags": dict(getattr(r, "tags", None) or {}), "properties": {"provisioningState": "Succeeded"}}


# Tags at a resource group's scope (Tags_GetAtScope / Tags_UpdateAtScope, api-version 2021-04-01+: "PATCH
# {scope}/providers/Microsoft.Resources/tags/default", body {"operation": "Replace"|"Merge"|"Delete", "properties":
# {"tags": {...}}}; "merge" adds new names and updates existing ones, "delete" removes the given names (or
# name/value pairs), at most 50 tags at the end - learn.microsoft.com/rest/api/resources/tags/updateatscope). The
# fleet stop marker of AWX job slices (issue 18 item 6) uses Merge/Delete so that slices never overwrite each other.
def tags_json(r):
    return {"id": r.id + "/providers/Microsoft.Resources/tags/default", "name": "default",
            "type": "Microsoft.Resources/tags", "properties": {"tags": dict(getattr(r, "tags", None) or {})}}


@route("GET", RGP + r"/providers/Microsoft\.Resources/tags/default")
def get_rg_tags(req):
    return ok(tags_json(req.world.rg(req.g("sub"), req.g("rg"))))


@route("PATCH", RGP + r"/providers/Microsoft\.Resources/tags/default")
def patch_rg_tags(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    b = req.body if isinstance(req.body, dict) else {}
    op = str(b.get("operation") or "").lower()
    given = ((b.get("properties") or {}).get("tags"))
    if op not in ("replace", "merge", "delete") or not isinstance(given, dict):
        raise ArmError(400, "InvalidRequestContent", "The request content is invalid: 'operation' must be Replace, "
                       "Merge or Delete and 'properties.tags' an object.")
    cur = dict(getattr(r, "tags", None) or {})
    if op == "replace":
        cur = dict(given)
    elif op == "merge":
        cur.update(given)
    else:
        for k, v in given.items():
            if k in cur and (v in (None, "") or cur[k] == v):
                cur.pop(k)
    if len(cur) > 50:
        raise ArmError(400, "InvalidTag", "The resource group would have %d tags; at most 50 are allowed." % len(cur))
    r.tags = cur
    return ok(tags_json(r))


@route("GET", SUB + r"/resourceGroups")
def list_rgs(req):
    return ok({"value": [rg_json(r) for r in req.world.sub(req.g("sub")).rgs.values()]})


@route("GET", RGP)
def get_rg(req):
    return ok(rg_json(req.world.rg(req.g("sub"), req.g("rg"))))


# ---------------------------------------------------------------------------------------------- VMs

def expand_iv(req):
    return (req.query.get("$expand") or "").lower() == "instanceview" or \
        (req.query.get("statusOnly") or "").lower() == "true"


@route("GET", VMP)
def get_vm(req):
    vm = req.world.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    return ok(vm.to_json(expand=expand_iv(req)))


@route("GET", VMP + r"/instanceView")
def get_vm_iv(req):
    vm = req.world.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    return ok(vm.instance_view())


@route("GET", RGP + r"/providers/Microsoft\.Compute/virtualMachines")
def list_vms_rg(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    vms = sorted(r.vms.values(), key=lambda v: v.name.lower())
    ex = expand_iv(req)
    return paged(req, vms, lambda v: v.to_json(expand=ex, resources=False))


@route("GET", SUB + r"/providers/Microsoft\.Compute/virtualMachines")
def list_vms_sub(req):
    w = req.world
    vms = sorted(w.all_vms(req.g("sub")), key=lambda v: (v.rg.lower(), v.name.lower()))
    ex = expand_iv(req)
    return paged(req, vms, lambda v: v.to_json(expand=ex, resources=False))


def refresh_ade_substatus(vm, t):
    e = vm.ade_ext()
    if e is not None and e.run is None and e.status is not None:
        e.substatus = {"level": e.status["level"], "message": vm.encryption_status_json(), "time": t}


@route("POST", VMP + r"/(?P<action>start|deallocate|powerOff|restart)")
def vm_power(req):
    w = req.world
    vm = w.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    action = req.g("action").lower()
    why = vm.busy_reason()
    if why:
        raise conflict(action, vm.name)
    target = {"start": "running", "deallocate": "deallocated", "poweroff": "stopped", "restart": "running"}[action]
    trans = {"start": "starting", "deallocate": "deallocating", "poweroff": "stopping", "restart": "starting"}
    if action == "restart" and vm.power != "running":
        raise ArmError(409, "OperationNotAllowed",
                       "Operation 'restart' is not allowed on VM '%s' since the VM is not running." % vm.name)
    if target == "running":
        for d in vm.all_disks():
            upload.check_usable(d, "starting VM '%s'" % vm.name)
    same = vm.power == target and action != "restart"
    dur = 5 if same else w.config["vm_power_seconds"]
    cold = action == "start" and vm.power == "deallocated"   # boot.py: only a cold start fetches the secret again

    def done(o):
        if o.status == "Succeeded":
            vm.power = target
            if target == "running":
                ade.guest_booted(vm, o.end)     # a stripped-down guest boots its real root again
                boot.booted(vm, w, cold)        # ... or hangs at the unlock of its encrypted root (boot.py)
                refresh_ade_substatus(vm, o.end)
        vm.transition = None
    op = vm_op(req, vm, dur, done, transition=None if same else trans[action])
    return 202, None, lro_headers(req, op)


def _disk_ref(w, entry, vm):
    md = entry.get("managedDisk") or {}
    did = md.get("id")
    if not did:
        return None
    d = w.find_by_id(did, kinds=("disks",))
    if d is None:
        raise ArmError(404, "NotFound", "Disk '%s' was not found." % did)
    return d


def check_if_match(req, vm):
    """Optimistic concurrency on the VM model (api-version 2023-07-01 and later): VirtualMachines_CreateOrUpdate
    and VirtualMachines_Update take an ``If-Match`` header with the ``etag`` a GET returned (azure-rest-api-specs
    specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/virtualMachine.json: "The
    ETag of the transformation. Omit this value to always overwrite the current resource. Specify the last-seen
    ETag value to prevent accidentally overwriting concurrent changes."); a stale one is refused with 412
    Precondition Failed (ARM's conditional-request contract, e.g. learn.microsoft.com/azure/aks/use-etags table:
    PUT/PATCH with a non-matching if-match -> 412). ``*`` matches any existing VM."""
    want = req.headers.get("If-Match")
    if want is None:
        return
    if want.strip() != "*" and want.strip() != vm.etag():
        raise ArmError(412, "PreconditionFailed",
                       "The specified precondition 'If-Match = %s' failed (current ETag %s)." % (want, vm.etag()))


@route("PUT", VMP)
def put_vm(req):
    return update_vm(req, patch=False)


@route("PATCH", VMP)
def patch_vm(req):
    return update_vm(req, patch=True)


def update_vm(req, patch):
    w = req.world
    try:
        vm = w.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    except ArmError as e:
        if e.code == "ResourceNotFound" and not patch:
            return create.create_vm(req)      # issue 17: VM create from an image reference (create.py)
        raise
    check_if_match(req, vm)
    if vm.busy_reason():
        raise conflict("PUT" if not patch else "PATCH", vm.name)
    body, props = body_props(req)
    apply_compat = compat.check_vm_update(w, vm, props)
    sp = props.get("storageProfile") or {}
    apply_dual = dual_pass.check_vm_update(vm, sp.get("osDisk"), patch)
    new_os = None
    if "osDisk" in sp and not vm.unmanaged:
        d = _disk_ref(w, sp["osDisk"], vm)
        if d is not None and d is not vm.os_disk:
            if vm.power != "deallocated" or vm.transition:
                raise ArmError(409, "OperationNotAllowed",
                               "Swapping the OS disk of VM '%s' is only allowed when the VM is deallocated; "
                               "its power state is '%s'." % (vm.name, vm.transition or vm.power))
            if d.managed_by is not None and d.managed_by is not vm:
                raise ArmError(409, "OperationNotAllowed", "Disk '%s' is attached to VM '%s'."
                               % (d.name, d.managed_by.id))
            if d.location.lower() != vm.location.lower():
                raise ArmError(400, "InvalidParameter", "Disk '%s' is in location '%s', the VM in '%s'."
                               % (d.name, d.location, vm.location))
            upload.check_usable(d, "attaching")
            new_os = d
    new_data = None
    if "dataDisks" in sp and not vm.unmanaged:
        new_data = []
        luns = set()
        for e in sp.get("dataDisks") or []:
            if e.get("toBeDetached"):
                continue
            lun = int(e.get("lun", 0))
            if lun in luns:
                raise ArmError(400, "InvalidParameter", "Duplicate LUN %d." % lun)
            luns.add(lun)
            d = _disk_ref(w, e, vm)
            if d is None:
                if (e.get("createOption") or "").lower() == "empty":
                    name = e.get("name") or "%s_DataDisk_%d" % (vm.name, lun)
                    d = Disk(vm.sub, vm.rg, name, vm.location, e.get("diskSizeGB") or 32,
                             sku=(e.get("managedDisk") or {}).get("storageAccountType") or "Premium_LRS",
                             t=w.clock.now())
                    w.rg(vm.sub, vm.rg).disks[name.lower()] = d
                else:
                    raise ArmError(400, "InvalidParameter", "Data disk at LUN %d needs managedDisk.id." % lun)
            if d.managed_by is not None and d.managed_by is not vm:
                raise ArmError(409, "OperationNotAllowed", "Disk '%s' is attached to VM '%s'."
                               % (d.name, d.managed_by.id))
            if d is (new_os or vm.os_disk):
                raise ArmError(400, "InvalidParameter", "Disk '%s' is already the OS disk." % d.name)
            if d.managed_by is not vm:
                upload.check_usable(d, "attaching")
            new_data.append((lun, d, e.get("caching") or "None"))
    # apply
    if new_os is not None:
        vm.os_disk.managed_by = None
        new_os.managed_by = vm
        vm.os_disk = new_os
        for e in vm.extensions.values():
            e.run = None
    if new_data is not None:
        for _unused, d, _unused in vm.data_disks:
            d.managed_by = None
        for _unused, d, _unused in new_data:
            d.managed_by = vm
        vm.data_disks = sorted(new_data, key=lambda x: x[0])
    if "tags" in body and isinstance(body.get("tags"), dict):
        old = vm.tags
        vm.tags = dict(body["tags"])
        # for the request log: which tag keys this write changed (tests tell a lease-only write from a record write)
        req.log_extra = {"tags_changed": sorted(k for k in set(old) | set(vm.tags) if old.get(k) != vm.tags.get(k))}
    apply_compat()
    apply_dual()
    vm.etag_seq += 1
    op = vm_op(req, vm, w.config["vm_update_seconds"], lambda o: None)
    return 200, vm.to_json(), lro_headers(req, op)


# ---------------------------------------------------------------------------------------------- extensions

def get_ext(vm, name):
    e = vm.extensions.get(name.lower())
    if e is None:
        raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
    return e


@route("GET", VMP + r"/extensions")
def list_exts(req):
    vm = req.world.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    ex = expand_iv(req)
    return ok({"value": [e.to_json(expand=ex) for e in vm.extensions.values()]})


@route("GET", VMP + r"/extensions/(?P<ext>[^/]+)")
def get_extension(req):
    vm = req.world.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    return ok(get_ext(vm, req.g("ext")).to_json(expand=expand_iv(req)))


def _require_running(vm):
    if vm.power != "running" or vm.transition:
        raise ArmError(409, "OperationNotAllowed", "Cannot modify extensions in the VM when the VM is not running.")


def _ext_done(vm, ext):
    def done(o):
        if ext.op is o:
            ext.op = None
        if o.status == "Succeeded":
            ext.provisioning_state = "Succeeded"
            vm.failed = None
        else:
            ext.provisioning_state = "Failed"
            vm.failed = ("VMExtensionProvisioningError", (o.error or {}).get("message", ""))
    return done


@route("PUT", VMP + r"/extensions/(?P<ext>[^/]+)")
def put_extension(req):
    return upsert_extension(req, patch=False)


@route("PATCH", VMP + r"/extensions/(?P<ext>[^/]+)")
def patch_extension(req):
    return upsert_extension(req, patch=True)


def upsert_extension(req, patch):
    w = req.world
    vm = w.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    name = req.g("ext")
    body, props = body_props(req)
    existing = vm.extensions.get(name.lower())
    if patch and existing is None:
        raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
    _require_running(vm)
    if vm.busy_reason():
        raise conflict("PUT", vm.name)
    publisher = props.get("publisher") or (existing.publisher if existing else None)
    typ = props.get("type") or (existing.type if existing else None)
    thv = props.get("typeHandlerVersion") or (existing.thv if existing else None)
    if not publisher or not typ or not thv:
        raise ArmError(400, "InvalidParameter",
                       "Required parameter 'publisher', 'type' and 'typeHandlerVersion' must be set.")
    if existing is not None and (existing.publisher.lower() != publisher.lower()
                                 or existing.type.lower() != typ.lower()):
        raise ArmError(400, "PropertyChangeNotAllowed",
                       "Changing property 'publisher' or 'type' of extension '%s' is not allowed." % name)
    settings = props.get("settings") if "settings" in props else (existing.settings if existing else {})
    settings = settings or {}
    ftag = props.get("forceUpdateTag") if "forceUpdateTag" in props else (
        existing.force_update_tag if existing else None)
    auto = props.get("autoUpgradeMinorVersion", existing.auto_upgrade if existing else False)
    if existing is not None and existing.settings == settings and existing.thv == thv \
            and existing.force_update_tag == ftag and not props.get("protectedSettings"):
        # same configuration: CRP and the agent do not re-run the handler
        ext = existing
        ext.provisioning_state = "Updating"
        op = w.new_op("operations", vm.sub, vm.location, w.config["ext_noop_seconds"], vm=vm, ext=ext)
        prev = existing.provisioning_state if existing.provisioning_state != "Updating" else "Succeeded"

        def noop_done(o, prev=prev):
            if ext.op is o:
                ext.op = None
            ext.provisioning_state = prev if o.status == "Succeeded" else "Failed"
        op.on_done = noop_done
        ext.op = op
        return 200, ext.to_json(), lro_headers(req, op)
    new = existing is None
    if new:
        ext = Extension(vm, name, publisher, typ, thv, settings, auto, ftag)
        vm.extensions[name.lower()] = ext
        ext.provisioning_state = "Creating"
    else:
        ext = existing
        if thv != ext.thv:     # e.g. dual pass 0.1 -> 1.1 (-Migrate): the agent installs that handler
            ext.handler_version = Extension(vm, name, publisher, typ, thv).handler_version
        ext.settings, ext.thv, ext.force_update_tag, ext.auto_upgrade = copy.deepcopy(settings), thv, ftag, auto
        ext.provisioning_state = "Updating"
    ext.settings = copy.deepcopy(settings)
    if ext.is_ade and vm.daemon_running():
        # ade-reference 4.1: settings rejected while the daemon runs; previous status kept, message replaced
        op = w.new_op("operations", vm.sub, vm.location, w.config["ext_noop_seconds"], vm=vm, ext=ext)
        base_done = _ext_done(vm, ext)

        def rejected(o):
            base_done(o)
            if o.status == "Succeeded":
                st = ext.status or {"level": "success", "code": 0}
                ext.set_status(st["level"], ade.REJECT_MESSAGE, o.end, st.get("code", 0), substatus=False)
        op.on_done = rejected
        ext.op = op
    elif ext.is_ade:
        op = w.new_op("operations", vm.sub, vm.location, None, vm=vm, ext=ext)
        op.on_done = _ext_done(vm, ext)
        ext.op = op
        if vm.agent_ready:
            ade.start(w, vm, ext, op)
        else:
            _wait_for_agent(w, vm, ext, op, lambda: ade.start(w, vm, ext, op))
    else:
        op = w.new_op("operations", vm.sub, vm.location, w.config["ext_generic_seconds"], vm=vm, ext=ext)
        ext.set_status("transitioning", "Enable in progress", w.clock.now())
        if not vm.agent_ready:
            dur = w.config["ext_generic_seconds"]

            def later(op=op):
                op.done_at = w.clock.now() + dur
            _wait_for_agent(w, vm, ext, op, later)
        base_done = _ext_done(vm, ext)

        def generic_done(o):
            base_done(o)
            if o.status == "Succeeded":
                ext.set_status("success", "Enable succeeded", o.end)
            else:
                ext.set_status("error", "Enable failed", o.end, 1)
        op.on_done = generic_done
        ext.op = op
    return (201 if new else 200), ext.to_json(), lro_headers(req, op)


def _wait_for_agent(w, vm, ext, op, start):
    """The agent has not reported: nothing runs; the LRO fails after agent_timeout_seconds unless the agent
    becomes ready first (admin: POST /_sim/vms/... {"agent_ready": true})."""
    op.done_at = w.clock.now() + float(w.config["agent_timeout_seconds"])
    op.planned = ("Failed", {"code": "VMAgentStatusCommunicationError", "message": (
        "VM '%s' has not reported status for VM agent or extensions. Verify that the OS is up and healthy, the VM "
        "has a running VM agent, and that it can establish outbound connections to Azure storage. Please refer to "
        "https://aka.ms/vmextensionlinuxtroubleshoot for additional VM agent troubleshooting information."
        % vm.name)})

    def go():
        op.done_at = None
        op.planned = ("Succeeded", None)
        start()
    ext.on_agent_ready = go


@route("DELETE", VMP + r"/extensions/(?P<ext>[^/]+)")
def delete_extension(req):
    w = req.world
    vm = w.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    ext = vm.extensions.get(req.g("ext").lower())
    if ext is None:
        return 204, None, {}
    _require_running(vm)
    if vm.busy_reason():
        raise conflict("DELETE", vm.name)
    op = w.new_op("operations", vm.sub, vm.location, w.config["ext_delete_seconds"], vm=vm, ext=ext)
    ext.provisioning_state = "Deleting"
    ext.op = op

    def done(o):
        if ext.op is o:
            ext.op = None
        if o.status == "Succeeded":
            vm.extensions.pop(ext.name.lower(), None)
            ext.run = None
        else:
            ext.provisioning_state = "Failed"
    op.on_done = done
    return 202, None, lro_headers(req, op)


# ---------------------------------------------------------------------------------------------- operations

@route("GET", SUB + r"/providers/Microsoft\.Compute/locations/(?P<loc>[^/]+)/(?P<kind>operations|DiskOperations)/"
       r"(?P<oid>[^/]+)")
def get_operation(req):
    w = req.world
    op = w.op(req.g("sub"), req.g("kind"), req.g("oid"))
    if getattr(_fault_ctx, "lro_fail", None) and op.status == "InProgress":
        w.finish_op(op, "Failed", {"code": "InternalExecutionError", "message": _fault_ctx.lro_fail})
        _fault_ctx.lro_fail = None
    headers = {}
    ra = w.config.get("lro_retry_after")
    if op.kind == "operations" and ra is not None:
        headers["Retry-After"] = str(ra)
    if (req.query.get("monitor") or "").lower() == "true":
        if op.status == "InProgress":
            headers["Location"] = op.url(w.base_url, req.api, monitor=True)
            return 202, None, headers
        if op.status == "Failed":
            return 200, {"error": op.error}, headers
        if op.kind == "DiskOperations" and op.output is not None:
            return 200, op.output(), headers
        return 200, None, headers
    return 200, op.to_json(), headers


# ---------------------------------------------------------------------------------------------- disks, snapshots

def _coll(r, kind):
    return r.disks if kind.lower() == "disks" else r.snapshots


@route("GET", DISKP)
def get_disk(req):
    w = req.world
    r = w.rg(req.g("sub"), req.g("rg"))
    kind = req.g("kind").lower()
    d = _coll(r, kind).get(req.g("name").lower())
    if d is None:
        raise not_found("Microsoft.Compute/" + kind, req.g("name"), req.g("rg"))
    return ok(d.to_json())


@route("GET", RGP + r"/providers/Microsoft\.Compute/(?P<kind>disks|snapshots)")
def list_disks_rg(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    items = sorted(_coll(r, req.g("kind")).values(), key=lambda d: d.name.lower())
    return paged(req, items, lambda d: d.to_json())


@route("GET", SUB + r"/providers/Microsoft\.Compute/(?P<kind>disks|snapshots)")
def list_disks_sub(req):
    s = req.world.sub(req.g("sub"))
    items = []
    for r in s.rgs.values():
        items.extend(_coll(r, req.g("kind")).values())
    items.sort(key=lambda d: (d.rg.lower(), d.name.lower()))
    return paged(req, items, lambda d: d.to_json())


_DISK_NAME_OK = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,78}[A-Za-z0-9_])?$")


@route("PUT", DISKP)
def put_disk(req):
    w = req.world
    r = w.rg(req.g("sub"), req.g("rg"))
    kind = req.g("kind").lower()
    coll = _coll(r, kind)
    name = req.g("name")
    body, props = body_props(req)
    if not _DISK_NAME_OK.match(name):
        # ARM's rule for disk and snapshot names (its InvalidParameter error quotes the pattern, Azure/azure-powershell
        # #4706; "The value of parameter disk.name is invalid." microsoft/AzureStorageExplorer#4425): 1-80 characters,
        # letters, digits, '_', '.', '-', starting with a letter or digit, not ending in '.' or '-'
        raise ArmError(400, "InvalidParameter", "The value of parameter %s.name is invalid." % kind[:-1])
    existing = coll.get(name.lower())
    if existing is not None:
        if existing.provisioning_state != "Succeeded":
            raise ArmError(409, "OperationNotAllowed",
                           "Another operation on %s '%s' is in progress." % (kind[:-1], name))
        cd_new = props.get("creationData") or {}
        for key in ("createOption", "sourceResourceId"):
            # a PUT on an existing disk may change tags, sku, size..., never how it was made: "Changing property
            # 'sourceUri' is not allowed for existing disk '<name>'." (400 BadRequest, jrudlin/Azure#5;
            # "Changing property 'creationData' is not allowed.", Azure/azure-cli#14286)
            if cd_new.get(key) and (existing.creation.get(key) or "").lower() != str(cd_new[key]).lower():
                raise ArmError(400, "BadRequest", "Changing property '%s' is not allowed for existing disk '%s'."
                               % (key, name))
        if isinstance(body.get("tags"), dict):
            existing.tags = dict(body["tags"])
        op = w.new_op("DiskOperations", existing.sub, existing.location, 1, output=existing.to_json)
        return 200, existing.to_json(), lro_headers(req, op)
    location = body.get("location")
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    cd = props.get("creationData") or {}
    opt = cd.get("createOption") or ""
    src = None
    if opt.lower() in ("copy", "copystart"):
        src = w.find_by_id(cd.get("sourceResourceId") or "")
        if src is None:
            raise ArmError(404, "NotFound", "Resource '%s' was not found." % cd.get("sourceResourceId"))
        if src.location.lower() != location.lower() and opt.lower() == "copy":
            raise ArmError(400, "BadRequest", "The source '%s' is in '%s'; copy to '%s' needs createOption "
                           "CopyStart." % (src.name, src.location, location))
    elif kind == "snapshots":
        raise ArmError(400, "InvalidParameter",
                       "Snapshots support createOption 'Copy' or 'CopyStart' in this simulator.")
    elif opt.lower() == "upload":
        return upload.create_upload_disk(req, r, coll, name, body, props, location)
    elif opt.lower() != "empty":
        raise ArmError(400, "InvalidParameter", "createOption '%s' is not simulated for disks." % opt)
    if kind == "snapshots" and location.replace(" ", "").lower() in w.snapshot_unsupported_regions:
        raise ArmError(400, "OperationNotAllowed", "Snapshots are not supported in region '%s'." % location)
    size = props.get("diskSizeGB") or (src.size_gb if src is not None else None)
    if not size:
        raise ArmError(400, "InvalidParameter", "diskSizeGB is required for an empty disk.")
    if src is not None and int(size) < src.size_gb:
        raise ArmError(400, "BadRequest", "The disk size %s GB is smaller than the source's %d GB."
                       % (size, src.size_gb))
    sku = (body.get("sku") or {}).get("name") or ("Standard_LRS" if kind == "snapshots" else "Premium_LRS")
    creation = {"createOption": opt}
    if src is not None:
        creation["sourceResourceId"] = cd.get("sourceResourceId")
        creation["sourceUniqueId"] = src.unique_id
    d = Disk(r.sub, r.name, name, location, size, kind="snapshot" if kind == "snapshots" else "disk",
             os_type=props.get("osType") or (src.os_type if src is not None else None), sku=sku,
             creation=creation, t=w.clock.now())
    if src is not None:
        d.copy_guest_state_from(src)
        if props.get("osType"):
            d.os_type = props["osType"]
    if isinstance(body.get("tags"), dict):
        d.tags = dict(body["tags"])
    if kind == "snapshots":
        d.incremental = bool(props.get("incremental"))
        if d.incremental:
            d.family_id = src.unique_id if src.kind == "disk" else (src.family_id or src.unique_id)
    d.provisioning_state = "Updating"
    coll[name.lower()] = d

    def done(o):
        d.provisioning_state = "Succeeded" if o.status == "Succeeded" else "Failed"
    dur = w.config["snapshot_seconds"] if kind == "snapshots" else w.config["disk_create_seconds"]
    op = w.new_op("DiskOperations", r.sub, location, dur, on_done=done, output=d.to_json)
    echo = d.to_json()
    # the 202 body echoes the request plus provisioningState (azcli_snapshot_*_put recordings)
    echo.pop("id", None)
    echo.pop("name", None)
    echo.pop("type", None)
    echo["properties"]["isArmResource"] = True
    return 202, echo, lro_headers(req, op)


@route("DELETE", DISKP)
def delete_disk(req):
    w = req.world
    r = w.rg(req.g("sub"), req.g("rg"))
    kind = req.g("kind").lower()
    coll = _coll(r, kind)
    d = coll.get(req.g("name").lower())
    if d is None:
        return 204, None, {}
    if d.managed_by is not None:
        raise ArmError(409, "OperationNotAllowed", "Disk %s is attached to VM %s." % (d.name, d.managed_by.id))
    upload.check_usable(d, "delete")
    d.provisioning_state = "Deleting"

    def done(o):
        if o.status == "Succeeded":
            coll.pop(d.name.lower(), None)
        else:
            d.provisioning_state = "Succeeded"
    op = w.new_op("DiskOperations", r.sub, d.location, w.config["delete_seconds"], on_done=done)
    return 202, None, lro_headers(req, op)


# ---------------------------------------------------------------------------------------------- Key Vault

@route("GET", RGP + r"/providers/Microsoft\.KeyVault/vaults/(?P<name>[^/]+)")
def get_vault(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    v = r.vaults.get(req.g("name").lower())
    if v is None:
        raise not_found("Microsoft.KeyVault/vaults", req.g("name"), req.g("rg"))
    return ok(v.to_json())


@route("GET", RGP + r"/providers/Microsoft\.KeyVault/vaults")
def list_vaults_rg(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    return ok({"value": [v.to_json() for v in r.vaults.values()]})


@route("GET", SUB + r"/providers/Microsoft\.KeyVault/vaults")
def list_vaults_sub(req):
    s = req.world.sub(req.g("sub"))
    return ok({"value": [v.to_json() for r in s.rgs.values() for v in r.vaults.values()]})


@route("GET", SUB + r"/resources")
def list_resources(req):
    """Generic resource list; supports $filter=resourceType eq '<type>' for vaults, VMs, disks, snapshots."""
    s = req.world.sub(req.g("sub"))
    flt = (req.query.get("$filter") or "").lower()
    m = re.search(r"resourcetype\s+eq\s+'([^']+)'", flt)
    want = m.group(1) if m else None
    out = []
    for r in s.rgs.values():
        groups = [("microsoft.keyvault/vaults", r.vaults.values()),
                  ("microsoft.compute/virtualmachines", r.vms.values()),
                  ("microsoft.compute/disks", r.disks.values()),
                  ("microsoft.compute/snapshots", r.snapshots.values())]
        for typ, objs in groups:
            if want and want != typ:
                continue
            for o in objs:
                out.append({"id": o.id, "name": o.name, "type": {
                    "microsoft.keyvault/vaults": "Microsoft.KeyVault/vaults",
                    "microsoft.compute/virtualmachines": "Microsoft.Compute/virtualMachines",
                    "microsoft.compute/disks": "Microsoft.Compute/disks",
                    "microsoft.compute/snapshots": "Microsoft.Compute/snapshots"}[typ],
                    "location": o.location, "tags": {}})
    return ok({"value": out})

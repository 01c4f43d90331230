"""Managed images, restore points and the subscription-wide scale-set list (issue 17 item 2): what else ADE touched.

The ADE retirement covers backups too ("migrate every ADE VM, backups included", retirement notice; disk-encryption-
migrate.md: snapshots and Copy disks keep the UDE flag). The collection's inventory lists, per subscription, the
images and restore points that carry ADE settings, next to disks, snapshots, VMs and scale sets.

Sources (REST shapes; Azure/azure-rest-api-specs specification/compute/resource-manager/Microsoft.Compute/ComputeRP/
stable/2024-07-01):
- image.json: Image {location, tags, properties {sourceVirtualMachine {id}, storageProfile {osDisk ImageOSDisk {osType,
  osState Generalized|Specialized, snapshot {id}, managedDisk {id}, blobUri, caching, diskSizeGB, storageAccountType},
  dataDisks [ImageDataDisk {lun, ...}], zoneResilient}, provisioningState, hyperVGeneration}}; Images - Get, List
  By Resource Group, List (subscription) (learn.microsoft.com/rest/api/compute/images).
- restorePoint.json: RestorePointCollection {properties {source {id, location}, restorePointCollectionId,
  provisioningState, restorePoints (with ``$expand=restorePoints``)}}; RestorePoint {properties {excludeDisks,
  sourceMetadata {hardwareProfile, storageProfile {osDisk RestorePointSourceVMOSDisk {osType, encryptionSettings
  DiskEncryptionSettings, name, caching, diskSizeGB, managedDisk, diskRestorePoint}, dataDisks [...]}, vmId,
  location}, provisioningState, consistencyMode, timeCreated}} (learn.microsoft.com/rest/api/compute/
  restore-point-collections Get / List / List All, restore-points Get).
- virtualMachineScaleSet.json: Virtual Machine Scale Sets - List All (GET /subscriptions/{s}/providers/
  Microsoft.Compute/virtualMachineScaleSets).
**open:** whether a restore point of a single-pass ADE VM shows the disks' ADE settings in
``sourceMetadata.storageProfile.*.encryptionSettings`` is not documented; the simulator shows the stamp of each disk
at the time the point was taken there (the collection also flags points by their source VM and disk IDs).

Scenario (resource-group keys, seeded after the VMs and their encryption, in this order): ``copies [{name, source (disk
or snapshot), kind snapshot|disk}]`` (a snapshot or ``Copy`` disk as it would be taken now: ADE state and UDE flag
carried), ``images [{name, source_vm | source_disk | source_snapshot, os_state}]`` and ``restore_point_collections
[{name, source_vm, points [names]}]``.
"""

import copy

from . import vmss
from .clock import iso
from .errors import ArmError, not_found
from .model import Disk, stable_uuid
from .routing import RGP, SUB, ok, route

RG_SPEC_KEYS = {"images", "restore_point_collections", "copies"}
IMGP = RGP + r"/providers/Microsoft\.Compute/images/(?P<img>[^/]+)"
RPCP = RGP + r"/providers/Microsoft\.Compute/restorePointCollections/(?P<rpc>[^/]+)"


def store(r):
    d = r.__dict__.get("backups")
    if d is None:
        d = r.__dict__["backups"] = {"images": {}, "rpcs": {}}
    return d


def _rgs(w, sid):
    yield from w.sub(sid).rgs.values()


def _disk_settings(d):
    """DiskEncryptionSettings of a stamped disk (the single-pass stamp's first element), or None."""
    st = getattr(d, "stamp", None)
    if not st:
        return None
    el = (st.get("encryptionSettings") or [{}])[0]
    out = {"enabled": True, "diskEncryptionKey": copy.deepcopy(el.get("diskEncryptionKey"))}
    if el.get("keyEncryptionKey"):
        out["keyEncryptionKey"] = copy.deepcopy(el["keyEncryptionKey"])
    return out


class Image:
    def __init__(self, r, name, location, source_kind, source_id, os_state="Generalized", size_gb=30, t=0.0):
        self.sub, self.rg, self.name, self.location = r.sub, r.name, name, location
        self.source_kind, self.source_id, self.os_state, self.size_gb = source_kind, source_id, os_state, size_gb
        self.tags = {}
        self.t = t

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/images/%s" % (
            self.sub, self.rg, self.name)

    def to_json(self):
        od = {"osType": "Linux", "osState": self.os_state, "caching": "ReadWrite", "diskSizeGB": self.size_gb,
              "storageAccountType": "Premium_LRS"}
        props = {"storageProfile": {"osDisk": od, "dataDisks": [], "zoneResilient": False},
                 "provisioningState": "Succeeded", "hyperVGeneration": "V1"}
        if self.source_kind == "vm":
            props["sourceVirtualMachine"] = {"id": self.source_id}
        elif self.source_kind == "snapshot":
            od["snapshot"] = {"id": self.source_id}
        else:
            od["managedDisk"] = {"id": self.source_id}
        return {"name": self.name, "id": self.id, "type": "Microsoft.Compute/images", "location": self.location,
                "tags": dict(self.tags), "properties": props}


class RestorePointCollection:
    def __init__(self, r, name, vm, t):
        self.sub, self.rg, self.name = r.sub, r.name, name
        self.location = vm.location
        self.source_id = vm.id
        self.points = {}
        self.tags = {}

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/restorePointCollections/%s" % (
            self.sub, self.rg, self.name)

    def take(self, vm, name, t):
        """A crash-consistent point of the VM as it is now (its disks' ADE stamps included)."""
        def disk_entry(d, lun=None, caching="ReadWrite"):
            e = {"name": d.name, "caching": caching, "diskSizeGB": d.size_gb,
                 "managedDisk": {"id": d.id, "storageAccountType": d.sku},
                 "diskRestorePoint": {"id": "%s/restorePoints/%s/diskRestorePoints/%s_%s" % (
                     self.id, name, d.name, stable_uuid(d.id, name)[:8])}}
            if lun is not None:
                e["lun"] = lun
            es = _disk_settings(d)
            if es:
                e["encryptionSettings"] = es
            return e
        od = disk_entry(vm.os_disk)
        od["osType"] = "Linux"
        if vm.model_os_encryption is not None:          # dual pass: the VM model's own settings
            od["encryptionSettings"] = copy.deepcopy(vm.model_os_encryption)
        meta = {"hardwareProfile": {"vmSize": vm.size}, "vmId": vm.vm_id, "location": vm.location,
                "storageProfile": {"osDisk": od, "dataDisks": [disk_entry(d, lun, c) for lun, d, c in vm.data_disks]}}
        self.points[name.lower()] = {"name": name, "id": self.id + "/restorePoints/" + name,
                                     "type": "Microsoft.Compute/restorePointCollections/restorePoints",
                                     "properties": {"excludeDisks": [], "sourceMetadata": meta,
                                                    "provisioningState": "Succeeded",
                                                    "consistencyMode": "CrashConsistent", "timeCreated": iso(t)}}

    def to_json(self, expand=False):
        props = {"source": {"id": self.source_id, "location": self.location},
                 "restorePointCollectionId": stable_uuid(self.id), "provisioningState": "Succeeded"}
        if expand:
            props["restorePoints"] = [copy.deepcopy(p) for p in self.points.values()]
        return {"name": self.name, "id": self.id, "type": "Microsoft.Compute/restorePointCollections",
                "location": self.location, "tags": dict(self.tags), "properties": props}


# ---------------------------------------------------------------------------------------------- seeding

def seed_rg(w, r, rdoc):
    t = w.clock.now()
    for cdoc in rdoc.get("copies") or []:       # snapshots / Copy disks of seeded disks (they keep ADE state + UDE)
        src = r.disks.get((cdoc.get("source") or "").lower()) or r.snapshots.get((cdoc.get("source") or "").lower())
        if src is None:
            raise ValueError("copy %r: source %r is not a disk or snapshot of %s"
                             % (cdoc.get("name"), cdoc.get("source"), r.name))
        kind = cdoc.get("kind", "snapshot")
        d = Disk(r.sub, r.name, cdoc["name"], src.location, src.size_gb, kind=kind, os_type=src.os_type,
                 creation={"createOption": "Copy", "sourceResourceId": src.id, "sourceUniqueId": src.unique_id}, t=t)
        d.copy_guest_state_from(src)
        (r.snapshots if kind == "snapshot" else r.disks)[d.name.lower()] = d
    for idoc in rdoc.get("images") or []:
        kinds = [k for k in ("source_vm", "source_disk", "source_snapshot") if idoc.get(k)]
        if len(kinds) != 1:
            raise ValueError("image %r needs exactly one of source_vm, source_disk, source_snapshot" % idoc.get("name"))
        k = kinds[0]
        if k == "source_vm":
            vm = r.vms.get(idoc[k].lower())
            if vm is None:
                raise ValueError("image %r: VM %r is not in resource group %s" % (idoc["name"], idoc[k], r.name))
            src, size = vm.id, vm.os_disk.size_gb
        else:
            coll = r.disks if k == "source_disk" else r.snapshots
            d = coll.get(idoc[k].lower())
            if d is None:
                raise ValueError("image %r: %s %r is not in resource group %s" % (idoc["name"], k[7:], idoc[k], r.name))
            src, size = d.id, d.size_gb
        store(r)["images"][idoc["name"].lower()] = Image(r, idoc["name"], idoc.get("location", r.location),
                                                         k[7:], src, idoc.get("os_state", "Generalized"), size, t)
    for cdoc in rdoc.get("restore_point_collections") or []:
        vm = r.vms.get((cdoc.get("source_vm") or "").lower())
        if vm is None:
            raise ValueError("restore point collection %r: source_vm %r is not in resource group %s"
                             % (cdoc.get("name"), cdoc.get("source_vm"), r.name))
        c = RestorePointCollection(r, cdoc["name"], vm, t)
        for p in cdoc.get("points") or ["rp1"]:
            c.take(vm, p, t)
        store(r)["rpcs"][c.name.lower()] = c


# ---------------------------------------------------------------------------------------------- routes

@route("GET", IMGP)
def get_image(req):
    img = store(req.world.rg(req.g("sub"), req.g("rg")))["images"].get(req.g("img").lower())
    if img is None:
        raise not_found("Microsoft.Compute/images", req.g("img"), req.g("rg"))
    return ok(img.to_json())


@route("GET", RGP + r"/providers/Microsoft\.Compute/images")
def list_images_rg(req):
    return ok({"value": [i.to_json() for i in store(req.world.rg(req.g("sub"), req.g("rg")))["images"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Compute/images")
def list_images_sub(req):
    return ok({"value": [i.to_json() for r in _rgs(req.world, req.g("sub")) for i in store(r)["images"].values()]})


def _expand(req):
    return "restorepoints" in (req.query.get("$expand") or "").lower()


@route("GET", RPCP)
def get_rpc(req):
    c = store(req.world.rg(req.g("sub"), req.g("rg")))["rpcs"].get(req.g("rpc").lower())
    if c is None:
        raise not_found("Microsoft.Compute/restorePointCollections", req.g("rpc"), req.g("rg"))
    return ok(c.to_json(expand=_expand(req)))


@route("GET", RPCP + r"/restorePoints/(?P<rp>[^/]+)")
def get_restore_point(req):
    c = store(req.world.rg(req.g("sub"), req.g("rg")))["rpcs"].get(req.g("rpc").lower())
    p = c.points.get(req.g("rp").lower()) if c is not None else None
    if p is None:
        raise ArmError(404, "NotFound", "Restore point '%s' was not found." % req.g("rp"))
    return ok(copy.deepcopy(p))


@route("GET", RGP + r"/providers/Microsoft\.Compute/restorePointCollections")
def list_rpcs_rg(req):
    return ok({"value": [c.to_json() for c in store(req.world.rg(req.g("sub"), req.g("rg")))["rpcs"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Compute/restorePointCollections")
def list_rpcs_sub(req):
    return ok({"value": [c.to_json() for r in _rgs(req.world, req.g("sub")) for c in store(r)["rpcs"].values()]})


@route("GET", SUB + r"/providers/Microsoft\.Compute/virtualMachineScaleSets")
def list_scale_sets_sub(req):
    return ok({"value": [ss.to_json() for r in _rgs(req.world, req.g("sub")) for ss in vmss.sets(r).values()]})

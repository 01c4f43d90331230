"""VM create from an image reference (issue 17: the rebuild of an OS-encrypted VM), and the VM properties a rebuild
keeps: zone, availability set, proximity placement group, boot diagnostics, managed identities.

Sources: Virtual Machines - Create Or Update (learn.microsoft.com/rest/api/compute/virtual-machines/create-or-update;
Azure/azure-rest-api-specs specification/compute/resource-manager/Microsoft.Compute/ComputeRP/stable/2024-07-01/
virtualMachine.json): body {location, zones, tags, identity {type, userAssignedIdentities}, plan, properties
{hardwareProfile {vmSize}, storageProfile {imageReference {publisher, offer, sku, version} | {id}, osDisk
{createOption FromImage, caching, diskSizeGB, managedDisk {storageAccountType}}, dataDisks [{lun, createOption Empty,
diskSizeGB, caching, managedDisk}]}, osProfile {computerName, adminUsername, linuxConfiguration}, networkProfile
{networkInterfaces [{id, properties {primary}}]}, securityProfile {encryptionAtHost}, availabilitySet {id},
proximityPlacementGroup {id}, diagnosticsProfile {bootDiagnostics {enabled, storageUri}}}}; answers 201 with
provisioningState Creating and an Azure-AsyncOperation. A NIC is used by one VM only (network.py ``NicInUse``);
encryption at host needs the subscription feature and a size with the capability (compat.py). A data disk
``createOption Empty`` without ``diskSizeGB`` -> 400 (SIM wording); an OS disk ``createOption Attach`` (a specialized
disk) is not simulated here (400).
Config ``vm_create_seconds`` (120 simulated s). Scenario VM keys ``zone``, ``availability_set``,
``proximity_placement_group``, ``boot_diagnostics`` (bool) give seeded VMs these properties; for the rebuild's
refusals (nothing to recreate, not a single VM): ``specialized`` (bool: the VM was created from a specialized disk -
its ``storageProfile.osDisk.createOption`` is ``Attach`` and it has no ``imageReference``; REST reference, OSDisk
createOption "Attach: This value is used when you are using a specialized disk to create the virtual machine"),
``no_image_reference`` (bool: FromImage but no ``imageReference`` in the model) and ``scale_set`` (name: a VM in a
Flexible scale set, ``properties.virtualMachineScaleSet.id``, REST reference "Specifies information about the virtual
machine scale set that the virtual machine should be assigned to").
"""

import copy
import re
import uuid

from . import backups, compat, network
from .errors import ArmError
from .model import IMAGE_REF, VM, VM_JSON, Disk, vm_op
from .routing import lro_headers

VM_SPEC_KEYS = {"zone", "availability_set", "proximity_placement_group", "boot_diagnostics", "specialized",
                "no_image_reference", "scale_set"}


def init_vm(vm, spec):
    """Scenario keys of a seeded VM (called from scenario._vm)."""
    r = "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/" % (vm.sub, vm.rg)
    vm.zones = [str(spec["zone"])] if spec.get("zone") else []
    vm.avset = {"id": r + "availabilitySets/" + spec["availability_set"]} if spec.get("availability_set") else None
    vm.ppg = ({"id": r + "proximityPlacementGroups/" + spec["proximity_placement_group"]}
              if spec.get("proximity_placement_group") else None)
    vm.diagnostics = {"bootDiagnostics": {"enabled": True}} if spec.get("boot_diagnostics") else None
    vm.specialized = bool(spec.get("specialized"))
    vm.no_image_reference = bool(spec.get("no_image_reference"))
    vm.scale_set = ({"id": r + "virtualMachineScaleSets/" + spec["scale_set"]} if spec.get("scale_set") else None)


def decorate(vm, d, props):
    """Called from VM.to_json: the kept properties (top level ``zones``, ``properties`` extras)."""
    if getattr(vm, "zones", None):
        d["zones"] = list(vm.zones)
    for attr, key in (("avset", "availabilitySet"), ("ppg", "proximityPlacementGroup"),
                      ("diagnostics", "diagnosticsProfile")):
        if getattr(vm, attr, None):
            props[key] = copy.deepcopy(getattr(vm, attr))
    ref = getattr(vm, "image_ref", None)
    if ref is not None:
        props["storageProfile"]["imageReference"] = copy.deepcopy(ref)
        props["storageProfile"]["osDisk"]["createOption"] = "FromImage"
    if getattr(vm, "specialized", False):
        props["storageProfile"].pop("imageReference", None)
        props["storageProfile"]["osDisk"]["createOption"] = "Attach"
    elif getattr(vm, "no_image_reference", False):
        props["storageProfile"].pop("imageReference", None)
    if getattr(vm, "scale_set", None):
        props["virtualMachineScaleSet"] = copy.deepcopy(vm.scale_set)


VM_JSON.append(decorate)


def distro_of(w, ref):
    """(distro, version) for an image reference: the marketplace images of model.IMAGE_REF, or a managed image's
    source VM; a gallery image by ID counts as Ubuntu 22.04 (SIM)."""
    if ref.get("id"):
        parts = ref["id"].strip("/").split("/")
        if len(parts) == 8 and parts[6].lower() == "images":
            try:
                img = backups.store(w.rg(parts[1], parts[3]))["images"].get(parts[7].lower())
            except ArmError:
                img = None
            if img is None:
                raise ArmError(404, "NotFound", "The Image '%s' cannot be found." % ref["id"])
            src = w.find_by_id(img.source_id) if img.source_kind != "vm" else None
            if img.source_kind == "vm":
                for vm in w.all_vms(parts[1]):
                    if vm.id.lower() == img.source_id.lower():
                        return vm.distro, vm.version
            return ("ubuntu", "18.04") if src is None else ("ubuntu", "18.04")
        return "ubuntu", "22.04"
    pub = (ref.get("publisher") or "").lower()
    for distro, (p, offer, sku) in IMAGE_REF.items():
        if p.lower() != pub:
            continue
        for pat, val in ((offer, ref.get("offer") or ""), (sku, ref.get("sku") or "")):
            if "{v}" in pat:
                m = re.match("^" + re.escape(pat).replace(r"\{v\}", "(.+)") + "$", val, re.I)
                if m:
                    return distro, m.group(1)
    raise ArmError(404, "PlatformImageNotFound", "The platform image '%s:%s:%s:%s' is not available. Verify that all "
                   "fields in the storage profile are correct."
                   % (ref.get("publisher"), ref.get("offer"), ref.get("sku"), ref.get("version")))


def create_vm(req):
    w = req.world
    r = w.rg(req.g("sub"), req.g("rg"))
    name = req.g("vm")
    body = req.body if isinstance(req.body, dict) else {}
    props = body.get("properties") or {}
    location = body.get("location")
    if not location:
        raise ArmError(400, "LocationRequired", "The location property is required for this definition.")
    size = (props.get("hardwareProfile") or {}).get("vmSize")
    caps = compat.size_capabilities(size)
    if caps is None:
        raise ArmError(400, "InvalidParameter", "The requested VM size '%s' is not available in location '%s'."
                       % (size, location))
    sp = props.get("storageProfile") or {}
    od = sp.get("osDisk") or {}
    if (od.get("createOption") or "").lower() == "attach":
        raise ArmError(400, "InvalidParameter", "Creating a VM from an attached (specialized) OS disk is not "
                       "simulated.")
    ref = sp.get("imageReference")
    if not ref:
        raise ArmError(400, "InvalidParameter", "Required parameter 'imageReference' is missing (null).")
    distro, version = distro_of(w, ref)
    nics = [n.get("id") for n in (props.get("networkProfile") or {}).get("networkInterfaces") or [] if n.get("id")]
    if not nics:
        raise ArmError(400, "InvalidParameter", "Required parameter 'networkProfile' is missing (null).")
    for nid in nics:
        nic = network.find(w, nid, "networkInterfaces")
        if nic is None:
            raise ArmError(400, "InvalidResourceReference", "Resource %s referenced by resource %s was not found."
                           % (nid, "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s"
                              % (r.sub, r.name, name)))
        if nic.vm_id:
            raise ArmError(400, "NicInUse", "Network Interface %s is used by existing resource %s. In order to use "
                           "it for another virtual machine, it must be dissociated from the resource." % (nid, nic.vm_id))
    eah = bool((props.get("securityProfile") or {}).get("encryptionAtHost"))
    if eah:
        if compat.feature_state(w, r.sub, compat.EAH_FEATURE) != "Registered":
            raise ArmError(400, "InvalidParameter", "The property 'securityProfile.encryptionAtHost' is not valid "
                           "because the 'Microsoft.Compute/EncryptionAtHost' feature is not enabled for this "
                           "subscription.")
        if caps.get("EncryptionAtHostSupported") != "True":
            raise ArmError(400, "InvalidParameter", "The VM size '%s' does not support encryption at host "
                           "(securityProfile.encryptionAtHost)." % size)
    data_in = sp.get("dataDisks") or []
    luns = set()
    for e in data_in:
        lun = int(e.get("lun", 0))
        if lun in luns:
            raise ArmError(400, "InvalidParameter", "Duplicate LUN %d." % lun)
        luns.add(lun)
        if (e.get("createOption") or "").lower() != "empty":
            raise ArmError(400, "InvalidParameter", "Only createOption Empty data disks are simulated on create.")
        if not e.get("diskSizeGB"):
            raise ArmError(400, "InvalidParameter", "Data disk at LUN %d: diskSizeGB is required with createOption "
                           "Empty." % lun)
    ident = body.get("identity") or {}
    spec = {"size": size, "os": {"distro": distro, "version": version},
            "memory_gb": float(caps.get("MemoryGB") or 16), "power_state": "deallocated",
            "encryption_at_host": eah if eah else None, "tags": body.get("tags") or {},
            "identities": list((ident.get("userAssignedIdentities") or {}).keys()),
            "admin_username": (props.get("osProfile") or {}).get("adminUsername") or "azureuser",
            # test-bed knob (config "created_vm_ids" {name: vmId}): the vmId the spare test host's IMDS answers
            "vm_id": (w.config.get("created_vm_ids") or {}).get(name) or
            str(uuid.uuid5(uuid.NAMESPACE_URL, "%s/%s/%s/%s" % (r.sub, r.name, name, w.clock.now())))}
    t = w.clock.now()
    vm = VM(w, r.sub, r.name, name, location, spec, t)
    vm.zones = [str(z) for z in body.get("zones") or []]
    vm.avset = copy.deepcopy(props.get("availabilitySet"))
    vm.ppg = copy.deepcopy(props.get("proximityPlacementGroup"))
    vm.diagnostics = copy.deepcopy(props.get("diagnosticsProfile"))
    vm.image_ref = dict(ref, exactVersion=version + ".0") if not ref.get("id") else dict(ref)
    osname = od.get("name") or "%s_OsDisk_1_%s" % (name, uuid.uuid4().hex)
    osd = Disk(r.sub, r.name, osname, location, od.get("diskSizeGB") or 30, os_type="Linux",
               sku=(od.get("managedDisk") or {}).get("storageAccountType") or "Premium_LRS", t=t,
               creation={"createOption": "FromImage", "imageReference": copy.deepcopy(ref)})
    osd.managed_by = vm
    vm.os_disk = osd
    r.disks[osd.name.lower()] = osd
    for e in sorted(data_in, key=lambda x: int(x.get("lun", 0))):
        lun = int(e.get("lun", 0))
        dname = e.get("name") or "%s_DataDisk_%d" % (name, lun)
        d = Disk(r.sub, r.name, dname, location, e["diskSizeGB"],
                 sku=(e.get("managedDisk") or {}).get("storageAccountType") or "Premium_LRS", t=t)
        d.managed_by = vm
        d.mounted = False          # a new empty disk: the operator's configuration formats and mounts it
        vm.data_disks.append((lun, d, e.get("caching") or "None"))
        r.disks[d.name.lower()] = d
    r.vms[name.lower()] = vm
    network.attach(w, vm, nics)

    def done(o):
        if o.status == "Succeeded":
            vm.power = "running"
        vm.transition = None
    op = vm_op(req, vm, w.config.get("vm_create_seconds", 120), done, transition="starting")
    return 201, vm.to_json(), lro_headers(req, op)

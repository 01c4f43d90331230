"""Virtual machine scale sets (Uniform orchestration) and ADE on their instances, issue 7.

What the peers do with a Linux scale set, and so what the simulator has to answer:
* azure-cli 2.91.0 ``vm/disk_encryption.py``: ``encrypt_vmss`` (GET the scale set, put the ADE extension into
  ``virtualMachineProfile.extensionProfile`` with ``forceUpdateTag`` and PUT the whole scale set; Linux volume type
  must be Data: ``_handles_default_volume_type_for_vmss_encryption`` "OS disk encyrption is not yet supported for
  Linux VM scale sets"); ``decrypt_vmss`` (same with ``DisableEncryption``); ``_show_post_action_message`` (Manual
  upgrade mode: "you will need to run 'az vmss update-instances'"); ``show_vmss_encryption_status`` (GET
  ``virtualMachineScaleSets/{n}/virtualMachines?$expand=instanceView&$select=instanceView``: per instance the
  disks' ``encryptionSettings`` and ``EncryptionState/*`` statuses).
* Az PowerShell ``SetAzureVmssDiskEncryptionExtension.cs`` (``VirtualMachineScaleSetExtensionsClient.CreateOrUpdate``
  = PUT ``virtualMachineScaleSets/{n}/extensions/{ext}``; ``VerifyVolumeType``: "Only data disk encryption is
  supported for Linux VM Scale Set."), ``Get-AzVmssVMDiskEncryption`` (per instance).
* docs disk-encryption-linux.md Restrictions: "Encrypting the OS drive for Linux Virtual Machine Scale Sets" is not
  supported.

Model: the scale set's extension profile is the model; an instance runs it once it has the latest model - at once
with upgrade mode Automatic/Rolling, after ``POST .../manualupgrade`` (``az vmss update-instances``) with Manual.
Each instance is a ``model.VM`` (not listed as a VM) so the ADE state machine of ``ade.py`` runs on it unchanged.
**open:** how long a scale-set PUT's LRO takes while instances upgrade; modelled as ``vm_update_seconds``.
"""

import copy
import uuid

from . import ade
from .errors import ArmError
from .model import ADE_PUBLISHER, ADE_TYPE, Disk, Extension, VM
from .routing import RGP, body_props, lro_headers, ok, route

SSP = RGP + r"/providers/Microsoft\.Compute/virtualMachineScaleSets/(?P<ss>[^/]+)"
SS_KEYS = {"name", "capacity", "size", "upgrade_policy", "os", "data_disks", "os_type", "encryption", "location",
           "power_state", "ephemeral_os", "ade_timing"}


def sets(r):
    return r.__dict__.setdefault("scale_sets", {})


class Instance(VM):
    """One scale-set instance: a VM for the ADE model, shown at the scale set's virtualMachines/{instanceId}."""

    def __init__(self, ss, iid, spec, t):
        VM.__init__(self, ss.world, ss.sub, ss.rg, "%s_%s" % (ss.name, iid), ss.location, spec, t)
        self.ss, self.instance_id, self.latest = ss, str(iid), True

    @property
    def id(self):
        return "%s/virtualMachines/%s" % (self.ss.id, self.instance_id)

    def to_json(self, expand=False, resources=True):
        d = VM.to_json(self, expand=expand, resources=resources)
        d.update(name=self.name, id=self.id, type="Microsoft.Compute/virtualMachineScaleSets/virtualMachines",
                 instanceId=self.instance_id, sku={"name": self.size, "tier": "Standard"})
        d["properties"]["latestModelApplied"] = self.latest
        d["properties"].pop("osProfile", None)
        return d


class ScaleSet:
    def __init__(self, world, sub, rg, spec, t):
        self.world, self.sub, self.rg = world, sub, rg.name
        self.name = spec["name"]
        self.location = spec.get("location", rg.location)
        self.size = spec.get("size", "Standard_D4s_v3")
        self.upgrade_mode = spec.get("upgrade_policy", "Manual")
        if self.upgrade_mode not in ("Automatic", "Manual", "Rolling"):
            raise ValueError("upgrade_policy must be Automatic, Manual or Rolling: %r" % self.upgrade_mode)
        self.os_type = spec.get("os_type", "Linux")
        self.ephemeral_os = bool(spec.get("ephemeral_os"))
        self.data_luns = [int(d.get("lun", j)) for j, d in enumerate(spec.get("data_disks") or [])]
        self.profile = []          # extensionProfile.extensions (REST dicts)
        self.busy = None
        self.instances = {}
        inst_spec = {k: v for k, v in spec.items() if k in ("size", "os", "power_state", "ade_timing")}
        for i in range(int(spec.get("capacity", 2))):
            inst = Instance(self, i, inst_spec, t)
            od = Disk(sub, rg.name, "%s_%s_OsDisk_1_%s" % (self.name, i, uuid.uuid4().hex[:12]), self.location, 30,
                      os_type=self.os_type, t=t)
            od.managed_by = inst
            inst.os_disk = od
            for lun in self.data_luns:
                d = Disk(sub, rg.name, "%s_%s_disk%d_%s" % (self.name, i, lun, uuid.uuid4().hex[:12]),
                         self.location, 32, t=t)
                d.managed_by = inst
                inst.data_disks.append((lun, d, "None"))
            self.instances[str(i)] = inst

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachineScaleSets/%s" % (
            self.sub, self.rg, self.name)

    def to_json(self):
        os_disk = {"osType": self.os_type, "createOption": "FromImage", "caching": "ReadWrite",
                   "managedDisk": {"storageAccountType": "Premium_LRS"}}
        if self.ephemeral_os:
            os_disk["diffDiskSettings"] = {"option": "Local", "placement": "CacheDisk"}
            os_disk["caching"] = "ReadOnly"
        first = next(iter(self.instances.values()), None)
        profile = {
            "osProfile": {"computerNamePrefix": self.name[:9], "adminUsername": "azureuser",
                          "linuxConfiguration": {"disablePasswordAuthentication": True, "provisionVMAgent": True}}
            if self.os_type == "Linux" else {"computerNamePrefix": self.name[:9], "adminUsername": "azureuser",
                                             "windowsConfiguration": {"provisionVMAgent": True}},
            "storageProfile": {"imageReference": first.image_reference() if first else {},
                               "osDisk": os_disk,
                               "dataDisks": [{"lun": lun, "createOption": "Empty", "diskSizeGB": 32, "caching": "None",
                                              "managedDisk": {"storageAccountType": "Premium_LRS"}}
                                             for lun in self.data_luns]},
            "networkProfile": {"networkInterfaceConfigurations": []},
            "extensionProfile": {"extensions": copy.deepcopy(self.profile)},
        }
        return {"name": self.name, "id": self.id, "type": "Microsoft.Compute/virtualMachineScaleSets",
                "location": self.location, "tags": {},
                "sku": {"name": self.size, "tier": "Standard", "capacity": len(self.instances)},
                "properties": {"orchestrationMode": "Uniform", "upgradePolicy": {"mode": self.upgrade_mode},
                               "virtualMachineProfile": profile, "provisioningState":
                                   "Updating" if self.busy is not None else "Succeeded",
                               "overprovision": False, "singlePlacementGroup": True,
                               "uniqueId": str(uuid.uuid5(uuid.NAMESPACE_URL, self.id))}}

    # ---- model -> instances
    def set_profile(self, exts):
        for e in exts:
            p = e.get("properties") or {}
            if not e.get("name") or not p.get("publisher") or not p.get("type") or not p.get("typeHandlerVersion"):
                raise ArmError(400, "InvalidParameter", "Scale set extensions need name, publisher, type and "
                               "typeHandlerVersion.")
        if exts == self.profile:
            return False
        self.profile = copy.deepcopy(exts)
        for inst in self.instances.values():
            inst.latest = False
        if self.upgrade_mode in ("Automatic", "Rolling"):
            for inst in self.instances.values():
                self.upgrade(inst)
        return True

    def upgrade(self, inst):
        """The instance takes the latest model: new or changed extensions run, removed ones go."""
        w = self.world
        now = w.clock.now()
        names = set()
        for e in self.profile:
            p = e["properties"]
            names.add(e["name"].lower())
            cur = inst.extensions.get(e["name"].lower())
            settings = p.get("settings") or {}
            same = cur is not None and cur.settings == settings and cur.thv == p["typeHandlerVersion"] and \
                cur.force_update_tag == p.get("forceUpdateTag")
            if same:
                continue
            if cur is None:
                cur = Extension(inst, e["name"], p["publisher"], p["type"], p["typeHandlerVersion"], settings,
                                p.get("autoUpgradeMinorVersion", True), p.get("forceUpdateTag"))
                inst.extensions[e["name"].lower()] = cur
            else:
                cur.settings, cur.thv = copy.deepcopy(settings), p["typeHandlerVersion"]
                cur.force_update_tag = p.get("forceUpdateTag")
            cur.provisioning_state = "Succeeded"
            if cur.is_ade:
                if inst.running:
                    ade.start(w, inst, cur, None)
            else:
                cur.set_status("success", "Enable succeeded", now)
        for key in [k for k in inst.extensions if k not in names]:
            inst.extensions.pop(key)
        inst.latest = True


def seed(world, sid, r, spec, t):
    unknown = set(spec) - SS_KEYS
    if unknown:
        raise ValueError("unknown scale set keys %s in %r" % (sorted(unknown), spec.get("name")))
    ss = ScaleSet(world, sid, r, spec, t)
    sets(r)[ss.name.lower()] = ss
    enc = spec.get("encryption")
    if enc:
        # an already encrypted scale set (data volumes): the profile and every instance run to the end
        vault = r.vaults.get((enc.get("vault") or "").lower())
        if vault is None:
            raise ValueError("scale set %s: encryption needs a vault of its resource group" % ss.name)
        s = {"KeyVaultURL": vault.uri, "KeyVaultResourceId": vault.id, "KeyEncryptionKeyURL": "",
             "KekVaultResourceId": "", "KeyEncryptionAlgorithm": "", "VolumeType": enc.get("volume_type", "Data"),
             "EncryptionOperation": "EnableEncryption"}
        ss.profile = [{"name": ADE_TYPE, "properties": {
            "publisher": ADE_PUBLISHER, "type": ADE_TYPE, "typeHandlerVersion": "1.1",
            "autoUpgradeMinorVersion": True, "settings": s, "forceUpdateTag": str(uuid.uuid4())}}]
        for inst in ss.instances.values():
            ss.upgrade(inst)
            e = inst.ade_ext()
            if e is not None and e.run is not None:
                ade.start(world, inst, e, None, fast_forward=10 ** 7)
    return ss


def _ss(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    ss = sets(r).get(req.g("ss").lower())
    if ss is None:
        raise ArmError(404, "ResourceNotFound", "The Resource 'Microsoft.Compute/virtualMachineScaleSets/%s' under "
                       "resource group '%s' was not found." % (req.g("ss"), req.g("rg")))
    return ss


def _inst(ss, iid):
    inst = ss.instances.get(str(iid))
    if inst is None:
        raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
    return inst


def _not_busy(ss):
    if ss.busy is not None:
        raise ArmError(409, "OperationNotAllowed", "Operation 'PUT' is not allowed on VM scale set '%s' since "
                       "another operation is in progress." % ss.name)


def _op(req, ss):
    w = req.world
    op = w.new_op("operations", ss.sub, ss.location, w.config["vm_update_seconds"])

    def done(o):
        if ss.busy is o:
            ss.busy = None
    op.on_done = done
    ss.busy = op
    return op


@route("GET", RGP + r"/providers/Microsoft\.Compute/virtualMachineScaleSets")
def list_sets(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    return ok({"value": [s.to_json() for s in sets(r).values()]})


@route("GET", SSP)
def get_set(req):
    return ok(_ss(req).to_json())


def _update(req, patch):
    ss = _ss(req)
    _not_busy(ss)
    _body, props = body_props(req)
    vp = props.get("virtualMachineProfile") or {}
    mode = (props.get("upgradePolicy") or {}).get("mode")
    if mode:
        ss.upgrade_mode = mode
    if "extensionProfile" in vp:
        ss.set_profile((vp.get("extensionProfile") or {}).get("extensions") or [])
    elif not patch:
        ss.set_profile([])
    op = _op(req, ss)
    return 200, ss.to_json(), lro_headers(req, op)


@route("PUT", SSP)
def put_set(req):
    return _update(req, False)


@route("PATCH", SSP)
def patch_set(req):
    return _update(req, True)


@route("GET", SSP + r"/extensions")
def list_set_exts(req):
    ss = _ss(req)
    return ok({"value": [dict(e, id="%s/extensions/%s" % (ss.id, e["name"])) for e in ss.profile]})


@route("GET", SSP + r"/extensions/(?P<ext>[^/]+)")
def get_set_ext(req):
    ss = _ss(req)
    for e in ss.profile:
        if e["name"].lower() == req.g("ext").lower():
            return ok(dict(e, id="%s/extensions/%s" % (ss.id, e["name"])))
    raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")


@route("PUT", SSP + r"/extensions/(?P<ext>[^/]+)")
def put_set_ext(req):
    """Az PowerShell Set-AzVmssDiskEncryptionExtension (VirtualMachineScaleSetExtensionsClient.CreateOrUpdate)."""
    ss = _ss(req)
    _not_busy(ss)
    body, props = body_props(req)
    name = req.g("ext")
    new = {"name": name, "properties": {k: v for k, v in props.items() if k != "provisioningState"}}
    exts = [e for e in ss.profile if e["name"].lower() != name.lower()] + [new]
    created = len(exts) > len(ss.profile)
    ss.set_profile(exts)
    op = _op(req, ss)
    out = dict(copy.deepcopy(new), id="%s/extensions/%s" % (ss.id, name))
    out["properties"]["provisioningState"] = "Creating" if created else "Updating"
    return (201 if created else 200), out, lro_headers(req, op)


@route("DELETE", SSP + r"/extensions/(?P<ext>[^/]+)")
def delete_set_ext(req):
    ss = _ss(req)
    exts = [e for e in ss.profile if e["name"].lower() != req.g("ext").lower()]
    if len(exts) == len(ss.profile):
        return 204, None, {}
    ss.set_profile(exts)
    op = _op(req, ss)
    return 202, None, lro_headers(req, op)


@route("POST", SSP + r"/manualupgrade")
def manual_upgrade(req):
    """az vmss update-instances / VirtualMachineScaleSets.begin_update_instances."""
    ss = _ss(req)
    body = req.body if isinstance(req.body, dict) else {}
    ids = body.get("instanceIds") or []
    if not ids:
        raise ArmError(400, "InvalidParameter", "instanceIds must name at least one instance ('*' for all).")
    targets = list(ss.instances.values()) if "*" in ids else [_inst(ss, i) for i in ids]
    for inst in targets:
        if not inst.latest:
            ss.upgrade(inst)
    op = _op(req, ss)
    return 202, None, lro_headers(req, op)


@route("GET", SSP + r"/virtualMachines")
def list_instances(req):
    ss = _ss(req)
    ex = "instanceview" in (req.query.get("$expand") or "").lower()
    return ok({"value": [i.to_json(expand=ex) for i in ss.instances.values()]})


@route("GET", SSP + r"/virtualMachines/(?P<iid>[^/]+)")
def get_instance(req):
    ss = _ss(req)
    ex = "instanceview" in (req.query.get("$expand") or "").lower()
    return ok(_inst(ss, req.g("iid")).to_json(expand=ex))


@route("GET", SSP + r"/virtualMachines/(?P<iid>[^/]+)/instanceView")
def get_instance_view(req):
    ss = _ss(req)
    return ok(_inst(ss, req.g("iid")).instance_view())

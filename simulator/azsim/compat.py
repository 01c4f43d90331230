"""Azure-side compatibility model (issue 7): the VM properties that decide whether ADE or encryption at host
applies, the subscription feature Microsoft.Compute/EncryptionAtHost, and the VM sizes of the Resource SKUs API.

Sources (each rule cites the public text it follows; messages marked SIM are this simulator's wording):
- VM model shapes: Azure/azure-rest-api-specs specification/compute/resource-manager/Microsoft.Compute/ComputeRP/
  stable/2024-07-01 virtualMachine.json - SecurityProfile {encryptionAtHost, securityType (TrustedLaunch,
  ConfidentialVM)}, OSDisk {osType, diffDiskSettings {option: Local, placement}, vhd, managedDisk
  {storageAccountType (..., UltraSSD_LRS, PremiumV2_LRS), diskEncryptionSet}}, DataDisk.writeAcceleratorEnabled,
  AdditionalCapabilities.ultraSSDEnabled.
- Features: Microsoft.Features 2021-07-01 (specification/resources/resource-manager/Microsoft.Features/stable/
  2021-07-01/features.json): GET/POST .../providers/Microsoft.Features/providers/{ns}/features/{name}[/register],
  FeatureResult {id, name 'ns/name', type 'Microsoft.Features/providers/features', properties.state}.
  az feature register returns state 'Registering', later 'Registered' (linux/disks-enable-host-based-encryption-
  cli.md: "Check that the registration state is Registered (takes a few minutes)").
- Resource SKUs 2021-07-01 (Microsoft.Compute/Skus/stable/2021-07-01/skus.json): GET /subscriptions/{s}/providers/
  Microsoft.Compute/skus[?$filter=location eq '<loc>'] -> {value: [ResourceSku {resourceType, name, tier, size,
  family, locations, locationInfo, capabilities [{name, value}], restrictions}]}. Capability
  'EncryptionAtHostSupported' = 'True' marks sizes that support encryption at host (same doc, "Finding supported
  VM sizes"). The capability VALUES in SIZES below are this simulator's data, not a copy of Azure's list.
- Encryption at host on a VM: PUT/PATCH securityProfile.encryptionAtHost.
  * feature not registered -> 400 InvalidParameter "The property 'securityProfile.encryptionAtHost' is not valid
    because the 'Microsoft.Compute/EncryptionAtHost' feature is not enabled for this subscription." target
    securityProfile.encryptionAtHost (text as reported in Azure/azure-cli#16788, hashicorp/terraform-provider-
    azurerm#17185).
  * size without the capability -> 400 InvalidParameter (SIM wording; docs: "Upgrading the VM size results in
    validation to check if the new VM size supports the EncryptionAtHost feature").
  * VM not deallocated -> 409 OperationNotAllowed (SIM wording; docs include virtual-machines-disks-encryption-at-
    host-restrictions.md: "Existing VMs must be deallocated and reallocated in order to be encrypted"; cli doc:
    "You must deallocate your VM before you can disable encryption at host").
  * a VM that currently or ever had ADE (ADE extension, or any disk carrying the UDE flag) -> 400
    InvalidParameter (SIM wording; same include: "Can't be enabled on virtual machines ... that currently or ever
    had Azure Disk Encryption enabled"; disk-encryption-migrate.md: the UDE flag persists after decryption and
    through snapshots and Copy).
"""

import copy

from .errors import ArmError
from .model import VM_IDENTITY, VM_INIT, VM_PROPS, stable_uuid
from .routing import SUB, ok, route

EAH_FEATURE = "microsoft.compute/encryptionathost"
DEFAULT_FEATURE_STATE = "NotRegistered"
FEATURE_REGISTER_SECONDS = 300          # simulated seconds from 'Registering' to 'Registered'
VM_SPEC_KEYS = {"encryption_at_host", "security_type", "os_type", "ephemeral_os", "disk_encryption_set",
                "identities", "encryption_identity", "disk_controller"}
SUB_SPEC_KEYS = {"features"}

# name -> (family, vCPUs, MemoryGB, EncryptionAtHostSupported, EphemeralOSDiskSupported, PremiumIO)
SIZES = {
    "Standard_B2s": ("standardBSFamily", 2, 4, True, False, True),
    "Standard_B2ms": ("standardBSFamily", 2, 8, True, False, True),
    "Standard_D2s_v3": ("standardDSv3Family", 2, 8, True, True, True),
    "Standard_D4s_v3": ("standardDSv3Family", 4, 16, True, True, True),
    "Standard_D8s_v3": ("standardDSv3Family", 8, 32, True, True, True),
    "Standard_D4_v3": ("standardDv3Family", 4, 16, False, True, False),
    "Standard_DS3_v2": ("standardDSv2Family", 4, 14, True, True, True),
    "Standard_F4": ("standardFFamily", 4, 8, False, False, False),
    "Standard_A2_v2": ("standardAv2Family", 2, 4, False, False, False),
    "Basic_A1": ("basicAFamily", 1, 1.75, False, False, False),
    "Standard_D4ds_v6": ("standardDdsv6Family", 4, 16, True, True, True),
    "Standard_D4s_v6": ("standardDsv6Family", 4, 16, True, False, True),
    "Standard_L8s_v3": ("standardLSv3Family", 8, 64, True, False, True),
    "Standard_HB120rs_v3": ("standardHBrsv3Family", 120, 448, True, True, True),
    "Standard_M64ms": ("standardMSFamily", 64, 1792, True, True, True),
    "Standard_DC4as_v5": ("standardDCASv5Family", 4, 16, True, False, True),
    "Standard_E4s_v5": ("standardESv5Family", 4, 32, True, True, True),
}


# ---------------------------------------------------------------------------------------------- VM model

def init_vm(vm, spec):
    """Called from VM.__init__: the compat attributes of a VM spec."""
    eah = spec.get("encryption_at_host")
    vm.encryption_at_host = None if eah is None else bool(eah)
    vm.security_type = spec.get("security_type")            # Standard | TrustedLaunch | ConfidentialVM
    if vm.security_type not in (None, "Standard", "TrustedLaunch", "ConfidentialVM"):
        raise ValueError("security_type must be Standard, TrustedLaunch or ConfidentialVM: %r" % vm.security_type)
    vm.os_type = spec.get("os_type", "Linux")
    vm.ephemeral_os = bool(spec.get("ephemeral_os"))
    vm.disk_encryption_set = spec.get("disk_encryption_set")
    vm.identities = list(spec.get("identities") or [])      # user-assigned identity resource IDs
    vm.encryption_identity = spec.get("encryption_identity")
    vm.disk_controller = spec.get("disk_controller")         # SCSI | NVMe (storageProfile.diskControllerType)
    vm.write_accelerated_luns = set(int(d.get("lun", j)) for j, d in enumerate(spec.get("data_disks") or [])
                                    if d.get("write_accelerator"))


VM_INIT.append(init_vm)


def decorate_vm_json(vm, props):
    """Called from VM.to_json with the 'properties' dict: securityProfile, osType, ephemeral OS, disk extras."""
    sp = {}
    if getattr(vm, "encryption_at_host", None) is not None:
        sp["encryptionAtHost"] = vm.encryption_at_host
    if getattr(vm, "security_type", None) and vm.security_type != "Standard":
        sp["securityType"] = vm.security_type
        sp["uefiSettings"] = {"secureBootEnabled": True, "vTpmEnabled": True}
    if getattr(vm, "encryption_identity", None):
        sp["encryptionIdentity"] = {"userAssignedIdentityResourceId": vm.encryption_identity}
    if sp:
        props["securityProfile"] = sp
    storage = props.get("storageProfile") or {}
    if getattr(vm, "disk_controller", None):
        storage["diskControllerType"] = vm.disk_controller
    od = storage.get("osDisk") or {}
    od["osType"] = getattr(vm, "os_type", "Linux")
    if getattr(vm, "ephemeral_os", False):
        od["diffDiskSettings"] = {"option": "Local", "placement": "CacheDisk"}
        od["caching"] = "ReadOnly"
    if getattr(vm, "disk_encryption_set", None) and "managedDisk" in od:
        od["managedDisk"]["diskEncryptionSet"] = {"id": vm.disk_encryption_set}
    for e in storage.get("dataDisks") or []:
        if e.get("lun") in getattr(vm, "write_accelerated_luns", ()):
            e["writeAcceleratorEnabled"] = True
    if any(((e.get("managedDisk") or {}).get("storageAccountType") or "").lower() == "ultrassd_lrs"
           for e in storage.get("dataDisks") or []):
        props["additionalCapabilities"] = {"ultraSSDEnabled": True}


VM_PROPS.append(decorate_vm_json)


def identity_json(vm):
    """VM 'identity' (top level, next to 'properties') for user-assigned identities, or None."""
    ids = getattr(vm, "identities", None)
    if not ids:
        return None
    return {"type": "UserAssigned", "userAssignedIdentities": {
        i: {"principalId": stable_uuid(i, "principal"), "clientId": stable_uuid(i, "client")} for i in ids}}


VM_IDENTITY.append(identity_json)


def encryption_identity(vm):
    return getattr(vm, "encryption_identity", None)


def ever_ade(vm):
    """The VM has the ADE extension, or any disk ever carried ADE settings (UDE flag)."""
    if vm.ade_ext() is not None:
        return True
    return any(getattr(d, "ude", False) or d.stamp for d in vm.all_disks())


def check_vm_update(w, vm, props):
    """Validate a PUT/PATCH of the VM before anything is applied; return a function applying the compat part."""
    sec = props.get("securityProfile")
    if not isinstance(sec, dict):
        return lambda: None
    apply_identity = _check_encryption_identity(vm, sec)
    apply_eah = _check_eah(w, vm, sec)

    def apply():
        apply_identity()
        apply_eah()
    return apply


def _check_encryption_identity(vm, sec):
    """securityProfile.encryptionIdentity.userAssignedIdentityResourceId must be one of the VM's user-assigned
    identities (azure-cli vm/disk_encryption.py updateVmEncryptionSetting checks the same client-side; the
    400 wording here is SIM). Needs compute api-version >= 2023-07-01 (isVersionSuppprtedForEncryptionIdentity)."""
    ei = sec.get("encryptionIdentity")
    if not isinstance(ei, dict) or "userAssignedIdentityResourceId" not in ei:
        return lambda: None
    want = ei.get("userAssignedIdentityResourceId")
    if want and want.lower() not in [i.lower() for i in getattr(vm, "identities", [])]:
        raise ArmError(400, "InvalidParameter", "Encryption identity '%s' is not one of the user assigned "
                       "identities of VM '%s'." % (want, vm.name))

    def apply():
        vm.encryption_identity = want or None
    return apply


def _check_eah(w, vm, sec):
    if "encryptionAtHost" not in sec:
        return lambda: None
    want = bool(sec.get("encryptionAtHost"))
    cur = bool(getattr(vm, "encryption_at_host", None))
    if want == cur:
        return lambda: None
    if feature_state(w, vm.sub, EAH_FEATURE) != "Registered":
        raise ArmError(400, "InvalidParameter", "The property 'securityProfile.encryptionAtHost' is not valid "
                       "because the 'Microsoft.Compute/EncryptionAtHost' feature is not enabled for this "
                       "subscription.", body={"error": {
                           "code": "InvalidParameter", "target": "securityProfile.encryptionAtHost",
                           "message": "The property 'securityProfile.encryptionAtHost' is not valid because the "
                                      "'Microsoft.Compute/EncryptionAtHost' feature is not enabled for this "
                                      "subscription."}})
    if want:
        caps = size_capabilities(vm.size)
        if caps is None or caps.get("EncryptionAtHostSupported") != "True":
            raise ArmError(400, "InvalidParameter", "The VM size '%s' does not support encryption at host "
                           "(securityProfile.encryptionAtHost). Choose a size whose EncryptionAtHostSupported "
                           "capability is True." % vm.size)
        if ever_ade(vm):
            raise ArmError(400, "InvalidParameter", "Encryption at host cannot be enabled on VM '%s' because it "
                           "has or had Azure Disk Encryption enabled on its disks." % vm.name)
    if vm.power != "deallocated" or vm.transition:
        raise ArmError(409, "OperationNotAllowed", "Changing securityProfile.encryptionAtHost of VM '%s' requires "
                       "the VM to be deallocated; its power state is '%s'." % (vm.name, vm.transition or vm.power))

    def apply():
        vm.encryption_at_host = want
    return apply


# ---------------------------------------------------------------------------------------------- features

def _features(sub):
    if not hasattr(sub, "features"):
        sub.features = {}
    return sub.features


def set_features(w, sub, doc):
    """Scenario: {"Microsoft.Compute/EncryptionAtHost": "Registered" | "NotRegistered" | ...}."""
    for k, v in (doc or {}).items():
        _features(sub)[k.lower()] = (str(v), None)


def feature_state(w, sid, key):
    sub = w.sub(sid)
    state, ready_at = _features(sub).get(key.lower(), (DEFAULT_FEATURE_STATE, None))
    if state == "Registering" and ready_at is not None and w.clock.now() >= ready_at:
        state = "Registered"
        _features(sub)[key.lower()] = (state, None)
    return state


def feature_json(sid, ns, name, state):
    return {"properties": {"state": state},
            "id": "/subscriptions/%s/providers/Microsoft.Features/providers/%s/features/%s" % (sid, ns, name),
            "type": "Microsoft.Features/providers/features", "name": "%s/%s" % (ns, name)}


FEAT = SUB + r"/providers/Microsoft\.Features/providers/(?P<ns>[^/]+)/features/(?P<name>[^/]+)"


@route("GET", FEAT)
def get_feature(req):
    w = req.world
    key = "%s/%s" % (req.g("ns"), req.g("name"))
    return ok(feature_json(req.g("sub"), req.g("ns"), req.g("name"), feature_state(w, req.g("sub"), key)))


@route("POST", FEAT + r"/register")
def register_feature(req):
    w = req.world
    key = "%s/%s" % (req.g("ns"), req.g("name"))
    state = feature_state(w, req.g("sub"), key)
    if state != "Registered":
        state = "Registering"
        _features(w.sub(req.g("sub")))[key.lower()] = (state, w.clock.now() + FEATURE_REGISTER_SECONDS)
    return ok(feature_json(req.g("sub"), req.g("ns"), req.g("name"), state))


@route("GET", SUB + r"/providers/Microsoft\.Features/providers/(?P<ns>[^/]+)/features")
def list_features(req):
    w = req.world
    sub = w.sub(req.g("sub"))
    ns = req.g("ns")
    keys = set(k for k in _features(sub) if k.startswith(ns.lower() + "/")) | (
        {EAH_FEATURE} if ns.lower() == "microsoft.compute" else set())
    out = []
    for k in sorted(keys):
        name = k.split("/", 1)[1]
        name = "EncryptionAtHost" if k == EAH_FEATURE else name
        out.append(feature_json(req.g("sub"), ns, name, feature_state(w, req.g("sub"), k)))
    return ok({"value": out})


# ---------------------------------------------------------------------------------------------- resource SKUs

def size_capabilities(size):
    for name, row in SIZES.items():
        if name.lower() == (size or "").lower():
            return _caps(row)
    return None


def _caps(row):
    family, cpus, mem, eah, eph, pio = row
    return {"vCPUs": str(cpus), "MemoryGB": str(mem), "EncryptionAtHostSupported": str(eah),
            "EphemeralOSDiskSupported": str(eph), "PremiumIO": str(pio), "HyperVGenerations": "V1,V2"}


def sku_json(name, row, location, restricted=False):
    """One ResourceSku. ``restricted``: the size is not available to the subscription in ``location`` - REST
    reference Resource Skus - List, ResourceSkuRestrictions {type Location, values [location], restrictionInfo
    {locations}, reasonCode NotAvailableForSubscription} (config ``sku_restrictions`` {location: [size, ...]})."""
    tier, size = name.split("_", 1)
    restrictions = []
    if restricted:
        restrictions = [{"type": "Location", "values": [location], "restrictionInfo": {"locations": [location]},
                         "reasonCode": "NotAvailableForSubscription"}]
    return {"resourceType": "virtualMachines", "name": name, "tier": tier, "size": size, "family": row[0],
            "locations": [location], "locationInfo": [{"location": location, "zones": ["1", "2", "3"],
                                                       "zoneDetails": []}],
            "capabilities": [{"name": k, "value": v} for k, v in _caps(row).items()], "restrictions": restrictions}


@route("GET", SUB + r"/providers/Microsoft\.Compute/skus")
def list_skus(req):
    w = req.world
    w.sub(req.g("sub"))
    flt = (req.query.get("$filter") or "").replace(" ", "").lower()
    locs = set()
    if flt.startswith("location eq".replace(" ", "")):
        locs = {flt.split("eq", 1)[1].strip("'\"")}
    else:
        for s in w.subs.values():
            for r in s.rgs.values():
                locs.add(r.location.replace(" ", "").lower())
                for vm in r.vms.values():
                    locs.add(vm.location.replace(" ", "").lower())
    limits = dict((k.replace(" ", "").lower(), set(x.lower() for x in v))
                  for k, v in (w.config.get("sku_restrictions") or {}).items())
    out = [sku_json(n, row, loc, n.lower() in limits.get(loc, ())) for loc in sorted(locs) for n, row in SIZES.items()]
    return ok({"value": copy.deepcopy(out)})


# ---------------------------------------------------------------------------------------------- Key Vault

def init_vault(v, vdoc):
    """Scenario vault keys: grants (identity resource IDs with access through RBAC; absent = not modelled) and
    keys [{name, versions: [{version, enabled, kty}]}] (last version = current) for the data plane."""
    v.grants = [g.lower() for g in vdoc["grants"]] if "grants" in vdoc else None
    v.keys = {}
    for k in vdoc.get("keys") or []:
        vers = []
        for i, ver in enumerate(k.get("versions") or [{}]):
            vers.append({"version": ver.get("version") or stable_uuid(v.name, k["name"], str(i)).replace("-", ""),
                         "enabled": bool(ver.get("enabled", True)), "kty": ver.get("kty", "RSA")})
        v.keys[k["name"].lower()] = {"name": k["name"], "versions": vers}


# Key Vault data plane (keys), reached at <base>/_keyvault/<vault>/... because the simulator cannot own
# <vault>.vault.azure.net; clients send there through AZURE_ADE_KEYVAULT_ENDPOINT (module_utils/cloud/keyvault.py).
# Shapes: Key Vault REST 7.4 "Get Key" - KeyBundle {key: JsonWebKey {kid, kty, key_ops, n, e}, attributes {enabled,
# created, updated, recoveryLevel}}; unknown key -> 404 {"error": {"code": "KeyNotFound", ...}} (learn.microsoft.com
# /rest/api/keyvault/keys/get-key/get-key). GET .../keys/<name> (no version) returns the current (latest) version.

def _find_vault(w, name):
    for s in w.subs.values():
        for r in s.rgs.values():
            v = r.vaults.get(name.lower())
            if v is not None:
                return v
    return None


def _key_not_found(name, vault):
    return ArmError(404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault. If you recently "
                    "deleted this key you may be able to recover it using the correct recovery command. For help "
                    "resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182" % name)


@route("GET", r"^/_keyvault/(?P<vault>[^/]+)/keys/(?P<name>[^/]+)(/(?P<ver>[^/]*))?")
def get_key(req):
    v = _find_vault(req.world, req.g("vault"))
    if v is None:
        raise ArmError(404, "VaultNotFound", "Vault %s was not found." % req.g("vault"))
    k = getattr(v, "keys", {}).get(req.g("name").lower())
    if k is None:
        raise _key_not_found(req.g("name"), v.name)
    ver = req.g("ver")
    if ver:
        match = [x for x in k["versions"] if x["version"].lower() == ver.lower()]
        if not match:
            raise _key_not_found("%s/%s" % (req.g("name"), ver), v.name)
        item = match[0]
    else:
        item = k["versions"][-1]
    kid = "https://%s.vault.azure.net/keys/%s/%s" % (v.name, k["name"], item["version"])
    jwk = {"kid": kid, "kty": item["kty"]}
    if item["kty"].startswith("RSA"):
        jwk.update({"key_ops": ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"],
                    "n": "c2ltLW1vZHVsdXM", "e": "AQAB"})
    else:
        jwk.update({"key_ops": ["sign", "verify"], "crv": "P-256", "x": "c2ltLXg", "y": "c2ltLXk"})
    if item.get("key_ops") is not None:      # keyvault.py: Update Key may narrow the permitted operations
        jwk["key_ops"] = list(item["key_ops"])
    attrs = {"enabled": item["enabled"], "created": 1700000000, "updated": 1700000000,
             "recoveryLevel": "Recoverable+Purgeable"}
    for k in ("exp", "nbf"):
        if item.get(k) is not None:
            attrs[k] = int(item[k])
    return ok({"key": jwk, "attributes": attrs})

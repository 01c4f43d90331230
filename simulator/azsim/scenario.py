"""Seed the world from a scenario document (schema in simulator/README.md)."""

import uuid

from . import ade, backups, compat, create, dual_pass, keyvault, network, recovery, vmss
from .model import (ADE_PUBLISHER, ADE_TYPE, DEFAULT_ADE_TIMING, Disk, Extension, ResourceGroup, VM, Vault,
                    VT_CANON, SUCCESS_MESSAGE)

VM_KEYS = {"name", "count", "location", "size", "os", "memory_gb", "memory_kb", "os_disk_gb", "os_disk_name",
           "os_disk_sku", "data_disks", "power_state", "ade_behavior", "ade_timing", "existing_extensions",
           "encryption", "dual_pass", "unmanaged", "tags", "admin_username", "agent_version",
           "os_mode", "ade_precheck_error", "agent_ready", "unmount_busy_attempts", "vm_id",
           "boot_hang_after_encryption", "network"} | compat.VM_SPEC_KEYS | create.VM_SPEC_KEYS
BEHAVIORS = ("auto", "success", "fail_os_unmount", "data_only_distro", "low_memory", "stuck_after_stripdown")


TOP_KEYS = {"config", "ade_timing", "snapshot_unsupported_regions", "subscriptions", "vaults", "_replace"}
SUB_KEYS = {"id", "name", "resource_groups"} | compat.SUB_SPEC_KEYS
RG_KEYS = {"name", "location", "vms", "vaults", "disks", "scale_sets"} | network.RG_SPEC_KEYS | backups.RG_SPEC_KEYS \
    | recovery.RG_SPEC_KEYS


class ScenarioError(ValueError):
    pass


def _check_keys(what, d, allowed):
    if not isinstance(d, dict):
        raise ScenarioError("%s must be an object" % what)
    unknown = set(d) - allowed
    if unknown:
        raise ScenarioError("unknown keys %s in %s (allowed: %s)" % (sorted(unknown), what, sorted(allowed)))


def load(world, doc, replace=False):
    """Apply a scenario. Returns a summary {vms, disks, vaults}."""
    if not isinstance(doc, dict):
        raise ScenarioError("scenario must be a JSON object")
    _check_keys("scenario", doc, TOP_KEYS)
    for sdoc in doc.get("subscriptions") or []:
        _check_keys("subscription", sdoc, SUB_KEYS)
        for rdoc in sdoc.get("resource_groups") or []:
            _check_keys("resource group %s" % rdoc.get("name"), rdoc, RG_KEYS)
    with world.lock:
        if replace:
            world.reset()
            world.config.pop("ade", None)      # a replaced world starts from the default ADE timing
        if "config" in doc:
            world.config.update(doc["config"] or {})
        if "ade_timing" in doc:
            unknown = set(doc["ade_timing"]) - set(DEFAULT_ADE_TIMING)
            if unknown:
                raise ScenarioError("unknown ade_timing keys: %s" % sorted(unknown))
            world.config.setdefault("ade", {}).update(doc["ade_timing"])
        for reg in doc.get("snapshot_unsupported_regions") or []:
            world.snapshot_unsupported_regions.add(reg.replace(" ", "").lower())
        counts = {"vms": 0, "disks": 0, "vaults": 0}
        pending = []
        for sdoc in doc.get("subscriptions") or []:
            sid = sdoc.get("id") or world.default_sub
            s = world.ensure_sub(sid, sdoc.get("name"))
            compat.set_features(world, s, sdoc.get("features"))
            for rdoc in sdoc.get("resource_groups") or []:
                r = _rg(s, rdoc)
                try:
                    network.seed_rg(world, r, rdoc)      # issue 17: azsim/network.py
                except (KeyError, ValueError) as exc:
                    raise ScenarioError("resource group %s network: %s" % (r.name, exc))
                for vdoc in rdoc.get("vaults") or []:
                    _vault(world, s.id, r, vdoc)
                    counts["vaults"] += 1
                for ddoc in rdoc.get("disks") or []:
                    _disk(world, r, ddoc)
                    counts["disks"] += 1
                for vdoc in rdoc.get("vms") or []:
                    for vm, vd in _vms(world, s.id, r, vdoc):
                        pending.append((vm, vd))
                        counts["vms"] += 1
                for sdoc2 in rdoc.get("scale_sets") or []:      # issue 7: azsim/vmss.py
                    try:
                        vmss.seed(world, s.id, r, sdoc2, world.clock.now())
                    except ValueError as exc:
                        raise ScenarioError(str(exc))
        for vdoc in doc.get("vaults") or []:
            sid = vdoc.get("subscription") or world.default_sub
            s = world.ensure_sub(sid)
            r = _rg(s, {"name": vdoc.get("resource_group") or "rg-keyvaults",
                        "location": vdoc.get("location", "eastus")})
            _vault(world, s.id, r, vdoc)
            counts["vaults"] += 1
        # extensions/encryption after all vaults exist
        for vm, vd in pending:
            _vm_extensions(world, vm, vd)
        # images and restore points after the VMs' encryption, so they carry its settings (issue 17, backups.py)
        for sdoc in doc.get("subscriptions") or []:
            s = world.ensure_sub(sdoc.get("id") or world.default_sub)
            for rdoc in sdoc.get("resource_groups") or []:
                try:
                    backups.seed_rg(world, _rg(s, rdoc), rdoc)
                    recovery.seed_rg(world, _rg(s, rdoc), rdoc)      # issue 16 item 5: Backup / Site Recovery
                except (KeyError, ValueError) as exc:
                    raise ScenarioError("resource group %s: %s" % (rdoc.get("name"), exc))
        return counts


def _rg(s, rdoc):
    name = rdoc.get("name")
    if not name:
        raise ScenarioError("resource group without name")
    r = s.rgs.get(name.lower())
    if r is None:
        r = ResourceGroup(s.id, name, rdoc.get("location", "eastus"))
        s.rgs[name.lower()] = r
    return r


def _vault(world, sid, r, vdoc):
    name = vdoc.get("name")
    if not name:
        raise ScenarioError("vault without name")
    r.vaults[name.lower()] = v = Vault(sid, r.name, name, vdoc.get("location", r.location),
                                       vdoc.get("enabled_for_disk_encryption", True), world.tenant,
                                       vdoc.get("soft_delete", True))
    compat.init_vault(v, vdoc)
    keyvault.init_vault(v, vdoc)


def _disk(world, r, ddoc):
    d = Disk(r.sub, r.name, ddoc["name"], ddoc.get("location", r.location), ddoc.get("size_gb", 32),
             os_type=ddoc.get("os_type"), sku=ddoc.get("sku", "Premium_LRS"), t=world.clock.now())
    r.disks[d.name.lower()] = d
    return d


def _vms(world, sid, r, vdoc):
    unknown = set(vdoc) - VM_KEYS
    if unknown:
        raise ScenarioError("unknown VM keys %s in %r" % (sorted(unknown), vdoc.get("name")))
    beh = vdoc.get("ade_behavior", "auto")
    if beh not in BEHAVIORS:
        raise ScenarioError("ade_behavior must be one of %s, got %r" % (BEHAVIORS, beh))
    count = int(vdoc.get("count") or 1)
    out = []
    for i in range(count):
        name = vdoc["name"].format(i=i) if count > 1 or "{i" in vdoc["name"] else vdoc["name"]
        out.append((_vm(world, sid, r, vdoc, name), vdoc))
    return out


def _vm(world, sid, r, vdoc, name):
    t = world.clock.now()
    loc = vdoc.get("location", r.location)
    vm = VM(world, sid, r.name, name, loc, vdoc, t)
    old = r.vms.get(name.lower())
    if old is not None:        # re-seeding a VM replaces it and the disks it had
        for d in old.all_disks():
            d.managed_by = None
            r.disks.pop(d.name.lower(), None)
        world.active_vms.discard(old)
    unmanaged = vm.unmanaged
    sa = "https://sa%s.blob.core.windows.net/vhds/" % name.lower().replace("-", "")[:14]
    templated = "{i" in vdoc["name"]
    osname = (vdoc.get("os_disk_name") or "{vm}_OsDisk_1_%s" % uuid.uuid4().hex).replace("{vm}", name)
    od = Disk(sid, r.name, osname, loc, vdoc.get("os_disk_gb", 30), os_type="Linux",
              sku=vdoc.get("os_disk_sku", "Premium_LRS"), t=t,
              creation={"createOption": "FromImage", "imageReference": {
                  "id": "/Subscriptions/%s/Providers/Microsoft.Compute/Locations/%s/Publishers/%s/ArtifactTypes/"
                        "VMImage/Offers/%s/Skus/%s/Versions/%s" % ((sid, loc) + tuple(
                            vm.image_reference()[k] for k in ("publisher", "offer", "sku", "exactVersion")))}},
              vhd_uri=(sa + name + "-osdisk.vhd") if unmanaged else None)
    od.managed_by = vm
    vm.os_disk = od
    if not unmanaged:
        r.disks[od.name.lower()] = od
    for j, dd in enumerate(vdoc.get("data_disks") or []):
        lun = int(dd.get("lun", j))
        dname = dd.get("name") or "{vm}_DataDisk_%d" % lun
        if "{vm}" in dname:
            dname = dname.replace("{vm}", name)
        elif templated:
            dname = "%s_%s" % (name, dname)
        d = Disk(sid, r.name, dname, loc, dd.get("size_gb", 32), sku=dd.get("sku", "Premium_LRS"), t=t,
                 vhd_uri=(sa + dname + ".vhd") if unmanaged else None)
        d.mounted = dd.get("mounted", True)
        d.managed_by = vm
        vm.data_disks.append((lun, d, dd.get("caching", "None")))
        if not unmanaged:
            r.disks[d.name.lower()] = d
    vm.data_disks.sort(key=lambda x: x[0])
    r.vms[name.lower()] = vm
    create.init_vm(vm, vdoc)
    try:
        network.seed_vm(world, r, vm, vdoc.get("network"))     # issue 17: the VM's primary NIC
    except (KeyError, ValueError) as exc:
        raise ScenarioError(str(exc))
    return vm


def _find_vault(world, vm, ref):
    if not ref:
        raise ScenarioError("VM %s: encryption/dual_pass needs 'vault'" % vm.name)
    if ref.startswith("/"):
        v = world.find_by_id(ref, kinds=("vaults",))
    else:
        v = None
        for s in world.subs.values():
            for r in s.rgs.values():
                if ref.lower() in r.vaults:
                    v = r.vaults[ref.lower()]
                    if r.name.lower() == vm.rg.lower():
                        break
    if v is None:
        raise ScenarioError("VM %s: vault %r not found in the scenario" % (vm.name, ref))
    return v


def ade_settings(v, volume_type="All", operation="EnableEncryption", kek=None):
    s = {"EncryptionOperation": operation, "KeyVaultURL": v.uri, "KeyVaultResourceId": v.id,
         "KeyEncryptionKeyURL": kek, "KekVaultResourceId": v.id if kek else "",
         "KeyEncryptionAlgorithm": "RSA-OAEP", "VolumeType": volume_type, "SequenceVersion": str(uuid.uuid4())}
    return s


def _vm_extensions(world, vm, vd):
    t = world.clock.now()
    for edoc in vd.get("existing_extensions") or []:
        name = edoc.get("name") or edoc.get("type")
        e = Extension(vm, name, edoc.get("publisher", "Microsoft.Azure.Extensions"),
                      edoc.get("type", name), str(edoc.get("type_handler_version", "1.0")),
                      edoc.get("settings") or {}, handler_version=edoc.get("handler_version"))
        e.provisioning_state = edoc.get("provisioning_state", "Succeeded")
        level = edoc.get("status", "transitioning" if e.provisioning_state in ("Updating", "Creating")
                         else "success")
        e.set_status(level, edoc.get("message", "Enable in progress" if level == "transitioning"
                                     else "Enable succeeded"), t, int(edoc.get("code", 0)))
        if e.provisioning_state in ("Updating", "Creating"):
            e.blocks = True
            if edoc.get("transition_seconds") is not None:
                e.pending = (t + float(edoc["transition_seconds"]), edoc.get("final_status", "success"),
                             edoc.get("final_message", "Enable succeeded"), "Succeeded")
                world.wake(vm)
        vm.extensions[name.lower()] = e
    dp = vd.get("dual_pass")
    if dp:
        dp = dp if isinstance(dp, dict) else {}
        v = _find_vault(world, vm, dp.get("vault") or _first_vault(world, vm))
        vt = dp.get("volume_type", "All")
        # dual pass: the guest wrote the secret (KeyVaultUtil.py create_secret); the same record as single pass
        secret = keyvault.ade_secret_url(world, vm, {"KeyVaultResourceId": v.id})
        vm.model_os_encryption = {"diskEncryptionKey": {"secretUrl": secret, "sourceVault": {"id": v.id}},
                                  "enabled": True}
        s = ade_settings(v, vt)
        s.update({"AADClientID": str(uuid.uuid4()), "AADClientCertThumbprint": ""})
        s.pop("KeyVaultResourceId", None)
        s.pop("KekVaultResourceId", None)
        e = Extension(vm, ADE_TYPE, ADE_PUBLISHER, ADE_TYPE, "0.1", s, handler_version="0.1.0.999345")
        vm.extensions[ADE_TYPE.lower()] = e
        vm.os_disk.guest_encrypted = vt.lower() in ("os", "all")
        for d in vm.mounted_data():
            d.guest_encrypted = vt.lower() in ("data", "all")
        vm.os_disk.ade["volume_type"] = VT_CANON[vt.lower()]
        if dp.get("format_all"):
            s["EncryptionOperation"] = "EnableEncryptionFormatAll"
        dual_pass.init_vm(vm, dp)
        e.set_status("success", secret, t)
    enc = vd.get("encryption")
    if enc:
        v = _find_vault(world, vm, enc.get("vault") or _first_vault(world, vm))
        vt = enc.get("volume_type", "All")
        state = enc.get("state", "encrypted")
        s = ade_settings(v, vt, kek=enc.get("kek_url"))
        e = Extension(vm, ADE_TYPE, ADE_PUBLISHER, ADE_TYPE, "1.1", s)
        vm.extensions[ADE_TYPE.lower()] = e
        if state == "encrypted":
            if vt.lower() in ("os", "all"):
                vm.os_disk.guest_encrypted = True
            if vt.lower() in ("data", "all"):
                for d in vm.mounted_data():
                    d.guest_encrypted = True
            # stamped as the extension does: encrypted data disks, the OS disk only for OS/All (ade.stamp_disks)
            ade.stamp_disks(vm, s, vt.lower() in ("os", "all"), [], world)
            vm.os_disk.ade["volume_type"] = VT_CANON[vt.lower()]
            e.set_status("success", SUCCESS_MESSAGE[vt.lower()], t)
        elif state in ("in_progress", "failed"):
            if state == "failed":
                vm.ade_behavior = "fail_os_unmount"
            run = ade.build_run(world, vm, e, None, t)
            if state == "failed":
                ff = run.steps[-1][0] + 1
            else:
                ff = enc.get("elapsed_seconds")
                if ff is None:
                    ff = 1.0
                    for at, _unused, label in run.steps:
                        if label in ("OS encryption started", "data start", "background encrypting"):
                            ff = at + 1
            e.run = run
            world.wake(vm)
            run.elapsed = float(ff)
            run.last = t
            ade.advance(world, vm, e, run, t)
        else:
            raise ScenarioError("VM %s: encryption.state must be encrypted, in_progress or failed" % vm.name)


def _first_vault(world, vm):
    r = world.rg(vm.sub, vm.rg)
    if r.vaults:
        return next(iter(r.vaults.values())).name
    return None

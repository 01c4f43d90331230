"""In-memory Azure world: subscriptions, resource groups, VMs, extensions, disks, snapshots,
Key Vaults, long-running operations. One RLock guards all of it (World.lock)."""

import copy
import hashlib
import json
import math
import secrets
import threading
import time
import uuid

from . import DEFAULT_CLIENT_ID, DEFAULT_SECRET, DEFAULT_SUBSCRIPTION, DEFAULT_TENANT
from .clock import iso
from .errors import ArmError, _fault_ctx, not_found

ADE_PUBLISHER = "Microsoft.Azure.Security"
ADE_TYPE = "AzureDiskEncryptionForLinux"
ADE_HANDLER_VERSION = "1.4.0.12"

DEFAULT_CONFIG = {
    # wall seconds a token is valid (reported honestly as expires_in)
    "token_lifetime": 3599,
    # "wall": lifetime counts wall seconds; "sim": lifetime counts simulated seconds (expires_in is reported as
    # lifetime / time_scale wall seconds, and advancing the clock expires tokens, as a long wait would)
    "token_clock": "wall",
    # VMs per page for list calls (nextLink paging)
    "page_size": 50,
    # Retry-After value sent on compute operation polls (recordings show "0"); null = omit
    "lro_retry_after": 0,
    # Durations in SIMULATED seconds
    "vm_power_seconds": 60,
    "vm_update_seconds": 30,
    "ext_generic_seconds": 60,
    "ext_noop_seconds": 5,
    "ext_delete_seconds": 30,
    # an extension PUT on a VM whose agent never reports fails after this long (VMAgentStatusCommunicationError)
    "agent_timeout_seconds": 5400,
    "snapshot_seconds": 30,
    "disk_create_seconds": 60,
    "delete_seconds": 20,
    "disk_access_seconds": 2,      # disk beginGetAccess / endGetAccess (upload.py)
    "net_op_seconds": 2,           # Microsoft.Network writes (network.py)
    "vm_create_seconds": 120,      # VM create from an image (create.py)
    "dynamic_addresses": [],       # test-bed knob (not Azure): dynamic addresses handed out first (network.py)
    "created_vm_ids": {},          # test-bed knob (not Azure): {name: vmId} of created VMs (create.py)
    "sku_restrictions": {},        # {location: [size]}: NotAvailableForSubscription there (compat.py resource SKUs)
    "log_admin": False,
    # ARM subscription token buckets (wall seconds, per documented ARM limits); remaining counts are always
    # reported in x-ms-ratelimit-remaining-subscription-reads/-writes; 429s only with enforce_arm_limits
    "arm_read_bucket": 250,
    "arm_read_refill_per_second": 25,
    "arm_write_bucket": 200,
    "arm_write_refill_per_second": 10,
    "enforce_arm_limits": False,
    "log_max": 200000,
}

# ADE phase durations (simulated seconds); overridable globally (config "ade") or per VM ("ade_timing").
DEFAULT_ADE_TIMING = {
    "precheck": 60,          # PUT -> fatal precheck result / daemon start
    "stamp": 60,             # daemon start -> "Encryption settings stamped" (PUT LRO ends here)
    "data_start": 30,        # stamped -> "Encrypting n data volumes"
    "data": 1200,            # data volumes encryption
    "stripdown": 300,        # -> "Restarted extension from stripped down OS" (error 19, transient)
    "unmount_attempt": 10,   # spacing of "Attempt #n to unmount /oldroot failed" (error 22, transient)
    "os_per_gb": 360,        # OS block copy, per GB of OS disk (30 GB -> 3 h)
    "os_min": 1800,
    "decrypt_start": 60,     # disable -> "Decrypting n data volumes" (daemon sleeps 60 s, installs packages)
    "decrypt": 1200,
    "agent_restart": 90,     # agent back in the stripped-down OS / after the reboot -> success ""
    "restart_pending": 60,   # "OS disk successfully encrypted, please reboot the VM" visible until the reboot
    "reboot": 120,           # guest reboot at the end of the offline OS flow (agent Not Ready meanwhile)
}

SUCCESS_MESSAGE = {"os": "Encryption succeeded for OS volume",
                   "data": "Encryption succeeded for data volumes",
                   "all": "Encryption succeeded for all volumes"}
VT_CANON = {"os": "OS", "data": "Data", "all": "All"}

# Extension OS allow-list (SupportedOS.json @ ade-sp-release-1.4.0.12), ade-reference 8.2
SUPPORTED_OS = {
    "ubuntu": ["24.04", "23.10", "16.04", "18.04", "20.04", "22.04", "14.04"],
    "redhat": ["9", "8", "7.9", "7.8", "7.7", "7.6", "7.5", "7.4", "7.3", "7.2", "6.8"],
    "centos": ["8", "7.9", "7.8", "7.7", "7.6", "7.5", "7.4", "7.3.1611", "7.2.1511", "6.9", "6.8"],
    "oracle": ["8"],
    "mariner": ["2"],
    "azurelinux": ["3"],
}
DISTRO_ALIASES = {"rhel": "redhat", "ol": "oracle", "sles": "suse", "opensuse": "suse", "cbl-mariner": "mariner"}
DISTRO_DISPLAY = {"ubuntu": "Ubuntu", "redhat": "redhat", "centos": "centos", "suse": "SuSE", "debian": "debian",
                  "oracle": "oracle", "mariner": "mariner", "azurelinux": "azurelinux"}
IMAGE_REF = {
    "ubuntu": ("Canonical", "UbuntuServer", "{v}-LTS"),
    "redhat": ("RedHat", "RHEL", "{v}"),
    "centos": ("OpenLogic", "CentOS", "{v}"),
    "suse": ("SUSE", "sles-{v}", "gen1"),
    "oracle": ("Oracle", "Oracle-Linux", "ol{v}"),
    "debian": ("Debian", "debian-{v}", "{v}"),
}


# ---------------------------------------------------------------------------------------------- hook lists
# The features (layer 3: simulator/README.md "Layers") register here when they are imported, so that the model never
# imports a feature. Each list is called in registration order (arm.py and scenario.py import every feature).
DISK_COPY = []     # fn(dst, src): what travels with a snapshot / Copy besides the guest state (upload.copy_data)
VAULT_JSON = []    # fn(vault, props): the vault's JSON properties (keyvault.decorate_vault_json: purge protection)
VM_INIT = []       # fn(vm, spec): a feature's VM attributes from the spec (boot.configure, compat.init_vm)
VM_NICS = []       # fn(vm) -> [NIC resource IDs], concatenated (network.vm_nic_ids)
VM_PROPS = []      # fn(vm, props): the VM's 'properties' before the instance view (compat.decorate_vm_json)
VM_JSON = []       # fn(vm, d, props): the whole VM JSON (create.decorate: zones, availability set, ...)
VM_IDENTITY = []   # fn(vm) -> the VM's top-level 'identity' or None (compat.identity_json)
RUN_ADVANCE = []   # fn(world, vm, ext, run, now): an extension's run up to now (ade.advance: the ADE state machine)


def sku_tier(name):
    n = (name or "").split("_")[0]
    return {"Premium": "Premium", "Standard": "Standard", "StandardSSD": "StandardSSD",
            "UltraSSD": "Ultra", "PremiumV2": "PremiumV2"}.get(n, n or "Standard")


def stable_uuid(*parts):
    return str(uuid.UUID(hashlib.md5("/".join(parts).lower().encode()).hexdigest()))


def norm_distro(d):
    d = (d or "ubuntu").strip().lower()
    return DISTRO_ALIASES.get(d, d)


def version_supported_for_os(distro, version):
    for prefix in SUPPORTED_OS.get(norm_distro(distro), []):
        if str(version).startswith(prefix):
            return True
    return False


# ---------------------------------------------------------------------------------------------- resources

class Disk:
    """A managed disk, a snapshot (kind='snapshot') or an unmanaged VHD (vhd_uri set, not a resource).

    Guest-visible ADE state lives here so that snapshots/restores carry it:
      guest_encrypted: the volume is really dm-crypt encrypted in the guest
      ade: (OS disk only) in-guest ADE config: volume_type, encrypt marker (volume type), decrypt marker
    """

    def __init__(self, sub, rg, name, location, size_gb, kind="disk", os_type=None, sku="Premium_LRS",
                 creation=None, vhd_uri=None, t=0.0):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.kind = kind
        self.size_gb = int(size_gb)
        self.os_type = os_type
        self.sku = sku
        self.creation = creation or {"createOption": "Empty"}
        self.vhd_uri = vhd_uri
        self.unique_id = str(uuid.uuid4())
        self.time_created = t
        self.managed_by = None        # VM object
        self.ude = False              # ever carried ADE settings (UDE flag, kept by snapshots and Copy)
        self.stamp = None             # encryptionSettingsCollection dict
        self.guest_encrypted = False
        self.mounted = True
        self.ade = {"volume_type": None, "encrypt_marker": None, "decrypt_marker": False}
        self.provisioning_state = "Succeeded"
        self.incremental = False
        self.family_id = None
        self.tags = {}

    @property
    def stamp(self):
        return self._stamp

    @stamp.setter
    def stamp(self, value):
        # disk-encryption-migrate.md: a disk that carried ADE keeps the UDE flag after decryption
        self._stamp = value
        if value:
            self.ude = True

    @property
    def id(self):
        typ = "snapshots" if self.kind == "snapshot" else "disks"
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/%s/%s" % (
            self.sub, self.rg, typ, self.name)

    def copy_guest_state_from(self, other):
        self.guest_encrypted = other.guest_encrypted
        self.ude = other.ude
        self.stamp = copy.deepcopy(other.stamp)
        self.ade = copy.deepcopy(other.ade)
        self.mounted = other.mounted
        self.os_type = other.os_type
        for hook in DISK_COPY:     # the data travels with snapshots and Copy (and so does the UDE flag above)
            hook(self, other)

    def disk_state(self):
        if getattr(self, "access_state", None):   # upload / SAS states (upload.py)
            return self.access_state
        if self.kind == "snapshot":
            return "Unattached"
        if self.managed_by is None:
            return "Unattached"
        return "Reserved" if self.managed_by.power == "deallocated" else "Attached"

    def to_json(self):
        snap = self.kind == "snapshot"
        props = {}
        if self.os_type:
            props["osType"] = self.os_type
        props["hyperVGeneration"] = "V1"
        props["creationData"] = copy.deepcopy(self.creation)
        props["diskSizeGB"] = self.size_gb
        if not snap:
            props["diskIOPSReadWrite"] = 500
            props["diskMBpsReadWrite"] = 60
        props["encryption"] = {"type": "EncryptionAtRestWithPlatformKey"}
        if self.stamp:
            props["encryptionSettingsCollection"] = copy.deepcopy(self.stamp)
        if snap:
            props["incremental"] = self.incremental
            if self.incremental:
                props["incrementalSnapshotFamilyId"] = self.family_id
        props["timeCreated"] = iso(self.time_created)
        props["provisioningState"] = self.provisioning_state
        props["diskState"] = self.disk_state()
        props["diskSizeBytes"] = self.size_gb * 1024 ** 3
        props["uniqueId"] = self.unique_id
        props["networkAccessPolicy"] = "AllowAll"
        d = {"name": self.name, "id": self.id,
             "type": "Microsoft.Compute/snapshots" if snap else "Microsoft.Compute/disks",
             "location": self.location, "tags": dict(self.tags)}
        if self.managed_by is not None and not snap:
            d["managedBy"] = self.managed_by.id
        sku = "Standard_LRS" if snap and self.sku not in ("Standard_LRS", "Premium_LRS", "Standard_ZRS") else self.sku
        d["sku"] = {"name": sku, "tier": sku_tier(sku)}
        d["properties"] = props
        return d


class Vault:
    def __init__(self, sub, rg, name, location, enabled_for_disk_encryption=True, tenant=DEFAULT_TENANT,
                 soft_delete=True):
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.enabled_for_disk_encryption = bool(enabled_for_disk_encryption)
        self.tenant = tenant
        self.soft_delete = soft_delete

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.KeyVault/vaults/%s" % (
            self.sub, self.rg, self.name)

    @property
    def uri(self):
        return "https://%s.vault.azure.net/" % self.name

    def _to_json(self):
        return {"id": self.id, "name": self.name, "type": "Microsoft.KeyVault/vaults", "location": self.location,
                "tags": {},
                "properties": {"sku": {"family": "A", "name": "standard"}, "tenantId": self.tenant,
                               "accessPolicies": [], "enabledForDeployment": False,
                               "enabledForDiskEncryption": self.enabled_for_disk_encryption,
                               "enabledForTemplateDeployment": False, "enableSoftDelete": self.soft_delete,
                               "softDeleteRetentionInDays": 90, "enableRbacAuthorization": False,
                               "vaultUri": self.uri, "provisioningState": "Succeeded",
                               "publicNetworkAccess": "Enabled"}}

    def to_json(self):   # keyvault.py adds purge protection (VAULT_JSON)
        d = self._to_json()
        for hook in VAULT_JSON:
            hook(self, d["properties"])
        return d


class Extension:
    def __init__(self, vm, name, publisher, typ, thv, settings=None, auto_upgrade=True, force_update_tag=None,
                 handler_version=None):
        self.vm = vm
        self.name = name
        self.publisher = publisher
        self.type = typ
        self.thv = thv
        self.settings = settings or {}
        self.auto_upgrade = auto_upgrade
        self.force_update_tag = force_update_tag
        self.provisioning_state = "Succeeded"
        self.handler_version = handler_version or (ADE_HANDLER_VERSION if self.is_ade and thv.startswith("1")
                                                   else _handler_version(thv))
        self.status = None       # {"level", "code", "message", "time"}
        self.substatus = None    # {"level", "message", "time"} or None
        self.run = None          # AdeRun
        self.op = None           # in-progress PUT/DELETE operation
        self.blocks = False      # an operation in progress on this extension blocks others (R1.3)
        self.pending = None      # (sim time, level, message, provisioning_state) for scenario transitions
        self.on_agent_ready = None   # how to start once the VM agent reports (PUT while the agent was not ready)

    @property
    def is_ade(self):
        return self.publisher.lower() == ADE_PUBLISHER.lower() and self.type.lower() == ADE_TYPE.lower()

    @property
    def id(self):
        return self.vm.id + "/extensions/" + self.name

    def set_status(self, level, message, t, code=0, substatus=True):
        self.status = {"level": level, "code": code, "message": message, "time": t}
        if self.is_ade and substatus:
            self.substatus = {"level": level, "message": self.vm.encryption_status_json(), "time": t}

    def to_json(self, expand=False):
        props = {"autoUpgradeMinorVersion": self.auto_upgrade, "provisioningState": self.provisioning_state,
                 "publisher": self.publisher, "type": self.type, "typeHandlerVersion": self.thv}
        if self.force_update_tag is not None:
            props["forceUpdateTag"] = self.force_update_tag
        props["settings"] = copy.deepcopy(self.settings)
        if expand:
            props["instanceView"] = self.instance_view()
        return {"name": self.name, "id": self.id, "type": "Microsoft.Compute/virtualMachines/extensions",
                "location": self.vm.location, "properties": props}

    def instance_view(self):
        iv = {"name": self.name, "type": "%s.%s" % (self.publisher, self.type),
              "typeHandlerVersion": self.handler_version}
        if self.substatus is not None:
            iv["substatuses"] = [_status_entry(self.substatus["level"], self.substatus["message"],
                                               self.substatus["time"], sub=self)]
        if self.status is not None:
            iv["statuses"] = [_status_entry(self.status["level"], self.status["message"], self.status["time"],
                                            code=self.status["code"])]
        return iv


def _handler_version(thv):
    parts = (thv or "1.0").split(".")
    while len(parts) < 4:
        parts.append("0")
    return ".".join(parts[:4])


def _status_entry(level, message, t, code=0, sub=None):
    word = {"transitioning": "transitioning", "success": "succeeded", "error": "failed"}[level]
    if sub is not None:
        c = "ComponentStatus/%s.%s/%s" % (sub.publisher, sub.type, word)
    elif level == "error":
        c = "ProvisioningState/failed/%d" % code
    else:
        c = "ProvisioningState/" + word
    disp = {"transitioning": "Transitioning", "success": "Provisioning succeeded",
            "error": "Provisioning failed"}[level]
    # no "time": the ADE extension's statuses/substatuses carry none in the instance view
    # (recording java_canEncryptVirtualMachine_linux_ubuntu1804_20_get; azcli_vm_disk_encryption_e2e_win2012_28_get)
    return {"code": c, "level": "Error" if level == "error" else "Info", "displayStatus": disp,
            "message": message}


class VM:
    def __init__(self, world, sub, rg, name, location, spec, t):
        self.world = world
        self.sub, self.rg, self.name, self.location = sub, rg, name, location
        self.vm_id = spec.get("vm_id") or stable_uuid(sub, rg, name)
        self.size = spec.get("size", "Standard_D4s_v3")
        os_spec = spec.get("os") or {}
        self.distro = norm_distro(os_spec.get("distro", "ubuntu"))
        self.version = str(os_spec.get("version", "18.04"))
        self.memory_kb = int(spec.get("memory_kb") or int(float(spec.get("memory_gb", 16)) * 1024 * 1024))
        self.power = spec.get("power_state", "running")
        if self.power not in ("running", "stopped", "deallocated"):
            raise ValueError("power_state must be running, stopped or deallocated: %r" % self.power)
        self.transition = None     # "starting" / "deallocating" / "stopping"
        self.ade_behavior = spec.get("ade_behavior", "auto")
        self.os_mode = spec.get("os_mode", "auto")
        # any other fatal precheck text for OS-volume enables (e.g. the LVM layout or kernel checks)
        self.precheck_error = spec.get("ade_precheck_error")
        self.agent_ready = bool(spec.get("agent_ready", True))     # auto (by distro) | offline | online
        self.unmount_busy = int(spec.get("unmount_busy_attempts") or 0)   # failed `umount /oldroot` attempts (ADE)
        self.guest_state = "normal"    # ADE offline OS flow: normal | stripped_down (tmpfs root) | rebooting
        #                                boot.py: boot_hung (root never unlocked at boot)
        self.ade_timing = dict(spec.get("ade_timing") or {})
        self.time_created = t
        self.busy = None           # VM-level operation in progress
        self.failed = None         # (code, message): VM provisioning failed (after an extension failure)
        self.tags = dict(spec.get("tags") or {})
        self.etag_seq = 1          # VM model version: "etag" in GET, If-Match on PUT/PATCH (arm.check_if_match)
        self.admin = spec.get("admin_username", "azureuser")
        self.unmanaged = bool(spec.get("unmanaged"))
        self.model_os_encryption = None    # dual-pass VM-model osDisk.encryptionSettings
        self.extensions = {}
        self.data_disks = []       # [(lun, Disk, caching)]
        self.agent_version = spec.get("agent_version", "2.2.53")
        self.os_disk = None
        self.next_due = 0.0        # simulated time of this VM's next state-machine event (World.tick)
        for hook in VM_INIT:       # boot.py: boot hang; compat.py (issue 7): encryption at host, security type...
            hook(self, spec)

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (
            self.sub, self.rg, self.name)

    @property
    def running(self):
        return self.power == "running" and self.transition is None

    def etag(self):
        # VirtualMachine.etag: "Etag is property returned in Create/Update/Get response of the VM, so that customer
        # can supply it in the header to ensure optimistic updates" (virtualMachine.json 2024-07-01); a quoted
        # version number as Azure returns it
        return '"%d"' % self.etag_seq

    # ---- guest ADE state
    def mounted_data(self):
        return [d for _unused, d, _unused in self.data_disks if d.mounted]

    def encryption_status(self):
        """DiskUtil.get_encryption_status (ade.py cites the source): in the stripped-down OS / is a tmpfs and the
        data volumes are unmounted; an encrypted OS disk there is VMRestartPending."""
        stripped = self.guest_state not in ("normal", "boot_hung")
        os_state = "Encrypted" if self.os_disk.guest_encrypted and not stripped else "NotEncrypted"
        md = self.mounted_data()
        if not md or stripped:
            data = "NotMounted"
        elif all(d.guest_encrypted for d in md):
            data = "Encrypted"
        else:
            data = "NotEncrypted"
        ade = self.os_disk.ade
        if ade.get("decrypt_marker"):
            data = "DecryptionInProgress"
        elif ade.get("encrypt_marker"):
            vt = ade["encrypt_marker"].lower()
            if vt in ("data", "all"):
                data = "EncryptionInProgress"
            if vt in ("os", "all") and os_state != "Encrypted":
                os_state = "EncryptionInProgress"
        elif stripped and self.os_disk.guest_encrypted:
            os_state = "VMRestartPending"
        return {"os": os_state, "data": data}

    def encryption_status_json(self):
        s = self.encryption_status()
        return json.dumps({"os": s["os"], "data": s["data"]})

    def all_disks(self):
        return [self.os_disk] + [d for _unused, d, _unused in self.data_disks]

    def ade_ext(self):
        for e in self.extensions.values():
            if e.is_ade:
                return e
        return None

    def daemon_running(self):
        return any(e.run is not None and e.run.daemon for e in self.extensions.values())

    def busy_reason(self):
        if self.busy is not None:
            return "VM operation"
        for e in self.extensions.values():
            if e.op is not None or e.blocks:
                return "extension '%s'" % e.name
        return None

    def timing(self):
        t = dict(DEFAULT_ADE_TIMING)
        t.update(self.world.config.get("ade") or {})
        t.update(self.ade_timing)
        return t

    # ---- JSON
    def image_reference(self):
        pub, offer, sku = IMAGE_REF.get(self.distro, (self.distro, self.distro, "{v}"))
        return {"publisher": pub, "offer": offer.format(v=self.version), "sku": sku.format(v=self.version),
                "version": "latest", "exactVersion": self.version + ".0"}

    def provisioning_state(self):
        if self.busy is not None:
            return "Updating"
        return "Failed" if self.failed else "Succeeded"

    def to_json(self, expand=False, resources=True):
        nics = [i for hook in VM_NICS for i in hook(self)]     # issue 17: the VM's NICs (network.py)
        od = self.os_disk
        os_disk = {"osType": "Linux", "name": od.name, "createOption": "FromImage", "caching": "ReadWrite"}
        if self.unmanaged:
            os_disk["vhd"] = {"uri": od.vhd_uri}
        else:
            os_disk["managedDisk"] = {"storageAccountType": od.sku, "id": od.id}
            os_disk["deleteOption"] = "Detach"
        os_disk["diskSizeGB"] = od.size_gb
        if self.model_os_encryption is not None:
            os_disk["encryptionSettings"] = copy.deepcopy(self.model_os_encryption)
        data = []
        for lun, d, caching in self.data_disks:
            e = {"lun": lun, "name": d.name, "createOption": "Attach", "caching": caching}
            if self.unmanaged:
                e["vhd"] = {"uri": d.vhd_uri}
            else:
                e["managedDisk"] = {"storageAccountType": d.sku, "id": d.id}
                e["deleteOption"] = "Detach"
            e["diskSizeGB"] = d.size_gb
            e["toBeDetached"] = False
            data.append(e)
        props = {
            "vmId": self.vm_id,
            "hardwareProfile": {"vmSize": self.size},
            "storageProfile": {"imageReference": self.image_reference(), "osDisk": os_disk, "dataDisks": data},
            "osProfile": {"computerName": self.name, "adminUsername": self.admin,
                          "linuxConfiguration": {"disablePasswordAuthentication": True, "provisionVMAgent": True,
                                                 "patchSettings": {"patchMode": "ImageDefault"}},
                          "secrets": [], "allowExtensionOperations": True, "requireGuestProvisionSignal": True},
            "networkProfile": {"networkInterfaces": [{"id": i, "properties": {"primary": n == 0}}
                                                     for n, i in enumerate(nics)]},
            "provisioningState": self.provisioning_state(),
            "timeCreated": iso(self.time_created),
        }
        for hook in VM_PROPS:
            hook(self, props)
        if expand:
            props["instanceView"] = self.instance_view()
        d = {"name": self.name, "id": self.id, "type": "Microsoft.Compute/virtualMachines",
             "location": self.location, "tags": dict(self.tags), "etag": self.etag(), "properties": props}
        for hook in VM_JSON:                 # zones, availability set, proximity group, boot diagnostics (issue 17)
            hook(self, d, props)
        for hook in VM_IDENTITY:
            if hook(self):
                d["identity"] = hook(self)
        if resources and self.extensions:
            d["resources"] = [e.to_json() for e in self.extensions.values()]
        return d

    def instance_view(self):
        now = self.world.clock.now()
        t0 = self.time_created
        iv = {}
        if self.running and not self.agent_ready:
            # azcli_vm_disk_encryption_e2e_win2012_16_get: right after creation the agent has not reported yet
            iv["vmAgent"] = {"vmAgentVersion": "Unknown",
                             "statuses": [{"code": "ProvisioningState/Unavailable", "level": "Warning",
                                           "displayStatus": "Not Ready",
                                           "message": "VM status blob is found but not yet populated.",
                                           "time": iso(now)}]}
        elif self.running and self.guest_state in ("rebooting", "boot_hung"):
            # open: how a guest reboot shows in the instance view; modelled pessimistically: the agent is
            # Not Ready and the extension statuses stay as last reported (stale)
            iv["vmAgent"] = {"vmAgentVersion": self.agent_version,
                             "statuses": [{"code": "ProvisioningState/Unavailable", "level": "Warning",
                                           "displayStatus": "Not Ready",
                                           "message": "VM Agent is unresponsive.", "time": iso(now)}]}
        elif self.running:
            iv["computerName"] = self.name
            iv["osName"] = self.distro
            iv["osVersion"] = self.version
            handlers = []
            for e in self.extensions.values():
                handlers.append({"type": "%s.%s" % (e.publisher, e.type), "typeHandlerVersion": e.handler_version,
                                 "status": {"code": "ProvisioningState/succeeded", "level": "Info",
                                            "displayStatus": "Ready", "message": "Plugin enabled"}})
            iv["vmAgent"] = {"vmAgentVersion": self.agent_version,
                             "statuses": [{"code": "ProvisioningState/succeeded", "level": "Info",
                                           "displayStatus": "Ready", "message": "Guest Agent is running",
                                           "time": iso(now)}],
                             "extensionHandlers": handlers}
        disks = []
        any_stamp = any(d.stamp for d in self.all_disks()) or self.model_os_encryption is not None
        for d in self.all_disks():
            e = {"name": d.name}
            if d.stamp:
                e["encryptionSettings"] = [_stamp_to_iv(d.stamp)]
            sts = [{"code": "ProvisioningState/succeeded", "level": "Info",
                    "displayStatus": "Provisioning succeeded", "time": iso(t0)}]
            if d.stamp:
                sts.append({"code": "EncryptionState/encrypted", "level": "Info",
                            "displayStatus": "Encryption is enabled on disk"})
            elif self.model_os_encryption is not None and d is self.os_disk:
                sts.append({"code": "EncryptionState/encrypted", "level": "Info",
                            "displayStatus": "Encryption is enabled on disk"})
            elif any_stamp:
                # recordings: an unstamped disk shows only ProvisioningState/succeeded until the VM has encryption
                # settings (azcli_vm_disk_encryption_e2e_win2012_16_get); beside stamped disks it shows
                # notEncrypted (java_canEncryptVirtualMachine_windows2008r2_46_get)
                sts.append({"code": "EncryptionState/notEncrypted", "level": "Info",
                            "displayStatus": "Disk is not encrypted"})
            e["statuses"] = sts
            disks.append(e)
        iv["disks"] = disks
        if self.running and self.agent_ready and self.extensions:
            iv["extensions"] = [e.instance_view() for e in self.extensions.values()]
        iv["hyperVGeneration"] = "V1"
        if self.busy is not None:
            prov = {"code": "ProvisioningState/updating", "level": "Info", "displayStatus": "Updating"}
        elif self.failed:
            prov = {"code": "ProvisioningState/failed/" + self.failed[0], "level": "Error",
                    "displayStatus": "Provisioning failed", "message": self.failed[1], "time": iso(now)}
        else:
            prov = {"code": "ProvisioningState/succeeded", "level": "Info",
                    "displayStatus": "Provisioning succeeded", "time": iso(t0)}
        ps = self.transition or self.power
        iv["statuses"] = [prov, {"code": "PowerState/" + ps, "level": "Info",
                                 "displayStatus": "VM " + ps}]
        return iv


def _stamp_to_iv(stamp):
    el = copy.deepcopy(stamp["encryptionSettings"][0])
    out = {"enabled": True, "diskEncryptionKey": el["diskEncryptionKey"]}
    if el.get("keyEncryptionKey"):
        out["keyEncryptionKey"] = el["keyEncryptionKey"]
    return out


class Operation:
    def __init__(self, world, kind, sub, location, t, done_at=None, status="Succeeded", error=None,
                 on_done=None, output=None, vm=None, ext=None, monitor_body=None):
        self.world = world
        self.id = str(uuid.uuid4())
        self.kind = kind            # "operations" (compute) or "DiskOperations"
        self.sub = sub
        self.location = location
        self.start = t
        self.end = None
        self.status = "InProgress"
        self.done_at = done_at      # None: finished externally (ADE state machine)
        self.planned = (status, error)
        self.error = None
        self.on_done = on_done
        self.output = output        # callable -> dict for DiskOperations properties.output
        self.vm = vm
        self.ext = ext
        self.monitor_body = monitor_body

    def url(self, base, api_version, monitor=False):
        u = "%s/subscriptions/%s/providers/Microsoft.Compute/locations/%s/%s/%s?" % (
            base, self.sub, self.location, self.kind, self.id)
        if monitor:
            u += "monitor=true&"
        return u + "api-version=" + api_version

    def to_json(self):
        d = {"startTime": iso(self.start)}
        if self.end is not None:
            d["endTime"] = iso(self.end)
        d["status"] = self.status
        if self.status == "Succeeded" and self.output is not None and self.kind == "DiskOperations":
            d["properties"] = {"output": self.output()}
        if self.error:
            d["error"] = dict(self.error)
        d["name"] = self.id
        return d


# ---------------------------------------------------------------------------------------------- world

class Subscription:
    def __init__(self, sid, name):
        self.id = sid
        self.name = name
        self.rgs = {}


class ResourceGroup:
    def __init__(self, sub, name, location):
        self.sub, self.name, self.location = sub, name, location
        self.vms, self.disks, self.snapshots, self.vaults = {}, {}, {}, {}
        self.tags = {}              # Tags API at the group's scope (arm.patch_rg_tags)

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s" % (self.sub, self.name)


class World:
    def __init__(self, clock, tenant=DEFAULT_TENANT, client_id=DEFAULT_CLIENT_ID, secret=DEFAULT_SECRET,
                 subscription=DEFAULT_SUBSCRIPTION):
        self.lock = threading.RLock()
        self.clock = clock
        self.tenant, self.client_id, self.secret, self.default_sub = tenant, client_id, secret, subscription
        self.base_url = ""
        self.config = copy.deepcopy(DEFAULT_CONFIG)
        self.tokens = {}
        self.faults = []
        self.fault_seq = 0
        self.log = []
        self.log_seq = 0
        self.reset()

    def _bucket(self, kind):
        cap = float(self.config["arm_read_bucket" if kind == "reads" else "arm_write_bucket"])
        rate = float(self.config["arm_read_refill_per_second" if kind == "reads" else "arm_write_refill_per_second"])
        now = time.time()
        tokens, last = self.buckets.get(kind, (cap, now))
        tokens = min(cap, tokens + (now - last) * rate)
        return tokens, now, rate

    def arm_limited(self, kind):
        """None if a request may pass now, else (operation type, Retry-After seconds)."""
        tokens, now, rate = self._bucket(kind)
        self.buckets[kind] = (tokens, now)
        if tokens >= 1:
            return None
        return ("Subscription" + kind.capitalize(), max(1, int(math.ceil((1 - tokens) / rate))))

    def take_arm_token(self, kind):
        tokens, now, _unused = self._bucket(kind)
        tokens = max(0.0, tokens - 1)
        self.buckets[kind] = (tokens, now)
        return tokens

    def reset(self):
        with self.lock:
            self.buckets = {}
            self.subs = {}
            self.ops = {}
            self.active_ops = set()
            self.active_vms = set()
            self.faults = []
            self.log = []
            self.snapshot_unsupported_regions = set()
            self.ensure_sub(self.default_sub)

    # ---- lookup
    def ensure_sub(self, sid, name=None):
        key = sid.lower()
        if key not in self.subs:
            self.subs[key] = Subscription(sid, name or "Simulated subscription %s" % sid[:8])
        return self.subs[key]

    def sub(self, sid):
        s = self.subs.get(sid.lower())
        if s is None:
            raise ArmError(404, "SubscriptionNotFound", "The subscription '%s' could not be found." % sid)
        return s

    def rg(self, sid, rg):
        r = self.sub(sid).rgs.get(rg.lower())
        if r is None:
            raise ArmError(404, "ResourceGroupNotFound", "Resource group '%s' could not be found." % rg)
        return r

    def vm(self, sid, rg, name):
        v = self.rg(sid, rg).vms.get(name.lower())
        if v is None:
            raise not_found("Microsoft.Compute/virtualMachines", name, rg)
        return v

    def find_by_id(self, rid, kinds=("disks", "snapshots")):
        parts = rid.strip("/").split("/")
        # subscriptions/S/resourceGroups/R/providers/Microsoft.Compute/<kind>/<name>
        if len(parts) != 8 or parts[0].lower() != "subscriptions" or parts[2].lower() != "resourcegroups":
            return None
        try:
            r = self.rg(parts[1], parts[3])
        except ArmError:
            return None
        kind = parts[6].lower()
        if kind == "disks" and "disks" in kinds:
            return r.disks.get(parts[7].lower())
        if kind == "snapshots" and "snapshots" in kinds:
            return r.snapshots.get(parts[7].lower())
        if kind == "vaults" and "vaults" in kinds and parts[5].lower() == "microsoft.keyvault":
            return r.vaults.get(parts[7].lower())
        return None

    def all_vms(self, sid=None):
        subs = [self.sub(sid)] if sid else list(self.subs.values())
        for s in subs:
            for r in s.rgs.values():
                yield from r.vms.values()

    # ---- time
    def tick(self):
        with self.lock:
            now = self.clock.now()
            for op in sorted(self.active_ops, key=lambda o: o.done_at or 0):
                if op.done_at is not None and now >= op.done_at:
                    if op.vm is not None and op.vm in self.active_vms:
                        self.tick_vm(op.vm, op.done_at)      # account run progress up to the power change
                    self.finish_op(op, op.planned[0], op.planned[1], op.done_at)
                    if op.vm is not None:
                        op.vm.next_due = 0.0
            for vm in list(self.active_vms):
                if now >= vm.next_due:
                    self.tick_vm(vm, now)
            return now

    def tick_vm(self, vm, now):
        due = float("inf")
        for e in list(vm.extensions.values()):
            if e.pending is not None:
                at, level, msg, ps = e.pending
                if now >= at:
                    e.pending = None
                    e.blocks = False
                    e.set_status(level, msg, at)
                    e.provisioning_state = ps
                else:
                    due = min(due, at)
            if e.run is not None:
                run = e.run
                for hook in RUN_ADVANCE:
                    hook(self, vm, e, run, now)
                if e.run is run and run.i < len(run.steps) and vm.running:
                    due = min(due, now + run.steps[run.i][0] - run.elapsed)
        vm.next_due = due
        if not any(e.pending is not None or e.run is not None for e in vm.extensions.values()):
            self.active_vms.discard(vm)

    def wake(self, vm):
        """Make the next tick look at this VM (after a state change outside the state machine)."""
        vm.next_due = 0.0
        self.active_vms.add(vm)

    def new_op(self, kind, sub, location, duration=None, **kw):
        t = self.clock.now()
        done_at = None if duration is None else t + duration
        op = Operation(self, kind, sub, location, t, done_at=done_at, **kw)
        if getattr(_fault_ctx, "lro_fail", None):
            op.planned = ("Failed", {"code": "InternalExecutionError",
                                     "message": _fault_ctx.lro_fail})
            op.done_at = t + 1 if op.done_at is None else min(op.done_at, t + 1)
            _fault_ctx.lro_fail = None
        self.ops[op.id] = op
        self.active_ops.add(op)
        return op

    def finish_op(self, op, status, error=None, at=None):
        if op.status != "InProgress":
            return
        op.status = status
        op.error = error
        op.end = at if at is not None else self.clock.now()
        self.active_ops.discard(op)
        if op.on_done is not None:
            op.on_done(op)

    def op(self, sid, kind, oid):
        o = self.ops.get(oid)
        if o is None or o.sub.lower() != sid.lower() or o.kind.lower() != kind.lower():
            raise ArmError(404, "NotFound", "The entity was not found in this Azure location.")
        return o

    # ---- tokens
    def issue_token(self, client_id):
        tok = "sim." + secrets.token_urlsafe(24)
        life = int(self.config["token_lifetime"])
        info = {"expires": time.time() + life, "client_id": client_id, "issued": time.time(), "sim_expires": None}
        if self.config.get("token_clock") == "sim":
            info["sim_expires"] = self.clock.now() + life
            wall = self.clock.wall_seconds_for(life)
            info["expires"] = time.time() + wall
            life = max(1, int(wall))
        self.tokens[tok] = info
        return tok, life

    def check_token(self, header):
        if not header:
            return ("AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
        parts = header.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return ("AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is provided in an invalid format.")
        info = self.tokens.get(parts[1].strip())
        if info is None:
            return ("InvalidAuthenticationToken", "The access token is invalid.")
        sim_expired = info["sim_expires"] is not None and self.clock.now() >= info["sim_expires"]
        if time.time() >= info["expires"] or sim_expired:
            return ("ExpiredAuthenticationToken",
                    "The access token expiry UTC time '%s' is earlier than current UTC time '%s'."
                    % (iso(info["expires"]), iso(time.time())))
        return None

    def expire_tokens(self):
        now = time.time()
        for info in self.tokens.values():
            info["expires"] = min(info["expires"], now - 1)
            info["sim_expires"] = None


def vm_op(req, vm, duration, on_done, transition=None):
    """Start a VM-level operation (the VM is busy until it ends; ``req``: the request, for its world)."""
    w = req.world
    op = w.new_op("operations", vm.sub, vm.location, duration, vm=vm)

    def done(o):
        if vm.busy is o:
            vm.busy = None
        if o.status == "Succeeded":
            vm.failed = None
        else:
            vm.transition = None
        on_done(o)
    op.on_done = done
    vm.busy = op
    if transition:
        vm.transition = transition
    return op

"""Recovery Services vaults (issue 16 item 5): which VMs Azure Backup protects and which Site Recovery replicates.

The collection reads, per subscription of the VMs it reports, the Recovery Services vaults and, per vault, the list of
protected items of each service (GET only). A VM protected by Azure Backup whose ADE keys sit in a Key Vault the Backup
service cannot read fails its backups with UserErrorKeyVaultPermissionsNotConfigured; a restore or migrate that swaps
disks of a protected or replicated VM must say what the operator redoes after (module_utils/cloud/protection.py).

Sources (REST shapes):
- Recovery Services vaults - List By Subscription Id: GET /subscriptions/{s}/providers/Microsoft.RecoveryServices/
  vaults -> {value: [Vault {id, name, type "Microsoft.RecoveryServices/vaults", location, sku {name RS0, tier
  Standard}, properties {provisioningState}}], nextLink} (learn.microsoft.com/rest/api/recoveryservices/vaults/
  list-by-subscription-id).
- Backup Protected Items - List: GET {vault}/backupProtectedItems?$filter=backupManagementType eq 'AzureIaasVM' and
  itemType eq 'VM' -> {value: [ProtectedItemResource {id .../backupFabrics/Azure/protectionContainers/
  IaasVMContainer;iaasvmcontainerv2;{rg};{vm}/protectedItems/VM;iaasvmcontainerv2;{rg};{vm}, name, type, properties
  AzureIaaSComputeVMProtectedItem {protectedItemType "Microsoft.Compute/virtualMachines", friendlyName,
  virtualMachineId, sourceResourceId, workloadType VM, backupManagementType AzureIaasVM, protectionStatus,
  protectionState IRPending|Protected|ProtectionError|ProtectionStopped|ProtectionPaused, healthStatus,
  lastBackupStatus, lastBackupTime, policyId, policyName}}]} (learn.microsoft.com/rest/api/backup/
  backup-protected-items/list; azure-mgmt-recoveryservicesbackup BackupProtectedItemsOperations.list).
- Replication Protected Items - List: GET {vault}/replicationProtectedItems -> {value: [ReplicationProtectedItem {id
  .../replicationFabrics/{f}/replicationProtectionContainers/{c}/replicationProtectedItems/{name}, name, type,
  properties {friendlyName, protectionState, replicationHealth, primaryFabricProvider, providerSpecificDetails
  A2AReplicationDetails {instanceType "A2A", fabricObjectId (the source VM's ARM ID), primaryFabricLocation,
  recoveryFabricLocation, recoveryAzureVMName}}}]} (learn.microsoft.com/rest/api/site-recovery/
  replication-protected-items/list; @azure/arm-recoveryservices-siterecovery ReplicationProtectedItemProperties).
- Key Vault access for Backup (keyvault.py serves it in the vault's accessPolicies / enableRbacAuthorization):
  learn.microsoft.com/azure/backup/backup-azure-vms-encryption: Azure Backup needs the "Backup Management Service"
  principal on the Key Vault of an ADE VM (keys get/list/backup and secrets get/list/backup, or an RBAC role on an
  RBAC vault), else backups fail with UserErrorKeyVaultPermissionsNotConfigured ("Azure Backup Service does not have
  sufficient permissions to Key Vault for Backup of Encrypted Virtual Machines").
**SIM:** lastBackupStatus is what the scenario says (default Completed); the simulator does not run backups.

Scenario (resource-group key, seeded after the VMs): ``recovery_vaults [{name, location, backup [vm names],
replication [vm names], last_backup_status}]`` (a VM name may be ``rg/vm`` for a VM of another resource group).
"""

from .errors import not_found
from .routing import RGP, SUB, ok, route

RG_SPEC_KEYS = {"recovery_vaults"}
RSVP = RGP + r"/providers/Microsoft\.RecoveryServices/vaults/(?P<rsv>[^/]+)"


class RecoveryVault:
    def __init__(self, r, name, location):
        self.r, self.name, self.location = r, name, location
        self.backup, self.replication = [], []      # VMs
        self.last_backup_status = "Completed"

    @property
    def id(self):
        return "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.RecoveryServices/vaults/%s" % (
            self.r.sub, self.r.name, self.name)

    def to_json(self):
        return {"id": self.id, "name": self.name, "type": "Microsoft.RecoveryServices/vaults",
                "location": self.location, "sku": {"name": "RS0", "tier": "Standard"},
                "properties": {"provisioningState": "Succeeded"}}

    def backup_item(self, vm):
        cont = "iaasvmcontainerv2;%s;%s" % (vm.rg.lower(), vm.name.lower())
        name = "VM;" + cont
        iid = "%s/backupFabrics/Azure/protectionContainers/IaasVMContainer;%s/protectedItems/%s" % (self.id, cont, name)
        typ = "Microsoft.RecoveryServices/vaults/backupFabrics/protectionContainers/protectedItems"
        return {"id": iid, "name": name, "type": typ,
                "properties": {"protectedItemType": "Microsoft.Compute/virtualMachines", "friendlyName": vm.name,
                               "virtualMachineId": vm.id, "sourceResourceId": vm.id, "workloadType": "VM",
                               "backupManagementType": "AzureIaasVM", "containerName": cont,
                               "protectionStatus": "Healthy", "protectionState": "Protected",
                               "healthStatus": "Passed", "lastBackupStatus": self.last_backup_status,
                               "policyId": self.id + "/backupPolicies/DefaultPolicy", "policyName": "DefaultPolicy"}}

    def replication_item(self, vm):
        name = vm.name.lower() + "-a2a"
        fabric = "asr-a2a-default-%s" % vm.location
        iid = "%s/replicationFabrics/%s/replicationProtectionContainers/%s-container/replicationProtectedItems/%s" % (
            self.id, fabric, fabric, name)
        typ = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/" \
              "replicationProtectedItems"
        return {"id": iid, "name": name, "type": typ,
                "properties": {"friendlyName": vm.name, "protectionState": "Protected",
                               "replicationHealth": "Normal", "primaryFabricProvider": "Azure",
                               "providerSpecificDetails": {"instanceType": "A2A", "fabricObjectId": vm.id,
                                                           "primaryFabricLocation": vm.location,
                                                           "recoveryFabricLocation": self.location,
                                                           "recoveryAzureVMName": vm.name}}}


def store(r):
    d = r.__dict__.get("recovery_vaults")
    if d is None:
        d = r.__dict__["recovery_vaults"] = {}
    return d


def _vm(w, r, ref):
    rg, name = ref.rpartition("/")[::2]
    rr = w.rg(r.sub, rg) if rg else r
    vm = rr.vms.get(name.lower()) if rr is not None else None
    if vm is None:
        raise ValueError("recovery vault: VM %r is not in resource group %s" % (ref, rg or r.name))
    return vm


def seed_rg(w, r, rdoc):
    for vdoc in rdoc.get("recovery_vaults") or []:
        v = RecoveryVault(r, vdoc["name"], vdoc.get("location", r.location))
        v.last_backup_status = vdoc.get("last_backup_status", "Completed")
        v.backup = [_vm(w, r, n) for n in vdoc.get("backup") or []]
        v.replication = [_vm(w, r, n) for n in vdoc.get("replication") or []]
        store(r)[v.name.lower()] = v


def _vault(req):
    v = store(req.world.rg(req.g("sub"), req.g("rg"))).get(req.g("rsv").lower())
    if v is None:
        raise not_found("Microsoft.RecoveryServices/vaults", req.g("rsv"), req.g("rg"))
    return v


@route("GET", SUB + r"/providers/Microsoft\.RecoveryServices/vaults")
def list_vaults_sub(req):
    return ok({"value": [v.to_json() for r in req.world.sub(req.g("sub")).rgs.values() for v in store(r).values()]})


@route("GET", RSVP + r"/backupProtectedItems")
def list_backup_items(req):
    v = _vault(req)
    return ok({"value": [v.backup_item(vm) for vm in v.backup]})


@route("GET", RSVP + r"/replicationProtectedItems")
def list_replication_items(req):
    v = _vault(req)
    return ok({"value": [v.replication_item(vm) for vm in v.replication]})

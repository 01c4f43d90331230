"""VMs, power operations, disks, snapshots, Key Vault, error bodies — through the real SDK."""

import json
import ssl
import urllib.error
import urllib.request

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from conftest import SUB, SUB2


def test_vm_get_and_instance_view(client):
    vm = client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    assert vm.location == "eastus" and vm.properties.provisioning_state == "Succeeded"
    assert [d.lun for d in vm.storage_profile.data_disks] == [0, 1]
    assert vm.storage_profile.os_disk.managed_disk.id.endswith("/disks/" + vm.storage_profile.os_disk.name)
    iv = vm.properties.instance_view
    assert [s.code for s in iv.statuses] == ["ProvisioningState/succeeded", "PowerState/running"]
    assert iv.vm_agent.vm_agent_version == "2.2.53"
    iv2 = client.virtual_machines.instance_view("rg1", "vm-all")
    assert [d.name for d in iv2.disks] == [d.name for d in iv.disks]


def test_list_paging(sim, client):
    sim.clear_log()
    vms = list(client.virtual_machines.list("rg-fleet"))
    assert len(vms) == 120 and len({v.name for v in vms}) == 120
    pages = [e for e in sim.log() if e["path"].endswith("/rg-fleet/providers/Microsoft.Compute/virtualMachines")]
    assert len(pages) == 3 and "skiptoken=100" in pages[-1]["query"]
    sim.config(page_size=500)
    sim.clear_log()
    allvms = list(client.virtual_machines.list_all())
    assert len(allvms) == 132
    assert len(sim.log()) == 1
    with_iv = list(client.virtual_machines.list("rg-fleet", expand="instanceView"))
    assert with_iv[0].properties.instance_view.statuses[-1].code == "PowerState/running"


def test_not_found_bodies(client):
    with pytest.raises(ResourceNotFoundError) as ei:
        client.virtual_machines.get("rg1", "nope")
    assert ei.value.error.code == "ResourceNotFound"
    assert "Microsoft.Compute/virtualMachines/nope" in ei.value.error.message
    with pytest.raises(ResourceNotFoundError) as ei:
        client.virtual_machines.get("rg-missing", "vm")
    assert ei.value.error.code == "ResourceGroupNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.virtual_machine_extensions.get("rg1", "vm-all", "NoSuchExt")


def test_power_operations(sim, client):
    p = client.virtual_machines.begin_power_off("rg1", "vm-nodata")
    iv = client.virtual_machines.instance_view("rg1", "vm-nodata")
    assert iv.statuses[-1].code == "PowerState/stopping"
    sim.advance(61)
    p.result()
    assert client.virtual_machines.instance_view("rg1", "vm-nodata").statuses[-1].code == "PowerState/stopped"
    p = client.virtual_machines.begin_deallocate("rg1", "vm-nodata")
    sim.advance(61)
    p.result()
    p = client.virtual_machines.begin_start("rg1", "vm-nodata")
    sim.advance(61)
    p.result()
    assert client.virtual_machines.instance_view("rg1", "vm-nodata").statuses[-1].code == "PowerState/running"


def _snapshot(client, sim, disk_id, name, incremental=True, tags=None):
    from azure.mgmt.compute.models import CreationData, Snapshot, SnapshotProperties, SnapshotSku
    body = Snapshot(location="eastus", sku=SnapshotSku(name="Standard_LRS"), tags=tags or {},
                    properties=SnapshotProperties(creation_data=CreationData(create_option="Copy",
                                                                             source_resource_id=disk_id),
                                                  incremental=incremental))
    p = client.snapshots.begin_create_or_update("rg1", name, body)
    sim.advance(31)
    return p.result()


def test_snapshot_and_restore_os_disk(sim, client):
    from azure.mgmt.compute.models import CreationData, Disk, DiskProperties, DiskSku
    vm = client.virtual_machines.get("rg1", "vm-nodata")
    os_id = vm.storage_profile.os_disk.managed_disk.id
    sim.clear_log()
    snap = _snapshot(client, sim, os_id, "snap-os", tags={"ade-run": "r1"})
    assert snap.properties.provisioning_state == "Succeeded" and snap.properties.incremental is True
    assert snap.properties.incremental_snapshot_family_id
    assert snap.properties.creation_data.source_resource_id == os_id
    log = sim.log()
    assert [e["status"] for e in log][0] == 202
    assert any("/DiskOperations/" in e["path"] for e in log)
    assert [s.name for s in client.snapshots.list_by_resource_group("rg1")] == ["snap-os"]
    # encrypt, then restore the pre-encryption OS disk
    from test_ade import enable
    from conftest import run_to_end, ade_iv
    enable(sim, client, "vm-nodata", volume_type="OS")
    run_to_end(sim, "rg1", "vm-nodata")
    p = client.disks.begin_create_or_update("rg1", "restored-os", Disk(
        location="eastus", sku=DiskSku(name="Premium_LRS"),
        properties=DiskProperties(creation_data=CreationData(create_option="Copy", source_resource_id=snap.id))))
    sim.advance(61)
    disk = p.result()
    assert disk.properties.os_type == "Linux" and disk.properties.disk_state == "Unattached"
    assert disk.properties.encryption_settings_collection is None
    vm = client.virtual_machines.get("rg1", "vm-nodata")
    vm.storage_profile.os_disk.managed_disk.id = disk.id
    vm.storage_profile.os_disk.name = disk.name
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machines.begin_create_or_update("rg1", "vm-nodata", vm)
    assert ei.value.status_code == 409 and "deallocated" in ei.value.message
    p = client.virtual_machines.begin_deallocate("rg1", "vm-nodata")
    sim.advance(61)
    p.result()
    p = client.virtual_machines.begin_create_or_update("rg1", "vm-nodata", vm)
    sim.advance(31)
    p.result()
    p = client.virtual_machines.begin_start("rg1", "vm-nodata")
    sim.advance(61)
    p.result()
    vm = client.virtual_machines.get("rg1", "vm-nodata")
    assert vm.storage_profile.os_disk.managed_disk.id == disk.id
    _unused, sub, disks = ade_iv(client, "rg1", "vm-nodata")
    assert sub["os"] == "NotEncrypted" and "EncryptionState/encrypted" not in disks["restored-os"]
    old = client.disks.get("rg1", os_id.rsplit("/", 1)[1])
    assert old.properties.disk_state == "Unattached" and old.properties.encryption_settings_collection.enabled
    p = client.disks.begin_delete("rg1", old.name)
    sim.advance(21)
    p.result()
    with pytest.raises(ResourceNotFoundError):
        client.disks.get("rg1", old.name)
    with pytest.raises(HttpResponseError) as ei:
        client.disks.begin_delete("rg1", disk.name)
    assert ei.value.status_code == 409
    p = client.snapshots.begin_delete("rg1", "snap-os")
    sim.advance(21)
    p.result()
    assert list(client.snapshots.list_by_resource_group("rg1")) == []


def test_data_disk_swap(sim, client):
    from azure.mgmt.compute.models import CreationData, Disk, DiskProperties
    vm = client.virtual_machines.get("rg1", "vm-all")
    d0 = vm.storage_profile.data_disks[0]
    snap = _snapshot(client, sim, d0.managed_disk.id, "snap-d0", incremental=False)
    assert snap.properties.incremental is False
    p = client.disks.begin_create_or_update("rg1", "restored-d0", Disk(location="eastus", properties=DiskProperties(
        creation_data=CreationData(create_option="Copy", source_resource_id=snap.id))))
    sim.advance(61)
    new = p.result()
    d0.managed_disk.id = new.id
    d0.name = new.name
    p = client.virtual_machines.begin_create_or_update("rg1", "vm-all", vm)
    sim.advance(31)
    p.result()
    vm = client.virtual_machines.get("rg1", "vm-all")
    assert vm.storage_profile.data_disks[0].managed_disk.id == new.id
    assert client.disks.get("rg1", "restored-d0").properties.disk_state == "Attached"


def test_snapshot_region_unsupported(sim, client):
    sim.seed({"snapshot_unsupported_regions": ["eastus"]})
    vm = client.virtual_machines.get("rg1", "vm-nodata")
    with pytest.raises(HttpResponseError) as ei:
        _snapshot(client, sim, vm.storage_profile.os_disk.managed_disk.id, "s")
    assert ei.value.status_code == 400 and "not supported in region" in ei.value.message


def _raw(sim, method, path, token=None, body=None):
    url = sim.base + path
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    ctx = ssl.create_default_context(cafile=sim.ca)
    try:
        with urllib.request.urlopen(req, context=ctx) as r:
            return r.status, dict(r.headers), json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), json.loads(e.read() or b"null")


def test_keyvault_and_resource_group(sim):
    tok = sim.credential().get_token("https://management.azure.com/.default").token
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kvwest"
                             "?api-version=2023-07-01" % SUB, tok)
    assert st == 200 and body["location"] == "westus"
    assert body["properties"]["enabledForDiskEncryption"] is True
    assert body["properties"]["vaultUri"] == "https://kvwest.vault.azure.net/"
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/kvoff"
                             "?api-version=2023-07-01" % SUB, tok)
    assert body["properties"]["enabledForDiskEncryption"] is False
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/nope"
                             "?api-version=2023-07-01" % SUB, tok)
    assert st == 404 and body["error"]["code"] == "ResourceNotFound"
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resources?api-version=2021-04-01&$filter=resourceType%%20eq"
                             "%%20'Microsoft.KeyVault/vaults'" % SUB2, tok)
    assert [v["name"] for v in body["value"]] == ["kvothersub"]
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/providers/Microsoft.KeyVault/vaults?api-version=2023-07-01"
                             % SUB, tok)
    assert sorted(v["name"] for v in body["value"]) == ["kv1", "kvoff", "kvwest"]
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1?api-version=2021-04-01" % SUB, tok)
    assert st == 200 and body["location"] == "eastus"
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/nope?api-version=2021-04-01" % SUB, tok)
    assert st == 404 and body["error"]["code"] == "ResourceGroupNotFound"
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1" % SUB, tok)
    assert st == 400 and body["error"]["code"] == "MissingApiVersionParameter"


def test_arm_requires_bearer(sim):
    st, headers, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1?api-version=2021-04-01" % SUB)
    assert st == 401 and body["error"]["code"] == "AuthenticationFailed"
    assert headers["WWW-Authenticate"].startswith('Bearer authorization_uri="%s/' % sim.base)
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1?api-version=2021-04-01" % SUB, "forged")
    assert st == 401 and body["error"]["code"] == "InvalidAuthenticationToken"


def test_scenario_validation(sim):
    from azsim.admin import SimAdminError
    with pytest.raises(SimAdminError) as ei:
        sim.seed({"subscriptions": [{"resource_groups": [{"name": "rg", "vms": [{"name": "x", "colour": 1}]}]}]})
    assert ei.value.status == 400 and "colour" in ei.value.body
    with pytest.raises(SimAdminError):
        sim.seed({"subscription": []})
    with pytest.raises(SimAdminError):
        sim.seed({"subscriptions": [{"resource_groups": [{"name": "rg", "vms": [{"name": "x",
                                                                                 "ade_behavior": "explode"}]}]}]})


def test_parallel_clients(sim):
    """Thread-safety: several clients at once (list pages, instance views, an LRO) all get consistent answers."""
    import concurrent.futures
    errors = []

    def worker(i):
        c = sim.compute_client(retry_total=0)
        try:
            for _unused in range(5):
                assert len(list(c.virtual_machines.list("rg-fleet"))) == 120
                assert c.virtual_machines.instance_view("rg-fleet", "node-%03d" % i).statuses[-1].code == \
                    "PowerState/running"
        except Exception as e:      # pragma: no cover - reported below
            errors.append(repr(e))
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(worker, range(8)))
    assert errors == []
    seqs = [e["seq"] for e in sim.log()]
    assert len(seqs) == len(set(seqs))


def test_misc_operations(sim, client):
    from azure.mgmt.compute.models import VirtualMachineUpdate
    p = client.virtual_machines.begin_update("rg1", "vm-nodata", VirtualMachineUpdate(tags={"ade-run": "r1"}))
    sim.advance(31)
    assert p.result().tags == {"ade-run": "r1"}
    p = client.virtual_machines.begin_restart("rg1", "vm-nodata")
    assert client.virtual_machines.instance_view("rg1", "vm-nodata").statuses[-1].code == "PowerState/starting"
    sim.advance(61)
    p.result()
    assert client.virtual_machines.instance_view("rg1", "vm-nodata").statuses[-1].code == "PowerState/running"
    exts = client.virtual_machine_extensions.list("rg1", "vm-busy", expand="instanceView").value
    assert exts[0].properties.instance_view.statuses[0].code == "ProvisioningState/transitioning"
    tok = sim.credential().get_token("https://management.azure.com/.default").token
    st, _unused, body = _raw(sim, "GET", "/subscriptions?api-version=2022-12-01", tok)
    assert sorted(s["subscriptionId"] for s in body["value"]) == [SUB, SUB2]
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/resourceGroups/rg1/providers/Microsoft.Compute/"
                             "virtualMachines/vm-nodata/extensions/Nope?api-version=2026-04-01" % SUB, tok)
    assert st == 404 and body["error"]["code"] == "NotFound"
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/providers/Microsoft.Compute/virtualMachines?api-version="
                             "2026-04-01&statusOnly=true" % SUB, tok)
    assert "instanceView" in body["value"][0]["properties"] and "nextLink" in body
    st, _unused, body = _raw(sim, "GET", "/subscriptions/%s/providers/Microsoft.Nope/things?api-version=2020-01-01" % SUB,
                             tok)
    assert st == 404 and body["error"]["code"] == "InvalidResourceType"


def test_vm_etag_if_match(sim, client):
    """Issue 14: the VM etag moves with every model write; If-Match with a stale one is refused (412
    PreconditionFailed) and changes nothing; the SDK maps it to ResourceModifiedError."""
    from azure.core import MatchConditions
    from azure.core.exceptions import ResourceModifiedError
    vm = client.virtual_machines.get("rg1", "vm-nodata")
    e1 = vm.etag
    assert e1 and e1.startswith('"')
    tags = dict(vm.tags or {}, lease="a")
    client.virtual_machines.begin_update("rg1", "vm-nodata", {"tags": tags}, etag=e1,
                                         match_condition=MatchConditions.IfNotModified).result()
    e2 = client.virtual_machines.get("rg1", "vm-nodata").etag
    assert e2 != e1
    with pytest.raises(ResourceModifiedError) as ei:
        client.virtual_machines.begin_update("rg1", "vm-nodata", {"tags": dict(tags, lease="b")}, etag=e1,
                                             match_condition=MatchConditions.IfNotModified).result()
    assert ei.value.status_code == 412 and ei.value.error.code == "PreconditionFailed"
    after = client.virtual_machines.get("rg1", "vm-nodata")
    assert after.tags["lease"] == "a" and after.etag == e2
    # no If-Match: last writer wins (as before)
    client.virtual_machines.begin_update("rg1", "vm-nodata", {"tags": dict(tags, lease=None) and {}}).result()
    assert not client.virtual_machines.get("rg1", "vm-nodata").tags


def test_disk_names_and_creation_source_as_arm_refuses_them(sim, client):
    """issue 15: names ARM refuses (over 80 characters, a space, a trailing '-'), and a second PUT that would change
    an existing disk's creation source (ARM keeps how a disk was made; 400 "Changing property ... is not allowed")."""
    from azure.mgmt.compute.models import CreationData, Disk, DiskProperties, DiskSku
    vm = client.virtual_machines.get("rg1", "vm-all")
    os_id = vm.storage_profile.os_disk.managed_disk.id
    data_id = vm.storage_profile.data_disks[0].managed_disk.id

    def put(name, source):
        return client.disks.begin_create_or_update("rg1", name, Disk(
            location="eastus", sku=DiskSku(name="Premium_LRS"),
            properties=DiskProperties(creation_data=CreationData(create_option="Copy", source_resource_id=source))))
    for bad in ("d" * 81, "my disk", "disk-", "-disk", "disk."):
        with pytest.raises(HttpResponseError) as ei:
            put(bad, os_id)
        assert ei.value.status_code == 400 and ei.value.error.code == "InvalidParameter", bad
    assert "disk.name" in ei.value.message
    p = put("d" * 80, os_id)
    sim.advance(61)
    assert p.result().name == "d" * 80
    with pytest.raises(HttpResponseError) as ei:
        put("d" * 80, data_id)
    assert ei.value.status_code == 400 and ei.value.error.code == "BadRequest"
    assert "Changing property 'sourceResourceId' is not allowed for existing disk" in ei.value.message
    again = put("d" * 80, os_id)        # the same source: allowed (tags/sku updates)
    sim.advance(2)
    assert again.result().properties.creation_data.source_resource_id == os_id

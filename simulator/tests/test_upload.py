"""Upload disks, disk SAS access and the page-blob endpoint (upload.py) through the real azure-mgmt-compute and
azure-storage-blob: the copy the way off ADE needs (disk-encryption-migrate.md), the UDE flag, and the refusals."""

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ClientAuthenticationError
from azure.mgmt.compute.models import CreationData, Disk, DiskProperties, DiskSku, GrantAccessData

from conftest import ADE, SUB, ade_body, run_to_end

pytest.importorskip("azure.storage.blob")
from azure.storage.blob import BlobClient  # noqa: E402

RG = "rgu"
FOUR_MIB = 4 * 1024 * 1024


def scenario():
    vms = [
        {"name": "u-data", "size": "Standard_D4s_v3", "os_disk_name": "u-data-os",
         "data_disks": [{"lun": 0, "size_gb": 4, "name": "u-data-d0"}],
         "encryption": {"state": "encrypted", "volume_type": "Data", "vault": "kvu"}},
        {"name": "u-plain", "size": "Standard_D4s_v3", "os_disk_name": "u-plain-os",
         "data_disks": [{"lun": 0, "size_gb": 4, "name": "u-plain-d0"}]},
    ]
    rg = {"name": RG, "location": "eastus", "vaults": [{"name": "kvu"}], "vms": vms}
    return {"subscriptions": [{"id": SUB, "features": {"Microsoft.Compute/EncryptionAtHost": "Registered"},
                               "resource_groups": [rg]}]}


@pytest.fixture
def usim(server):
    server.reset()
    server.seed(scenario(), replace=True)
    server.config(vm_power_seconds=1, vm_update_seconds=1, snapshot_seconds=1, disk_create_seconds=1,
                  delete_seconds=1, disk_access_seconds=1, ext_delete_seconds=1, ext_generic_seconds=1)
    return server


@pytest.fixture
def client(server):
    return server.compute_client(retry_total=0)


def blob(server, url):
    return BlobClient.from_blob_url(url, connection_verify=server.endpoints["ca_bundle"], retry_total=0)


def upload_disk(client, name, size_bytes, **props):
    return client.disks.begin_create_or_update(RG, name, Disk(
        location="eastus", sku=DiskSku(name="Standard_LRS"), properties=DiskProperties(
            creation_data=CreationData(create_option="Upload", upload_size_bytes=size_bytes), **props))).result()


def grant(client, name, access):
    return client.disks.begin_grant_access(RG, name, GrantAccessData(access=access, duration_in_seconds=3600)) \
        .result().access_sas


def page_copy(src, dst):
    """What azcopy --blob-type PageBlob does: Put Page From URL for every written range, 4 MiB at most."""
    n = 0
    for r in src.list_page_ranges():
        start = r.start
        while start <= r.end:
            length = min(FOUR_MIB, r.end - start + 1)
            dst.upload_pages_from_url(src.url, offset=start, length=length, source_offset=start)
            start += length
            n += 1
    return n


def deallocate(client, vm):
    client.virtual_machines.begin_deallocate(RG, vm).result()


def test_upload_copy_keeps_data_drops_ude_flag(usim, client):
    usim.disk(RG, "u-data-d0", writes=[(8192, b"payload".ljust(4096, b"x")), (3 * 1024 ** 3, b"z" * 512)])
    before = usim.disk(RG, "u-data-d0")
    assert before["ude"] is True and before["fs_uuid"] and before["guest_encrypted"] is True
    # disable ADE on the data volumes and remove the extension (R6.2): the guest decrypts, the UDE flag stays
    poller = client.virtual_machine_extensions.begin_create_or_update(
        RG, "u-data", ADE, ade_body(vault="kvu", vault_rg=RG, volume_type="Data", operation="DisableEncryption"))
    run_to_end(usim, RG, "u-data")
    poller.result()
    client.virtual_machine_extensions.begin_delete(RG, "u-data", ADE).result()
    decrypted = usim.disk(RG, "u-data-d0")
    assert decrypted["guest_encrypted"] is False and decrypted["ude"] is True
    src_disk = client.disks.get(RG, "u-data-d0")
    size = src_disk.properties.disk_size_bytes
    deallocate(client, "u-data")
    new = upload_disk(client, "u-data-d0-eah", size + 512)
    assert new.properties.disk_state == "ReadyToUpload"
    assert new.properties.creation_data.upload_size_bytes == size + 512
    # a snapshot and a Copy disk keep the UDE flag (disk-encryption-migrate.md)
    snap = client.snapshots.begin_create_or_update(RG, "u-snap", {
        "location": "eastus", "properties": {"creationData": {"createOption": "Copy",
                                                              "sourceResourceId": src_disk.id}}}).result()
    client.disks.begin_create_or_update(RG, "u-copy", {"location": "eastus", "properties": {
        "creationData": {"createOption": "Copy", "sourceResourceId": snap.id}}}).result()
    assert usim.disk(RG, "u-copy")["ude"] is True
    assert usim.disk(RG, "u-copy")["sha256"] == before["sha256"]

    write_sas = grant(client, "u-data-d0-eah", "Write")
    read_sas = grant(client, "u-data-d0", "Read")
    assert client.disks.get(RG, "u-data-d0-eah").properties.disk_state == "ActiveUpload"
    assert client.disks.get(RG, "u-data-d0").properties.disk_state == "ActiveSAS"
    src, dst = blob(usim, read_sas), blob(usim, write_sas)
    props = src.get_blob_properties()
    assert props.blob_type == "PageBlob" and props.size == size + 512
    assert page_copy(src, dst) == 3      # signature page, the payload, the page at 3 GiB
    assert dst.download_blob(offset=8192, length=7).readall() == b"payload"
    client.disks.begin_revoke_access(RG, "u-data-d0-eah").result()
    client.disks.begin_revoke_access(RG, "u-data-d0").result()
    after = usim.disk(RG, "u-data-d0-eah")
    assert after["ude"] is False and after["create_option"] == "Upload"
    assert after["sha256"] == before["sha256"] and after["fs_uuid"] == before["fs_uuid"]
    assert after["disk_state"] == "Unattached"
    with pytest.raises(ClientAuthenticationError):      # revoked: the SAS stops working at once
        src.get_blob_properties()


def test_sas_rules(usim, client):
    size = client.disks.get(RG, "u-plain-d0").properties.disk_size_bytes
    with pytest.raises(HttpResponseError) as e:        # attached to a running VM
        grant(client, "u-plain-d0", "Read")
    assert e.value.status_code == 409 and "deallocated" in str(e.value)
    with pytest.raises(HttpResponseError) as e:        # write only on an Upload disk
        grant(client, "u-plain-d0", "Write")
    assert e.value.status_code == 409
    with pytest.raises(HttpResponseError) as e:        # size without the footer / below the minimum
        upload_disk(client, "bad", size)
    assert e.value.status_code == 400 and "VHD footer" in str(e.value)
    deallocate(client, "u-plain")
    read_sas = grant(client, "u-plain-d0", "Read")
    with pytest.raises(HttpResponseError) as e:        # a VM whose disk has an active SAS does not start
        client.virtual_machines.begin_start(RG, "u-plain").result()
    assert e.value.status_code == 409 and "ActiveSAS" in str(e.value)
    with pytest.raises(HttpResponseError) as e:        # a read SAS does not write
        blob(usim, read_sas).upload_page(b"a" * 512, offset=0, length=512)
    assert e.value.status_code == 403
    new = upload_disk(client, "u-new", size + 512)
    with pytest.raises(HttpResponseError) as e:        # an upload disk cannot be attached before its upload ends
        vm = client.virtual_machines.get(RG, "u-plain")
        vm.properties.storage_profile.data_disks[0].managed_disk.id = new.id
        client.virtual_machines.begin_create_or_update(RG, "u-plain", vm).result()
    assert e.value.status_code == 409 and "ReadyToUpload" in str(e.value)
    client.disks.begin_revoke_access(RG, "u-plain-d0").result()
    client.virtual_machines.begin_start(RG, "u-plain").result()


def test_copy_before_decryption_is_ciphertext(usim, client):
    """Copying a disk still dm-crypt encrypted in the guest gives data whose signature does not match."""
    size = client.disks.get(RG, "u-data-d0").properties.disk_size_bytes
    deallocate(client, "u-data")
    upload_disk(client, "u-early", size + 512)
    src, dst = blob(usim, grant(client, "u-data-d0", "Read")), blob(usim, grant(client, "u-early", "Write"))
    page_copy(src, dst)
    for n in ("u-early", "u-data-d0"):
        client.disks.begin_revoke_access(RG, n).result()
    early, orig = usim.disk(RG, "u-early"), usim.disk(RG, "u-data-d0")
    assert orig["guest_encrypted"] is True
    assert early["fs_uuid"] is None and early["sha256"] != orig["sha256"]


def test_upload_disk_swapped_in_takes_encryption_at_host(usim, client):
    size = client.disks.get(RG, "u-plain-d0").properties.disk_size_bytes
    deallocate(client, "u-plain")
    new = upload_disk(client, "u-plain-d0-new", size + 512)
    page_copy(blob(usim, grant(client, "u-plain-d0", "Read")), blob(usim, grant(client, "u-plain-d0-new", "Write")))
    for n in ("u-plain-d0", "u-plain-d0-new"):
        client.disks.begin_revoke_access(RG, n).result()
    vm = client.virtual_machines.get(RG, "u-plain")
    vm.properties.storage_profile.data_disks[0].managed_disk.id = new.id
    client.virtual_machines.begin_create_or_update(RG, "u-plain", vm).result()
    client.virtual_machines.begin_update(RG, "u-plain", {"properties": {"securityProfile": {
        "encryptionAtHost": True}}}).result()
    client.virtual_machines.begin_start(RG, "u-plain").result()
    vm = client.virtual_machines.get(RG, "u-plain")
    assert vm.properties.security_profile.encryption_at_host is True
    assert vm.properties.storage_profile.data_disks[0].managed_disk.id.lower() == new.id.lower()
    assert usim.disk(RG, "u-plain-d0-new")["fs_uuid"] == usim.disk(RG, "u-plain-d0")["fs_uuid"]
    with pytest.raises((ResourceExistsError, HttpResponseError)):
        client.disks.begin_delete(RG, "u-plain-d0-new").result()   # attached: 409

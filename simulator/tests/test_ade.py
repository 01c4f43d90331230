"""The ADE model, driven through the real azure-mgmt-compute client."""

import json

import pytest
from azure.core.exceptions import HttpResponseError

from conftest import ADE, SUB, ade_body, ade_iv, run_to_end


def enable(sim, client, vm, rg="rg1", **kw):
    poller = client.virtual_machine_extensions.begin_create_or_update(rg, vm, ADE, ade_body(**kw))
    sim.advance(121)          # precheck + stamp
    return poller.result()


def test_enable_all_walks_the_single_pass_sequence(sim, client):
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    assert poller.status() == "InProgress"
    st, sub, disks = ade_iv(client, "rg1", "vm-all")
    assert (st.code, st.message, st.display_status) == ("ProvisioningState/transitioning", "", "Transitioning")
    assert all("EncryptionState/notEncrypted" in c for c in disks.values())
    sim.advance(121)
    ext = poller.result()
    assert ext.properties.provisioning_state == "Succeeded"
    st, sub, disks = ade_iv(client, "rg1", "vm-all")
    assert st.message == "Encryption settings stamped"
    assert sub == {"os": "EncryptionInProgress", "data": "EncryptionInProgress"}
    # stamped != encrypted: every disk shows EncryptionState/encrypted already
    assert all("EncryptionState/encrypted" in c for c in disks.values()) and len(disks) == 3
    vm = client.virtual_machines.get("rg1", "vm-all")
    osd = client.disks.get("rg1", vm.storage_profile.os_disk.name)
    esc = osd.properties.encryption_settings_collection
    assert esc.enabled and esc.encryption_settings_version == "1.1"
    assert esc.encryption_settings[0].disk_encryption_key.secret_url.startswith("https://kv1.vault.azure.net/secrets/")

    seen = run_to_end(sim, "rg1", "vm-all", client)
    messages = [s[2] for s in seen]
    assert messages == ["Encryption settings stamped", "Encrypting 2 data volumes",
                        "Encryption succeeded for data volumes", "Restarted extension from stripped down OS",
                        "Attempt #1 to unmount /oldroot failed with error: umount: /oldroot: target is busy.",
                        "OS disk encryption started", "Encryption succeeded for all volumes"]
    levels = {s[2]: s[1] for s in seen}
    assert levels["Restarted extension from stripped down OS"] == "ProvisioningState/failed/19"
    assert levels[messages[4]] == "ProvisioningState/failed/22"
    assert levels["Encryption succeeded for all volumes"] == "ProvisioningState/succeeded"
    assert seen[-1][3:] == ("Encrypted", "Encrypted")
    assert all(s[3:] == ("EncryptionInProgress", "EncryptionInProgress") for s in seen[:-1])
    iv = client.virtual_machines.instance_view("rg1", "vm-all")
    assert [s.code for s in iv.statuses][-1] == "PowerState/running"
    ext = client.virtual_machine_extensions.get("rg1", "vm-all", ADE, expand="instanceView")
    assert ext.properties.instance_view.type == "Microsoft.Azure.Security.AzureDiskEncryptionForLinux"
    assert ext.properties.instance_view.type_handler_version == "1.4.0.12"


def test_os_phase_lasts_hours_of_sim_time(sim, client):
    enable(sim, client, "vm-all")
    sim.advance(30 + 1200 + 300 + 10 + 10 + 1)
    st, _unused, _unused = ade_iv(client, "rg1", "vm-all")
    assert st.message == "OS disk encryption started"
    sim.advance(2 * 3600)
    assert ade_iv(client, "rg1", "vm-all")[0].message == "OS disk encryption started"
    sim.advance(3600)
    assert ade_iv(client, "rg1", "vm-all")[0].message == "Encryption succeeded for all volumes"


def test_volume_type_os_without_data_disks_ends_notmounted(sim, client):
    enable(sim, client, "vm-nodata", volume_type="OS")
    seen = run_to_end(sim, "rg1", "vm-nodata", client)
    assert seen[-1][2:] == ("Encryption succeeded for OS volume", "Encrypted", "NotMounted")
    assert "Encrypting" not in " ".join(s[2] for s in seen)


def test_volume_type_data_only(sim, client):
    enable(sim, client, "vm-all", volume_type="Data")
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert seen[-1][2:] == ("Encryption succeeded for data volumes", "NotEncrypted", "Encrypted")
    assert not any("OS" in s[2] for s in seen)


def test_fail_os_unmount(sim, client):
    enable(sim, client, "vm-unmount")
    seen = run_to_end(sim, "rg1", "vm-unmount", client)
    msgs = [s[2] for s in seen]
    assert sum(m.startswith("Attempt #") for m in msgs) == 10
    last = seen[-1]
    assert last[1] == "ProvisioningState/failed/19"
    assert last[2] == ("Failed to encrypt OS volume with error: Could not unmount /oldroot in 10 attempts, "
                       "machine state: unmount_oldroot")
    assert last[3:] == ("NotEncrypted", "Encrypted")
    _unused, _unused, disks = ade_iv(client, "rg1", "vm-unmount")
    assert all("EncryptionState/encrypted" in c for c in disks.values())     # stamped, OS not encrypted
    # the extension resource still says Succeeded: provisioningState is not completion
    ext = client.virtual_machine_extensions.get("rg1", "vm-unmount", ADE)
    assert ext.properties.provisioning_state == "Succeeded"


@pytest.mark.parametrize("vm,volume_type,needle", [
    ("vm-suse", "All", "Distro SuSE 12.5 is not supported for OS encryption"),
    ("vm-small", "OS", "Not enough memory for enabling encryption on OS volume. 8 GB memory is recommended."),
])
def test_fatal_prechecks_fail_the_put(sim, client, vm, volume_type, needle):
    body = ade_body(volume_type=volume_type)
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", vm, ADE, body)
    sim.advance(61)
    with pytest.raises(HttpResponseError) as ei:
        poller.result()
    assert needle in str(ei.value)
    assert ei.value.error.code == "VMExtensionProvisioningError"
    st, sub, disks = ade_iv(client, "rg1", vm)
    assert st.code == "ProvisioningState/failed/53" and st.message.endswith("Exception: " + needle)
    assert sub["os"] == "NotEncrypted"
    assert not any("EncryptionState/encrypted" in c for c in disks.values())
    assert client.virtual_machine_extensions.get("rg1", vm, ADE).properties.provisioning_state == "Failed"
    vmobj = client.virtual_machines.get("rg1", vm, expand="instanceView")
    assert vmobj.properties.provisioning_state == "Failed"


def test_data_only_distro_accepts_volume_type_data(sim, client):
    enable(sim, client, "vm-suse", volume_type="Data")
    seen = run_to_end(sim, "rg1", "vm-suse", client)
    assert seen[-1][2:] == ("Encryption succeeded for data volumes", "NotEncrypted", "Encrypted")


def test_keyvault_validation_like_the_extension(sim, client):
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(url_vault="othervault"))
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    st, _unused, _unused = ade_iv(client, "rg1", "vm-all")
    assert st.code == "ProvisioningState/failed/53"
    assert "A KeyVault ID and KeyVault URL were provided, but their key vault names did not match" in st.message


def test_unversioned_kek_rejected(sim, client):
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(KeyEncryptionKeyURL="https://kv1.vault.azure.net/keys/kek",
                                       KekVaultResourceId="/subscriptions/%s/resourceGroups/rg1/providers/"
                                                          "Microsoft.KeyVault/vaults/kv1" % SUB))
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    assert "KEK URL" in ade_iv(client, "rg1", "vm-all")[0].message


@pytest.mark.parametrize("vault", ["kvwest", "kvoff"])
def test_bad_vault_fails_at_stamping(sim, client, vault):
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(vault=vault))
    sim.advance(121)
    with pytest.raises(HttpResponseError):
        poller.result()
    st, sub, disks = ade_iv(client, "rg1", "vm-all")
    assert st.level == "Error" and vault in st.message
    assert not any("EncryptionState/encrypted" in c for c in disks.values())


def test_volume_type_narrowing_rejected_and_widening_allowed(sim, client):
    enable(sim, client, "vm-all", volume_type="OS")
    run_to_end(sim, "rg1", "vm-all")
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(volume_type="Data", seq="seq-2"))
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    assert ade_iv(client, "rg1", "vm-all")[0].message.endswith(
        "Moving from volume type OS to volume type Data is not allowed")
    enable(sim, client, "vm-all", volume_type="All", seq="seq-3")
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert seen[-1][2:] == ("Encryption succeeded for all volumes", "Encrypted", "Encrypted")
    assert "OS disk encryption started" not in [s[2] for s in seen]


def test_same_settings_are_not_rerun(sim, client):
    enable(sim, client, "vm-nodata", volume_type="OS")
    run_to_end(sim, "rg1", "vm-nodata")
    before = sim.vm("rg1", "vm-nodata")["extensions"][0]["status"]
    body = ade_body(volume_type="OS")
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-nodata", ADE, body)
    sim.advance(6)
    assert poller.result().properties.provisioning_state == "Succeeded"
    after = sim.vm("rg1", "vm-nodata")["extensions"][0]
    assert after["status"] == before and "run" not in after


def test_new_sequence_on_encrypted_vm_is_quick_success(sim, client):
    enable(sim, client, "vm-enc", seq="again")
    st, sub, _unused = ade_iv(client, "rg1", "vm-enc")
    assert st.message == "Encryption succeeded for all volumes" and sub == {"os": "Encrypted", "data": "Encrypted"}


def test_enable_while_daemon_runs_is_rejected(sim, client):
    enable(sim, client, "vm-all")
    sim.advance(40)
    assert ade_iv(client, "rg1", "vm-all")[0].message == "Encrypting 2 data volumes"
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(seq="x2"))
    sim.advance(6)
    poller.result()
    assert ade_iv(client, "rg1", "vm-all")[0].message == \
        "An operation is already in progress. Please wait for it to complete."
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert seen[-1][2] == "Encryption succeeded for all volumes"


def test_put_during_transitioning_gets_409(sim, client):
    client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(seq="2"))
    assert ei.value.status_code == 409 and ei.value.error.code == "OperationNotAllowed"


def test_disable_refused_when_os_encrypted(sim, client):
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-enc", ADE, ade_body(operation="DisableEncryption", volume_type="Data", seq="d1"))
    sim.advance(61)
    with pytest.raises(HttpResponseError) as ei:
        poller.result()
    msg = "Failed to disable the extension with error: Disabling encryption is not supported when OS volume is " \
          "encrypted"
    assert msg in str(ei.value)
    assert ade_iv(client, "rg1", "vm-enc")[0].message == msg


def test_data_disable_then_remove(sim, client):
    enable(sim, client, "vm-all", volume_type="Data")
    run_to_end(sim, "rg1", "vm-all")
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(operation="DisableEncryption", volume_type="Data", seq="d1"))
    sim.advance(61)
    poller.result()
    st, sub, disks = ade_iv(client, "rg1", "vm-all")
    assert st.message == "Encryption settings cleared" and sub["data"] == "DecryptionInProgress"
    assert not any("EncryptionState/encrypted" in c for c in disks.values())
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert [s[2] for s in seen] == ["Encryption settings cleared", "Decryption started", "Decryption succeeded"]
    assert seen[-1][3:] == ("NotEncrypted", "NotEncrypted")
    poller = client.virtual_machine_extensions.begin_delete("rg1", "vm-all", ADE)
    sim.advance(31)
    poller.result()
    assert [e.name for e in client.virtual_machine_extensions.list("rg1", "vm-all").value or []] == []


def test_preset_states(sim, client):
    st, sub, disks = ade_iv(client, "rg1", "vm-enc")
    assert st.message == "Encryption succeeded for all volumes" and sub == {"os": "Encrypted", "data": "Encrypted"}
    st, sub, _unused = ade_iv(client, "rg1", "vm-prog")
    assert st.message == "OS disk encryption started" and sub["os"] == "EncryptionInProgress"
    vm = client.virtual_machines.get("rg1", "vm-dual", expand="instanceView")
    assert vm.storage_profile.os_disk.encryption_settings.enabled is True
    ade = [e for e in vm.properties.instance_view.extensions if e.name == ADE][0]
    assert ade.type_handler_version.startswith("0.1")
    assert [r.properties.type_handler_version for r in vm.resources if r.name == ADE] == ["0.1"]
    vm = client.virtual_machines.get("rg1", "vm-ostc", expand="instanceView")
    assert [e.type for e in vm.properties.instance_view.extensions] == [
        "Microsoft.OSTCExtensions.AzureDiskEncryptionForLinux"]
    vm = client.virtual_machines.get("rg1", "vm-busy", expand="instanceView")
    cs = vm.properties.instance_view.extensions[0]
    assert cs.statuses[0].code == "ProvisioningState/transitioning"
    assert vm.resources[0].properties.provisioning_state == "Updating"
    vm = client.virtual_machines.get("rg1", "vm-vhd")
    assert vm.storage_profile.os_disk.vhd.uri.endswith(".vhd") and vm.storage_profile.os_disk.managed_disk is None


def test_other_extension_in_progress_blocks_ade(sim, client):
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-busy", ADE, ade_body())
    assert ei.value.status_code == 409 and "another operation is in progress" in ei.value.message
    sim.patch_vm("rg1", "vm-busy", finish_extension_operations=True)
    enable(sim, client, "vm-busy", volume_type="OS")


def test_extension_transition_seconds(sim, client):
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-cse", "existing_extensions": [
            {"name": "CustomScript", "publisher": "Microsoft.Azure.Extensions", "type": "CustomScript",
             "type_handler_version": "2.1", "provisioning_state": "Updating", "transition_seconds": 300}]}]}]}]})
    assert client.virtual_machine_extensions.get("rg1", "vm-cse", "CustomScript").properties.provisioning_state \
        == "Updating"
    sim.advance(301)
    ext = client.virtual_machine_extensions.get("rg1", "vm-cse", "CustomScript", expand="instanceView")
    assert ext.properties.provisioning_state == "Succeeded"
    assert ext.properties.instance_view.statuses[0].message == "Enable succeeded"


def test_deallocated_vm_pauses_encryption_and_refuses_extension_put(sim, client):
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-off", ADE, ade_body())
    assert ei.value.status_code == 409
    assert "Cannot modify extensions in the VM when the VM is not running." in ei.value.message
    enable(sim, client, "vm-nodata", volume_type="OS")
    sim.advance(400)
    before = sim.vm("rg1", "vm-nodata")["extensions"][0]["run"]["elapsed_seconds"]
    p = client.virtual_machines.begin_deallocate("rg1", "vm-nodata")
    sim.advance(61)
    p.result()
    sim.advance(5 * 3600)
    after = sim.vm("rg1", "vm-nodata")["extensions"][0]["run"]["elapsed_seconds"]
    assert after - before < 100
    iv = client.virtual_machines.instance_view("rg1", "vm-nodata")
    assert iv.statuses[-1].code == "PowerState/deallocated" and not iv.extensions


def test_substatus_json_shape(sim, client):
    iv = client.virtual_machines.instance_view("rg1", "vm-enc")
    ext = [e for e in iv.extensions if e.name == ADE][0]
    assert list(json.loads(ext.substatuses[0].message)) == ["os", "data"]
    assert ext.substatuses[0].code == "ComponentStatus/Microsoft.Azure.Security.AzureDiskEncryptionForLinux/succeeded"


def test_online_flow_for_online_capable_distros(sim, client):
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-rhel8", "os": {"distro": "rhel", "version": "8.6"}, "data_disks": [{"lun": 0}]}]}]}]})
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-rhel8", ADE, ade_body())
    sim.advance(121)
    assert poller.status() == "InProgress"       # online mode: stamped is still transitioning
    assert ade_iv(client, "rg1", "vm-rhel8")[0].code == "ProvisioningState/transitioning"
    seen = run_to_end(sim, "rg1", "vm-rhel8", client)
    assert poller.result().properties.provisioning_state == "Succeeded"
    msgs = [s[2] for s in seen]
    assert msgs[:5] == ["Encryption settings stamped", "Online encryption initialized for data volumes",
                        "Restarting vm after patching", "Online Encryption initialized.",
                        "Background Encrypting 2 volume(s)."]
    assert any(m.startswith("Background encrypting /dev/sda2 - Progress:") for m in msgs)
    assert "Background encryption finished for /dev/sda2" in msgs
    assert "Restarted extension from stripped down OS" not in msgs
    assert seen[-1][2:] == ("Encryption succeeded for all volumes", "Encrypted", "Encrypted")
    assert {s[1] for s in seen if s[2] == "Restarting vm after patching"} == {"ProvisioningState/transitioning"}


def test_custom_precheck_error(sim, client):
    lvm = "LVM OS disk layout does not satisfy prerequisites ( see https://aka.ms/adelvm )"
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-lvm", "os": {"distro": "redhat", "version": "7.9"}, "ade_precheck_error": lvm,
         "data_disks": [{"lun": 0}]}]}]}]})
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-lvm", ADE, ade_body())
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    assert ade_iv(client, "rg1", "vm-lvm")[0].message.endswith("Exception: " + lvm)
    enable(sim, client, "vm-lvm", volume_type="Data", seq="data")      # data-only is not affected
    assert run_to_end(sim, "rg1", "vm-lvm", client)[-1][2] == "Encryption succeeded for data volumes"


def test_agent_not_ready(sim, client):
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-new", "agent_ready": False}, {"name": "vm-new2", "agent_ready": False}]}]}]})
    iv = client.virtual_machines.instance_view("rg1", "vm-new")
    assert iv.vm_agent.statuses[0].code == "ProvisioningState/Unavailable"
    assert iv.vm_agent.statuses[0].message == "VM status blob is found but not yet populated."
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-new", ADE, ade_body(volume_type="OS"))
    sim.advance(5401)
    with pytest.raises(HttpResponseError) as ei:
        poller.result()
    assert ei.value.error.code == "VMAgentStatusCommunicationError"
    # the agent comes up while the PUT waits: the extension then runs normally
    body = ade_body(volume_type="OS")
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-new2", ADE, body)
    sim.advance(600)
    sim.patch_vm("rg1", "vm-new2", agent_ready=True)
    sim.advance(121)
    assert poller.result().properties.provisioning_state == "Succeeded"
    assert ade_iv(client, "rg1", "vm-new2")[0].message == "Encryption settings stamped"


def test_patch_extension(sim, client):
    from azure.mgmt.compute.models import VirtualMachineExtensionUpdate, VirtualMachineExtensionUpdateProperties
    ext = client.virtual_machine_extensions.get("rg1", "vm-enc", ADE)
    settings = dict(ext.properties.settings, SequenceVersion="patched")
    p = client.virtual_machine_extensions.begin_update("rg1", "vm-enc", ADE, VirtualMachineExtensionUpdate(
        properties=VirtualMachineExtensionUpdateProperties(settings=settings)))
    sim.advance(121)
    out = p.result()
    assert out.properties.settings["SequenceVersion"] == "patched" and out.properties.provisioning_state == "Succeeded"
    assert out.properties.type_handler_version == "1.1"
    assert ade_iv(client, "rg1", "vm-enc")[0].message == "Encryption succeeded for all volumes"

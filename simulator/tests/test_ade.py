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
    # point 10: before anything is stamped a disk shows only ProvisioningState/succeeded
    assert all(c == ["ProvisioningState/succeeded"] for c in disks.values())
    assert st.time is None and sim.vm("rg1", "vm-all")["extensions"][0]["status"]["message"] == ""
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
    progress = ["Encrypting data volume %d/2: %d%%" % (i, p) for i in (1, 2) for p in (25, 50, 75)]
    # points 3/4/6: no unmount attempt on a good run; the offline flow ends with VMRestartPending, a reboot, the
    # pre-stripdown status reported again and one more run of the extension before the final message
    assert messages == (["Encryption settings stamped", "Encrypting 2 data volumes"] + progress + [
        "Encryption succeeded for data volumes", "Restarted extension from stripped down OS", "",
        "OS disk encryption started", "OS disk successfully encrypted, please reboot the VM",
        "Encryption succeeded for data volumes", "", "Encrypting 0 data volumes",
        "Encryption succeeded for data volumes", "Encryption succeeded for all volumes"])
    levels = {s[2]: s[1] for s in seen}
    assert levels["Restarted extension from stripped down OS"] == "ProvisioningState/failed/19"
    assert levels["Encryption succeeded for all volumes"] == "ProvisioningState/succeeded"
    assert seen[-1][3:] == ("Encrypted", "Encrypted")
    pending = messages.index("OS disk successfully encrypted, please reboot the VM")
    assert seen[pending][3:] == ("VMRestartPending", "NotMounted")
    assert all(s[3:] == ("EncryptionInProgress", "EncryptionInProgress") for s in seen[:pending])
    assert seen[pending + 1][3:] == ("EncryptionInProgress", "EncryptionInProgress")   # the old status file
    assert all(s[3:] == ("Encrypted", "EncryptionInProgress") for s in seen[pending + 2:-1])
    iv = client.virtual_machines.instance_view("rg1", "vm-all")
    assert [s.code for s in iv.statuses][-1] == "PowerState/running"
    ext = client.virtual_machine_extensions.get("rg1", "vm-all", ADE, expand="instanceView")
    assert ext.properties.instance_view.type == "Microsoft.Azure.Security.AzureDiskEncryptionForLinux"
    assert ext.properties.instance_view.type_handler_version == "1.4.0.12"


def test_os_phase_lasts_hours_of_sim_time(sim, client):
    enable(sim, client, "vm-all")
    sim.advance(30 + 1200 + 300 + 90 + 60 + 1)
    st, _unused, _unused = ade_iv(client, "rg1", "vm-all")
    assert st.message == "OS disk encryption started"
    sim.advance(2 * 3600)
    assert ade_iv(client, "rg1", "vm-all")[0].message == "OS disk encryption started"
    sim.advance(3600)
    st, sub, _unused = ade_iv(client, "rg1", "vm-all")
    assert st.message == "OS disk successfully encrypted, please reboot the VM" and sub["os"] == "VMRestartPending"
    sim.advance(61)      # the guest reboots: the agent is Not Ready, the extension status is stale
    iv = client.virtual_machines.instance_view("rg1", "vm-all")
    assert iv.vm_agent.statuses[0].display_status == "Not Ready"
    assert ade_iv(client, "rg1", "vm-all")[0].message == "OS disk successfully encrypted, please reboot the VM"
    assert iv.statuses[-1].code == "PowerState/running"
    sim.advance(120 + 90 + 60 + 30 + 30)
    assert ade_iv(client, "rg1", "vm-all")[0].message == "Encryption succeeded for all volumes"


def test_volume_type_os_without_data_disks_ends_notmounted(sim, client):
    enable(sim, client, "vm-nodata", volume_type="OS")
    seen = run_to_end(sim, "rg1", "vm-nodata", client)
    assert seen[-1][2:] == ("Encryption succeeded for OS volume", "Encrypted", "NotMounted")
    assert "Encrypting" not in " ".join(s[2] for s in seen)
    # VolumeType OS: after the reboot the status before the stripdown ("stamped") is reported again
    msgs = [s[2] for s in seen]
    assert msgs[msgs.index("OS disk successfully encrypted, please reboot the VM") + 1] == "Encryption settings stamped"


def test_volume_type_all_without_data_disks_still_runs_the_data_phase(sim, client):
    # point 5
    enable(sim, client, "vm-nodata", volume_type="All")
    seen = run_to_end(sim, "rg1", "vm-nodata", client)
    msgs = [s[2] for s in seen]
    assert msgs[:3] == ["Encryption settings stamped", "Encrypting 0 data volumes",
                        "Encryption succeeded for data volumes"]
    assert seen[-1][2:] == ("Encryption succeeded for all volumes", "Encrypted", "NotMounted")


def test_stamping_scope_follows_the_volumes(sim, client):
    # point 1: Data stamps only the data disks it encrypts (not the OS disk, not an unmounted one)
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-scope", "data_disks": [{"lun": 0}, {"lun": 1, "mounted": False}]}]}]}]})
    enable(sim, client, "vm-scope", volume_type="Data")
    state = sim.vm("rg1", "vm-scope")
    assert not state["os_disk"]["stamped"]
    assert [d["stamped"] for d in state["data_disks"]] == [True, False]
    _unused, _unused, disks = ade_iv(client, "rg1", "vm-scope")
    assert disks[state["os_disk"]["name"]] == ["ProvisioningState/succeeded", "EncryptionState/notEncrypted"]
    run_to_end(sim, "rg1", "vm-scope")
    # widening to All stamps the OS disk too (and keeps the encrypted data disk stamped)
    enable(sim, client, "vm-scope", volume_type="All", seq="all")
    state = sim.vm("rg1", "vm-scope")
    assert state["os_disk"]["stamped"] and [d["stamped"] for d in state["data_disks"]] == [True, False]


def test_volume_type_data_only(sim, client):
    enable(sim, client, "vm-all", volume_type="Data")
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert seen[-1][2:] == ("Encryption succeeded for data volumes", "NotEncrypted", "Encrypted")
    assert not any("OS" in s[2] for s in seen)


def test_fail_os_unmount(sim, client):
    enable(sim, client, "vm-unmount")
    seen = run_to_end(sim, "rg1", "vm-unmount", client)
    msgs = [s[2] for s in seen]
    # point 6: 11 attempt messages with the command's return code, stderr and a stack trace
    attempts = [s for s in seen if s[2].startswith("Attempt #")]
    assert len(attempts) == 11 and {a[1] for a in attempts} == {"ProvisioningState/failed/22"}
    assert attempts[0][2].startswith("Attempt #1 to unmount /oldroot failed with error: Command umount /oldroot "
                                     "failed with return code 32\nstdout:\n\nstderr:\numount: /oldroot: target is busy\n")
    assert ", stack trace: Traceback (most recent call last):" in attempts[0][2]
    assert attempts[-1][2].startswith("Attempt #11 to unmount /oldroot failed with error: Could not unmount "
                                      "/oldroot in 10 attempts, stack trace: ")
    last = seen[-1]
    assert last[1] == "ProvisioningState/failed/19"
    assert last[2].startswith("Failed to encrypt OS volume with error: Attempt #11 to unmount /oldroot failed with "
                              "error: Could not unmount /oldroot in 10 attempts")
    assert last[2].endswith(", machine state: unmount_oldroot")
    # point 7: the guest stays in the stripped-down root with the data volumes unmounted until a reboot
    assert last[3:] == ("NotEncrypted", "NotMounted")
    assert sim.vm("rg1", "vm-unmount")["guest_state"] == "stripped_down"
    _unused, _unused, disks = ade_iv(client, "rg1", "vm-unmount")
    assert all("EncryptionState/encrypted" in c for c in disks.values())     # stamped, OS not encrypted
    # the extension resource still says Succeeded: provisioningState is not completion
    ext = client.virtual_machine_extensions.get("rg1", "vm-unmount", ADE)
    assert ext.properties.provisioning_state == "Succeeded"
    p = client.virtual_machines.begin_restart("rg1", "vm-unmount")
    sim.advance(61)
    p.result()
    assert ade_iv(client, "rg1", "vm-unmount")[1] == {"os": "NotEncrypted", "data": "Encrypted"}
    assert sim.vm("rg1", "vm-unmount")["guest_state"] == "normal"


def test_unmount_busy_attempts_then_success(sim, client):
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-busy2", "unmount_busy_attempts": 2}]}]}]})
    enable(sim, client, "vm-busy2", volume_type="OS")
    msgs = [s[2] for s in run_to_end(sim, "rg1", "vm-busy2", client)]
    assert [m.split(" to ")[0] for m in msgs if m.startswith("Attempt #")] == ["Attempt #1", "Attempt #2"]
    assert msgs[-1] == "Encryption succeeded for OS volume"


def test_agent_never_back_after_stripdown_keeps_the_transient_error(sim, client):
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vms": [
        {"name": "vm-stuck", "ade_behavior": "stuck_after_stripdown"}]}]}]})
    enable(sim, client, "vm-stuck", volume_type="OS")
    sim.advance(301)
    sim.advance(6 * 3600)
    st, sub, _unused = ade_iv(client, "rg1", "vm-stuck")
    assert (st.code, st.message) == ("ProvisioningState/failed/19", "Restarted extension from stripped down OS")
    assert sub == {"os": "EncryptionInProgress", "data": "NotMounted"}


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
    assert st.code == "ProvisioningState/failed/53" and st.message.endswith("Exception: " + needle + "\n")
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
    # point 10: wrapped like check_util.check_kv_name
    assert "Exception: \nA KeyVault ID and KeyVault URL were provided, but their key vault names did not match\n" \
           "Key Vault ID: /subscriptions/" in st.message


@pytest.mark.parametrize("kw,text", [
    (dict(KeyVaultResourceId=""), "Exception: \nA KeyVault ID is required, but is missing or invalid\nActual: \n"
                                  "Expected: /subscriptions/{subid}/resourceGroups/{rgname}/providers/"
                                  "Microsoft.KeyVault/vaults/{vaultname}\n"),
    (dict(KeyVaultURL="HTTPS://kv1.vault.azure.net/"), "Exception: \nA KeyVault URL is required, but is missing "
                                                       "or invalid\nActual: HTTPS://kv1.vault.azure.net/\n"),
    (dict(KeyEncryptionKeyURL="https://kv1.vault.azure.net/keys/kek/abc"),
     "Exception: \nA KEK URL was specified, but its KEK KeyVault ID was missing or invalid\n"),
])
def test_precheck_messages_are_wrapped_like_the_extension(sim, client, kw, text):
    body = ade_body()
    body.properties.settings.update(kw)
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, body)
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    st = ade_iv(client, "rg1", "vm-all")[0]
    assert st.code == "ProvisioningState/failed/53" and text in st.message
    assert st.message.startswith("Traceback (most recent call last):")


def test_kek_url_without_its_vault_id_is_a_type_error(sim, client):
    body = ade_body(KeyEncryptionKeyURL="https://kv1.vault.azure.net/keys/kek/abc")
    body.properties.settings.pop("KekVaultResourceId", None)
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, body)
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    assert ade_iv(client, "rg1", "vm-all")[0].message.endswith(
        'TypeError: can only concatenate str (not "NoneType") to str\n')


@pytest.mark.parametrize("operation", ["UpdateEncryptionSettings", "QueryEncryptionStatus", "Bogus"])
def test_unsupported_operations(sim, client, operation):
    # point 9
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-enc", ADE, ade_body(operation=operation, seq="u-" + operation))
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    st = ade_iv(client, "rg1", "vm-enc")[0]
    assert (st.code, st.message) == ("ProvisioningState/failed/53",
                                     "Encryption operation %s is not supported" % operation)


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
    # point 8: surfaces inside the data path, code 19
    assert st.code == "ProvisioningState/failed/19" and vault in st.message
    assert st.message.startswith("Failed to encrypt data volumes with error: Encryption settings post request was "
                                 "not accepted. Error: ")
    assert not any("EncryptionState/encrypted" in c for c in disks.values())


def test_bad_vault_with_volume_type_os_fails_in_the_os_path(sim, client):
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-nodata", ADE, ade_body(vault="kvoff", volume_type="OS"))
    sim.advance(121)
    with pytest.raises(HttpResponseError):
        poller.result()
    st = ade_iv(client, "rg1", "vm-nodata")[0]
    assert st.code == "ProvisioningState/failed/19"
    assert st.message.startswith("Failed to encrypt OS volume with error: Encryption settings post request was not "
                                 "accepted. Error: ") and st.message.endswith("machine state: uninitialized")


def test_volume_type_narrowing_rejected_and_widening_allowed(sim, client):
    enable(sim, client, "vm-all", volume_type="OS")
    run_to_end(sim, "rg1", "vm-all")
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(volume_type="Data", seq="seq-2"))
    sim.advance(61)
    with pytest.raises(HttpResponseError):
        poller.result()
    assert ade_iv(client, "rg1", "vm-all")[0].message.endswith(
        "Moving from volume type OS to volume type Data is not allowed\n")
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
          "encrypted, stack trace: Traceback"
    assert msg in str(ei.value)
    assert ade_iv(client, "rg1", "vm-enc")[0].message.startswith(msg)


def test_data_disable_then_remove(sim, client):
    enable(sim, client, "vm-all", volume_type="Data")
    run_to_end(sim, "rg1", "vm-all")
    poller = client.virtual_machine_extensions.begin_create_or_update(
        "rg1", "vm-all", ADE, ade_body(operation="DisableEncryption", volume_type="Data", seq="d1"))
    sim.advance(61)
    # point 2: transitioning with an empty message (the PUT still runs), data stamps cleared
    assert poller.status() == "InProgress"
    st, sub, disks = ade_iv(client, "rg1", "vm-all")
    assert (st.code, st.message) == ("ProvisioningState/transitioning", "") and sub["data"] == "DecryptionInProgress"
    assert not any("EncryptionState/encrypted" in c for c in disks.values())
    sim.advance(60)
    poller.result()
    assert ade_iv(client, "rg1", "vm-all")[0].message == "Decrypting 2 data volumes"
    seen = run_to_end(sim, "rg1", "vm-all", client)
    assert [s[2] for s in seen] == ["Decrypting 2 data volumes"] + [
        "Decrypting data volume %d/2: %d%%" % (i, p) for i in (1, 2) for p in (25, 50, 75)] + ["Decryption succeeded"]
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
    seen = []
    for _unused in range(20):        # up to the reboot after patching: the agent is Not Ready meanwhile
        run = sim.vm("rg1", "vm-rhel8")["extensions"][0]["run"]
        if run["next_step"] == "guest back after patching":
            break
        st, sub, _unused = ade_iv(client, "rg1", "vm-rhel8")
        if not seen or seen[-1][2] != st.message:
            seen.append((st.level, st.code, st.message, sub["os"], sub["data"]))
        sim.advance(run["next_step_in_seconds"] + 0.001)
    iv = client.virtual_machines.instance_view("rg1", "vm-rhel8")
    assert iv.vm_agent.statuses[0].display_status == "Not Ready"
    assert ade_iv(client, "rg1", "vm-rhel8")[0].message == "Restarting vm after patching"
    seen += run_to_end(sim, "rg1", "vm-rhel8", client)
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
    assert ade_iv(client, "rg1", "vm-lvm")[0].message.endswith("Exception: " + lvm + "\n")
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


def test_new_vault_on_encrypted_vm_restamps_and_reports_settings_updated(sim, client):
    # handle.py handle_encryption -> update_encryption_settings: "Encryption settings updated"
    sim.seed({"subscriptions": [{"id": SUB, "resource_groups": [{"name": "rg1", "vaults": [{"name": "kv2"}]}]}]})
    before = sim.vm("rg1", "vm-enc")
    poller = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-enc", ADE,
                                                                      ade_body(vault="kv2", seq="rekey"))
    sim.advance(61)
    assert poller.result().properties.provisioning_state == "Succeeded"
    st, sub, _unused = ade_iv(client, "rg1", "vm-enc")
    assert (st.message, sub) == ("Encryption settings updated", {"os": "Encrypted", "data": "Encrypted"})
    vm = client.virtual_machines.get("rg1", "vm-enc", expand="instanceView")
    kv = [d.encryption_settings[0].disk_encryption_key.source_vault.id for d in vm.properties.instance_view.disks]
    assert before["os_disk"]["stamped"] and all(k.endswith("/vaults/kv2") for k in kv) and len(kv) == 2

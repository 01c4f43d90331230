"""boot.py: a VM that hangs at boot after encryption (issue 6). ARM restarts it, the guest never reports again."""


def _agent(client, vm):
    iv = client.virtual_machines.instance_view("rg1", vm)
    return iv.vm_agent.statuses[0].display_status, iv.statuses[-1].code


def _restart(sim, client, vm):
    p = client.virtual_machines.begin_restart("rg1", vm)
    sim.advance(61)
    p.result()


def test_encrypted_vm_with_the_behaviour_hangs_after_a_restart(sim, client):
    assert _agent(client, "vm-enc") == ("Ready", "PowerState/running")
    sim.patch_vm("rg1", "vm-enc", boot_hang_after_encryption=True)
    assert _agent(client, "vm-enc") == ("Ready", "PowerState/running")   # only the next boot hangs
    _restart(sim, client, "vm-enc")
    assert _agent(client, "vm-enc") == ("Not Ready", "PowerState/running")   # ARM: running; the guest: silent
    state = sim.vm("rg1", "vm-enc")
    assert state["guest_state"] == "boot_hung" and state["boot_hang_after_encryption"] is True
    assert state["encryption_status"]["os"] == "Encrypted"   # stale statuses: not a stripped-down guest
    sim.advance(3600)
    assert _agent(client, "vm-enc")[0] == "Not Ready"   # for ever
    _restart(sim, client, "vm-enc")
    assert _agent(client, "vm-enc")[0] == "Not Ready"   # every boot


def test_the_behaviour_needs_an_encrypted_os_disk(sim, client):
    sim.patch_vm("rg1", "vm-nodata", boot_hang_after_encryption=True)
    _restart(sim, client, "vm-nodata")
    assert _agent(client, "vm-nodata")[0] == "Ready"
    assert sim.vm("rg1", "vm-nodata")["guest_state"] == "normal"


def test_without_the_behaviour_an_encrypted_vm_boots(sim, client):
    _restart(sim, client, "vm-enc")
    assert _agent(client, "vm-enc")[0] == "Ready"
    assert sim.vm("rg1", "vm-enc")["guest_state"] == "normal"

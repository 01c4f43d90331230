"""Fault action stale_reads (azsim/stale.py): right after an accepted PUT, GETs show the previous state."""
import time

import pytest
from azure.core.exceptions import HttpResponseError

from conftest import ADE, ade_body

DATA_DONE = "Encryption succeeded for data volumes"


def _ade_iv(vm):
    iv = getattr(vm, "instance_view", None) or vm
    return [e for e in iv.extensions if "AzureDiskEncryption" in (e.type or e.name)][0]


def _ade_seq(vm):
    return [r for r in vm.resources if r.name == ADE][0].settings["SequenceVersion"]


def _finished_data_run(sim, client):
    client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(volume_type="Data", seq="seq-1"))
    sim.advance(4000)
    vm = client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    assert _ade_iv(vm).statuses[0].message == DATA_DONE
    return vm


def test_instance_view_shows_the_previous_run_while_the_model_has_the_new_settings(sim, client):
    _finished_data_run(sim, client)
    sim.add_fault(method="PUT", path=r"/extensions/", action="stale_reads", seconds=1.5)
    client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(volume_type="All", seq="seq-2"))
    vm = client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    assert _ade_seq(vm) == "seq-2"                                    # the model is new ...
    assert _ade_iv(vm).statuses[0].message == DATA_DONE               # ... the status is the previous run's
    assert _ade_iv(vm).statuses[0].code == "ProvisioningState/succeeded"
    iv = client.virtual_machines.instance_view("rg1", "vm-all")
    assert _ade_iv(iv).statuses[0].message == DATA_DONE
    listed = [v for v in client.virtual_machines.list("rg1", expand="instanceView") if v.name == "vm-all"][0]
    assert _ade_iv(listed).statuses[0].message == DATA_DONE            # lists too
    time.sleep(1.6)
    vm = client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    assert _ade_iv(vm).statuses[0].message != DATA_DONE               # the window is over: this run's status


def test_view_all_serves_the_whole_vm_as_before_the_write(sim, client):
    _finished_data_run(sim, client)
    sim.add_fault(method="PUT", path=r"/extensions/", action="stale_reads", seconds=1.5, view="all")
    client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body(volume_type="All", seq="seq-2"))
    vm = client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    assert _ade_seq(vm) == "seq-1" and _ade_iv(vm).statuses[0].message == DATA_DONE
    ext = client.virtual_machine_extensions.get("rg1", "vm-all", ADE)
    assert ext.settings["SequenceVersion"] == "seq-1"
    time.sleep(1.6)
    assert _ade_seq(client.virtual_machines.get("rg1", "vm-all")) == "seq-2"


def test_a_refused_write_leaves_no_stale_window(sim, client):
    sim.add_fault(method="PUT", path=r"/extensions/", action="stale_reads", seconds=30)
    with pytest.raises(HttpResponseError):   # deallocated: 409, nothing accepted
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-off", ADE, ade_body(seq="seq-x")).result()
    vm = client.virtual_machines.get("rg1", "vm-off")
    assert not vm.resources

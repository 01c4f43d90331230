"""bootdiag.py: Retrieve Boot Diagnostics Data + the serial log blob, read with the real SDK and requests."""
import copy
import os
import sys
import time
import urllib.parse

import pytest
import requests
from azure.core.exceptions import HttpResponseError

from conftest import base_scenario

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "plugins", "module_utils", "cloud"))
import bootdiag as classify  # noqa: E402  (the collection's pure classifier: the log must be what it reads)


def _with_boot_diagnostics(sim, *names):
    sc = copy.deepcopy(base_scenario())
    for vm in sc["subscriptions"][0]["resource_groups"][0]["vms"]:
        if vm["name"] in names:
            vm["boot_diagnostics"] = True
    sim.seed(sc, replace=True)


def _serial(sim, client, vm, minutes=None):
    kw = {} if minutes is None else {"sas_uri_expiration_time_in_minutes": minutes}
    data = client.virtual_machines.retrieve_boot_diagnostics_data("rg1", vm, **kw)
    r = requests.get(data.serial_console_log_blob_uri, verify=sim.ca, timeout=10)
    return data, r


def _restart(sim, client, vm):
    p = client.virtual_machines.begin_restart("rg1", vm)
    sim.advance(61)
    p.result()


def test_a_vm_that_hangs_at_its_unlock_shows_it_in_the_serial_log(sim, client):
    _with_boot_diagnostics(sim, "vm-enc", "vm-suse")
    data, r = _serial(sim, client, "vm-enc")
    assert r.status_code == 200 and "login:" in r.text
    assert classify.classify(r.text)["verdict"] == "booted"
    assert data.console_screenshot_blob_uri and "sig=" in data.serial_console_log_blob_uri
    sim.patch_vm("rg1", "vm-enc", boot_hang_after_encryption=True)
    _restart(sim, client, "vm-enc")
    r = _serial(sim, client, "vm-enc")[1]
    got = classify.classify(r.text)
    assert got["verdict"] == "passphrase_file_missing", got
    assert any("FAILED to find suitable passphrase file" in x for x in got["excerpt"])
    # the first boot's login prompt is before the hang: only the last boot counts
    assert "login" not in got["findings"][-1]["text"]


def test_the_sas_decides_and_expires(sim, client):
    _with_boot_diagnostics(sim, "vm-enc")
    data = client.virtual_machines.retrieve_boot_diagnostics_data("rg1", "vm-enc", sas_uri_expiration_time_in_minutes=1)
    url = data.serial_console_log_blob_uri
    parts = urllib.parse.urlsplit(url)
    q = dict(urllib.parse.parse_qsl(parts.query))
    forged = dict(q, sig="0" * 64)
    bad = requests.get(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(forged))),
                       verify=sim.ca, timeout=10)
    assert bad.status_code == 403 and bad.headers["x-ms-error-code"] == "AuthenticationFailed"
    later = dict(q, se=str(int(time.time()) + 7200))   # a longer expiry is a different signature
    assert requests.get(urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(later))),
                        verify=sim.ca, timeout=10).status_code == 403
    assert requests.get(url, verify=sim.ca, timeout=10).status_code == 200


def test_refusals(sim, client):
    _with_boot_diagnostics(sim, "vm-enc")
    with pytest.raises(HttpResponseError) as e:
        client.virtual_machines.retrieve_boot_diagnostics_data("rg1", "vm-all")
    assert e.value.status_code == 409 and "not enabled" in str(e.value)
    with pytest.raises(HttpResponseError) as e:
        client.virtual_machines.retrieve_boot_diagnostics_data("rg1", "vm-enc", sas_uri_expiration_time_in_minutes=0)
    assert e.value.status_code == 400


def test_rhel_family_ends_in_dracut_emergency_after_the_prompt(sim, client):
    sc = copy.deepcopy(base_scenario())
    sc["subscriptions"][0]["resource_groups"][0]["vms"].append(
        {"name": "vm-rhel", "os": {"distro": "rhel", "version": "7.9"}, "boot_diagnostics": True,
         "encryption": {"state": "encrypted", "volume_type": "All", "vault": "kv1"}})
    sim.seed(sc, replace=True)
    sim.patch_vm("rg1", "vm-rhel", boot_hang_after_encryption=True)
    _restart(sim, client, "vm-rhel")
    r = _serial(sim, client, "vm-rhel")[1]
    got = classify.classify(r.text)
    assert got["verdict"] == "passphrase_prompt", got
    assert {f["kind"] for f in got["findings"]} == {"passphrase_prompt", "dracut_emergency"}

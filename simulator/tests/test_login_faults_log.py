"""Login, fault injection and the request log."""

import os
import time

import pytest
from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ServiceRequestError,
                                   ServiceResponseError)

from conftest import ADE, ade_body

VM_PATH = r"/virtualMachines/vm-all$"


def test_token_and_openid(sim):
    cred = sim.credential()
    tok = cred.get_token("https://management.azure.com/.default")
    assert tok.token.startswith("sim.") and tok.expires_on > time.time() + 3000
    paths = [e["path"] for e in sim.log() if e["kind"] == "login"]
    assert paths[-2:] == ["/%s/v2.0/.well-known/openid-configuration" % sim.endpoints["tenant_id"],
                          "/%s/oauth2/v2.0/token" % sim.endpoints["tenant_id"]]


def test_wrong_secret(sim):
    with pytest.raises(ClientAuthenticationError) as ei:
        sim.credential(secret="wrong").get_token("https://management.azure.com/.default")
    assert "AADSTS7000215" in str(ei.value)
    assert sim.log()[-1]["status"] == 401


def test_requests_ca_bundle_env_works(sim, monkeypatch):
    from azure.identity import ClientSecretCredential
    from azure.mgmt.compute import ComputeManagementClient
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca)
    e = sim.endpoints
    cred = ClientSecretCredential(e["tenant_id"], e["client_id"], e["client_secret"], authority=e["authority"],
                                  disable_instance_discovery=True)
    c = ComputeManagementClient(cred, e["subscription_id"], base_url=e["resource_manager"])
    assert c.virtual_machines.get("rg1", "vm-nodata").name == "vm-nodata"


def test_managed_identity_endpoint(sim, monkeypatch):
    from azure.identity import ManagedIdentityCredential
    monkeypatch.setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", sim.base)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", sim.ca)
    tok = ManagedIdentityCredential().get_token("https://management.azure.com/.default")
    c = sim.compute_client(credential=ManagedIdentityCredential())
    assert c.virtual_machines.get("rg1", "vm-nodata").name == "vm-nodata"
    assert tok.token.startswith("sim.")


def test_short_token_lifetime_reported(sim):
    sim.config(token_lifetime=120)
    tok = sim.credential().get_token("https://management.azure.com/.default")
    assert tok.expires_on - time.time() < 200


def test_expire_tokens_fault(sim):
    client = sim.compute_client(retry_total=0)
    client.virtual_machines.get("rg1", "vm-all")
    sim.add_fault(method="GET", path=VM_PATH, action="expire_tokens")
    with pytest.raises(ClientAuthenticationError) as ei:
        client.virtual_machines.get("rg1", "vm-all")
    assert ei.value.error.code == "ExpiredAuthenticationToken"
    with pytest.raises(ClientAuthenticationError):       # cached token stays dead for this credential
        client.virtual_machines.get("rg1", "vm-all")
    assert sim.compute_client().virtual_machines.get("rg1", "vm-all").name == "vm-all"   # fresh login works


def test_429_retry_after_is_honoured(sim):
    client = sim.compute_client(retry_total=3)
    sim.add_fault(method="GET", path=VM_PATH, action="429", retry_after=1, count=1)
    sim.clear_log()
    assert client.virtual_machines.get("rg1", "vm-all").name == "vm-all"
    arm = [e for e in sim.log() if e["kind"] == "arm"]
    assert [e["status"] for e in arm] == [429, 200]
    assert arm[1]["wall"] - arm[0]["wall"] >= 0.9     # the retry came after Retry-After (1 s), not before
    sim.add_fault(method="GET", path=VM_PATH, action="429", retry_after=7)
    with pytest.raises(HttpResponseError) as ei:
        sim.compute_client(retry_total=0).virtual_machines.get("rg1", "vm-all")
    assert ei.value.status_code == 429 and ei.value.response.headers["Retry-After"] == "7"
    assert ei.value.error.code == "TooManyRequests"


@pytest.mark.parametrize("action,status", [("500", 500), ("503", 503)])
def test_5xx_retried_then_reported(sim, action, status):
    sim.add_fault(method="GET", path=VM_PATH, action=action, count=2, retry_after=0)
    sim.clear_log()
    client = sim.compute_client(retry_total=3, retry_backoff_factor=0.01)
    assert client.virtual_machines.get("rg1", "vm-all").name == "vm-all"
    assert [e["status"] for e in sim.log() if e["kind"] == "arm"] == [status, status, 200]
    sim.add_fault(method="GET", path=VM_PATH, action=action, count=1)
    with pytest.raises(HttpResponseError) as ei:
        sim.compute_client(retry_total=0).virtual_machines.get("rg1", "vm-all")
    assert ei.value.status_code == status


def test_409_fault(sim, client):
    sim.add_fault(method="PUT", path=r"/extensions/", action="409")
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    assert ei.value.status_code == 409 and ei.value.error.code == "OperationNotAllowed"
    assert "another operation is in progress" in ei.value.message


def test_drop_connection(sim):
    sim.add_fault(method="GET", path=VM_PATH, action="drop", count=1)
    client = sim.compute_client(retry_total=0)
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        client.virtual_machines.get("rg1", "vm-all")
    sim.add_fault(method="GET", path=VM_PATH, action="drop", count=1)
    sim.clear_log()
    assert sim.compute_client(retry_total=3).virtual_machines.get("rg1", "vm-all").name == "vm-all"
    assert [e["status"] for e in sim.log() if e["kind"] == "arm"] == [0, 200]


def test_lro_fail_on_initial_request(sim, client):
    sim.add_fault(method="POST", path=r"/deallocate$", action="lro_fail", message="Allocation failed (test)")
    p = client.virtual_machines.begin_deallocate("rg1", "vm-nodata")
    sim.advance(2)
    with pytest.raises(HttpResponseError) as ei:
        p.result()
    assert "Allocation failed (test)" in str(ei.value)
    assert client.virtual_machines.instance_view("rg1", "vm-nodata").statuses[-1].code == "PowerState/running"


def test_lro_fail_on_poll(sim, client):
    p = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    sim.add_fault(method="GET", path=r"/operations/", action="lro_fail", after=1)
    with pytest.raises(HttpResponseError):
        p.result()
    rules = sim.faults()
    assert rules[0]["hits"] == 1 and rules[0]["seen"] == 2


def test_fault_after_and_count(sim, client):
    rule = sim.add_fault(method="GET", path=VM_PATH, action="500", after=2, count=1)
    client.virtual_machines.get("rg1", "vm-all")
    client.virtual_machines.get("rg1", "vm-all")
    with pytest.raises(HttpResponseError):
        client.virtual_machines.get("rg1", "vm-all")
    client.virtual_machines.get("rg1", "vm-all")
    f = [r for r in sim.faults() if r["id"] == rule["id"]][0]
    assert f["hits"] == 1 and f["remaining"] == 0
    assert [e["fault"] for e in sim.log()][-2:] == [rule["id"], None]


def test_log_entries(sim, client):
    sim.clear_log()
    client.virtual_machines.get("rg1", "vm-all", expand="instanceView")
    p = client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-nodata", ADE, ade_body(volume_type="OS"))
    sim.advance(121)
    p.result()
    log = [x for x in sim.log() if x["kind"] == "arm"]
    e = log[0]
    assert set(e) >= {"seq", "wall", "sim", "method", "path", "query", "status", "bytes", "kind", "fault"}
    assert e["method"] == "GET" and "expand=instanceView" in e["query"] and "api-version=" in e["query"]
    assert e["bytes"] > 1000 and e["status"] == 200
    methods = [(x["method"], x["status"]) for x in log]
    assert methods[1] == ("PUT", 201)
    assert log[-1]["method"] == "GET" and log[-1]["path"].endswith("/extensions/" + ADE)   # final GET of the LRO
    assert all(b["seq"] > a["seq"] for a, b in zip(log, log[1:]))
    assert log[-1]["sim"] - log[0]["sim"] >= 121
    st = sim.stats()
    assert st["total"] == len(log) and st["by_method"]["PUT"] == 1 and st["writes"] == 1
    assert st["reads"] == len(log) - 1 and st["throttled"] == 0 and st["max_per_second"] >= 1
    assert st["vms_touched"] == 2
    sim.clear_log()
    assert sim.log() == [] and sim.stats()["total"] == 0


def test_clock(sim):
    c0 = sim.clock()
    c1 = sim.advance(3600)
    assert c1["sim_time"] - c0["sim_time"] >= 3600
    sim.set_time_scale(3600)
    time.sleep(0.05)
    assert sim.clock()["sim_time"] - c1["sim_time"] > 100
    sim.set_time_scale(1)


def test_cli_log_and_stop(server, tmp_path):
    import subprocess
    import sys
    env = dict(os.environ, PYTHONPATH=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, "-m", "azsim", "log", "--workdir", server.workdir], env=env,
                         capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("requests")
    wd = str(tmp_path / "second")
    r = subprocess.run([sys.executable, "-m", "azsim", "serve", "--workdir", wd, "--daemon"], env=env,
                       capture_output=True, text=True, check=True)
    assert '"resource_manager": "https://127.0.0.1:' in r.stdout
    assert os.path.exists(os.path.join(wd, "ca.pem")) and os.path.exists(os.path.join(wd, "server.pid"))
    subprocess.run([sys.executable, "-m", "azsim", "stop", "--workdir", wd], env=env, check=True)
    assert not os.path.exists(os.path.join(wd, "server.pid"))


def test_sim_clock_tokens_expire_during_long_waits(sim):
    sim.config(token_clock="sim", token_lifetime=3600)
    client = sim.compute_client(retry_total=0)
    client.virtual_machines.get("rg1", "vm-all")
    sim.advance(3 * 3600)                       # a long wait in simulated time
    with pytest.raises(ClientAuthenticationError) as ei:
        client.virtual_machines.get("rg1", "vm-all")
    assert ei.value.error.code == "ExpiredAuthenticationToken"
    assert ei.value.response.headers["WWW-Authenticate"].find('error="invalid_token"') > 0
    assert sim.compute_client().virtual_machines.get("rg1", "vm-all").name == "vm-all"


def test_drop_response_after_processing(sim):
    sim.add_fault(method="PUT", path=r"/extensions/", action="drop_response")
    client = sim.compute_client(retry_total=0)
    with pytest.raises((ServiceResponseError, ServiceRequestError)):
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    # the PUT was applied although the client never saw the answer; a blind retry now conflicts
    assert [e["name"] for e in sim.vm("rg1", "vm-all")["extensions"]] == [ADE]
    with pytest.raises(HttpResponseError) as ei:
        client.virtual_machine_extensions.begin_create_or_update("rg1", "vm-all", ADE, ade_body())
    assert ei.value.status_code == 409


def test_delay_fault_passes_request_through(sim, client):
    rule = sim.add_fault(method="GET", path=VM_PATH, action="delay", seconds=0.05)
    assert client.virtual_machines.get("rg1", "vm-all").name == "vm-all"
    assert [r for r in sim.faults() if r["id"] == rule["id"]][0]["hits"] == 1
    assert sim.log()[-1]["status"] == 200 and sim.log()[-1]["fault"] == rule["id"]


def test_arm_read_limits(sim):
    client = sim.compute_client(retry_total=0)
    client.virtual_machines.get("rg1", "vm-all")
    sim.config(arm_read_bucket=3, arm_read_refill_per_second=0.25, enforce_arm_limits=True)
    seen = []
    for _unused in range(3):
        r = client.virtual_machines.get("rg1", "vm-all", cls=lambda resp, obj, hdrs: resp.http_response.headers)
        seen.append(int(r["x-ms-ratelimit-remaining-subscription-reads"]))
    assert seen == sorted(seen, reverse=True) and seen[-1] <= 1
    with pytest.raises(HttpResponseError) as ei:
        for _unused in range(3):
            client.virtual_machines.get("rg1", "vm-all")
    assert ei.value.status_code == 429 and int(ei.value.response.headers["Retry-After"]) >= 1

"""Small client for the simulator's admin API (/_sim/*), for tests and the CLI. Stdlib only."""

import base64
import json
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request


class SimAdminError(RuntimeError):
    def __init__(self, status, body):
        super().__init__("admin API returned %s: %s" % (status, body))
        self.status = status
        self.body = body


class SimAdmin:
    def __init__(self, workdir, timeout=30.0):
        self.workdir = workdir
        self.timeout = timeout
        path = os.path.join(workdir, "endpoints.json")
        with open(path) as fh:
            self.endpoints = json.load(fh)
        self.base = self.endpoints["resource_manager"]
        self.ca = self.endpoints["ca_bundle"]
        self._ctx = ssl.create_default_context(cafile=self.ca)

    @classmethod
    def wait(cls, workdir, timeout=30.0):
        """Wait for a starting server to write endpoints.json and answer /_sim/health."""
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                a = cls(workdir)
                a.call("GET", "/health")
                return a
            except (OSError, ValueError, KeyError, SimAdminError) as e:
                last = e
                time.sleep(0.05)
        raise TimeoutError("simulator in %s not ready after %ss: %r" % (workdir, timeout, last))

    # ------------------------------------------------------------------ raw
    def call(self, method, path, body=None, query=None):
        url = self.base + "/_sim" + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data else {})
        try:
            with urllib.request.urlopen(req, context=self._ctx, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raise SimAdminError(e.code, e.read().decode("utf-8", "replace"))
        return json.loads(raw) if raw else None

    # ------------------------------------------------------------------ helpers
    def reset(self, config_defaults=True):
        return self.call("POST", "/reset", {"config_defaults": config_defaults})

    def seed(self, scenario, replace=False):
        return self.call("POST", "/scenario", scenario, {"replace": "1"} if replace else None)

    def clock(self):
        return self.call("GET", "/clock")

    def advance(self, seconds):
        return self.call("POST", "/clock", {"advance_seconds": seconds})

    def set_time_scale(self, scale):
        return self.call("POST", "/clock", {"time_scale": scale})

    def config(self, **kw):
        if kw:
            return self.call("POST", "/config", kw)
        return self.call("GET", "/config")

    def add_fault(self, **rule):
        return self.call("POST", "/faults", rule)["rules"][0]

    def faults(self):
        return self.call("GET", "/faults")["rules"]

    def clear_faults(self):
        return self.call("DELETE", "/faults")

    def log(self, since=0, kinds="arm,login"):
        return self.call("GET", "/log", query={"since": since, "kind": kinds})["entries"]

    def stats(self, since=0, kinds="arm"):
        return self.call("GET", "/stats", query={"since": since, "kind": kinds})

    def clear_log(self):
        return self.call("DELETE", "/log")

    def expire_tokens(self):
        return self.call("POST", "/tokens/expire", {})

    def state(self):
        return self.call("GET", "/state")

    def vm(self, rg, name, subscription=None):
        return self.call("GET", "/vms/%s/%s/%s" % (subscription or self.endpoints["subscription_id"], rg, name))

    def patch_vm(self, rg, name, subscription=None, **kw):
        return self.call("POST", "/vms/%s/%s/%s" % (subscription or self.endpoints["subscription_id"], rg, name),
                         kw)

    def disk(self, rg, name, subscription=None, writes=None):
        """Data view of a disk (upload.py): ude, fs_uuid, sha256, ranges, disk_state; ``writes`` [(offset, bytes)]."""
        path = "/disks/%s/%s/%s" % (subscription or self.endpoints["subscription_id"], rg, name)
        if writes:
            return self.call("POST", path, {"writes": [{"offset": o, "b64": base64.b64encode(b).decode()}
                                                       for o, b in writes]})
        return self.call("GET", path)

    def shutdown(self):
        return self.call("POST", "/shutdown", {})

    # ------------------------------------------------------------------ SDK convenience (imports Azure lazily)
    def credential(self, secret=None, **kw):
        from azure.identity import ClientSecretCredential
        e = self.endpoints
        return ClientSecretCredential(e["tenant_id"], e["client_id"], secret or e["client_secret"],
                                      authority=e["authority"], disable_instance_discovery=True,
                                      connection_verify=e["ca_bundle"], **kw)

    def compute_client(self, credential=None, **kw):
        from azure.mgmt.compute import ComputeManagementClient
        e = self.endpoints
        kw.setdefault("polling_interval", 0.05)
        return ComputeManagementClient(credential or self.credential(), e["subscription_id"],
                                       base_url=e["resource_manager"], connection_verify=e["ca_bundle"], **kw)

    def keyvault(self, vault, secret=None, version=None, key=None, **kw):
        """Vault / secret / key test knobs (keyvault.py): POST when ``kw`` is given, else GET."""
        path = "/keyvault/%s" % vault
        if secret:
            path += "/secrets/%s" % secret + ("/%s" % version if version else "")
        elif key:
            path += "/keys/%s" % key + ("/%s" % version if version else "")
        return self.call("POST" if kw else "GET", path, kw or None)

    def keyvault_url(self, vault):
        """Base URL of a vault's data plane here (the SDKs' vault_url; AZURE_ADE_KEYVAULT_ENDPOINT with {vault})."""
        return "%s/_keyvault/%s" % (self.endpoints["resource_manager"], vault)

    def network_client(self, credential=None, **kw):
        """The real azure-mgmt-network client against the simulator (network.py)."""
        from azure.mgmt.network import NetworkManagementClient
        e = self.endpoints
        kw.setdefault("polling_interval", 0.05)
        return NetworkManagementClient(credential or self.credential(), e["subscription_id"],
                                       base_url=e["resource_manager"], connection_verify=e["ca_bundle"], **kw)

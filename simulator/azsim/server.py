"""HTTPS server: login (AAD v2 token endpoint, OpenID configuration, managed identity), ARM, admin /_sim/*."""

import base64
import collections
import copy
import json
import os
import re
import socket
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import trustme

# arm registers the ARM routes and imports every feature (their routes and model hooks)
from . import arm  # noqa: F401  pylint: disable=unused-import
from . import boot, bootdiag, keyvault, routing, scenario, stale, upload
from .clock import Clock, iso
from .errors import ArmError, _fault_ctx
from .model import DEFAULT_ADE_TIMING, DEFAULT_CONFIG, World

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")
FAULT_ACTIONS = ("429", "500", "503", "409", "drop", "drop_response", "lro_fail", "expire_tokens", "delay",
                 "status", "stale_reads", "hold")


class Fault:
    def __init__(self, fid, doc):
        self.id = fid
        self.method = (doc.get("method") or "*").upper()
        self.path = doc.get("path") or ".*"
        self.rx = re.compile(self.path, re.I)
        self.query_rx = re.compile(doc["query"], re.I) if doc.get("query") else None
        # "body": a regex searched in the request body (e.g. the tag value a PATCH writes: one step of a module whose
        # writes all go to the same path)
        self.body_rx = re.compile(doc["body"]) if doc.get("body") else None
        self.count = int(doc.get("count", 1))       # -1 = unlimited
        self.after = int(doc.get("after", 0))       # let this many matching requests through first
        self.action = str(doc.get("action", "500"))
        if self.action not in FAULT_ACTIONS:
            raise ValueError("fault action must be one of %s" % (FAULT_ACTIONS,))
        self.retry_after = doc.get("retry_after")
        self.status = int(doc.get("status", 500))
        self.code = doc.get("code")
        self.message = doc.get("message")
        self.seconds = float(doc.get("seconds", 0))
        self.view = doc.get("view") or "instance"     # stale_reads: instance | all (azsim/stale.py)
        self.seen = 0
        self.hits = 0
        self.released = threading.Event()    # hold: the held requests go on once the rule is deleted

    def matches(self, method, path, query, body=b""):
        if self.count == 0:
            return False
        if self.method not in ("*", method):
            return False
        if not self.rx.search(path):
            return False
        if self.query_rx is not None and not self.query_rx.search(query):
            return False
        if self.body_rx is not None and not self.body_rx.search(body.decode("utf-8", "replace")):
            return False
        self.seen += 1
        if self.seen <= self.after:
            return False
        if self.count > 0:
            self.count -= 1
        self.hits += 1
        return True

    def to_json(self):
        return {"id": self.id, "method": self.method, "path": self.path, "body": self.body_rx and self.body_rx.pattern,
                "action": self.action,
                "remaining": self.count, "after": self.after, "seen": self.seen, "hits": self.hits,
                "retry_after": self.retry_after}


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, world, ssl_ctx):
        super().__init__(addr, Handler)
        self.world = world
        self.ssl_ctx = ssl_ctx

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (ssl.SSLError, ConnectionError, TimeoutError)):
            return      # client went away or did not trust the test CA: not a simulator bug
        super().handle_error(request, client_address)

    def get_request(self):
        sock, addr = self.socket.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "azsim/0.1"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        self.handle_any()

    do_PUT = do_POST = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ------------------------------------------------------------------ plumbing
    def handle_any(self):
        w = self.server.world
        t0 = time.time()
        split = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(split.path)
        if len(path) > 1:
            path = path.rstrip("/")
        raw_query = split.query
        query = {k: v[0] for k, v in urllib.parse.parse_qs(raw_query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        method = self.command.upper()
        kind = "admin" if path.startswith("/_sim") else ("login" if _is_login(path) else
                                                         "blob" if upload.is_blob_path(path) else
                                                         "bootdiag" if bootdiag.is_blob_path(path) else "arm")
        fault = None
        status, body, headers = 500, None, {}
        _fault_ctx.lro_fail = None
        try:
            stale_fault = None
            if kind != "admin":
                with w.lock:
                    for f in w.faults:
                        if f.action != "stale_reads" and f.matches(method, path, raw_query, raw):
                            fault = f
                            break
                    # stale_reads rules combine with the others (a standing behaviour, azsim/stale.py)
                    for f in w.faults:
                        if f.action == "stale_reads" and method != "GET" and f.matches(method, path, raw_query):
                            stale_fault = f
                            break
            if fault is not None and fault.action == "drop":
                self._drop()
                self._log(w, kind, method, path, raw_query, 0, 0, t0, fault)
                return
            if fault is not None and fault.action == "delay":
                time.sleep(fault.seconds)
            if fault is not None and fault.action == "hold":
                # a test's stand-in for "this call takes as long as the test needs" (e.g. a module that stalls
                # while another run acts): the request waits until the rule is deleted (at most `seconds`, 120)
                fault.released.wait(fault.seconds or 120)
            if fault is not None and fault.action == "expire_tokens":
                with w.lock:
                    w.expire_tokens()
            limited = None
            if kind == "arm" and fault is None and w.config.get("enforce_arm_limits"):
                with w.lock:
                    limited = w.arm_limited("reads" if method in ("GET", "HEAD") else "writes")
            if fault is not None and fault.action in ("429", "500", "503", "409", "status"):
                status, body, headers = _fault_response(fault)
            elif limited is not None:
                status, body, headers = 429, {"error": {"code": "TooManyRequests", "message": (
                    "The request is being throttled as the limit has been reached for operation type - %s. "
                    "For more information, see - https://aka.ms/throttling" % limited[0])}}, {
                    "Retry-After": str(limited[1])}
            elif kind == "admin":
                status, body, headers = self.admin(method, path, query, raw)
            elif kind == "login":
                status, body, headers = self.login(method, path, query, raw)
            elif kind == "blob":     # disk SAS page-blob endpoint (upload.py), no bearer token: the SAS decides
                status, body, headers = upload.handle_blob(w, method, path, query, self.headers, raw)
            elif kind == "bootdiag":  # boot diagnostics blobs (bootdiag.py): the SAS decides
                status, body, headers = bootdiag.handle_blob(w, method, path, query)
            else:
                if fault is not None and fault.action == "lro_fail":
                    _fault_ctx.lro_fail = fault.message or "The operation failed (injected fault)."
                status, body, headers = self.arm(method, path, query, raw, stale_fault)
        except ArmError as e:
            status, body, headers = e.status, e.to_body(), dict(e.headers)
        except Exception as e:  # pragma: no cover - keep the server alive, report the bug
            traceback.print_exc()
            status, body, headers = 500, {"error": {"code": "SimulatorBug", "message": repr(e)}}, {}
        finally:
            _fault_ctx.lro_fail = None
        if fault is not None and fault.action == "drop_response":
            # the request was processed, the answer is lost (client cannot tell whether a PUT happened)
            self._drop()
            self._log(w, kind, method, path, raw_query, 0, 0, t0, fault)
            return
        if kind == "arm":
            headers.update(self._ratelimit(w, method))
        n = self._send(status, body, headers, method)
        self._log(w, kind, method, path, raw_query, status, n, t0, fault)

    def _ratelimit(self, w, method):
        """ARM's subscription token buckets (wall time): remaining counts on every answer."""
        kind = "reads" if method in ("GET", "HEAD") else "writes"
        with w.lock:
            remaining = w.take_arm_token(kind)
        return {"x-ms-ratelimit-remaining-subscription-" + kind: str(max(0, int(remaining)))}

    def _send(self, status, body, headers, method):
        if body is None:
            data = b""
        elif isinstance(body, (bytes, str)):
            data = body.encode() if isinstance(body, str) else body
        else:
            data = json.dumps(body).encode()
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json; charset=utf-8"))
            if status != 204 and "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(data)))
            self.send_header("x-ms-request-id", str(uuid.uuid4()))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(data)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        return len(data)

    def _drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _log(self, w, kind, method, path, query, status, nbytes, t0, fault):
        if kind == "admin" and not w.config.get("log_admin"):
            return
        with w.lock:
            w.log_seq += 1
            w.log.append({"seq": w.log_seq, "wall": t0, "wall_iso": iso(t0), "sim": w.clock.now(),
                          "method": method, "path": path, "query": query, "status": status, "bytes": nbytes,
                          "kind": kind, "fault": fault.id if fault else None, "client": _client_tag(self.headers),
                          "tags_changed": None,
                          "ms": round((time.time() - t0) * 1000, 2)})
            extra = getattr(self, "_log_extra", None)
            if extra:
                w.log[-1].update(extra)
                self._log_extra = None
            if len(w.log) > int(w.config.get("log_max") or 200000):
                del w.log[:len(w.log) // 10]

    # ------------------------------------------------------------------ login
    def login(self, method, path, query, raw):
        w = self.server.world
        base = w.base_url
        m = re.match(r"^/([^/]+)/v2\.0/\.well-known/openid-configuration$", path)
        if m and method == "GET":
            tenant = m.group(1)
            if tenant.lower() not in (w.tenant.lower(), "organizations", "common"):
                return 400, _aad_error("invalid_tenant", 90002, "Tenant '%s' not found. Check to make sure you "
                                       "have the correct tenant ID and are signing into the correct cloud." % tenant), {}
            t = w.tenant
            return 200, {
                "token_endpoint": "%s/%s/oauth2/v2.0/token" % (base, t),
                "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                          "client_secret_basic"],
                "jwks_uri": "%s/%s/discovery/v2.0/keys" % (base, t),
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": "%s/%s/v2.0" % (base, t),
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "%s/oidc/userinfo" % base,
                "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (base, t),
                "device_authorization_endpoint": "%s/%s/oauth2/v2.0/devicecode" % (base, t),
                "http_logout_supported": True, "frontchannel_logout_supported": True,
                "end_session_endpoint": "%s/%s/oauth2/v2.0/logout" % (base, t),
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid"],
                "tenant_region_scope": "NA", "cloud_instance_name": "azsim.local",
                "cloud_graph_host_name": "graph.windows.net", "msgraph_host": "graph.microsoft.com",
                "rbac_url": "https://pas.windows.net"}, {}
        m = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", path)
        if m and method == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
            auth = self.headers.get("Authorization") or ""
            if auth.lower().startswith("basic "):
                cid, _unused, sec = base64.b64decode(auth.split(None, 1)[1]).decode().partition(":")
                form.setdefault("client_id", urllib.parse.unquote(cid))
                form.setdefault("client_secret", urllib.parse.unquote(sec))
            tenant = m.group(1)
            if tenant.lower() != w.tenant.lower():
                return 400, _aad_error("invalid_request", 90002, "Tenant '%s' not found." % tenant), {}
            if form.get("grant_type") != "client_credentials":
                return 400, _aad_error("unsupported_grant_type", 70003,
                                       "The app requested an unsupported grant type '%s'." % form.get("grant_type")), {}
            if form.get("client_id") != w.client_id:
                return 400, _aad_error("unauthorized_client", 700016,
                                       "Application with identifier '%s' was not found in the directory '%s'."
                                       % (form.get("client_id"), w.tenant)), {}
            if form.get("client_secret") != w.secret:
                return 401, _aad_error("invalid_client", 7000215,
                                       "Invalid client secret provided. Ensure the secret being sent in the request "
                                       "is the client secret value, not the client secret ID, for a secret added to "
                                       "app '%s'." % w.client_id), {}
            with w.lock:
                tok, life = w.issue_token(w.client_id)
            return 200, {"token_type": "Bearer", "expires_in": life, "ext_expires_in": life,
                         "access_token": tok}, {}
        if path == "/metadata/endpoints" and method == "GET":
            # ARM's anonymous cloud metadata (what `az cloud register --endpoint-resource-manager` reads)
            return 200, {
                "name": "AzSim", "portal": base, "resourceManager": base + "/", "gallery": base + "/",
                "authentication": {"loginEndpoint": base, "audiences": ["https://management.core.windows.net/",
                                                                        "https://management.azure.com/"],
                                   "tenant": "common", "identityProvider": "AAD"},
                "suffixes": {"keyVaultDns": "vault.azure.net", "storage": "core.windows.net",
                             "acrLoginServer": "azurecr.io", "sqlServerHostname": "database.windows.net"},
                "media": base + "/", "graphAudience": "https://graph.windows.net/", "graph": base + "/",
                "batch": "https://batch.core.windows.net/", "sqlManagement": base + "/",
                "microsoftGraphResourceId": "https://graph.microsoft.com/"}, {}
        if path == "/metadata/identity/oauth2/token" and method == "GET":
            if (self.headers.get("Metadata") or "").lower() != "true":
                return 400, {"error": "invalid_request", "error_description": "Required metadata header not "
                             "specified"}, {}
            return 200, self._mi_token(query), {}
        if path == "/msi/token" and method == "GET":
            if not self.headers.get("X-IDENTITY-HEADER"):
                return 401, {"error": "unauthorized", "error_description": "X-IDENTITY-HEADER missing"}, {}
            return 200, self._mi_token(query), {}
        return 404, _aad_error("invalid_request", 900561, "The endpoint only accepts the documented requests."), {}

    def _mi_token(self, query):
        w = self.server.world
        with w.lock:
            tok, life = w.issue_token(query.get("client_id") or w.client_id)
        now = int(time.time())
        return {"access_token": tok, "client_id": query.get("client_id") or w.client_id,
                "expires_in": str(life), "expires_on": str(now + life), "ext_expires_in": str(life),
                "not_before": str(now), "resource": query.get("resource") or "https://management.azure.com/",
                "token_type": "Bearer"}

    # ------------------------------------------------------------------ ARM
    def arm(self, method, path, query, raw, stale_fault=None):
        w = self.server.world
        with w.lock:
            bad = w.check_token(self.headers.get("Authorization"))
        if bad:
            code, msg = bad
            desc = {"AuthenticationFailed": "The access token is missing",
                    "InvalidAuthenticationToken": "The access token is invalid",
                    "ExpiredAuthenticationToken": "The access token has expired"}[code]
            hdr = 'Bearer authorization_uri="%s/%s", error="invalid_token", error_description="%s"' % (
                w.base_url, w.tenant, desc)
            if path.startswith("/_keyvault/"):     # Key Vault's challenge (keyvault.py): authority and resource
                hdr = 'Bearer authorization="%s/%s", resource="https://vault.azure.net"' % (w.base_url, w.tenant)
            raise ArmError(401, code, msg, headers={"WWW-Authenticate": hdr})
        api = query.get("api-version")
        if not api:
            raise ArmError(400, "MissingApiVersionParameter",
                           "The api-version query parameter (?api-version=) is required for all requests.")
        if not API_VERSION_RE.match(api) and not (path.startswith("/_keyvault/") and  # Key Vault data plane: 7.x
                                                  re.match(r"^\d+\.\d+(-preview)?$", api)):
            raise ArmError(400, "InvalidApiVersionParameter",
                           "The api-version '%s' is invalid. The supported versions are 'yyyy-mm-dd' dates." % api)
        body = None
        if raw:
            try:
                body = json.loads(raw.decode("utf-8"))
            except ValueError:
                raise ArmError(400, "InvalidRequestContent", "The request content was invalid and could not be "
                               "deserialized.")
        with w.lock:
            w.tick()
            req = routing.Req(w, method, path, query, body, api, w.base_url, headers=self.headers)
            before = stale.capture(w, path) if stale_fault is not None and method != "GET" else None
            try:
                result = routing.dispatch(req)
            finally:
                self._log_extra = req.log_extra
            if before is not None:
                stale.remember(w, before, stale_fault, result[0])
            elif method == "GET":
                result = stale.rewrite(w, path, query, result)
            return result

    # ------------------------------------------------------------------ admin
    def admin(self, method, path, query, raw):
        w = self.server.world
        body = json.loads(raw.decode("utf-8")) if raw else {}
        p = path[len("/_sim"):] or "/"
        with w.lock:
            w.tick()
            if p == "/health":
                return 200, {"ok": True}, {}
            if p == "/reset" and method == "POST":
                w.reset()
                if body.get("config_defaults"):
                    w.config = copy.deepcopy(DEFAULT_CONFIG)
                return 200, {"ok": True}, {}
            if p == "/scenario" and method == "POST":
                replace = (query.get("replace") or "").lower() in ("1", "true", "yes") or body.pop("_replace", False)
                try:
                    counts = scenario.load(w, body, replace=replace)
                except (scenario.ScenarioError, KeyError, ValueError, TypeError) as e:
                    return 400, {"error": {"code": "InvalidScenario", "message": str(e)}}, {}
                return 200, {"ok": True, "loaded": counts}, {}
            if p == "/clock":
                if method == "POST":
                    if "time_scale" in body:
                        w.clock.set_scale(float(body["time_scale"]))
                    if "advance_seconds" in body:
                        w.clock.advance(float(body["advance_seconds"]))
                    w.tick()
                return 200, w.clock.info(), {}
            if p == "/config":
                if method in ("POST", "PATCH"):
                    unknown = [k for k in body if k not in w.config and k != "ade"]
                    if unknown:
                        return 400, {"error": {"code": "InvalidConfig", "message": "unknown keys %s" % unknown}}, {}
                    if "ade" in body:
                        bad = set(body["ade"]) - set(DEFAULT_ADE_TIMING)
                        if bad:
                            return 400, {"error": {"code": "InvalidConfig",
                                                   "message": "unknown ade keys %s" % sorted(bad)}}, {}
                        w.config.setdefault("ade", {}).update(body.pop("ade"))
                    w.config.update(body)
                cfg = dict(w.config)
                ade_t = dict(DEFAULT_ADE_TIMING)
                ade_t.update(w.config.get("ade") or {})
                cfg["ade"] = ade_t
                return 200, cfg, {}
            if p == "/faults":
                if method == "POST":
                    rules = body.get("rules") if "rules" in body else [body]
                    out = []
                    try:
                        for r in rules:
                            w.fault_seq += 1
                            f = Fault("f%d" % w.fault_seq, r)
                            w.faults.append(f)
                            out.append(f.to_json())
                    except (ValueError, re.error) as e:
                        return 400, {"error": {"code": "InvalidFault", "message": str(e)}}, {}
                    return 200, {"rules": out}, {}
                if method == "DELETE":
                    for f in w.faults:
                        f.released.set()
                    w.faults = []
                    return 200, {"ok": True}, {}
                return 200, {"rules": [f.to_json() for f in w.faults]}, {}
            m = re.match(r"^/faults/([^/]+)$", p)
            if m and method == "DELETE":
                for f in w.faults:
                    if f.id == m.group(1):
                        f.released.set()
                w.faults = [f for f in w.faults if f.id != m.group(1)]
                return 200, {"ok": True}, {}
            if p == "/log":
                if method == "DELETE":
                    w.log = []
                    return 200, {"ok": True}, {}
                since = int(query.get("since") or 0)
                kinds = set((query.get("kind") or "arm,login").split(","))
                ents = [e for e in w.log if e["seq"] > since and e["kind"] in kinds]
                return 200, {"entries": ents, "last_seq": w.log_seq}, {}
            if p == "/stats":
                return 200, _stats(w, query), {}
            if p == "/tokens/expire" and method == "POST":
                w.expire_tokens()
                return 200, {"ok": True, "tokens": len(w.tokens)}, {}
            if p == "/state":
                now = w.clock.now()
                for vm in list(w.active_vms):
                    w.tick_vm(vm, now)
                return 200, _state(w, query), {}
            m = re.match(r"^/vms/([^/]+)/([^/]+)/([^/]+)$", p)
            if m:
                vm = w.vm(*m.groups())
                if vm in w.active_vms:
                    w.tick_vm(vm, w.clock.now())
                if method in ("POST", "PATCH"):
                    for k, v in body.items():
                        if k == "ade_behavior":
                            vm.ade_behavior = v
                        elif k == "power_state":
                            if vm in w.active_vms:
                                w.tick_vm(vm, w.clock.now())
                            vm.power, vm.transition = v, None
                        elif k == "agent_ready":
                            vm.agent_ready = bool(v)
                            if vm.agent_ready:
                                for e in list(vm.extensions.values()):
                                    go, e.on_agent_ready = e.on_agent_ready, None
                                    if go is not None and e.op is not None and e.op.status == "InProgress":
                                        go()
                        elif k == "memory_kb":
                            vm.memory_kb = int(v)
                        elif k == "boot_hang_after_encryption":
                            vm.boot_hang_after_encryption = bool(v)
                        elif k == "unmount_busy_attempts":
                            vm.unmount_busy = int(v)
                        elif k == "ade_timing":
                            vm.ade_timing.update(v)
                        elif k == "finish_extension_operations":
                            for e in vm.extensions.values():
                                e.blocks, e.pending = False, None
                                if e.provisioning_state in ("Updating", "Creating"):
                                    e.provisioning_state = "Succeeded"
                                    e.set_status("success", "Enable succeeded", w.clock.now())
                        else:
                            return 400, {"error": {"code": "InvalidVmPatch", "message": "unknown key %s" % k}}, {}
                    w.wake(vm)
                return 200, _vm_state(vm), {}
            kv = keyvault.admin(w, method, p, body)
            if kv is not None:
                return kv
            disk = upload.admin_disk(w, method, p, body)
            if disk is not None:
                return disk
            if p == "/shutdown" and method == "POST":
                threading.Thread(target=self.server.shutdown, daemon=True).start()
                return 200, {"ok": True}, {}
        return 404, {"error": {"code": "NotFound", "message": "unknown admin path %s" % path}}, {}


def _is_login(path):
    return bool(re.match(r"^/[^/]+/(v2\.0/\.well-known/openid-configuration|oauth2/v2\.0/token)$", path)) or \
        path in ("/metadata/identity/oauth2/token", "/msi/token", "/metadata/endpoints")


def _aad_error(err, code, desc):
    now = time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime())
    trace = str(uuid.uuid4())
    corr = str(uuid.uuid4())
    return {"error": err,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s"
                                 % (code, desc, trace, corr, now),
            "error_codes": [code], "timestamp": now, "trace_id": trace, "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % code}


_CLIENT_RE = re.compile(r"azure_ade-lease/(\w+)")


def _client_tag(headers):
    """The lease token a module of azure_ade.linux puts in its User-Agent (base.py), or None: lets the request log
    tell the writes of two runs apart (tests/integration/e2e/simlog.py)."""
    m = _CLIENT_RE.search((headers or {}).get("User-Agent") or "")
    return m.group(1) if m else None


def _fault_response(f):
    headers = {}
    if f.action == "429":
        headers["Retry-After"] = str(f.retry_after if f.retry_after is not None else 1)
        headers["x-ms-ratelimit-remaining-subscription-reads"] = "0"
        return 429, {"error": {"code": f.code or "TooManyRequests", "message": f.message or (
            "The request is being throttled as the limit has been reached for operation type - Read_30Min. "
            "For more information, see - https://aka.ms/throttling")}}, headers
    if f.retry_after is not None:
        headers["Retry-After"] = str(f.retry_after)
    if f.action == "500":
        return 500, {"error": {"code": f.code or "InternalServerError", "message": f.message or (
            "Encountered internal server error. Diagnostic information: timestamp '%s'." % iso(time.time()))}}, headers
    if f.action == "503":
        return 503, {"error": {"code": f.code or "ServiceUnavailable",
                               "message": f.message or "The service is temporarily unavailable. Please retry."}}, headers
    if f.action == "409":
        return 409, {"error": {"code": f.code or "OperationNotAllowed", "message": f.message or (
            "Operation is not allowed since another operation is in progress on this or a dependent resource. "
            "Retry after the operation completes.")}}, headers
    return f.status, {"error": {"code": f.code or "InjectedFault", "message": f.message or "Injected fault."}}, headers


def _stats(w, query):
    """Request-log summary for benchmarks: counts and the busiest wall-clock windows (ARM limits are per
    subscription per wall time)."""
    since = int(query.get("since") or 0)
    kinds = set((query.get("kind") or "arm").split(","))
    ents = [e for e in w.log if e["seq"] > since and e["kind"] in kinds]
    out = {"total": len(ents), "by_method": dict(collections.Counter(e["method"] for e in ents)),
           "by_status": dict(collections.Counter(str(e["status"]) for e in ents)),
           "reads": sum(1 for e in ents if e["method"] in ("GET", "HEAD")),
           "writes": sum(1 for e in ents if e["method"] not in ("GET", "HEAD")),
           "throttled": sum(1 for e in ents if e["status"] == 429),
           "faults": sum(1 for e in ents if e["fault"])}
    for label, width in (("max_per_second", 1.0), ("max_per_minute", 60.0), ("max_per_hour", 3600.0)):
        best, j = 0, 0
        walls = [e["wall"] for e in ents]
        for i, t in enumerate(walls):
            while walls[j] <= t - width:
                j += 1
            best = max(best, i - j + 1)
        out[label] = best
    if ents:
        out["wall_seconds"] = ents[-1]["wall"] - ents[0]["wall"]
        out["sim_seconds"] = ents[-1]["sim"] - ents[0]["sim"]
    per_vm = collections.Counter()
    for e in ents:
        m = re.search(r"/virtualMachines/([^/]+)", e["path"], re.I)
        if m:
            per_vm[m.group(1).lower()] += 1
    if per_vm:
        out["per_vm_max"] = max(per_vm.values())
        out["vms_touched"] = len(per_vm)
    return out


def _vm_state(vm):
    exts = []
    for e in vm.extensions.values():
        d = {"name": e.name, "publisher": e.publisher, "type": e.type, "typeHandlerVersion": e.thv,
             "provisioningState": e.provisioning_state, "status": e.status, "substatus": e.substatus,
             "blocks": e.blocks, "operation": e.op.id if e.op else None}
        if e.run is not None:
            d["run"] = e.run.describe()
        exts.append(d)
    return {"id": vm.id, "name": vm.name, "location": vm.location, "power_state": vm.transition or vm.power,
            "distro": vm.distro, "version": vm.version, "memory_kb": vm.memory_kb, "ade_behavior": vm.ade_behavior,
            "guest_state": vm.guest_state, "boot_hang_after_encryption": vm.boot_hang_after_encryption,
            "boot_hang_reason": getattr(vm, "boot_hang_reason", None), "bek_volume": boot.bek_view(vm),
            "encryption_status": vm.encryption_status(), "ade_config": dict(vm.os_disk.ade),
            "os_disk": {"name": vm.os_disk.name, "encrypted": vm.os_disk.guest_encrypted,
                        "stamped": bool(vm.os_disk.stamp)},
            "data_disks": [{"lun": lun, "name": d.name, "encrypted": d.guest_encrypted, "stamped": bool(d.stamp),
                            "mounted": d.mounted} for lun, d, _unused in vm.data_disks],
            "extensions": exts, "busy": vm.busy.id if vm.busy else None, "failed": vm.failed,
            "tags": dict(vm.tags), "etag": vm.etag()}


def _state(w, query):
    out = {"clock": w.clock.info(), "tokens": len(w.tokens), "faults": [f.to_json() for f in w.faults],
           "log_entries": len(w.log), "subscriptions": []}
    for s in w.subs.values():
        sd = {"id": s.id, "resource_groups": []}
        for r in s.rgs.values():
            sd["resource_groups"].append({
                "name": r.name, "location": r.location,
                "vms": [_vm_state(v) for v in r.vms.values()],
                "disks": [{"name": d.name, "managed_by": d.managed_by.name if d.managed_by else None,
                           "state": d.provisioning_state, "encrypted": d.guest_encrypted, "stamped": bool(d.stamp)}
                          for d in r.disks.values()],
                "snapshots": [{"name": d.name, "state": d.provisioning_state, "source":
                               d.creation.get("sourceResourceId"), "incremental": d.incremental,
                               "tags": d.tags} for d in r.snapshots.values()],
                "vaults": [v.to_json() for v in r.vaults.values()]})
        out["subscriptions"].append(sd)
    out["operations"] = {"total": len(w.ops), "in_progress": len(w.active_ops)}
    return out


# ---------------------------------------------------------------------------------------------- startup

def make_ssl(workdir):
    ca = trustme.CA(organization_name="azsim test CA")
    cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
    ca_path = os.path.join(workdir, "ca.pem")
    ca.cert_pem.write_to_path(ca_path)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ctx, ca_path


def _atomic_write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def serve(workdir, port=0, host="127.0.0.1", time_scale=60.0, scenario_file=None, ready_cb=None, identity=None):
    os.makedirs(workdir, exist_ok=True)
    for name in ("endpoints.json", "server.pid"):
        try:
            os.unlink(os.path.join(workdir, name))
        except FileNotFoundError:
            pass
    ctx, ca_path = make_ssl(workdir)
    world = World(Clock(time_scale), *(identity or ()))
    srv = SimServer((host, port), world, ctx)
    real_port = srv.server_address[1]
    world.base_url = "https://%s:%d" % (host, real_port)
    if scenario_file:
        with open(scenario_file) as fh:
            scenario.load(world, json.load(fh))
    endpoints = {"resource_manager": world.base_url, "authority": world.base_url, "ca_bundle": ca_path,
                 "tenant_id": world.tenant, "client_id": world.client_id, "client_secret": world.secret,
                 "subscription_id": world.default_sub, "port": real_port, "pid": os.getpid(),
                 "admin": world.base_url + "/_sim"}
    _atomic_write(os.path.join(workdir, "server.pid"), "%d\n" % os.getpid())
    _atomic_write(os.path.join(workdir, "endpoints.json"), json.dumps(endpoints, indent=2) + "\n")
    if ready_cb:
        ready_cb(srv, endpoints)
    try:
        srv.serve_forever(poll_interval=0.2)
    finally:
        srv.server_close()
        for name in ("server.pid",):
            try:
                os.unlink(os.path.join(workdir, name))
            except FileNotFoundError:
                pass
    return srv

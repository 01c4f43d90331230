"""Layer 1 of the simulator (simulator/README.md "Layers"): the request, the route table and its dispatch, and the
response helpers every ARM feature uses (ok, LRO headers, paging). Imports only errors.py.

Routes register with @route at import time (arm.py and each feature module); dispatch takes the first route whose
pattern matches the path and whose method is the request's (a path that matches with another method only -> 405).
simulator/tests/test_layers.py checks that no two modules register overlapping routes of one method, so the order in
which the modules are imported does not change which handler answers."""

import re
import urllib.parse

from .errors import ArmError

SUB = r"^/subscriptions/(?P<sub>[^/]+)"
RGP = SUB + r"/resourceGroups/(?P<rg>[^/]+)"
VMP = RGP + r"/providers/Microsoft\.Compute/virtualMachines/(?P<vm>[^/]+)"

ROUTES = []


def route(method, pattern):
    rx = re.compile(pattern + "$", re.I)

    def deco(fn):
        ROUTES.append((method, rx, fn))
        return fn
    return deco


class Req:
    def __init__(self, world, method, path, query, body, api_version, base, headers=None):
        self.world = world
        self.headers = headers or {}
        self.log_extra = None       # extra fields of this request's log entry (server._log)
        self.method = method
        self.path = path
        self.query = query          # dict: name -> first value
        self.body = body
        self.api = api_version
        self.base = base
        self.m = None

    def g(self, k):
        return self.m.group(k)


def dispatch(req):
    for method, rx, fn in ROUTES:
        m = rx.match(req.path)
        if m:
            if method != req.method:
                continue
            req.m = m
            return fn(req)
    for method, rx, fn in ROUTES:
        if rx.match(req.path):
            raise ArmError(405, "MethodNotAllowed", "The requested method '%s' is not allowed for '%s'."
                           % (req.method, req.path))
    raise ArmError(404, "InvalidResourceType",
                   "The resource type could not be found for the path '%s' (not simulated)." % req.path)


def ok(body, status=200, headers=None):
    return status, body, headers or {}


def lro_headers(req, op):
    w = req.world
    h = {"Azure-AsyncOperation": op.url(w.base_url, req.api),
         "Location": op.url(w.base_url, req.api, monitor=True)}
    ra = w.config.get("lro_retry_after")
    if op.kind == "operations" and ra is not None:
        h["Retry-After"] = str(ra)
    return h


def body_props(req):
    b = req.body if isinstance(req.body, dict) else {}
    return b, b.get("properties") or {}


DISKP = RGP + r"/providers/Microsoft\.Compute/(?P<kind>disks|snapshots)/(?P<name>[^/]+)"


def paged(req, items, render):
    size = max(1, int(req.world.config.get("page_size") or 50))
    try:
        start = int(req.query.get("$skiptoken") or 0)
    except ValueError:
        raise ArmError(400, "InvalidSkipToken", "The skip token is invalid.")
    page = items[start:start + size]
    body = {"value": [render(x) for x in page]}
    if start + size < len(items):
        q = {k: v for k, v in req.query.items() if k not in ("$skiptoken", "api-version")}
        q["api-version"] = req.api
        q["$skiptoken"] = str(start + size)
        body["nextLink"] = req.world.base_url + req.path + "?" + urllib.parse.urlencode(q)
    return ok(body)

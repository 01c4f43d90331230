"""Managed-disk Upload, disk SAS access (grant/revoke) and a page-blob endpoint for the disk data (issue 7 item 4:
the way off ADE copies every disk into a NEW disk made with the Upload method).

Sources (each shape cites the public text it follows; messages marked SIM are this simulator's wording):
- MicrosoftDocs/azure-compute-docs articles/virtual-machines/disk-encryption-migrate.md (ms.date 2025-09-23):
  disks that carried ADE keep the UDE flag, snapshots and Copy disks keep it too; a disk made with the Upload
  method plus a copy of the VHD blob data is a new disk object without the source's metadata. Steps: az disk
  create --for-upload --upload-size-bytes <diskSizeBytes + 512> (Azure omits the VHD footer when it reports the
  size), grant-access Write on the new disk and Read on the old one, azcopy --blob-type PageBlob, revoke both.
- Disk create with createOption Upload: Azure/azure-rest-api-specs specification/compute/resource-manager/
  Microsoft.Compute/DiskRP/stable/.../disk.json CreationData.uploadSizeBytes ("the size of the contents of the
  upload including the VHD footer. This value should be between 20972032 (20 MiB + 512 bytes for the VHD footer)
  and 35183298347520 bytes (32 TiB + 512 bytes ...)"; same text in azure-mgmt-compute 39 models.CreationData);
  DiskState enum: Unattached, Attached, Reserved, Frozen, ActiveSAS, ActiveSASFrozen, ReadyToUpload, ActiveUpload
  (azure-mgmt-compute 39 models._enums.DiskState: "ReadyToUpload: A disk is ready to be created by upload by
  requesting a write token", "ActiveUpload: A disk is created for upload and a write token has been issued",
  "ActiveSAS: The disk currently has an Active SAS Uri associated with it").
- Disks - Grant Access: POST .../disks/{name}/beginGetAccess {access: Read|Write, durationInSeconds} -> 202 +
  Location, final body AccessUri {accessSAS} (examples Disk_BeginGetAccess.json; azure-mgmt-compute 39
  DisksOperations.begin_grant_access, ARMPolling); Disks - Revoke Access: POST .../endGetAccess -> 202 / 200.
  Real SAS URLs: https://md-<id>.<partition>.blob.storage.azure.net/<container>/abcd?sv=2018-03-28&sr=b&si=<id>
  &sig=<signature> (example response of Disk_BeginGetAccess.json). Here: https://127.0.0.1:PORT/md-<id>/<c>/abcd?...
  on the simulator's own HTTPS port (azure-storage-blob reads the account from the first path segment when the
  host is 127.0.0.1 / localhost, as for Azurite).
- Page-blob REST (learn.microsoft.com/rest/api/storageservices): Get Blob Properties (HEAD: x-ms-blob-type
  PageBlob, Content-Length, ETag, Last-Modified), Get Blob (Range / x-ms-range -> 206 + Content-Range),
  Put Page (?comp=page, x-ms-page-write update|clear, x-ms-range 512-aligned, at most 4 MiB), Put Page From URL
  (?comp=page, x-ms-copy-source, x-ms-source-range, x-ms-range, Content-Length 0, version >= 2018-11-09),
  Get Page Ranges (?comp=pagelist -> <PageList><PageRange><Start/><End/></PageRange>...</PageList>, marker /
  NextMarker); errors as <Error><Code/><Message/></Error> with x-ms-error-code ("Blob service error codes":
  AuthenticationFailed 403, InvalidPageRange 416, InvalidHeaderValue 400, ...).
- What the simulator picks (open points, pessimistic reading): grant Read on a disk attached to a VM that is not
  deallocated -> 409 OperationNotAllowed (SIM wording; the docs export a disk of a stopped/deallocated VM); a disk
  with an active SAS or upload cannot be attached, deleted or its VM started -> 409 (SIM wording); a disk still
  encrypted in the guest (dm-crypt) reads as ciphertext, so copying it before decryption finished gives data whose
  filesystem signature does not match (why the article says to wait for the guest).

Disk data is modelled as sparse 512-byte pages (tests use a few KiB; a 32 GiB disk costs nothing). Every disk that
was not made by Upload starts with one "filesystem signature" page at offset 0 (name + a stable filesystem UUID), so
a copy can be checked byte for byte.
"""

import base64
import hashlib
import hmac
import re
import time
import urllib.parse
import uuid
from email.utils import formatdate

from .errors import ArmError, not_found
from .model import DISK_COPY, Disk, stable_uuid
from .routing import DISKP, RGP, lro_headers, route

PAGE = 512
MAX_PUT = 4 * 1024 * 1024
GIB = 1024 ** 3
MIB = 1024 ** 2
UPLOAD_MIN = 20 * MIB + 512
UPLOAD_MAX = 32 * 1024 ** 4 + 512
FOOTER = 512
SAS_VERSION = "2018-03-28"
BLOB_RE = re.compile(r"^/(md-[0-9a-f]+)/([^/]+)/abcd$", re.I)
ACCESS_STATES = ("ReadyToUpload", "ActiveUpload", "ActiveSAS")
_KEY = uuid.uuid4().bytes           # signs SAS tokens of this simulator process


class DiskData:
    """Sparse page store: {page index: 512 bytes}; absent pages read as zeros."""

    def __init__(self, pages=None):
        self.pages = dict(pages or {})

    def copy(self):
        return DiskData(self.pages)

    def write(self, offset, data):
        for i in range(0, len(data), PAGE):
            chunk = data[i:i + PAGE]
            idx = (offset + i) // PAGE
            if chunk.count(0) == len(chunk):
                self.pages.pop(idx, None)   # an all-zero page is no data (Azure drops empty pages the same way)
            else:
                self.pages[idx] = bytes(chunk)

    def clear(self, offset, length):
        for idx in range(offset // PAGE, (offset + length) // PAGE):
            self.pages.pop(idx, None)

    def read(self, offset, length):
        out = bytearray(length)
        first, last = offset // PAGE, (offset + length - 1) // PAGE
        if len(self.pages) < (last - first + 1):
            items = [(i, p) for i, p in self.pages.items() if first <= i <= last]
        else:
            items = [(i, self.pages[i]) for i in range(first, last + 1) if i in self.pages]
        for idx, page in items:
            start = idx * PAGE
            lo, hi = max(start, offset), min(start + PAGE, offset + length)
            out[lo - offset:hi - offset] = page[lo - start:hi - start]
        return bytes(out)

    def ranges(self, start=0, end=None):
        """Merged [(first byte, last byte)] of written pages within [start, end]."""
        out = []
        for idx in sorted(self.pages):
            a, b = idx * PAGE, idx * PAGE + PAGE - 1
            if b < start or (end is not None and a > end):
                continue
            if out and out[-1][1] + 1 == a:
                out[-1][1] = b
            else:
                out.append([a, b])
        return [tuple(r) for r in out]


def fs_signature(disk):
    """The first page of a disk that was not uploaded: a stand-in for a filesystem superblock."""
    fsid = stable_uuid(disk.unique_id, "fs")
    text = "AZSIM-FS name=%s uuid=%s\n" % (disk.name, fsid)
    return text.encode().ljust(PAGE, b"\0")


def data_of(disk):
    """The disk's data (created on first use: a signature page, unless the disk was made by Upload)."""
    d = getattr(disk, "data", None)
    if d is None:
        d = DiskData()
        if (disk.creation or {}).get("createOption", "").lower() != "upload":
            d.write(0, fs_signature(disk))
        disk.data = d
    return d


def copy_data(dst, src):
    """Snapshots and Copy disks carry the source's data (hook from Disk.copy_guest_state_from)."""
    dst.data = data_of(src).copy()


DISK_COPY.append(copy_data)


def blob_length(disk):
    """A disk's page blob: its size plus the 512-byte VHD footer (disk-encryption-migrate.md)."""
    up = getattr(disk, "upload_size_bytes", None)
    return up if up else disk.size_gb * GIB + FOOTER


def signature_info(disk):
    """(filesystem UUID in the signature page or None, sha256 of all written pages) - for tests and admin."""
    data = data_of(disk)
    first = data.read(0, PAGE)
    m = re.match(rb"AZSIM-FS name=(\S+) uuid=(\S+)\n", first)
    h = hashlib.sha256()
    for a, b in data.ranges():
        h.update(b"%d:" % a)
        h.update(data.read(a, b - a + 1))
    return (m.group(2).decode() if m else None), h.hexdigest()


# ---------------------------------------------------------------------------------------------- ARM: create

def create_upload_disk(req, r, coll, name, body, props, location):
    """PUT disk with creationData.createOption Upload (hook from arm.put_disk)."""
    w = req.world
    cd = props.get("creationData") or {}
    size = cd.get("uploadSizeBytes")
    if not isinstance(size, int) or size < UPLOAD_MIN or size > UPLOAD_MAX:
        raise ArmError(400, "InvalidParameter", "creationData.uploadSizeBytes must be between %d (20 MiB + 512 bytes "
                       "for the VHD footer) and %d bytes; got %r." % (UPLOAD_MIN, UPLOAD_MAX, size))
    if (size - FOOTER) % MIB:
        raise ArmError(400, "InvalidParameter", "creationData.uploadSizeBytes %d is not a whole number of MiB plus "
                       "the 512-byte VHD footer." % size)
    sku = (body.get("sku") or {}).get("name") or "Standard_LRS"
    d = Disk(r.sub, r.name, name, location, -(-(size - FOOTER) // GIB), kind="disk",
             os_type=props.get("osType"), sku=sku, creation={"createOption": "Upload", "uploadSizeBytes": size},
             t=w.clock.now())
    d.upload_size_bytes = size
    d.data = DiskData()               # no signature, no metadata of any other disk: the UDE flag is not carried
    d.access_state = "ReadyToUpload"
    d.hyperv_generation = props.get("hyperVGeneration")
    if isinstance(body.get("tags"), dict):
        d.tags = dict(body["tags"])
    d.provisioning_state = "Updating"
    coll[name.lower()] = d

    def done(o):
        d.provisioning_state = "Succeeded" if o.status == "Succeeded" else "Failed"
    op = w.new_op("DiskOperations", r.sub, location, w.config["disk_create_seconds"], on_done=done, output=d.to_json)
    echo = d.to_json()
    for k in ("id", "name", "type"):
        echo.pop(k, None)
    echo["properties"]["isArmResource"] = True
    return 202, echo, lro_headers(req, op)


def check_usable(disk, what):
    """A disk with an active SAS or upload cannot be attached / deleted / started on (SIM wording)."""
    st = getattr(disk, "access_state", None)
    if st in ACCESS_STATES:
        raise ArmError(409, "OperationNotAllowed", "Disk '%s' is in state '%s': %s is not allowed until the upload "
                       "or SAS access ends (revoke access first)." % (disk.name, st, what))


# ---------------------------------------------------------------------------------------------- ARM: access

def _disk(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    d = r.disks.get(req.g("name").lower())
    if d is None:
        raise not_found("Microsoft.Compute/disks", req.g("name"), req.g("rg"))
    return d


@route("POST", RGP + r"/providers/Microsoft\.Compute/disks/(?P<name>[^/]+)/beginGetAccess")
def begin_get_access(req):
    w = req.world
    d = _disk(req)
    body = req.body if isinstance(req.body, dict) else {}
    access = str(body.get("access") or "")
    try:
        duration = int(body.get("durationInSeconds"))
    except (TypeError, ValueError):
        raise ArmError(400, "InvalidParameter", "durationInSeconds is required (seconds until the SAS expires).")
    if access.lower() not in ("read", "write"):
        raise ArmError(400, "InvalidParameter", "access must be Read or Write; got '%s'." % access)
    if d.provisioning_state != "Succeeded":
        raise ArmError(409, "OperationNotAllowed", "Disk '%s' is being updated." % d.name)
    st = getattr(d, "access_state", None)
    if access.lower() == "write":
        if st not in ("ReadyToUpload", "ActiveUpload"):
            raise ArmError(409, "OperationNotAllowed", "Write access is only granted to a disk created with "
                           "createOption Upload that is ReadyToUpload; disk '%s' is '%s'." % (d.name, d.disk_state()))
        new_state, perm = "ActiveUpload", "rw"
    else:
        if st in ("ReadyToUpload", "ActiveUpload"):
            raise ArmError(409, "OperationNotAllowed", "Disk '%s' is '%s': finish the upload and revoke its write "
                           "access before reading it." % (d.name, st))
        vm = d.managed_by
        if vm is not None and (vm.power != "deallocated" or vm.transition):
            raise ArmError(409, "OperationNotAllowed", "Disk '%s' is attached to VM '%s', which is '%s': read access "
                           "is granted to an unattached disk or one of a deallocated VM." % (
                               d.name, vm.name, vm.transition or vm.power))
        new_state, perm = "ActiveSAS", "r"
    grants = d.__dict__.setdefault("sas_grants", {})
    si = uuid.uuid4().hex
    grants[si] = {"perm": perm, "expires": time.time() + max(1, duration)}
    if not hasattr(d, "blob_account"):
        d.blob_account = "md-" + hashlib.sha1(d.unique_id.encode()).hexdigest()[:12]
    sig = _sign(d.blob_account, si)
    url = "%s/%s/%s/abcd?sv=%s&sr=b&si=%s&sig=%s" % (w.base_url, d.blob_account, uuid.uuid4().hex[:12], SAS_VERSION,
                                                     si, urllib.parse.quote(sig, safe=""))
    grants[si]["container"] = url.split("/")[4]

    def done(o):
        if o.status == "Succeeded":
            d.access_state = new_state
    op = w.new_op("DiskOperations", d.sub, d.location, w.config["disk_access_seconds"], on_done=done,
                  output=lambda: {"accessSAS": url})
    return 202, None, lro_headers(req, op)


@route("POST", RGP + r"/providers/Microsoft\.Compute/disks/(?P<name>[^/]+)/endGetAccess")
def end_get_access(req):
    w = req.world
    d = _disk(req)
    d.__dict__["sas_grants"] = {}          # every SAS of the disk stops working at once

    def done(o):
        if o.status == "Succeeded" and getattr(d, "access_state", None) in ("ActiveUpload", "ActiveSAS"):
            # an upload disk becomes a normal disk once its write access ends (it keeps what was written)
            d.access_state = None
    op = w.new_op("DiskOperations", d.sub, d.location, w.config["disk_access_seconds"], on_done=done)
    return 202, None, lro_headers(req, op)


def _sign(account, si):
    return base64.b64encode(hmac.new(_KEY, ("%s\n%s" % (account, si)).encode(), hashlib.sha256).digest()).decode()


# ---------------------------------------------------------------------------------------------- page-blob endpoint

def is_blob_path(path):
    return bool(BLOB_RE.match(path))


class BlobError(Exception):
    def __init__(self, status, code, message):
        Exception.__init__(self, message)
        self.status, self.code, self.message = status, code, message

    def response(self):
        body = ('<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s\nRequestId:%s\nTime:%s'
                '</Message></Error>' % (self.code, _xml_escape(self.message), uuid.uuid4(),
                                        time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())))
        return self.status, body.encode(), {"Content-Type": "application/xml", "x-ms-error-code": self.code}


def _xml_escape(s):
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _find_disk(world, account):
    for s in world.subs.values():
        for r in s.rgs.values():
            for d in r.disks.values():
                if getattr(d, "blob_account", None) == account:
                    return d
    return None


def _authorize(world, path, query, need):
    """-> disk, after the SAS check (sig over account + si, grant not revoked or expired, permission)."""
    m = BLOB_RE.match(path)
    account, container = m.group(1), m.group(2)
    d = _find_disk(world, account)
    si, sig = query.get("si"), query.get("sig")
    if d is None or not si or not sig:
        raise BlobError(403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value "
                        "of Authorization header is formed correctly including the signature.")
    grant = (getattr(d, "sas_grants", None) or {}).get(si)
    if grant is None or not hmac.compare_digest(sig, _sign(account, si)) or grant.get("container") != container:
        raise BlobError(403, "AuthenticationFailed", "Server failed to authenticate the request: the SAS is not "
                        "valid (revoked, or signature mismatch).")
    if time.time() > grant["expires"]:
        raise BlobError(403, "AuthenticationFailed", "Signed expiry time has passed (the SAS expired).")
    if need == "w" and "w" not in grant["perm"]:
        raise BlobError(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this "
                        "operation using this permission (the SAS grants read only).")
    return d


def _range(value, what, length=None, aligned=True):
    m = re.match(r"^bytes=(\d+)-(\d*)$", value or "")
    if not m:
        raise BlobError(400, "InvalidHeaderValue", "The value for one of the HTTP headers is not in the correct "
                        "format: %s '%s'." % (what, value))
    a = int(m.group(1))
    b = int(m.group(2)) if m.group(2) else (length - 1 if length is not None else None)
    if b is None or b < a:
        raise BlobError(416, "InvalidRange", "The range specified is invalid for the current size of the resource.")
    if aligned and (a % PAGE or (b + 1) % PAGE):
        raise BlobError(416, "InvalidPageRange", "The page range specified is invalid: pages are 512-byte aligned.")
    return a, b


def _common_headers(d, headers):
    headers.update({"x-ms-version": headers.get("_version") or "2025-11-05", "ETag": '"0x%X"' % (
        len(data_of(d).pages) * 7919 + 1), "Last-Modified": formatdate(usegmt=True),
        "Date": formatdate(usegmt=True)})
    headers.pop("_version", None)
    return headers


def handle_blob(world, method, path, query, hdrs, raw):
    """One page-blob request -> (status, body bytes, headers). ``hdrs``: the request headers (case-insensitive)."""
    try:
        with world.lock:
            return _handle_blob(world, method, path, query, hdrs, raw)
    except BlobError as e:
        return e.response()


def _handle_blob(world, method, path, query, hdrs, raw):
    comp = (query.get("comp") or "").lower()
    out = {"_version": hdrs.get("x-ms-version")}
    if method in ("GET", "HEAD") and comp == "":
        d = _authorize(world, path, query, "r")
        length = blob_length(d)
        props = {"x-ms-blob-type": "PageBlob", "x-ms-blob-sequence-number": "0", "x-ms-lease-state": "available",
                 "x-ms-lease-status": "unlocked", "x-ms-server-encrypted": "true", "Accept-Ranges": "bytes",
                 "x-ms-creation-time": formatdate(d.time_created or 0, usegmt=True),
                 "Content-Type": "application/octet-stream"}
        out.update(props)
        if method == "HEAD":
            out["Content-Length"] = str(length)
            return 200, None, _common_headers(d, out)
        rng = hdrs.get("x-ms-range") or hdrs.get("Range")
        if rng:
            a, b = _range(rng, "Range", length, aligned=False)
            if a >= length:
                raise BlobError(416, "InvalidRange", "The range specified is invalid for the current size of the "
                                "resource.")
            b = min(b, length - 1)
            out["Content-Range"] = "bytes %d-%d/%d" % (a, b, length)
            return 206, _read(d, a, b - a + 1), _common_headers(d, out)
        if length > 64 * MIB:
            raise BlobError(416, "InvalidRange", "SIM: read a disk blob in ranges (it is %d bytes)." % length)
        return 200, _read(d, 0, length), _common_headers(d, out)
    if method == "GET" and comp == "pagelist":
        d = _authorize(world, path, query, "r")
        length = blob_length(d)
        rng = hdrs.get("x-ms-range") or hdrs.get("Range")
        a, b = _range(rng, "x-ms-range", length, aligned=False) if rng else (0, length - 1)
        ranges = data_of(d).ranges(a, b)
        marker = int(query.get("marker") or 0)
        maxres = int(query.get("maxresults") or 0) or len(ranges) or 1
        page = ranges[marker:marker + maxres]
        nxt = str(marker + maxres) if marker + maxres < len(ranges) else ""
        xml = ['<?xml version="1.0" encoding="utf-8"?><PageList>']
        for x, y in page:
            xml.append("<PageRange><Start>%d</Start><End>%d</End></PageRange>" % (max(x, a), min(y, b)))
        xml.append("<NextMarker>%s</NextMarker></PageList>" % nxt)
        out.update({"Content-Type": "application/xml", "x-ms-blob-content-length": str(length)})
        return 200, "".join(xml).encode(), _common_headers(d, out)
    if method == "PUT" and comp == "page":
        d = _authorize(world, path, query, "w")
        if getattr(d, "access_state", None) != "ActiveUpload":
            raise BlobError(403, "AuthorizationPermissionMismatch", "The disk is not open for upload.")
        length = blob_length(d)
        a, b = _range(hdrs.get("x-ms-range") or hdrs.get("Range"), "x-ms-range", length)
        if b >= length:
            raise BlobError(416, "InvalidPageRange", "The page range specified is invalid: it ends beyond the blob "
                            "(%d bytes)." % length)
        if b - a + 1 > MAX_PUT:
            raise BlobError(413, "RequestBodyTooLarge", "A page range is at most 4 MiB.")
        src = hdrs.get("x-ms-copy-source")
        mode = (hdrs.get("x-ms-page-write") or "").lower()
        if src:
            sd, sa, sb = _copy_source(world, src, hdrs.get("x-ms-source-range"))
            if sb - sa != b - a:
                raise BlobError(400, "InvalidHeaderValue", "x-ms-source-range and x-ms-range differ in length.")
            data_of(d).write(a, _read(sd, sa, sb - sa + 1))
        elif mode == "update":
            if len(raw) != b - a + 1:
                raise BlobError(400, "InvalidHeaderValue", "Content-Length does not match x-ms-range.")
            data_of(d).write(a, raw)
        elif mode == "clear":
            data_of(d).clear(a, b - a + 1)
        else:
            raise BlobError(400, "InvalidHeaderValue", "x-ms-page-write must be update or clear.")
        out.update({"x-ms-blob-sequence-number": "0", "x-ms-request-server-encrypted": "true"})
        return 201, None, _common_headers(d, out)
    raise BlobError(400, "UnsupportedHttpVerb" if comp == "" else "InvalidQueryParameterValue",
                    "SIM: the page-blob endpoint answers Get Blob, Get Blob Properties, Get Page Ranges, Put Page and "
                    "Put Page From URL (method %s comp=%s)." % (method, comp or "-"))


def _read(d, offset, length):
    data = data_of(d).read(offset, length)
    if d.guest_encrypted:           # still dm-crypt in the guest: what the platform stores is ciphertext
        data = bytes(b ^ 0xA5 for b in data)
    return data


def _copy_source(world, url, source_range):
    split = urllib.parse.urlsplit(url)
    q = {k: v[0] for k, v in urllib.parse.parse_qs(split.query).items()}
    path = urllib.parse.unquote(split.path)
    if not BLOB_RE.match(path) or "%s://%s" % (split.scheme, split.netloc) != world.base_url:
        raise BlobError(400, "CannotVerifyCopySource", "SIM: the copy source must be a disk SAS of this simulator.")
    try:
        sd = _authorize(world, path, q, "r")
    except BlobError as e:
        raise BlobError(e.status if e.status != 403 else 403, "CannotVerifyCopySource", e.message)
    length = blob_length(sd)
    sa, sb = _range(source_range, "x-ms-source-range", length)
    if sb >= length:
        raise BlobError(416, "InvalidPageRange", "x-ms-source-range ends beyond the source blob.")
    return sd, sa, sb


# ---------------------------------------------------------------------------------------------- admin

ADMIN_RE = re.compile(r"^/disks/([^/]+)/([^/]+)/([^/]+)$")


def admin_disk(world, method, p, body):
    """GET/POST /_sim/disks/{sub}/{rg}/{name}: what a test needs to check a copy (UDE flag, data digest, filesystem
    UUID of the signature page, disk state); POST {"writes": [{"offset": N, "b64": ...}]} writes data as the
    guest would. Returns None when ``p`` is not this path."""
    m = ADMIN_RE.match(p)
    if not m:
        return None
    r = world.rg(m.group(1), m.group(2))
    d = r.disks.get(m.group(3).lower()) or r.snapshots.get(m.group(3).lower())
    if d is None:
        return 404, {"error": {"code": "NotFound", "message": "no disk or snapshot %s" % m.group(3)}}, {}
    if method == "POST":
        for wr in (body or {}).get("writes") or []:
            raw = base64.b64decode(wr["b64"])
            off = int(wr["offset"])
            if off % PAGE or len(raw) % PAGE:
                return 400, {"error": {"code": "InvalidWrite", "message": "writes are whole 512-byte pages"}}, {}
            data_of(d).write(off, raw)
    fsid, digest = signature_info(d)
    return 200, {"name": d.name, "ude": bool(d.ude), "stamped": bool(d.stamp), "fs_uuid": fsid, "sha256": digest,
                 "ranges": data_of(d).ranges(), "disk_state": d.disk_state(), "blob_length": blob_length(d),
                 "create_option": (d.creation or {}).get("createOption"), "guest_encrypted": d.guest_encrypted,
                 "managed_by": d.managed_by.name if d.managed_by is not None else None}, {}


@route("PATCH", DISKP)
def patch_disk(req):
    """Disks - Update (PATCH DiskUpdate {tags, ...}; azure-mgmt-compute DisksOperations.begin_update): tags only here."""
    w = req.world
    r = w.rg(req.g("sub"), req.g("rg"))
    coll = r.disks if req.g("kind").lower() == "disks" else r.snapshots
    d = coll.get(req.g("name").lower())
    if d is None:
        raise not_found("Microsoft.Compute/" + req.g("kind"), req.g("name"), req.g("rg"))
    body = req.body if isinstance(req.body, dict) else {}
    if isinstance(body.get("tags"), dict):
        d.tags = dict(body["tags"])
    op = w.new_op("DiskOperations", d.sub, d.location, 1, output=d.to_json)
    return 200, d.to_json(), lro_headers(req, op)

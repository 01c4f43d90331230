"""Boot diagnostics: the serial console log of a VM, through the API (issue 16 item 2: "a VM that hangs at the
prompt is reported with the boot diagnostics serial log's relevant lines").

Sources:
- Virtual Machines - Retrieve Boot Diagnostics Data (learn.microsoft.com/rest/api/compute/virtual-machines/
  retrieve-boot-diagnostics-data): POST .../virtualMachines/{vm}/retrieveBootDiagnosticsData?api-version=...
  [&sasUriExpirationTimeInMinutes=1..1440, default 120] -> 200 RetrieveBootDiagnosticsDataResult
  {consoleScreenshotBlobUri, serialConsoleLogBlobUri} (azure-mgmt-compute VirtualMachinesOperations.
  retrieve_boot_diagnostics_data). The URIs are blob SAS URLs; here they point at this simulator's own HTTPS port
  (path /bootdiag-<id>/serialconsole.log, as upload.py does for disk SAS URLs) and are signed with this process's
  key and an expiry (se=) like a SAS; a GET with a wrong signature or after the expiry is 403
  AuthenticationFailed (Blob service error codes).
- A VM without boot diagnostics enabled (diagnosticsProfile.bootDiagnostics.enabled false or absent): SIM answers
  409 OperationNotAllowed "Boot diagnostics is not enabled for the VM" (the exact code of the real service is
  UNVERIFIED here).
- What the console prints when an ADE OS volume cannot be unlocked: azure_crypt_key.sh, the key script of
  Microsoft's "Prepare a pre-encrypted Linux VHD" (MicrosoftDocs azure-compute-docs disk-encryption-sample-
  scripts.md: "> Trying device: $DEV ...", "FAILED to find suitable passphrase file ...", "Try to enter your
  password: ", "Success loading keyfile!") on the Ubuntu family; systemd-cryptsetup's "Please enter passphrase
  for disk ..." and dracut's "dracut-initqueue timeout" / "Entering emergency mode" on the RHEL/SLES family.
  SIM: the surrounding kernel lines are this simulator's wording.

The log is made when read, from the VM's state: every VM shows its first boot; a VM whose guest hangs at boot
(boot.py: guest_state boot_hung, boot_hang_reason) shows the hang of its last boot, a running one a login prompt.
"""
import hashlib
import hmac
import re
import time
import uuid

from .errors import ArmError
from .routing import VMP, ok, route

BLOB_RE = re.compile(r"^/bootdiag-([0-9a-f]{32})/(serialconsole\.log|screenshot\.bmp)$")
_KEY = uuid.uuid4().bytes


def _vm_key(vm):
    return hashlib.sha256(vm.id.lower().encode()).hexdigest()[:32]


def _sig(key, name, expiry):
    return hmac.new(_KEY, ("%s/%s/%d" % (key, name, expiry)).encode(), hashlib.sha256).hexdigest()


def enabled(vm):
    d = getattr(vm, "diagnostics", None) or {}
    return bool((d.get("bootDiagnostics") or {}).get("enabled"))


@route("POST", VMP + r"/retrieveBootDiagnosticsData")
def retrieve(req):
    vm = req.world.vm(req.g("sub"), req.g("rg"), req.g("vm"))
    minutes = req.query.get("sasUriExpirationTimeInMinutes")
    try:
        minutes = int(minutes) if minutes not in (None, "") else 120
    except ValueError:
        raise ArmError(400, "InvalidParameter", "sasUriExpirationTimeInMinutes must be an integer.")
    if not 1 <= minutes <= 1440:
        raise ArmError(400, "InvalidParameter",
                       "sasUriExpirationTimeInMinutes must be between 1 and 1440 minutes.")
    if not enabled(vm):
        raise ArmError(409, "OperationNotAllowed", "Boot diagnostics is not enabled for the VM '%s'." % vm.name)
    expiry = int(time.time()) + 60 * minutes
    key = _vm_key(vm)
    out = {}
    for field, name in (("consoleScreenshotBlobUri", "screenshot.bmp"),
                        ("serialConsoleLogBlobUri", "serialconsole.log")):
        out[field] = "%s/bootdiag-%s/%s?sv=2022-11-02&sr=b&sp=r&se=%d&sig=%s" % (
            req.world.base_url, key, name, expiry, _sig(key, name, expiry))
    return ok(out)


def is_blob_path(path):
    return bool(BLOB_RE.match(path))


def handle_blob(world, method, path, query):
    """GET of a boot diagnostics blob -> (status, body, headers); the SAS in the query decides."""
    m = BLOB_RE.match(path)
    key, name = m.group(1), m.group(2)
    try:
        expiry = int(query.get("se") or 0)
    except ValueError:
        expiry = 0
    if method not in ("GET", "HEAD"):
        return 405, b"", {"x-ms-error-code": "UnsupportedHttpVerb"}
    if (not hmac.compare_digest(_sig(key, name, expiry), query.get("sig") or "")) or expiry < time.time():
        return 403, (b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>AuthenticationFailed</Code>"
                     b"<Message>Server failed to authenticate the request.</Message></Error>"), {
            "x-ms-error-code": "AuthenticationFailed", "Content-Type": "application/xml"}
    with world.lock:
        vm = next((v for v in world.all_vms() if _vm_key(v) == key), None)
        if vm is None:
            return 404, b"", {"x-ms-error-code": "BlobNotFound"}
        body = serial_log(vm).encode() if name == "serialconsole.log" else b"BM"
    headers = {"Content-Type": "text/plain" if name.endswith(".log") else "image/bmp",
               "x-ms-blob-type": "BlockBlob"}
    return 200, (b"" if method == "HEAD" else body), headers


def _family(vm):
    return "ubuntu" if vm.distro in ("ubuntu", "debian") else "dracut"


def _boot(vm, t):
    dev = "/dev/mapper/osencrypt" if vm.os_disk is not None and vm.os_disk.guest_encrypted else "/dev/sda1"
    return ["[    0.000000] Linux version %s (buildd@azure) #1 SMP" % getattr(vm, "kernel", "5.4.0-azure"),
            "[    0.000000] Command line: BOOT_IMAGE=/boot/vmlinuz root=%s ro console=ttyS0 earlyprintk=ttyS0" % dev,
            "[    %.6f] EXT4-fs (sda1): mounted filesystem with ordered data mode" % (t + 1.2)]


def _unlocked(vm):
    if vm.os_disk is None or not vm.os_disk.guest_encrypted:
        return []
    if _family(vm) == "ubuntu":
        return ["> Trying device: sdc ...", "Success loading keyfile!",
                "cryptsetup: osencrypt: set up successfully"]
    return ["[  OK  ] Started Cryptography Setup for osencrypt."]


def _login(vm):
    return ["[  OK  ] Reached target Multi-User System.", "", "%s login: " % vm.name]


def _hang(vm):
    if _family(vm) == "ubuntu":
        return ["Begin: Running /scripts/local-top ... ", "> Trying device: sdb ...", "> Trying device: sdc ...",
                "FAILED to find suitable passphrase file ...", "Try to enter your password: "]
    return ["         Starting Cryptography Setup for osencrypt...",
            "Please enter passphrase for disk osencrypt (osencrypt)!",
            "[  120.412233] dracut-initqueue[312]: Warning: dracut-initqueue timeout - starting timeout scripts",
            "[  181.019876] dracut-initqueue[312]: Warning: Could not boot.",
            "Generating \"/run/initramfs/rdsosreport.txt\"",
            "Entering emergency mode. Exit the shell to continue.",
            "dracut:/# "]


def serial_log(vm):
    """Every boot since the VM was created as the console printed it: the first boot, then the last one."""
    lines = _boot(vm, 0.0) + _login(vm)
    if getattr(vm, "guest_state", "normal") == "boot_hung":
        lines += [""] + _boot(vm, 0.0) + _hang(vm)
    elif vm.os_disk is not None and vm.os_disk.guest_encrypted:
        lines += [""] + _boot(vm, 0.0) + _unlocked(vm) + _login(vm)
    return "\r\n".join(lines) + "\r\n"

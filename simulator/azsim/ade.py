"""The ADE for Linux model: what the extension (1.4.0.12, single pass) reports, step by step, in
simulated time. See ade-reference sections 3.4, 4.1, 5.2, 5.3, 6, 7.1.

A run is a list of (offset seconds, action). Its elapsed time only grows while the VM is running.
"""

import re
import uuid

from .model import SUCCESS_MESSAGE, VT_CANON, DISTRO_DISPLAY, version_supported_for_os

ENABLE_OPS = ("EnableEncryption", "EnableEncryptionFormat", "EnableEncryptionFormatAll")
KV_ID_RE = re.compile(r"^/subscriptions/([a-zA-Z0-9\-]+)/resourceGroups/([-\w\._\(\)]+)/providers/"
                      r"Microsoft.KeyVault/vaults/([a-zA-Z0-9\-\_]+)(/)?$", re.I)
KV_URL_RE = re.compile(r"^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)(:443)?([/]?)$", re.I)
KEK_URL_RE = re.compile(r"^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)(:443)?/keys/([a-zA-Z0-9\-]+)/"
                        r"([a-zA-Z0-9]+)([/]?)$", re.I)
ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5")
REJECT_MESSAGE = "An operation is already in progress. Please wait for it to complete."
HANDLE_PY = "/var/lib/waagent/Microsoft.Azure.Security.AzureDiskEncryptionForLinux-1.4.0.12/main/"

# status codes (Common.py)
ENCRYPTION_FAILED = 19
UNMOUNT_OLDROOT_ERROR = 22
CONFIGURATION_ERROR = 53
UNKNOWN_ERROR = 100


class AdeRun:
    def __init__(self, now):
        self.steps = []
        self.i = 0
        self.elapsed = 0.0
        self.last = now
        self.daemon = False
        self.label = ""

    def add(self, at, fn, label=""):
        self.steps.append((float(at), fn, label))

    def describe(self):
        nxt = self.steps[self.i] if self.i < len(self.steps) else None
        return {"elapsed_seconds": self.elapsed, "daemon": self.daemon, "operation": self.label,
                "next_step": nxt[2] if nxt else None,
                "next_step_in_seconds": (nxt[0] - self.elapsed) if nxt else None,
                "remaining_steps": [s[2] for s in self.steps[self.i:]]}


def advance(world, vm, ext, run, now):
    if vm.running:
        run.elapsed += max(0.0, now - run.last)
    run.last = max(run.last, now)
    while ext.run is run and run.i < len(run.steps) and run.steps[run.i][0] <= run.elapsed:
        at, fn, _unused = run.steps[run.i]
        run.i += 1
        fn(now - (run.elapsed - at))
    if ext.run is run and run.i >= len(run.steps):
        ext.run = None


def fatal_message(msg):
    return ("Traceback (most recent call last):\n"
            '  File "%shandle.py", line 760, in enable\n'
            "    cutil.precheck_for_fatal_failures(public_settings, encryption_status, DistroPatcher, "
            "existing_volume_type)\n"
            '  File "%scheck_util.py", line 431, in precheck_for_fatal_failures\n'
            "    raise Exception(message)\n"
            "Exception: %s" % (HANDLE_PY, HANDLE_PY, msg))


def validate_key_vault_params(s):
    """check_util.validate_key_vault_params (ade-reference 3.4); returns an error or None."""
    kv_id = s.get("KeyVaultResourceId") or ""
    kv_url = s.get("KeyVaultURL") or ""
    m_id = KV_ID_RE.match(kv_id)
    if not m_id:
        return "A KeyVault ID is required, but is missing or invalid"
    m_url = KV_URL_RE.match(kv_url)
    if not m_url:
        return "A KeyVault URL is required, but is missing or invalid"
    if m_id.group(3).lower() != m_url.group(1).lower():
        return "A KeyVault ID and KeyVault URL were provided, but their key vault names did not match"
    kek_url = s.get("KeyEncryptionKeyURL") or ""
    kek_id = s.get("KekVaultResourceId") or ""
    if kek_url:
        m_kid = KV_ID_RE.match(kek_id)
        if not m_kid:
            return "A KEK KeyVault ID is required, but is missing or invalid"
        m_kurl = KEK_URL_RE.match(kek_url)
        if not m_kurl:
            return "A KEK URL was specified, but was invalid"
        if m_kid.group(3).lower() != m_kurl.group(1).lower():
            return "A KEK ID and KEK URL were provided, but their key vault names did not match"
        alg = (s.get("KeyEncryptionAlgorithm") or "RSA-OAEP").upper()
        if alg not in ALGORITHMS:
            return "The KEK encryption algorithm requested was not recognized"
    elif kek_id:
        return "The KEK KeyVault ID was specified but the KEK URL was missing"
    return None


def fatal_precheck(vm, s, vt):
    op = s.get("EncryptionOperation") or ""
    enable = op in ENABLE_OPS
    if enable:
        err = validate_key_vault_params(s)
        if err:
            return err
    if vt not in VT_CANON:
        return "Unknown Volume Type: %s, has to be one of %s" % (s.get("VolumeType"), ["OS", "Data", "All"])
    if not enable:
        return None
    status = vm.encryption_status()
    beh = vm.ade_behavior
    if vt != "data" and status["os"] == "NotEncrypted":
        if getattr(vm, "precheck_error", None):
            return vm.precheck_error
        if beh == "low_memory" or vm.memory_kb < 7000000:
            return "Not enough memory for enabling encryption on OS volume. 8 GB memory is recommended."
        if beh == "data_only_distro" or (beh == "auto" and not version_supported_for_os(vm.distro, vm.version)):
            return "Distro %s %s is not supported for OS encryption" % (
                DISTRO_DISPLAY.get(vm.distro, vm.distro), vm.version)
    rec = vm.os_disk.ade.get("volume_type")
    if rec and rec.lower() != vt and vt != "all":
        return "Moving from volume type %s to volume type %s is not allowed" % (VT_CANON[rec.lower()], VT_CANON[vt])
    return None


def vault_problem(world, vm, s):
    v = world.find_by_id(s.get("KeyVaultResourceId") or "", kinds=("vaults",))
    if v is None:
        return "key vault '%s' was not found" % (s.get("KeyVaultResourceId"),)
    if not v.enabled_for_disk_encryption:
        return "key vault '%s' is not enabled for disk encryption" % v.name
    if v.location.replace(" ", "").lower() != vm.location.replace(" ", "").lower():
        return "key vault '%s' is in region '%s', the VM in '%s'" % (v.name, v.location, vm.location)
    if v.sub.lower() != vm.sub.lower():
        return "key vault '%s' is in another subscription than the VM" % v.name
    return None


def make_stamp(s):
    vid = s.get("KeyVaultResourceId")
    vault = KV_URL_RE.match(s.get("KeyVaultURL") or "")
    vname = vault.group(1) if vault else "vault"
    el = {"diskEncryptionKey": {"sourceVault": {"id": vid},
                                "secretUrl": "https://%s.vault.azure.net/secrets/%s/%s" % (
                                    vname, str(uuid.uuid4()), uuid.uuid4().hex)}}
    if s.get("KeyEncryptionKeyURL"):
        el["keyEncryptionKey"] = {"sourceVault": {"id": s.get("KekVaultResourceId") or vid},
                                  "keyUrl": s["KeyEncryptionKeyURL"]}
    return {"enabled": True, "encryptionSettings": [el], "encryptionSettingsVersion": "1.1"}


def _stamp_changed(vm, s):
    """True when the disks are not stamped with this vault/KEK yet (ExtensionParameter.config_changed)."""
    cur = vm.os_disk.stamp
    if not cur:
        return True
    el = cur["encryptionSettings"][0]
    kek = (el.get("keyEncryptionKey") or {}).get("keyUrl")
    return (el["diskEncryptionKey"]["sourceVault"]["id"].lower() != (s.get("KeyVaultResourceId") or "").lower()
            or (kek or None) != (s.get("KeyEncryptionKeyURL") or None))


def ext_failure_error(ext, msg):
    return {"code": "VMExtensionProvisioningError",
            "message": "VM has reported a failure when processing extension '%s' (publisher '%s' and type '%s'). "
                       "Error message: '%s'. More information on troubleshooting is available at "
                       "https://aka.ms/vmextensionlinuxtroubleshoot. " % (ext.name, ext.publisher, ext.type, msg)}


# min_version_online_encryption per distro (patch/*Patching.py @ ade-sp-release-1.4.0.12, reference 4.2)
ONLINE_MIN = {"ubuntu": (23, 10), "redhat": (8, 1), "centos": (8, 1), "oracle": (8, 5), "mariner": (2, 0),
              "azurelinux": (3, 0)}


def _vtuple(v):
    out = []
    for part in str(v).split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    while len(out) < 2:
        out.append(0)
    return tuple(out)


def uses_online_encryption(vm, opn, vt):
    """Online (in-place LUKS2 reencrypt + reboot) instead of the offline stripdown flow."""
    mode = getattr(vm, "os_mode", "auto")
    if mode == "offline" or vm.ade_behavior == "fail_os_unmount":
        return False
    if mode == "online":
        return True
    mn = ONLINE_MIN.get(vm.distro)
    if mn is None or _vtuple(vm.version) < mn:
        return False
    return opn == "EnableEncryption" or (opn == "EnableEncryptionFormatAll" and vt == "all")


def add_online_phases(run, world, vm, ext, t, T, vt, do_data, do_os, data_disks, final_msg, finish):
    """Online flow (rhel_81 state machine + OnlineEncryptionResumer). Messages are the extension's; their exact
    order and spacing are an approximation (reference 5.3 lists them, the timeline is not documented)."""
    ade = vm.os_disk.ade
    n_data = len(data_disks) if do_data else 0
    devices = (["/dev/sda2"] if do_os else []) + ["/dev/sd%s1" % chr(ord("c") + i) for i in range(n_data)]
    if do_data and vt == "all":
        t += T["data_start"]
        run.add(t, lambda t_: ext.set_status("transitioning", "Online encryption initialized for data volumes", t_),
                "online data initialized")
    if do_os:
        t += T["stripdown"]
        run.add(t, lambda t_: ext.set_status("transitioning", "Restarting vm after patching", t_),
                "patched boot, restarting (transitioning)")
        t += 180

    def initialized(t_):
        ext.set_status("success", "Online Encryption initialized.", t_)
        finish(t_, True)
    run.add(t, initialized, "online initialized")
    t += T["data_start"]
    n = len(devices)
    what = "Background Encrypting %d volume(s)." % n if do_os else "Background Encrypting %d data volume(s)." % n
    run.add(t, lambda t_: ext.set_status("success", what, t_), "background encrypting")
    total = 0.0
    if do_os:
        total += max(T["os_min"], T["os_per_gb"] * vm.os_disk.size_gb)
    if do_data:
        total += T["data"]
    for dev in devices:
        share = total / n
        for pct in (25, 50, 75):
            msg = "Background encrypting %s - Progress: %5.1f%%, ETA %s, written %d MiB" % (
                dev, pct, _eta(share * (100 - pct) / 100.0), int(pct * 100))
            run.add(t + share * pct / 100.0, _success(ext, msg), "background %s %d%%" % (dev, pct))
        t += share
        run.add(t, _success(ext, "Background encryption finished for %s" % dev), "background %s finished" % dev)

    def done(t_):
        if do_os:
            vm.os_disk.guest_encrypted = True
        if do_data:
            for d in data_disks:
                d.guest_encrypted = True
        ade["encrypt_marker"] = None
        run.daemon = False
        ext.set_status("success", final_msg, t_)
    run.add(t + 1, done, "online done")


def _success(ext, msg):
    def fn(t):
        ext.set_status("success", msg, t)
    return fn


def _eta(seconds):
    seconds = int(seconds)
    return "%02d:%02d:%02d" % (seconds // 3600, seconds % 3600 // 60, seconds % 60)


def build_run(world, vm, ext, op, now):
    """Plan the extension's behaviour for the settings now stored on ext."""
    s = ext.settings or {}
    T = vm.timing()
    run = AdeRun(now)
    opn = s.get("EncryptionOperation") or ""
    vt = (s.get("VolumeType") or "").lower()
    run.label = "%s/%s" % (opn, s.get("VolumeType"))
    dual = ext.thv.split(".")[0] == "0"

    def finish(t, ok, msg=None):
        if op is not None and op.status == "InProgress":
            world.finish_op(op, "Succeeded" if ok else "Failed",
                            None if ok else ext_failure_error(ext, msg), at=t)

    def status(level, msg, code=0, then=None):
        def fn(t):
            if then:
                then(t)
            ext.set_status(level, msg, t, code)
        return fn

    def daemon(on):
        def fn(t):
            run.daemon = on
        return fn

    run.add(0, status("transitioning", ""), "transitioning")
    fatal = fatal_precheck(vm, s, vt)
    P = T["precheck"]
    if fatal:
        msg = fatal_message(fatal)

        def fail(t):
            ext.set_status("error", msg, t, CONFIGURATION_ERROR)
            finish(t, False, msg)
        run.add(P, fail, "fatal precheck: " + fatal)
        return run

    if opn in ENABLE_OPS:
        st = vm.encryption_status()
        data_disks = vm.mounted_data()
        do_data = vt in ("data", "all") and bool(data_disks) and st["data"] != "Encrypted"
        do_os = vt in ("os", "all") and st["os"] != "Encrypted"
        final_msg = SUCCESS_MESSAGE[vt]
        online = (do_data or do_os) and uses_online_encryption(vm, opn, vt)
        ade = vm.os_disk.ade
        rec = ade.get("volume_type")

        def start(t):
            ade["volume_type"] = VT_CANON[vt] if not rec or vt == "all" else rec
            if do_data or do_os:
                ade["encrypt_marker"] = VT_CANON[vt]
                run.daemon = True
        run.add(P, start, "daemon started")

        def stamp(t):
            prob = vault_problem(world, vm, s)
            if prob:
                msg = "Failed to enable the extension with error: encryption settings could not be stamped: " + prob
                ade["encrypt_marker"] = None
                run.daemon = False
                ext.set_status("error", msg, t, UNKNOWN_ERROR)
                finish(t, False, msg)
                run.steps = run.steps[:run.i]
                return
            if dual:
                msg = make_stamp(s)["encryptionSettings"][0]["diskEncryptionKey"]["secretUrl"]
            elif do_data or do_os or _stamp_changed(vm, s):
                st_ = make_stamp(s)
                for d in vm.all_disks():
                    d.stamp = st_
                msg = "Encryption settings stamped"
            else:
                msg = final_msg      # already encrypted as asked, same vault: nothing re-stamped
            if not (do_data or do_os):
                msg = final_msg
            if online:
                ext.set_status("transitioning", msg, t)
            else:
                ext.set_status("success", msg, t)
                finish(t, True)
        t = P + T["stamp"]
        run.add(t, stamp, "stamp")
        if online:
            add_online_phases(run, world, vm, ext, t, T, vt, do_data, do_os, data_disks, final_msg, finish)
            return run
        if do_data:
            n = len(data_disks)
            t += T["data_start"]
            if opn == "EnableEncryptionFormatAll":
                run.add(t, status("transitioning", "Encrypting and formatting %d data volumes" % n), "data start")
            else:
                run.add(t, status("success", "Encrypting %d data volumes" % n), "data start")
            t += T["data"]

            def data_done(t_):
                for d in data_disks:
                    d.guest_encrypted = True
                if not do_os:
                    ade["encrypt_marker"] = None
                    run.daemon = False
                ext.set_status("success", "Encryption succeeded for data volumes" if do_os else final_msg, t_)
            run.add(t, data_done, "data done")
        if do_os:
            t += T["stripdown"]
            run.add(t, status("error", "Restarted extension from stripped down OS", ENCRYPTION_FAILED),
                    "stripdown (transient error)")
            fail_unmount = vm.ade_behavior == "fail_os_unmount"
            attempts = 10 if fail_unmount else 1
            for i in range(1, attempts + 1):
                t += T["unmount_attempt"]
                run.add(t, status("error", "Attempt #%d to unmount /oldroot failed with error: umount: /oldroot: "
                                           "target is busy." % i, UNMOUNT_OLDROOT_ERROR),
                        "unmount attempt %d (transient error)" % i)
            t += T["unmount_attempt"]
            if fail_unmount:
                msg = ("Failed to encrypt OS volume with error: Could not unmount /oldroot in 10 attempts, "
                       "machine state: unmount_oldroot")

                def os_failed(t_):
                    ade["encrypt_marker"] = None
                    run.daemon = False
                    ext.set_status("error", msg, t_, ENCRYPTION_FAILED)
                run.add(t, os_failed, "OS encryption failed")
                return run
            run.add(t, status("success", "OS disk encryption started"), "OS encryption started")
            t += max(T["os_min"], T["os_per_gb"] * vm.os_disk.size_gb)

            def os_done(t_):
                vm.os_disk.guest_encrypted = True
                ade["encrypt_marker"] = None
                run.daemon = False
                ext.set_status("success", final_msg, t_)
            run.add(t, os_done, "OS encryption done")
        return run

    if opn == "DisableEncryption":
        st = vm.encryption_status()
        if st["os"] != "NotEncrypted":
            msg = ("Failed to disable the extension with error: Disabling encryption is not supported when OS "
                   "volume is encrypted")

            def refuse(t):
                ext.set_status("error", msg, t, UNKNOWN_ERROR)
                finish(t, False, msg)
            run.add(P, refuse, "disable refused")
            return run
        ade = vm.os_disk.ade
        data_disks = vm.mounted_data()

        def cleared(t):
            for d in vm.all_disks():
                d.stamp = None
            ade["decrypt_marker"] = True
            ade["encrypt_marker"] = None
            run.daemon = True
            ext.set_status("success", "Encryption settings cleared", t)
            finish(t, True)
        run.add(P, cleared, "settings cleared")
        t = P + T["decrypt_start"]
        run.add(t, status("success", "Decryption started"), "decryption started")
        t += T["decrypt"] if any(d.guest_encrypted for d in data_disks) else T["decrypt_start"]

        def decrypted(t_):
            for d in data_disks:
                d.guest_encrypted = False
            ade["decrypt_marker"] = False
            ade["volume_type"] = None
            run.daemon = False
            ext.set_status("success", "Decryption succeeded", t_)
        run.add(t, decrypted, "decryption succeeded")
        return run

    if opn == "UpdateEncryptionSettings":
        def upd(t):
            st_ = make_stamp(s)
            for d in vm.all_disks():
                if d.stamp:
                    d.stamp = st_
            ext.set_status("success", "Encryption settings updated", t)
            finish(t, True)
        run.add(P, upd, "settings updated")
        return run

    if opn == "QueryEncryptionStatus":
        run.add(P, status("success", "", then=lambda t: finish(t, True)), "query")
        return run

    msg = "Failed to enable the extension with error: EncryptionOperation '%s' is not supported" % opn

    def unknown(t):
        ext.set_status("error", msg, t, UNKNOWN_ERROR)
        finish(t, False, msg)
    run.add(P, unknown, "unknown operation")
    return run


def start(world, vm, ext, op, fast_forward=None):
    now = world.clock.now()
    run = build_run(world, vm, ext, op, now)
    ext.run = run
    world.wake(vm)
    if fast_forward:
        run.elapsed = float(fast_forward)
    advance(world, vm, ext, run, now)
    return run

"""The ADE for Linux model: what the extension (1.4.0.12, single pass) reports, step by step, in
simulated time. See ade-reference sections 3.4, 4.1, 5.2, 5.3, 6, 7.1.

Source read line by line: Azure/azure-linux-extensions, branch ade-sp-release-1.4.0.12 at commit
affba5a94405b9d0d59a3124ae4ab6981dfa15fc (main/common_parameters.json: extension_version 1.4.0.12).
"src: FILE FUNCTION (line)" comments point into VMEncryption/main/ of that commit. Where the source leaves a
behaviour open, the comment says "open:" and the more pessimistic reading is modelled (simulator/README.md).

A run is a list of (offset seconds, action). Its elapsed time only grows while the VM is running.
"""

import re
import uuid

from . import boot, compat, dual_pass, keyvault
from .model import RUN_ADVANCE, SUCCESS_MESSAGE, VT_CANON, DISTRO_DISPLAY, version_supported_for_os

SOURCE_COMMIT = "affba5a94405b9d0d59a3124ae4ab6981dfa15fc"
ENABLE_OPS = ("EnableEncryption", "EnableEncryptionFormat", "EnableEncryptionFormatAll")
KV_ID_RE = re.compile(r"^/subscriptions/([a-zA-Z0-9\-]+)/resourceGroups/([-\w\._\(\)]+)/providers/"
                      r"Microsoft.KeyVault/vaults/([a-zA-Z0-9\-\_]+)(/)?$", re.I)
KV_URL_RE = re.compile(r"^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)(:443)?([/]?)$", re.I)
# src: check_util.py check_kv_url (line 89): compiled WITHOUT re.IGNORECASE (scheme must be lower case)
KV_URL_STRICT_RE = re.compile(r"^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)(:443)?([/]?)$")
KEK_URL_RE = re.compile(r"^https://([a-zA-Z0-9\-]+)[\.]([a-zA-Z0-9\-\.]+)(:443)?/keys/([a-zA-Z0-9\-]+)/"
                        r"([a-zA-Z0-9]+)([/]?)$", re.I)
ALGORITHMS = ("RSA-OAEP", "RSA-OAEP-256", "RSA1_5")
REJECT_MESSAGE = "An operation is already in progress. Please wait for it to complete."
# src: Utils/HandlerUtil.py do_status_report (line 533-534): the message written whenever the substatus says
# VMRestartPending (DiskUtil.py get_encryption_status line 706-707: /dev/mapper/osencrypt exists, / not on it)
RESTART_MESSAGE = "OS disk successfully encrypted, please reboot the VM"
EXT_DIR = "/var/lib/waagent/Microsoft.Azure.Security.AzureDiskEncryptionForLinux-1.4.0.12/main/"

# status codes (src: Common.py CommonVariables, lines 248-272)
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


# ---- tracebacks as the extension writes them (traceback.format_exc() in the status message)


RUN_ADVANCE.append(advance)


def traceback_text(frames, exc):
    """frames: [(file under main/, line, function, source line)]; exc: the last line(s) ("Exception: ...")."""
    out = ["Traceback (most recent call last):"]
    for fname, line, func, code in frames:
        out.append('  File "%s%s", line %d, in %s' % (EXT_DIR, fname, line, func))
        out.append("    " + code)
    return "\n".join(out) + "\n" + exc + "\n"


# src: handle.py enable (line 806) -> check_util.py precheck_for_fatal_failures (lines 424-430)
ENABLE_FRAME = ("handle.py", 806, "enable",
                "check_Util.precheck_for_fatal_failures(public_settings, encryption_status, DistroPatcher, "
                "existing_volume_type,check_release_rsa_or_ec_key)")
PRECHECK_CALLS = {
    "kv": (424, "self.validate_key_vault_params(public_settings)"),
    "volume_type": (425, "self.validate_volume_type(public_settings, DistroPatcher)"),
    "lvm": (426, "self.validate_lvm_os(public_settings, DistroPatcher)"),
    "memory": (428, "self.validate_memory_os_encryption(public_settings, encryption_status)"),
    "os": (429, "self.is_supported_os(public_settings, DistroPatcher, encryption_status)"),
    "narrowing": (430, "self.validate_volume_type_for_enable(public_settings, existing_volume_type)"),
}
KV_ID_EXPECTED = "/subscriptions/{subid}/resourceGroups/{rgname}/providers/Microsoft.KeyVault/vaults/{vaultname}"
KV_URL_EXPECTED = "https://keyvault-name}.{vault-endpoint}"     # sic: check_util.py check_kv_url (line 88)
KEK_URL_EXPECTED = "https://{keyvault-name}.{vault-endpoint}/keys/{object-name}/{object-version}"
_RAISE_ACTUAL = "raise Exception('\\n' + message + '\\nActual: ' + %s + '\\nExpected: ' + expected + \"\\n\")"
# python 3 wording of '...' + None (the handler runs on the guest's python 3 on current images)
NONE_CONCAT = 'TypeError: can only concatenate str (not "NoneType") to str'


def _actual_check(call_line, call_code, check_fn, raise_line, var, value, message, expected):
    frames = [("check_util.py", call_line, "validate_key_vault_params", call_code),
              ("check_util.py", raise_line, check_fn, _RAISE_ACTUAL % var)]
    if value is None:
        return frames, NONE_CONCAT
    # src: check_util.py check_kv_id/check_kv_url/check_kek_url: the message is wrapped in Actual:/Expected: lines
    return frames, "Exception: \n%s\nActual: %s\nExpected: %s\n" % (message, value, expected)


def validate_key_vault_params(s):
    """src: check_util.py validate_key_vault_params (lines 184-216) for KeyVault (no KeyStoreType).
    Returns (frames, exception text) or None."""
    kv_id, kv_url = s.get("KeyVaultResourceId"), s.get("KeyVaultURL")
    kek_url, kek_id = s.get("KeyEncryptionKeyURL"), s.get("KekVaultResourceId")
    if not (kv_id and KV_ID_RE.match(kv_id)):
        return _actual_check(199, 'self.check_kv_id(kv_id, "A KeyVault ID is required, but is missing or invalid")',
                             "check_kv_id", 115, "test_kv_id", kv_id,
                             "A KeyVault ID is required, but is missing or invalid", KV_ID_EXPECTED)
    if not (kv_url and KV_URL_STRICT_RE.match(kv_url)):
        return _actual_check(200, 'self.check_kv_url(kv_url, "A KeyVault URL is required, but is missing or '
                                  'invalid")', "check_kv_url", 91, "test_kv_url", kv_url,
                             "A KeyVault URL is required, but is missing or invalid", KV_URL_EXPECTED)
    if KV_ID_RE.match(kv_id).group(3).lower() != KV_URL_STRICT_RE.match(kv_url).group(1).lower():
        msg = "A KeyVault ID and KeyVault URL were provided, but their key vault names did not match"
        return ([("check_util.py", 201, "validate_key_vault_params",
                  'self.check_kv_name(kv_id, kv_url, "%s")' % msg),
                 ("check_util.py", 169, "check_kv_name",
                  "raise Exception('\\n' + message + '\\nKey Vault ID: ' + kv_id + '\\nKey Vault URL: ' + kv_url "
                  "+ '\\n')")],
                "Exception: \n%s\nKey Vault ID: %s\nKey Vault URL: %s\n" % (msg, kv_id, kv_url))
    if kek_url:
        if not (kek_id and KV_ID_RE.match(kek_id)):
            # src: check_util.py line 203 - the KEK vault ID message names the KEK URL
            msg = "A KEK URL was specified, but its KEK KeyVault ID was missing or invalid"
            return _actual_check(203, 'self.check_kv_id(kek_kv_id, "%s")' % msg, "check_kv_id", 115, "test_kv_id",
                                 kek_id, msg, KV_ID_EXPECTED)
        if not KEK_URL_RE.match(kek_url):
            msg = "A KEK URL was specified, but it was invalid"
            return _actual_check(204, 'self.check_kek_url(kek_url, "%s")' % msg, "check_kek_url", 99,
                                 "test_kek_url", kek_url, msg, KEK_URL_EXPECTED)
        if KV_ID_RE.match(kek_id).group(3).lower() != KEK_URL_RE.match(kek_url).group(1).lower():
            msg = "A KEK ID and KEK URL were provided, but their key vault names did not match"
            return ([("check_util.py", 205, "validate_key_vault_params",
                      'self.check_kek_name(kek_kv_id, kek_url, "%s")' % msg),
                     ("check_util.py", 175, "check_kek_name",
                      "raise Exception('\\n' +message + '\\nKEK Key Vault ID: ' + kek_kv_id + '\\nKEK URL: ' + "
                      "kek_url + '\\n')")],
                    "Exception: \n%s\nKEK Key Vault ID: %s\nKEK URL: %s\n" % (msg, kek_id, kek_url))
        alg = s.get("KeyEncryptionAlgorithm")
        if alg and alg.upper() not in ALGORITHMS:
            return ([("check_util.py", 208, "validate_key_vault_params",
                      'raise Exception("The KEK encryption algorithm requested was not recognized")')],
                    "Exception: The KEK encryption algorithm requested was not recognized")
    elif kek_id:
        return ([("check_util.py", 214, "validate_key_vault_params",
                  '"The KEK KeyVault ID was specified but the KEK URL was missing")')],
                "Exception: The KEK KeyVault ID was specified but the KEK URL was missing")
    return None


def fatal_precheck(vm, s, vt):
    """src: check_util.py precheck_for_fatal_failures (lines 422-430), in its order. Returns the traceback
    text the extension reports (handle.py enable line 813: msg = str(traceback.format_exc())) or None."""
    op = s.get("EncryptionOperation") or ""
    enable = op in ENABLE_OPS
    query = op == "QueryEncryptionStatus"

    def fail(step, inner, exc):
        line, code = PRECHECK_CALLS[step]
        return traceback_text([ENABLE_FRAME, ("check_util.py", line, "precheck_for_fatal_failures", code)] + inner,
                              exc)
    if enable:
        kv = validate_key_vault_params(s)
        if kv:
            return fail("kv", kv[0], kv[1])
    if not query and vt not in VT_CANON:
        # src: check_util.py validate_volume_type (line 254)
        if s.get("VolumeType") is None:
            return fail("volume_type", [("check_util.py", 253, "validate_volume_type",
                                         "if not volume_type.lower() in [x.lower() for x in supported_volume_types] :")],
                        "AttributeError: 'NoneType' object has no attribute 'lower'")
        return fail("volume_type", [("check_util.py", 254, "validate_volume_type",
                                     'raise Exception("Unknown Volume Type: {0}, has to be one of {1}".format('
                                     'volume_type, supported_volume_types))')],
                    "Exception: Unknown Volume Type: %s, has to be one of %s" % (
                        s.get("VolumeType"), ["OS", "Data", "All"]))
    status = vm.encryption_status()
    beh = vm.ade_behavior
    pre = getattr(vm, "precheck_error", None)
    os_check = not query and vt != "data" and status["os"] == "NotEncrypted"
    if pre and not query and vt != "data" and pre.startswith("LVM"):
        return fail("lvm", [("check_util.py", 294, "validate_lvm_os",
                             'raise Exception("LVM OS disk layout does not satisfy prerequisites ( see '
                             'https://aka.ms/adelvm )")')], "Exception: " + pre)
    if enable and vt != "data" and status["os"] == "NotEncrypted" and (
            beh == "low_memory" or vm.memory_kb < 7000000):
        return fail("memory", [("check_util.py", 312, "validate_memory_os_encryption",
                                'raise Exception("Not enough memory for enabling encryption on OS volume. 8 GB '
                                'memory is recommended.")')],
                    "Exception: Not enough memory for enabling encryption on OS volume. 8 GB memory is recommended.")
    if os_check and pre and not pre.startswith("LVM"):
        # any other precheck text (kernel minimum, ...) is reported from is_supported_os (line 343)
        return fail("os", [("check_util.py", 343, "is_supported_os",
                            "raise Exception('Kernel version {0} is not supported. Upgrade to kernel version {1}'"
                            ".format(DistroPatcher.kernel_version, version['Kernel']))")], "Exception: " + pre)
    unsupported = beh == "data_only_distro" or (beh == "auto" and not version_supported_for_os(vm.distro, vm.version))
    if os_check and unsupported:
        return fail("os", [("check_util.py", 345, "is_supported_os",
                            "raise Exception('Distro {0} {1} is not supported for OS encryption'.format("
                            "distro_name, distro_version))")],
                    "Exception: Distro %s %s is not supported for OS encryption" % (
                        DISTRO_DISPLAY.get(vm.distro, vm.distro), vm.version))
    rec = vm.os_disk.ade.get("volume_type")
    if enable and rec and rec.lower() != vt and vt != "all":
        return fail("narrowing", [("check_util.py", 362, "validate_volume_type_for_enable",
                                   "raise Exception('Moving from volume type {0} to volume type {1} is not allowed'"
                                   ".format(existing_volume_type, volume_type))")],
                    "Exception: Moving from volume type %s to volume type %s is not allowed" % (
                        VT_CANON[rec.lower()], VT_CANON[vt]))
    return None


def vault_problem(world, vm, s):
    v = world.find_by_id(s.get("KeyVaultResourceId") or "", kinds=("vaults",))
    if v is None:
        return "key vault '%s' was not found" % (s.get("KeyVaultResourceId"),)
    ident = compat.encryption_identity(vm)
    if ident:   # ADE reaches the vault with the VM's encryption identity (compat.py); RBAC grants, not the flag
        if getattr(v, "grants", None) is not None and ident.lower() not in v.grants:
            return "encryption identity '%s' has no access to key vault '%s'" % (ident, v.name)
    elif not v.enabled_for_disk_encryption:
        return "key vault '%s' is not enabled for disk encryption" % v.name
    if v.location.replace(" ", "").lower() != vm.location.replace(" ", "").lower():
        return "key vault '%s' is in region '%s', the VM in '%s'" % (v.name, v.location, vm.location)
    if v.sub.lower() != vm.sub.lower():
        return "key vault '%s' is in another subscription than the VM" % v.name
    return None


def make_stamp(s, world=None, vm=None):
    """The encryption settings the host stamps; with ``world``/``vm`` the host also writes the secret into the vault
    (keyvault.py ade_secret_url), so the stamped URL is one Key Vault can answer for."""
    vid = s.get("KeyVaultResourceId")
    vault = KV_URL_RE.match(s.get("KeyVaultURL") or "")
    vname = vault.group(1) if vault else "vault"
    url = None
    if world is not None and vm is not None:
        url = keyvault.ade_secret_url(world, vm, s)
    el = {"diskEncryptionKey": {"sourceVault": {"id": vid},
                                "secretUrl": url or "https://%s.vault.azure.net/secrets/%s/%s" % (
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

        def restarting(t_):
            # src: oscrypto/rhel_81/encryptstates/PatchBootSystemState.py should_exit (lines 85-100): report, then
            # `reboot`; the guest is down meanwhile (agent Not Ready, statuses stale: see the offline flow)
            ext.set_status("transitioning", "Restarting vm after patching", t_)
            vm.guest_state = "rebooting"
        run.add(t, restarting, "patched boot, restarting (transitioning)")
        t += T["reboot"]

        def back(t_):
            vm.guest_state = "normal"
        run.add(t, back, "guest back after patching")
        t += 60

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


def stamp_disks(vm, s, vt_os, data_disks, world=None):
    """src: EncryptionSettingsUtil.py get_settings_data (lines 238-311): the disks sent for stamping are the data
    disks holding the volumes about to be encrypted plus the items already encrypted (crypt mount config); the
    OS disk only when the root device is among them (root_vhd_needs_stamping, line 258)."""
    st = make_stamp(s, world, vm)
    targets = [d for _unused, d, _unused in vm.data_disks if d.guest_encrypted or d in data_disks]
    if vt_os:
        targets.insert(0, vm.os_disk)
    for d in targets:
        d.stamp = st
    return targets


def stamp_failure(prob, where):
    """src: EncryptionSettingsUtil.py _post_to_wireserver_helper (line 403): a refused post raises
    "Encryption settings post request was not accepted. Error: <Details of the fault XML>"; it surfaces in the
    data path (handle.py daemon_encrypt line 2180) or the OS path (line 2311), code 19 - never as error 100.
    open: the WireServer's <Details> text for a vault that is missing/not enabled/in another region is not in the
    source; the simulator puts its own reason there."""
    exc = "Exception: Encryption settings post request was not accepted. Error: " + prob
    tb = traceback_text([
        ("handle.py", 2171 if where == "data" else 2301, "daemon_encrypt",
         "while not daemon_encrypt_data_volumes(encryption_marker=encryption_marker," if where == "data"
         else "stamp_disks_with_settings(os_items_to_stamp, encryption_config, encryption_marker)"),
        ("handle.py", 217, "stamp_disks_with_settings", "settings.post_to_wireserver(data)"),
        ("EncryptionSettingsUtil.py", 433, "post_to_wireserver", "self._post_to_wireserver_helper(msg_data, http_util)"),
        ("EncryptionSettingsUtil.py", 413, "_post_to_wireserver_helper", "raise e"),
        ("EncryptionSettingsUtil.py", 403, "_post_to_wireserver_helper",
         'raise Exception("Encryption settings post request was not accepted. Error: {0}".format(reason))')], exc)
    err = "Encryption settings post request was not accepted. Error: " + prob
    if where == "data":
        return "Failed to encrypt data volumes with error: %s, stack trace: %s" % (err, tb)
    return "Failed to encrypt OS volume with error: %s, stack trace: %s, machine state: uninitialized" % (err, tb)


def state_machine_file(vm):
    """src: handle.py daemon_encrypt (lines 2219-2288): which oscrypto state machine runs the offline flow."""
    if vm.distro in ("redhat", "centos"):
        if vm.version.startswith("6"):
            return ("oscrypto/centos_68/CentOS68EncryptionStateMachine.py", 180) if vm.distro == "centos" else (
                "oscrypto/rhel_68/RHEL68EncryptionStateMachine.py", 171)
        return "oscrypto/rhel_72/RHEL72EncryptionStateMachine.py", 171
    if vm.version.startswith("14"):
        return "oscrypto/ubuntu_1404/Ubuntu1404EncryptionStateMachine.py", 168
    if vm.version.startswith(("20", "22")):
        return "oscrypto/ubuntu_2004/Ubuntu2004EncryptionStateMachine.py", 164
    return "oscrypto/ubuntu_1604/Ubuntu1604EncryptionStateMachine.py", 168


def unmount_attempt_message(vm, attempt):
    """src: oscrypto/ubuntu_1604/Ubuntu1604EncryptionStateMachine.py start_encryption (lines 160-191): attempt n
    fails only when `umount /oldroot` fails (UnmountOldrootState.enter line 130, CommandExecutor.Execute with
    raise_exception_on_failure: "Command ... failed with return code N\\nstdout:\\n...\\nstderr:\\n..."); attempt
    11 raises "Could not unmount /oldroot in 10 attempts" itself. Each failure is reported with code 22."""
    path, line = state_machine_file(vm)
    if attempt > 10:
        err = "Could not unmount /oldroot in 10 attempts"
        tb = traceback_text([(path, line + 2, "start_encryption",
                              'raise Exception("Could not unmount /oldroot in 10 attempts")')], "Exception: " + err)
    else:
        # text as reported in Azure/azure-cli issue #2633 (util-linux's busy message with its lsof/fuser hint)
        err = ("Command umount /oldroot failed with return code 32\nstdout:\n\nstderr:\n"
               "umount: /oldroot: target is busy\n        (In some cases useful info about processes that\n"
               "         use the device is found by lsof(8) or fuser(1).)\n")
        state_py = path.rsplit("/", 1)[0] + "/encryptstates/UnmountOldrootState.py"
        call = "self.enter_unmount_oldroot()" if attempt == 1 else "self.retry_unmount_oldroot()"
        tb = traceback_text([(path, line if attempt == 1 else line + 4, "start_encryption", call),
                             (state_py, 130, "enter", "self.command_executor.Execute('umount /oldroot', True)"),
                             ("CommandExecutor.py", 98, "Execute", "raise Exception(msg)")], "Exception: " + err)
    return "Attempt #%d to unmount /oldroot failed with error: %s, stack trace: %s" % (attempt, err, tb)


def os_failure_message(vm, attempt_msg):
    """src: handle.py daemon_encrypt (lines 2310-2316)."""
    path, line = state_machine_file(vm)
    tb = traceback_text([("handle.py", 2303, "daemon_encrypt", "os_encryption.start_encryption()"),
                         (path, line + 22, "start_encryption", "raise Exception(message)")],
                        "Exception: " + attempt_msg)
    return "Failed to encrypt OS volume with error: %s, stack trace: %s, machine state: unmount_oldroot" % (
        attempt_msg, tb)


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

    def report(level, msg, t, code=0):
        """A status report; the PUT's LRO ends at the first report that is not transitioning."""
        ext.set_status(level, msg, t, code)
        if level == "success":
            finish(t, True)
        elif level == "error":
            finish(t, False, msg)

    def status(level, msg, code=0, then=None):
        def fn(t):
            if then:
                then(t)
            report(level, msg, t, code)
        return fn

    run.add(0, status("transitioning", ""), "transitioning")
    # src: handle.py enable (line 805; dp line 613): no fatal prechecks for a migrate operation
    fatal = None if dual_pass.is_migrate(s) else fatal_precheck(vm, s, vt)
    P = T["precheck"]
    if fatal:
        def fail(t):
            # src: handle.py enable (lines 813-818): configuration_error (53), message = the traceback
            report("error", fatal, t, CONFIGURATION_ERROR)
        run.add(P, fail, "fatal precheck: " + fatal.rstrip().rsplit("\n", 1)[-1])
        return run

    if opn in ENABLE_OPS and dual_pass.is_migrate(s):
        # dual pass -> single pass (Set-AzVMDiskEncryptionExtension -Migrate): azsim/dual_pass.py cites the source
        return dual_pass.migrate_run(vm, run, s, T, P, report, dual, make_stamp, CONFIGURATION_ERROR, UNKNOWN_ERROR)
    if opn in ENABLE_OPS:
        return _enable_run(world, vm, ext, run, s, T, P, opn, vt, dual, report, status, finish)
    if opn == "DisableEncryption":
        return _disable_run(vm, ext, run, T, P, report, status)

    # src: handle.py enable (lines 875-882): any other operation (UpdateEncryptionSettings,
    # QueryEncryptionStatus, ...) -> "Encryption operation X is not supported", configuration_error (53)
    msg = "Encryption operation %s is not supported" % (s.get("EncryptionOperation"),)
    run.add(P, status("error", msg, CONFIGURATION_ERROR), "unsupported operation")
    return run


def _enable_run(world, vm, ext, run, s, T, P, opn, vt, dual, report, status, finish):
    st = vm.encryption_status()
    vt_data = vt in ("data", "all")
    vt_os = vt in ("os", "all")
    final_msg = SUCCESS_MESSAGE[vt]
    ade = vm.os_disk.ade
    rec = ade.get("volume_type")
    # src: handle.py are_required_devices_encrypted (lines 902-931): only "Encrypted" counts as done (NotMounted
    # data is not, so VolumeType All/Data re-run the daemon with 0 data volumes)
    done = (not vt_data or st["data"] == "Encrypted") and (not vt_os or st["os"] == "Encrypted")
    data_disks = [d for d in vm.mounted_data() if not d.guest_encrypted] if vt_data else []
    do_os = vt_os and st["os"] != "Encrypted"
    changed = rec is not None and vm.os_disk.stamp is not None and _stamp_changed(vm, s)

    def start(t):
        ade["volume_type"] = VT_CANON[vt] if not rec or vt == "all" else rec
        if not done:
            ade["encrypt_marker"] = VT_CANON[vt]
            run.daemon = True

    if dual:
        def dual_stamp(t):
            start(t)
            st = make_stamp(s, world, vm)
            for d in vm.all_disks():
                d.stamp = st
            report("success", st["encryptionSettings"][0]["diskEncryptionKey"]["secretUrl"], t)
        run.add(P + T["stamp"], dual_stamp, "stamp")
        return run

    if changed:
        # src: handle.py handle_encryption (lines 937-952) -> update_encryption_settings (lines 431-441):
        # a new vault/KEK re-stamps and reports "Encryption settings updated"
        def updated(t):
            start(t)
            if boot.rotation_wipes_bek(vm):
                # Azure/azure-linux-extensions issue 2035 (boot.py): the re-run fails in update_encryption_settings
                # and leaves the BEK volume empty; the disks keep their stamp, the VM keeps running
                ade["encrypt_marker"] = None
                run.daemon = False
                vm.bek_wiped = True
                report("error", "Failed to update encryption settings with error: True is not in list, stack trace: "
                                "Traceback (most recent call last):\n  File \"main/handle.py\", line 361, in "
                                "update_encryption_settings\nValueError: True is not in list", t, UNKNOWN_ERROR)
                run.steps = run.steps[:run.i]
                return
            prob = vault_problem(world, vm, s)
            if prob:
                ade["encrypt_marker"] = None
                run.daemon = False
                report("error", "Failed to update encryption settings with error: Encryption settings post request "
                                "was not accepted. Error: %s" % prob, t, UNKNOWN_ERROR)
                run.steps = run.steps[:run.i]
                return
            stamp_disks(vm, s, vt_os or vm.os_disk.stamp is not None, data_disks, world)
            report("success", "Encryption settings updated", t)
        run.add(P, updated, "settings updated")
        if done:
            return run
        stamped_now = True
    else:
        stamped_now = False
        if done:
            # src: handle.py handle_encryption (lines 963-968): nothing to do -> SuccessMessage[volume type]
            def quick(t):
                start(t)
                report("success", final_msg, t)
            run.add(P, quick, "already encrypted")
            return run
        run.add(P, start, "daemon started")

    online = uses_online_encryption(vm, opn, vt) and (bool(data_disks) or do_os)
    t = P + T["stamp"]      # src: handle.py daemon (lines 2506-2521): sleep 60 s, install_extras()

    def do_stamp(where):
        def fn(t_):
            prob = vault_problem(world, vm, s)
            if prob:
                ade["encrypt_marker"] = None
                run.daemon = False
                report("error", stamp_failure(prob, where), t_, ENCRYPTION_FAILED)
                run.steps = run.steps[:run.i]
                return
            stamp_disks(vm, s, vt_os, data_disks, world)
            # src: handle.py stamp_disks_with_settings (lines 219-229): success, transitioning when online
            report("transitioning" if online else "success", "Encryption settings stamped", t_)
        return fn

    need_stamp = not stamped_now and (vt_os or data_disks or any(d.guest_encrypted for _u, d, _u2 in vm.data_disks))
    if online:
        if need_stamp:
            run.add(t, do_stamp("data" if vt_data else "os"), "stamp")
        add_online_phases(run, world, vm, ext, t, T, vt, bool(data_disks), do_os, data_disks, final_msg, finish)
        return run

    if vt_data:
        # src: handle.py enable_encryption_all_in_place (lines 1930-2016)
        if need_stamp:
            run.add(t, do_stamp("data"), "stamp")
        n = len(data_disks)
        t += T["data_start"]
        if opn == "EnableEncryptionFormatAll":
            run.add(t, status("transitioning", "Encrypting and formatting %d data volumes" % n), "data start")
        else:
            run.add(t, status("success", "Encrypting %d data volumes" % n), "data start")
            # src: TransactionalCopyTask.py (lines 176-183): "<status_prefix>: <int %>", prefix
            # "Encrypting data volume i/N" (handle.py line 1998)
            share = float(T["data"]) / max(n, 1)
            for i in range(n):
                for pct in (25, 50, 75):
                    run.add(t + share * i + share * pct / 100.0,
                            status("success", "Encrypting data volume %d/%d: %d%%" % (i + 1, n, pct)),
                            "data %d/%d %d%%" % (i + 1, n, pct))
        t += T["data"] if n else T["data_start"]

        def data_done(t_):
            for d in data_disks:
                d.guest_encrypted = True
            if not vt_os:
                ade["encrypt_marker"] = None
                run.daemon = False
            # src: handle.py daemon_encrypt (line 2192)
            report("success", "Encryption succeeded for data volumes", t_)
        run.add(t, data_done, "data done")
    if not vt_os:
        return run
    if not do_os:
        # src: Ubuntu1604EncryptionStateMachine.start_encryption (lines 141-148): /dev/mapper/osencrypt mounted ->
        # skip_encryption; daemon_encrypt then reports the final message (lines 2322-2332)
        t += T["data_start"]

        def os_skip(t_):
            ade["encrypt_marker"] = None
            run.daemon = False
            report("success", final_msg, t_)
        run.add(t, os_skip, "OS already encrypted")
        return run
    if not vt_data and need_stamp:
        # VolumeType OS: stamped in the OS path just before the state machine starts (handle.py line 2301)
        run.add(t, do_stamp("os"), "stamp")
    saved = {}

    def stripdown(t_):
        # src: oscrypto/ubuntu_1604/encryptstates/StripdownState.py should_exit (lines 71-89): pivot to a tmpfs
        # root, restart the agent in 30 s, exit with error 19 (transient). The status file written before this
        # point is the one the real root keeps (used again after the final reboot).
        saved["status"] = dict(ext.status) if ext.status else None
        saved["substatus"] = dict(ext.substatus) if ext.substatus else None
        vm.guest_state = "stripped_down"
        report("error", "Restarted extension from stripped down OS", t_, ENCRYPTION_FAILED)
    t += T["stripdown"]
    run.add(t, stripdown, "stripdown (transient error)")
    if vm.ade_behavior == "stuck_after_stripdown":
        # the agent never comes back in the stripped-down OS: the transient error stays for ever
        return run
    # src: handle.py enable_encryption (line 1056) -> start_daemon (lines 2590-2597): marker present, disks stamped
    # with the current config -> success with an empty message
    t += T["agent_restart"]
    run.add(t, status("success", ""), "extension restarted in stripped-down OS")
    t += T["stamp"]         # the new daemon sleeps 60 s again
    fails = 11 if vm.ade_behavior == "fail_os_unmount" else min(int(getattr(vm, "unmount_busy", 0) or 0), 10)
    for i in range(1, fails + 1):
        run.add(t, status("error", unmount_attempt_message(vm, i), UNMOUNT_OLDROOT_ERROR),
                "unmount attempt %d (transient error)" % i)
        t += T["unmount_attempt"]
    if fails > 10:
        msg = os_failure_message(vm, unmount_attempt_message(vm, 11))

        def os_failed(t_):
            # src: handle.py daemon_encrypt (lines 2310-2316): marker cleared, error 19. The guest stays in the
            # stripped-down root (rescue mode, data volumes unmounted) until a reboot: data NotMounted.
            ade["encrypt_marker"] = None
            run.daemon = False
            report("error", msg, t_, ENCRYPTION_FAILED)
        run.add(t, os_failed, "OS encryption failed")
        return run
    # src: oscrypto/ubuntu_1604/encryptstates/EncryptBlockDeviceState.py enter (lines 56-61)
    run.add(t, status("success", "OS disk encryption started"), "OS encryption started")
    t += max(T["os_min"], T["os_per_gb"] * vm.os_disk.size_gb)

    def os_copied(t_):
        # src: Ubuntu1604EncryptionStateMachine.start_encryption ends with self._reboot() (line 191); daemon_encrypt
        # clears the marker and writes the final message (lines 2305-2332) racing the reboot, while / is still the
        # tmpfs: HandlerUtil.do_status_report replaces it with RESTART_MESSAGE (substatus os VMRestartPending).
        vm.os_disk.guest_encrypted = True
        ade["encrypt_marker"] = None
        report("success", final_msg, t_)
        if vm.encryption_status()["os"] == "VMRestartPending":
            ext.status["message"] = RESTART_MESSAGE
    run.add(t, os_copied, "OS copied, VMRestartPending")
    t += T["restart_pending"]

    def reboot(t_):
        vm.guest_state = "rebooting"      # open: how a guest reboot shows; modelled: agent Not Ready, stale statuses
    run.add(t, reboot, "guest reboot")
    t += T["reboot"]

    def rebooted(t_):
        # the real root comes back: its status file (last written before the stripdown) is reported again, and its
        # encryption marker (cleared only in the tmpfs) is still there, so the extension runs once more
        vm.guest_state = "normal"
        ade["encrypt_marker"] = VT_CANON[vt]
        if saved.get("status"):
            ext.status = dict(saved["status"], time=t_)
            ext.substatus = dict(saved["substatus"], time=t_) if saved.get("substatus") else None
    run.add(t, rebooted, "guest back, previous status")
    t += T["agent_restart"]
    run.add(t, status("success", ""), "extension re-run after reboot")
    t += T["stamp"]
    if vt_data:
        run.add(t, status("success", "Encrypting 0 data volumes"), "re-run data start")
        t += T["data_start"]
        run.add(t, status("success", "Encryption succeeded for data volumes"), "re-run data done")
    t += T["data_start"]

    def os_done(t_):
        ade["encrypt_marker"] = None
        run.daemon = False
        report("success", final_msg, t_)
    run.add(t, os_done, "OS encryption done")
    return run


def _disable_run(vm, ext, run, T, P, report, status):
    st = vm.encryption_status()
    if st["os"] != "NotEncrypted":
        # src: handle.py disable_encryption (lines 115-116, 176-185): unknown_error (100)
        tb = traceback_text([("handle.py", 116, "disable_encryption",
                              'raise Exception("Disabling encryption is not supported when OS volume is encrypted")')],
                            "Exception: Disabling encryption is not supported when OS volume is encrypted")
        msg = ("Failed to disable the extension with error: Disabling encryption is not supported when OS volume is "
               "encrypted, stack trace: " + tb)
        run.add(P, status("error", msg, UNKNOWN_ERROR), "disable refused")
        return run
    ade = vm.os_disk.ade
    crypt = [d for _unused, d, _unused in vm.data_disks if d.guest_encrypted]

    def cleared(t):
        # src: EncryptionSettingsUtil.py clear_encryption_settings (lines 435-482): data disks only
        for _unused, d, _unused in vm.data_disks:
            d.stamp = None
        ade["decrypt_marker"] = True
        ade["encrypt_marker"] = None
        run.daemon = True
        # src: handle.py disable_encryption reports "Encryption settings cleared" (line 158) and calls
        # start_daemon (line 167), which exits (do_exit, lines 2599-2604) transitioning with an empty message
        # because the disks are not stamped with this sequence number: "Decryption started" (line 170) is
        # never written.
        report("transitioning", "", t)
    run.add(P, cleared, "settings cleared")
    # src: handle.py daemon (lines 2515-2522): sleep 60 s + install_extras, then disable_encryption_all_in_place
    t = P + T["decrypt_start"]
    n = len(crypt)
    run.add(t, status("success", "Decrypting %d data volumes" % n), "decrypting")
    share = float(T["decrypt"]) / max(n, 1)
    for i in range(n):
        for pct in (25, 50, 75):
            run.add(t + share * i + share * pct / 100.0,
                    status("success", "Decrypting data volume %d/%d: %d%%" % (i + 1, n, pct)),
                    "decrypt %d/%d %d%%" % (i + 1, n, pct))
    t += T["decrypt"] if n else T["data_start"]

    def decrypted(t_):
        for d in crypt:
            d.guest_encrypted = False
        ade["decrypt_marker"] = False
        ade["volume_type"] = None
        run.daemon = False
        # src: handle.py daemon_decrypt (lines 2495-2504)
        report("success", "Decryption succeeded", t_)
    run.add(t, decrypted, "decryption succeeded")
    return run


def guest_booted(vm, t):
    """The VM (re)started through ARM: a stripped-down guest (after a failed OS encryption) boots its real root."""
    if getattr(vm, "guest_state", "normal") != "normal":
        vm.guest_state = "normal"


def start(world, vm, ext, op, fast_forward=None):
    now = world.clock.now()
    run = build_run(world, vm, ext, op, now)
    ext.run = run
    world.wake(vm)
    if fast_forward:
        run.elapsed = float(fast_forward)
    advance(world, vm, ext, run, now)
    return run

"""Key custody (issue 16): the Key Vault data plane for secrets, the secrets ADE writes at enable, vault properties
(soft delete, purge protection) and management locks. Keys (KEKs) are in compat.py (get_key); this module adds
their attribute updates.

Sources (messages marked SIM are this simulator's wording):
- Key Vault REST 7.4/7.5 (learn.microsoft.com/rest/api/keyvault/secrets): Set Secret PUT {vault}/secrets/{name}
  {value, contentType, attributes {enabled, nbf, exp}, tags} -> SecretBundle {value, id, contentType, attributes
  {enabled, nbf, exp, created, updated, recoveryLevel, recoverableDays}, tags}; Get Secret GET
  secrets/{name}[/{version}]; Get Secret Versions GET secrets/{name}/versions -> {value: [SecretItem {id,
  attributes, tags, contentType}], nextLink}; Update Secret PATCH secrets/{name}/{version}; Delete Secret DELETE
  secrets/{name} -> DeletedSecretBundle. Unknown secret -> 404 {"error": {"code": "SecretNotFound"}}. Update Key
  PATCH keys/{name}/{version} {attributes, key_ops, tags}.
- Authentication: a request without a bearer token gets 401 with
  `WWW-Authenticate: Bearer authorization="https://login.windows.net/<tenant>", resource="https://vault.azure.net"`
  (Azure/azure-linux-extensions VMEncryption/main/KeyVaultUtil.py get_authorize_uri quotes this header); the SDKs'
  ChallengeAuthPolicy answers it (server.py sends it for /_keyvault/ paths).
- What ADE writes (single pass: the host writes the secret, ade-reference.md 3.1): one secret per enable named by a
  UUID, contentType "BEK" ("Wrapped BEK" with a KEK), tags DiskEncryptionKeyFileName=LinuxPassPhraseFileName,
  DiskEncryptionKeyEncryptionAlgorithm=RSA-OAEP (KeyVaultUtil.py create_secret writes these two tags), MachineName
  =<VM name> and, with a KEK, DiskEncryptionKeyEncryptionKeyURL=<KEK URL> (az keyvault secret list/show of an ADE
  secret as recorded in Microsoft's troubleshooting docs and the Backup restore docs' tag set).
- Vault properties (Microsoft.KeyVault 2023-07-01 VaultProperties): enableSoftDelete, softDeleteRetentionInDays,
  enablePurgeProtection (absent until set: "Setting this property to false is not allowed"), enabledForDiskEncryption.
- Locks (Microsoft.Authorization/locks 2016-09-01 ManagementLocks_ListAtResourceLevel): GET .../providers/
  Microsoft.KeyVault/vaults/{name}/providers/Microsoft.Authorization/locks -> {value: [{id, type, name,
  properties {level CanNotDelete|ReadOnly, notes}}]}. Az PowerShell's ADE prerequisite script adds a CanNotDelete
  lock because "KeyVault may contain AzureDiskEncryption secrets required to boot encrypted VMs" (PR #5921).

Scenario vault keys: purge_protection (bool), locks [{name, level}], access_policies [{object_id, keys, secrets}],
rbac (bool), secrets [{name, versions: [{version, enabled,
nbf, exp, tags, content_type}]}]. Admin: GET/POST /_sim/keyvault/<vault> {enabled_for_disk_encryption, soft_delete,
purge_protection, location, locks}; POST /_sim/keyvault/<vault>/secrets/<name>[/<version>] {enabled, nbf, exp, tags,
deleted}; POST /_sim/keyvault/<vault>/keys/<name>[/<version>] {enabled, exp, key_ops}.
"""

import base64
import os
import re
import uuid

from .compat import get_key
from .errors import ArmError
from .model import VAULT_JSON
from .routing import RGP, ok, route

KV_RESOURCE = "https://vault.azure.net"
PASSPHRASE_FILE = "LinuxPassPhraseFileName"
KV_PATH = r"^/_keyvault/(?P<vault>[^/]+)"


# ---------------------------------------------------------------------------------------------- model

def init_vault(v, vdoc):
    v.purge_protection = bool(vdoc.get("purge_protection", False))
    v.locks = [dict(name=lk.get("name") or "lock%d" % i, level=lk.get("level", "CanNotDelete"),
                    notes=lk.get("notes", "")) for i, lk in enumerate(vdoc.get("locks") or [])]
    # issue 16 item 5: access policies [{object_id, keys [...], secrets [...]}] and the RBAC permission model
    # (Microsoft.KeyVault 2023-07-01 VaultProperties accessPolicies [AccessPolicyEntry {tenantId, objectId,
    # permissions {keys, secrets, certificates}}], enableRbacAuthorization); recovery.py cites why Backup needs them
    v.access_policies = [dict(object_id=a.get("object_id") or "", keys=list(a.get("keys") or []),
                              secrets=list(a.get("secrets") or [])) for a in vdoc.get("access_policies") or []]
    v.rbac = bool(vdoc.get("rbac", False))
    v.secrets = {}
    for sdoc in vdoc.get("secrets") or []:
        for ver in sdoc.get("versions") or [{}]:
            put_secret(v, sdoc["name"], {"value": ver.get("value") or "c2lt", "contentType": ver.get("content_type"),
                                         "tags": ver.get("tags") or {},
                                         "attributes": {"enabled": ver.get("enabled", True), "nbf": ver.get("nbf"),
                                                        "exp": ver.get("exp")}},
                       0, version=ver.get("version"))


def decorate_vault_json(v, props):
    """Called from Vault.to_json: purge protection, as ARM shows it (absent until set)."""
    if getattr(v, "purge_protection", False):
        props["enablePurgeProtection"] = True
    props["accessPolicies"] = [{"tenantId": v.tenant, "objectId": a["object_id"],
                                "permissions": {"keys": a["keys"], "secrets": a["secrets"], "certificates": []}}
                               for a in getattr(v, "access_policies", [])]
    props["enableRbacAuthorization"] = bool(getattr(v, "rbac", False))


VAULT_JSON.append(decorate_vault_json)


def _secrets(v):
    if not hasattr(v, "secrets"):
        v.secrets = {}
    return v.secrets


def put_secret(v, name, body, now, version=None):
    attrs = body.get("attributes") or {}
    s = _secrets(v).get(name.lower())
    if s is None or s.get("deleted"):
        s = _secrets(v)[name.lower()] = {"name": name, "versions": [], "deleted": False}
    item = {"version": version or uuid.uuid4().hex, "value": body.get("value") or "",
            "contentType": body.get("contentType"), "tags": dict(body.get("tags") or {}),
            "enabled": attrs.get("enabled", True) not in (False, "false"), "nbf": attrs.get("nbf"),
            "exp": attrs.get("exp"), "created": int(now), "updated": int(now)}
    s["versions"].append(item)
    return s, item


def find_vault(w, name):
    for s in w.subs.values():
        for r in s.rgs.values():
            v = r.vaults.get(name.lower())
            if v is not None:
                return v
    return None


def ade_secret_url(world, vm, s):
    """The host's part of an enable (single pass): write the passphrase as a secret in the disk-encryption vault
    and return its versioned URL (the stamp's diskEncryptionKey.secretUrl). None when the vault is unknown."""
    v = world.find_by_id(s.get("KeyVaultResourceId") or "", kinds=("vaults",))
    if v is None:
        return None
    kek = s.get("KeyEncryptionKeyURL") or ""
    tags = {"DiskEncryptionKeyFileName": PASSPHRASE_FILE,
            "DiskEncryptionKeyEncryptionAlgorithm": s.get("KeyEncryptionAlgorithm") or "RSA-OAEP",
            "MachineName": vm.name}
    if kek:
        tags["DiskEncryptionKeyEncryptionKeyURL"] = kek
    value = base64.b64encode(os.urandom(24)).decode()
    sec, item = put_secret(v, str(uuid.uuid4()), {"value": value, "contentType": "Wrapped BEK" if kek else "BEK",
                                                  "tags": tags}, world.clock.now())
    return "https://%s.vault.azure.net/secrets/%s/%s" % (v.name, sec["name"], item["version"])


def secret_usable(world, url):
    """Whether the platform could fetch this secret at a cold start now (exists, enabled, inside nbf/exp), with a
    reason when not. SIM: the platform's own fetch is not observable; this follows the Key Vault rules above."""
    m = re.match(r"^https://([^./]+)\.[^/]+/secrets/([^/]+)/?([^/]*)$", url or "")
    if not m:
        return False, "no secret URL"
    v = find_vault(world, m.group(1))
    if v is None:
        return False, "key vault %s not found" % m.group(1)
    if not v.enabled_for_disk_encryption:
        return False, "key vault %s is not enabled for disk encryption" % v.name
    s = _secrets(v).get(m.group(2).lower())
    if s is None or s.get("deleted"):
        return False, "secret %s not found in key vault %s" % (m.group(2), v.name)
    item = _version(s, m.group(3))
    if item is None:
        return False, "secret version %s/%s not found" % (m.group(2), m.group(3))
    if not item["enabled"]:
        return False, "secret %s is disabled" % m.group(2)
    now = world.clock.now()
    if item.get("exp") is not None and now >= float(item["exp"]):
        return False, "secret %s expired" % m.group(2)
    if item.get("nbf") is not None and now < float(item["nbf"]):
        return False, "secret %s is not valid yet" % m.group(2)
    return True, None


def _version(s, ver):
    if not ver:
        return s["versions"][-1] if s["versions"] else None
    for x in s["versions"]:
        if x["version"].lower() == ver.lower():
            return x
    return None


# ---------------------------------------------------------------------------------------------- data plane

def _vault_or_404(req):
    v = find_vault(req.world, req.g("vault"))
    if v is None:
        raise ArmError(404, "VaultNotFound", "Vault %s was not found. (SIM)" % req.g("vault"))
    return v


def _secret_not_found(name):
    return ArmError(404, "SecretNotFound", "A secret with (name/id) %s was not found in this key vault. If you "
                    "recently deleted this secret you may be able to recover it using the correct recovery command. "
                    "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182" % name)


def _attrs(item, v):
    a = {"enabled": item["enabled"], "created": item["created"], "updated": item["updated"],
         "recoveryLevel": ("Recoverable" if getattr(v, "purge_protection", False) else "Recoverable+Purgeable")
         if v.soft_delete else "Purgeable"}
    if v.soft_delete:
        a["recoverableDays"] = 90
    for k in ("nbf", "exp"):
        if item.get(k) is not None:
            a[k] = int(item[k])
    return a


def _sid(v, s, item=None):
    base = "https://%s.vault.azure.net/secrets/%s" % (v.name, s["name"])
    return base + ("/" + item["version"] if item else "")


def secret_bundle(v, s, item, value=True):
    out = {"id": _sid(v, s, item), "attributes": _attrs(item, v), "tags": dict(item["tags"])}
    if item.get("contentType"):
        out["contentType"] = item["contentType"]
    if value:
        out["value"] = item["value"]
    return out


def _live_secret(v, name):
    s = _secrets(v).get(name.lower())
    if s is None or s.get("deleted"):
        raise _secret_not_found(name)
    return s


@route("PUT", KV_PATH + r"/secrets/(?P<name>[^/]+)")
def set_secret(req):
    v = _vault_or_404(req)
    b = req.body if isinstance(req.body, dict) else {}
    if "value" not in b:
        raise ArmError(400, "BadParameter", "Property value is required. (SIM)")
    s, item = put_secret(v, req.g("name"), b, req.world.clock.now())
    return ok(secret_bundle(v, s, item))


@route("GET", KV_PATH + r"/secrets/(?P<name>[^/]+)/versions")
def list_secret_versions(req):
    v = _vault_or_404(req)
    s = _live_secret(v, req.g("name"))
    return ok({"value": [secret_bundle(v, s, x, value=False) for x in s["versions"]], "nextLink": None})


@route("GET", KV_PATH + r"/secrets/(?P<name>[^/]+)(/(?P<ver>[^/]*))?")
def get_secret(req):
    v = _vault_or_404(req)
    s = _live_secret(v, req.g("name"))
    item = _version(s, req.g("ver"))
    if item is None:
        raise _secret_not_found("%s/%s" % (req.g("name"), req.g("ver")))
    if not item["enabled"]:
        raise ArmError(403, "Forbidden", "Operation get is not allowed on a disabled secret.")
    return ok(secret_bundle(v, s, item))


@route("PATCH", KV_PATH + r"/secrets/(?P<name>[^/]+)(/(?P<ver>[^/]*))?")
def update_secret(req):
    v = _vault_or_404(req)
    s = _live_secret(v, req.g("name"))
    item = _version(s, req.g("ver"))
    if item is None:
        raise _secret_not_found("%s/%s" % (req.g("name"), req.g("ver")))
    _apply_secret_patch(item, req.body if isinstance(req.body, dict) else {}, req.world.clock.now())
    return ok(secret_bundle(v, s, item, value=False))


def _apply_secret_patch(item, b, now):
    a = b.get("attributes") or {}
    if "enabled" in a:
        item["enabled"] = a["enabled"] not in (False, "false")
    for k in ("nbf", "exp"):
        if k in a:
            item[k] = a[k]
    if "tags" in b:
        item["tags"] = dict(b["tags"] or {})
    if "contentType" in b:
        item["contentType"] = b["contentType"]
    item["updated"] = int(now)


@route("DELETE", KV_PATH + r"/secrets/(?P<name>[^/]+)")
def delete_secret(req):
    v = _vault_or_404(req)
    s = _live_secret(v, req.g("name"))
    s["deleted"] = True
    out = secret_bundle(v, s, s["versions"][-1], value=False)
    out.update({"recoveryId": "https://%s.vault.azure.net/deletedsecrets/%s" % (v.name, s["name"]),
                "deletedDate": int(req.world.clock.now())})
    return ok(out)


@route("PATCH", KV_PATH + r"/keys/(?P<name>[^/]+)(/(?P<ver>[^/]*))?")
def update_key(req):
    v = _vault_or_404(req)
    _patch_key(v, req.g("name"), req.g("ver"), req.body if isinstance(req.body, dict) else {})
    return get_key(req)


def _patch_key(v, name, ver, b):
    k = getattr(v, "keys", {}).get(name.lower())
    if k is None:
        raise ArmError(404, "KeyNotFound", "A key with (name/id) %s was not found in this key vault." % name)
    items = [x for x in k["versions"] if not ver or x["version"].lower() == ver.lower()]
    if not items:
        raise ArmError(404, "KeyNotFound", "A key with (name/id) %s/%s was not found in this key vault." % (name, ver))
    item = items[-1]
    a = b.get("attributes") or b
    if "enabled" in a:
        item["enabled"] = bool(a["enabled"])
    for key in ("exp", "nbf"):
        if key in a:
            item[key] = a[key]
    if "key_ops" in b:
        item["key_ops"] = list(b["key_ops"])


# ---------------------------------------------------------------------------------------------- locks (ARM)

def _lock_json(v, lk):
    return {"id": "%s/providers/Microsoft.Authorization/locks/%s" % (v.id, lk["name"]),
            "type": "Microsoft.Authorization/locks", "name": lk["name"],
            "properties": {"level": lk["level"], "notes": lk.get("notes", "")}}


@route("GET", RGP + r"/providers/Microsoft\.KeyVault/+vaults/(?P<name>[^/]+)/providers/Microsoft\.Authorization/locks")
def list_vault_locks(req):
    r = req.world.rg(req.g("sub"), req.g("rg"))
    v = r.vaults.get(req.g("name").lower())
    if v is None:
        raise ArmError(404, "ResourceNotFound", "The Resource 'Microsoft.KeyVault/vaults/%s' under resource group "
                       "'%s' was not found." % (req.g("name"), req.g("rg")))
    return ok({"value": [_lock_json(v, lk) for lk in getattr(v, "locks", [])]})


# ---------------------------------------------------------------------------------------------- admin

def admin(world, method, p, body):
    """/_sim/keyvault/...; None when ``p`` is not this path."""
    m = re.match(r"^/keyvault/([^/]+)(/(secrets|keys)/([^/]+)(/([^/]+))?)?$", p)
    if not m:
        return None
    v = find_vault(world, m.group(1))
    if v is None:
        return 404, {"error": {"code": "VaultNotFound", "message": "vault %s not in the scenario" % m.group(1)}}, {}
    if m.group(3) == "keys" and method == "POST":
        try:
            _patch_key(v, m.group(4), m.group(6), body)
        except ArmError as e:
            return e.status, e.to_body(), {}
        return 200, {"ok": True}, {}
    if m.group(3) == "secrets":
        s = _secrets(v).get(m.group(4).lower())
        if s is None:
            return 404, {"error": {"code": "SecretNotFound", "message": m.group(4)}}, {}
        if method == "POST":
            if "deleted" in body:
                s["deleted"] = bool(body.pop("deleted"))
            item = _version(s, m.group(6))
            if item is None:
                return 404, {"error": {"code": "SecretNotFound", "message": "version %s" % m.group(6)}}, {}
            _apply_secret_patch(item, {"attributes": body, **({"tags": body["tags"]} if "tags" in body else {})},
                                world.clock.now())
        return 200, {"name": s["name"], "deleted": s.get("deleted", False),
                     "versions": [secret_bundle(v, s, x, value=False) for x in s["versions"]]}, {}
    if method == "POST":
        for k, attr in (("enabled_for_disk_encryption", "enabled_for_disk_encryption"), ("soft_delete", "soft_delete"),
                        ("purge_protection", "purge_protection"), ("location", "location")):
            if k in body:
                setattr(v, attr, body[k] if k == "location" else bool(body[k]))
        if "locks" in body:
            v.locks = [dict(name=lk.get("name") or "lock%d" % i, level=lk.get("level", "CanNotDelete"),
                            notes=lk.get("notes", "")) for i, lk in enumerate(body["locks"] or [])]
    return 200, {"name": v.name, "id": v.id, "location": v.location,
                 "enabled_for_disk_encryption": v.enabled_for_disk_encryption, "soft_delete": v.soft_delete,
                 "purge_protection": getattr(v, "purge_protection", False), "locks": getattr(v, "locks", []),
                 "secrets": [{"name": s["name"], "deleted": s.get("deleted", False), "versions": [
                     secret_bundle(v, s, x, value=False) for x in s["versions"]]} for s in _secrets(v).values()]}, {}

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""What the ADE retirement (2028-09-15) means for one VM, and its documented way forward.

Pure decision (``retirement_plan``) apart from the two thin reads it needs (``read_feature_state``,
``read_size_capabilities``). Sources (MicrosoftDocs/azure-compute-docs unless noted):

- Retirement: include azure-disk-encryption-retirement.md in every ADE article - ADE retires on 2028-09-15;
  from then on ADE-encrypted disks fail to unlock at reboot; use encryption at host.
- articles/virtual-machines/disk-encryption-migrate.md (ms.date 2025-09-23): no in-place conversion; Linux can
  disable ADE on data volumes only - a VM whose OS disk is ADE-encrypted needs a new VM with a new OS disk;
  disks that carried ADE keep a UDE flag (snapshots and Copy keep it too), so new disks come from the Upload
  method plus a page-blob copy.
- articles/virtual-machines/includes/virtual-machines-disks-encryption-at-host-restrictions.md: encryption at
  host cannot be enabled on VMs that currently or ever had ADE; existing VMs must be deallocated and
  reallocated to be encrypted.
- articles/virtual-machines/linux/disks-enable-host-based-encryption-cli.md: the subscription needs the
  Microsoft.Compute/EncryptionAtHost feature (az feature register / show, state 'Registered'); supported sizes
  are those whose resource SKU has capability EncryptionAtHostSupported == 'True' (az vm list-skus);
  enable with az vm update --set securityProfile.encryptionAtHost=true.
- REST: Microsoft.Features 2021-07-01 (Azure/azure-rest-api-specs specification/resources/resource-manager/
  Microsoft.Features/stable/2021-07-01/features.json, FeatureResult.properties.state);
  Resource SKUs 2021-07-01 (specification/compute/resource-manager/Microsoft.Compute/Skus/stable/2021-07-01/
  skus.json, ResourceSku.capabilities[{name, value}]).
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

RETIREMENT_DATE = datetime.date(2028, 9, 15)
FEATURE_NAMESPACE = 'Microsoft.Compute'
FEATURE_NAME = 'EncryptionAtHost'
FEATURES_API = '2021-07-01'
SKUS_API = '2021-07-01'
EAH_CAPABILITY = 'EncryptionAtHostSupported'

OS_ADE_STATES = ('Encrypted', 'EncryptionInProgress', 'VMRestartPending')
DATA_ADE_STATES = ('Encrypted', 'EncryptionInProgress', 'DecryptionInProgress')
MIGRATE_DOC = 'learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate'
EAH_DOC = 'learn.microsoft.com/azure/virtual-machines/linux/disks-enable-host-based-encryption-cli'


def feature_path(subscription_id):
    return '/subscriptions/{0}/providers/Microsoft.Features/providers/{1}/features/{2}'.format(
        subscription_id, FEATURE_NAMESPACE, FEATURE_NAME)


def skus_url(subscription_id, location):
    return ("/subscriptions/{0}/providers/Microsoft.Compute/skus?api-version={1}"
            "&$filter=location%20eq%20%27{2}%27".format(subscription_id, SKUS_API, normalise_location(location)))


def normalise_location(loc):
    return (loc or '').replace(' ', '').lower()


def _props(d):
    return (d or {}).get('properties') or d or {}


def feature_state_from(body):
    """FeatureResult -> 'Registered', 'NotRegistered', 'Registering', 'Unregistering', ... ; None body -> NotFound."""
    if body is None:
        return 'NotFound'
    return _props(body).get('state') or 'Unknown'


def capabilities_from(skus_body_values, location):
    """[ResourceSku] -> {size_lower: {capability: value}} for virtualMachines offered in ``location``."""
    loc = normalise_location(location)
    out = {}
    for sku in skus_body_values or []:
        if (sku.get('resourceType') or '').lower() != 'virtualmachines':
            continue
        locs = [normalise_location(x) for x in sku.get('locations') or []]
        if locs and loc not in locs:
            continue
        caps = dict(((c.get('name') or ''), c.get('value')) for c in sku.get('capabilities') or [])
        restricted = [r for r in sku.get('restrictions') or [] if (r.get('reasonCode') or '') == 'NotAvailableForSubscription'
                      and (r.get('type') or '') == 'Location']
        if restricted:
            caps['_restricted'] = 'NotAvailableForSubscription'
        out[(sku.get('name') or '').lower()] = caps
    return out


def ade_footprint(status):
    """Which volumes carry (or are getting) ADE, from the status dict of status.compute_status. Pure.
    Returns dict(os=bool, data=bool, any=bool, dual_pass=bool)."""
    st = status or {}
    ext = st.get('extension') or {}
    vt = (st.get('volume_type') or '').lower()
    enabling = (st.get('operation') or '').startswith('EnableEncryption')
    # Single pass stamps every disk, the OS disk too, even for VolumeType Data (how-to-verify-encryption-status.md),
    # so a stamp alone proves OS encryption only when no extension tells otherwise (then: assume the worst).
    os_ade = bool(st.get('os_volume_encrypted') in OS_ADE_STATES or (enabling and vt in ('os', 'all'))
                  or (st.get('os_disk_stamped') and not ext))
    data_ade = bool(st.get('data_volumes_encrypted') in DATA_ADE_STATES or st.get('data_disks_stamped')
                    or (enabling and vt in ('data', 'all')))
    dual = st.get('encryption_mode') == 'dual_pass'
    return dict(os=os_ade, data=data_ade, any=bool(os_ade or data_ade or ext), dual_pass=dual)


def eah_readiness(vm, feature_state, size_caps):
    """Can encryption at host be turned on for this VM's size in this subscription? Pure.
    size_caps: the capability dict of the VM's size (None when unknown)."""
    props = _props(vm)
    size = (props.get('hardwareProfile') or {}).get('vmSize')
    enabled = (props.get('securityProfile') or {}).get('encryptionAtHost') is True
    reasons = []
    if feature_state != 'Registered':
        if feature_state in (None, 'Unknown'):
            reasons.append('the EncryptionAtHost feature state of the subscription could not be read')
        else:
            reasons.append("the subscription's Microsoft.Compute/EncryptionAtHost feature is {0}: run az feature "
                           "register --namespace Microsoft.Compute --name EncryptionAtHost (then az provider register "
                           "-n Microsoft.Compute)".format(feature_state))
    if size_caps is None:
        size_supported = None
        reasons.append('VM size {0} is not in the resource SKU list of its region (support unknown)'.format(size))
    else:
        size_supported = str(size_caps.get(EAH_CAPABILITY, '')).lower() == 'true'
        if not size_supported:
            reasons.append('VM size {0} does not support encryption at host (resource SKU capability {1} is not '
                           'True): resize to a size that does'.format(size, EAH_CAPABILITY))
    possible = feature_state == 'Registered' and bool(size_supported)
    return dict(enabled=enabled, feature_state=feature_state, size=size, size_supported=size_supported,
                possible=possible or enabled, reasons=[] if enabled else reasons)


def days_left(today=None):
    today = today or datetime.date.today()
    return (RETIREMENT_DATE - today).days


def retirement_plan(vm, status, feature_state, size_caps, blockers=None, today=None):
    """For one VM: what the ADE retirement means and the documented path. Pure.

    Returns dict(retirement_date, days_left, category, path, message, ade_volumes, encryption_at_host).
    category: encryption_at_host | no_ade | ade_data_only | ade_os | not_linux
    path:     none | enable_encryption_at_host | prepare_encryption_at_host | migrate | rebuild_vm
    """
    name = (vm or {}).get('name') or '?'
    eah = eah_readiness(vm, feature_state, size_caps)
    fp = ade_footprint(status)
    out = dict(retirement_date=RETIREMENT_DATE.isoformat(), days_left=days_left(today),
               ade_volumes=('OS+Data' if fp['os'] and fp['data'] else 'OS' if fp['os'] else
                            'Data' if fp['data'] else ('extension only' if fp['any'] else 'none')),
               encryption_at_host=eah)
    ids = [b['id'] for b in blockers or []]
    when = 'by {0} ({1} days left)'.format(out['retirement_date'], out['days_left'])
    if 'windows_vm' in ids:
        out.update(category='not_linux', path='none', message=(
            "VM {0} runs Windows: outside this collection; follow {1} for Windows ADE".format(name, MIGRATE_DOC)))
        return out
    if fp['os']:
        out.update(category='ade_os', path='rebuild_vm', message=(
            "VM {0} has ADE on its OS volume{1}. Linux cannot decrypt an ADE OS volume and encryption at host "
            "cannot be enabled on a VM that ever had ADE, so the documented way is a NEW VM with encryption at host "
            "and a new OS disk, with the data copied at the application level, {2}; after that date the encrypted "
            "disks fail to unlock at reboot ({3}). The migrate playbook writes this rebuild plan; it does not "
            "touch the VM".format(name, ' (dual pass)' if fp['dual_pass'] else '', when, MIGRATE_DOC)))
        return out
    if fp['any']:
        out.update(category='ade_data_only', path='migrate', message=(
            "VM {0} has ADE on data volumes only{1}: disable ADE on the data volumes, remove the extension, copy "
            "each disk to a new disk made with the Upload method (ADE disks keep a UDE flag through snapshots and "
            "Copy) and turn encryption at host on, {2} - the migrate playbook does this ({3}){4}".format(
                name, ' (dual pass)' if fp['dual_pass'] else '', when, MIGRATE_DOC,
                '' if eah['possible'] else '. Before that: ' + '; '.join(eah['reasons']))))
        return out
    if eah['enabled']:
        out.update(category='encryption_at_host', path='none', message=(
            "VM {0} already uses encryption at host and has no ADE: the ADE retirement does not concern it"
            .format(name)))
        return out
    if eah['possible']:
        out.update(category='no_ade', path='enable_encryption_at_host', message=(
            "VM {0} has no ADE: use encryption at host, not ADE (ADE retires {1}). The subscription has the "
            "EncryptionAtHost feature and size {2} supports it: deallocate, az vm update --set "
            "securityProfile.encryptionAtHost=true, start ({3})".format(name, out['retirement_date'], eah['size'],
                                                                        EAH_DOC)))
        return out
    out.update(category='no_ade', path='prepare_encryption_at_host', message=(
        "VM {0} has no ADE: use encryption at host, not ADE (ADE retires {1}); first: {2} ({3})".format(
            name, out['retirement_date'], '; '.join(eah['reasons']), EAH_DOC)))
    return out


def new_ade_advice(vm, plan):
    """Text of the warning given before NEW ADE on a VM that could use encryption at host, or None. Pure."""
    if not plan or plan.get('category') != 'no_ade' or not plan['encryption_at_host']['possible']:
        return None
    return ("VM {0} could use encryption at host instead of new ADE: the subscription has the EncryptionAtHost "
            "feature registered and size {1} supports it. ADE retires on {2} (encrypted disks then fail to unlock "
            "at reboot) and a VM that ever had ADE can never get encryption at host in place. Prefer: deallocate, "
            "az vm update --set securityProfile.encryptionAtHost=true, start ({3})".format(
                (vm or {}).get('name'), plan['encryption_at_host']['size'], plan['retirement_date'], EAH_DOC))


# ---- thin reads (through the session's compute pipeline: auth, retries, CA bundle) -------------------------

def read_feature_state(session, subscription_id=None):
    """State of Microsoft.Compute/EncryptionAtHost for the subscription; 'Unknown' when it cannot be read
    (for example the caller lacks Microsoft.Features/providers/features/read)."""
    try:
        return feature_state_from(session.arm_get(feature_path(subscription_id or session.subscription_id),
                                                  FEATURES_API))
    except Exception:  # pylint: disable=broad-except
        return 'Unknown'


def read_size_capabilities(session, location, subscription_id=None):
    """{size_lower: {capability: value}} for VM sizes in ``location`` (one paged list call), or None."""
    try:
        from azure.core.rest import HttpRequest  # pylint: disable=import-outside-toplevel
    except ImportError:
        return None
    url = skus_url(subscription_id or session.subscription_id, location)
    values = []
    try:
        while url:
            resp = session.compute.send_request(HttpRequest('GET', url))
            resp.raise_for_status()
            body = resp.json()
            values.extend(body.get('value') or [])
            url = body.get('nextLink')
    except Exception:  # pylint: disable=broad-except
        return None
    return capabilities_from(values, location)


class EahContext:
    """Caches the feature state (one GET per run) and the SKU capabilities (one list per region)."""

    def __init__(self, session):
        self.session = session
        self._feature = None
        self._caps = {}

    def feature_state(self):
        if self._feature is None:
            self._feature = read_feature_state(self.session)
        return self._feature

    def size_caps(self, vm):
        loc = normalise_location((vm or {}).get('location'))
        if loc not in self._caps:
            self._caps[loc] = read_size_capabilities(self.session, loc)
        caps = self._caps[loc]
        if caps is None:
            return None
        size = ((_props(vm).get('hardwareProfile') or {}).get('vmSize') or '').lower()
        return caps.get(size)

    def plan(self, vm, status, blockers=None, today=None):
        return retirement_plan(vm, status, self.feature_state(), self.size_caps(vm), blockers, today)


# ---- the migrate plan (disk-encryption-migrate.md), per VM ---------------------------------------------------------

def migration_plan(row):
    """The documented steps for one vm_encryption_info row (with ``retirement``). Pure.
    Returns dict(vm, resource_group, path, automated (bool), steps [str], source)."""
    ret = row.get('retirement') or {}
    name, rg = row.get('name'), row.get('resource_group')
    path = ret.get('path') or 'unknown'
    eah = ret.get('encryption_at_host') or {}
    pre = ['{0}'.format(r) for r in eah.get('reasons') or []]
    steps = []
    if path == 'rebuild_vm':
        steps = [
            'Back up: snapshot every disk of {0} (azure_ade.linux.vm_snapshot) and/or Azure Backup; keep them until '
            'the new VM is verified'.format(name),
            'Do NOT disable ADE: Linux cannot decrypt an ADE-encrypted OS volume, and the old disks carry the UDE '
            'flag (snapshots and Copy keep it), so they can never move to encryption at host',
        ] + ['Prerequisite: ' + r for r in pre] + [
            'Create a NEW VM {0}-new in {1} with encryption at host: az vm create -g {1} -n {0}-new --image <same '
            'distro> --size {2} --encryption-at-host true (new OS disk; new empty data disks)'.format(
                name, rg, eah.get('size') or '<size>'),
            'Copy the data at the application level (rsync/scp, backup/restore of the application), configuration '
            'files and settings; update /etc/fstab on the new VM with the new UUIDs and mount -a',
            'Verify: az vm show -g {0} -n {1}-new --query securityProfile.encryptionAtHost (true); applications and '
            'data checked'.format(rg, name),
            'Only then delete {0} and its disks (and the ADE secrets in Key Vault after the retention you need)'
            .format(name),
        ]
    elif path == 'migrate':
        steps = [
            'Back up: snapshot every disk of {0} before anything changes'.format(name),
        ] + ['Prerequisite: ' + r for r in pre] + [
            'Disable ADE on the data volumes, then remove the extension, in that order (R6.2): '
            'azure_ade.linux.vm_encryption state=decrypted (or the disable playbook)',
            'Wait until the guest shows no dm-crypt mapping: cryptsetup status /dev/mapper/<name>, lsblk (no crypt)',
            'For EVERY disk (the OS disk too - single pass stamped it): az disk create --for-upload '
            '--upload-size-bytes <diskSizeBytes + 512> (--os-type Linux --hyper-v-generation <gen> for the OS disk), '
            'az disk grant-access --access-level Write on the new disk and Read on the old one, page-blob copy '
            '(azcopy copy <read SAS> <write SAS> --blob-type PageBlob), az disk revoke-access on both',
            'Deallocate {0}, swap in the new disks (or create {0}-new from them), az vm update --set '
            'securityProfile.encryptionAtHost=true, start'.format(name),
            'Verify both sides: guest - same filesystems and UUIDs, nothing mapped by dm-crypt; platform - '
            'securityProfile.encryptionAtHost true, no ADE extension, no encryption settings on the disks',
            'Keep the old disks until verified; on failure swap the old disks back',
        ]
    elif path == 'enable_encryption_at_host':
        steps = ['Deallocate {0}: az vm deallocate -g {1} -n {0}'.format(name, rg),
                 'az vm update -g {0} -n {1} --set securityProfile.encryptionAtHost=true'.format(rg, name),
                 'az vm start -g {0} -n {1}; verify az vm show --query securityProfile.encryptionAtHost'.format(rg, name)]
    elif path == 'prepare_encryption_at_host':
        steps = ['Prerequisite: ' + r for r in pre] + [
            'Then: deallocate, az vm update --set securityProfile.encryptionAtHost=true, start']
    return dict(vm=name, resource_group=rg, path=path, category=ret.get('category'), automated=path == 'migrate',
                message=ret.get('message'), steps=steps, source=MIGRATE_DOC)

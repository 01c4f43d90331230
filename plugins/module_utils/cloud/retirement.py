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
    # Read after the last change: a VM put back on its pre-encryption disks (rollout record 'restored') keeps the
    # extension's last settings (VolumeType All) until the extension goes; they say nothing about its volumes then.
    if ((st.get('rollout') or {}).get('stage') == 'restored' or (st.get('migration') or {}).get('stage') == 'restored') \
            and st.get('phase') != 'in_progress':
        enabling = False
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
    category: encryption_at_host | no_ade | ade_extension_only | ade_data_only | ade_os | not_linux
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
    if fp['any'] and not fp['data']:
        out.update(category='ade_extension_only', path='migrate', message=(
            "VM {0} carries the ADE extension but no volume is encrypted (for example put back on its "
            "pre-encryption disks): remove the extension and move onto new disks with encryption at host, {1} - the "
            "migrate playbook does this ({2}){3}".format(
                name, when, MIGRATE_DOC, '' if eah['possible'] else '. Before that: ' + '; '.join(eah['reasons']))))
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
            resp = session.send_request(HttpRequest('GET', url))
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


# ---- the whole inventory of what ADE touched, per subscription (issue 17) -----------------------------------------
#
# Besides VMs, the retirement concerns everything that carries ADE settings or the UDE flag: scale sets (ADE in
# the model), restore points, snapshots, images and disks (disk-encryption-migrate.md: disks that were ADE-encrypted
# keep the UDE flag after decryption, snapshots and Copy disks keep it too; encryption at host cannot be enabled on
# a VM that ever had ADE). The UDE flag itself is not a property ARM shows: a disk carries it when it shows ADE
# settings (encryptionSettingsCollection, whose encryptionSettingsVersion "cannot be overwritten" once set -
# compute REST EncryptionSettingsCollection), when it was copied or snapshotted from one that does (creationData
# lineage), or when it belongs to a VM that has or had ADE.

VM_PATHS = {'rebuild_vm': 'rebuild', 'migrate': 'migrate'}
INVENTORY_KINDS = ('vm', 'scale_set', 'disk', 'snapshot', 'image', 'restore_point')


def _lower(x):
    return (x or '').lower()


def _esc_ade(props):
    esc = (props or {}).get('encryptionSettingsCollection') or {}
    return bool(esc.get('enabled') or esc.get('encryptionSettingsVersion') or esc.get('encryptionSettings'))


def vm_inventory_path(plan):
    """migrate | rebuild | nothing (the VM's retirement plan's path, as the inventory names it). Pure."""
    return VM_PATHS.get((plan or {}).get('path'), 'nothing')


def _item(kind, res, carries, action, why, days, **kw):
    rid = res.get('id') or ''
    parts = rid.split('/')
    out = dict(kind=kind, name=res.get('name') or (parts[-1] if parts else ''), id=rid,
               resource_group=parts[4] if len(parts) > 4 else None,
               subscription_id=parts[2] if len(parts) > 2 else None,
               carries=carries, action=action, why=why, days_left=days)
    out.update(kw)
    return out


def ade_inventory(vm_rows, scale_sets=(), disks=(), snapshots=(), images=(), restore_points=(), today=None):
    """Everything in one subscription that ADE touched, with what to do before the retirement. Pure.

    vm_rows: vm_encryption_info rows (with ``retirement``, ``data_disks_stamped``, ``id``); scale_sets, disks,
    snapshots, images: REST dicts of the list calls; restore_points: REST dicts of restore points (each with
    ``collection`` = its collection's REST dict). Returns dict(retirement_date, days_left, entries, summary);
    an item: dict(kind, name, id, resource_group, carries (ade_settings | ude_flag | ade_extension | none), action,
    why, days_left, + per kind: path (vm, scale_set), vm (disk)).
    """
    days = days_left(today)
    items = []
    ade_vm_ids = set()
    vm_path = {}
    for row in vm_rows or []:
        plan = row.get('retirement') or {}
        path = vm_inventory_path(plan)
        fp = ade_footprint(row)
        vid = _lower(row.get('id'))
        if fp['any'] or plan.get('category') in ('ade_os', 'ade_data_only', 'ade_extension_only'):
            ade_vm_ids.add(vid)
        vm_path[vid] = (row.get('name'), path)
        carries = 'ade_settings' if (fp['os'] or fp['data']) else ('ade_extension' if fp['any'] else 'none')
        if path == 'rebuild':
            action = ('rebuild: a new VM with encryption at host (azure_ade.linux.rebuild), data copied guest to '
                      'guest, the old VM kept until verified')
        elif path == 'migrate':
            action = 'migrate: disable ADE on data volumes, Upload copies of the disks, encryption at host (migrate)'
        else:
            nxt = plan.get('path')
            action = 'nothing for ADE' + ('' if nxt in (None, 'none') else ' (next: {0})'.format(nxt))
        items.append(_item('vm', row, carries, action, plan.get('message') or '', days, path=path,
                           category=plan.get('category')))
    # disks and snapshots: ADE settings, lineage (Copy / snapshot keep the UDE flag), owner VM with ADE
    marked = {}
    for d in list(disks or []) + list(snapshots or []):
        if _esc_ade(d.get('properties')):
            marked[_lower(d.get('id'))] = 'ade_settings'
    changed = True
    while changed:
        changed = False
        for d in list(disks or []) + list(snapshots or []):
            key = _lower(d.get('id'))
            if key in marked:
                continue
            props = d.get('properties') or {}
            src = _lower((props.get('creationData') or {}).get('sourceResourceId'))
            owner = _lower(d.get('managedBy'))
            if (src and src in marked) or (owner and owner in ade_vm_ids):
                marked[key] = 'ude_flag'
                changed = True
    for d in disks or []:
        key = _lower(d.get('id'))
        if key not in marked:
            continue
        owner = _lower(d.get('managedBy'))
        props = d.get('properties') or {}
        src = (props.get('creationData') or {}).get('sourceResourceId')
        if owner:
            vname, vpath = vm_path.get(owner, (owner.split('/')[-1], 'unknown'))
            action = 'with its VM {0} ({1})'.format(vname, vpath)
            why = ('disk of VM {0}: ADE settings on the disk' if marked[key] == 'ade_settings' else
                   'disk of VM {0}, which has or had ADE: the UDE flag stays after decryption').format(vname)
        else:
            vname = None
            action = ('copy the data you need onto a disk made with the Upload method, then delete it (an ADE disk '
                      'fails to unlock after the retirement; a UDE-flagged disk never takes encryption at host)')
            why = ('unattached disk with ADE settings' if marked[key] == 'ade_settings' else
                   'unattached disk copied from {0}, which carried ADE (Copy keeps the UDE flag)'.format(src))
        items.append(_item('disk', d, marked[key], action, why, days, vm=vname))
    for sn in snapshots or []:
        key = _lower(sn.get('id'))
        if key not in marked:
            continue
        src = ((sn.get('properties') or {}).get('creationData') or {}).get('sourceResourceId')
        items.append(_item('snapshot', sn, marked[key], (
            'keep only until the VM is migrated or rebuilt and verified, then delete it (azure_ade.linux.vm_snapshot '
            'state=absent); a disk restored from it is an ADE disk'), 'snapshot of {0}{1}'.format(
                src or 'an ADE disk', ' (ADE settings)' if marked[key] == 'ade_settings' else ' (UDE flag)'), days))
    for img in images or []:
        props = img.get('properties') or {}
        od = (props.get('storageProfile') or {}).get('osDisk') or {}
        srcs = [_lower(((props.get('sourceVirtualMachine') or {}).get('id'))),
                _lower((od.get('snapshot') or {}).get('id')), _lower((od.get('managedDisk') or {}).get('id'))]
        srcs += [_lower((x.get('snapshot') or {}).get('id')) or _lower((x.get('managedDisk') or {}).get('id'))
                 for x in (props.get('storageProfile') or {}).get('dataDisks') or []]
        hit = [x for x in srcs if x and (x in marked or x in ade_vm_ids)]
        if hit:
            items.append(_item('image', img, 'ude_flag', (
                'make the image again from a source without ADE (a VM with encryption at host) and delete this one: '
                'VMs made from it get disks from an ADE source'), 'image made from {0}, which has or had ADE'.format(
                    hit[0].split('/')[-1]), days))
    for rp in restore_points or []:
        props = rp.get('properties') or {}
        meta = (props.get('sourceMetadata') or {}).get('storageProfile') or {}
        dks = [meta.get('osDisk') or {}] + list(meta.get('dataDisks') or [])
        settings = any((x.get('encryptionSettings') or {}).get('enabled') or
                       (x.get('encryptionSettings') or {}).get('diskEncryptionKey') for x in dks)
        src_vm = _lower((((rp.get('collection') or {}).get('properties') or {}).get('source') or {}).get('id'))
        disk_ids = [_lower((x.get('managedDisk') or {}).get('id')) for x in dks]
        if settings or src_vm in ade_vm_ids or any(x in marked for x in disk_ids if x):
            items.append(_item('restore_point', rp, 'ade_settings' if settings else 'ude_flag', (
                'keep only until the VM is migrated or rebuilt and verified, then delete it (az restore-point '
                'delete); restoring it gives ADE disks'), 'restore point of VM {0}{1}'.format(
                    src_vm.split('/')[-1] or '?', ' with ADE settings on its disks' if settings else ''), days,
                collection=(rp.get('collection') or {}).get('name')))
    for ss in scale_sets or []:
        ext = _vmss_ade_extension(ss)
        if ext is None:
            continue
        mode = (((ss.get('properties') or {}).get('upgradePolicy') or {}).get('mode') or 'Manual')
        items.append(_item('scale_set', ss, 'ade_extension', (
            'model change: remove the ADE extension from virtualMachineProfile.extensionProfile (after '
            'DisableEncryption on the data volumes) and set virtualMachineProfile.securityProfile.encryptionAtHost=true; '
            'instance upgrade: {0}; the instances\' disks keep the UDE flag, so replace the instances (scale out new '
            'ones, delete the old) rather than only upgrading them'.format(
                'az vmss update-instances --instance-ids "*" (upgrade mode Manual)' if mode == 'Manual' else
                'the instances take the model by themselves (upgrade mode {0})'.format(mode))),
            'ADE extension in the scale-set model (VolumeType {0})'.format(
                (ext.get('settings') or {}).get('VolumeType') or '?'), days, path='scale_set_model_change',
            upgrade_mode=mode))
    summary = dict((k, 0) for k in INVENTORY_KINDS)
    for it in items:
        if it['kind'] != 'vm' or it['carries'] != 'none':
            summary[it['kind']] += 1
    paths = {}
    for it in items:
        if it['kind'] == 'vm':
            paths[it['path']] = paths.get(it['path'], 0) + 1
    summary['vm_paths'] = paths
    return dict(retirement_date=RETIREMENT_DATE.isoformat(), days_left=days, entries=items, summary=summary)


def _vmss_ade_extension(ss):
    prof = ((ss or {}).get('properties') or {}).get('virtualMachineProfile') or {}
    for e in (prof.get('extensionProfile') or {}).get('extensions') or []:
        p = e.get('properties') or {}
        if _lower(p.get('publisher')) == 'microsoft.azure.security' and \
                _lower(p.get('type')) in ('azurediskencryptionforlinux', 'azurediskencryption'):
            return dict(name=e.get('name'), settings=p.get('settings') or {})
    return None


def migrate_page_row(plan, row=None):
    """One VM of the migrate page (fleet_report kind migrate): its plan's steps on the timeline, the migration
    record's stage as the outcome, what is kept and what is left to confirm. Pure (presentation only)."""
    row = row or {}
    rec = row.get('migration') or {}
    stage = rec.get('stage')
    path = plan.get('path') or 'unknown'
    steps = [dict(step=s, at=None, state='planned') for s in plan.get('steps') or []]
    if stage:
        steps.append(dict(step='migration record: {0}'.format(stage), at=rec.get('at'),
                          state='done' if stage == 'verified' else 'in_progress'))
    kept, confirm = [], []
    if path in ('migrate', 'rebuild_vm') and stage != 'verified':
        kept.append('the snapshot set taken before the change (until the VM is verified)')
        if path == 'rebuild_vm':
            kept.append('the old VM {0} with its disks and the Key Vault secrets of its ADE keys'.format(plan.get('vm')))
        else:
            kept.append('the old disks of {0} (ade_migrate_delete_old_disks=false)'.format(plan.get('vm')))
    if stage in ('swapped', 'copying'):
        confirm.append('finish the migration: run migrate with ade_migrate_execute=true again (it resumes)')
    elif path == 'rebuild_vm':
        confirm.append('rebuild {0}: a new VM with encryption at host, then verify it and confirm (state=verified)'
                       .format(plan.get('vm')))
    elif path == 'migrate' and stage != 'verified':
        confirm.append('run migrate with ade_migrate_execute=true for {0}'.format(plan.get('vm')))
    return dict(host=plan.get('vm'), vm=plan.get('vm'), resource_group=plan.get('resource_group'),
                outcome=stage or ('planned' if path not in ('none', 'unknown') else 'done'),
                phase=path, retirement=path, message=plan.get('message') or '', steps=steps, kept=kept,
                to_confirm=confirm)


# ---- the encrypt report, read after the last change (issue 17) --------------------------------------------------

def read_again_groups(hosts, hostvars):
    """[{subscription_id, resource_group, names}] of every VM the run identified (one read per resource group): a
    failure at any stage after the snapshot (enable as well as wait) may restore the VM, so the report reads each
    identified VM again rather than only those it waited on. Pure."""
    groups = {}
    order = []
    for h in hosts or []:
        hv = hostvars.get(h) if hasattr(hostvars, 'get') else None
        hv = hv if hasattr(hv, 'get') else {}
        vm = hv.get('ade_vm') if hasattr(hv.get('ade_vm'), 'get') else {}
        if not vm or not vm.get('name') or not vm.get('resource_group'):
            continue
        key = ((vm.get('subscription_id') or '').lower(), vm['resource_group'].lower())
        if key not in groups:
            groups[key] = dict(subscription_id=vm.get('subscription_id'), resource_group=vm['resource_group'], names=[])
            order.append(key)
        if vm['name'] not in groups[key]['names']:
            groups[key]['names'].append(vm['name'])
    return [groups[k] for k in order]


def read_again(rows, results, hosts, hostvars):
    """The encrypt rows with each VM's ``retirement`` from the read after the run's last change (a restore puts a
    VM back on its pre-encryption disks: the read of the wait, before it, said 'ADE on its OS volume'). Pure."""
    now = {}
    for r in results or []:
        for v in (r or {}).get('vms') or []:
            now[((v.get('resource_group') or '').lower(), (v.get('name') or '').lower())] = v
    out = []
    for row in rows or []:
        row = dict(row)
        hv = hostvars.get(row.get('host')) if hasattr(hostvars, 'get') else None
        vm = (hv.get('ade_vm') if hasattr(hv, 'get') else None) or {}
        v = now.get(((vm.get('resource_group') or '').lower(), (vm.get('name') or '').lower())) if vm else None
        if v is not None and v.get('retirement') is not None:
            row['retirement'] = v['retirement']
        out.append(row)
    return out

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Rebuild of a VM whose ADE covers its OS volume (issue 17): the decisions, pure.

Microsoft's "Migrate from Azure Disk Encryption to encryption at host" (MicrosoftDocs/azure-compute-docs
articles/virtual-machines/disk-encryption-migrate.md, ms.date 2025-09-23): a Linux VM whose OS volume is
ADE-encrypted cannot be decrypted; the way off ADE is a NEW VM with a new OS disk and encryption at host, the data
copied at the application level, the old VM kept until the new one is verified.

The plan and every step are recorded in the OLD VM's tags (``azure_ade_rebuild_*``) so that any interruption resumes
where it stopped and a finished rebuild sends no write. Steps, in order (``STEPS``):

  planned      the plan is recorded (new VM name, size, NIC name; nothing created yet)
  nic          the new NIC exists: same subnet, same NSG, same accelerated networking, a dynamic address
  vm           the new VM exists: same image reference (current version), size (or the operator's), zone,
               availability set, proximity placement group, tags, managed identities, boot diagnostics,
               encryption at host on, empty data disks of the same sizes, caching and LUNs
  configured   the operator's own configuration ran on the new VM (the collection does not guess applications)
  copied       data volumes copied guest to guest (rsync over SSH; ownership, ACLs, xattrs, SELinux labels)
  compared     final pass with the operator's services stopped, both sides compared (file list, sizes, checksums)
  cut_over     old VM deallocated (kept with its disks, keys and snapshot set); the private IP moved: the old NIC
               takes a spare static address, the new NIC takes the old address (``cutover=private_ip``); or the DNS
               name swapped: the old public IP's label freed, the new VM's public IP given it (``cutover=dns``); or
               no move (``cutover=none``)
  verified     the operator confirmed the new VM (old resources may go after the retention)
  fallback     the old VM started again (its address given back), the new VM deallocated - allowed until verified

Refusals come before any write (``refusals``): VM in a scale set, unmanaged or specialized OS disk (no image to
recreate it from), encryption at host impossible (feature not registered, size without the capability and no
operator size), and for the guest copy (``copy_refusals``) a data volume the guest cannot read or a new disk too
small for what the old one holds.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import hashlib
import json

try:
    import ipaddress
except ImportError:  # Python 2.7 (controller code only imports there for ansible-test's import sanity)
    ipaddress = None

TAG_STAGE = 'azure_ade_rebuild_stage'
TAG_NEW = 'azure_ade_rebuild_new'
TAG_AT = 'azure_ade_rebuild_at'
TAG_IP = 'azure_ade_rebuild_ip'            # the private address the old VM had (moved at cut-over)
TAG_SPARE = 'azure_ade_rebuild_spare_ip'   # the address the old NIC took at cut-over (for the fallback)
TAG_PLAN = 'azure_ade_rebuild_plan'        # digest of the plan: a re-run with another plan is refused
TAG_OF = 'azure_ade_rebuilt_from'          # on the NEW VM: the old VM's ID
TAG_KEEP = 'azure_ade_rebuild_keep_until'  # the operator's retention: the old VM is kept at least until this date
TAG_LOG = 'azure_ade_rebuild_log'          # when each step was recorded: 'pl=261207191500,ni=...' (the page's timeline)
TAG_CUTOVER = 'azure_ade_rebuild_cutover'  # the cut-over the plan was recorded with (a resumed run follows it)
TAG_DNS = 'azure_ade_rebuild_dns'          # cutover=dns: the DNS label moved (read from the old public IP at the plan)
TAG_SWAP = 'azure_ade_rebuild_swap'        # recorded before the first address/label write of a cut-over: 'dns'
STEPS = ('planned', 'nic', 'vm', 'configured', 'copied', 'compared', 'cut_over', 'verified')
FALLBACK = 'fallback'
CUTOVERS = ('private_ip', 'dns', 'none')
LOG_CODES = {'planned': 'pl', 'nic': 'ni', 'vm': 'vm', 'configured': 'cf', 'copied': 'cp', 'compared': 'cm',
             'cut_over': 'co', 'verified': 've', 'fallback': 'fb'}
TAG_MAX = 256                              # Azure: a tag value holds at most 256 characters
MIGRATE_DOC = 'learn.microsoft.com/azure/virtual-machines/disk-encryption-migrate'
SIZE_OPTION = 'option size; the rebuild playbook: -e ade_rebuild_size=...'


class RebuildError(Exception):
    pass


def _props(d):
    return (d or {}).get('properties') or {}


def _lower(x):
    return (x or '').lower()


def now_iso(now=None):
    return (now or datetime.datetime.utcnow()).strftime('%Y-%m-%dT%H:%M:%SZ')


def record(vm):
    """The rebuild record from the old VM's tags (``log``: [{step, at}] oldest first, from TAG_LOG)."""
    t = (vm or {}).get('tags') or {}
    return dict(stage=t.get(TAG_STAGE) or None, new=t.get(TAG_NEW) or None, at=t.get(TAG_AT) or None,
                ip=t.get(TAG_IP) or None, spare_ip=t.get(TAG_SPARE) or None, plan=t.get(TAG_PLAN) or None,
                keep_until=t.get(TAG_KEEP) or None, log=parse_log(t.get(TAG_LOG)),
                cutover=t.get(TAG_CUTOVER) or None, dns=t.get(TAG_DNS) or None, swap=t.get(TAG_SWAP) or None)


def keep_until(days, now=None):
    """The date (YYYY-MM-DD, UTC) until which the old VM is kept after the operator's confirmation. Pure."""
    if days is None or int(days) < 0:
        raise RebuildError('retention_days must be 0 or more')
    return ((now or datetime.datetime.utcnow()) + datetime.timedelta(days=int(days))).strftime('%Y-%m-%d')


def parse_log(text):
    """TAG_LOG -> [{step, at (ISO 8601 UTC)}]; unknown or malformed entries are skipped. Pure."""
    names = dict((v, k) for k, v in LOG_CODES.items())
    out = []
    for item in (text or '').split(','):
        code, _sep, stamp = item.strip().partition('=')
        if code in names and len(stamp) == 12 and stamp.isdigit():
            out.append(dict(step=names[code], at='20{0}-{1}-{2}T{3}:{4}:{5}Z'.format(
                stamp[0:2], stamp[2:4], stamp[4:6], stamp[6:8], stamp[8:10], stamp[10:12])))
    return out


def log_append(text, stage, now=None):
    """TAG_LOG with ``stage`` appended at ``now`` (the oldest entries dropped to stay within a tag value's 256
    characters; nothing appended when the last entry is the same stage). Pure."""
    items = [x for x in (text or '').split(',') if x]
    code = LOG_CODES[stage]
    if items and items[-1].split('=')[0] == code:
        return ','.join(items)
    items.append('{0}={1}'.format(code, (now or datetime.datetime.utcnow()).strftime('%y%m%d%H%M%S')))
    while len(','.join(items)) > TAG_MAX:
        items.pop(0)
    return ','.join(items)


def step_index(stage):
    if stage is None:
        return -1
    if stage == FALLBACK:
        return STEPS.index('compared')
    return STEPS.index(stage)


def done(rec, step):
    """Has the record reached ``step``? (a fallback keeps what was built, not the cut-over)"""
    return step_index(rec.get('stage')) >= STEPS.index(step)


def record_tags(tags, stage, now=None, **kw):
    """The old VM's whole tag set with the record moved to ``stage``. Pure. Moves only forward, except
    cut_over -> fallback and fallback -> cut_over (again); verified is final."""
    tags = dict(tags or {})
    cur = tags.get(TAG_STAGE)
    if stage not in STEPS and stage != FALLBACK:
        raise RebuildError('unknown rebuild step {0}'.format(stage))
    if cur == 'verified' and stage != 'verified':
        raise RebuildError('the rebuild was verified: nothing moves back from verified (the old VM may be gone)')
    if stage == FALLBACK:
        if cur not in ('cut_over', 'compared', 'copied', 'configured', 'vm', FALLBACK):
            raise RebuildError('fallback needs a new VM (record stage {0})'.format(cur or '(none)'))
    elif cur not in (None, FALLBACK) and step_index(stage) < step_index(cur):
        raise RebuildError('rebuild record: no step back from {0} to {1}'.format(cur, stage))
    tags[TAG_STAGE] = stage
    tags[TAG_AT] = now_iso(now)
    tags[TAG_LOG] = log_append(tags.get(TAG_LOG), stage, now)
    for k, tag in (('new', TAG_NEW), ('ip', TAG_IP), ('spare_ip', TAG_SPARE), ('plan', TAG_PLAN),
                   ('keep_until', TAG_KEEP), ('cutover', TAG_CUTOVER), ('dns', TAG_DNS), ('swap', TAG_SWAP)):
        if kw.get(k):
            tags[tag] = kw[k]
    return tags


# ---- what the new VM is ---------------------------------------------------------------------------------------

def image_reference(vm):
    """The reference to build the new VM from, or (None, reason). Marketplace images by publisher/offer/sku at the
    current version ('latest'); custom and gallery images by the same ID; a specialized or attached OS disk has
    nothing to recreate it from."""
    sp = _props(vm).get('storageProfile') or {}
    od = sp.get('osDisk') or {}
    if _lower(od.get('createOption')) == 'attach':
        return None, ('its OS disk was attached (a specialized disk, createOption Attach): there is no image to '
                      'create a new OS disk from; build the new VM yourself from the image you used')
    ref = sp.get('imageReference') or {}
    if ref.get('id') or ref.get('sharedGalleryImageId') or ref.get('communityGalleryImageId'):
        rid = ref.get('id') or ref.get('sharedGalleryImageId') or ref.get('communityGalleryImageId')
        return dict((k, ref[k]) for k in ('id', 'sharedGalleryImageId', 'communityGalleryImageId') if ref.get(k)), \
            None if rid else 'no image ID'
    if ref.get('publisher') and ref.get('offer') and ref.get('sku'):
        return dict(publisher=ref['publisher'], offer=ref['offer'], sku=ref['sku'], version='latest'), None
    return None, 'the VM model has no image reference (storageProfile.imageReference): cannot recreate its OS disk'


def new_name(old_name, suffix='-eah'):
    """The new VM's name (Linux VM names up to 64 characters)."""
    base = old_name[:64 - len(suffix)]
    return base + suffix


def refusals(vm, feature_state, size_caps, size=None, cutover='private_ip', nic=None, pip=None):
    """Reasons not to start (nothing is sent when any). Pure. ``size_caps``: capabilities of the size the new VM
    gets (``size`` or the old VM's); ``pip``: the public IP of the old NIC's primary IP configuration (cutover dns)."""
    props = _props(vm)
    out = []
    name = (vm or {}).get('name') or '?'
    if props.get('virtualMachineScaleSet'):
        out.append('VM {0} belongs to scale set {1}: a scale set moves as a whole - change its model to encryption '
                   'at host and upgrade its instances (ade_inventory_info lists the scale-set path), not one VM'
                   .format(name, props['virtualMachineScaleSet'].get('id')))
    od = (props.get('storageProfile') or {}).get('osDisk') or {}
    if od.get('vhd'):
        out.append('VM {0} has unmanaged (VHD) disks: not supported'.format(name))
    _ref, why = image_reference(vm)
    if why:
        out.append('VM {0}: {1}'.format(name, why))
    if feature_state != 'Registered':
        out.append('the subscription\'s Microsoft.Compute/EncryptionAtHost feature is {0}: az feature register '
                   '--namespace Microsoft.Compute --name EncryptionAtHost'.format(feature_state or 'unknown'))
    want = size or (props.get('hardwareProfile') or {}).get('vmSize')
    where = (vm or {}).get('location') or 'its region'
    if size_caps is None:
        out.append('VM size {0} is not offered in {1} (resource SKUs): choose a size that is, with encryption at '
                   'host ({2})'.format(want, where, SIZE_OPTION))
    elif size_caps.get('_restricted'):
        out.append('VM size {0} is not available to this subscription in {1} ({2}): choose a size offered there '
                   'with encryption at host ({3}), or ask Azure support to lift the restriction'
                   .format(want, where, size_caps['_restricted'], SIZE_OPTION))
    elif str(size_caps.get('EncryptionAtHostSupported', '')).lower() != 'true':
        out.append('VM size {0} does not support encryption at host: give a size that does ({1})'
                   .format(want, SIZE_OPTION))
    if cutover not in CUTOVERS:
        out.append('cutover must be one of {0}'.format(', '.join(CUTOVERS)))
    if cutover == 'private_ip' and nic is not None and not primary_ipconfig(nic):
        out.append('VM {0}: its primary NIC has no IP configuration to move'.format(name))
    if cutover == 'dns':
        out.extend(dns_refusals(name, nic, pip))
    return out


def public_ip_id(nic):
    """The public IP ID of the NIC's primary IP configuration, or None."""
    return ((_props(primary_ipconfig(nic)).get('publicIPAddress') or {}).get('id')) or None


def dns_label(pip):
    return ((_props(pip).get('dnsSettings') or {}).get('domainNameLabel')) or None


def dns_refusals(name, nic, pip):
    """cutover=dns: the old VM's primary NIC must have a public IP with a DNS label to move. Pure."""
    if nic is None:
        return ['VM {0}: its primary NIC cannot be read (a DNS cut-over moves the label of its public IP)'.format(name)]
    if not public_ip_id(nic):
        return ['VM {0} has no public IP on its primary NIC: a DNS cut-over moves the DNS name (domainNameLabel) of '
                'the old VM\'s public IP to the new VM\'s - use ade_rebuild_cutover=private_ip or none'.format(name)]
    if pip is None:
        return ['VM {0}: its public IP {1} cannot be read'.format(name, public_ip_id(nic))]
    if not dns_label(pip):
        return ['VM {0}: its public IP {1} has no DNS name (dnsSettings.domainNameLabel) to move - use '
                'ade_rebuild_cutover=private_ip or none'.format(name, pip.get('name'))]
    return []


def fqdn_key(label, location):
    """What makes two labels the same DNS name: the label in the region's zone (label.<region>.cloudapp.azure.com)."""
    return ((label or '').lower(), (location or '').replace(' ', '').lower())


def dns_conflict(label, location, pips, own_ids):
    """The public IP other than ``own_ids`` (the old and the new VM's) that holds ``label`` in ``location``, or
    None: the DNS name was taken by another resource while it was free - the cut-over or fallback stops before any
    write. Pure. pips: public IP dicts (the subscription's list)."""
    own = set(_lower(i) for i in own_ids if i)
    key = fqdn_key(label, location)
    for p in pips or []:
        if _lower(p.get('id')) not in own and dns_label(p) and fqdn_key(dns_label(p), p.get('location')) == key:
            return p.get('id')
    return None


def effective_cutover(rec, wanted):
    """The cut-over of this run: the record's (a plan is built for it - e.g. a public IP for the new VM with dns),
    else the operator's, else private_ip. An operator's other choice than the record's is refused. Pure."""
    recorded = (rec or {}).get('cutover')
    if recorded and wanted and wanted != recorded:
        raise RebuildError('the rebuild was planned with cut-over {0}; run it with ade_rebuild_cutover={0} (option '
                           'cutover) or leave it out'.format(recorded))
    out = recorded or wanted or 'private_ip'
    if out not in CUTOVERS:
        raise RebuildError('cutover must be one of {0}'.format(', '.join(CUTOVERS)))
    return out


def new_pip_body(old_pip, location):
    """cutover=dns: the new VM's public IP - the old one's SKU, allocation, version and zones; no DNS label yet (it
    moves at the cut-over). Pure."""
    old = _props(old_pip)
    body = {'location': location, 'tags': dict((old_pip or {}).get('tags') or {}),
            'sku': dict((old_pip or {}).get('sku') or {'name': 'Standard'}),
            'properties': {'publicIPAllocationMethod': old.get('publicIPAllocationMethod') or 'Static',
                           'publicIPAddressVersion': old.get('publicIPAddressVersion') or 'IPv4'}}
    if (old_pip or {}).get('zones'):
        body['zones'] = list(old_pip['zones'])
    return body


def pip_dns_update(pip, label):
    """The public IP's PUT body with its DNS label set to ``label`` (None: removed - PUT replaces the resource, so
    the A record goes), everything else kept; read-only fields dropped. Pure."""
    body = json.loads(json.dumps(pip))
    for k in ('etag', 'id', 'name', 'type'):
        body.pop(k, None)
    props = body.setdefault('properties', {})
    for k in ('provisioningState', 'resourceGuid', 'ipConfiguration', 'ipAddress'):
        props.pop(k, None)
    dns = dict(props.pop('dnsSettings', None) or {})
    dns.pop('fqdn', None)
    if label:
        dns['domainNameLabel'] = label
        props['dnsSettings'] = dns
    return body


def primary_ipconfig(nic):
    cfgs = _props(nic).get('ipConfigurations') or []
    for c in cfgs:
        if _props(c).get('primary'):
            return c
    return cfgs[0] if cfgs else None


def nic_body(old_nic, location, pip_id=None):
    """The new NIC: same subnet, NSG and accelerated networking as the old one, a dynamic address (and the new
    public IP ``pip_id`` for a DNS cut-over). Pure."""
    old = _props(old_nic)
    cfg = _props(primary_ipconfig(old_nic))
    body = {'location': location, 'tags': dict((old_nic or {}).get('tags') or {}), 'properties': {
        'ipConfigurations': [{'name': 'ipconfig1', 'properties': {
            'subnet': {'id': (cfg.get('subnet') or {}).get('id')}, 'primary': True,
            'privateIPAllocationMethod': 'Dynamic'}}],
        'enableAcceleratedNetworking': bool(old.get('enableAcceleratedNetworking'))}}
    if pip_id:
        body['properties']['ipConfigurations'][0]['properties']['publicIPAddress'] = {'id': pip_id}
    if (old.get('networkSecurityGroup') or {}).get('id'):
        body['properties']['networkSecurityGroup'] = {'id': old['networkSecurityGroup']['id']}
    return body


def vm_body(old_vm, nic_id, size=None, admin_username=None, ssh_public_keys=None, extra_tags=None):
    """The new VM's PUT body. Pure. Same image reference, size (or ``size``), zone, availability set, proximity
    placement group, tags, managed identities, boot diagnostics; encryption at host on; empty data disks of the
    same sizes, caching and LUNs; the given NIC."""
    props = _props(old_vm)
    ref, why = image_reference(old_vm)
    if why:
        raise RebuildError(why)
    sp = props.get('storageProfile') or {}
    od = sp.get('osDisk') or {}
    tags = dict((old_vm or {}).get('tags') or {})
    for k in list(tags):
        if k.startswith('azure_ade_'):
            tags.pop(k)                      # the old VM's records stay on the old VM
    tags[TAG_OF] = (old_vm or {}).get('id')
    tags.update(extra_tags or {})
    data = []
    for d in sorted(sp.get('dataDisks') or [], key=lambda x: x.get('lun', 0)):
        data.append({'lun': d.get('lun'), 'createOption': 'Empty', 'diskSizeGB': d.get('diskSizeGB'),
                     'caching': d.get('caching') or 'None', 'deleteOption': 'Detach',
                     'managedDisk': {'storageAccountType': (d.get('managedDisk') or {}).get('storageAccountType')
                                     or 'Premium_LRS'}})
    osp = props.get('osProfile') or {}
    lin = osp.get('linuxConfiguration') or {}
    new_props = {
        'hardwareProfile': {'vmSize': size or (props.get('hardwareProfile') or {}).get('vmSize')},
        'storageProfile': {'imageReference': ref, 'dataDisks': data,
                           'osDisk': {'createOption': 'FromImage', 'caching': od.get('caching') or 'ReadWrite',
                                      'diskSizeGB': od.get('diskSizeGB'), 'deleteOption': 'Detach',
                                      'managedDisk': {'storageAccountType': (od.get('managedDisk') or {}).get(
                                          'storageAccountType') or 'Premium_LRS'}}},
        'osProfile': {'computerName': None, 'adminUsername': admin_username or osp.get('adminUsername') or 'azureuser',
                      'linuxConfiguration': {'disablePasswordAuthentication': True, 'provisionVMAgent': True,
                                             'ssh': {'publicKeys': [
                                                 {'path': '/home/{0}/.ssh/authorized_keys'.format(
                                                     admin_username or osp.get('adminUsername') or 'azureuser'),
                                                  'keyData': k} for k in (ssh_public_keys or [])]}}},
        'networkProfile': {'networkInterfaces': [{'id': nic_id, 'properties': {'primary': True}}]},
        'securityProfile': {'encryptionAtHost': True},
    }
    if lin.get('ssh') and not ssh_public_keys:
        new_props['osProfile']['linuxConfiguration']['ssh'] = lin['ssh']
    for k in ('availabilitySet', 'proximityPlacementGroup', 'diagnosticsProfile', 'licenseType', 'priority',
              'additionalCapabilities'):
        if props.get(k):
            new_props[k] = props[k]
    sec = props.get('securityProfile') or {}
    for k in ('securityType', 'uefiSettings'):
        if sec.get(k):
            new_props['securityProfile'][k] = sec[k]
    body = {'location': old_vm.get('location'), 'tags': tags, 'properties': new_props}
    if old_vm.get('zones'):
        body['zones'] = list(old_vm['zones'])
    ident = old_vm.get('identity') or {}
    if ident.get('type'):
        body['identity'] = {'type': ident['type']}
        if ident.get('userAssignedIdentities'):
            body['identity']['userAssignedIdentities'] = dict((k, {}) for k in ident['userAssignedIdentities'])
    if old_vm.get('plan'):
        body['plan'] = old_vm['plan']
    return body


def plan_digest(body, nic):
    """A short digest of what is built (a re-run with another plan is refused)."""
    keep = {'vm': body, 'nic': nic}
    return hashlib.sha256(json.dumps(keep, sort_keys=True).encode('utf-8')).hexdigest()[:16]


def spare_address(subnet_prefix, taken, avoid=()):
    """A free static address in the subnet for the old NIC at cut-over (Azure reserves the first four and the last
    address of a subnet; start from the top, away from dynamic allocations). Pure."""
    net = ipaddress.ip_network(u'{0}'.format(subnet_prefix), strict=False)
    used = set(taken) | set(avoid)
    first = int(net.network_address) + 4
    last = int(net.broadcast_address) - 1
    for i in range(last, first - 1, -1):
        a = str(ipaddress.ip_address(i))
        if a not in used:
            return a
    raise RebuildError('subnet {0} has no free address for the old NIC'.format(subnet_prefix))


def ipconfig_update(nic, address):
    """The NIC's PUT body with its primary IP configuration static at ``address`` (everything else kept)."""
    body = json.loads(json.dumps(nic))
    for k in ('etag', 'id', 'name', 'type'):
        body.pop(k, None)
    prim = primary_ipconfig(body)
    p = prim.setdefault('properties', {})
    p['privateIPAllocationMethod'] = 'Static'
    p['privateIPAddress'] = address
    for c in _props(body).get('ipConfigurations') or []:
        for k in ('etag', 'type'):
            c.pop(k, None)
    return body


def next_steps(rec, new_exists, new_nic_exists, cutover, want, new_pip_exists=True):
    """What the module does now, in order. Pure.

    want: present (build up to the new VM) | cut_over | verified | fallback | recorded:<step>.
    cutover: this run's (``effective_cutover``); dns adds the new VM's public IP to the build and swaps the DNS
    label at the cut-over (old public IP's label freed, then the new one given it; the fallback the other way)."""
    stage = rec.get('stage')
    if stage == 'verified':
        return []
    if want == 'present':
        out = []
        if stage is None:
            out.append('record_plan')
        if cutover == 'dns' and not new_pip_exists and not done(rec, 'nic'):
            out.append('create_pip')
        if not new_nic_exists and not done(rec, 'vm'):
            out.append('create_nic')
        if not done(rec, 'nic') or not new_nic_exists:
            out.append('record_nic')
        if not new_exists:
            out.append('create_vm')
        if not done(rec, 'vm'):
            out.append('record_vm')
        if stage == FALLBACK:
            out.append('start_new')      # a rebuild run again after a fallback: the new VM runs again
        return [s for i, s in enumerate(out) if s not in out[:i]]
    if want.startswith('recorded:'):
        step = want.split(':', 1)[1]
        if step not in ('configured', 'copied', 'compared'):
            raise RebuildError('only configured, copied and compared are recorded from the guest side')
        if not done(rec, 'vm'):
            raise RebuildError('the new VM is not built yet (record stage {0})'.format(stage or '(none)'))
        return [] if done(rec, step) and stage != FALLBACK else ['record_' + step]
    if want == 'cut_over':
        if not done(rec, 'compared') and stage != FALLBACK:
            raise RebuildError('cut-over needs the data copied and compared first (record stage {0})'
                               .format(stage or '(none)'))
        if stage == 'cut_over':
            return []
        out = ['deallocate_old']
        if cutover == 'private_ip':
            out += ['release_old_ip', 'take_new_ip']
        elif cutover == 'dns':
            out += ['release_old_dns', 'take_new_dns']
        return out + ['start_new', 'record_cut_over']
    if want == 'fallback':
        if stage == FALLBACK:
            return []
        if not done(rec, 'vm'):
            raise RebuildError('nothing to fall back from: no new VM (record stage {0})'.format(stage or '(none)'))
        out = ['deallocate_new']
        # also after a cut-over that was interrupted before its record (its first address / label write was
        # preceded by the spare address / the swap marker in the record): each give-back step writes only what is
        # not back yet
        if cutover == 'private_ip' and (stage == 'cut_over' or rec.get('spare_ip')):
            out += ['release_new_ip', 'give_back_old_ip']
        elif cutover == 'dns' and (stage == 'cut_over' or rec.get('swap')):
            out += ['release_new_dns', 'give_back_old_dns']
        return out + ['start_old', 'record_fallback']
    if want == 'verified':
        if stage != 'cut_over':
            raise RebuildError('verified comes after the cut-over (record stage {0})'.format(stage or '(none)'))
        return ['record_verified']
    raise RebuildError('unknown state {0}'.format(want))


# ---- guest side: what runs now, what may be copied, how, and what differs ---------------------------------------

GUEST_WANTS = ('cut_over', 'compared', 'fallback', 'verified')


def guest_parts(stage, want='cut_over'):
    """What the rebuild playbook runs now for one VM, from its record. Pure.

    want (``ade_rebuild_state``): cut_over (as far as the cut-over) | compared (stop before it) | fallback |
    verified. -> dict(parts: ordered subset of build, configure, copy, final, cut_over, fallback, verify;
    old_guest / new_guest: which guests must answer; msg). ``final`` = the final pass with the operator's services
    stopped + the comparison; it runs again when the record says compared and the cut-over has not happened (cheap,
    and the services may have been started again after an interruption)."""
    if want not in GUEST_WANTS:
        raise RebuildError('ade_rebuild_state must be one of {0}'.format(', '.join(GUEST_WANTS)))
    if stage is not None and stage not in STEPS and stage != FALLBACK:
        raise RebuildError('unknown rebuild record stage {0}'.format(stage))

    def out(parts, msg):
        return dict(parts=parts, old_guest=any(x in parts for x in ('copy', 'final')),
                    new_guest=any(x in parts for x in ('configure', 'copy', 'final')), msg=msg)
    if stage == 'verified':
        return out([], 'verified earlier: nothing to do (delete the old VM and its disks after your retention)')
    if want == 'verified':
        if stage != 'cut_over':
            raise RebuildError('verified comes after the cut-over (record stage {0})'.format(stage or '(none)'))
        return out(['verify'], 'recording the operator\'s confirmation')
    if want == 'fallback':
        if stage == FALLBACK:
            return out([], 'fallen back earlier: the old VM runs, the new one is deallocated')
        if not done({'stage': stage}, 'vm'):
            raise RebuildError('nothing to fall back from: no new VM (record stage {0})'.format(stage or '(none)'))
        return out(['fallback'], 'falling back: new VM deallocated, old VM started (its address given back)')
    if stage == 'cut_over':
        return out([], 'cut over earlier: confirm with ade_rebuild_state=verified, or ade_rebuild_state=fallback')
    parts = []
    if stage in (None, 'planned', 'nic', FALLBACK):
        parts.append('build')
    if stage in (None, 'planned', 'nic', 'vm', FALLBACK):
        parts.append('configure')
    if stage in (None, 'planned', 'nic', 'vm', 'configured', FALLBACK):
        parts.append('copy')
    parts.append('final')
    if want == 'cut_over':
        parts.append('cut_over')
    return out(parts, 'resuming after {0}'.format(stage) if stage else 'starting')


def copy_refusals(volumes, targets):
    """Before the copy (nothing written): each source data volume must be readable and fit on its target. Pure.
    volumes: [{mountpoint|path, readable, used_bytes}] on the old guest; targets: {mountpoint: free_bytes} or the new
    guest's volumes [{path, readable, free_bytes, used_bytes}] (what is there already counts as free: rsync
    replaces it)."""
    if isinstance(targets, list):
        targets = dict((t.get('mountpoint') or t.get('path'),
                        None if not t.get('readable', True) else
                        int(t.get('free_bytes') or 0) + int(t.get('used_bytes') or 0)) for t in targets)
    out = []
    for v in volumes or []:
        mp = v.get('mountpoint') or v.get('path')
        if not v.get('readable', True):
            out.append('data volume {0} cannot be read on the old VM ({1})'.format(mp, v.get('error') or 'unreadable'))
            continue
        free = (targets or {}).get(mp)
        if free is None:
            out.append('the new VM has no readable volume at {0}: the operator\'s configuration must mount it'
                       .format(mp))
        elif int(v.get('used_bytes') or 0) > int(free):
            out.append('not enough space at {0} on the new VM: {1} bytes used on the old, {2} free on the new'
                       .format(mp, v.get('used_bytes'), free))
    return out


def new_data_disks(vm):
    """The new VM's empty data disks as vm_body makes them: [{lun, size_gb}] (same sizes and LUNs). Pure."""
    sp = _props(vm).get('storageProfile') or {}
    return [dict(lun=d.get('lun'), size_gb=d.get('diskSizeGB'))
            for d in sorted(sp.get('dataDisks') or [], key=lambda x: x.get('lun', 0))]


def _under(path, mounts):
    path = path.rstrip('/') or '/'
    return any(path == m.rstrip('/') or path.startswith(m.rstrip('/') + '/') for m in mounts if m and m != '/')


def build_refusals(volumes, data_disks, data_mounts=None):
    """Before the new VM is built (nothing written yet), from the OLD guest only: every tree to copy must be
    readable, and what the trees on data volumes use must fit the new VM's data disks (empty disks of the old
    disks' sizes: ``new_data_disks``). Trees outside ``data_mounts`` land on the new OS disk (same size as the old)
    and are not counted. The exact check per mountpoint runs again after the operator's configuration mounted the
    new disks (``copy_refusals``). Pure.
    volumes: guest_files_info ``volumes`` [{path, readable, used_bytes, error}]; data_disks: [{lun, size_gb}]."""
    out = []
    mounts = list(data_mounts) if data_mounts is not None else [v.get('path') for v in volumes or []]
    used = 0
    counted = []
    for v in volumes or []:
        p = v.get('mountpoint') or v.get('path')
        if not v.get('readable', True):
            out.append('data volume {0} cannot be read on the old VM ({1}): repair or mount it, or leave it out of '
                       'ade_rebuild_paths'.format(p, v.get('error') or 'unreadable'))
        elif _under(p, mounts):
            used += int(v.get('used_bytes') or 0)
            counted.append(p)
    if counted:
        cap = sum(int(d.get('size_gb') or 0) for d in data_disks or []) * (1 << 30)
        if used > cap:
            out.append('not enough space on the new VM\'s data disks: {0} use {1} bytes, its {2} data disk(s) of the '
                       'old disks\' sizes hold {3} bytes: resize the old data disks first or copy less '
                       '(ade_rebuild_paths)'.format(', '.join(counted), used, len(data_disks or []), cap))
    return out


def rsync_args(final=False):
    """rsync's options for the guest-to-guest copy: archive, hard links, ACLs, xattrs (SELinux labels are the
    security.selinux xattr; -X copies them when run as root), numeric IDs, sparse files; the final pass deletes
    what disappeared on the old side. Pure."""
    args = ['-aHAXS', '--numeric-ids', '--one-file-system']
    if final:
        args.append('--delete')
    return args


def rsync_argv(path, address, keydir, user='root', port=22, final=False, rsync='rsync'):
    """The command the OLD guest runs to push ``path`` to the same path on the new guest (argv, no shell). Only file
    names of the run's key and known_hosts in ``keydir`` appear - never a key or a password. Pure."""
    if not path.startswith('/'):
        raise RebuildError('data path {0} is not absolute'.format(path))
    ssh = ('ssh -i {0}/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes '
           '-o UserKnownHostsFile={0}/known_hosts -o PasswordAuthentication=no -p {1}').format(keydir, int(port))
    argv = [rsync] + rsync_args(final) + ['-e', ssh]
    if user != 'root':
        argv += ['--rsync-path', 'sudo rsync']
    dst = path.rstrip('/') or '/'
    return argv + [dst.rstrip('/') + '/', '{0}@{1}:{2}/'.format(user, _host(address), dst.rstrip('/'))]


def rsync_controller_argvs(path, old, new, staging, final=False):
    """When the guests cannot reach each other (``ade_rebuild_copy_via=controller``): the control node pulls ``path``
    from the old guest into ``staging`` and pushes it to the new guest, over Ansible's own SSH credentials (no key is
    made or moved). old/new: dict(address, user, port, key, ssh_args). -> [pull argv, push argv]. Pure."""
    if not path.startswith('/'):
        raise RebuildError('data path {0} is not absolute'.format(path))
    if not staging.startswith('/'):
        raise RebuildError('staging directory {0} is not absolute'.format(staging))
    dst = path.rstrip('/') or '/'
    stage = '{0}/{1}/'.format(staging.rstrip('/'), dst.strip('/').replace('/', '_') or 'root')

    def ssh(g):
        cmd = ['ssh', '-o', 'BatchMode=yes', '-p', str(int(g.get('port') or 22))]
        if g.get('key'):
            cmd += ['-i', g['key'], '-o', 'IdentitiesOnly=yes']
        return ' '.join(cmd + ([g['ssh_args']] if g.get('ssh_args') else []))

    def remote(g):
        user = g.get('user') or 'root'
        return '{0}@{1}:{2}/'.format(user, _host(g['address']), dst.rstrip('/')), user

    src, ou = remote(old)
    tgt, nu = remote(new)
    pull = ['rsync'] + rsync_args(final) + ['-e', ssh(old)]
    if ou != 'root':
        pull += ['--rsync-path', 'sudo rsync']
    push = ['rsync'] + rsync_args(final) + ['-e', ssh(new)]
    if nu != 'root':
        push += ['--rsync-path', 'sudo rsync']
    return [pull + [src, stage], push + [stage, tgt]]


def _host(address):
    return '[{0}]'.format(address) if ':' in (address or '') else address


def key_marker(vm_name):
    """The comment that marks the copy key of a VM's rebuild in the new guest's authorized_keys."""
    return 'azure_ade_rebuild:{0}'.format(vm_name)


def authorized_key_line(pubkey, from_address, vm_name):
    """The new guest's authorized_keys line for the run's copy key: only from the old guest's address, no pty, no
    forwarding; marked so the run (or the next one) removes it. Pure."""
    parts = (pubkey or '').split()
    if len(parts) < 2 or not parts[0].startswith(('ssh-', 'ecdsa-')):
        raise RebuildError('not an SSH public key')
    opts = 'no-pty,no-agent-forwarding,no-port-forwarding,no-X11-forwarding'
    if from_address:
        opts = 'from="{0}",'.format(from_address) + opts
    return '{0} {1} {2} {3}'.format(opts, parts[0], parts[1], key_marker(vm_name))


def known_hosts_lines(host_keys_text, address, port=22):
    """known_hosts lines for the new guest's host keys (read from the guest over Ansible's connection). Pure."""
    name = address if int(port) == 22 else '[{0}]:{1}'.format(address, int(port))
    out = []
    for line in (host_keys_text or '').splitlines():
        p = line.split()
        if len(p) >= 2 and (p[0].startswith('ssh-') or p[0].startswith('ecdsa-')):
            out.append('{0} {1} {2}'.format(name, p[0], p[1]))
    if not out:
        raise RebuildError('the new guest has no SSH host key to trust')
    return out


def compare(old_list, new_list, sample=None):
    """Both sides' file lists [{path, type, size, sha256, target}] -> differences. The file list, types, sizes and
    symlink targets always in full; checksums where both sides computed one (the guests checksum all files, or the
    same sample: guest/manifest.py sample_pick); ``sample`` here only limits it further (first N in sorted order).
    Pure."""
    old = dict((f['path'], f) for f in old_list or [])
    new = dict((f['path'], f) for f in new_list or [])
    only_old = sorted(set(old) - set(new))
    only_new = sorted(set(new) - set(old))
    common = sorted(set(old) & set(new))
    kind = [p for p in common if old[p].get('type', 'f') != new[p].get('type', 'f')
            or old[p].get('target') != new[p].get('target')]
    size = [p for p in common if p not in kind and old[p].get('size') != new[p].get('size')]
    both = [p for p in common if old[p].get('sha256') and new[p].get('sha256')]
    checked = both if sample in (None, 0) else both[:int(sample)]
    digest = [p for p in checked if p not in size and old[p].get('sha256') != new[p].get('sha256')]
    return dict(same=not (only_old or only_new or size or digest or kind), only_old=only_old, only_new=only_new,
                size_differs=size, checksum_differs=digest, type_differs=kind, files=len(old),
                checksummed=len(checked))


def compare_trees(old_trees, new_trees, limit=20):
    """guest_files_info ``trees`` of both guests -> dict(same, paths: {path: compare()}, lines: what differs, at
    most ``limit`` names per kind and path). Pure."""
    res = {}
    lines = []
    for path in sorted(set(old_trees or {}) | set(new_trees or {})):
        if path not in (new_trees or {}):
            res[path] = dict(same=False, missing='new')
            lines.append('{0}: not read on the new VM'.format(path))
            continue
        if path not in (old_trees or {}):
            res[path] = dict(same=False, missing='old')
            lines.append('{0}: not read on the old VM'.format(path))
            continue
        d = compare(old_trees[path], new_trees[path])
        res[path] = d
        for k, what in (('only_old', 'only on the old VM'), ('only_new', 'only on the new VM'),
                        ('type_differs', 'type or link target differs'), ('size_differs', 'size differs'),
                        ('checksum_differs', 'checksum differs')):
            if d[k]:
                more = ' (+{0} more)'.format(len(d[k]) - limit) if len(d[k]) > limit else ''
                lines.append('{0}: {1}: {2}{3}'.format(path, what, ', '.join(d[k][:limit]), more))
    return dict(same=bool(res) and all(r.get('same') for r in res.values()), paths=res, lines=lines,
                files=sum(r.get('files', 0) for r in res.values()),
                checksummed=sum(r.get('checksummed', 0) for r in res.values()))


# ---- the operator's page (fleet_report kind rebuild) ------------------------------------------------------------

STEP_WORDS = {'planned': 'plan recorded', 'nic': 'new NIC created (same subnet and NSG)',
              'vm': 'new VM created (encryption at host)', 'configured': 'operator\'s configuration ran on the new VM',
              'copied': 'data copied (first pass)', 'compared': 'final pass, both sides compared: the same',
              'cut_over': 'cut over: old VM deallocated and kept', 'verified': 'confirmed by the operator',
              'fallback': 'fell back: old VM started, new VM deallocated'}


def page_row(host, vm, rec, refused=None, failed=None, compare=None, snapshot_set=None, cutover='private_ip'):
    """One VM of the rebuild page (fleet_report kind rebuild): the record's steps on a timeline (each with the time
    it was recorded in the old VM's tags), what is kept and what is left for the operator. Pure (presentation).
    vm: {name, resource_group}; rec: ``record`` (read after the run's last change); refused / failed: why this run
    stopped (a refusal before any write / a failure later); compare: the run's compare_trees result."""
    rec = rec or {}
    vm = vm or {}
    name = vm.get('name') or host
    stage = rec.get('stage')
    new = rec.get('new') or '{0} (not created)'.format(new_name(name))
    steps = [dict(step=STEP_WORDS.get(e['step'], e['step']), at=e.get('at'),
                  state=FALLBACK if e['step'] == FALLBACK else 'done') for e in rec.get('log') or []]
    if not steps and stage:
        steps = [dict(step=STEP_WORDS.get(stage, stage), at=rec.get('at'), state='done')]
    if refused:
        steps.append(dict(step='refused before any write: {0}'.format(refused), at=None, state='refused'))
    elif failed:
        steps.append(dict(step='stopped: {0}'.format(failed), at=None, state='failed'))
    kept, confirm = [], []
    if stage == 'verified' and rec.get('keep_until'):
        kept.append('the old VM {0} with its OS and data disks and its ADE keys in Key Vault - deallocated, kept until '
                    '{1} (retention)'.format(name, rec['keep_until']))
    if stage in ('cut_over', 'fallback') or (stage and stage != 'verified'):
        kept.append('the old VM {0} with its OS and data disks (still ADE-encrypted) and its ADE keys in Key Vault{1}'
                    .format(name, ' - deallocated' if stage == 'cut_over' else ' - running'))
        if snapshot_set:
            kept.append('its snapshot set {0}'.format(snapshot_set))
    if stage == FALLBACK:
        kept.append('the new VM {0} - deallocated, with its disks'.format(new))
    cutover = rec.get('cutover') or cutover
    if stage == 'cut_over':
        if cutover == 'dns' and rec.get('dns'):
            kept.append('the DNS name {0}: now on the public IP of {1}; the old VM\'s public IP has none'.format(
                rec['dns'], new))
        elif cutover == 'private_ip' and rec.get('spare_ip'):
            kept.append('the old address {0}: now on {1}; the old NIC holds {2}'.format(
                rec.get('ip'), new, rec.get('spare_ip')))
        else:
            kept.append('the addresses (cut-over none): point your clients at {0}'.format(new))
        confirm.append('check the application on {0}, then run the rebuild with ade_rebuild_state=verified '
                       '(ade_rebuild_state=fallback goes back to {1} until then)'.format(new, name))
    elif stage == 'verified':
        confirm.append('{0}delete {1}, its disks{2} and its ADE secrets - the collection never deletes them'.format(
            'from {0}, '.format(rec['keep_until']) if rec.get('keep_until') else 'after your retention, ', name,
            ', its snapshot set {0}'.format(snapshot_set) if snapshot_set else ''))
    elif refused:
        confirm.append('fix the cause named above and run the rebuild again (nothing was written)')
    elif stage == FALLBACK:
        confirm.append('fix the cause, then run the rebuild again: it starts {0} again and resumes'.format(new))
    elif stage == 'compared':
        confirm.append('cut over: run the rebuild again with ade_rebuild_state=cut_over')
    elif stage:
        confirm.append('run the rebuild again: it resumes after "{0}"'.format(STEP_WORDS.get(stage, stage)))
    else:
        confirm.append('run the rebuild for {0}'.format(name))
    outcome = 'refused' if refused else ('failed' if failed and stage not in ('cut_over', 'verified') else
                                         (stage or 'not_started'))
    msg = refused or failed or ''
    if compare and not msg:
        msg = '{0} entries, {1} files checksummed on both sides: {2}'.format(
            compare.get('files'), compare.get('checksummed'),
            'the same' if compare.get('same') else '; '.join(compare.get('lines') or []))
    return dict(host=host, vm=name, resource_group=vm.get('resource_group'), outcome=outcome, phase=stage or '-',
                new_vm=rec.get('new'), message=msg, steps=steps, kept=kept, to_confirm=confirm)


def page_fail_msg(rows):
    """The rebuild run's verdict from its page rows: the refused VMs with their reasons ('' when none). A VM that
    failed after a write already failed its host in the rebuild plays. Pure."""
    refused = [r for r in rows or [] if r.get('outcome') == 'refused']
    if not refused:
        return ''
    return 'Refused, nothing was written - ' + ' | '.join('{0}: {1}'.format(r.get('host'), r.get('message'))
                                                          for r in refused)

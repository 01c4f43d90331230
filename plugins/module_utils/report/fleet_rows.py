# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""PURE: the fleet rows of the encrypt, preflight and status runs, built from the hosts' variables.

The playbooks (and the rollout role) only format these rows; every decision in them (which snapshot set a
row names, the preflight verdict, which VM a host is, which platform status belongs to which VM) is here,
unit-tested in tests/unit/plugins/module_utils/report/test_fleet_rows.py. ``hostvars`` is Ansible's
``hostvars`` (any mapping of host -> mapping of variables).

Private to azure_ade.linux (used through plugins/filter/fleet_rows.py): not a public API, may change without
notice. Compiles on Python 2.7 (ansible-test sanity): no f-strings.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import identity
from ansible_collections.azure_ade.linux.plugins.module_utils.report import fleet_status

NO_RESULT = 'unreachable or failed before the first stage'
VERDICTS = ('READY', 'FIXABLE', 'BLOCKED', 'NO RESULT')


def _vars(hostvars, host):
    try:
        hv = hostvars[host]
    except (KeyError, TypeError):
        return {}
    return hv if hasattr(hv, 'get') else {}


def _dict(value):
    return value if isinstance(value, dict) else {}


def _ran_ok(result):
    """Jinja ``result is succeeded and result is not skipped`` for a registered result."""
    return isinstance(result, dict) and bool(result) and not result.get('failed') and not result.get('skipped')


def _bool(value):
    if isinstance(value, str):
        return value.strip().lower() in ('1', 'true', 'yes', 'on', 'y')
    return bool(value)


def _one_line(text):
    return ' '.join(str(text or '').split())


# ---- encrypt ------------------------------------------------------------------------------------------

def encrypt_row(host, hv):
    """The encrypt fleet row of one host from its variables (ade_outcome, ade_outcome_msg, ade_vm, ade_run_set,
    ade_snapshot, ade_changed, ade_wait, ade_enable, ade_preflight). The snapshot set is named only when this run
    took or reused it (the snapshot task ran) or the VM was already in this rollout (a resumed run)."""
    hv = hv if hasattr(hv, 'get') else {}
    wait = (list(_dict(hv.get('ade_wait')).get('vms') or []) + [{}])[0] or {}
    enable = _dict(hv.get('ade_enable'))
    preflight = _dict(hv.get('ade_preflight'))
    owns_set = _ran_ok(hv.get('ade_snapshot')) or _bool(hv.get('ade_changed'))
    return {
        'host': host,
        'outcome': hv.get('ade_outcome') or 'no_result',
        'vm': _dict(hv.get('ade_vm')).get('name') or '',
        'snapshot_set': (hv.get('ade_run_set') or '') if owns_set else '',
        'phase': wait.get('phase') or '',
        'history': list(enable.get('history') or []) + list(wait.get('history') or []),
        'retirement': wait.get('retirement'),
        'blockers': list(preflight.get('blocking') or []) + [b.get('id') for b in wait.get('ade_blockers') or []],
        'message': str(hv.get('ade_outcome_msg') or NO_RESULT).strip(),
    }


def encrypt_fleet(hosts, hostvars):
    """One encrypt row per host, in inventory order."""
    return [encrypt_row(h, _vars(hostvars, h)) for h in hosts or []]


def not_encrypted(rows, encrypted_outcomes):
    """The rows whose outcome is not one of ``encrypted_outcomes`` (the run then fails)."""
    return [r for r in rows or [] if r.get('outcome') not in encrypted_outcomes]


# ---- preflight ----------------------------------------------------------------------------------------

def preflight_verdict(result):
    """READY, FIXABLE (every failed fatal check is fixed by the prerequisites role), BLOCKED, or NO RESULT."""
    if not isinstance(result, dict) or 'checks' not in result:
        return 'NO RESULT'
    if result.get('ready'):
        return 'READY'
    return 'BLOCKED' if result.get('blocking') else 'FIXABLE'


def preflight_findings(result):
    """The failed checks of one preflight result, each {kind: FIXABLE|BLOCKING|WARNING|FATAL, id, requirement,
    message, fix (text or '-')}, in check order."""
    result = _dict(result)
    fixable = result.get('fixable') or []
    blocking = result.get('blocking') or []
    out = []
    for c in result.get('checks') or []:
        if c.get('passed'):
            continue
        if c.get('id') in fixable:
            kind = 'FIXABLE'
        elif c.get('id') in blocking:
            kind = 'BLOCKING'
        else:
            kind = str(c.get('severity') or '').upper()
        out.append({'kind': kind, 'id': c.get('id'), 'requirement': c.get('requirement'), 'message': c.get('message'),
                    'fix': (c.get('fix') or {}).get('text') or '-'})
    return out


def preflight_row(host, result):
    """The preflight fleet row of one host: {host, verdict, fixable, blocking, warnings, error}."""
    verdict = preflight_verdict(result)
    if verdict == 'NO RESULT':
        error = _dict(result).get('msg') or 'unreachable or failed'
        return {'host': host, 'verdict': verdict, 'fixable': [], 'blocking': [], 'warnings': [],
                'error': re.sub(r'[\r\n]+', ' ', str(error)).strip()}
    return {'host': host, 'verdict': verdict, 'fixable': result.get('fixable') or [],
            'blocking': result.get('blocking') or [],
            'warnings': [c.get('id') for c in result.get('checks') or []
                         if c.get('severity') == 'warning' and not c.get('passed')],
            'error': ''}


def preflight_fleet(hosts, hostvars, var='ade_preflight'):
    return [preflight_row(h, _vars(hostvars, h).get(var)) for h in hosts or []]


def verdict_counts(rows):
    """{'READY': n, 'FIXABLE': n, 'BLOCKED': n, 'NO RESULT': n, 'total': n}."""
    out = dict((v, 0) for v in VERDICTS)
    for r in rows or []:
        out[r.get('verdict')] = out.get(r.get('verdict'), 0) + 1
    out['total'] = len(rows or [])
    return out


def preflight_fail_message(rows, fail_when_not_ready=False):
    """The preflight job's verdict: '' (pass) unless ``fail_when_not_ready`` and a row is not READY, then
    'Not ready: host, host'."""
    not_ready = [r.get('host') for r in rows or [] if r.get('verdict') != 'READY']
    if not _bool(fail_when_not_ready) or not not_ready:
        return ''
    return 'Not ready: ' + ', '.join(str(h) for h in not_ready)


# ---- status -------------------------------------------------------------------------------------------

def vm_identity(host, hv, facts_var='ade_guest'):
    """Which Azure VM a host is: host vars azure_subscription_id / azure_resource_group / azure_vm_name, else the
    guest's IMDS answer in its registered guest_facts result (``facts_var``). {host, subscription_id,
    resource_group, name} (None where unknown)."""
    hv = hv if hasattr(hv, 'get') else {}
    imds = _dict(_dict(_dict(_dict(hv.get(facts_var)).get('ansible_facts')).get('azure_ade')).get('imds'))
    return {'host': host,
            'subscription_id': hv.get('azure_subscription_id') or imds.get('subscription_id') or None,
            'resource_group': hv.get('azure_resource_group') or imds.get('resource_group') or None,
            'name': hv.get('azure_vm_name') or imds.get('name') or None}


def status_vms(hosts, hostvars, facts_var='ade_guest'):
    return [vm_identity(h, _vars(hostvars, h), facts_var) for h in hosts or []]


def status_targets(hosts, hostvars, target_var='ade_status_target'):
    """Which Azure VM each host's row is, from the target the status entry point resolved on the host
    (``target_var``: vm_target / vm_address_target, named by the operator's side). {host, subscription_id,
    resource_group, name, target}; a host where the entry point did not run gets a target error."""
    out = []
    for h in hosts or []:
        t = _dict(_vars(hostvars, h).get(target_var))
        out.append({'host': h, 'subscription_id': t.get('subscription_id') or None,
                    'resource_group': t.get('resource_group') or None, 'name': t.get('name') or None,
                    'target': t if t else {'error': 'the status entry point did not run on this host'}})
    return out


def status_groups(vms):
    """The (subscription, resource group) pairs to list, once each, in first-seen order: [[sub|None, rg], ...].
    VMs with no name or resource group are left out (their rows say 'VM identity unknown')."""
    out = []
    for v in vms or []:
        if not v.get('name') or not v.get('resource_group'):
            continue
        pair = [v.get('subscription_id'), v.get('resource_group')]
        if pair not in out:
            out.append(pair)
    return out


def _key(sub, rg, name=''):
    return '{0}/{1}/{2}'.format(sub or '', rg or '', name or '').lower()


def status_index(results):
    """The platform rows of a looped vm_encryption_info run (over ``status_groups``), by 'sub/rg/name' (lower
    case); a failed list call is indexed under 'sub/rg/' as {'error': msg}."""
    parts = _dict(results).get('results') if 'results' in _dict(results) else [results]
    idx = {}
    for r in parts or []:
        r = _dict(r)
        item = r.get('item') or [None, None]
        for vm in r.get('vms') or []:
            idx[_key(item[0], vm.get('resource_group'), vm.get('name'))] = vm
        if r.get('failed'):
            idx[_key(item[0], item[1])] = {'error': r.get('msg') or 'failed'}
    return idx


def status_fleet(vms, index, hostvars, crypt_var='ade_guest_crypt', imds_var=None):
    """One status row per VM (fleet_status.status_row): its platform row from ``index``, the guest's dm-crypt
    state from the host's ``crypt_var`` (guest_crypt filter), the list call's error for its group. With
    ``imds_var`` (the host's guest IMDS facts), a guest whose vmId is not its row VM's, or a row whose target has
    an error, is marked (identity.status_mark): the row shows no platform status (it would be another VM's), its
    mismatch list gets the mark and its ``identity`` is 'mismatch'."""
    index = index or {}
    rows = []
    for v in vms or []:
        group = _key(v.get('subscription_id'), v.get('resource_group'))
        platform = index.get(group + (v.get('name') or '').lower())
        error = _dict(index.get(group)).get('error')
        hv = _vars(hostvars, v.get('host'))
        mark = identity.status_mark(_dict(hv.get(imds_var)), platform, v.get('target')) if imds_var else None
        row = fleet_status.status_row(v, None if mark else platform, hv.get(crypt_var), error)
        if mark:
            row['mismatch'] = list(row['mismatch']) + [mark]
            row['identity'] = 'mismatch'
        rows.append(row)
    return rows


def status_summary(rows):
    """Counts for the status table's last line: vms, encrypted, not_encrypted, in_progress, failed, mismatches."""
    rows = rows or []
    return {'vms': len(rows),
            'encrypted': len([r for r in rows if r.get('encrypted')]),
            'not_encrypted': len([r for r in rows if not r.get('encrypted')]),
            'in_progress': len([r for r in rows if r.get('phase') == 'in_progress']),
            'failed': len([r for r in rows if r.get('phase') == 'failed']),
            'mismatches': len([r for r in rows if r.get('mismatch')])}


STATUS_MISMATCH_ADVICE = ('The portal can show a disk as encrypted after it was decrypted in the guest with low-level '
                          'commands (or the reverse); re-encrypt with azure_ade.linux.encrypt or disable with '
                          'azure_ade.linux.disable.')
STATUS_RISK_ADVICE = 'Do not deallocate, redeploy or resize these VMs before the fix.'


def status_fail_message(rows, fail_on_mismatch=True, require_encrypted=False, fail_on_risk=False):
    """The status job's verdict: '' (pass), else one line naming why it fails: a mismatch between platform and
    guest (``fail_on_mismatch``), else a VM not encrypted (``require_encrypted``); and, with ``fail_on_risk``,
    the VMs whose unlock is at risk on the next cold start (key custody, issue 16) with each one's reason and
    fix."""
    rows = rows or []
    parts = []
    mism = [r for r in rows if r.get('mismatch')]
    plain = [r for r in rows if not r.get('encrypted')]
    if _bool(fail_on_mismatch) and mism:
        parts.append('Encryption status mismatch: {0}. {1}'.format(
            ' | '.join('{0}: {1}'.format(r.get('host'), '; '.join(str(m) for m in r['mismatch'])) for r in mism),
            STATUS_MISMATCH_ADVICE))
    elif _bool(require_encrypted) and plain:
        parts.append('Not encrypted: {0}'.format(', '.join(str(r.get('host')) for r in plain)))
    risky = [r for r in rows if r.get('unlock_at_risk')]
    if _bool(fail_on_risk) and risky:
        parts.append('Unlock at risk on the next cold start (deallocate, redeploy, host maintenance, resize): '
                     '{0}. {1}'.format(' | '.join('{0}: {1} - fix: {2}'.format(
                         r.get('host'), _dict(r.get('custody')).get('reason'), _dict(r.get('custody')).get('fix'))
                         for r in risky), STATUS_RISK_ADVICE))
    return _one_line(' '.join(parts))

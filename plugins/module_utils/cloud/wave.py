# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""PURE: Azure reads of one wave at once.

The encrypt playbook reads the rollout record / ADE status of every VM of a wave, and waits for their
encryption, with ONE vm_encryption_info call per subscription (``run_once``) instead of one per host: a
resource group of >= 10 VMs is then one paged list call per poll instead of one GET per VM, and the wait
no longer holds one Ansible fork per VM (with the default forks=5 a wave of 100 VMs waited 5 at a time).
These helpers pick the wave's VMs from the hosts' variables and hand each host its own VM's entry. Pure.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import identity as I
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R

VM_ID = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachines/{2}'


class WaveError(ValueError):
    pass


def wave_vms(batch, hostvars, stage):
    """The VMs of the hosts in ``batch`` whose ``ade_stage`` is ``stage``, grouped per subscription.

    Returns [{'subscription_id': sub or None, 'names': [VM name or resource ID, ...], 'hosts': [...],
    'timeout': max ade_wait_timeout}] sorted by subscription (None: the credentials' default subscription).

    ``stage`` must be one of rollout.WAVE_STAGES and every host's ``ade_stage`` (when set) one of
    rollout.HOST_STAGES: a renamed or undeclared stage raises WaveError instead of leaving hosts out of the call."""
    if stage not in R.WAVE_STAGES:
        raise WaveError("rollout_wave_vms: {0!r} is not a wave stage; the wave stages are {1} (cloud/rollout.py "
                        "WAVE_STAGES)".format(stage, ', '.join(R.WAVE_STAGES)))
    groups = {}
    for host in batch or []:
        hv = hostvars[host] if host in hostvars else {}
        host_stage = hv.get('ade_stage') if hasattr(hv, 'get') else None
        if host_stage is not None and host_stage not in R.HOST_STAGES:
            raise WaveError("host {0} is at the undeclared stage {1!r}; the declared stages are {2} (cloud/rollout.py "
                            "HOST_STAGES)".format(host, host_stage, ', '.join(R.HOST_STAGES)))
        if host_stage != stage:
            continue
        vm = hv.get('ade_vm') or {}
        if not vm.get('name') or not vm.get('resource_group'):
            continue
        sub = vm.get('subscription_id') or None
        g = groups.setdefault(sub or '', {'subscription_id': sub, 'vms': [], 'hosts': [], 'timeout': 0})
        g['vms'].append((vm['resource_group'], vm['name']))
        g['hosts'].append(host)
        try:
            g['timeout'] = max(g['timeout'], int(hv.get('ade_wait_timeout') or 0))
        except (TypeError, ValueError):
            pass
    out = []
    for key in sorted(groups):
        g = groups[key]
        names = [names_for(g['subscription_id'], rg, name) for rg, name in g['vms']]
        out.append({'subscription_id': g['subscription_id'], 'names': names, 'hosts': g['hosts'],
                    'timeout': g['timeout']})
    return out


def names_for(subscription_id, resource_group, name):
    """How vm_encryption_info's ``names`` names one VM: a resource ID (the subscription part is only
    informational there: the call's subscription_id is the group's)."""
    return VM_ID.format(subscription_id or '-', resource_group, name)


def pick(results, vm):
    """This host's entry out of the wave call's registered result (a loop result: {'results': [...]}, or one
    module result). Returns {'vms': [entry], 'timed_out': bool, 'found': bool}; entry {} when the VM is not
    in the answer (the host then fails its own check, not the whole wave)."""
    vm = vm or {}
    want = ((vm.get('resource_group') or '').lower(), (vm.get('name') or '').lower())
    parts = (results or {}).get('results') if isinstance(results, dict) and 'results' in results else [results or {}]
    timed_out = False
    for part in parts or []:
        if not isinstance(part, dict) or part.get('skipped'):
            continue
        for entry in part.get('vms') or []:
            key = ((entry.get('resource_group') or '').lower(), (entry.get('name') or '').lower())
            if key == want:
                return {'vms': [entry], 'timed_out': bool(part.get('timed_out')), 'found': True}
        timed_out = timed_out or bool(part.get('timed_out'))
    return {'vms': [{}], 'timed_out': timed_out, 'found': False}


def _addon_candidate(vm, S):
    """An ADE VM (instance view) with an attached data disk that carries no ADE stamp, or an unfinished add-on run
    (issue 16 item 4): its plan needs the extension settings (VolumeType, SequenceVersion) a list read lacks."""
    if (vm.get('tags') or {}).get('azure_ade_addon_stage') in ('snapshot_taken', 'enabling', 'encrypting'):
        return True
    iv = S.instance_view(vm)
    stamped = set((d.get('name') or '').lower() for d in iv.get('disks') or []
                  if S._disk_encryption_state(d) == 'encrypted')  # pylint: disable=protected-access
    data = [(d.get('name') or '').lower() for d in
            ((vm.get('properties') or {}).get('storageProfile') or {}).get('dataDisks') or []]
    # a data disk stamped and another not: a Data/All VM with a disk added later (VolumeType OS VMs stamp no data disk,
    # so an OS-only fleet's status read stays one list call)
    return any(n in stamped for n in data) and any(n not in stamped for n in data)


def needs_full_read(vm, waiting, terminal_phases=('not_started', 'succeeded', 'failed', 'restart_pending')):
    """A VM read from a list has no extension resources, so no ADE settings (SequenceVersion, operation,
    VolumeType): the rollout cannot tell this run's encryption from an earlier one without them. True when
    such a VM carries a rollout record whose SequenceVersion must be compared (stage enabling/encrypting), shows
    the ADE extension in its instance view, and its settings matter now: always for a single read (the plan),
    and while waiting only once its phase is terminal (one GET at the end per VM instead of one per poll).
    A status read of a fleet without rollout records stays one list call."""
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import status as S  # pylint: disable=import-outside-toplevel
    if vm.get('resources') or S.find_ade_extension(vm) is not None:
        return False
    if S._ade_instance_extension(S.instance_view(vm)) is None:  # pylint: disable=protected-access
        return False
    if not waiting and _addon_candidate(vm, S):
        return True
    if R.parse_record(vm.get('tags')).get('stage') not in ('enabling', 'encrypting'):
        return False
    if not waiting:
        return True
    return S.compute_status(vm)['phase'] in terminal_phases


def triage(target, results, answer, guest_reachable, new_run, retry_restored=False, verify=True, retry_verify=False,
           migrate_dual_pass=False, host=None, selinux_saved=False):
    """The encrypt job's whole decision for one host right after the wave's one read (one filter call instead of
    eight host tasks, issue 18 item 4). Pure.

    ``target``: the VM the operator's side names (identity.operator_target/address_target); ``results``: the wave
    read's registered result (pick() finds this VM in it); ``answer``: identity.guest_answer of the guest's IMDS;
    ``guest_reachable``: the preflight reached the guest; ``new_run``: this playbook run's snapshot set name;
    ``selinux_saved``: the guest holds a SELinux state the prerequisites role saved and did not put back (preflight
    fact selinux.saved_state).

    Returns {info, identity, plan, run_set, changed, fail, end, outcome, message, putback_selinux}:
      identity  identity.confirm(): the operator's side names the VM, the guest's IMDS vmId only confirms
      plan      rollout.plan() from the VM's rollout record (what the encrypt job does next)
      fail      non-empty: refuse with this text before any write - the sources disagree, a guest that answered
                did not confirm the VM, or a new/resumed run (it changes the guest) lacks the guest's confirmation
      end       the host ends here with ``outcome``/``message``: nothing to do (done) or not ours to touch (stop);
                never for a dual-pass VM the operator asked to migrate (ade_migrate_dual_pass goes on)
      putback_selinux  a done host puts SELinux back before it ends: a run stopped between its SELinux fix and
                the put-back while its encryption went on to the end (R1.4: no SELinux state forgotten). Never on
                stop (another run or the operator owns the VM) nor on an unreachable guest.
    """
    info = pick(results, (target or {}))
    vm_status = info['vms'][0] or {}
    ident = I.confirm(target, vm_status, answer, guest_required=False, host=host)
    plan = R.plan(vm_status.get('rollout'), vm_status, new_run, retry_restored=bool(retry_restored),
                  verify=bool(verify), retry_verify=bool(retry_verify), addon_record=vm_status.get('addon'))
    out = {'info': info, 'identity': ident, 'plan': plan, 'run_set': plan.get('snapshot_set') or '',
           'changed': plan['action'] in ('wait', 'restore', 'verify'), 'fail': '', 'end': False,
           'outcome': 'in_progress', 'message': '', 'putback_selinux': False}
    if not ident['ok']:
        out['fail'] = ident['msg']
        return out
    if not (ident['confirmed'] or not guest_reachable) or (not ident['confirmed'] and plan['action'] in ('start', 'resume', 'addon')):
        out['fail'] = ('Identity of {0}: {1}. A new or resumed run changes the guest and needs the guest to confirm the '
                       'VM with its IMDS vmId. Nothing was changed.'.format(host or 'this host', ident['msg']))
        return out
    if migrate_dual_pass and vm_status.get('encryption_mode') == 'dual_pass':
        return out
    if plan['action'] in ('done', 'stop'):
        out.update(end=True, message=plan['reason'],
                   outcome=plan.get('outcome') or ('already_encrypted' if plan['action'] == 'done' else 'needs_attention'))
        if plan['action'] == 'done' and guest_reachable and selinux_saved:
            out['putback_selinux'] = True
            out['message'] = (plan['reason'] + '; SELinux put back as the prerequisites role saved it (a run stopped '
                              'before its put-back)')
    return out

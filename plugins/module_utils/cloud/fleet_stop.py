# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The fleet-wide stop marker of a rollout run (issue 18 item 6): AWX job slicing runs one ``ansible-playbook`` per
slice, so a failure in one slice cannot stop the others through Ansible; it writes a marker in Azure that every slice
reads before its next VM. The marker is one tag on the resource group, ``azure_ade_stop_<run>``, written with the Tags
API's Merge (never the whole tag set: two slices failing at once both land, neither erases the other) and removed with
its Delete. Pure decisions; the requests are in the module ``fleet_stop``."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

PREFIX = 'azure_ade_stop_'
VERSION = 'v1'
_RUN_BAD = re.compile(r'[^A-Za-z0-9._-]')
_FIELD_BAD = re.compile(r'[;=\r\n]')
MAX_VALUE = 256          # Azure: a tag value has at most 256 characters
MAX_RUN = 80


class StopError(Exception):
    pass


def tag_name(run):
    """The marker's tag name for a rollout run (the run name every slice shares, e.g. the snapshot set name or the
    AWX workflow job ID). Azure tag names may not contain < > % & \\ ? / - only [A-Za-z0-9._-] is kept."""
    run = (run or '').strip()
    if not run:
        raise StopError('run is empty: give the rollout run name every slice shares (for example the snapshot set '
                        'name, ade_snapshot_set, or the AWX workflow job ID)')
    if len(run) > MAX_RUN:
        raise StopError('run {0!r} is longer than {1} characters'.format(run[:40], MAX_RUN))
    if _RUN_BAD.search(run):
        raise StopError('run {0!r} may contain only letters, digits, ".", "_" and "-" (it becomes part of a tag '
                        'name)'.format(run))
    return PREFIX + run


def _field(value, limit):
    return _FIELD_BAD.sub(' ', str(value if value is not None else ''))[:limit]


def format_marker(vm, host, reason, at):
    """The tag value: ``v1;vm=<vm>;host=<host>;at=<UTC>;why=<reason>`` (at most 256 characters; the reason is cut)."""
    head = '{0};vm={1};host={2};at={3};why='.format(VERSION, _field(vm, 80), _field(host, 64), _field(at, 25))
    return head + _field(reason, max(0, MAX_VALUE - len(head)))


def parse_marker(value):
    """-> dict(vm, host, at, why) or dict(malformed=<text>)."""
    text = str(value or '')
    parts = text.split(';')
    if parts[0] != VERSION:
        return dict(malformed='unknown marker format {0!r}'.format(parts[0][:20]))
    out = {}
    for p in parts[1:]:
        if '=' not in p:
            continue
        k, v = p.split('=', 1)
        if k in ('vm', 'host', 'at', 'why'):
            out[k] = v
    return out


def decide(tags, run):
    """Is the run stopped? -> dict(stopped, tag, marker (parsed or None), message). A malformed marker stops too
    (a stop that cannot be read is still a stop)."""
    tag = tag_name(run)
    value = (tags or {}).get(tag)
    if value is None:
        return dict(stopped=False, tag=tag, marker=None, message='')
    m = parse_marker(value)
    if m.get('malformed'):
        msg = ('Rollout run {0} was stopped (tag {1} on the resource group: {2}). Delete the tag (fleet_stop '
               'state=absent) to go on.'.format(run, tag, m['malformed']))
    else:
        msg = ('Rollout run {0} was stopped by the failure on VM {1} (host {2}) at {3}: {4}. The other slices stop '
               'before their next VM; fix the cause, then clear the marker (fleet_stop state=absent) and run '
               'again.'.format(run, m.get('vm') or '?', m.get('host') or '?', m.get('at') or '?',
                               m.get('why') or 'no reason given'))
    return dict(stopped=True, tag=tag, marker=m, message=msg)


def plan(state, tags, run, vm=None, host=None, reason=None, at=None):
    """What to send. state present: Merge the marker unless one is there (the first failure's marker is kept);
    absent: Delete it if there; query: nothing. -> dict(changed, operation ('Merge'|'Delete'|None), tags,
    decision = decide() before the change)."""
    d = decide(tags, run)
    if state == 'present':
        if d['stopped']:
            return dict(changed=False, operation=None, tags={}, decision=d)
        return dict(changed=True, operation='Merge', tags={d['tag']: format_marker(vm, host, reason, at)}, decision=d)
    if state == 'absent':
        if not d['stopped']:
            return dict(changed=False, operation=None, tags={}, decision=d)
        return dict(changed=True, operation='Delete', tags={d['tag']: (tags or {})[d['tag']]}, decision=d)
    if state == 'query':
        return dict(changed=False, operation=None, tags={}, decision=d)
    raise StopError('state must be present, absent or query, not {0!r}'.format(state))


# ---- the role's side (roles/rollout encrypt; filters fleet_stop_target / fleet_stop_wave) ----

AWX_PREFIX = 'awx-'
# the identity host vars that name a VM's resource group (module_utils/cloud/identity.py operator_target)
_RG_FROM_ID = re.compile(r'/resourceGroups/([^/]+)/', re.I)


def run_key(run=None, awx_workflow_job_id=None):
    """The run every slice shares -> (run or None, source). ``run`` is ade_fleet_stop_run: a name (the operator's,
    passed to every slice as an extra var), False/'' (off), or None (automatic): under AWX, the workflow job ID that
    every slice of one sliced job carries (a sliced job is a workflow job whose nodes are the slices; AWX passes
    awx_workflow_job_id to each); otherwise off - one ansible-playbook process stops its own next waves in memory,
    no Azure call. Not the snapshot set name: a re-run after a fix names the same set and would be stopped by the
    old marker; a new AWX launch is a new workflow job, so its marker is a new one."""
    if run is False or (isinstance(run, str) and run.strip().lower() in ('', 'false', 'no', 'off')):
        return None, 'off'
    if run is not None and run is not True:
        tag_name(str(run))
        return str(run).strip(), 'ade_fleet_stop_run'
    if awx_workflow_job_id not in (None, ''):
        key = AWX_PREFIX + str(awx_workflow_job_id).strip()
        tag_name(key)
        return key, 'awx_workflow_job_id'
    if run is True:
        raise StopError('ade_fleet_stop_run=true needs a run name every slice shares: give the name itself '
                        '(-e ade_fleet_stop_run=<name> to every slice), or run under AWX (awx_workflow_job_id)')
    return None, 'none'


def host_resource_group(host_vars):
    """The resource group the operator's side names for one host (identity host vars), or None."""
    host_vars = host_vars or {}
    for key in ('azure_vm_resource_id', 'id'):
        m = _RG_FROM_ID.search(str(host_vars.get(key) or ''))
        if m:
            return m.group(1)
    rg = host_vars.get('azure_resource_group')
    return str(rg).strip() if rg else None


def target(host_vars_list, run=None, resource_group=None, awx_workflow_job_id=None, scope_resource_groups=None,
           subscription_id=None):
    """Where this playbook run reads and writes its stop marker -> dict(enabled, run, source, resource_group,
    subscription_id). The resource group: ade_fleet_stop_resource_group, else the one every host of the play names
    (identity host vars), else the one resource group of ade_identity_scope_resource_groups. Every slice must find the
    same one, so hosts naming several groups (or none) with no explicit one are refused, naming the fix."""
    key, source = run_key(run, awx_workflow_job_id)
    out = dict(enabled=False, run=key, source=source, resource_group=None, subscription_id=subscription_id or None)
    if key is None:
        return out
    rg = (resource_group or '').strip() or None
    if rg is None:
        groups = set(host_resource_group(h) for h in (host_vars_list or []))
        if len(groups) == 1 and None not in groups:
            rg = groups.pop()
        elif len(scope_resource_groups or []) == 1:
            rg = str(scope_resource_groups[0])
        else:
            named = sorted(g for g in groups if g)
            raise StopError(
                'the fleet-wide stop marker of run {0} (from {1}) needs one resource group that every slice reads, and '
                'the hosts name {2}: set ade_fleet_stop_resource_group (or ade_fleet_stop_run=false to run without '
                'the marker)'.format(key, source, (', '.join(named) + (' and hosts with none' if None in groups else ''))
                                     if named else 'none'))
    out.update(enabled=True, resource_group=rg)
    return out


def wave_stop(local_stopped, local_by=None, read=None):
    """Does the next wave stop before any VM? -> dict(stop, by: 'this run'|'marker'|'unreadable'|None, message).
    ``read`` is the wave's fleet_stop query result (None or skipped when the marker is off). A marker that cannot be
    read stops too: a slice that cannot see the others' stop must not go on (fail safe)."""
    if local_stopped:
        return dict(stop=True, by='this run', message='Rollout stopped after the failure on {0}.'.format(
            local_by or '?'))
    read = read or {}
    if not read or read.get('skipped'):
        return dict(stop=False, by=None, message='')
    if read.get('failed'):
        return dict(stop=True, by='unreadable', message=(
            'Not attempted: the fleet-wide stop marker of this run could not be read ({0}), so this slice cannot tell '
            'whether another slice stopped the rollout. Fix the access (Microsoft.Resources/tags/read on the resource '
            'group), then run again.'.format(str(read.get('msg') or 'no message')[:300])))
    if read.get('stopped'):
        return dict(stop=True, by='marker', message=read.get('message') or 'Rollout run stopped by another slice.')
    return dict(stop=False, by=None, message='')


def write_reason(outcome, stage):
    """The marker's 'why': the outcome and the stage only - never the failure's text (the tag is readable by every
    reader of the resource group; the text stays in the private report)."""
    return '{0} at stage {1}; see that slice\'s report'.format(outcome or 'failed', stage or '?')

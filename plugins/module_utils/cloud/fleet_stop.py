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

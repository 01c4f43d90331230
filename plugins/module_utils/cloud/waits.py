# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Waiting for one VM's ADE phase through the one poller, and the progress history of a wait."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import time

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller, PollTimeout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import (
    TERMINAL, StatusClock, compute_status, next_poll_interval)


def wait_for_phases(read, base_interval, timeout, observe, done=None, stats=None, wait=True, what='reading VM status',
                    on_retry=None, sleep=time.sleep, now=time.time):
    """The one phase-wait, for N VMs (issue 18 item 3): every wait for ADE phases goes through it -
    vm_encryption_info with N = all selected VMs, vm_encryption (wait_for_phase) with N = 1.

    ``read(pending)`` -> {key: vm} is one round of reads (``pending``: None on the first round, then the keys not
    yet done, so a caller reading VMs by name reads only those). ``observe(key, vm, now)`` -> status is the caller's
    judgement of one read (clock rules, stale reads, stall reports, history). ``done(status)`` says when a VM needs
    no more polls (default: a terminal phase). With ``wait`` false it reads once. Rounds go through the one poller:
    dropped connections, 5xx and throttling are ridden out with back-off until ``timeout`` (each passed to
    ``on_retry`` as it happens); the next round comes after the smallest adaptive interval of the pending VMs
    (status.next_poll_interval: phase, Retry-After, ARM's remaining reads). A PollTimeout before the first answer is
    raised; after it, and when the next round would pass the deadline, the wait ends timed out.
    Returns dict(statuses {key: status}, timed_out, polls, retried (the poller's history), error (the PollTimeout
    text or None))."""
    done = done or (lambda st: st['phase'] in TERMINAL)
    poller = Poller(timeout, clock=now, sleep=sleep, base_delay=min(base_interval, 5.0))
    out = dict(statuses={}, timed_out=False, polls=0, retried=poller.history, error=None)
    statuses = out['statuses']
    pending = None
    while True:
        out['polls'] += 1
        before = stats.total if stats is not None else 0
        if wait:
            seen = len(poller.history)
            try:
                found = poller.call(lambda: read(pending), what)
            except PollTimeout as exc:
                if not statuses:
                    raise
                out.update(timed_out=True, error=str(exc))
                return out
            finally:
                for h in poller.history[seen:]:
                    if on_retry is not None:
                        on_retry(h)
        else:
            found = read(pending)
        reads_per_poll = (stats.total - before) if stats is not None else 0
        t = now()
        for k, vm in found.items():
            statuses[k] = observe(k, vm, t)
        if not wait:
            return out
        pending = [k for k, st in statuses.items() if not done(st)]
        if not pending:
            return out
        retry_after = stats.take_retry_after() if stats is not None else 0.0
        interval = min(next_poll_interval(statuses[k], base_interval, retry_after,
                                          remaining_reads=getattr(stats, 'remaining_reads', None),
                                          reads_per_poll=reads_per_poll) for k in pending)
        if interval <= 0:
            interval = base_interval
        if not poller.pause(interval):
            out['timed_out'] = True
            return out


def wait_for_phase(session, resource_group, name, deadline, base_interval, history, done=None, sleep=time.sleep,
                   now=time.time, clock=None):
    """wait_for_phases with N = 1: poll one VM (one GET with instanceView per poll) until its phase is terminal
    (or ``done(status)``) or ``deadline``. Appends {time, phase, message} to ``history`` when the message/phase
    changes, and each failure ridden out as phase ``retrying``. The status.StatusClock time rules apply
    (VMRestartPending grace, stalled transient error). Returns (status, timed_out)."""
    clock = clock or StatusClock()
    key = (resource_group.lower(), name.lower())

    def read(_pending):
        vm = session.get_vm(resource_group, name)
        if vm is None:
            raise LookupError('VM {0}/{1} disappeared while waiting'.format(resource_group, name))
        return {key: vm}

    def observe(k, vm, t):
        status = clock.apply(k, compute_status(vm), t)
        record_history(history, status, t)
        return status

    def retried(h):
        history.append(dict(time=h['time'], phase='retrying', message='{0} ({1}); next try in {2}s'.format(
            h['error'], h['kind'], h['delay']), os=None, data=None))

    res = wait_for_phases(read, base_interval, max(0.0, deadline - now()), observe,
                          done=done or (lambda st: st['phase'] in ('succeeded', 'failed', 'restart_pending')),
                          stats=session.stats, what='GET VM {0}'.format(name), on_retry=retried, sleep=sleep, now=now)
    return res['statuses'][key], res['timed_out']


def record_history(history, status, when):
    entry = dict(time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when)), phase=status['phase'],
                 message=status.get('progress_message'), os=status.get('os_volume_encrypted'),
                 data=status.get('data_volumes_encrypted'))
    if not history or any(history[-1][k] != entry[k] for k in ('phase', 'message', 'os', 'data')):
        history.append(entry)

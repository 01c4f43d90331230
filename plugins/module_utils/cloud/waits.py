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
    StatusClock, compute_status, next_poll_interval)


def wait_for_phase(session, resource_group, name, deadline, base_interval, history, done=None, sleep=time.sleep,
                   now=time.time, clock=None):
    """Poll one VM (one GET with instanceView per poll) until its phase is terminal (or ``done(status)``)
    or ``deadline``, through the one poller (dropped connections, 5xx and throttling ridden out with back-off
    until the deadline; each recorded in ``history`` as phase ``retrying``). Appends {time, phase, message}
    to ``history`` when the message/phase changes. The status.StatusClock time rules apply (VMRestartPending
    grace, stalled transient error). Returns (status, timed_out)."""
    status = None
    clock = clock or StatusClock()
    poller = Poller(max(0.0, deadline - now()), clock=now, sleep=sleep, base_delay=min(base_interval, 5.0))
    while True:
        seen = len(poller.history)
        try:
            vm = poller.call(lambda: session.get_vm(resource_group, name), 'GET VM {0}'.format(name))
        except PollTimeout:
            if status is None:
                raise
            return status, True
        finally:
            for h in poller.history[seen:]:
                history.append(dict(time=h['time'], phase='retrying', message='{0} ({1}); next try in {2}s'.format(
                    h['error'], h['kind'], h['delay']), os=None, data=None))
        if vm is None:
            raise LookupError('VM {0}/{1} disappeared while waiting'.format(resource_group, name))
        status = clock.apply((resource_group.lower(), name.lower()), compute_status(vm), now())
        record_history(history, status, now())
        finished = done(status) if done else status['phase'] in ('succeeded', 'failed', 'restart_pending')
        if finished:
            return status, False
        interval = next_poll_interval(status, base_interval, session.stats.take_retry_after())
        if interval <= 0:
            interval = base_interval
        if not poller.pause(interval):
            return status, True


def record_history(history, status, when):
    entry = dict(time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when)), phase=status['phase'],
                 message=status.get('progress_message'), os=status.get('os_volume_encrypted'),
                 data=status.get('data_volumes_encrypted'))
    if not history or any(history[-1][k] != entry[k] for k in ('phase', 'message', 'os', 'data')):
        history.append(entry)

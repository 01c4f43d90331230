# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Glue shared by the controller modules: argspec merge, session creation, error reporting."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.auth import (
    AZURE_AUTH_ARGSPEC, AuthError, redact_plan, resolve_auth)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import (
    SDK_IMPORT_ERROR, AzureSession, ConflictTimeout, HttpResponseError, ServiceRequestError, error_text,
    missing_sdk_message)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import Poller, PollTimeout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import (
    StatusClock, compute_status, next_poll_interval)


def azure_module(argument_spec, **kwargs):
    spec = dict(AZURE_AUTH_ARGSPEC)
    spec.update(argument_spec)
    return AnsibleModule(argument_spec=spec, **kwargs)


def open_session(module):
    """Resolve auth and build the SDK session, or fail the module with one clear message."""
    if SDK_IMPORT_ERROR:
        module.fail_json(msg=missing_sdk_message())
    try:
        plan = resolve_auth(module.params, os.environ)
        return AzureSession(plan)
    except AuthError as exc:
        module.fail_json(msg='Azure authentication: {0}'.format(exc))
    except Exception as exc:  # pylint: disable=broad-except
        module.fail_json(msg='Azure authentication/client setup failed: {0}'.format(exc))


def fail_azure(module, what, exc, **result):
    """Fail with the Azure error condensed to one line (status, ARM code, message)."""
    if isinstance(exc, (HttpResponseError, ConflictTimeout)):
        text = error_text(exc) if isinstance(exc, HttpResponseError) else str(exc)
    elif isinstance(exc, ServiceRequestError):
        text = 'cannot reach Azure ({0}); check network/proxy/ca_bundle'.format(exc)
    else:
        text = '{0}: {1}'.format(exc.__class__.__name__, exc)
    module.fail_json(msg='{0}: {1}'.format(what, text), **result)


def session_summary(session):
    if session is None:
        return {}
    return dict(requests=session.stats.as_dict(), auth_source=redact_plan(session.plan).get('source'))


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


def check_numbers(module, non_negative=(), positive=()):
    """Fail before anything is sent when a timeout is negative or an interval is not positive."""
    errors = []
    for key in non_negative:
        val = module.params.get(key)
        if val is not None and val < 0:
            errors.append('{0} must be >= 0 (seconds), got {1}'.format(key, val))
    for key in positive:
        val = module.params.get(key)
        if val is not None and val <= 0:
            errors.append('{0} must be > 0 (seconds), got {1}: a zero interval would poll Azure in a tight loop'
                          .format(key, val))
    if errors:
        module.fail_json(msg='; '.join(errors) + '. Nothing was sent to Azure.')


def identity_error(vm, expected_vm_id):
    """Why ``vm`` is not the VM the guest says it is (IMDS vmId vs ARM vmId), or None. Pure."""
    if not expected_vm_id:
        return None
    arm_id = ((vm or {}).get('properties') or {}).get('vmId') or ''
    if arm_id.lower() != str(expected_vm_id).lower():
        return ("identity check failed: the guest's IMDS vmId is {0} but ARM VM {1} has vmId {2}; the inventory (or "
                "the guest's IMDS answer) names another VM than the one this guest runs on. Nothing was changed. Fix "
                "azure_resource_group/azure_vm_name for this host".format(
                    expected_vm_id, (vm or {}).get('id'), arm_id or '(none)'))
    return None


def write_record(session, resource_group, name, vm, stage, deadline, **kw):
    """Move the VM's rollout record (tags) to ``stage``; returns the new record tags.
    Raises rollout.RolloutError on a transition the state machine does not allow."""
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout  # pylint: disable=import-outside-toplevel
    record = rollout.parse_record(vm.get('tags'))
    tags = rollout.transition(record, stage, **kw)
    full = rollout.merged_tags(vm.get('tags'), tags)
    session.retry_conflicts(lambda: session.update_vm_tags(resource_group, name, full), deadline,
                            'recording rollout stage {0}'.format(stage), interval=5.0)
    vm['tags'] = full
    return tags

# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
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
    or ``deadline``. Appends {time, phase, message} to ``history`` when the message/phase changes.
    The status.StatusClock time rules apply (VMRestartPending grace, stalled transient error).
    Returns (status, timed_out)."""
    status = None
    clock = clock or StatusClock()
    while True:
        vm = session.get_vm(resource_group, name)
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
        if now() + interval > deadline:
            return status, True
        sleep(interval)


def record_history(history, status, when):
    entry = dict(time=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(when)), phase=status['phase'],
                 message=status.get('progress_message'), os=status.get('os_volume_encrypted'),
                 data=status.get('data_volumes_encrypted'))
    if not history or any(history[-1][k] != entry[k] for k in ('phase', 'message', 'os', 'data')):
        history.append(entry)

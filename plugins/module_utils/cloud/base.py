# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The one base of the controller modules (vm_snapshot, vm_encryption, vm_encryption_info, vm_restore):
argspec merge with the auth options, numbers checked before anything is sent, the Azure session, exit/fail
with the request stats, one-line Azure errors, and the rollout-record writes."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.auth import (
    AZURE_AUTH_ARGSPEC, AuthError, resolve_auth)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import (
    SDK_IMPORT_ERROR, AzureSession, ConflictTimeout, HttpResponseError, ServiceRequestError, error_text,
    missing_sdk_message)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import PollTimeout


# The one VM a controller module acts on (doc fragment azure_ade.linux.azure_vm): vm_encryption, vm_snapshot,
# vm_restore, vm_migrate merge it into their argument spec (dict(VM_ARGSPEC, ...)).
VM_ARGSPEC = dict(resource_group=dict(type='str', required=True),
                  name=dict(type='str', required=True, aliases=['vm_name']))


def number_errors(params, non_negative=(), positive=()):
    """Messages for a negative timeout or a non-positive interval. Pure."""
    errors = []
    for key in non_negative:
        val = params.get(key)
        if val is not None and val < 0:
            errors.append('{0} must be >= 0 (seconds), got {1}'.format(key, val))
    for key in positive:
        val = params.get(key)
        if val is not None and val <= 0:
            errors.append('{0} must be > 0 (seconds), got {1}: a zero interval would poll Azure in a tight loop'
                          .format(key, val))
    return errors


def azure_error_text(exc):
    """One line for an Azure failure (status, ARM code, message)."""
    if isinstance(exc, HttpResponseError) and HttpResponseError is not Exception:
        return error_text(exc)
    if isinstance(exc, (ConflictTimeout, PollTimeout)):
        return str(exc)
    if isinstance(exc, ServiceRequestError) and ServiceRequestError is not Exception:
        return 'cannot reach Azure ({0}); check network/proxy/ca_bundle'.format(exc)
    return '{0}: {1}'.format(exc.__class__.__name__, exc)


class AzureModule:
    """AnsibleModule with the auth options merged in; ``exit``/``fail`` always carry ``requests``."""

    def __init__(self, argument_spec, non_negative=(), positive=(), **kwargs):
        spec = dict(AZURE_AUTH_ARGSPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.session = None
        errors = number_errors(self.params, non_negative, positive)
        if errors:
            self.module.fail_json(msg='; '.join(errors) + '. Nothing was sent to Azure.')

    def open_session(self):
        """Resolve auth and build the SDK session, or fail with one clear message."""
        if SDK_IMPORT_ERROR:
            self.module.fail_json(msg=missing_sdk_message())
        try:
            self.session = AzureSession(resolve_auth(self.params, os.environ))
        except AuthError as exc:
            self.module.fail_json(msg='Azure authentication: {0}'.format(exc))
        except Exception as exc:  # pylint: disable=broad-except
            self.module.fail_json(msg='Azure authentication/client setup failed: {0}'.format(exc))
        return self.session

    def stats(self):
        return self.session.stats.as_dict() if self.session is not None else {}

    def warn(self, text):
        self.module.warn(text)

    def exit(self, **result):
        result['requests'] = self.stats()
        self.module.exit_json(**result)

    def fail(self, msg, **result):
        result['requests'] = self.stats()
        self.module.fail_json(msg=msg, **result)

    def fail_azure(self, what, exc, **result):
        """Fail with the Azure error condensed to one line."""
        self.fail('{0}: {1}'.format(what, azure_error_text(exc)), **result)


def write_record(session, resource_group, name, vm, stage, deadline, **kw):
    """Move the VM's rollout record (tags) to ``stage``; returns the new record tags.
    Raises rollout.RolloutError on a transition the state machine does not allow (nothing sent then)."""
    record = rollout.parse_record(vm.get('tags'))
    tags = rollout.transition(record, stage, **kw)
    full = rollout.merged_tags(vm.get('tags'), tags)
    session.retry_conflicts(lambda: session.update_vm_tags(resource_group, name, full), deadline,
                            'recording rollout stage {0}'.format(stage), interval=5.0)
    vm['tags'] = full
    return tags

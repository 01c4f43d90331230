# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The one base of the controller modules (vm_snapshot, vm_encryption, vm_encryption_info, vm_restore, vm_migrate):
argspec merge with the auth options, numbers checked before anything is sent, the Azure session, exit/fail
with the request stats, one-line Azure errors, the rollout-record writes, and the VM lease of a writing module
(issue 14: one run per VM at a time; decisions in lease.py)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import socket
import time
import uuid

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import lease as lease_rules
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import validate
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.auth import (
    AZURE_AUTH_ARGSPEC, AuthError, resolve_auth)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.client import (
    SDK_IMPORT_ERROR, AzureSession, ConflictTimeout, HttpResponseError, ServiceRequestError, error_text,
    missing_sdk_message)
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import PollTimeout

try:
    from azure.core.exceptions import ResourceModifiedError
except ImportError:  # reported by open_session (missing SDK)
    ResourceModifiedError = Exception

# The lease options every writing module takes (doc fragment azure_ade.linux.lease). No argspec defaults: the env
# fallbacks (AWX credentials / job environment) must apply when a task does not set them; defaults in LEASE_DEFAULTS.
LEASE_ARGSPEC = dict(
    lease_wait=dict(type='int', fallback=(env_fallback, ['AZURE_ADE_LEASE_WAIT'])),
    lease_ttl=dict(type='int', fallback=(env_fallback, ['AZURE_ADE_LEASE_TTL'])),
    lease_run=dict(type='str', fallback=(env_fallback, ['AZURE_ADE_LEASE_RUN'])),
)
LEASE_DEFAULTS = dict(lease_wait=0, lease_ttl=lease_rules.DEFAULT_TTL)


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
    if isinstance(exc, (ConflictTimeout, PollTimeout, lease_rules.LeaseError)):
        return str(exc)
    if isinstance(exc, ServiceRequestError) and ServiceRequestError is not Exception:
        return 'cannot reach Azure ({0}); check network/proxy/ca_bundle'.format(exc)
    return '{0}: {1}'.format(exc.__class__.__name__, exc)


class AzureModule:
    """AnsibleModule with the auth options merged in; ``exit``/``fail`` always carry ``requests``."""

    def __init__(self, argument_spec, non_negative=(), positive=(), lease=False, **kwargs):
        spec = dict(AZURE_AUTH_ARGSPEC)
        if lease:
            spec.update(LEASE_ARGSPEC)
        spec.update(argument_spec)
        self.module = AnsibleModule(argument_spec=spec, **kwargs)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.session = None
        self.lease = None
        # the run's lease token (every module of one ansible-playbook run shares it), also sent in the User-Agent so
        # that the simulator's request log (tests) can tell the writes of two runs apart
        self.token, self.run_label = run_token()
        if lease:
            for key, val in LEASE_DEFAULTS.items():
                if self.params.get(key) is None:
                    self.params[key] = val
            non_negative = tuple(non_negative) + ('lease_wait',)
            positive = tuple(positive) + ('lease_ttl',)
        errors = number_errors(self.params, non_negative, positive) + validate.param_errors(self.params)
        if errors:
            self.module.fail_json(msg='; '.join(errors) + '. Nothing was sent to Azure.')

    def open_session(self):
        """Resolve auth and build the SDK session, or fail with one clear message."""
        if SDK_IMPORT_ERROR:
            self.module.fail_json(msg=missing_sdk_message())
        try:
            plan = resolve_auth(self.params, os.environ)
            plan['user_agent'] = 'azure_ade-lease/{0}'.format(self.token)
            self.session = AzureSession(plan)
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
        self.release_lease()
        result['requests'] = self.stats()
        self.module.exit_json(**result)

    def fail(self, msg, **result):
        self.release_lease()
        result['requests'] = self.stats()
        self.module.fail_json(msg=msg, **result)

    # ---- the VM lease (issue 14) ----------------------------------------------------------------------
    def read_vm_leased(self, resource_group, name, instance_view=True):
        """GET the VM this module will act on, once no other run holds it: a live lease of another run is waited
        for up to ``lease_wait`` seconds (then the module stops naming the holder); an expired one will be taken
        over. Every later write of this module (any non-GET ARM request, and ``guard()`` before other writes)
        first takes the lease - an If-Match PATCH of the tag set on the etag of THIS read, so a run that wrote
        the VM in between makes it fail (412) instead of acting on a stale decision - and renews it while it
        works. Check mode: no lease (nothing is written). Returns the VM dict, or None when it does not exist."""
        waited = 0.0
        start = time.time()
        while True:
            vm = self.session.get_vm(resource_group, name, instance_view=instance_view)
            if vm is None or self.check_mode:
                return vm
            now = time.time()
            d = lease_rules.decide(vm.get('tags'), self.token, now, self.params['lease_ttl'])
            if d['action'] in ('free', 'ours', 'expired'):
                if d['action'] == 'expired':
                    self.warn('VM {0}: taking over an expired lease ({1})'.format(name, d['reason']))
                self.lease = dict(rg=resource_group, name=name, etag=vm.get('etag'), tags=dict(vm.get('tags') or {}),
                                  held=False, expires=0, ttl=self.params['lease_ttl'], busy=False, took_over=d['holder'])
                self.session.write_guard = self.guard
                return vm
            waited = now - start
            left = self.params['lease_wait'] - waited
            if d['action'] == 'malformed' or left <= 0:
                self.fail(lease_rules.busy_message(name, d, waited), lease_holder=d['holder'])
            time.sleep(lease_rules.wait_delay(left, d['wait_max']))

    def guard(self):
        """Before a write: take the lease (first write), renew it when due, and stop (LeaseError) when another run
        took it over. No request while the lease is safely ours (nobody may take a live lease)."""
        ls = self.lease
        if ls is None or ls['busy']:
            return
        ls['busy'] = True
        try:
            if not ls['held']:
                self._take(ls, time.time())
            for _unused in range(3):
                # also right after taking it: a take that answered late (a stall) may have lost it already
                if lease_rules.still_safe(ls['expires'], time.time(), ls['ttl']) and \
                        not lease_rules.renew_due(ls['expires'], time.time(), ls['ttl']):
                    return
                self._renew(ls)
            if not lease_rules.still_safe(ls['expires'], time.time(), ls['ttl']):
                raise lease_rules.LeaseError('VM {0}: the lease could not be kept (each renewal took longer than '
                                             'lease_ttl {1} s allows); raise lease_ttl'.format(ls['name'], ls['ttl']))
        finally:
            ls['busy'] = False

    def _value(self, ls, now):
        return lease_rules.format_lease(self.token, self.params.get('lease_run') or self.run_label,
                                        socket.gethostname(), os.getpid(), ls['ttl'], now)

    def _take(self, ls, now):
        value = self._value(ls, now)
        try:
            self._patch(ls, lease_rules.with_lease(ls['tags'], value), ls['etag'])
        except ResourceModifiedError:
            vm = self.session.get_vm(ls['rg'], ls['name'], instance_view=False) or {}
            d = lease_rules.decide(vm.get('tags'), self.token, time.time(), ls['ttl'])
            raise lease_rules.LeaseError(
                'VM {0} was changed by another run after this run read it ({1}); nothing was written by this run. '
                'Run again (lease_wait / ade_lease_wait waits for the other run)'.format(ls['name'], d['reason']))
        if not ls['etag']:
            self._read_back(ls)
        ls.update(held=True, expires=now + ls['ttl'])
        self.session.tag_overlay[lease_rules.TAG] = value

    def _renew(self, ls, attempts=3):
        for _unused in range(attempts):
            vm = self.session.get_vm(ls['rg'], ls['name'], instance_view=False) or {}
            now = time.time()
            d = lease_rules.decide(vm.get('tags'), self.token, now, ls['ttl'])
            if d['action'] != 'ours':
                ls['held'] = False
                self.session.tag_overlay.pop(lease_rules.TAG, None)
                raise lease_rules.LeaseError(
                    'VM {0}: this run lost its lease ({1}: another run took the VM over after this run stalled past '
                    'its lease); this run stops before its next write'.format(ls['name'], d['reason']))
            value = self._value(ls, now)
            try:
                self._patch(ls, lease_rules.with_lease(vm.get('tags'), value), vm.get('etag'))
            except ResourceModifiedError:
                continue
            ls['expires'] = now + ls['ttl']
            self.session.tag_overlay[lease_rules.TAG] = value
            return
        raise lease_rules.LeaseError('VM {0}: the lease could not be renewed ({1} attempts answered 412: the VM '
                                     'keeps changing)'.format(ls['name'], attempts))

    def _read_back(self, ls):
        """No etag from Azure (an old api-version): read the tag back; the last writer wins, so a run that finds
        another token there stops."""
        vm = self.session.get_vm(ls['rg'], ls['name'], instance_view=False) or {}
        d = lease_rules.decide(vm.get('tags'), self.token, time.time(), ls['ttl'])
        if d['action'] != 'ours':
            raise lease_rules.LeaseError('VM {0}: another run took the lease at the same time ({1}); nothing was '
                                         'written by this run'.format(ls['name'], d['reason']))

    def _patch(self, ls, tags, etag, conflict_wait=300):
        deadline = time.time() + conflict_wait
        self.session.retry_conflicts(lambda: self.session.patch_vm_tags_if_match(ls['rg'], ls['name'], tags, etag),
                                     deadline, 'VM lease', interval=5.0)

    def release_lease(self):
        """Remove this run's lease if it still holds it (never another run's). Failures only warn."""
        ls, self.lease = self.lease, None
        if self.session is not None:
            self.session.write_guard = None
            self.session.tag_overlay.pop(lease_rules.TAG, None)
        if not ls or not ls['held']:
            return
        try:
            for _unused in range(3):
                vm = self.session.get_vm(ls['rg'], ls['name'], instance_view=False) or {}
                if lease_rules.decide(vm.get('tags'), self.token, time.time(), ls['ttl'])['action'] != 'ours':
                    return
                try:
                    # an operation this run started may still run (e.g. the extension): Azure refuses the PATCH
                    # (409) until it ends; then the lease is left - the next module of this run takes it as its
                    # own, any other run once it expired
                    self._patch(ls, lease_rules.with_lease(vm.get('tags'), None), vm.get('etag'), conflict_wait=30)
                    return
                except ResourceModifiedError:
                    continue
        except ConflictTimeout:
            pass
        except Exception as exc:  # pylint: disable=broad-except
            self.warn('VM {0}: the lease of this run could not be removed ({1}); it expires by itself'.format(
                ls['name'], azure_error_text(exc)))

    def fail_azure(self, what, exc, **result):
        """Fail with the Azure error condensed to one line."""
        self.fail('{0}: {1}'.format(what, azure_error_text(exc)), **result)


def run_token(proc='/proc'):
    """The lease token of this module's run: derived from the ansible-playbook (or ansible) process it descends from
    (PID + start time + host), so every module of one run shares it and a re-run or another job differs; a random
    token when there is none (a module started by async_wrapper, which detaches, or outside Ansible).
    -> (token, run label for the lease when lease_run is not set)"""
    import hashlib  # pylint: disable=import-outside-toplevel
    pid = os.getpid()
    top = None
    try:
        for _unused in range(16):
            with open('{0}/{1}/stat'.format(proc, pid)) as f:
                stat = f.read()
            fields = stat[stat.rindex(')') + 2:].split()
            ppid, start = int(fields[1]), fields[19]
            with open('{0}/{1}/cmdline'.format(proc, pid), 'rb') as f:
                argv = f.read().split(b'\0')
            if any(os.path.basename(a) in (b'ansible-playbook', b'ansible') for a in argv[:2]):
                top = (pid, start)     # the workers are forks of it with the same command line: keep the topmost
            if ppid <= 1:
                break
            pid = ppid
    except (IOError, OSError, ValueError, IndexError):
        pass
    if top is not None:
        seed = '{0}:{1}:{2}'.format(socket.gethostname(), top[0], top[1])
        return hashlib.sha256(seed.encode('utf-8')).hexdigest()[:12], 'ansible-playbook-{0}'.format(top[0])
    return uuid.uuid4().hex[:12], 'module-{0}'.format(os.getpid())


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

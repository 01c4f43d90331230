# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""The thin SDK layer: one ComputeManagementClient per module run, REST-shaped dicts out.

Everything the decision code sees is a plain dict in the REST shape (camelCase keys, as in the
recordings); azure-mgmt-compute 39 models are MutableMappings over exactly that shape.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import copy
import json
import os
import re
import subprocess
import time
import traceback

try:
    from urllib.parse import quote
except ImportError:  # Python 2.7 (ansible-test's import sanity only)
    from urllib import quote  # noqa: F401

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.auth import (
    SDK_PIP, AuthError, build_credential, redact_plan, retry_settings)

SDK_IMPORT_ERROR = None
try:
    from azure.core.exceptions import HttpResponseError, ResourceNotFoundError, ServiceRequestError  # noqa: F401 pylint: disable=unused-import
    from azure.core.rest import HttpRequest
    from azure.core.pipeline import policies as core_policies
    from azure.core.pipeline.policies import SansIOHTTPPolicy
    from azure.mgmt.core import ARMPipelineClient, __version__ as ARM_CORE_VERSION
    from azure.mgmt.core.policies import (ARMAutoResourceProviderRegistrationPolicy, ARMChallengeAuthenticationPolicy,
                                          ARMHttpLoggingPolicy)
    import azure.identity  # noqa: F401  pylint: disable=unused-import
    # azure.mgmt.compute (~0.25 CPU-s to import: every operation group and model) is imported by AzureSession.compute
    # on first use, so a module run that only reads (GET/list through AzureSession.arm) never pays it.
    from importlib.util import find_spec
    if find_spec('azure.mgmt.compute') is None:
        raise ImportError("No module named 'azure.mgmt.compute'")
except ImportError:
    SDK_IMPORT_ERROR = traceback.format_exc()
    HttpResponseError = ResourceNotFoundError = ServiceRequestError = Exception  # for except clauses
    ARMChallengeAuthenticationPolicy = SansIOHTTPPolicy = object

_CHALLENGE_ERROR = re.compile(r'error="([^"]*)"')


class RenewingAuthenticationPolicy(ARMChallengeAuthenticationPolicy):
    """ARM bearer policy that, on a 401 'invalid_token' challenge (a token revoked or expired early during an
    hours-long wait), fetches a fresh token past the credential's cache once and resends the request.
    Claims challenges (CAE) are handled by the base class as before."""

    def on_challenge(self, request, response):
        if super().on_challenge(request, response):
            return True
        header = response.http_response.headers.get('WWW-Authenticate') or ''
        m = _CHALLENGE_ERROR.search(header)
        if m and m.group(1) == 'invalid_token' and not request.context.get('azure_ade_token_renewed'):
            request.context['azure_ade_token_renewed'] = True
            # A claims challenge makes MSAL skip its cache (same shape as a CAE nbf challenge).
            claims = json.dumps({'access_token': {'nbf': {'essential': True, 'value': str(int(time.time()))}}})
            self.authorize_request(request, *self._scopes, claims=claims)
            return True
        return False


class WriteGuardPolicy(SansIOHTTPPolicy):
    """Calls the session's write guard (the VM lease, base.py) once before every ARM request that is not a read,
    so that no write of a module leaves this process while another run holds the VM."""

    def __init__(self, session):
        self.session = session

    def on_request(self, request):
        if request.http_request.method not in ('GET', 'HEAD'):
            self.session.guard_write()


JMESPATH_IMPORT_ERROR = None
try:
    import jmespath  # noqa: F401  pylint: disable=unused-import
except ImportError:
    JMESPATH_IMPORT_ERROR = traceback.format_exc()

KEYVAULT_API = '2023-07-01'
COMPUTE_API = '2026-04-01'   # the api-version azure-mgmt-compute 39 uses
SUBSCRIPTIONS_API = '2022-12-01'


def missing_sdk_message():
    last = ((SDK_IMPORT_ERROR or '').strip().splitlines() or [''])[-1]
    return ("The Azure SDK for Python is missing or too old for the Python that runs this module on the control "
            "node; install it there: {0} (import error: {1})".format(SDK_PIP, last))


def to_dict(obj):
    """An SDK model (MutableMapping in REST shape) or anything JSON-like -> plain dict/list."""
    if obj is None:
        return None
    if hasattr(obj, 'as_dict') and not isinstance(obj, dict):
        try:
            return json.loads(json.dumps(obj.as_dict(), default=str))
        except TypeError:
            pass
    return json.loads(json.dumps(obj, default=lambda o: dict(o) if hasattr(o, 'keys') else str(o)))


def error_text(exc):
    """Short, useful text of an SDK error: status, ARM error code and message."""
    status = getattr(exc, 'status_code', None)
    err = getattr(exc, 'error', None)
    code = getattr(err, 'code', None) if err is not None else None
    msg = getattr(err, 'message', None) if err is not None else None
    if not msg:
        msg = getattr(exc, 'message', None) or str(exc)
    parts = []
    if status:
        parts.append('HTTP {0}'.format(status))
    if code:
        parts.append(code)
    parts.append(msg.strip().splitlines()[0] if msg else exc.__class__.__name__)
    return ': '.join(parts)


def arm_pipeline_client(base_url, credential_scopes=None, authentication_policy=None, per_call_policies=None,
                        polling_interval=None, **kwargs):
    """An ARMPipelineClient with the policy list azure-mgmt-compute 39's ComputeManagementClient builds (its
    _client.py/_configuration.py: request id, headers, user agent, proxy, content decode, resource provider
    registration, redirect, retry, auth, custom hook, logging, tracing, sensitive header clean-up, ARM HTTP
    logging), and our per-call policies in front as that client's pipeline puts them. ``kwargs`` as for
    ComputeManagementClient (AzureSession._client_kwargs)."""
    del credential_scopes, polling_interval   # the auth policy carries the scope; no LRO here
    kwargs.setdefault('sdk_moniker', 'mgmt-core/{0}'.format(ARM_CORE_VERSION))
    policies = [
        core_policies.RequestIdPolicy(**kwargs),
        core_policies.HeadersPolicy(**kwargs),
        core_policies.UserAgentPolicy(**kwargs),
        core_policies.ProxyPolicy(**kwargs),
        core_policies.ContentDecodePolicy(**kwargs),
        ARMAutoResourceProviderRegistrationPolicy(),
        core_policies.RedirectPolicy(**kwargs),
        core_policies.RetryPolicy(**kwargs),
        authentication_policy,
        core_policies.CustomHookPolicy(**kwargs),
        core_policies.NetworkTraceLoggingPolicy(**kwargs),
        core_policies.DistributedTracingPolicy(**kwargs),
        core_policies.SensitiveHeaderCleanupPolicy(**kwargs),
        ARMHttpLoggingPolicy(**kwargs),
    ]
    return ARMPipelineClient(base_url=base_url, policies=policies, per_call_policies=per_call_policies or [], **kwargs)


class RequestStats:
    """Counts every HTTP attempt the pipeline makes (retries included) and remembers throttling hints."""

    def __init__(self):
        self.by_method = {}
        self.by_status = {}
        self.total = 0
        self.retry_after = 0.0
        self.throttled = 0
        self.min_remaining_reads = None
        self.remaining_reads = None

    def hook(self, response):
        http_resp = response.http_response
        req = response.http_request
        self.total += 1
        self.by_method[req.method] = self.by_method.get(req.method, 0) + 1
        code = str(http_resp.status_code)
        self.by_status[code] = self.by_status.get(code, 0) + 1
        ra = http_resp.headers.get('Retry-After')
        if http_resp.status_code in (429, 503) and ra:
            self.throttled += 1
            try:
                self.retry_after = max(self.retry_after, float(ra))
            except ValueError:
                pass
        rem = http_resp.headers.get('x-ms-ratelimit-remaining-subscription-reads')
        if rem:
            try:
                rem = int(rem)
                self.remaining_reads = rem
                if self.min_remaining_reads is None or rem < self.min_remaining_reads:
                    self.min_remaining_reads = rem
            except ValueError:
                pass

    def take_retry_after(self):
        """Largest Retry-After seen since the last call (seconds), then reset."""
        ra, self.retry_after = self.retry_after, 0.0
        return ra

    def as_dict(self):
        return dict(total=self.total, by_method=dict(self.by_method), by_status=dict(self.by_status),
                    throttled=self.throttled, min_remaining_subscription_reads=self.min_remaining_reads)


class AzureSession:
    """Credential + ComputeManagementClient built from an auth plan (see auth.resolve_auth)."""

    def __init__(self, plan, lro_polling_interval=None, sleep=time.sleep):
        self.plan = plan
        self.stats = RequestStats()
        self.sleep = sleep
        self.credential = build_credential(plan)
        if lro_polling_interval is None:
            lro_polling_interval = float(os.environ.get('AZURE_ADE_LRO_POLLING_INTERVAL', '5'))
        self.lro_polling_interval = lro_polling_interval
        self.write_guard = None     # callable run before every write (base.AzureModule's lease), None = no lease
        self.tag_overlay = {}       # tags every whole-tag-set write of the VM carries (the lease while held)
        self.user_agent = plan.get('user_agent')
        if not plan.get('subscription_id'):
            plan['subscription_id'] = self._discover_subscription()
        self.subscription_id = plan['subscription_id']
        self._compute = None
        self.arm = arm_pipeline_client(**self._client_kwargs())

    @property
    def compute(self):
        """The azure-mgmt-compute client (typed operations, LRO pollers), built on first use: its import is most of
        a module process's start-up. Reads and ``send_request`` go through ``self.arm`` (same policies)."""
        if self._compute is None:
            from azure.mgmt.compute import ComputeManagementClient  # pylint: disable=import-outside-toplevel
            self._compute = ComputeManagementClient(self.credential, self.subscription_id, **self._client_kwargs())
        return self._compute

    def send_request(self, request):
        """Any ARM request (an azure.core.rest.HttpRequest, path relative to the ARM endpoint or absolute) through
        the same pipeline as the compute client: auth, retries, CA, request counts, the lease's write guard."""
        request = copy.deepcopy(request)     # as ComputeManagementClient.send_request: the caller's object is kept
        request.url = self.arm.format_url(request.url)
        return self.arm.send_request(request)

    def _client_kwargs(self):
        kw = dict(base_url=self.plan['cloud']['resource_manager'],
                  credential_scopes=[self.plan['cloud']['scope']],
                  authentication_policy=RenewingAuthenticationPolicy(self.credential, self.plan['cloud']['scope']),
                  polling_interval=self.lro_polling_interval,
                  raw_response_hook=self.stats.hook,
                  per_call_policies=[WriteGuardPolicy(self)])
        if self.user_agent:
            kw['user_agent'] = self.user_agent
        kw.update(retry_settings(total=int(os.environ.get('AZURE_ADE_RETRY_TOTAL', '10'))))
        if self.plan.get('ca_bundle'):
            kw['connection_verify'] = self.plan['ca_bundle']
        return kw

    def _discover_subscription(self):
        if self.plan['kind'] == 'cli':
            try:
                # no AnsibleModule here (the client also serves the simulator tests and benchmarks): plain subprocess
                out = subprocess.run(['az', 'account', 'show', '--query', 'id', '-o', 'tsv'],  # pylint: disable=ansible-bad-function
                                     check=True, capture_output=True, text=True, timeout=60).stdout.strip()
            except (OSError, subprocess.SubprocessError) as exc:
                raise AuthError("auth_source cli: no subscription_id given and 'az account show' failed ({0}); "
                                "set subscription_id or AZURE_SUBSCRIPTION_ID, or run 'az login'".format(exc))
            if out:
                return out
        if self.plan['kind'] == 'msi':
            from azure.mgmt.core import ARMPipelineClient  # pylint: disable=import-outside-toplevel
            from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy  # noqa
            kw = {}
            if self.plan.get('ca_bundle'):
                kw['connection_verify'] = self.plan['ca_bundle']
            client = ARMPipelineClient(base_url=self.plan['cloud']['resource_manager'],
                                       authentication_policy=ARMChallengeAuthenticationPolicy(
                                           self.credential, self.plan['cloud']['scope']), **kw)
            resp = client.send_request(HttpRequest('GET', '/subscriptions?api-version=' + SUBSCRIPTIONS_API))
            resp.raise_for_status()
            subs = resp.json().get('value') or []
            if subs:
                return subs[0]['subscriptionId']
        raise AuthError("no subscription_id: set the option subscription_id or AZURE_SUBSCRIPTION_ID "
                        "(auth source {0})".format(redact_plan(self.plan)['source']))

    # ---- generic ARM ---------------------------------------------------------------------------
    def arm_get(self, path, api_version):
        """GET an ARM resource by path through the compute client's pipeline (auth, retries, CA).
        Returns the JSON dict, or None on 404."""
        sep = '&' if '?' in path else '?'
        resp = self.send_request(HttpRequest('GET', '{0}{1}api-version={2}'.format(path, sep, api_version)))
        if resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json()

    def get_key_vault(self, vault_id):
        return self.arm_get(vault_id, KEYVAULT_API)

    # ---- VMs ------------------------------------------------------------------------------------
    def get_vm(self, resource_group, name, instance_view=True):
        """The VM as its REST dict (None on 404): the GET azure-mgmt-compute's virtual_machines.get sends, through
        the same pipeline, without its model round trip (and without importing it in a read-only run)."""
        path = '/subscriptions/{0}/resourceGroups/{1}/providers/Microsoft.Compute/virtualMachines/{2}'.format(
            self.subscription_id, quote(resource_group, safe=''), quote(name, safe=''))
        if instance_view:
            path += '?$expand=instanceView'
        return self.arm_get(path, COMPUTE_API)

    def list_vms(self, resource_group=None, instance_view=True):
        """All VMs of a resource group (or the subscription), one paged list call, as REST dicts.

        Goes through the compute client's pipeline (auth, retries, CA) but skips model deserialisation,
        which costs ~10 ms per VM with azure-mgmt-compute 39 (4 s for 500 VMs) and is not needed here."""
        path = '/subscriptions/{0}'.format(self.subscription_id)
        if resource_group:
            path += '/resourceGroups/{0}'.format(resource_group)
        url = '{0}/providers/Microsoft.Compute/virtualMachines?api-version={1}'.format(path, COMPUTE_API)
        if instance_view:
            url += '&$expand=instanceView'
        return self.list_paged(url)

    def list_paged(self, url):
        """Every item of an ARM list (``value``, following ``nextLink``) as REST dicts, through the compute
        client's pipeline (auth, retries, CA, lease guard) - for any provider's list of the same shape."""
        out = []
        while url:
            resp = self.send_request(HttpRequest('GET', url))
            resp.raise_for_status()
            body = resp.json()
            out.extend(body.get('value') or [])
            url = body.get('nextLink')
        return out

    def guard_write(self):
        if self.write_guard is not None:
            self.write_guard()

    def _overlaid(self, tags):
        out = dict(tags or {})
        out.update(self.tag_overlay)
        return out

    def put_vm(self, resource_group, name, body):
        """PUT the VM model; its tags keep this run's lease (the guard runs first, so a lease taken by this very
        write is in the body)."""
        self.guard_write()
        if self.tag_overlay:
            body = dict(body, tags=self._overlaid(body.get('tags')))
        return to_dict(self.compute.virtual_machines.begin_create_or_update(resource_group, name, body).result())

    def update_vm_tags(self, resource_group, name, tags):
        """PATCH the VM's tags (the whole tag set: Azure replaces it; this run's lease is kept in it)."""
        self.guard_write()
        return to_dict(self.compute.virtual_machines.begin_update(resource_group, name,
                                                                  {'tags': self._overlaid(tags)}).result())

    def patch_vm_tags_if_match(self, resource_group, name, tags, etag):
        """PATCH the VM's whole tag set only if the VM still has ``etag`` (If-Match; HTTP 412 PreconditionFailed
        -> azure.core.exceptions.ResourceModifiedError otherwise). No etag: an unconditional PATCH (the caller
        reads back). Bypasses the write guard (this IS the lease's write)."""
        from azure.core import MatchConditions  # pylint: disable=import-outside-toplevel
        kw = dict(etag=etag, match_condition=MatchConditions.IfNotModified) if etag else {}
        guard, self.write_guard = self.write_guard, None
        try:
            return to_dict(self.compute.virtual_machines.begin_update(resource_group, name, {'tags': tags},
                                                                      **kw).result())
        finally:
            self.write_guard = guard

    def deallocate_vm(self, resource_group, name):
        self.compute.virtual_machines.begin_deallocate(resource_group, name).result()

    def restart_vm(self, resource_group, name):
        self.compute.virtual_machines.begin_restart(resource_group, name).result()

    def start_vm(self, resource_group, name):
        self.compute.virtual_machines.begin_start(resource_group, name).result()

    # ---- extensions -----------------------------------------------------------------------------
    def put_extension(self, resource_group, vm_name, ext_name, body):
        poller = self.compute.virtual_machine_extensions.begin_create_or_update(resource_group, vm_name, ext_name,
                                                                                body)
        return to_dict(poller.result())

    def begin_put_extension(self, resource_group, vm_name, ext_name, body):
        """Send the extension PUT; returns the poller once ARM accepted it (raises if ARM refused)."""
        return self.compute.virtual_machine_extensions.begin_create_or_update(resource_group, vm_name, ext_name, body)

    def delete_extension(self, resource_group, vm_name, ext_name):
        self.compute.virtual_machine_extensions.begin_delete(resource_group, vm_name, ext_name).result()

    # ---- disks and snapshots --------------------------------------------------------------------
    def get_disk(self, resource_group, name):
        try:
            return to_dict(self.compute.disks.get(resource_group, name))
        except ResourceNotFoundError:
            return None

    def put_disk(self, resource_group, name, body):
        return to_dict(self.compute.disks.begin_create_or_update(resource_group, name, body).result())

    def delete_disk(self, resource_group, name):
        self.compute.disks.begin_delete(resource_group, name).result()

    def list_snapshots(self, resource_group):
        return [to_dict(s) for s in self.compute.snapshots.list_by_resource_group(resource_group)]

    def get_snapshot(self, resource_group, name):
        try:
            return to_dict(self.compute.snapshots.get(resource_group, name))
        except ResourceNotFoundError:
            return None

    def begin_put_snapshot(self, resource_group, name, body):
        return self.compute.snapshots.begin_create_or_update(resource_group, name, body)

    def begin_delete_snapshot(self, resource_group, name):
        return self.compute.snapshots.begin_delete(resource_group, name)

    # ---- conflicts ------------------------------------------------------------------------------
    def retry_conflicts(self, func, deadline, what, interval=15.0):
        """Run ``func``; while ARM answers 409 with a code meaning 'another operation is in progress',
        wait (Retry-After if given, else ``interval``) and try again until ``deadline`` (time.time()).
        Goes through the one poller (module_utils/cloud/poller.py), restricted to conflicts."""
        from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.poller import (  # pylint: disable=import-outside-toplevel
            Poller, PollTimeout)
        poller = Poller(max(0.0, deadline - time.time()), sleep=self.sleep, base_delay=interval, max_delay=interval,
                        kinds=('conflict',))
        try:
            return poller.call(func, what)
        except PollTimeout as exc:
            raise ConflictTimeout("{0}: Azure kept answering 409 ({1}) until the timeout; another operation "
                                  "on this VM is still running. Wait for it to finish (or raise "
                                  "busy_timeout) and run again.".format(what, error_text(exc.last)))


class ConflictTimeout(Exception):
    pass

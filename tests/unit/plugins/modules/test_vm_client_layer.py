# -*- coding: utf-8 -*-
"""The client layer's pure parts: missing-SDK message, error condensing, request statistics, and that the
retry settings make azure-core wait exactly Retry-After on 429 and back off on 5xx."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import client as C
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.auth import retry_settings


def test_missing_sdk_message_names_the_pip_packages():
    msg = C.missing_sdk_message()
    assert "pip install 'azure-mgmt-compute>=39,<40' azure-identity jmespath" in msg
    assert 'control node' in msg and 'install it there' in msg


class FakeResp:
    def __init__(self, status, headers=None):
        self.status_code = status
        self.headers = headers or {}


class FakeReq:
    def __init__(self, method):
        self.method = method


class PipelineResp:
    def __init__(self, method, status, headers=None):
        self.http_request = FakeReq(method)
        self.http_response = FakeResp(status, headers)


def test_request_stats():
    st = C.RequestStats()
    st.hook(PipelineResp('GET', 429, {'Retry-After': '7', 'x-ms-ratelimit-remaining-subscription-reads': '0'}))
    st.hook(PipelineResp('GET', 200, {'x-ms-ratelimit-remaining-subscription-reads': '11999'}))
    st.hook(PipelineResp('PUT', 201))
    d = st.as_dict()
    assert d['total'] == 3 and d['by_method'] == {'GET': 2, 'PUT': 1} and d['by_status'] == {'429': 1, '200': 1, '201': 1}
    assert d['throttled'] == 1 and d['min_remaining_subscription_reads'] == 0
    assert st.take_retry_after() == 7.0 and st.take_retry_after() == 0.0


def test_to_dict_plain_and_model():
    assert C.to_dict({'a': [1, {'b': 2}]}) == {'a': [1, {'b': 2}]}
    models = pytest.importorskip('azure.mgmt.compute.models')
    vm = models.VirtualMachine({'location': 'eastus', 'properties': {'storageProfile': {'osDisk': {'name': 'x'}}}})
    assert C.to_dict(vm) == {'location': 'eastus', 'properties': {'storageProfile': {'osDisk': {'name': 'x'}}}}


def test_retry_policy_honours_retry_after_and_backs_off():
    pytest.importorskip('azure.core')
    from azure.core.pipeline import Pipeline
    from azure.core.pipeline.policies import RetryPolicy
    from azure.core.pipeline.transport import HttpTransport
    from azure.core.rest import HttpRequest

    answers = []

    class Transport(HttpTransport):
        """Answers from a script; the policy under test is azure-core's RetryPolicy with our settings."""
        def __init__(self, script):
            self.script = list(script)

        def __enter__(self):
            return self

        def __exit__(self, *a):
            pass

        def open(self):
            pass

        def close(self):
            pass

        def send(self, request, **kwargs):
            from azure.core.rest._http_response_impl import HttpResponseImpl
            status, headers = self.script.pop(0)
            answers.append(status)
            return HttpResponseImpl(request=request, internal_response=None, status_code=status, headers=headers,
                                    reason='x', content_type='application/json', stream_download_generator=None)

    sleeps = []
    policy = RetryPolicy(**retry_settings(total=5, backoff_factor=2.0))
    policy.sleep = lambda settings, transport, response=None: sleeps.append(
        policy.get_retry_after(response) if response is not None and policy.get_retry_after(response)
        else policy.get_backoff_time(settings))
    pipe = Pipeline(Transport([(429, {'Retry-After': '3'}), (500, {}), (503, {}), (200, {})]), policies=[policy])
    resp = pipe.run(HttpRequest('GET', 'https://example.invalid/x'))
    assert resp.http_response.status_code == 200
    assert answers == [429, 500, 503, 200]
    assert sleeps[0] == 3          # exactly Retry-After
    assert sleeps == [3.0, 4.0, 8.0]   # Retry-After exactly, then backoff_factor * 2**n on 5xx


def _session_kwargs():
    class Cred:
        def get_token(self, *scopes, **kw):
            raise AssertionError('no token in this test')
    plan = dict(cloud=dict(resource_manager='https://arm.example', scope='https://arm.example/.default'),
                ca_bundle=None, kind='client_secret')

    class Sess(C.AzureSession):
        def __init__(self):   # no credential build, no request: only the client kwargs
            self.plan = plan
            self.credential = Cred()
            self.stats = C.RequestStats()
            self.lro_polling_interval = 0.2
            self.user_agent = 'azure_ade-test'
    return Sess()._client_kwargs(), Cred()


def test_arm_pipeline_has_the_compute_clients_policies_in_its_order():
    """Reads go through arm_pipeline_client (no azure-mgmt-compute import); its pipeline must be the one
    ComputeManagementClient builds - same policy classes, same order, our per-call policies first - or a read
    would lose retries, the 401 renewal, the request counts or the lease's write guard."""
    compute = pytest.importorskip('azure.mgmt.compute')
    kw, cred = _session_kwargs()
    ours = C.arm_pipeline_client(**kw)
    kw2, cred = _session_kwargs()
    theirs = compute.ComputeManagementClient(cred, 'sub', **kw2)

    def shape(client):
        return [type(getattr(p, '_policy', p)).__name__ for p in client._pipeline._impl_policies]
    assert shape(ours) == shape(theirs._client)
    assert shape(ours)[0] == 'WriteGuardPolicy' and 'RenewingAuthenticationPolicy' in shape(ours)


def test_a_read_only_client_layer_does_not_import_azure_mgmt_compute():
    """The ~0.25 CPU-s import of azure-mgmt-compute happens on first use of AzureSession.compute only."""
    import subprocess
    pytest.importorskip('azure.mgmt.compute')
    code = ('import sys\n'
            'from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import client\n'
            'assert client.SDK_IMPORT_ERROR is None, client.SDK_IMPORT_ERROR\n'
            'print("azure.mgmt.compute" in sys.modules)\n')
    import os
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == 'False'

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

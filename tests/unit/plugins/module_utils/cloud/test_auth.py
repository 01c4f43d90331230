# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import auth as A

SP = dict(client_id='cid', secret='sec', tenant='tid', subscription_id='sub')


def params(**kw):
    p = dict((k, None) for k in A.AZURE_AUTH_ARGSPEC)
    p.update(kw)
    return p


def no_file(path, profile):
    return None


def file_with(sections):
    def read(path, profile):
        return sections.get(profile)
    return read


def test_argspec_names_match_azcollection_and_secret_no_log():
    for k in ('auth_source', 'profile', 'subscription_id', 'client_id', 'secret', 'tenant', 'cloud_environment'):
        assert k in A.AZURE_AUTH_ARGSPEC
    assert A.AZURE_AUTH_ARGSPEC['secret']['no_log'] is True


def test_auto_prefers_parameters():
    env = {'AZURE_CLIENT_ID': 'envcid', 'AZURE_SECRET': 'envsec', 'AZURE_TENANT': 'envt'}
    plan = A.resolve_auth(params(**SP), env, no_file)
    assert plan['source'] == 'parameters' and plan['client_id'] == 'cid' and plan['kind'] == 'client_secret'


def test_auto_uses_awx_env_names():
    env = {'AZURE_CLIENT_ID': 'c', 'AZURE_SECRET': 's', 'AZURE_TENANT': 't', 'AZURE_SUBSCRIPTION_ID': 'sub1'}
    plan = A.resolve_auth(params(), env, no_file)
    assert (plan['source'], plan['client_id'], plan['secret'], plan['tenant'], plan['subscription_id']) == (
        'env', 'c', 's', 't', 'sub1')


def test_subscription_param_overrides_env():
    env = {'AZURE_CLIENT_ID': 'c', 'AZURE_SECRET': 's', 'AZURE_TENANT': 't', 'AZURE_SUBSCRIPTION_ID': 'sub1'}
    assert A.resolve_auth(params(subscription_id='sub2'), env, no_file)['subscription_id'] == 'sub2'


def test_auto_then_credential_file_then_cli():
    read = file_with({'default': dict(SP)})
    plan = A.resolve_auth(params(), {'HOME': '/h'}, read)
    assert plan['source'] == 'credential_file:default' and plan['secret'] == 'sec'
    plan = A.resolve_auth(params(), {'HOME': '/h'}, no_file)
    assert plan['kind'] == 'cli'


def test_profile_param_and_env():
    read = file_with({'prod': dict(SP, client_id='prodcid'), 'default': dict(SP)})
    assert A.resolve_auth(params(profile='prod'), {}, read)['client_id'] == 'prodcid'
    assert A.resolve_auth(params(), {'AZURE_PROFILE': 'prod'}, read)['client_id'] == 'prodcid'
    with pytest.raises(A.AuthError, match='profile \\[nope\\] not found'):
        A.resolve_auth(params(profile='nope'), {}, read)


def test_real_credential_file(tmp_path):
    d = tmp_path / '.azure'
    d.mkdir()
    (d / 'credentials').write_text('[default]\nsubscription_id=s1\nclient_id=c1\nsecret=x%y\ntenant=t1\n'
                                   'cloud_environment=AzureUSGovernment\n')
    plan = A.resolve_auth(params(auth_source='credential_file'), {'HOME': str(tmp_path)})
    assert plan['secret'] == 'x%y' and plan['subscription_id'] == 's1'
    assert plan['cloud']['resource_manager'] == 'https://management.usgovcloudapi.net'


def test_ad_user_profile_refused():
    with pytest.raises(A.AuthError, match='ad_user'):
        A.resolve_auth(params(auth_source='credential_file'), {}, file_with({'default': {'ad_user': 'u', 'password': 'p'}}))


def test_missing_secret_is_clear():
    with pytest.raises(A.AuthError, match='missing secret'):
        A.resolve_auth(params(auth_source='env'), {'AZURE_CLIENT_ID': 'c', 'AZURE_TENANT': 't'}, no_file)


def test_auth_source_env_fallback_and_msi():
    plan = A.resolve_auth(params(client_id='uami'), {'ANSIBLE_AZURE_AUTH_SOURCE': 'msi'}, no_file)
    assert plan['kind'] == 'msi' and plan['client_id'] == 'uami'
    assert A.credential_kwargs(plan) == {'client_id': 'uami'}


def test_clouds():
    c = A.resolve_cloud(None)
    assert c['name'] == 'AzureCloud' and c['disable_instance_discovery'] is False
    assert c['scope'] == 'https://management.azure.com/.default'
    c = A.resolve_cloud('AzureChinaCloud')
    assert c['authority'] == 'https://login.chinacloudapi.cn' and c['keyvault_suffix'] == 'vault.azure.cn'
    assert A.resolve_cloud('AzurePublicCloud')['name'] == 'AzureCloud'
    with pytest.raises(A.AuthError):
        A.resolve_cloud('Mars')


def test_custom_cloud_turns_instance_discovery_off():
    c = A.resolve_cloud(None, 'https://127.0.0.1:8443/', 'https://127.0.0.1:8444')
    assert c['name'] == 'custom' and c['disable_instance_discovery'] is True
    assert c['resource_manager'] == 'https://127.0.0.1:8443' and c['scope'] == 'https://127.0.0.1:8443/.default'
    with pytest.raises(A.AuthError, match='both'):
        A.resolve_cloud('custom', 'https://127.0.0.1:8443')
    with pytest.raises(A.AuthError, match='https'):
        A.resolve_cloud('custom', 'http://127.0.0.1:8443', 'https://127.0.0.1:8444')


def test_named_cloud_never_sends_its_token_elsewhere():
    # issue 15: AzurePublicCloud + a resource_manager_url of another host sent a real ARM token to that host
    for name in ('AzurePublicCloud', 'AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud'):
        with pytest.raises(A.AuthError, match='resource_manager_url .* is not an endpoint of cloud_environment'):
            A.resolve_cloud(name, 'https://attacker.example.com')
        with pytest.raises(A.AuthError, match='authority_url .* custom'):
            A.resolve_cloud(name, None, 'https://login.attacker.example')
    with pytest.raises(A.AuthError, match='not an endpoint'):
        A.resolve_cloud('AzureCloud', 'https://management.azure.com:8443')
    with pytest.raises(A.AuthError, match='not an endpoint'):
        A.resolve_cloud('AzureCloud', 'https://management.azure.com.attacker.example/')
    # the cloud's own endpoints, spelled differently, are fine
    c = A.resolve_cloud('AzureCloud', 'https://MANAGEMENT.azure.com/', 'https://login.microsoftonline.com:443')
    assert c['resource_manager'] == 'https://MANAGEMENT.azure.com' and c['scope'] == 'https://management.azure.com/.default'
    # through resolve_auth: the env names a public cloud, the option points elsewhere
    env = {'AZURE_CLIENT_ID': 'c', 'AZURE_SECRET': 's', 'AZURE_TENANT': 't', 'AZURE_CLOUD_ENVIRONMENT': 'AzureCloud'}
    with pytest.raises(A.AuthError, match='custom cloud'):
        A.resolve_auth(params(resource_manager_url='https://127.0.0.1:1'), env, no_file)
    # a profile's cloud_environment counts as well
    read = file_with({'default': dict(SP, cloud_environment='AzureUSGovernment')})
    with pytest.raises(A.AuthError, match='AzureUSGovernment'):
        A.resolve_auth(params(auth_source='credential_file', resource_manager_url='https://127.0.0.1:1'), {}, read)


def test_env_endpoints_and_ca_bundle(tmp_path):
    ca = tmp_path / 'ca.pem'
    ca.write_text('x')
    env = {'AZURE_CLIENT_ID': 'c', 'AZURE_SECRET': 's', 'AZURE_TENANT': 't',
           'AZURE_RESOURCE_MANAGER_URL': 'https://127.0.0.1:1', 'AZURE_AUTHORITY_HOST': 'https://127.0.0.1:2',
           'AZURE_CA_BUNDLE': str(ca), 'REQUESTS_CA_BUNDLE': '/etc/ssl/certs/ca-certificates.crt'}
    plan = A.resolve_auth(params(), env, no_file)
    assert plan['cloud']['name'] == 'custom' and plan['ca_bundle'] == str(ca)
    kw = A.credential_kwargs(plan)
    assert kw['authority'] == 'https://127.0.0.1:2' and kw['disable_instance_discovery'] is True
    assert kw['connection_verify'] == str(ca)
    with pytest.raises(A.AuthError, match='ca_bundle'):
        A.resolve_auth(params(ca_bundle=str(tmp_path / 'missing.pem')), env, no_file)


def test_redact_plan():
    plan = A.resolve_auth(params(**SP), {}, no_file)
    assert A.redact_plan(plan)['secret'] == '********' and plan['secret'] == 'sec'


def test_retry_settings_shape():
    s = A.retry_settings()
    assert s['retry_total'] == 10 and s['retry_mode'] == 'exponential' and s['retry_backoff_max'] == 120


def test_build_credential_classes_are_public():
    pytest.importorskip('azure.identity')
    from azure.identity import ClientSecretCredential, ManagedIdentityCredential, AzureCliCredential
    plan = A.resolve_auth(params(**SP), {}, no_file)
    assert isinstance(A.build_credential(plan), ClientSecretCredential)
    plan = A.resolve_auth(params(auth_source='msi'), {}, no_file)
    assert isinstance(A.build_credential(plan), ManagedIdentityCredential)
    plan = A.resolve_auth(params(auth_source='cli'), {}, no_file)
    assert isinstance(A.build_credential(plan), AzureCliCredential)

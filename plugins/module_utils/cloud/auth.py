# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""Authentication and cloud endpoints for the controller modules (control node, Python 3.10+).

Accepts azure.azcollection's option and environment names (what an AWX "Microsoft Azure Resource
Manager" credential injects) and maps them onto public azure-identity classes only.

Everything down to ``resolve_auth`` is pure (inputs: module params, an environ mapping, a reader for
the credential file) so it is unit-tested without the SDK; ``build_credential`` is the only part that
touches azure-identity.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

try:
    import configparser
except ImportError:  # Python 2
    import ConfigParser as configparser  # type: ignore
import os
try:
    from urllib.parse import urlparse
except ImportError:  # Python 2 (controller code needs 3.10+; this only keeps sanity's import test quiet)
    from urlparse import urlparse  # type: ignore

SDK_PIP = "pip install 'azure-mgmt-compute>=39,<40' azure-identity jmespath"

AUTH_SOURCES = ['auto', 'env', 'credential_file', 'cli', 'msi']
CLOUD_NAMES = ['AzureCloud', 'AzureUSGovernment', 'AzureChinaCloud', 'custom']

AZURE_AUTH_ARGSPEC = dict(
    auth_source=dict(type='str', choices=AUTH_SOURCES),
    profile=dict(type='str'),
    subscription_id=dict(type='str'),
    client_id=dict(type='str'),
    secret=dict(type='str', no_log=True),
    tenant=dict(type='str'),
    cloud_environment=dict(type='str', choices=CLOUD_NAMES),
    resource_manager_url=dict(type='str'),
    authority_url=dict(type='str'),
    ca_bundle=dict(type='path'),
)

# Environment names, as azure.azcollection and AWX use them.
ENV = dict(
    auth_source='ANSIBLE_AZURE_AUTH_SOURCE',
    subscription_id='AZURE_SUBSCRIPTION_ID',
    client_id='AZURE_CLIENT_ID',
    secret='AZURE_SECRET',
    tenant='AZURE_TENANT',
    profile='AZURE_PROFILE',
    cloud_environment='AZURE_CLOUD_ENVIRONMENT',
    resource_manager_url='AZURE_RESOURCE_MANAGER_URL',
    authority_url='AZURE_AUTHORITY_HOST',
)

CLOUDS = {
    'AzureCloud': dict(resource_manager='https://management.azure.com',
                       authority='https://login.microsoftonline.com',
                       scope='https://management.azure.com/.default',
                       keyvault_suffix='vault.azure.net'),
    'AzureUSGovernment': dict(resource_manager='https://management.usgovcloudapi.net',
                              authority='https://login.microsoftonline.us',
                              scope='https://management.usgovcloudapi.net/.default',
                              keyvault_suffix='vault.usgovcloudapi.net'),
    'AzureChinaCloud': dict(resource_manager='https://management.chinacloudapi.cn',
                            authority='https://login.chinacloudapi.cn',
                            scope='https://management.chinacloudapi.cn/.default',
                            keyvault_suffix='vault.azure.cn'),
}
# azure.azcollection / msrestazure spellings that mean the same clouds
CLOUD_ALIASES = {
    'azurecloud': 'AzureCloud', 'azurepubliccloud': 'AzureCloud', 'public': 'AzureCloud',
    'azureusgovernment': 'AzureUSGovernment', 'azureusgovernmentcloud': 'AzureUSGovernment',
    'azurechinacloud': 'AzureChinaCloud', 'china': 'AzureChinaCloud', 'custom': 'custom',
}
KNOWN_AUTHORITY_HOSTS = set(urlparse(c['authority']).hostname for c in CLOUDS.values())


class AuthError(Exception):
    """A configuration problem the user must fix; the message names the problem and the fix."""


def default_credential_file(environ):
    home = environ.get('HOME') or os.path.expanduser('~')
    return os.path.join(home, '.azure', 'credentials')


def read_credential_profile(path, profile):
    """Return the keys of [profile] in an azure.azcollection credentials INI file, or None."""
    if not path or not os.path.isfile(path):
        return None
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(path)
    if not parser.has_section(profile):
        return None
    return dict(parser.items(profile))


def _norm_url(url):
    return url.rstrip('/') if url else url


def _origin(url):
    parsed = urlparse(url or '')
    port = parsed.port or (443 if parsed.scheme == 'https' else None)
    return (parsed.scheme, (parsed.hostname or '').lower().rstrip('.'), port)


def resolve_cloud(name, resource_manager_url=None, authority_url=None):
    """Endpoints for a cloud name or for custom endpoints. Pure."""
    if name:
        canon = CLOUD_ALIASES.get(name.replace(' ', '').lower())
        if canon is None:
            raise AuthError("cloud_environment '{0}' is not known; use one of {1} (custom needs "
                            "resource_manager_url and authority_url)".format(name, ', '.join(CLOUD_NAMES)))
        name = canon
    elif resource_manager_url or authority_url:
        name = 'custom'
    else:
        name = 'AzureCloud'
    if name == 'custom':
        if not resource_manager_url or not authority_url:
            raise AuthError("cloud_environment custom needs both resource_manager_url and authority_url "
                            "(env AZURE_RESOURCE_MANAGER_URL / AZURE_AUTHORITY_HOST)")
        base = dict(resource_manager=None, authority=None, scope=None, keyvault_suffix='vault.azure.net')
    else:
        base = dict(CLOUDS[name])
        # A named cloud's token (scope https://management.<cloud>/.default) and client secret go only to that cloud's
        # own hosts: an override naming another host would hand a real ARM token / the secret to whatever host the
        # URL names. Another endpoint is a custom cloud, defined as such (both URLs).
        for key, url in (('resource_manager', resource_manager_url), ('authority', authority_url)):
            if url and _origin(url) != _origin(base[key]):
                raise AuthError("{0}_url '{1}' is not an endpoint of cloud_environment {2} ({3}); a token for {2} is "
                                "sent only to its own hosts. For another endpoint define a custom cloud: "
                                "cloud_environment=custom (or unset, env AZURE_CLOUD_ENVIRONMENT unset) with both "
                                "resource_manager_url and authority_url".format(key, url, name, base[key]))
    if resource_manager_url:
        base['resource_manager'] = resource_manager_url
    if authority_url:
        base['authority'] = authority_url
    for key in ('resource_manager', 'authority'):
        parsed = urlparse(base[key])
        if parsed.scheme != 'https' or not parsed.hostname:
            raise AuthError("{0} URL '{1}' must be an https:// URL".format(key, base[key]))
    base['resource_manager'] = _norm_url(base['resource_manager'])
    base['authority'] = _norm_url(base['authority'])
    if name == 'custom' or not base.get('scope'):
        base['scope'] = base['resource_manager'] + '/.default'
    base['name'] = name
    # MSAL's instance discovery asks the public cloud about an authority; it must be off for any
    # authority that is not one of the public ones (sovereign/air-gapped clouds, the simulator).
    base['disable_instance_discovery'] = urlparse(base['authority']).hostname not in KNOWN_AUTHORITY_HOSTS
    return base


def _first(*values):
    for v in values:
        if v not in (None, ''):
            return v
    return None


def resolve_auth(params, environ, read_profile=read_credential_profile):
    """Decide how to authenticate. Pure apart from ``read_profile`` (injected).

    Returns a plan dict: kind (client_secret|cli|msi), source, tenant, client_id, secret,
    subscription_id, cloud (endpoints), ca_bundle.
    Precedence for auth_source auto (as azure.azcollection): module parameters -> environment ->
    credential file [default] -> Azure CLI. msi is used only when asked for.
    """
    p = dict((k, params.get(k)) for k in AZURE_AUTH_ARGSPEC)
    source = _first(p['auth_source'], environ.get(ENV['auth_source']), 'auto')
    if source not in AUTH_SOURCES:
        raise AuthError("auth_source '{0}' is not one of {1}".format(source, ', '.join(AUTH_SOURCES)))
    cred_file = default_credential_file(environ)

    def from_profile(name, origin):
        data = read_profile(cred_file, name)
        if data is None:
            raise AuthError("profile [{0}] not found in {1} (set profile / AZURE_PROFILE to an existing "
                            "section, or pass client_id, secret and tenant)".format(name, cred_file))
        if data.get('ad_user') or data.get('password'):
            raise AuthError("profile [{0}] in {1} uses ad_user/password, which this collection does not "
                            "support: use a service principal (client_id, secret, tenant)".format(name, cred_file))
        return dict(kind='client_secret', source=origin, client_id=data.get('client_id'),
                    secret=data.get('secret'), tenant=data.get('tenant'),
                    subscription_id=data.get('subscription_id'),
                    cloud_environment=data.get('cloud_environment'))

    def from_env():
        return dict(kind='client_secret', source='env', client_id=environ.get(ENV['client_id']),
                    secret=environ.get(ENV['secret']), tenant=environ.get(ENV['tenant']),
                    subscription_id=environ.get(ENV['subscription_id']))

    def from_params():
        return dict(kind='client_secret', source='parameters', client_id=p['client_id'], secret=p['secret'],
                    tenant=p['tenant'], subscription_id=p['subscription_id'])

    plan = None
    if source == 'auto':
        if p['profile']:
            plan = from_profile(p['profile'], 'credential_file:' + p['profile'])
        elif p['client_id']:
            plan = from_params()
        elif environ.get(ENV['profile']):
            plan = from_profile(environ[ENV['profile']], 'credential_file:' + environ[ENV['profile']])
        elif environ.get(ENV['client_id']):
            plan = from_env()
        elif read_profile(cred_file, 'default') is not None:
            plan = from_profile('default', 'credential_file:default')
        else:
            plan = dict(kind='cli', source='cli')
    elif source == 'env':
        if environ.get(ENV['profile']):
            plan = from_profile(environ[ENV['profile']], 'credential_file:' + environ[ENV['profile']])
        else:
            plan = from_env()
    elif source == 'credential_file':
        name = _first(p['profile'], environ.get(ENV['profile']), 'default')
        plan = from_profile(name, 'credential_file:' + name)
    elif source == 'cli':
        plan = dict(kind='cli', source='cli')
    else:
        plan = dict(kind='msi', source='msi', client_id=p['client_id'])

    # Module parameters always win for the subscription and (for a service principal) for blanks.
    plan['subscription_id'] = _first(p['subscription_id'], plan.get('subscription_id'),
                                     environ.get(ENV['subscription_id']))
    if plan['kind'] == 'client_secret':
        for key in ('client_id', 'secret', 'tenant'):
            plan[key] = _first(plan.get(key), p[key])
        missing = [k for k in ('client_id', 'secret', 'tenant') if not plan.get(k)]
        if missing:
            raise AuthError("service principal credentials from {0} are missing {1}: set the options "
                            "client_id, secret and tenant, or AZURE_CLIENT_ID, AZURE_SECRET and AZURE_TENANT"
                            .format(plan['source'], ', '.join(missing)))
    elif plan['kind'] == 'cli':
        plan['tenant'] = p['tenant']
    cloud_name = _first(p['cloud_environment'], environ.get(ENV['cloud_environment']),
                        plan.pop('cloud_environment', None))
    plan.pop('cloud_environment', None)
    plan['cloud'] = resolve_cloud(cloud_name,
                                  _first(p['resource_manager_url'], environ.get(ENV['resource_manager_url'])),
                                  _first(p['authority_url'], environ.get(ENV['authority_url'])))
    plan['ca_bundle'] = _first(p['ca_bundle'], environ.get('AZURE_CA_BUNDLE'), environ.get('REQUESTS_CA_BUNDLE'))
    if plan['ca_bundle'] and not os.path.isfile(plan['ca_bundle']):
        raise AuthError("ca_bundle '{0}' does not exist (option ca_bundle, or env AZURE_CA_BUNDLE / "
                        "REQUESTS_CA_BUNDLE)".format(plan['ca_bundle']))
    return plan


def redact_plan(plan):
    """The plan without secrets, for results and error messages."""
    out = dict(plan)
    if out.get('secret'):
        out['secret'] = '********'
    return out


def retry_settings(total=10, backoff_factor=2.0, backoff_max=120):
    """Keyword arguments for azure-core's RetryPolicy.

    RetryPolicy retries 408, 429, 500, 502, 503, 504 (not 501/505) and connection/read errors; when a
    response carries Retry-After (429/503 from ARM) it sleeps exactly that long, otherwise it backs off
    exponentially (backoff_factor * 2**(n-1), capped at backoff_max). PUT/GET/DELETE are retried; POST
    is not retried on 500/503/504 (not idempotent).
    """
    return dict(retry_total=total, retry_connect=3, retry_read=3, retry_status=total,
                retry_backoff_factor=backoff_factor, retry_backoff_max=backoff_max, retry_mode='exponential')


def credential_kwargs(plan):
    """Keyword arguments for the azure-identity class of ``plan``. Pure."""
    kw = {}
    if plan['ca_bundle']:
        kw['connection_verify'] = plan['ca_bundle']
    cloud = plan['cloud']
    if plan['kind'] == 'client_secret':
        kw.update(tenant_id=plan['tenant'], client_id=plan['client_id'], client_secret=plan['secret'],
                  authority=cloud['authority'])
        if cloud['disable_instance_discovery']:
            kw['disable_instance_discovery'] = True
    elif plan['kind'] == 'msi':
        if plan.get('client_id'):
            kw['client_id'] = plan['client_id']
    elif plan['kind'] == 'cli':
        if plan.get('tenant'):
            kw['tenant_id'] = plan['tenant']
        kw.pop('connection_verify', None)
    return kw


def build_credential(plan):
    """Instantiate the public azure-identity credential for ``plan``."""
    from azure.identity import AzureCliCredential, ClientSecretCredential, ManagedIdentityCredential
    kw = credential_kwargs(plan)
    if plan['kind'] == 'client_secret':
        return ClientSecretCredential(**kw)
    if plan['kind'] == 'msi':
        return ManagedIdentityCredential(**kw)
    return AzureCliCredential(**kw)

"""Requests and wall time of the key-custody check (vm_encryption_info check_custody, issue 16) for a fleet.

  benchmarks/custody.py [--vms 1000] [--rgs 4] [--workers 8] [--json FILE]

Real ansible-playbook runs of vm_encryption_info against the simulator (real azure-mgmt-compute, azure-keyvault-
secrets/-keys, azure-mgmt-keyvault, azure-mgmt-resource-locks over HTTPS). The fleet: --vms ADE VMs (All, one data
disk each) in --rgs resource groups, one vault per group; the host wrote one secret per VM at the stamp. Measured:
the status read alone, then the same read with check_custody - the difference is the custody check. Requests are
counted from the simulator's log: Key Vault data plane (incl. the one 401 challenge per vault and client), vault
GETs, lock lists. The naive alternative - a Get Secret (value included) plus a vault GET per VM - is shown beside.
"""
import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'simulator'))
sys.path.insert(0, os.path.join(REPO, 'benchmarks'))
from azsim.admin import SimAdmin  # noqa: E402  pylint: disable=wrong-import-position
from azure_requests import run_module, scenario_fleet  # noqa: E402  pylint: disable=wrong-import-position


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--vms', type=int, default=1000)
    ap.add_argument('--rgs', type=int, default=4)
    ap.add_argument('--workers', type=int, default=8)
    ap.add_argument('--json')
    ap.add_argument('--workdir', default=os.path.join(os.environ.get('ADE_SCRATCH') or os.environ.get(
        'ADE_WORK', '/tmp/azure_ade'), 'bench-custody'))
    a = ap.parse_args()
    wd = a.workdir
    simenv = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'simulator'))
    subprocess.run([sys.executable, '-m', 'azsim', 'stop', '--workdir', wd], cwd=os.path.join(REPO, 'simulator'),
                   capture_output=True, env=simenv, check=False)
    os.makedirs(wd, exist_ok=True)
    started = subprocess.run([sys.executable, '-m', 'azsim', 'serve', '--workdir', wd, '--port', '0',
                              '--time-scale', '60', '--daemon'], cwd=os.path.join(REPO, 'simulator'),
                             capture_output=True, text=True, env=simenv, check=False)
    if started.returncode:
        sys.exit('simulator did not start: ' + started.stdout + started.stderr)
    adm = SimAdmin(wd)
    ep = adm.endpoints
    env = dict(os.environ, AZURE_CLIENT_ID=ep['client_id'], AZURE_SECRET=ep['client_secret'],
               AZURE_TENANT=ep['tenant_id'], AZURE_SUBSCRIPTION_ID=ep['subscription_id'],
               AZURE_RESOURCE_MANAGER_URL=ep['resource_manager'], AZURE_AUTHORITY_HOST=ep['authority'],
               AZURE_CA_BUNDLE=ep['ca_bundle'], ANSIBLE_AZURE_AUTH_SOURCE='env',
               AZURE_ADE_KEYVAULT_ENDPOINT=ep['resource_manager'] + '/_keyvault/{vault}')
    env.pop('REQUESTS_CA_BUNDLE', None)
    report = dict(vms=a.vms, resource_groups=a.rgs, workers=a.workers)
    try:
        adm.seed(scenario_fleet(a.vms, a.rgs, state='encrypted'), replace=True)
        runs = {}
        modes = (('status_only', {}), ('with_custody', dict(check_custody=True, custody_workers=a.workers)))
        for label, extra in modes:
            total_wall, at_risk, checked = 0.0, 0, 0
            adm.clear_log()
            for i in range(a.rgs):
                t0 = time.time()
                res = run_module(env, 'azure_ade.linux.vm_encryption_info', workdir=wd, args=dict(
                    resource_group='rg-bench%d' % i, retirement=False, **extra))
                total_wall += time.time() - t0
                if 'custody' in res:
                    at_risk += res['custody']['at_risk']
                    checked += res['custody']['checked']
            log = adm.log(kinds='arm')
            kv = [e for e in log if e['path'].startswith('/_keyvault/')]
            runs[label] = dict(requests=len(log), keyvault_data_plane=len(kv),
                               keyvault_challenges=sum(1 for e in kv if e['status'] == 401),
                               vault_gets=sum(1 for e in log if e['path'].lower().endswith(tuple(
                                   '/vaults/kv-bench%d' % i for i in range(a.rgs)))),
                               lock_lists=sum(1 for e in log if e['path'].endswith('/locks')),
                               writes=sum(1 for e in log if e['method'] != 'GET'),
                               module_wall_seconds=round(total_wall, 2), checked=checked, at_risk=at_risk)
        report['runs'] = runs
        report['custody_added_requests'] = runs['with_custody']['requests'] - runs['status_only']['requests']
        report['custody_added_wall_seconds'] = round(runs['with_custody']['module_wall_seconds']
                                                     - runs['status_only']['module_wall_seconds'], 2)
        report['naive_requests'] = 2 * a.vms
    finally:
        adm.shutdown()
    print(json.dumps(report, indent=2))
    if a.json:
        with open(a.json, 'w') as fh:
            json.dump(report, fh, indent=2)
    bad = report['runs']['with_custody']
    if bad['writes'] or bad['checked'] != a.vms or bad['at_risk']:
        sys.exit('unexpected: %s' % json.dumps(bad))


if __name__ == '__main__':
    main()

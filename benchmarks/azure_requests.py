"""Count the ARM requests the controller modules make, from the Azure simulator's request log.

  benchmarks/azure_requests.py [--core 2.19] [--vms 500] [--wait-vms 1000] [--time-scale 600]

Three measurements, each through real ansible runs of the modules against the simulator (real SDK, HTTPS):
 1. one VM, enable to success (vm_encryption wait=true), default ADE timing (30 GB OS disk: ~3.5 h of
    simulated time) and the default poll interval (30 s of simulated time);
 2. status of N VMs in one resource group: by resource group, by a list of names (bulk), and by a list of
    names read one by one (bulk_threshold above N) - side by side;
 3. M VMs (in 4 resource groups) in the middle of OS encryption, waited on at once from one control node
    (vm_encryption_info wait_for=completed): requests per simulated minute against ARM's documented read
    limits.
The simulator's clock runs --time-scale times faster than the wall clock; module intervals are scaled by
the same factor so that "30 s" means 30 simulated seconds. Counts are what matters here, not durations.
"""
import argparse
import collections
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'simulator'))
from azsim.admin import SimAdmin  # noqa: E402  pylint: disable=wrong-import-position

# Azure Resource Manager read limits (learn.microsoft.com/azure/azure-resource-manager/management/
# request-limits-and-throttling): current token-bucket algorithm, per subscription and region:
# bucket 250 reads, refill 25 reads/second (= 1,500/minute); the older documented limit was
# 12,000 reads per hour per subscription (= 200/minute). We compare against the stricter, older one.
ARM_READS_PER_MIN_LEGACY = 12000 / 60.0
ARM_READS_PER_MIN_BUCKET = 25 * 60.0
BASE_POLL = 30.0   # module default poll_interval (seconds)


def run_module(env, module, args, timeout=3600, workdir='/tmp'):
    """Run one module in a one-task playbook (real ansible-playbook); return its registered result."""
    out_file = os.path.join(workdir, 'result.json')
    pb = os.path.join(workdir, 'bench.yml')
    with open(pb, 'w') as fh:
        json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
            {'name': 'run', module: args, 'register': 'r', 'ignore_errors': True},
            {'name': 'save', 'ansible.builtin.copy': {'content': '{{ r | to_json }}', 'dest': out_file}}]}], fh)
    cmd = ['ansible-playbook', '-c', 'local', '-i', 'localhost,', '-e', 'ansible_python_interpreter=' + sys.executable, pb]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    try:
        with open(out_file) as fh:
            res = json.load(fh)
        os.unlink(out_file)
    except (OSError, ValueError):
        raise RuntimeError('cannot run {0}: {1}\n{2}'.format(module, out.stdout[-2000:], out.stderr[-2000:]))
    if res.get('failed'):
        raise RuntimeError('{0} failed: {1}'.format(module, res.get('msg')))
    return res


def arm_log(adm):
    return adm.log(kinds='arm')


def classify(entries):
    c = collections.Counter()
    for e in entries:
        path = e['path']
        if path.endswith('/virtualMachines') or path.endswith('/virtualMachines/'):
            kind = 'list VMs'
        elif '/operations/' in path or '/DiskOperations/' in path:
            kind = 'LRO poll'
        elif '/vaults/' in path:
            kind = 'Key Vault GET'
        elif '/extensions/' in path:
            kind = '{0} extension'.format(e['method'])
        elif '/virtualMachines/' in path:
            kind = '{0} VM'.format(e['method'])
        else:
            kind = '{0} other'.format(e['method'])
        c[kind] += 1
    return c


def per_sim_minute(entries):
    if not entries:
        return 0.0, 0, 0.0
    t0 = min(e['sim'] for e in entries)
    t1 = max(e['sim'] for e in entries)
    buckets = collections.Counter(int((e['sim'] - t0) // 60) for e in entries)
    minutes = max((t1 - t0) / 60.0, 1.0)
    return len(entries) / minutes, max(buckets.values()), (t1 - t0)


def scenario_fleet(n, rgs, state=None):
    per = n // rgs
    groups = []
    for i in range(rgs):
        vm = {'name': 'b%d-vm{i:04d}' % i, 'count': per, 'os': {'distro': 'ubuntu', 'version': '20.04'},
              'data_disks': [{'size_gb': 8}]}
        if state:
            vm['encryption'] = {'vault': 'kv-bench%d' % i, 'volume_type': 'All', 'state': state}
        groups.append({'name': 'rg-bench%d' % i, 'location': 'eastus',
                       'vaults': [{'name': 'kv-bench%d' % i, 'location': 'eastus'}], 'vms': [vm]})
    return {'subscriptions': [{'resource_groups': groups}]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--vms', type=int, default=500)
    ap.add_argument('--wait-vms', type=int, default=1000)
    ap.add_argument('--time-scale', type=float, default=600.0)
    ap.add_argument('--workdir', default=os.path.join(os.environ.get('ADE_WORK', '/tmp/azure_ade'), 'bench-azure'))
    a = ap.parse_args()
    scale = a.time_scale
    poll = BASE_POLL / scale
    wd = a.workdir
    subprocess.run([sys.executable, '-m', 'azsim', 'stop', '--workdir', wd], cwd=os.path.join(REPO, 'simulator'),
                   capture_output=True, env=dict(os.environ, PYTHONPATH=os.path.join(REPO, 'simulator')), check=False)
    os.makedirs(wd, exist_ok=True)
    started = subprocess.run([sys.executable, '-m', 'azsim', 'serve', '--workdir', wd, '--port', '0',
                              '--time-scale', str(scale), '--daemon'], cwd=os.path.join(REPO, 'simulator'),
                             capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=os.path.join(REPO, 'simulator')), check=False)
    if started.returncode:
        sys.exit('simulator did not start: ' + started.stdout + started.stderr)
    adm = SimAdmin(wd)
    ep = adm.endpoints
    env = dict(os.environ, AZURE_CLIENT_ID=ep['client_id'], AZURE_SECRET=ep['client_secret'],
               AZURE_TENANT=ep['tenant_id'], AZURE_SUBSCRIPTION_ID=ep['subscription_id'],
               AZURE_RESOURCE_MANAGER_URL=ep['resource_manager'], AZURE_AUTHORITY_HOST=ep['authority'],
               AZURE_CA_BUNDLE=ep['ca_bundle'], AZURE_ADE_LRO_POLLING_INTERVAL=str(5.0 / scale),
               ANSIBLE_AZURE_AUTH_SOURCE='env')
    env.pop('REQUESTS_CA_BUNDLE', None)
    report = {}
    try:
        # ---- 1. one VM, enable to success -----------------------------------------------------------
        adm.seed({'subscriptions': [{'resource_groups': [{
            'name': 'rg-one', 'location': 'eastus', 'vaults': [{'name': 'kv-one', 'location': 'eastus'}],
            'vms': [{'name': 'vm-one', 'os': {'distro': 'ubuntu', 'version': '20.04'}, 'os_disk_gb': 30,
                     'data_disks': [{'size_gb': 64}, {'size_gb': 64}]}]}]}]}, replace=True)
        adm.clear_log()
        res = run_module(env, 'azure_ade.linux.vm_encryption', workdir=wd, args=dict(
            resource_group='rg-one', name='vm-one', key_vault='kv-one', volume_type='All', wait=True,
            timeout=int(24 * 3600 / scale) + 60, poll_interval=poll))
        log = arm_log(adm)
        rate, peak, span = per_sim_minute(log)
        c = classify(log)
        report['enable_one_vm'] = dict(requests=len(log), by_kind=dict(c), simulated_hours=round(span / 3600, 2),
                                       history=[h['message'] for h in res['history']],
                                       fixed_30s_polling_gets=int(span // 30) + 1, phase=res['status']['phase'])

        # ---- 2. status of N VMs in one resource group ----------------------------------------------
        adm.seed(scenario_fleet(a.vms, 1, state='encrypted'), replace=True)
        rows = []
        for label, args in (
                ('resource_group', dict(resource_group='rg-bench0')),
                ('names, bulk (default)', dict(resource_group='rg-bench0',
                                               names=['b0-vm%04d' % i for i in range(a.vms)])),
                ('names, one GET each', dict(resource_group='rg-bench0', names=['b0-vm%04d' % i for i in range(a.vms)],
                                             bulk_threshold=a.vms + 1))):
            adm.clear_log()
            t0 = time.time()
            res = run_module(env, 'azure_ade.linux.vm_encryption_info', args, workdir=wd)
            wall = time.time() - t0
            log = arm_log(adm)
            rows.append(dict(mode=label, requests=len(log), by_kind=dict(classify(log)), vms=len(res['vms']),
                             wall_seconds=round(wall, 1), succeeded=res['summary']['succeeded']))
        report['status_n_vms'] = dict(n=a.vms, page_size=adm.config().get('page_size'), rows=rows)

        # ---- 3. M VMs waited on at once ----------------------------------------------------------------
        adm.seed(scenario_fleet(a.wait_vms, 4, state='in_progress'), replace=True)
        ids = ['/subscriptions/{0}/resourceGroups/rg-bench{1}/providers/Microsoft.Compute/virtualMachines/b{1}-vm{2:04d}'
               .format(ep['subscription_id'], g, i) for g in range(4) for i in range(a.wait_vms // 4)]
        adm.clear_log()
        res = run_module(env, 'azure_ade.linux.vm_encryption_info', workdir=wd, timeout=7200, args=dict(
            names=ids, wait_for='completed', poll_interval=poll, timeout=int(24 * 3600 / scale) + 120))
        log = arm_log(adm)
        rate, peak, span = per_sim_minute(log)
        polls = res['polls']
        report['wait_m_vms'] = dict(
            m=a.wait_vms, requests=len(log), by_kind=dict(classify(log)), polls=polls,
            simulated_hours=round(span / 3600, 2), requests_per_sim_minute=round(rate, 2), peak_in_one_sim_minute=peak,
            summary=res['summary'],
            per_vm_get_equivalent=polls * a.wait_vms,
            requests_per_poll=round(len(log) / max(polls, 1), 1),
            worst_case_per_minute=round(len(log) / max(polls, 1) * 60 / BASE_POLL, 1),
            per_vm_get_per_minute_at_base=round(a.wait_vms * 60 / BASE_POLL, 1),
            arm_limit_per_minute_legacy=ARM_READS_PER_MIN_LEGACY, arm_limit_per_minute_bucket=ARM_READS_PER_MIN_BUCKET)
    finally:
        subprocess.run([sys.executable, '-m', 'azsim', 'stop', '--workdir', wd], cwd=os.path.join(REPO, 'simulator'),
                       capture_output=True, env=dict(os.environ, PYTHONPATH=os.path.join(REPO, 'simulator')), check=False)

    one = report['enable_one_vm']
    print('== 1. enable to success, one VM (30 GB OS + 2 x 64 GB data, default ADE timing)')
    print('   simulated duration {0} h, phase {1}'.format(one['simulated_hours'], one['phase']))
    print('   {0:<42} {1:>8}'.format('adaptive polling (this collection)', one['requests']))
    print('   {0:<42} {1:>8}'.format('fixed 30 s polling, same duration (GETs)', one['fixed_30s_polling_gets']))
    print('   by kind: ' + ', '.join('{0} {1}'.format(k, v) for k, v in sorted(one['by_kind'].items())))
    st = report['status_n_vms']
    print('== 2. status of {0} VMs in one resource group (simulator page size {1})'.format(st['n'], st['page_size']))
    for r in st['rows']:
        print('   {0:<42} {1:>8} requests  ({2} VMs, {3} s wall)'.format(
            r['mode'], r['requests'], r['vms'], r['wall_seconds']))
    w = report['wait_m_vms']
    print('== 3. {0} VMs in OS encryption waited on at once (4 resource groups)'.format(w['m']))
    print('   polls {0}, requests {1} over {2} simulated h; summary {3}'.format(
        w['polls'], w['requests'], w['simulated_hours'], w['summary']))
    print('   {0:<42} {1:>8}'.format('requests per poll (all {0} VMs)'.format(w['m']), w['requests_per_poll']))
    print('   {0:<42} {1:>8}'.format('per minute, worst case (30 s interval)', w['worst_case_per_minute']))
    print('   {0:<42} {1:>8}'.format('requests / simulated minute (measured)', w['requests_per_sim_minute']))
    print('   {0:<42} {1:>8}'.format('requests in the busiest simulated minute', w['peak_in_one_sim_minute']))
    print('   {0:<42} {1:>8}'.format('naive: one GET per VM per 30 s, per minute', w['per_vm_get_per_minute_at_base']))
    print('   {0:<42} {1:>8}'.format('ARM reads/min, legacy 12,000/h', w['arm_limit_per_minute_legacy']))
    print('   {0:<42} {1:>8}'.format('ARM reads/min, bucket refill 25/s', w['arm_limit_per_minute_bucket']))
    out = os.path.join(wd, 'azure_requests.json')
    with open(out, 'w') as fh:
        json.dump(report, fh, indent=2)
    print('full report: ' + out)


if __name__ == '__main__':
    main()

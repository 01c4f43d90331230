"""The rebuild of an OS-encrypted VM (issue 17): what it costs.

  benchmarks/rebuild.py [--vms 3] [--time-scale 60]                 Azure side, own simulator (no hosts)
  benchmarks/rebuild.py --hosts [--old rhel7-rootvg --new lowmem-4g] [--mb 64] [--reps 3]
                                                                    + the copy on two test hosts (hosts.lock)

1. Azure side, per rebuilt VM: wall time and ARM requests (by method) of vm_rebuild through every state - present
   (plan, NIC, new VM), configured, copied, compared, cut_over (old VM deallocated, private IP moved), verified - for
   --vms VMs, through one real ansible-playbook run (real SDK over HTTPS against the simulator; the simulator's clock
   runs --time-scale times faster, so LRO waits are short).
2. With --hosts: the guest-to-guest copy on two test hosts side by side with a plain `rsync -a` of the same tree
   between the same two hosts over the same SSH key: the collection's first pass (rebuild.rsync_argv: -aHAXS
   --numeric-ids --one-file-system, its ssh options) into an empty target, its final pass (--delete) with nothing
   changed, and the plain rsync into an empty target; median of --reps, MB/s and the ratio. The tree: files of 4 KB
   to 1 MB and two of 8 MB of random data (--mb in all), made on the old host, removed after; the key is made for the
   run on the old host and removed from both after (as the playbook does).
Prints a table; --json FILE writes the figures.
"""
import argparse
import collections
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, 'simulator'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'integration', 'e2e'))
from azsim.admin import SimAdmin  # noqa: E402  pylint: disable=wrong-import-position

STATES = ('present', 'configured', 'copied', 'compared', 'cut_over', 'verified')


def kind(path):
    """What a GET reads."""
    p = path.lower()
    for key, name in (('/operations/', 'LRO poll'), ('/networkinterfaces', 'NIC'), ('/subnets', 'subnet'),
                      ('/publicipaddresses', 'public IP'), ('microsoft.features', 'feature'), ('/skus', 'resource SKUs'),
                      ('/virtualmachines', 'VM')):
        if key in p:
            return name
    return 'other'


def azure_side(vms, scale):
    wd = tempfile.mkdtemp(prefix='bench-rebuild-')
    simenv = dict(os.environ, PYTHONPATH=os.path.join(REPO, 'simulator'))
    started = subprocess.run([sys.executable, '-m', 'azsim', 'serve', '--workdir', wd, '--port', '0',
                              '--time-scale', str(scale), '--daemon'], cwd=os.path.join(REPO, 'simulator'),
                             capture_output=True, text=True, env=simenv, check=False)
    if started.returncode:
        sys.exit('simulator did not start: ' + started.stdout + started.stderr)
    try:
        adm = SimAdmin(wd)
        ep = adm.endpoints
        names = ['vm-rb%02d' % i for i in range(vms)]
        adm.seed({'subscriptions': [{'features': {'Microsoft.Compute/EncryptionAtHost': 'Registered'},
                                     'resource_groups': [{
                                         'name': 'rg-bench', 'location': 'eastus', 'vaults': [{'name': 'kv-bench'}],
                                         'nsgs': [{'name': 'nsg-bench'}],
                                         'vnets': [{'name': 'vnet-bench', 'address_prefixes': ['10.60.0.0/16'],
                                                    'subnets': [{'name': 'app', 'prefix': '10.60.0.0/24',
                                                                 'nsg': 'nsg-bench'}]}],
                                         'vms': [{'name': n, 'size': 'Standard_D4s_v3', 'os_disk_name': '{vm}-os',
                                                  'data_disks': [{'name': '{vm}-data0', 'lun': 0, 'size_gb': 64}],
                                                  'network': {'vnet': 'vnet-bench', 'subnet': 'app',
                                                              'private_ip': '10.60.0.%d' % (10 + i), 'nsg': 'nsg-bench'},
                                                  'encryption': {'state': 'encrypted', 'volume_type': 'All',
                                                                 'vault': 'kv-bench'}}
                                                 for i, n in enumerate(names)]}]}]}, replace=True)
        adm.clear_log()
        env = dict(os.environ, AZURE_CLIENT_ID=ep['client_id'], AZURE_SECRET=ep['client_secret'],
                   AZURE_TENANT=ep['tenant_id'], AZURE_SUBSCRIPTION_ID=ep['subscription_id'],
                   AZURE_RESOURCE_MANAGER_URL=ep['resource_manager'], AZURE_AUTHORITY_HOST=ep['authority'],
                   AZURE_CA_BUNDLE=ep['ca_bundle'], AZURE_ADE_LRO_POLLING_INTERVAL=str(5.0 / scale),
                   ANSIBLE_AZURE_AUTH_SOURCE='env')
        env.pop('REQUESTS_CA_BUNDLE', None)
        pb = os.path.join(wd, 'rebuild.yml')
        with open(pb, 'w') as fh:
            json.dump([{'hosts': 'localhost', 'gather_facts': False, 'tasks': [
                {'name': 'rebuild ' + st, 'azure_ade.linux.vm_rebuild': {
                    'resource_group': 'rg-bench', 'name': '{{ item }}', 'state': st, 'auth_source': 'env'},
                 'loop': names} for st in STATES]}], fh)
        t0 = time.time()
        out = subprocess.run(['ansible-playbook', '-c', 'local', '-i', 'localhost,',
                              '-e', 'ansible_python_interpreter=' + sys.executable, pb],
                             env=env, capture_output=True, text=True, check=False)
        wall = time.time() - t0
        if out.returncode:
            sys.exit('rebuild playbook failed:\n' + out.stdout[-3000:])
        log = adm.log(kinds='arm')
        by_method = collections.Counter(e['method'] for e in log)
        gets = collections.Counter(kind(e['path']) for e in log if e['method'] == 'GET')
        lease_only = sum(1 for e in log if e.get('tags_changed') == ['azure_ade_lease'])
        span = (max(e['sim'] for e in log) - min(e['sim'] for e in log)) if log else 0
        return dict(vms=vms, time_scale=scale, wall_seconds=round(wall, 1), per_vm_wall=round(wall / vms, 1),
                    simulated_minutes=round(span / 60, 1), requests=len(log), per_vm=round(len(log) / vms, 1),
                    by_method_per_vm={k: round(v / vms, 1) for k, v in sorted(by_method.items())},
                    lease_patches_per_vm=round(lease_only / vms, 1),
                    gets_per_vm={k: round(v / vms, 1) for k, v in gets.most_common()},
                    module_runs_per_vm=len(STATES))
    finally:
        subprocess.run([sys.executable, '-m', 'azsim', 'stop', '--workdir', wd], cwd=os.path.join(REPO, 'simulator'),
                       capture_output=True, env=simenv, check=False)


def hosts_side(old, new, mb, reps):
    import yaml  # pylint: disable=import-outside-toplevel
    from scenario import addresses  # pylint: disable=import-outside-toplevel
    sys.path.insert(0, os.path.join(REPO, 'plugins', 'module_utils', 'cloud'))
    import rebuild as RB  # pylint: disable=import-outside-toplevel
    work = os.environ.get('ADE_WORK', '/tmp/azure_ade')
    inv = yaml.safe_load(open(os.path.join(work, 'hosts', 'inventory-py3.yml')))
    ip = addresses(inv)
    key = os.path.join(work, 'hosts', 'id_ed25519')
    sshbase = ['ssh', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR',
               '-o', 'BatchMode=yes', '-i', key]

    def sh(host, script, check=True):
        r = subprocess.run(sshbase + ['root@' + ip[host], script], capture_output=True, text=True, check=False)
        if check and r.returncode:
            raise RuntimeError('%s: %s\n%s%s' % (host, script[:200], r.stdout[-1000:], r.stderr[-1000:]))
        return r.stdout

    tree, keydir = '/srv/ade-bench', '/var/tmp/ade-bench-key'
    for h in (old, new):
        sh(h, 'command -v rsync >/dev/null || { echo "no rsync on %s: run tests/integration/migrate_e2e.sh section 6 '
              '(rebuild_prep.yml) once"; exit 1; }' % h)
    big = 2
    small_total = max(mb - 16, 1) * 1024
    make = ('set -e; rm -rf {t} {k}; mkdir -p {t}/d {k}; chmod 700 {k}; i=0; total=0; '
            'while [ $total -lt {st} ]; do s=$(( (i * 37 % 256) * 4 + 4 )); '
            'head -c $((s * 1024)) /dev/urandom > {t}/d/f$i; total=$((total + s)); i=$((i + 1)); done; '
            'for j in $(seq 1 {b}); do head -c 8388608 /dev/urandom > {t}/big$j; done; '
            'ssh-keygen -q -t ed25519 -N "" -C ade-bench -f {k}/id_ed25519')
    sh(old, make.format(t=tree, k=keydir, st=small_total, b=big))
    files, size = sh(old, 'find %s -type f | wc -l; du -sb %s | cut -f1' % (tree, tree)).split()
    pub = sh(old, 'cat %s/id_ed25519.pub' % keydir).strip()
    sh(new, 'sed -i "/ ade-bench$/d" /root/.ssh/authorized_keys; echo "%s" >> /root/.ssh/authorized_keys' % pub)
    hostkeys = sh(new, 'cat /etc/ssh/ssh_host_*_key.pub')
    sh(old, 'cat > %s/known_hosts <<"EOF"\n%s\nEOF' % (keydir, '\n'.join(RB.known_hosts_lines(hostkeys, ip[new]))))
    ssh_e = RB.rsync_argv(tree, ip[new], keydir)[RB.rsync_argv(tree, ip[new], keydir).index('-e') + 1]

    def timed(argv):
        q = ' '.join("'%s'" % a.replace("'", "'\\''") for a in argv)
        out = sh(old, 's=$(date +%s%N); ' + q + ' >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))')
        return int(out.split()[-1]) / 1000.0

    rows = collections.OrderedDict((k, []) for k in ('plain rsync -a', 'collection, first pass', 'collection, final pass'))
    try:
        for _unused in range(reps):
            sh(new, 'rm -rf %s' % tree)
            rows['plain rsync -a'].append(timed(['rsync', '-a', '-e', ssh_e, tree + '/', 'root@%s:%s/' % (ip[new], tree)]))
            sh(new, 'rm -rf %s' % tree)
            rows['collection, first pass'].append(timed(RB.rsync_argv(tree, ip[new], keydir)))
            rows['collection, final pass'].append(timed(RB.rsync_argv(tree, ip[new], keydir, final=True)))
        same = sh(old, 'cd %s && find . -type f -exec sha256sum {} + | sort | sha256sum' % tree) == \
            sh(new, 'cd %s && find . -type f -exec sha256sum {} + | sort | sha256sum' % tree)
    finally:
        sh(new, 'rm -rf %s; sed -i "/ ade-bench$/d" /root/.ssh/authorized_keys' % tree, check=False)
        sh(old, 'rm -rf %s %s' % (tree, keydir), check=False)
    mbytes = int(size) / 1e6
    out = dict(old=old, new=new, files=int(files), bytes=int(size), reps=reps, same_checksums=same, rows={})
    for k, v in rows.items():
        med = statistics.median(v)
        out['rows'][k] = dict(seconds=v, median=round(med, 2), mb_per_s=round(mbytes / med, 1) if med else None)
    plain = out['rows']['plain rsync -a']['median']
    for k in out['rows']:
        out['rows'][k]['vs_plain'] = round(out['rows'][k]['median'] / plain, 2) if plain else None
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    ap.add_argument('--vms', type=int, default=3)
    ap.add_argument('--time-scale', type=float, default=60.0)
    ap.add_argument('--hosts', action='store_true')
    ap.add_argument('--old', default='rhel7-rootvg')
    ap.add_argument('--new', default='lowmem-4g')
    ap.add_argument('--mb', type=int, default=64)
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--skip-azure', action='store_true')
    ap.add_argument('--json')
    a = ap.parse_args()
    report = {}
    if a.hosts:
        report['copy'] = c = hosts_side(a.old, a.new, a.mb, a.reps)
        print('== the copy, %s -> %s: %d files, %.1f MB, median of %d (checksums equal after: %s)' % (
            c['old'], c['new'], c['files'], c['bytes'] / 1e6, c['reps'], c['same_checksums']))
        print('   %-26s %9s %9s %9s' % ('', 'seconds', 'MB/s', 'x plain'))
        for k, r in c['rows'].items():
            print('   %-26s %9.2f %9s %9s' % (k, r['median'], r['mb_per_s'], r['vs_plain']))
    if not a.skip_azure:
        report['azure'] = z = azure_side(a.vms, a.time_scale)
        print('== Azure side per rebuilt VM (%d VMs, vm_rebuild through %s; simulator time scale %g)' % (
            z['vms'], ', '.join(STATES), z['time_scale']))
        print('   wall %.1f s per VM (%.1f s for all), %.1f simulated min' % (
            z['per_vm_wall'], z['wall_seconds'], z['simulated_minutes']))
        print('   requests per VM %.1f: %s (of which lease PATCHes %.1f)' % (
            z['per_vm'], ', '.join('%s %s' % kv for kv in z['by_method_per_vm'].items()), z['lease_patches_per_vm']))
        print('   GETs per VM: ' + ', '.join('%s %s' % kv for kv in z['gets_per_vm'].items()))
    if a.json:
        with open(a.json, 'w') as fh:
            json.dump(report, fh, indent=2)


if __name__ == '__main__':
    main()

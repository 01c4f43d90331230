"""The fixed test hosts each CI host step uses, read from the step's own scripts (no second list to keep in step).

  python3 tests/ci/hosts_of.py KIND        the hosts of one kind of step, sorted, one line, space separated
  python3 tests/ci/hosts_of.py --check     every host script names its hosts only through parameters (below);
                                           one line per problem, "N passed, N failed" last; exit 1 on a problem

KIND: guest molecule ee e2e status compat-e2e rollout-e2e migrate-e2e (the pipeline's step names without the core).
A host script names a test host only as the default of a parameter, `${VAR:-host}` (e.g. `ME_OS=${ME_OS:-rhel7-rootvg}`),
so that the hosts are these defaults, or the value of VAR in the environment when it is set (the pipeline's second host
lane sets some: tests/ci/pipeline.sh HOSTS2_ENV). Molecule: the platforms of roles/*/molecule/*/molecule.yml (only
MOLECULE_SCENARIOS when set). Guest: every host (it reads them all). The pipeline locks each host a step uses for the
step's whole run, so two steps that share a host never run at the same time (docs/testing.md "Two host lanes").
"""
import glob
import os
import re
import sys

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
sys.path.insert(0, os.path.join(REPO, 'tests', 'hosts', 'lib'))
import variants  # noqa: E402  (the 21 test hosts' specs)

HOSTS = sorted(variants.by_name())
# the scripts (and the files they source) of each kind of host step
SCRIPTS = {
    'ee': ['tests/ci/ee.sh'],
    'e2e': ['tests/integration/e2e.sh', 'tests/integration/e2e/reboot.sh'],
    'status': ['tests/integration/status.sh'],
    'compat-e2e': ['tests/integration/compat_e2e.sh'],
    'rollout-e2e': ['tests/integration/rollout_e2e.sh'],
    'migrate-e2e': ['tests/integration/migrate_e2e.sh'],
}
PARAM_RE = re.compile(r'\$\{(\w+):-([A-Za-z0-9._-]+)\}')
NAME_RE = re.compile(r'(?<![\w.-])(%s)(?![\w.-])' % '|'.join(re.escape(h) for h in sorted(HOSTS, key=len, reverse=True)))


def code_lines(path):
    """(number, line) of a shell script without its comments (whole-line and trailing ' # ...')."""
    with open(os.path.join(REPO, path)) as f:
        for n, line in enumerate(f, 1):
            s = line.strip()
            if not s or s.startswith('#'):
                continue
            yield n, re.sub(r'\s#\s.*$', '', line.rstrip('\n'))


def params(path):
    """{VAR: default host} of a script."""
    return {m.group(1): m.group(2) for item in code_lines(path) for m in PARAM_RE.finditer(item[1])
            if m.group(2) in HOSTS}


def molecule_hosts():
    want = os.environ.get('MOLECULE_SCENARIOS', '').split()
    hosts = set()
    for yml in sorted(glob.glob(os.path.join(REPO, 'roles', '*', 'molecule', '*', 'molecule.yml'))):
        if want and os.path.basename(os.path.dirname(yml)) not in want:
            continue
        with open(yml) as f:
            text = f.read()
        block = text.split('platforms:', 1)[1] if 'platforms:' in text else ''
        block = re.split(r'^\S', block, maxsplit=1, flags=re.M)[0]   # up to the next top-level key
        hosts.update(re.findall(r'^\s*-\s*name:\s*([\w.-]+)', block, re.M))
    return hosts


def hosts_of(kind):
    if kind == 'guest':
        return list(HOSTS)
    if kind == 'molecule':
        return sorted(molecule_hosts())
    if kind not in SCRIPTS:
        raise SystemExit('hosts_of.py: unknown kind %r (one of: guest molecule %s)' % (kind, ' '.join(SCRIPTS)))
    hosts = set()
    for path in SCRIPTS[kind]:
        for var, default in params(path).items():
            hosts.add(os.environ.get(var) or default)
    unknown = sorted(h for h in hosts if h not in HOSTS)
    if unknown:
        raise SystemExit('hosts_of.py: %s names no test host: %s' % (kind, ' '.join(unknown)))
    return sorted(hosts)


def check():
    """Problems: a host script that names a test host outside a ${VAR:-host} parameter, a molecule scenario
    without platforms on the test hosts."""
    problems = []
    for kind, paths in sorted(SCRIPTS.items()):
        for path in paths:
            for n, line in code_lines(path):
                bare = PARAM_RE.sub('', line)
                for m in NAME_RE.finditer(bare):
                    problems.append('%s:%d names test host %s outside a ${VAR:-%s} parameter: the pipeline would not '
                                    'lock it (tests/ci/hosts_of.py)' % (path, n, m.group(1), m.group(1)))
    mol = molecule_hosts()
    if not mol or mol - set(HOSTS):
        problems.append('molecule platforms %s are not test hosts' % sorted(mol - set(HOSTS)))
    return problems


def main(argv):
    if argv[:1] == ['--check']:
        problems = check()
        for p in problems:
            print('FAILED hosts-declared: %s' % p)
        print('%d passed, %d failed' % (0 if problems else 1, 1 if problems else 0))
        return 1 if problems else 0
    if len(argv) != 1:
        print(__doc__)
        return 2
    print(' '.join(hosts_of(argv[0])))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

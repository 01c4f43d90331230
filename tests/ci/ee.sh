#!/usr/bin/env bash
# The execution environment (EE), built and run, as AWX runs playbooks (issue 18 item 6). `make ee`; CI step `ee`.
#   bash tests/ci/ee.sh            build the image (cached) and run the encrypt rollout inside it
#   bash tests/ci/ee.sh build      only the image (CI: step ee-build in the sim lane)
#   bash tests/ci/ee.sh run        only the run, with the image built before (CI: step ee in the hosts lane)
#   EE_REBUILD=1 bash tests/ci/ee.sh    build even when the cached image matches
#   EE_CORE=2.16                   the ansible-core line inside the EE (default: the old line, $ADE_CORE_OLD; the EE's
#                                  Python is Debian 12's 3.11, too old for the newest line)
# 1. podman + runc (Debian's packages; runc, not crun: see tests/hosts/README.md) and ansible-builder (PyPI, venv
#    $ADE_WORK/venv-ee); podman's config and storage under $ADE_WORK/ee (overlay; the host's network namespace).
# 2. Base image localhost/azure-ade-ee-base:<stamp>: a Debian 12 minbase root filesystem (debootstrap, cached in
#    $ADE_WORK/ee/rootfs) + this machine's CA bundle and pip config (PyPI is reached through a TLS-inspecting proxy)
#    + an apt shim for ansible-builder's dnf-style scripts (tests/ee/pkgmgr.sh), imported with `podman import`
#    (no container registry is reachable).
# 3. The EE: `ansible-builder build` from tests/ee/execution-environment.yml; the collection goes in through Galaxy
#    from its built tarball, so ansible-builder reads the collection's meta/execution-environment.yml (->
#    requirements.txt) as it does for a user. Cached by a key over meta/execution-environment.yml, requirements.txt,
#    bindep.txt, tests/ee/*, the base image and EE_CORE: image localhost/azure-ade-ee:<key> (a fresh machine builds it).
# 4. The run: the simulator seeded with one VM per test host (tests/integration/e2e/scenario.py), then ansible-runner's
#    container mode (process isolation with podman, as AWX): host network (the simulator on 127.0.0.1, the hosts'
#    namespace addresses), as root in the container (the image's user is 1000, as ansible-builder makes it; runner's
#    artifact directory (0700) and the hosts' SSH key (0600) belong to root here), this checkout mounted over the image's copy of the collection (the image holds the
#    dependencies; the code under test is always the checkout). encrypt on three guests: one encrypted, one failed
#    and restored from its snapshot set, one blocked by the preflight; outcomes checked from the report.
# Prints the image's size and build time. Last line "N passed, N failed". Run under flock /work/coord/hosts.lock.
set -euo pipefail
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
MODE=${1:-all}
EE_CORE=${EE_CORE:-$ADE_CORE_OLD}
ADE_CORE=$EE_CORE
ADE_VENV=$ADE_WORK/venv-$ADE_CORE
export ADE_CORE ADE_VENV
EE=$ADE_WORK/ee
W=${ADE_SCRATCH:-$ADE_WORK}/ee-run
mkdir -p "$EE" "$ADE_LOGS"
T0=$(date +%s)
log() { printf '[ee +%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
ok() { CI_PASSED=$((CI_PASSED + 1)); echo "ok: $*"; }
ko() { CI_FAILED=$((CI_FAILED + 1)); echo "FAILED: $*"; }

# ---- 1. tools --------------------------------------------------------------------------------------------------
need=()
for p in podman runc debootstrap; do command -v "$p" >/dev/null 2>&1 || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" \
    >"$ADE_LOGS/ee-apt.log" 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${need[@]}" >>"$ADE_LOGS/ee-apt.log" 2>&1; } || { tail -20 "$ADE_LOGS/ee-apt.log"; exit 1; }
fi
BUILDER_VENV=$ADE_WORK/venv-ee
BUILDER_VERSION=3.2.0
if [ "$(cat "$BUILDER_VENV/.ade-builder" 2>/dev/null || true)" != "$BUILDER_VERSION" ]; then
  log "ansible-builder $BUILDER_VERSION into $BUILDER_VENV"
  rm -rf "$BUILDER_VENV"
  "$(ade_controller_python 3.11)" -m venv "$BUILDER_VENV"
  "$BUILDER_VENV/bin/pip" install -q "ansible-builder==$BUILDER_VERSION" >"$ADE_LOGS/ee-builder.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/ee-builder.log"; exit 1; }
  echo "$BUILDER_VERSION" >"$BUILDER_VENV/.ade-builder"
fi
mkdir -p "$EE/storage" "$EE/run"
cat >"$EE/containers.conf" <<'EOF'
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
[containers]
default_ulimits = ["nofile=4096:4096", "nproc=4096:4096"]
netns = "host"
EOF
cat >"$EE/storage.conf" <<EOF
[storage]
driver = "overlay"
runroot = "$EE/run"
graphroot = "$EE/storage"
EOF
export CONTAINERS_CONF=$EE/containers.conf CONTAINERS_STORAGE_CONF=$EE/storage.conf

# ---- 2. base image ---------------------------------------------------------------------------------------------
ROOTFS=$EE/rootfs
BASE_STAMP="bookworm minbase include=python3,python3-venv,ca-certificates,openssh-client"
if [ ! -f "$ROOTFS.stamp" ] || [ "$(cat "$ROOTFS.stamp")" != "$BASE_STAMP" ]; then
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  log "debootstrap bookworm from ${MIRROR:=http://deb.debian.org/debian} (about a minute)"
  rm -rf "$ROOTFS.tmp" "$ROOTFS"
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,openssh-client bookworm "$ROOTFS.tmp" \
    "$MIRROR" >"$ADE_LOGS/ee-debootstrap.log" 2>&1 || { tail -20 "$ADE_LOGS/ee-debootstrap.log"; exit 1; }
  rm -rf "$ROOTFS.tmp/var/cache/apt/archives/"*.deb
  mv "$ROOTFS.tmp" "$ROOTFS"
  echo "$BASE_STAMP" >"$ROOTFS.stamp"
fi
# What this machine adds for pip inside builds: its CA bundle (the proxy's CA) and pip config; the apt shim.
cp /etc/ssl/certs/ca-certificates.crt "$ROOTFS/etc/ssl/certs/ca-certificates.crt"
printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\ndisable-pip-version-check = 1\n' >"$ROOTFS/etc/pip.conf"
install -m 0755 "$ADE_REPO/tests/ee/pkgmgr.sh" "$ROOTFS/usr/local/bin/ade-pkgmgr"
# pip for the system Python (Debian disables ensurepip there, which ansible-builder would call): from the pip wheel
# python3-venv brought along, no network (the EE definition sets skip_pip_install)
if ! chroot "$ROOTFS" python3 -m pip --version >/dev/null 2>&1; then
  whl=$(cd "$ROOTFS" && find usr/share/python-wheels -name 'pip-*.whl' | head -n 1)
  chroot "$ROOTFS" python3 "/$whl/pip" install -q --no-index --break-system-packages "/$whl" >"$ADE_LOGS/ee-pip.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/ee-pip.log"; exit 1; }
fi
BASE_KEY=$( (echo "$BASE_STAMP"; chroot "$ROOTFS" python3 -m pip --version; cat "$ROOTFS/etc/ssl/certs/ca-certificates.crt" "$ROOTFS/etc/pip.conf" \
  "$ROOTFS/usr/local/bin/ade-pkgmgr") | sha256sum | cut -c1-12)
BASE_IMAGE=localhost/azure-ade-ee-base:$BASE_KEY
if ! podman image exists "$BASE_IMAGE"; then
  log "podman import -> $BASE_IMAGE"
  tar -C "$ROOTFS" -c . | podman import - "$BASE_IMAGE" >/dev/null
  for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/azure-ade-ee-base:' | grep -v ":$BASE_KEY$" || true); do
    podman rmi -f "$old" >/dev/null 2>&1 || true
  done
fi

# ---- 3. the EE image (cached by its dependencies) ----------------------------------------------------------------
KEY=$( (echo "$BASE_IMAGE $EE_CORE $BUILDER_VERSION"
        for f in meta/execution-environment.yml requirements.txt bindep.txt tests/ee/execution-environment.yml \
                 tests/ee/pkgmgr.sh; do
          echo "== $f"; cat "$ADE_REPO/$f" 2>/dev/null || true
        done) | sha256sum | cut -c1-12)
IMAGE=localhost/azure-ade-ee:$KEY
if [ "$MODE" = run ] && ! podman image exists "$IMAGE"; then
  ko "no EE image $IMAGE for these dependencies: bash tests/ci/ee.sh build (CI: the ee-build step failed?)"
  ci_summary
  exit 1
elif [ "${EE_REBUILD:-0}" = 1 ] || ! podman image exists "$IMAGE"; then
  CTX=$EE/build-$KEY
  rm -rf "$CTX" && mkdir -p "$CTX/tarball"
  ade_activate
  log "collection tarball"
  ansible-galaxy collection build --force --output-path "$CTX/tarball" "$ADE_REPO" >"$ADE_LOGS/ee-galaxy.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/ee-galaxy.log"; exit 1; }
  tarball=$(find "$CTX/tarball" -name 'azure_ade-linux-*.tar.gz' | head -n 1)
  sed -e "s|@BASE_IMAGE@|$BASE_IMAGE|" -e "s|@EE_CORE@|$EE_CORE|" -e "s|@TAG@|$IMAGE|" \
      -e "s|@TARBALL@|collections/$(basename "$tarball")|" -e "s|@TARBALL_SRC@|$tarball|" \
      "$ADE_REPO/tests/ee/execution-environment.yml" >"$CTX/execution-environment.yml"
  log "ansible-builder build -> $IMAGE (ansible-core $EE_CORE; log $ADE_LOGS/ee-build.log)"
  B0=$(date +%s)
  if (cd "$CTX" && "$BUILDER_VENV/bin/ansible-builder" build -f execution-environment.yml -c context \
        --container-runtime podman --extra-build-cli-args="--network=host" -v 2) >"$ADE_LOGS/ee-build.log" 2>&1; then
    echo "$(($(date +%s) - B0))" >"$EE/build-seconds-$KEY"
    ok "EE image built: $IMAGE in $(cat "$EE/build-seconds-$KEY") s"
  else
    tail -40 "$ADE_LOGS/ee-build.log"
    ko "ansible-builder build (log $ADE_LOGS/ee-build.log)"
    ci_summary
    exit 1
  fi
  rm -rf "$CTX"
else
  ok "EE image cached: $IMAGE (built in $(cat "$EE/build-seconds-$KEY" 2>/dev/null || echo '?') s when made)"
fi
SIZE=$(podman image inspect --format '{{.Size}}' "$IMAGE")
echo "EE image $IMAGE: $((SIZE / 1000000)) MB; base $BASE_IMAGE: $(($(podman image inspect --format '{{.Size}}' "$BASE_IMAGE") / 1000000)) MB"
# What is inside: the collection's dependencies from its meta/execution-environment.yml, ansible-core, ansible-runner.
if podman run --rm "$IMAGE" sh -c 'ansible --version | head -1; python3 -c "import azure.mgmt.compute, azure.identity, azure.storage.blob, jmespath"; ansible-galaxy collection list azure_ade.linux' \
     >"$ADE_LOGS/ee-inside.log" 2>&1; then
  ok "EE holds ansible-core $EE_CORE, the SDK deps from meta/execution-environment.yml and azure_ade.linux ($(head -1 "$ADE_LOGS/ee-inside.log"))"
else
  cat "$ADE_LOGS/ee-inside.log"; ko "EE contents"
fi
# old images of this name (other keys) go, so $ADE_WORK does not grow with every dependency change
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' | grep '^localhost/azure-ade-ee:' | grep -v ":$KEY$" || true); do
  podman rmi -f "$old" >/dev/null 2>&1 || true
done
[ "$MODE" != build ] || { ci_summary; exit $?; }

# ---- 4. the encrypt rollout inside the EE (ansible-runner container mode, as AWX) ---------------------------------
inv=$ADE_WORK/hosts/inventory.yml
[ -f "$inv" ] || { ko "no test hosts ($inv): tests/hosts/up.sh"; ci_summary; exit 1; }
ade_mount_collection
ade_activate
command -v ansible-runner >/dev/null || { ko "no ansible-runner in $ADE_VENV"; ci_summary; exit 1; }
# hosts that only the hosts lane's own steps use (molecule before it, e2e after it), none of the second host lane's:
# there it waited 317 s for hosts2 to release ubuntu1804/lowmem-4g. BLOCKED's fstab blocks VolumeType All.
OK=${EE_OK:-centos7-selinux} FAIL=${EE_FAIL:-rhel7-rootvg} BLOCKED=${EE_BLOCKED:-data-nofail}
rm -rf "$W" && mkdir -p "$W/pdd/project" "$W/pdd/inventory" "$W/pdd/env" "$W/pdd/report"
SIM=$W/sim
cleanup() {
  ade_sim_stop "$SIM"
  ansible-playbook -i "$inv" "$ADE_REPO/tests/integration/e2e/cleanup.yml" -e ade_hosts="$OK:$FAIL:$BLOCKED" \
    >"$W/cleanup.log" 2>&1 || echo "(putting the guests back failed: $W/cleanup.log)"
}
trap cleanup EXIT
python3 "$ADE_REPO/tests/integration/e2e/scenario.py" "$inv" "$FAIL" >"$W/scenario.json"
ade_sim_start "$SIM" --time-scale 600 --scenario "$W/scenario.json"
cp "$inv" "$W/pdd/inventory/hosts.yml"
printf -- '- name: The encrypt rollout, as an AWX job template runs it\n  ansible.builtin.import_playbook: azure_ade.linux.encrypt\n' \
  >"$W/pdd/project/encrypt.yml"
python3 - "$W/pdd/env" "$OK:$FAIL:$BLOCKED" <<'PY'
import json, os, sys
d, hosts = sys.argv[1], sys.argv[2]
keep = ('AZURE_CLIENT_ID', 'AZURE_SECRET', 'AZURE_TENANT', 'AZURE_SUBSCRIPTION_ID', 'AZURE_RESOURCE_MANAGER_URL',
        'AZURE_AUTHORITY_HOST', 'AZURE_CA_BUNDLE', 'AZURE_ADE_LRO_POLLING_INTERVAL')
env = dict((k, os.environ[k]) for k in keep if k in os.environ)
env.update(ANSIBLE_HOST_KEY_CHECKING='False', ANSIBLE_NOCOLOR='1', ANSIBLE_RETRY_FILES_ENABLED='False',
           ANSIBLE_COLLECTIONS_PATH='/ade/collections:/usr/share/ansible/collections')
json.dump(env, open(os.path.join(d, 'envvars'), 'w'))
# ade_verify_restart=false: the test hosts have no device-mapper (as make demo; e2e 3e shows the honest failure)
json.dump({'ade_hosts': hosts, 'ade_key_vault': 'kv-ade-e2e', 'ade_verify_restart': False, 'ade_volume_type': 'All',
           'ade_poll_interval': 0.2, 'ade_continue_on_failure': True, 'ade_report_dir': '/runner/report'},
          open(os.path.join(d, 'extravars'), 'w'))
PY
log "ansible-runner run (container mode: podman, image $IMAGE, host network) - encrypt $OK:$FAIL:$BLOCKED"
R0=$(date +%s)
set +e
ansible-runner run "$W/pdd" -p encrypt.yml --process-isolation --process-isolation-executable podman \
  --container-image "$IMAGE" --container-option="--network=host" --container-option="--user=0" \
  --container-volume-mount "$ADE_COLL_ROOT:/ade/collections:ro" \
  --container-volume-mount "$ADE_WORK/hosts:$ADE_WORK/hosts:ro" \
  --container-volume-mount "$SIM:$SIM:ro" >"$W/encrypt.log" 2>&1
rrc=$?
set -e
log "ansible-runner rc=$rrc after $(($(date +%s) - R0)) s (log $W/encrypt.log)"
grep -E '^(PLAY RECAP|[a-z0-9-]+ +: ok=)' "$W/encrypt.log" || true
rep=$W/pdd/report/encrypt.json
if [ ! -f "$rep" ]; then
  tail -40 "$W/encrypt.log"
  ko "encrypt inside the EE wrote no report (runner rc=$rrc)"
  ci_summary
  exit 1
fi
ok "encrypt ran inside the EE (ansible-runner container mode) and wrote its report"
if python3 - "$rep" "$OK" "$FAIL" "$BLOCKED" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
out = dict((r['host'], r.get('outcome')) for r in rows)
print('%-18s %-22s %s' % ('HOST', 'OUTCOME', 'SNAPSHOT SET'))
for r in rows:
    print('%-18s %-22s %s' % (r['host'], r.get('outcome'), r.get('snapshot_set') or '-'))
want = {sys.argv[2]: ('succeeded', 'encrypted'), sys.argv[3]: ('failed_restored',), sys.argv[4]: ('blocked', 'prerequisites_failed')}
bad = ['%s: %s (expected %s)' % (h, out.get(h), ' or '.join(w)) for h, w in want.items() if out.get(h) not in w]
if bad:
    print('NOT AS EXPECTED: ' + '; '.join(bad))
    sys.exit(1)
PY
then ok "outcomes: $OK encrypted, $FAIL failed and restored, $BLOCKED blocked"; else ko "outcomes inside the EE"; fi
# the playbook ran in the container (runner's recorded command is podman run ... IMAGE ansible-playbook)
if grep -q "podman.*$IMAGE.*ansible-playbook" "$W/pdd/artifacts/"*/command 2>/dev/null; then
  ok "runner's command: podman run ... $IMAGE ... ansible-playbook"
else
  ko "runner did not run the playbook in the EE container ($W/pdd/artifacts/*/command)"
fi
ci_summary

#!/usr/bin/env bash
# Idempotent machine setup for tests and CI (Debian 12, root). Safe to re-run: every part checks
# first and only installs what is missing or out of date.
#
#   bash tests/ci/setup.sh            # everything (apt, both venvs, interpreters, get-pip stubs, collections)
#   SETUP_CORES=2.16 bash tests/ci/setup.sh
#   ADE_WORK=/tmp/elsewhere bash tests/ci/setup.sh   # a separate state dir (proves a fresh install works)
#
# Produces (see tests/ci/env.sh): $ADE_WORK/venv-<line> per line of $ADE_CORES (2.16, 2.21), $ADE_WORK/pybin/python{2.7,3.6,3.12,3.13},
# $ADE_WORK/py27env, $ADE_WORK/colls (third-party collections the tests use), ~/.ansible/test/cache/get_pip_*.py
set -euo pipefail
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
CI_DIR=$ADE_REPO/tests/ci
SETUP_CORES=${SETUP_CORES:-$ADE_CORES}
export DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
T0=$(date +%s)
log() { printf '[setup +%3ss] %s\n' "$(($(date +%s) - T0))" "$*"; }
mkdir -p "$ADE_WORK" "$ADE_LOGS"

# ---------------------------------------------------------------- apt packages
APT_UPDATED=
apt_update() { [ -n "$APT_UPDATED" ] || { apt-get update -qq; APT_UPDATED=1; }; }
apt_wanted() {
  local f
  for f in "$CI_DIR/apt-packages.txt" "$ADE_REPO/tests/hosts/apt-packages.txt"; do
    [ -f "$f" ] && sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$f"
  done
  # podman only if a molecule scenario uses the podman driver
  if grep -rqsE 'name:[[:space:]]*podman' "$ADE_REPO"/roles/*/molecule/*/molecule.yml 2>/dev/null; then
    printf '%s\n' podman runc
  fi
  return 0
}
install_apt() {
  local missing=() p
  while read -r p; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done < <(apt_wanted | sort -u)
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt_update
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$ADE_LOGS/setup-apt.log" 2>&1 \
      || { tail -20 "$ADE_LOGS/setup-apt.log"; exit 1; }
  else
    log "apt packages present"
  fi
}

# ---------------------------------------------------------------- venvs per ansible-core line
PY=$(ade_controller_python 3.11)
make_venv() {
  local core=$1 venv=$ADE_WORK/venv-$1 req=$CI_DIR/requirements-$1.txt want have PY
  PY=$(ade_controller_python "$(ade_core_pyver "$core")")   # 3.11 up to core 2.19, 3.12 from 2.20
  [ -f "$req" ] || { log "ERROR: no $req (ansible-core line $core: add the file with its pin)"; exit 1; }
  want=$( (cat "$req" "$CI_DIR/requirements.txt"; echo "$PY") | sha256sum | cut -c1-16)
  have=$(cat "$venv/.ade-req" 2>/dev/null || true)
  if [ "$want" = "$have" ] && [ -x "$venv/bin/ansible-test" ]; then
    log "venv-$core up to date ($("$venv/bin/python" -c 'import ansible; print(ansible.__version__)'))"
    return 0
  fi
  log "venv-$core: installing from $(basename "$req") with $PY"
  [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
  local extra=()
  if grep -rqsE 'name:[[:space:]]*podman' "$ADE_REPO"/roles/*/molecule/*/molecule.yml 2>/dev/null; then
    extra+=("molecule-plugins[podman]")
  fi
  "$venv/bin/pip" install -q -r "$req" "${extra[@]}" >"$ADE_LOGS/setup-venv-$core.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/setup-venv-$core.log"; exit 1; }
  "$venv/bin/pip" check >>"$ADE_LOGS/setup-venv-$core.log" 2>&1 || log "WARNING: pip check reports conflicts in venv-$core"
  echo "$want" >"$venv/.ade-req"
  log "venv-$core ready: ansible-core $("$venv/bin/python" -c 'import ansible; print(ansible.__version__)')"
}

# ---------------------------------------------------------------- get-pip stand-ins for ansible-test
install_get_pip_stubs() {
  local d=$HOME/.ansible/test/cache v
  mkdir -p "$d"
  for v in 20_3_4 21_3_1 23_1_2 24_2 25_2; do
    cmp -s "$CI_DIR/get_pip_stub.py" "$d/get_pip_$v.py" || cp "$CI_DIR/get_pip_stub.py" "$d/get_pip_$v.py"
  done
  log "get-pip stand-ins in $d"
}

# ---------------------------------------------------------------- old/new interpreters as real paths
find_pyenv_python() {  # $1 = 2.7 | 3.6 | ...
  local root p
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$root"/versions/"$1".*/bin/python"$1"; do
    [ -x "$p" ] && "$p" -c 'import ssl, json' >/dev/null 2>&1 && { echo "$p"; return 0; }
  done
  return 1
}
install_bullseye_python27() {
  # Fallback when the image has no pyenv 2.7: Debian 11's python2.7 via a temporary apt source.
  local src=/etc/apt/sources.list.d/ade-bullseye.sources
  log "no pyenv python2.7: installing Debian bullseye python2.7 (temporary apt source)"
  awk 'BEGIN{RS="";ORS="\n"} NR==1' /etc/apt/sources.list.d/debian.sources | sed 's/^Suites:.*/Suites: bullseye/' >"$src"
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python2.7 >>"$ADE_LOGS/setup-apt.log" 2>&1 || { rm -f "$src"; apt-get update -qq; exit 1; }
  rm -f "$src"
  apt-get update -qq   # restore the original sources' lists
}
link_interpreters() {
  local v p
  mkdir -p "$ADE_PYBIN"
  for v in 2.7 3.6 3.12 3.13; do
    p=$(find_pyenv_python "$v" || true)
    if [ -z "$p" ] && [ "$v" = 2.7 ]; then
      [ -x /usr/bin/python2.7 ] || install_bullseye_python27
      p=/usr/bin/python2.7
    fi
    if [ -n "$p" ]; then
      ln -sfn "$p" "$ADE_PYBIN/python$v"
    else
      log "WARNING: no python$v found (tests that need it will fail)"
    fi
  done
  log "pybin: $(cd "$ADE_PYBIN" && for f in python*; do printf '%s ' "$f"; done)"
}
make_py27env() {
  local py27
  py27=$(ade_python 2.7)
  if [ -x "$ADE_PY27ENV/bin/python" ] && "$ADE_PY27ENV/bin/python" -c 'import virtualenv' >/dev/null 2>&1; then
    log "py27env present"
    return 0
  fi
  [ -n "$py27" ] || { log "ERROR: no python2.7"; exit 1; }
  log "py27env: virtualenv -p $py27"
  rm -rf "$ADE_PY27ENV"
  "$ADE_WORK/venv-2.16/bin/virtualenv" -q -p "$py27" "$ADE_PY27ENV" >"$ADE_LOGS/setup-py27env.log" 2>&1
  "$ADE_PY27ENV/bin/pip" install -q "virtualenv<20.22" >>"$ADE_LOGS/setup-py27env.log" 2>&1 \
    || { tail -20 "$ADE_LOGS/setup-py27env.log"; exit 1; }
}

# ---------------------------------------------------------------- third-party collections (from the ansible wheel, never Galaxy)
# Only the ones the repo's tests/roles/playbooks reference. Add a name here when a test starts to use one.
CANDIDATE_COLLECTIONS="community.general ansible.posix containers.podman community.crypto"
install_collections() {
  local wanted=() c ns name
  for c in $CANDIDATE_COLLECTIONS; do
    if grep -rqsF --exclude-dir=output --exclude-dir=.git --exclude-dir=ci "$c." \
         "$ADE_REPO/tests" "$ADE_REPO/roles" "$ADE_REPO/playbooks" "$ADE_REPO/benchmarks" 2>/dev/null; then
      ns=${c%%.*}; name=${c#*.}
      [ -f "$ADE_WORK/colls/ansible_collections/$ns/$name/MANIFEST.json" ] || wanted+=("$c")
    fi
  done
  if [ ${#wanted[@]} -eq 0 ]; then
    log "third-party collections: nothing (more) needed"
    return 0
  fi
  log "collections from the ansible 9 wheel: ${wanted[*]}"
  mkdir -p "$ADE_WORK/dl" "$ADE_WORK/colls"
  local whl
  whl=$(find "$ADE_WORK/dl" -maxdepth 1 -name 'ansible-9.*.whl' | sort | tail -n 1)
  if [ -z "$whl" ]; then
    "$ADE_WORK/venv-2.16/bin/pip" download -q --no-deps -d "$ADE_WORK/dl" "ansible==9.*" >"$ADE_LOGS/setup-colls.log" 2>&1
    whl=$(find "$ADE_WORK/dl" -maxdepth 1 -name 'ansible-9.*.whl' | sort | tail -n 1)
  fi
  "$PY" - "$ADE_WORK/colls" "$whl" "${wanted[@]}" <<'EOF'
import sys, zipfile
dest, whl, names = sys.argv[1], sys.argv[2], sys.argv[3:]
keep = tuple('ansible_collections/%s/' % n.replace('.', '/') for n in names)
z = zipfile.ZipFile(whl)
z.extractall(dest, [n for n in z.namelist() if n.startswith(keep)])
EOF
}

log "ADE_WORK=$ADE_WORK cores=[$SETUP_CORES] python=$PY"
install_apt
for core in $SETUP_CORES; do make_venv "$core"; done
[ -x "$ADE_WORK/venv-2.16/bin/virtualenv" ] || make_venv 2.16   # py27env is made with venv-2.16's virtualenv
install_get_pip_stubs
link_interpreters
make_py27env
install_collections
# azure-cli for the azcli step (cached); a failure here is not fatal: the azcli step installs (and fails) itself
bash "$CI_DIR/azcli.sh" --install 2>&1 | sed 's/^/[setup] /' || log "WARNING: azure-cli install failed (azcli step will retry)"
mkdir -p /run/sshd
log "done"

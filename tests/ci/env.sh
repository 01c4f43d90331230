# shellcheck shell=bash
# Source me: sets up the paths every script of this repo agrees on.
#   ADE_WORK     scratch state (venvs, rootfs, hosts, simulator), default /tmp/azure_ade
#   ADE_REPO     this checkout
#   ADE_COLL     the checkout seen at .../ansible_collections/azure_ade/linux (a bind mount:
#                ansible-test refuses symlinks)
#   ANSIBLE_COLLECTIONS_PATH  our collection + the few third-party ones tests need
ADE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
ADE_COLL_ROOT=${ADE_COLL_ROOT:-$ADE_WORK/ac}   # override to keep a second checkout apart from a shared ADE_WORK
ADE_COLL=$ADE_COLL_ROOT/ansible_collections/azure_ade/linux
# The two ansible-core lines tested (DEVELOPERS guidance): the last that manages Python 2.7 guests, and the newest
# this machine runs. Change a line here (and add tests/ci/requirements-<line>.txt); every script follows.
# Another line works for a developer too: ADE_CORE=2.19 make setup sanity (its requirements file exists).
# 2.21 replaced 2.19 as the newer line on 2026-12-07 (every step passed on it: docs/testing.md "The two core lines").
ADE_CORE_OLD=2.16
ADE_CORE_NEW=${ADE_CORE_NEW:-2.21}
ADE_CORES=${ADE_CORES:-"$ADE_CORE_OLD $ADE_CORE_NEW"}
ADE_CORE=${ADE_CORE:-$ADE_CORE_OLD}   # the line a script runs when given none; "old"/"new" name the two lines
case "$ADE_CORE" in old) ADE_CORE=$ADE_CORE_OLD ;; new) ADE_CORE=$ADE_CORE_NEW ;; esac
ADE_VENV=$ADE_WORK/venv-$ADE_CORE
export ADE_REPO ADE_WORK ADE_COLL_ROOT ADE_COLL ADE_CORE ADE_VENV ADE_CORE_OLD ADE_CORE_NEW ADE_CORES
ADE_PYBIN=$ADE_WORK/pybin           # real symlinks python2.7/3.6/3.12/3.13 (pyenv shims break ansible-test)
ADE_PY27ENV=$ADE_WORK/py27env       # Python 2.7 virtualenv with virtualenv<20.22 (ansible-test --python 2.7)
ADE_LOGS=${ADE_LOGS:-$ADE_WORK/ci-logs}
export ADE_PYBIN ADE_PY27ENV ADE_LOGS
export ANSIBLE_COLLECTIONS_PATH=$ADE_COLL_ROOT:$ADE_WORK/colls
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=False

ade_mount_collection() {
  mkdir -p "$ADE_COLL"
  if ! mountpoint -q "$ADE_COLL"; then
    mount --bind "$ADE_REPO" "$ADE_COLL"
  elif [ "$(stat -c %d:%i "$ADE_COLL/galaxy.yml" 2>/dev/null)" != "$(stat -c %d:%i "$ADE_REPO/galaxy.yml")" ]; then
    # another checkout is mounted there; if a run still uses it (busy), mount ours on top of it
    umount "$ADE_COLL" 2>/dev/null \
      || echo "note: $ADE_COLL is busy (another checkout in use): mounting $ADE_REPO on top" >&2
    mount --bind "$ADE_REPO" "$ADE_COLL"
  fi
}

ade_activate() {
  # shellcheck disable=SC1091
  . "$ADE_VENV/bin/activate"
}

# The controller Python version of an ansible-core line (default: $ADE_CORE): 3.11 up to 2.19, 3.12 from 2.20
# (ansible-core 2.20+ needs 3.12+ on the controller). ansible-test sanity/units run their full set on it.
ade_core_pyver() {
  case "${1:-$ADE_CORE}" in
    2.1[0-9]) echo 3.11 ;;
    *) echo 3.12 ;;
  esac
}

# The interpreter for venvs / the controller: pyenv's build of VERSION (default 3.11) if the image has it, else
# Debian's python3.
ade_controller_python() {
  local root v=${1:-3.11} p
  root=$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")
  for p in "$root/versions/$v".*/bin/"python$v" "/usr/bin/python$v" /usr/bin/python3; do
    [ -x "$p" ] && { echo "$p"; return 0; }
  done
  command -v python3
}

# Real path of an old/new interpreter (2.7, 3.6, 3.12, 3.13), as linked by setup.sh; empty if absent.
ade_python() {
  local v=$1
  if [ -x "$ADE_PYBIN/python$v" ]; then readlink -f "$ADE_PYBIN/python$v"; fi
}

# PATH for ansible-test: the core line's venv first, then the pybin links.
ade_test_path() {
  ade_activate
  export PATH=$ADE_VENV/bin:$ADE_PYBIN:$PATH
}

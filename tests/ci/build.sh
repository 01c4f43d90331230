#!/usr/bin/env bash
# Build the collection tarball and check it: what is in it (no test machinery), that it installs,
# and that ansible-doc reads every module from the installed copy.
#   bash tests/ci/build.sh [2.16|2.19]      -> $ADE_WORK/build/azure_ade-linux-<version>.tar.gz
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
ade_test_path
out=$ADE_WORK/build
rm -rf "$out" && mkdir -p "$out/install"
ci_run rc "galaxy build" ansible-galaxy collection build --force --output-path "$out" "$ADE_REPO"
tarball=$(ls "$out"/azure_ade-linux-*.tar.gz 2>/dev/null | head -1 || true)
if [ -z "$tarball" ]; then
  ci_fail "no tarball in $out"
  ci_summary
  exit 1
fi
echo "tarball: $tarball ($(du -k "$tarball" | cut -f1) KiB)"
check_contents() {
  local bad
  bad=$(tar -tzf "$tarball" | grep -E '^(simulator|benchmarks|tests/(hosts|output)|\.ci)/|__pycache__|\.pyc$' || true)
  [ -z "$bad" ] || { echo "test machinery in the tarball:"; echo "$bad" | head; return 1; }
  tar -tzf "$tarball" | grep -qx 'plugins/modules/preflight.py' || { echo "plugins/modules/preflight.py missing"; return 1; }
}
ci_run rc "tarball contents" check_contents
ci_run rc "galaxy install" ansible-galaxy collection install --force -p "$out/install" "$tarball"
check_docs() {
  local m rc=0
  for m in "$ADE_REPO"/plugins/modules/*.py; do
    m=$(basename "$m" .py)
    ANSIBLE_COLLECTIONS_PATH=$out/install ansible-doc "azure_ade.linux.$m" >/dev/null || { echo "ansible-doc azure_ade.linux.$m failed"; rc=1; }
  done
  return $rc
}
ci_run rc "ansible-doc from the tarball" check_docs
ci_summary

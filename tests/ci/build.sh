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
BUILD_DIR=$ADE_WORK/build
rm -rf "$BUILD_DIR" && mkdir -p "$BUILD_DIR/install" "$BUILD_DIR/src"
# Build from the files git knows (tracked + untracked, minus .gitignore'd caches such as .pytest_cache/, tests/output/)
(cd "$ADE_REPO" && git ls-files -z --cached --others --exclude-standard | xargs -0 -I{} sh -c '[ -e "{}" ] && printf "%s\0" "{}"' \
  | tar --null -T - -cf -) | tar -xf - -C "$BUILD_DIR/src"
ci_run rc "galaxy build" ansible-galaxy collection build --force --output-path "$BUILD_DIR" "$BUILD_DIR/src"
tarball=$(find "$BUILD_DIR" -maxdepth 1 -name 'azure_ade-linux-*.tar.gz' | head -n 1)
if [ -z "$tarball" ]; then
  ci_fail "no tarball in $BUILD_DIR"
  ci_summary
  exit 1
fi
echo "tarball: $tarball ($(du -k "$tarball" | cut -f1) KiB)"
check_contents() {
  local list bad
  list=$(tar -tzf "$tarball")
  bad=$(grep -E '^(simulator|benchmarks|tests/(hosts|output)|\.ci)/|__pycache__|\.pyc$|\.pytest_cache' <<<"$list" || true)
  [ -z "$bad" ] || { echo "test machinery in the tarball:"; echo "$bad" | head; return 1; }
  grep -qx 'plugins/modules/preflight.py' <<<"$list" || { echo "plugins/modules/preflight.py missing"; return 1; }
  echo "$(wc -l <<<"$list") entries, none of simulator/ benchmarks/ tests/hosts/ .ci/"
}
ci_run rc "tarball contents" check_contents
ci_run rc "galaxy install" ansible-galaxy collection install --force -p "$BUILD_DIR/install" "$tarball"
check_docs() {  # from a neutral cwd: inside a checkout ansible prefers that checkout
  local m rc=0 doc
  cd "$BUILD_DIR"
  for m in "$ADE_REPO"/plugins/modules/*.py; do
    m=$(basename "$m" .py)
    doc=$(ANSIBLE_COLLECTIONS_PATH=$BUILD_DIR/install ansible-doc --json "azure_ade.linux.$m" 2>&1) || true
    if grep -q '"filename": "'"$BUILD_DIR"'/install/ansible_collections/azure_ade/linux/plugins/modules/'"$m"'.py"' <<<"$doc"; then
      echo "ansible-doc azure_ade.linux.$m: ok (from the installed tarball)"
    else
      echo "ansible-doc azure_ade.linux.$m failed: $(head -c 600 <<<"$doc")"
      rc=1
    fi
  done
  return $rc
}
ci_run rc "ansible-doc from the tarball" check_docs
ci_summary

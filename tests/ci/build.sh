#!/usr/bin/env bash
# Build the collection tarball and check it: what is in it (no test machinery), that it installs,
# and that ansible-doc reads every module from the installed copy.
#   bash tests/ci/build.sh [2.16|2.21]      -> $ADE_WORK/build/azure_ade-linux-<version>.tar.gz
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-2.16}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
ade_test_path
BUILD_DIR=${ADE_BUILD_DIR:-$ADE_WORK/build}   # ADE_BUILD_DIR keeps parallel checkouts apart
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
check_contents() {  # the product only: no test machinery, fakes or AWX project wrappers (galaxy.yml build_ignore)
  local list bad
  list=$(tar -tzf "$tarball")
  bad=$(grep -E '^(simulator|benchmarks|tests|\.ci)/|^roles/[^/]+/molecule/|^extensions/awx/.*\.yml$|(^|/)systemctl$|__pycache__|\.pyc$|\.pytest_cache|^\.(ansible-lint|yamllint)$' <<<"$list" || true)
  [ -z "$bad" ] || { echo "not product, yet in the tarball:"; echo "$bad" | head; return 1; }
  for f in plugins/modules/preflight.py roles/prerequisites/tasks/main.yml playbooks/encrypt.yml meta/runtime.yml extensions/awx/README.md; do
    grep -qx "$f" <<<"$list" || { echo "$f missing"; return 1; }
  done
  echo "$(wc -l <<<"$list") entries; none of tests/ simulator/ benchmarks/ .ci/ roles/*/molecule/ extensions/awx/*.yml"
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
# Galaxy's own import check (galaxy-importer from PyPI, in its own venv so its ansible-lint pin cannot move the
# core lines' venvs): docs via ansible-doc, changelog, contents, then its ansible-lint pass (profile production).
# Any ERROR or lint finding in its log fails the step.
IMPORTER_VERSION=0.4.44
IMPORTER_VENV=$ADE_WORK/venv-importer
install_importer() {
  [ "$("$IMPORTER_VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("galaxy-importer"))' 2>/dev/null)" = "$IMPORTER_VERSION" ] \
    && return 0
  "$(ade_controller_python 3.11)" -m venv "$IMPORTER_VENV"
  "$IMPORTER_VENV/bin/pip" install -q "galaxy-importer==$IMPORTER_VERSION"
}
run_importer() {
  local log=$BUILD_DIR/galaxy-importer.log findings
  install_importer >"$BUILD_DIR/importer-install.log" 2>&1 || { tail -5 "$BUILD_DIR/importer-install.log"; return 1; }
  # from a neutral cwd, with only the importer's venv on PATH (its ansible-lint, ansible-doc)
  (cd "$BUILD_DIR" && env -u ANSIBLE_COLLECTIONS_PATH PATH="$IMPORTER_VENV/bin:/usr/bin:/bin" \
     GALAXY_IMPORTER_RUN_ANSIBLE_LINT=true GALAXY_IMPORTER_CHECK_CHANGELOG=true GALAXY_IMPORTER_RUN_ANSIBLE_DOC=true \
     GALAXY_IMPORTER_TMP_ROOT_DIR="$BUILD_DIR" \
     "$IMPORTER_VENV/bin/python" -m galaxy_importer.main "$tarball") >"$log" 2>&1 || { cat "$log"; return 1; }
  cat "$log"
  grep -q '^Linting collection via ansible-lint' "$log" || { echo "the importer's ansible-lint pass did not run"; return 1; }
  grep -q 'ansible-lint not found' "$log" && { echo "the importer found no ansible-lint"; return 1; }
  findings=$(grep -E '^(WARNING|ERROR)' "$log" || true)
  [ -z "$findings" ] || { echo "galaxy-importer reported $(wc -l <<<"$findings") finding(s)"; return 1; }
  grep -q 'Importer processing completed successfully' "$log" || return 1
  echo "galaxy-importer $IMPORTER_VERSION: import clean, ansible-lint pass clean"
}
ci_run rc "galaxy-importer" run_importer
ci_summary

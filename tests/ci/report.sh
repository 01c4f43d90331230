#!/usr/bin/env bash
# The operator's HTML report in a real headless browser: Debian's chromium + chromium-driver (installed here if
# missing), Selenium from PyPI in its own venv. Renders fixture fleets (encrypt, status with its ADE inventory,
# migrate/rebuild with each VM's steps) with the
# azure_ade.linux.fleet_report module through ansible-playbook, then tests/report/browser_check.py opens each page:
# loads without console errors, no external request, every VM in the summary and in detail, links both ways.
#   bash tests/ci/report.sh [2.21|2.16]
#   REPORT_PAGES="page.html hosts.json ..." bash tests/ci/report.sh   # also check these pages (e.g. the demo's)
# Screenshots: $ADE_LOGS/report-*.png.
set -euo pipefail
ADE_CORE=${1:-${ADE_CORE:-new}}
export ADE_CORE
# shellcheck source=tests/ci/env.sh
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
# shellcheck source=tests/ci/lib.sh
. "$ADE_REPO/tests/ci/lib.sh"
BROWSER_VENV=$ADE_WORK/venv-browser
OUT=${ADE_REPORT_OUT:-$ADE_LOGS/report-test}
mkdir -p "$ADE_LOGS"
install_browser() {
  local missing=() p
  for p in chromium chromium-driver; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! "$BROWSER_VENV/bin/python" -c 'import selenium' 2>/dev/null; then
    "$(ade_controller_python 3.11)" -m venv "$BROWSER_VENV"
    "$BROWSER_VENV/bin/pip" install -q "selenium>=4.20,<5"
  fi
  echo "$(chromium --version 2>/dev/null), $(chromedriver --version | cut -d' ' -f1-2), selenium $("$BROWSER_VENV/bin/python" -c 'import selenium; print(selenium.__version__)')"
}
ci_run auto "install chromium + selenium" install_browser
ade_mount_collection
ade_activate
rm -rf "$OUT" && mkdir -p "$OUT"
pages=()
for kind in encrypt status migrate rebuild; do
  python3 "$ADE_REPO/tests/report/fixture.py" "$OUT/$kind.json" "$kind"
  ci_run auto "fleet_report module renders the $kind fixture" \
    ansible-playbook "$ADE_REPO/tests/report/render.yml" -e "fleet_file=$OUT/$kind.json" -e "dest=$OUT/$kind.html" -e "kind=$kind"
  python3 -c 'import json,sys; print(json.dumps([r["host"] for r in json.load(open(sys.argv[1]))]))' "$OUT/$kind.json" >"$OUT/$kind.hosts.json"
  pages+=("$OUT/$kind.html" "@$OUT/$kind.hosts.json" --screenshot "$ADE_LOGS/report-$kind.png")
done
# shellcheck disable=SC2206
extra=(${REPORT_PAGES:-})
while [ ${#extra[@]} -ge 2 ]; do
  pages+=("${extra[0]}" "@${extra[1]}" --screenshot "$ADE_LOGS/report-real-$(basename "${extra[0]}" .html).png")
  extra=("${extra[@]:2}")
done
ci_run auto "headless chromium" timeout 480 "$BROWSER_VENV/bin/python" "$ADE_REPO/tests/report/browser_check.py" "${pages[@]}"
ci_summary

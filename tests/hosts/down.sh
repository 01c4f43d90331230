#!/usr/bin/env bash
# Stop the azure_ade test hosts: kill each namespace's PID 1 (the whole PID namespace goes
# with it), stop its fake IMDS, detach its loop devices, delete its netns.
#   tests/hosts/down.sh [NAME...]     all hosts by default; disk images stay (cached)
#   tests/hosts/down.sh --reset NAME  also rebuild that host's disk images from the base
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
if [ "${1:-}" = "--reset" ]; then
  shift
  exec /usr/bin/python3 "$HERE/lib/hostlib.py" reset "$@"
fi
exec /usr/bin/python3 "$HERE/lib/hostlib.py" down "$@"

#!/usr/bin/env bash
# One line per azure_ade test host: name, address, up/down, PID 1 of its namespace, IMDS pid.
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
exec /usr/bin/python3 "$HERE/lib/hostlib.py" status "$@"

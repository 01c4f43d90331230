#!/bin/sh
# shellcheck disable=SC2086  # the PID lists split into words on purpose
# Rebuild copy (issue 17 + issue 14): stop a copy of this VM's data that a killed run left running, so this run's
# copy never writes beside it. Usage: rebuild_stop_copy.sh DIR SUFFIX
# A process is that copy when its command line holds DIR immediately followed by SUFFIX (the run key
# <keydir>-<vm>/id_ed25519 in the rsync/ssh of a guest-to-guest pass; <staging>-<vm>/ in the control node's rsync).
# DIR and SUFFIX come apart so this script's own command line never matches; its ancestors are skipped as well.
# SIGTERM (and SIGCONT, for a stopped process), SIGKILL after 10 s. Prints "stopped PID..." or nothing; rc 1 when
# a process survives SIGKILL.
set -u
pat="$1$2"
re=$(printf '%s' "$pat" | sed 's/[][\\.*^$+?(){}|/]/\\&/g')
anc=" "
p=$$
while [ -n "$p" ] && [ "$p" -gt 1 ] 2>/dev/null; do
  anc="$anc$p "
  p=$(sed -n 's/^PPid:[[:space:]]*//p' "/proc/$p/status" 2>/dev/null)
done
scan() {
  found=""
  for q in $(pgrep -f -- "$re"); do
    case "$anc" in *" $q "*) ;; *) found="$found $q" ;; esac
  done
}
scan
[ -n "$found" ] || exit 0
pids=$found
kill -TERM $pids 2>/dev/null; kill -CONT $pids 2>/dev/null
n=0
while [ "$n" -lt 20 ]; do
  scan
  [ -z "$found" ] && break
  sleep 0.5
  n=$((n + 1))
done
if [ -n "$found" ]; then
  kill -KILL $found 2>/dev/null
  sleep 1
  scan
fi
if [ -n "$found" ]; then
  echo "a copy of an earlier run survives SIGKILL:$found" >&2
  exit 1
fi
echo "stopped$pids"

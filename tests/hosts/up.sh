#!/usr/bin/env bash
# Build (cached) and start the azure_ade test hosts; idempotent, run as root.
#   tests/hosts/up.sh [NAME...]        all hosts by default; hosts already up are left alone
#   ADE_HOSTS_BUILD_ONLY=1 tests/hosts/up.sh   only debootstrap + build the disk images
# Writes $ADE_WORK/hosts/inventory-py27.yml (ansible-core 2.16) and inventory-py3.yml (2.19).
# See tests/hosts/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
HOSTS=$ADE_WORK/hosts
BASE=$ADE_WORK/rootfs/bullseye
INCLUDE=python2.7,python3,openssh-server,util-linux,procps,iproute2,kmod
T0=$(date +%s.%N)

[ "$(id -u)" = 0 ] || { echo "up.sh: must run as root (netns, mounts, loop devices)" >&2; exit 1; }

# 1. packages of the test machine
need=()
for p in debootstrap openssh-client openssh-server iproute2 gcc libc6-dev xfsprogs e2fsprogs util-linux xz-utils tar bc; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "[hosts] apt-get install ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y --no-install-recommends "${need[@]}" >/dev/null 2>&1 || {
    apt-get update >/dev/null && apt-get install -y --no-install-recommends "${need[@]}" >/dev/null; }
fi

# 2. the base rootfs (cached): Debian 11 minbase, the same for every host
STAMP="bullseye minbase include=$INCLUDE"
if [ ! -f "$BASE.stamp" ] || [ "$(cat "$BASE.stamp")" != "$STAMP" ]; then
  MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  MIRROR=${MIRROR:-http://deb.debian.org/debian}
  echo "[hosts] debootstrap bullseye from $MIRROR (about 45 s)" >&2
  rm -rf "$BASE.tmp"
  mkdir -p "$(dirname "$BASE")"
  debootstrap --variant=minbase --include="$INCLUDE" bullseye "$BASE.tmp" "$MIRROR" >"$ADE_WORK/rootfs/debootstrap.log" 2>&1 || {
    tail -20 "$ADE_WORK/rootfs/debootstrap.log" >&2; exit 1; }
  rm -rf "$BASE"
  mv "$BASE.tmp" "$BASE"
  echo "$STAMP" > "$BASE.stamp"
  printf '[hosts] base rootfs ready after %.1f s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" >&2
fi

# 3. keys: ours, and ansible-test's (so `ansible-test integration --target ssh:root@IP` works)
mkdir -p "$HOSTS"
[ -f "$HOSTS/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C ade-test-hosts -f "$HOSTS/id_ed25519"
if [ ! -f ~/.ansible/test/id_rsa ]; then
  mkdir -p ~/.ansible/test
  ssh-keygen -q -t rsa -m PEM -N '' -C ansible-test -f ~/.ansible/test/id_rsa
fi

# 4. images (cached), netns, namespaces, fake IMDS; inventories
if [ "${ADE_HOSTS_BUILD_ONLY:-0}" = 1 ]; then   # prebuild images only (CI cache warm-up, cold timing)
  /usr/bin/python3 "$HERE/lib/hostlib.py" build "$@"
else
  /usr/bin/python3 "$HERE/lib/hostlib.py" up "$@"
fi
printf '[hosts] up.sh done in %.1f s\n' "$(echo "$(date +%s.%N) - $T0" | bc)" >&2

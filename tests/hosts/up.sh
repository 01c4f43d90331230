#!/usr/bin/env bash
# Build (cached) and start the azure_ade test hosts; idempotent, run as root.
#   tests/hosts/up.sh [NAME...]        all hosts by default; hosts already up are left alone
#   ADE_HOSTS_BUILD_ONLY=1 tests/hosts/up.sh   only debootstrap + build the disk images
# Writes $ADE_WORK/hosts/inventory-py27.yml (ansible-core 2.16) and inventory-py3.yml (the newer line, Python 3 guests).
# See tests/hosts/README.md.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
HOSTS=$ADE_WORK/hosts
BASE=$ADE_WORK/rootfs/bullseye
# python3-apt: ansible.builtin.apt imports apt; under /usr/bin/python2.7 (core 2.16) it re-spawns under python3 for it
INCLUDE=python2.7,python3,python3-apt,openssh-server,util-linux,procps,iproute2,kmod,rsync,acl,attr
# the rpm-family hosts' own root (rootfs/bullseye-rpm = the base + Debian's rpm, dnf, zypper; see README)
RPM_BASE=$ADE_WORK/rootfs/bullseye-rpm
RPM_PKGS="rpm dnf python3-dnf createrepo-c zypper"
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

# 2b. the rpm-family hosts' root (cached): the base + the real package managers from Debian 11, rpm's database at
# /var/lib/rpm (Debian's rpm keeps it under ~/.rpmdb)
RPM_STAMP="$STAMP + $RPM_PKGS"
if [ ! -f "$RPM_BASE.stamp" ] || [ "$(cat "$RPM_BASE.stamp")" != "$RPM_STAMP" ]; then
  T1=$(date +%s.%N)
  rm -rf "$RPM_BASE.tmp"
  cp -a --reflink=auto "$BASE" "$RPM_BASE.tmp"
  cp /etc/resolv.conf "$RPM_BASE.tmp/etc/resolv.conf"
  # shellcheck disable=SC2016  # $1/$2 expand in the inner sh, not here
  unshare --mount --propagation private sh -c '
    mount -t proc proc "$1/proc" && chroot "$1" sh -c "
      export DEBIAN_FRONTEND=noninteractive LC_ALL=C
      apt-get update -q && apt-get install -y -q --no-install-recommends $2 && apt-get clean"' \
    sh "$RPM_BASE.tmp" "$RPM_PKGS" >"$ADE_WORK/rootfs/rpm-base.log" 2>&1 || {
    tail -20 "$ADE_WORK/rootfs/rpm-base.log" >&2; exit 1; }
  cp "$BASE/etc/resolv.conf" "$RPM_BASE.tmp/etc/resolv.conf" 2>/dev/null || rm -f "$RPM_BASE.tmp/etc/resolv.conf"
  rm -rf "$RPM_BASE.tmp"/var/lib/apt/lists/*
  mkdir -p "$RPM_BASE.tmp/etc/rpm"
  printf '%%_dbpath /var/lib/rpm\n' > "$RPM_BASE.tmp/etc/rpm/macros"
  rm -rf "$RPM_BASE"
  mv "$RPM_BASE.tmp" "$RPM_BASE"
  echo "$RPM_STAMP" > "$RPM_BASE.stamp"
  printf '[hosts] rpm-family root ready after %.1f s\n' "$(echo "$(date +%s.%N) - $T1" | bc)" >&2
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

#!/bin/sh
# dnf-style front for apt-get, for ansible-builder's scripts in a Debian base image (tests/ci/ee.sh puts it at
# /usr/local/bin/ade-pkgmgr): "install -y [opts] PKG..." and "clean all".
set -e
cmd=$1
shift
case "$cmd" in
  install)
    pkgs=""
    for a in "$@"; do case "$a" in -*) ;; *) pkgs="$pkgs $a" ;; esac; done
    [ -z "$pkgs" ] && exit 0
    apt-get update -qq
    # shellcheck disable=SC2086  # a list of package names
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $pkgs
    ;;
  clean) apt-get clean; rm -rf /var/lib/apt/lists/* ;;
  *) echo "ade-pkgmgr: unsupported: $cmd $*" >&2; exit 1 ;;
esac

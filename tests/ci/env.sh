# shellcheck shell=bash
# Source me: sets up the paths every script of this repo agrees on.
#   ADE_WORK     scratch state (venvs, rootfs, hosts, simulator), default /tmp/azure_ade
#   ADE_REPO     this checkout
#   ADE_COLL     the checkout seen at .../ansible_collections/azure_ade/linux (a bind mount:
#                ansible-test refuses symlinks)
#   ANSIBLE_COLLECTIONS_PATH  our collection + the few third-party ones tests need
ADE_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
ADE_COLL_ROOT=$ADE_WORK/ac
ADE_COLL=$ADE_COLL_ROOT/ansible_collections/azure_ade/linux
ADE_CORE=${ADE_CORE:-2.16}          # ansible-core line: 2.16 or 2.19
ADE_VENV=$ADE_WORK/venv-$ADE_CORE
export ADE_REPO ADE_WORK ADE_COLL_ROOT ADE_COLL ADE_CORE ADE_VENV
export ANSIBLE_COLLECTIONS_PATH=$ADE_COLL_ROOT:$ADE_WORK/colls
export ANSIBLE_HOST_KEY_CHECKING=False
export ANSIBLE_NOCOLOR=1
export ANSIBLE_RETRY_FILES_ENABLED=False

ade_mount_collection() {
  mkdir -p "$ADE_COLL"
  if ! mountpoint -q "$ADE_COLL"; then
    mount --bind "$ADE_REPO" "$ADE_COLL"
  elif [ "$(stat -c %i "$ADE_COLL/galaxy.yml")" != "$(stat -c %i "$ADE_REPO/galaxy.yml")" ]; then
    umount "$ADE_COLL" && mount --bind "$ADE_REPO" "$ADE_COLL"
  fi
}

ade_activate() {
  # shellcheck disable=SC1091
  . "$ADE_VENV/bin/activate"
}

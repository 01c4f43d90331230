#!/usr/bin/env bash
# Show what a test host looks like from inside, over SSH (what the modules and an admin see).
#   tests/hosts/show.sh NAME [NAME...]
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
export ADE_WORK=${ADE_WORK:-/tmp/azure_ade}
for name in "$@"; do
  ip=$(/usr/bin/python3 -c "import sys; sys.path.insert(0, '$HERE/lib'); import variants as V; print('10.203.%d.2' % V.by_name()['$name']['n'])") || exit 1
  echo "=================== $name ($ip)"
  ssh -i "$ADE_WORK/hosts/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
      -o BatchMode=yes "root@$ip" 'export LC_ALL=C
    run() { echo "--- \$ $*"; "$@" 2>&1; rc=$?; [ $rc = 0 ] || echo "(rc=$rc)"; }
    for f in /etc/os-release /etc/lsb-release /etc/redhat-release /etc/centos-release /etc/SuSE-release /etc/debian_version /etc/system-release; do
      [ -e $f ] && { echo "--- $f"; cat $f; }; done
    run uname -a
    run python2.7 -c "import platform,os; print(os.uname()); print(platform.linux_distribution())"
    run head -1 /proc/meminfo
    run cat /sys/fs/selinux/enforce; [ -e /etc/selinux/config ] && run grep "^SELINUX" /etc/selinux/config
    command -v getenforce >/dev/null && run getenforce
    run waagent --version
    run grep -E "^(AutoUpdate|ResourceDisk.MountPoint|ResourceDisk.Format)" /etc/waagent.conf
    run ls /etc/init/walinuxagent.conf /lib/systemd/system/walinuxagent.service /usr/lib/systemd/system/waagent.service
    run ls /var/lib/waagent
    run lsblk -P -b -o NAME,KNAME,PKNAME,TYPE,FSTYPE,MOUNTPOINT,SIZE,UUID,LABEL,PTTYPE
    run lsblk
    run findmnt -l -o TARGET,SOURCE,FSTYPE -t ext4,xfs,overlay
    run ps -eo pid,ppid,user,comm,args
    run modprobe -n -v vfat
    run python3 -c "
import socket
s = socket.create_connection((\"169.254.169.254\", 80), 2)
s.sendall(b\"GET /metadata/instance/compute?api-version=2021-02-01 HTTP/1.0\r\nMetadata: true\r\n\r\n\")
d = b\"\"
while True:
    c = s.recv(65536)
    if not c: break
    d += c
import json; j = json.loads(d.split(b\"\r\n\r\n\", 1)[1]); print(d.split(b\"\r\n\")[0].decode(), j[\"subscriptionId\"], j[\"resourceGroupName\"], j[\"name\"], j[\"location\"], j[\"vmSize\"], j[\"osType\"], repr(j[\"securityProfile\"][\"securityType\"]))
"
    run python3 -c "import socket; socket.create_connection((open(\"/var/lib/waagent/WireServerEndpoint\").read().strip(), 80), 2); print(\"wireserver reachable\")"
  '
done

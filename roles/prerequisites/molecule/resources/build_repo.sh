#!/bin/sh
# Build a local, file-based apt repository of dummy packages for the molecule scenarios
# (the test hosts have no internet): linux-azure (ships /boot/vmlinuz-<KVER>) and walinuxagent
# OLD/NEW (ship /usr/sbin/waagent printing the version the way the real agent does).
# Usage: build_repo.sh OUTDIR [KVER] [AGENT_OLD] [AGENT_NEW]
set -eu
OUT=$1
KVER=${2:-4.15.0-1113-azure}
AOLD=${3:-2.2.32}
ANEW=${4:-2.2.53}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
rm -rf "$OUT"; mkdir -p "$OUT"

mkpkg() {  # name version description staging-dir (files already staged there)
  d=$4
  mkdir -p "$d/DEBIAN"
  cat > "$d/DEBIAN/control" <<CTL
Package: $1
Version: $2
Architecture: all
Maintainer: azure_ade.linux tests <tests@example.invalid>
Section: misc
Priority: optional
Description: $3
 Test stand-in built by roles/prerequisites/molecule/resources/build_repo.sh.
CTL
  dpkg-deb --root-owner-group --build "$d" "$OUT/${1}_${2}_all.deb" >/dev/null
}

# linux-azure: the Azure-tuned kernel (R2). A dummy kernel image and module dir, like linux-image-*-azure.
d=$WORK/linux-azure-$KVER
mkdir -p "$d/boot" "$d/lib/modules/$KVER"
printf 'dummy kernel image %s\n' "$KVER" > "$d/boot/vmlinuz-$KVER"
printf 'kernel/fs/fat/vfat.ko\n' > "$d/lib/modules/$KVER/modules.builtin"
# like linux-image-*: the maintainer scripts run depmod and update-grub (/etc/kernel/postinst.d/zz-update-grub),
# so the next boot's GRUB menu has the new kernel first (the test hosts' boot loader model reads grub.cfg)
mkdir -p "$d/DEBIAN"
cat > "$d/DEBIAN/postinst" <<SH
#!/bin/sh
set -e
depmod -a $KVER 2>/dev/null || true
if [ -x /usr/sbin/update-grub ]; then update-grub; fi
SH
cat > "$d/DEBIAN/postrm" <<SH
#!/bin/sh
set -e
if [ "\$1" = remove ] || [ "\$1" = purge ]; then
  if [ -x /usr/sbin/update-grub ]; then update-grub; fi
fi
SH
chmod 0755 "$d/DEBIAN/postinst" "$d/DEBIAN/postrm"
mkpkg linux-azure "$(echo "$KVER" | sed 's/-azure$//; s/-/./').1" "Complete Linux kernel for Azure (test dummy, $KVER)" "$d"

# walinuxagent OLD and NEW
for v in "$AOLD" "$ANEW"; do
  d=$WORK/walinuxagent-$v
  mkdir -p "$d/usr/sbin" "$d/etc"
  cat > "$d/usr/sbin/waagent" <<SH
#!/bin/sh
if [ "\${1:-}" = "--version" ] || [ "\${1:-}" = "-version" ]; then
  echo "WALinuxAgent-$v running on ubuntu 18.04"
  echo "Python: 3.6.9"
  echo "Goal state agent: $v"
  exit 0
fi
echo "waagent test stand-in $v: \$*" >&2
exit 0
SH
  chmod 0755 "$d/usr/sbin/waagent"
  mkpkg walinuxagent "$v-0ubuntu1~18.04.1" "Windows Azure Linux Agent (test dummy $v)" "$d"
done

cd "$OUT"
dpkg-scanpackages --multiversion . /dev/null 2>/dev/null > Packages
gzip -9nk Packages
{
  echo "Origin: azure_ade.linux tests"
  echo "Label: ade-test"
  echo "Date: $(LC_ALL=C date -u '+%a, %d %b %Y %H:%M:%S UTC')"
  echo "SHA256:"
  for f in Packages Packages.gz; do
    printf ' %s %s %s\n' "$(sha256sum "$f" | cut -d' ' -f1)" "$(stat -c %s "$f")" "$f"
  done
} > Release
ls "$OUT"

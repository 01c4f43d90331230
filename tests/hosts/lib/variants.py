"""The test hosts: one spec per guest the azure_ade modules must recognise.

Host names and subnets are FIXED (other tests write exact verdicts against them).
Each spec says what the guest shows: release files, kernel, memory, disks and mounts,
SELinux, the Azure Linux agent, IMDS answers, processes, extra files.
hostlib.py turns a spec into disk images, a netns and a PID/mount namespace.
"""
import uuid

GiB = 1 << 30
MiB = 1 << 20
SECTOR = 512

SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"
RESOURCE_GROUP = "rg-ade-test"
LOCATION = "eastus"
_NS = uuid.UUID("5a3c1e8e-8d0b-4b6e-9b1e-a2de7e57a11e")


def uid(*parts):
    return str(uuid.uuid5(_NS, "/".join(parts)))


def lvm_uuid(*parts):
    h = uuid.uuid5(_NS, "/".join(parts)).hex + uuid.uuid5(_NS, "x/" + "/".join(parts)).hex
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    chars = "".join(alphabet[int(h[i:i + 2], 16) % len(alphabet)] for i in range(0, 64, 2))
    return chars[:32]


def lvm_pv_uuid(*parts):
    s = lvm_uuid("pv", *parts)
    return "-".join([s[0:6], s[6:10], s[10:14], s[14:18], s[18:22], s[22:26], s[26:32]])


# ---------------------------------------------------------------- device table builders
# A device dict holds lsblk's columns (lower-case keys) plus:
#   parents: [names]   dm_name: mapper name   fs: {...} when the test host builds a real
#   filesystem image for it (fstype, mountpoint, content: root|empty|resource)

def disk(name, minor, size, pttype, hctl, host, major=8):
    ptuuid = uid(host, name, "pt")
    if pttype == "dos":
        ptuuid = ptuuid.replace("-", "")[:8]
    return {"name": name, "kname": name, "majmin": "%d:%d" % (major, minor), "type": "disk",
            "size": size, "pttype": pttype, "ptuuid": ptuuid, "hctl": hctl, "fstype": "",
            "uuid": "", "label": "", "parents": [], "wwn": "", "serial": "",
            "partnum": None}


def part(d, num, size, fstype="", mount=None, label="", content="empty", parttype=None,
         partlabel="", mount_opts="", static_mp="", fs_uuid=None, host=""):
    name = "%s%d" % (d["name"], num)
    major, minor = d["majmin"].split(":")
    if d["pttype"] == "dos":
        partuuid = "%s-%02x" % (d["ptuuid"], num)
        parttype = parttype or ("0x8e" if fstype == "LVM2_member" else "0x83")
    else:
        partuuid = uid(host, name, "partuuid")
        parttype = parttype or "0fc63daf-8483-4772-8e79-3d69d8477de4"
    u = fs_uuid
    if u is None:
        if fstype in ("ext4", "xfs", "swap"):
            u = uid(host, name, "fs")
        elif fstype == "vfat":
            u = uid(host, name, "fs")[:9].upper().replace("-", "")
            u = u[:4] + "-" + u[4:8]
        elif fstype == "LVM2_member":
            u = lvm_pv_uuid(host, name)
        else:
            u = ""
    p = {"name": name, "kname": name, "majmin": "%s:%d" % (major, int(minor) + num), "type": "part",
         "size": size, "fstype": fstype, "uuid": u, "label": label, "parents": [d["name"]],
         "partuuid": partuuid, "parttype": parttype, "partlabel": partlabel, "partnum": num,
         "static_mp": static_mp}
    if mount and fstype in ("ext4", "xfs"):
        p["fs"] = {"fstype": fstype, "mountpoint": mount, "content": content, "opts": mount_opts}
    return p


def lv(vg, lvname, dm_minor, parent, size, fstype, mount=None, host="", content="empty", static_mp=""):
    name = "%s-%s" % (vg, lvname)
    fs_u = uid(host, name, "fs") if fstype in ("ext4", "xfs", "swap") else ""
    d = {"name": name, "kname": "dm-%d" % dm_minor, "majmin": "253:%d" % dm_minor, "type": "lvm",
         "size": size, "fstype": fstype, "uuid": fs_u, "label": "", "parents": [parent],
         "dm_name": name, "vg": vg, "lv": lvname,
         "dm_uuid": "LVM-" + lvm_uuid(host, vg) + lvm_uuid(host, vg, lvname), "static_mp": static_mp}
    if mount and fstype in ("ext4", "xfs"):
        d["fs"] = {"fstype": fstype, "mountpoint": mount, "content": content, "opts": ""}
    return d


def rom():
    return {"name": "sr0", "kname": "sr0", "majmin": "11:0", "type": "rom", "size": 643072,
            "fstype": "", "uuid": "", "label": "", "parents": [], "hctl": "5:0:0:0", "pttype": "",
            "ptuuid": ""}


# ---------------------------------------------------------------- release files
OS_RELEASE = {
    "ubuntu1404": (
        'NAME="Ubuntu"\nVERSION="14.04.5 LTS, Trusty Tahr"\nID=ubuntu\nID_LIKE=debian\n'
        'PRETTY_NAME="Ubuntu 14.04.5 LTS"\nVERSION_ID="14.04"\nHOME_URL="http://www.ubuntu.com/"\n'
        'SUPPORT_URL="http://help.ubuntu.com/"\nBUG_REPORT_URL="http://bugs.launchpad.net/ubuntu/"\n'),
    "ubuntu1804": (
        'NAME="Ubuntu"\nVERSION="18.04.6 LTS (Bionic Beaver)"\nID=ubuntu\nID_LIKE=debian\n'
        'PRETTY_NAME="Ubuntu 18.04.6 LTS"\nVERSION_ID="18.04"\nHOME_URL="https://www.ubuntu.com/"\n'
        'SUPPORT_URL="https://help.ubuntu.com/"\nBUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
        'PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\n'
        'VERSION_CODENAME=bionic\nUBUNTU_CODENAME=bionic\n'),
    "rhel7": (
        'NAME="Red Hat Enterprise Linux Server"\nVERSION="7.9 (Maipo)"\nID="rhel"\nID_LIKE="fedora"\n'
        'VARIANT="Server"\nVARIANT_ID="server"\nVERSION_ID="7.9"\n'
        'PRETTY_NAME="Red Hat Enterprise Linux Server 7.9 (Maipo)"\nANSI_COLOR="0;31"\n'
        'CPE_NAME="cpe:/o:redhat:enterprise_linux:7.9:GA:server"\nHOME_URL="https://www.redhat.com/"\n'
        'BUG_REPORT_URL="https://bugzilla.redhat.com/"\n\n'
        'REDHAT_BUGZILLA_PRODUCT="Red Hat Enterprise Linux 7"\nREDHAT_BUGZILLA_PRODUCT_VERSION=7.9\n'
        'REDHAT_SUPPORT_PRODUCT="Red Hat Enterprise Linux"\nREDHAT_SUPPORT_PRODUCT_VERSION="7.9"\n'),
    "centos7": (
        'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n'
        'PRETTY_NAME="CentOS Linux 7 (Core)"\nANSI_COLOR="0;31"\nCPE_NAME="cpe:/o:centos:centos:7"\n'
        'HOME_URL="https://www.centos.org/"\nBUG_REPORT_URL="https://bugs.centos.org/"\n\n'
        'CENTOS_MANTISBT_PROJECT="CentOS-7"\nCENTOS_MANTISBT_PROJECT_VERSION="7"\n'
        'REDHAT_SUPPORT_PRODUCT="centos"\nREDHAT_SUPPORT_PRODUCT_VERSION="7"\n\n'),
    "sles12": (
        'NAME="SLES"\nVERSION="12-SP5"\nVERSION_ID="12.5"\nPRETTY_NAME="SUSE Linux Enterprise Server 12 SP5"\n'
        'ID="sles"\nANSI_COLOR="0;32"\nCPE_NAME="cpe:/o:suse:sles:12:sp5"\n'),
}


def release_ops(family):
    """Layer ops that turn Debian 11's release files into the guest's."""
    ops = [("rm", "/etc/debian_version"), ("rm", "/usr/lib/os-release"), ("rm", "/etc/os-release"),
           ("rm", "/etc/issue"), ("rm", "/etc/issue.net")]
    if family == "ubuntu1404":
        ops += [("file", "/etc/os-release", OS_RELEASE[family], 0o644),
                ("file", "/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=14.04\nDISTRIB_CODENAME=trusty\n"
                 'DISTRIB_DESCRIPTION="Ubuntu 14.04.5 LTS"\n', 0o644),
                ("file", "/etc/debian_version", "jessie/sid\n", 0o644),
                ("file", "/etc/issue", "Ubuntu 14.04.5 LTS \\n \\l\n\n", 0o644),
                ("file", "/etc/issue.net", "Ubuntu 14.04.5 LTS\n", 0o644)]
    elif family == "ubuntu1804":
        ops += [("file", "/usr/lib/os-release", OS_RELEASE[family], 0o644),
                ("symlink", "/etc/os-release", "../usr/lib/os-release"),
                ("file", "/etc/lsb-release", "DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=18.04\nDISTRIB_CODENAME=bionic\n"
                 'DISTRIB_DESCRIPTION="Ubuntu 18.04.6 LTS"\n', 0o644),
                ("file", "/etc/debian_version", "buster/sid\n", 0o644),
                ("file", "/etc/issue", "Ubuntu 18.04.6 LTS \\n \\l\n\n", 0o644),
                ("file", "/etc/issue.net", "Ubuntu 18.04.6 LTS\n", 0o644)]
    elif family == "rhel7":
        ops += [("file", "/usr/lib/os-release", OS_RELEASE[family], 0o644),
                ("symlink", "/etc/os-release", "../usr/lib/os-release"),
                ("file", "/etc/redhat-release", "Red Hat Enterprise Linux Server release 7.9 (Maipo)\n", 0o644),
                ("symlink", "/etc/system-release", "redhat-release"),
                ("file", "/etc/system-release-cpe", "cpe:/o:redhat:enterprise_linux:7.9:ga:server\n", 0o644),
                ("file", "/etc/issue", "\\S\nKernel \\r on an \\m\n\n", 0o644),
                ("file", "/etc/issue.net", "\\S\nKernel \\r on an \\m\n", 0o644)]
    elif family == "centos7":
        ops += [("file", "/usr/lib/os-release", OS_RELEASE[family], 0o644),
                ("symlink", "/etc/os-release", "../usr/lib/os-release"),
                ("file", "/etc/centos-release", "CentOS Linux release 7.9.2009 (Core)\n", 0o644),
                ("file", "/etc/centos-release-upstream", "Derived from Red Hat Enterprise Linux 7.9 (Source)\n", 0o644),
                ("symlink", "/etc/redhat-release", "centos-release"),
                ("symlink", "/etc/system-release", "centos-release"),
                ("file", "/etc/system-release-cpe", "cpe:/o:centos:centos:7\n", 0o644),
                ("file", "/etc/issue", "\\S\nKernel \\r on an \\m\n\n", 0o644),
                ("file", "/etc/issue.net", "\\S\nKernel \\r on an \\m\n", 0o644)]
    elif family == "sles12":
        ops += [("file", "/usr/lib/os-release", OS_RELEASE[family], 0o644),
                ("symlink", "/etc/os-release", "../usr/lib/os-release"),
                ("file", "/etc/SuSE-release", "SUSE Linux Enterprise Server 12 (x86_64)\nVERSION = 12\nPATCHLEVEL = 5\n"
                 "# This file is deprecated and will be removed in a future service pack or release.\n"
                 "# Please check /etc/os-release for details about this release.\n", 0o644),
                ("file", "/etc/issue", "\nWelcome to SUSE Linux Enterprise Server 12 SP5  (x86_64) - Kernel \\r (\\l).\n\n", 0o644),
                ("file", "/etc/issue.net", "Welcome to SUSE Linux Enterprise Server 12 SP5  (%m) - Kernel %r (%t).\n", 0o644)]
    return ops


KERNELS = {
    "4.4.0-148-generic": ("#174~14.04.1-Ubuntu SMP Thu May 9 08:17:37 UTC 2019",
                          "(buildd@lgw01-amd64-031) (gcc version 4.8.4 (Ubuntu 4.8.4-2ubuntu1~14.04.4) ) ", "ko"),
    "4.15.0-1113-azure": ("#126~14.04.1-Ubuntu SMP Tue Apr 13 16:55:24 UTC 2021",
                          "(buildd@lcy01-amd64-009) (gcc version 4.8.4 (Ubuntu 4.8.4-2ubuntu1~14.04.4)) ", "ko"),
    "5.4.0-1109-azure": ("#115~18.04.1-Ubuntu SMP Mon May 22 20:06:37 UTC 2023",
                         "(buildd@lcy02-amd64-051) (gcc version 7.5.0 (Ubuntu 7.5.0-3ubuntu1~18.04)) ", "ko"),
    "3.10.0-1160.el7.x86_64": ("#1 SMP Tue Aug 18 14:50:17 EDT 2020",
                               "(mockbuild@x86-vm-26.build.eng.bos.redhat.com) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) ",
                               "ko.xz"),
    "3.10.0-1160.el7.x86_64/centos": ("#1 SMP Mon Oct 19 16:18:59 UTC 2020",
                                      "(mockbuild@kbuilder.bsys.centos.org) (gcc version 4.8.5 20150623 (Red Hat 4.8.5-44) (GCC) ) ",
                                      "ko.xz"),
    "4.12.14-16.130-azure": ("#1 SMP Thu Mar 9 14:17:16 UTC 2023 (ac3f3ab)",
                             "(geeko@buildhost) (gcc version 4.8.5 (SUSE Linux) ) ", "ko"),
}


# ---------------------------------------------------------------- agent pieces
def waagent_conf(family, auto_update=True):
    mp = "/mnt" if family.startswith("ubuntu") else "/mnt/resource"
    fmt = "n" if family == "ubuntu1804" else "y"
    lines = [
        "#", "# Microsoft Azure Linux Agent Configuration", "#", "",
        "# Enable extension handling.", "Extensions.Enabled=y", "",
        "# Which provisioning agent to use: auto, waagent, cloud-init, disabled.",
        "Provisioning.Agent=%s" % ("cloud-init" if family == "ubuntu1804" else "auto"), "",
        "# Password authentication for root account will be unavailable.", "Provisioning.DeleteRootPassword=y", "",
        "# Generate fresh host key pair.", "Provisioning.RegenerateSshHostKeyPair=%s" % ("n" if family.startswith("ubuntu") else "y"), "",
        "# Supported values are \"rsa\", \"dsa\", \"ecdsa\", \"ed25519\" and \"auto\".", "Provisioning.SshHostKeyPairType=rsa", "",
        "# Monitor host name changes and publish changes via DHCP requests.",
        "Provisioning.MonitorHostName=%s" % ("n" if family.startswith("ubuntu") else "y"), "",
        "# Format if unformatted. If 'n', resource disk will not be mounted.", "ResourceDisk.Format=%s" % fmt, "",
        "# File system on the resource disk", "ResourceDisk.Filesystem=ext4", "",
        "# Mount point for the resource disk", "ResourceDisk.MountPoint=%s" % mp, "",
        "# Create and use swapfile on resource disk.", "ResourceDisk.EnableSwap=n", "",
        "# Size of the swapfile.", "ResourceDisk.SwapSizeMB=0", "",
        "# Comma-separated list of mount options. See mount(8) for valid options.", "ResourceDisk.MountOptions=None", "",
        "# Enable verbose logging (y|n)", "Logs.Verbose=n", "",
        "# Is FIPS enabled", "OS.EnableFIPS=n", "",
        "# Root device timeout in seconds.", "OS.RootDeviceScsiTimeout=300", "",
        "# If \"None\", the system default version is used.", "OS.OpensslPath=None", "",
        "# Set the SSH ClientAliveInterval", "#OS.SshClientAliveInterval=180", "",
        "# Set the path to SSH keys and configuration files", "OS.SshDir=/etc/ssh", "",
        "# If set, agent will use proxy server to access internet", "#HttpProxy.Host=None", "#HttpProxy.Port=None", "",
        "# Detect Scvmm environment, default is n", "# DetectScvmmEnv=n", "",
        "# Enable or disable goal state processing auto-update, default is enabled",
        "AutoUpdate.Enabled=%s" % ("y" if auto_update else "n"), "",
        "# Determine the update family, this should not be changed", "# AutoUpdate.GAFamily=Prod", "",
        "# Add firewall rules to protect access to Azure host node services", "OS.EnableFirewall=y", "",
    ]
    return "\n".join(lines) + "\n"


def unit_for(family, python):
    if family == "ubuntu1404":
        return ("/etc/init/walinuxagent.conf",
                'description "Windows Azure Linux agent"\nauthor "Ben Howard <ben.howard@canonical.com>"\n\n'
                "start on runlevel [2345]\nstop on runlevel [!2345]\n\npre-start script\n\n"
                "    [ -r /etc/default/walinuxagent ] && . /etc/default/walinuxagent\n\n"
                '    if [ "$WALINUXAGENT_ENABLED" != "1" ]; then\n        stop ; exit 0\n    fi\n\n'
                "    if [ ! -x /usr/sbin/waagent ]; then\n        stop ; exit 0\n    fi\n\n"
                "    #Load the udf module\n    modprobe -b udf\n\nend script\n\nexec /usr/sbin/waagent -daemon\n",
                "walinuxagent")
    if family == "ubuntu1804":
        return ("/lib/systemd/system/walinuxagent.service",
                "#\n# NOTE:\n#   This file hosted on WALinuxAgent repository only for reference purposes.\n"
                "#   Please refer to a recent image to find out the up-to-date systemd unit file.\n#\n\n"
                "[Unit]\nDescription=Azure Linux Agent\n\nAfter=network-online.target cloud-init.service\n"
                "Wants=network-online.target sshd.service sshd-keygen.service\n\n"
                "ConditionFileIsExecutable=/usr/sbin/waagent\nConditionPathExists=/etc/waagent.conf\n\n"
                "[Service]\nType=simple\nExecStart=/usr/bin/python3 -u /usr/sbin/waagent -daemon\nRestart=always\n\n"
                "[Install]\nWantedBy=multi-user.target\n", "walinuxagent")
    return ("/usr/lib/systemd/system/waagent.service",
            "[Unit]\nDescription=Azure Linux Agent\nWants=network-online.target sshd.service sshd-keygen.service\n"
            "After=network-online.target\n\nConditionFileIsExecutable=/usr/sbin/waagent\n"
            "ConditionPathExists=/etc/waagent.conf\n\n[Service]\nType=simple\n"
            "ExecStart=%s -u /usr/sbin/waagent -daemon\nRestart=always\nRestartSec=5\n\n"
            "[Install]\nWantedBy=multi-user.target\n" % python, "waagent")


# ---------------------------------------------------------------- the variants
def _ubuntu_disks(host, family, res_size=16 * GiB):
    sda = disk("sda", 0, 30 * GiB, "dos" if family == "ubuntu1404" else "gpt", "0:0:0:0", host)
    devs = [sda]
    if family == "ubuntu1404":
        devs.append(part(sda, 1, 30 * GiB - MiB, "ext4", "/", label="cloudimg-rootfs", content="root", host=host))
    else:
        total = 30 * GiB // SECTOR
        devs.append(part(sda, 1, (total - 227328 - 33) * SECTOR, "ext4", "/", label="cloudimg-rootfs",
                         content="root", host=host))
        devs.append(part(sda, 14, 4 * MiB, parttype="21686148-6449-6e6f-744e-656564454649", host=host))
        devs.append(part(sda, 15, 106 * MiB, "vfat", label="UEFI",
                         parttype="c12a7328-f81f-11d2-ba4b-00a0c93ec93b", host=host))
    sdb = disk("sdb", 16, res_size, "dos", "1:0:1:0", host)
    devs += [sdb, part(sdb, 1, res_size - MiB, "ext4", "/mnt", content="resource", host=host)]
    return devs


def _imds(host, vm_size, publisher, offer, sku, version, os_disk_gb, res_gb, image_id=""):
    vm_id = uid(host, "vmid")
    return {
        "azEnvironment": "AzurePublicCloud", "extendedLocation": {"type": "", "name": ""},
        "evictionPolicy": "", "isHostCompatibilityLayerVm": "false", "licenseType": "",
        "location": LOCATION, "name": host, "offer": offer,
        "osProfile": {"adminUsername": "azureuser", "computerName": host, "disablePasswordAuthentication": "true"},
        "osType": "Linux", "placementGroupId": "", "plan": {"name": "", "product": "", "publisher": ""},
        "platformFaultDomain": "0", "platformSubFaultDomain": "", "platformUpdateDomain": "0", "priority": "",
        "provider": "Microsoft.Compute", "publicKeys": [{"keyData": "ssh-rsa AAAA... azureuser", "path": "/home/azureuser/.ssh/authorized_keys"}],
        "publisher": publisher, "resourceGroupName": RESOURCE_GROUP,
        "resourceId": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/virtualMachines/%s" % (SUBSCRIPTION, RESOURCE_GROUP, host),
        "securityProfile": {"encryptionAtHost": "false", "secureBootEnabled": "false", "securityType": "", "virtualTpmEnabled": "false"},
        "sku": sku,
        "storageProfile": {
            "dataDisks": [],
            "imageReference": {"id": image_id, "offer": offer, "publisher": publisher, "sku": sku, "version": version},
            "osDisk": {"caching": "ReadWrite", "createOption": "FromImage", "diffDiskSettings": {"option": ""},
                       "diskSizeGB": str(os_disk_gb), "encryptionSettings": {"enabled": "false"},
                       "image": {"uri": ""},
                       "managedDisk": {"id": "/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/disks/%s_OsDisk_1_%s" % (
                           SUBSCRIPTION, RESOURCE_GROUP, host, uid(host, "osdisk").replace("-", "")),
                           "storageAccountType": "Premium_LRS"},
                       "name": "%s_OsDisk_1_%s" % (host, uid(host, "osdisk").replace("-", "")),
                       "osType": "Linux", "vhd": {"uri": ""}, "writeAcceleratorEnabled": "false"},
            "resourceDisk": {"size": str(res_gb * 1024)}},
        "subscriptionId": SUBSCRIPTION, "tags": "", "tagsList": [], "userData": "", "version": version,
        "vmId": vm_id, "vmScaleSetName": "", "vmSize": vm_size, "zone": "",
    }


def ubuntu1404(name, n, kernel):
    return {
        "name": name, "n": n, "family": "ubuntu1404", "azure": True,
        "kernel": kernel, "mem_kb": 8152664, "util_linux": "2.20.1",
        "devices": _ubuntu_disks(name, "ubuntu1404") + [rom()],
        "agent": {"version": "2.2.45", "goal": "2.2.53", "python": "3.4.3", "distro": "ubuntu 14.04",
                  "interpreter": "/usr/bin/python3", "auto_update": True,
                  "daemon": ["/usr/sbin/waagent", "-daemon"]},
        "selinux": None, "pid1": {"path": "/sbin/init", "argv": ["/sbin/init"], "comm": "init"},
        "python_link": True,
        "imds": _imds(name, "Standard_D2s_v3", "Canonical", "UbuntuServer", "14.04.5-LTS", "14.04.201808180", 30, 16),
        "processes": [], "extra_ops": [],
        "cmdline": "BOOT_IMAGE=/boot/vmlinuz-%s root=UUID={root_uuid} ro console=tty1 console=ttyS0 earlyprintk=ttyS0 rootdelay=300" % kernel,
    }


def ubuntu1804(name, n, mem_kb=8152664, vm_size="Standard_D2s_v3", res_gb=16, agent=None, extra_devices=(), extra_ops=(), processes=(),
               **extra):
    agent = agent or {"version": "2.2.53", "goal": "2.2.53", "python": "3.6.9", "distro": "ubuntu 18.04",
                      "interpreter": "/usr/bin/python3", "auto_update": True,
                      "daemon": ["/usr/bin/python3", "-u", "/usr/sbin/waagent", "-daemon"]}
    devs = _ubuntu_disks(name, "ubuntu1804", res_gb * GiB)
    for mk in extra_devices:
        devs += mk(name)
    devs.append(rom())
    return {
        "name": name, "n": n, "family": "ubuntu1804", "azure": True,
        "kernel": "5.4.0-1109-azure", "mem_kb": mem_kb, "util_linux": "2.31.1",
        "devices": devs, "agent": agent, "selinux": None,
        "pid1": {"path": "/usr/lib/systemd/systemd", "argv": ["/sbin/init"], "comm": "systemd"},
        "python_link": False,
        "imds": _imds(name, vm_size, "Canonical", "UbuntuServer", "18_04-lts-gen2", "18.04.202306070", 30, res_gb),
        "processes": list(processes), "extra_ops": list(extra_ops),
        "cmdline": ("BOOT_IMAGE=/boot/vmlinuz-5.4.0-1109-azure root=PARTUUID={root_partuuid} ro console=tty1 "
                    "console=ttyS0 earlyprintk=ttyS0 panic=-1"),
        **extra
    }


def _rhel_agent(distro, python_ver="2.7.5"):
    return {"version": "2.2.53", "goal": "2.2.53", "python": python_ver, "distro": distro,
            "interpreter": "/usr/bin/python", "auto_update": True,
            "daemon": ["/usr/bin/python", "-u", "/usr/sbin/waagent", "-daemon"]}


def rhel7_rootvg(name="rhel7-rootvg", n=14):
    sda = disk("sda", 0, 64 * GiB, "gpt", "0:0:0:0", name)
    sda4 = part(sda, 4, 64 * GiB - 1003 * MiB - 33 * SECTOR, "LVM2_member", host=name,
                parttype="e6d6d379-f507-44c2-a23c-238f2a3df928")
    devs = [sda,
            part(sda, 1, 500 * MiB, "vfat", label="", parttype="c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                 partlabel="EFI System Partition", host=name),
            part(sda, 2, 500 * MiB, "xfs", "/boot", host=name, content="boot"),
            part(sda, 3, 2 * MiB, parttype="21686148-6449-6e6f-744e-656564454649", host=name),
            sda4,
            lv("rootvg", "tmplv", 0, "sda4", 2 * GiB, "xfs", "/tmp", name),
            lv("rootvg", "usrlv", 1, "sda4", 10 * GiB, "xfs", "/usr", name),
            lv("rootvg", "optlv", 2, "sda4", 2 * GiB, "xfs", "/opt", name),
            lv("rootvg", "homelv", 3, "sda4", 1 * GiB, "xfs", "/home", name),
            lv("rootvg", "varlv", 4, "sda4", 8 * GiB, "xfs", "/var", name),
            lv("rootvg", "rootlv", 5, "sda4", 2 * GiB, "xfs", "/", name, content="root")]
    sdb = disk("sdb", 16, 32 * GiB, "dos", "1:0:1:0", name)
    devs += [sdb, part(sdb, 1, 32 * GiB - MiB, "ext4", "/mnt/resource", content="resource", host=name), rom()]
    return {
        "name": name, "n": n, "family": "rhel7", "azure": True,
        "kernel": "3.10.0-1160.el7.x86_64", "mem_kb": 16265756, "util_linux": "2.23.2",
        "devices": devs, "agent": _rhel_agent("redhat 7.9"), "selinux": "disabled",
        "pid1": {"path": "/usr/lib/systemd/systemd",
                 "argv": ["/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "22"], "comm": "systemd"},
        "python_link": True,
        "imds": _imds(name, "Standard_D4s_v3", "RedHat", "RHEL", "7-LVM", "7.9.2022032206", 64, 32),
        "processes": [], "extra_ops": [],
        "cmdline": ("BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/rootvg-rootlv ro "
                    "crashkernel=auto console=tty1 console=ttyS0 earlyprintk=ttyS0 rootdelay=300 "
                    "scsi_mod.use_blk_mq=y"),
    }


def rhel7_lvm(name="rhel7-lvm", n=15):
    sda = disk("sda", 0, 64 * GiB, "dos", "0:0:0:0", name)
    devs = [sda,
            part(sda, 1, 1 * GiB, "xfs", "/boot", host=name, content="boot"),
            part(sda, 2, 63 * GiB - MiB, "LVM2_member", host=name),
            lv("rhel", "root", 0, "sda2", 59 * GiB - MiB, "xfs", "/", name, content="root"),
            lv("rhel", "swap", 1, "sda2", 4 * GiB, "swap", None, name)]
    sdb = disk("sdb", 16, 32 * GiB, "dos", "1:0:1:0", name)
    devs += [sdb, part(sdb, 1, 32 * GiB - MiB, "ext4", "/mnt/resource", content="resource", host=name), rom()]
    return {
        "name": name, "n": n, "family": "rhel7", "azure": True,
        "kernel": "3.10.0-1160.el7.x86_64", "mem_kb": 16265756, "util_linux": "2.23.2",
        "devices": devs, "agent": _rhel_agent("redhat 7.9"), "selinux": "disabled",
        "pid1": {"path": "/usr/lib/systemd/systemd",
                 "argv": ["/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "22"], "comm": "systemd"},
        "python_link": True, "swaps": ["/dev/dm-1 4194300"],
        "imds": _imds(name, "Standard_D4s_v3", "", "", "", "", 64, 32,
                      image_id="/subscriptions/%s/resourceGroups/%s/providers/Microsoft.Compute/images/rhel79-lvm" % (SUBSCRIPTION, RESOURCE_GROUP)),
        "processes": [], "extra_ops": [],
        "cmdline": ("BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=/dev/mapper/rhel-root ro crashkernel=auto "
                    "rd.lvm.lv=rhel/root rd.lvm.lv=rhel/swap console=tty1 console=ttyS0 earlyprintk=ttyS0 "
                    "rootdelay=300"),
    }


def centos7_selinux(name="centos7-selinux", n=16):
    sda = disk("sda", 0, 30 * GiB, "dos", "0:0:0:0", name)
    devs = [sda,
            part(sda, 1, 500 * MiB, "xfs", "/boot", host=name, content="boot"),
            part(sda, 2, 30 * GiB - 501 * MiB, "xfs", "/", host=name, content="root")]
    sdb = disk("sdb", 16, 16 * GiB, "dos", "1:0:1:0", name)
    devs += [sdb, part(sdb, 1, 16 * GiB - MiB, "ext4", "/mnt/resource", content="resource", host=name), rom()]
    return {
        "name": name, "n": n, "family": "centos7", "azure": True,
        "kernel": "3.10.0-1160.el7.x86_64", "kernel_key": "3.10.0-1160.el7.x86_64/centos",
        "mem_kb": 8009912, "util_linux": "2.23.2",
        "devices": devs, "agent": _rhel_agent("centos 7.9.2009"), "selinux": "enforcing",
        "pid1": {"path": "/usr/lib/systemd/systemd",
                 "argv": ["/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "22"], "comm": "systemd"},
        "python_link": True,
        "imds": _imds(name, "Standard_D2s_v3", "OpenLogic", "CentOS", "7_9", "7.9.2021071900", 30, 16),
        "processes": [], "extra_ops": [],
        "cmdline": ("BOOT_IMAGE=/vmlinuz-3.10.0-1160.el7.x86_64 root=UUID={root_uuid} ro console=tty1 "
                    "console=ttyS0 earlyprintk=ttyS0 rootdelay=300"),
    }


def sles12(name="sles12", n=17):
    sda = disk("sda", 0, 30 * GiB, "gpt", "0:0:0:0", name)
    devs = [sda,
            part(sda, 1, 2 * MiB, parttype="21686148-6449-6e6f-744e-656564454649", partlabel="p.legacy", host=name),
            part(sda, 2, 512 * MiB, "vfat", label="EFI", parttype="c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                 partlabel="p.UEFI", host=name),
            part(sda, 3, 1 * GiB, "xfs", "/boot", host=name, content="boot", partlabel="p.lxboot"),
            part(sda, 4, 30 * GiB - 1538 * MiB - 33 * SECTOR, "xfs", "/", host=name, content="root", partlabel="p.lxroot")]
    sdb = disk("sdb", 16, 16 * GiB, "dos", "1:0:1:0", name)
    devs += [sdb, part(sdb, 1, 16 * GiB - MiB, "ext4", "/mnt/resource", content="resource", host=name), rom()]
    return {
        "name": name, "n": n, "family": "sles12", "azure": True,
        "kernel": "4.12.14-16.130-azure", "mem_kb": 8152656, "util_linux": "2.33.1",
        "devices": devs, "agent": {"version": "2.2.53", "goal": "2.2.53", "python": "3.4.10", "distro": "sles 12.5",
                                   "interpreter": "/usr/bin/python3", "auto_update": True,
                                   "daemon": ["/usr/bin/python3", "-u", "/usr/sbin/waagent", "-daemon"]},
        "selinux": None,
        "pid1": {"path": "/usr/lib/systemd/systemd",
                 "argv": ["/usr/lib/systemd/systemd", "--switched-root", "--system", "--deserialize", "24"], "comm": "systemd"},
        "python_link": True,
        "imds": _imds(name, "Standard_D2s_v3", "SUSE", "sles-12-sp5", "gen1", "2023.03.09", 30, 16),
        "processes": [], "extra_ops": [],
        "cmdline": ("BOOT_IMAGE=/boot/vmlinuz-4.12.14-16.130-azure root=UUID={root_uuid} "
                    "USE_BY_UUID_DEVICE_NAMES=1 earlyprintk=ttyS0 console=ttyS0 rootdelay=300 net.ifnames=0 "
                    "dis_ucode_ldr scsi_mod.use_blk_mq=1 quiet"),
    }


def _nested_disks(host):
    sdc = disk("sdc", 32, 32 * GiB, "dos", "3:0:0:0", host)
    sdd = disk("sdd", 48, 64 * GiB, "dos", "3:0:0:1", host)
    return [sdc, part(sdc, 1, 32 * GiB - MiB, "ext4", "/mnt/data1", host=host, content="data"),
            sdd, part(sdd, 1, 64 * GiB - MiB, "ext4", "/data30", host=host, content="data")]


MONGOD_CONF = """# mongod.conf

# for documentation of all options, see:
#   http://docs.mongodb.org/manual/reference/configuration-options/

# Where and how to store data.
storage:
  dbPath: /var/lib/mongodb
  journal:
    enabled: true

# where to write logging data.
systemLog:
  destination: file
  logAppend: true
  path: /var/log/mongodb/mongod.log

# network interfaces
net:
  port: 27017
  bindIp: 127.0.0.1

# how the process runs
processManagement:
  timeZoneInfo: /usr/share/zoneinfo
"""

MONGOD_UNIT = """[Unit]
Description=MongoDB Database Server
Documentation=https://docs.mongodb.org/manual
After=network-online.target
Wants=network-online.target

[Service]
User=mongodb
Group=mongodb
EnvironmentFile=-/etc/default/mongod
ExecStart=/usr/bin/mongod --config /etc/mongod.conf
PIDFile=/var/run/mongodb/mongod.pid
LimitFSIZE=infinity
LimitCPU=infinity
LimitAS=infinity
LimitNOFILE=64000
LimitNPROC=64000
LimitMEMLOCK=infinity
TasksMax=infinity
TasksAccounting=false

[Install]
WantedBy=multi-user.target
"""

DOCKER_INITD = """#!/bin/sh
set -e

### BEGIN INIT INFO
# Provides:           docker
# Required-Start:     $syslog $remote_fs
# Required-Stop:      $syslog $remote_fs
# Should-Start:       cgroupfs-mount cgroup-lite
# Should-Stop:        cgroupfs-mount cgroup-lite
# Default-Start:      2 3 4 5
# Default-Stop:       0 1 6
# Short-Description:  Create lightweight, portable, self-sufficient containers.
# Description:
#  Docker is an open-source project to easily create lightweight, portable,
#  self-sufficient containers from any application.
### END INIT INFO

export PATH=/sbin:/bin:/usr/sbin:/usr/bin:/usr/local/sbin:/usr/local/bin

BASE=docker
DOCKERD=/usr/bin/dockerd
DOCKER_PIDFILE=/var/run/$BASE.pid
DOCKER_OPTS=

. /lib/lsb/init-functions

case "$1" in
\tstart|stop|restart|status)
\t\tlog_failure_msg "use systemctl $1 docker on this system"
\t\texit 1
\t\t;;
\t*)
\t\techo "Usage: service docker {start|stop|restart|status}"
\t\texit 1
\t\t;;
esac
"""

DOCKER_UNIT = """[Unit]
Description=Docker Application Container Engine
Documentation=https://docs.docker.com
After=network-online.target firewalld.service containerd.service
Wants=network-online.target
Requires=docker.socket containerd.service

[Service]
Type=notify
ExecStart=/usr/bin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock
ExecReload=/bin/kill -s HUP $MAINPID
TimeoutSec=0
RestartSec=2
Restart=always
LimitNOFILE=infinity
LimitNPROC=infinity
LimitCORE=infinity
TasksMax=infinity
Delegate=yes
KillMode=process

[Install]
WantedBy=multi-user.target
"""

CONTAINERD_UNIT = """[Unit]
Description=containerd container runtime
Documentation=https://containerd.io
After=network.target local-fs.target

[Service]
ExecStartPre=-/sbin/modprobe overlay
ExecStart=/usr/bin/containerd
Type=notify
Delegate=yes
KillMode=process
Restart=always
RestartSec=5
LimitNPROC=infinity
LimitCORE=infinity
LimitNOFILE=infinity
TasksMax=infinity
OOMScoreAdjust=-999

[Install]
WantedBy=multi-user.target
"""


# ---------------------------------------------------------------- issue 9 cases (preflight beyond the guide)
UBUNTU_SOURCES = ("deb http://azure.archive.ubuntu.com/ubuntu/ bionic main restricted universe\n"
                  "deb http://azure.archive.ubuntu.com/ubuntu/ bionic-updates main restricted universe\n"
                  "deb http://azure.archive.ubuntu.com/ubuntu/ bionic-security main restricted universe\n")


def _mirror_sources(n):
    # a mirror inside the VNet that answers (the host's listener at 10.203.N.16:80 stands for it)
    return "deb http://10.203.%d.16/ubuntu/ bionic main restricted universe\n" % n


def _data_disk(fstype, size, content="data", fstab_opts=None):
    def make(host):
        sdc = disk("sdc", 32, size, "dos", "3:0:0:0", host)
        p1 = part(sdc, 1, size - MiB, fstype, "/data1", host=host, content=content)
        if fstab_opts:
            p1["fs"]["fstab_opts"] = fstab_opts
        return [sdc, p1]
    return make


REPORTD_UNIT = """[Unit]
Description=Nightly report daemon (site-local, not from the image)

[Service]
User=reportd
ExecStart=/opt/reportd/bin/reportd --spool /var/spool/reportd
Restart=always

[Install]
WantedBy=multi-user.target
"""


# What the local mirror of pkgs-local offers: the Ubuntu install_extras packages, each shipping a stub binary.
LOCAL_MIRROR = [("at", "3.1.20-3.1ubuntu2", ["/usr/bin/at"]), ("cryptsetup-bin", "2:2.0.2-1ubuntu1.2", ["/sbin/cryptsetup"]),
                ("grub-pc-bin", "2.02-2ubuntu8.26", ["/usr/lib/grub/i386-pc/.stub"]), ("lsscsi", "0.28-0.1", ["/usr/bin/lsscsi"]),
                ("python3-parted", "3.11.1-1build3", ["/usr/lib/python3/dist-packages/parted/.stub"]),
                ("python-six", "1.11.0-2", ["/usr/lib/python2.7/dist-packages/.six-stub"]),
                ("psmisc", "23.1-1ubuntu0.1", ["/usr/bin/killall"]), ("nvme-cli", "1.5-1ubuntu1.2", ["/usr/sbin/nvme"])]


# A secret two guests hold (a process's command line, an apt proxy's credentials): guest.sh asserts it appears in no
# guest_facts / preflight result, e2e.sh in no report (issue 15).
GUEST_SECRET = "Hunter2-ade-guest-secret"


def issue9_variants():
    return [
        # the packages ADE installs are missing and the package sources do not answer (isolated VM)
        # issue 15: the apt proxy carries credentials (nothing listens there): they must not leave the guest
        ubuntu1804("pkgs-offline", 24, packages_missing=True,
                   extra_ops=[("file", "/etc/apt/sources.list", UBUNTU_SOURCES, 0o644),
                              ("file", "/etc/apt/apt.conf.d/90proxy", 'Acquire::http::Proxy "http://ade-proxy:%s@10.203.24.1:3128/";\n'
                               % GUEST_SECRET, 0o600)]),
        # the packages are missing but a mirror answers: the role installs them first
        ubuntu1804("pkgs-mirror", 25, packages_missing=True,
                   extra_ops=[("file", "/etc/apt/sources.list", _mirror_sources(25), 0o644)]),
        # a long-running site daemon (not a known application family) holds files on the root filesystem
        ubuntu1804("busy-root", 26,
                   extra_ops=[("waiter", "/opt/reportd/bin/reportd"),
                              ("file", "/lib/systemd/system/reportd.service", REPORTD_UNIT, 0o644),
                              ("user", "reportd", 1001, 65534, "/var/spool/reportd", "/usr/sbin/nologin"),
                              ("group", "reportd", 1001),
                              ("dir", "/var/spool/reportd", 0o750, "reportd")],
                   processes=[{"argv": ["/opt/reportd/bin/reportd", "--spool", "/var/spool/reportd",
                                        "--db-password=" + GUEST_SECRET],   # issue 15: never reported
                               "user": "reportd"}]),
        # a data volume in fstab without nofail
        ubuntu1804("data-nofail", 27, extra_devices=[_data_disk("ext4", 4 * GiB, fstab_opts="defaults")]),
        # an ext4 data volume too full to shrink by the LUKS header (filled to 1 MiB free)
        ubuntu1804("data-full", 28, extra_devices=[_data_disk("ext4", 256 * MiB, content="full")],
                   extra_ops=[("fill", "/data1/archive.bin", MiB)]),
        # an xfs data volume: ADE cannot encrypt it in place
        ubuntu1804("data-xfs", 29, extra_devices=[_data_disk("xfs", 4 * GiB)]),
        # the packages are missing and a local file mirror answers: the role's packages task installs them
        ubuntu1804("pkgs-local", 31, packages_missing=True,
                   extra_ops=[("file", "/etc/apt/sources.list", "deb [trusted=yes] file:/var/lib/ade-mirror ./\n", 0o644),
                              ("aptrepo", "/var/lib/ade-mirror", LOCAL_MIRROR)]),
        # Debian's real waagent package (benchmarks/guest_preflight.py --limit agent-real)
        ubuntu1804("agent-real", 30, agent=REAL_AGENT),
    ]


# The real agent package for the preflight's cost (issue 9 point 5): Debian's waagent (a Python program of its own),
# unpacked from the Debian archive with what it imports; its processes stay the stand-in (hostlib.rc_script).
REAL_AGENT = {"version": "2.7.3.0", "goal": "2.7.3.0", "python": "3.9.2", "distro": "ubuntu 18.04",
              "interpreter": "/usr/bin/python3", "auto_update": True,
              "daemon": ["/usr/bin/python3", "-u", "/usr/local/lib/azure-ade-test/waagent-standin", "-daemon"],
              "real_debs": ["python3-distro_1.8.0-1_all.deb", "python3-pkg-resources_66.1.1-1+deb12u2_all.deb",
                            "waagent_2.7.3.0-4.1_all.deb"]}


def _rpm_tools(v):
    """The fixed rpm-family hosts carry Debian 11's rpm + dnf (RHEL/CentOS) or zypper (SLES) with a real rpm database and
    a local repository (the fleet's centos7 kind keeps the rpm query stand-in: cheap, read-only)."""
    v["rpm_tools"] = True
    return v


def variants():
    v = [
        ubuntu1404("ubuntu1404-k44", 11, "4.4.0-148-generic"),
        ubuntu1404("ubuntu1404-k415", 12, "4.15.0-1113-azure"),
        ubuntu1804("ubuntu1804", 13),
        _rpm_tools(rhel7_rootvg()),
        _rpm_tools(rhel7_lvm()),
        _rpm_tools(centos7_selinux()),
        _rpm_tools(sles12()),
        ubuntu1804("lowmem-4g", 18, mem_kb=4030312, vm_size="Standard_B2s", res_gb=8),
        ubuntu1804("nested-mnt", 19, extra_devices=[_nested_disks]),
        ubuntu1804("app-mongod", 20,
                   extra_ops=[("waiter", "/usr/bin/mongod"), ("file", "/etc/mongod.conf", MONGOD_CONF, 0o644),
                              ("file", "/lib/systemd/system/mongod.service", MONGOD_UNIT, 0o644),
                              ("user", "mongodb", 112, 65534, "/home/mongodb", "/bin/false"),
                              ("group", "mongodb", 117),
                              ("dir", "/var/lib/mongodb", 0o755, "mongodb"),
                              ("dir", "/var/log/mongodb", 0o755, "mongodb"),
                              ("file", "/var/log/mongodb/mongod.log", "", 0o600, "mongodb"),
                              ("file", "/var/lib/mongodb/WiredTiger", "WiredTiger\nWiredTiger 3.3.0: (March 20, 2020)\n", 0o600, "mongodb")],
                   processes=[{"argv": ["/usr/bin/mongod", "--config", "/etc/mongod.conf"], "user": "mongodb"}]),
        ubuntu1804("app-dockerd", 21,
                   extra_ops=[("waiter", "/usr/bin/dockerd"), ("waiter", "/usr/bin/containerd"),
                              ("file", "/etc/init.d/docker", DOCKER_INITD, 0o755),
                              ("file", "/etc/default/docker", "# Docker Upstart and SysVinit configuration file\n", 0o644),
                              ("file", "/lib/systemd/system/docker.service", DOCKER_UNIT, 0o644),
                              ("file", "/lib/systemd/system/containerd.service", CONTAINERD_UNIT, 0o644),
                              ("group", "docker", 998),
                              ("dir", "/etc/docker", 0o755, None), ("dir", "/var/lib/docker", 0o711, None),
                              ("dir", "/var/lib/containerd", 0o711, None)],
                   processes=[{"argv": ["/usr/bin/containerd"], "user": None},
                              {"argv": ["/usr/bin/dockerd", "-H", "fd://", "--containerd=/run/containerd/containerd.sock"], "user": None}]),
        ubuntu1804("agent-2232", 22,
                   agent={"version": "2.2.32", "goal": "2.2.32", "python": "3.6.9", "distro": "ubuntu 18.04",
                          "interpreter": "/usr/bin/python3", "auto_update": False,
                          "daemon": ["/usr/bin/python3", "-u", "/usr/sbin/waagent", "-daemon"]}),
        {"name": "debian11-plain", "n": 23, "family": "debian11", "azure": False},
    ] + issue9_variants()
    return v


def by_name():
    return dict((x["name"], x) for x in variants())


# ---------------------------------------------------------------- package databases
# What the guest's package manager reports for the packages the role looks at.
def dpkg_packages(v):
    fam, k, a = v["family"], v["kernel"], v["agent"]
    rel = "14.04" if fam == "ubuntu1404" else "18.04"
    pk = [] if a.get("real_debs") else [("walinuxagent", "%s-0ubuntu1~%s.1" % (a["version"], rel), "admin", "Windows Azure Linux Agent")]
    if fam == "ubuntu1404":
        pk += [("linux-image-4.4.0-148-generic", "4.4.0-148.174~14.04.1", "kernel", "Linux kernel image for version 4.4.0 on 64 bit x86 SMP"),
               ("linux-generic-lts-xenial", "4.4.0.148.130", "kernel", "Complete Generic Linux kernel and headers")]
        if k.startswith("4.15"):
            pk += [("linux-image-4.15.0-1113-azure", "4.15.0-1113.126~14.04.1", "kernel", "Signed kernel image azure"),
                   ("linux-azure", "4.15.0.1113.85", "kernel", "Complete Linux kernel for Azure VMs.")]
    else:
        pk += [("linux-image-5.4.0-1109-azure", "5.4.0-1109.115~18.04.1", "kernel", "Signed kernel image azure"),
               ("linux-azure", "5.4.0.1109.82", "kernel", "Complete Linux kernel for Azure VMs.")]
    if not v.get("packages_missing"):
        pk += [(name, ver, "admin", "installed as on the marketplace image (ADE's install_extras list)")
               for name, ver in UBUNTU_EXT_PACKAGES[fam]]
    return pk


def rpm_packages(v):
    fam, k, a = v["family"], v["kernel"], v["agent"]
    if fam == "sles12":
        return [("python-azure-agent", a["version"], "2.38.1", "noarch"), ("kernel-azure", "4.12.14", "16.130.1", "x86_64"),
                ("util-linux", "2.33.1", "4.5.1", "x86_64")] + [
            (name, ver, rel, "x86_64") for name, ver, rel, _files in RPM_EXT_PACKAGES["sles12"]]
    dist = "el7"
    return [("WALinuxAgent", a["version"], "1.%s" % dist, "noarch"), ("kernel", "3.10.0", "1160.%s" % dist, "x86_64"),
            ("util-linux", "2.23.2", "65.%s" % dist, "x86_64"), ("python", "2.7.5", "89.%s" % dist, "x86_64")] + (
        [("libselinux-utils", "2.5", "15.%s" % dist, "x86_64"), ("policycoreutils", "2.5", "34.%s" % dist, "x86_64")]) + [
            (name, ver, rel, "x86_64") for name, ver, rel, _files in RPM_EXT_PACKAGES[fam]]


# ---------------------------------------------------------------- what the ADE extension installs
# The marketplace images these hosts stand for, with the packages ADE's install_extras asks for
# (VMEncryption/main/patch/*Patching.py at ade-sp-release-1.4.0.12) already installed: dpkg entries on
# Ubuntu; on the rpm families the rpm stand-in answers for them and the files they own exist (the
# preflight looks for those files). Variants with "packages_missing" lack them all.
# procps is not listed: the Debian userland of the hosts has it registered already, and a second dpkg stanza for it
# breaks dpkg on the host ("multiple non-coinstallable package instances"; molecule's dpkg -i / apt-get failed).
UBUNTU_EXT_PACKAGES = {
    "ubuntu1404": [("at", "3.1.14-1ubuntu1"), ("cryptsetup-bin", "2:1.6.1-1ubuntu1"), ("grub-pc-bin", "2.02~beta2-9ubuntu1.15"),
                   ("lsscsi", "0.27-2"), ("python3-parted", "3.10-3"), ("python-six", "1.5.2-1ubuntu1"),
                   ("psmisc", "22.20-1ubuntu2"), ("nvme-cli", "0.3-1")],
    "ubuntu1804": [("at", "3.1.20-3.1ubuntu2"), ("cryptsetup-bin", "2:2.0.2-1ubuntu1.2"), ("grub-pc-bin", "2.02-2ubuntu8.26"),
                   ("lsscsi", "0.28-0.1"), ("python3-parted", "3.11.1-1build3"), ("python-six", "1.11.0-2"),
                   ("psmisc", "23.1-1ubuntu0.1"), ("nvme-cli", "1.5-1ubuntu1.2")],
}
_EL7_EXT = [("cryptsetup", "2.0.3", "6.el7", ["/usr/sbin/cryptsetup"]), ("lsscsi", "0.27", "6.el7", ["/usr/bin/lsscsi"]),
            ("psmisc", "22.20", "17.el7", ["/usr/bin/killall", "/usr/sbin/fuser"]), ("lvm2", "2.02.187", "6.el7_9.5", ["/usr/sbin/lvm"]),
            ("uuid", "1.6.2", "26.el7", ["/usr/bin/uuid"]), ("at", "3.1.13", "25.el7_9", ["/usr/bin/at"]),
            ("patch", "2.7.1", "12.el7_7", ["/usr/bin/patch"]), ("procps-ng", "3.3.10", "28.el7", ["/usr/bin/ps"]),
            ("util-linux", "2.23.2", "65.el7", ["/usr/bin/lsblk"])]
RPM_EXT_PACKAGES = {
    "rhel7": _EL7_EXT,
    "centos7": _EL7_EXT + [("pyparted", "3.9", "15.el7", ["/usr/lib64/python2.7/site-packages/parted/__init__.py"])],
    "sles12": [("cryptsetup", "1.7.0", "7.1", ["/sbin/cryptsetup"]), ("lsscsi", "0.28", "1.24", ["/usr/bin/lsscsi"])],
}
# rpm-family hosts with the real package managers (hostlib.rpm_tool_ops): the agent versions their local repository
# offers besides the installed one (the role's agent update runs from the old one in molecule agent_rpm).
RPM_AGENT_OLD = ["2.2.32"]
RPM_REPO_FILE = """# azure_ade test host: a local repository (built with createrepo_c at host-build time)
[ade-local]
name=azure_ade test host local repository
baseurl=file://%(repo)s
enabled=1
gpgcheck=0
%(zypper)s"""
STUB_BINARY = "#!/bin/sh\n# azure_ade test host: stands for the file the package installs\nexit 0\n"


def installed_package_ops(v):
    """Files the extension's packages own, on rpm-family hosts that have them."""
    if v.get("packages_missing") or v["family"] not in RPM_EXT_PACKAGES:
        return []
    ops = []
    for _name, _ver, _rel, files in RPM_EXT_PACKAGES[v["family"]]:
        for path in files:
            if path in ("/usr/bin/ps", "/usr/bin/lsblk"):
                continue  # Debian's ps / the lsblk stand-in are there already
            ops.append(("file", path, "" if path.endswith(".py") else STUB_BINARY, 0o644 if path.endswith(".py") else 0o755))
    return ops

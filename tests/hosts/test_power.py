"""Pure parts of the test hosts' reboots (tests/hosts/lib/power.py): GRUB's default, the kernel a boot runs, the
dm-crypt view after ADE. Run by tests/ci/simulator.sh test (with the simulator's suite)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import power as P  # noqa: E402
import variants as V  # noqa: E402

CFG = """set default="0"
menuentry 'Ubuntu' --class ubuntu $menuentry_id_option 'gnulinux-simple-abc' {
    linux    /boot/vmlinuz-4.15.0-1113-azure root=UUID=abc ro
}
submenu 'Advanced options for Ubuntu' $menuentry_id_option 'gnulinux-advanced-abc' {
    menuentry 'Ubuntu, with Linux 4.15.0-1113-azure' $menuentry_id_option 'gnulinux-4.15.0-1113-azure-advanced-abc' {
        linux    /boot/vmlinuz-4.15.0-1113-azure root=UUID=abc ro
    }
    menuentry 'Ubuntu, with Linux 4.4.0-148-generic' $menuentry_id_option 'gnulinux-4.4.0-148-generic-advanced-abc' {
        linux    /boot/vmlinuz-4.4.0-148-generic root=UUID=abc ro
    }
}
"""


def test_version_order_is_grubs():
    assert P.newest(["4.4.0-148-generic", "4.15.0-1113-azure", "3.10.0-1160.el7.x86_64"]) == "4.15.0-1113-azure"
    assert P.newest(["4.15.0-1113-azure", "4.15.0-20-generic"]) == "4.15.0-1113-azure"
    assert P.newest([]) is None


def test_grub_default_forms():
    assert P.grub_default(CFG) == "4.15.0-1113-azure"
    assert P.grub_default(CFG.replace('default="0"', 'default="1>1"')) == "4.4.0-148-generic"
    assert P.grub_default(CFG.replace('default="0"', 'default="gnulinux-advanced-abc>gnulinux-4.4.0-148-generic-advanced-abc"')) \
        == "4.4.0-148-generic"
    assert P.grub_default(CFG.replace('default="0"', 'default="Ubuntu, with Linux 4.4.0-148-generic"')) == "4.4.0-148-generic"
    saved = CFG.replace('default="0"', 'default="${saved_entry}"')
    assert P.grub_default(saved, "# GRUB Environment Block\nsaved_entry=1>1\n") == "4.4.0-148-generic"
    assert P.grub_default(saved, "") == "4.15.0-1113-azure"
    assert P.grub_default(CFG.replace('default="0"', 'default="7"')) is None
    assert P.grub_default("") is None


def test_pick_kernel(tmp_path):
    boot = tmp_path / "boot"
    (boot / "grub").mkdir(parents=True)
    (boot / "vmlinuz-4.4.0-148-generic").write_text("")
    assert P.pick_kernel(str(tmp_path), "spec")[0] == "4.4.0-148-generic"          # no grub.cfg: newest image
    (boot / "vmlinuz-4.15.0-1113-azure").write_text("")
    (boot / "grub" / "grub.cfg").write_text(P.grub_cfg(["4.4.0-148-generic"]))
    assert P.pick_kernel(str(tmp_path), "spec")[0] == "4.4.0-148-generic"          # GRUB not updated yet
    (boot / "grub" / "grub.cfg").write_text(P.grub_cfg(["4.4.0-148-generic", "4.15.0-1113-azure"]))
    assert P.pick_kernel(str(tmp_path), "spec") == ("4.15.0-1113-azure", "default entry of /boot/grub/grub.cfg")
    (boot / "vmlinuz-4.15.0-1113-azure").unlink()
    k, why = P.pick_kernel(str(tmp_path), "spec")
    assert k == "spec" and "not in /boot" in why
    assert P.pick_kernel(str(tmp_path / "nothing"), "spec")[0] == "spec"


def test_grub_mkconfig_stand_in_writes_what_grub_cfg_says(tmp_path):
    script = tmp_path / "grub-mkconfig"
    script.write_text(P.grub_mkconfig_script())
    out = subprocess.run([sys.executable, "-c", "import runpy, sys; sys.argv = ['grub-mkconfig']; "
                          "ns = runpy.run_path(%r, run_name='x'); print(ns['grub_cfg'](['4.4.0-148-generic', "
                          "'4.15.0-1113-azure'], '0', 'UUID=u', '/boot'), end='')" % str(script)],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    assert out == P.grub_cfg(["4.15.0-1113-azure", "4.4.0-148-generic"], "0", "UUID=u", "/boot")
    assert P.grub_default(out) == "4.15.0-1113-azure"


def test_crypt_view_root_and_data():
    v = P.crypt_view(V.by_name()["data-xfs"], {"os": True, "data": True})
    byname = dict((d["name"], d) for d in v["devices"])
    assert byname["sda1"]["fstype"] == "crypto_LUKS" and "fs" not in byname["sda1"]
    osd = byname["osencrypt"]
    assert osd["type"] == "crypt" and osd["parents"] == ["sda1"] and osd["fs"]["mountpoint"] == "/"
    assert osd["majmin"].startswith("253:") and osd["backing"] == "sda1"
    data = [d for d in v["devices"] if d["type"] == "crypt" and d["name"] != "osencrypt"]
    assert len(data) == 1 and data[0]["fs"]["mountpoint"] == "/data1" and data[0]["parents"] == ["sdc1"]
    assert byname["sdb1"]["fs"]["mountpoint"] == "/mnt"          # the resource disk stays plain (no EncryptFormatAll)
    names = [d["name"] for d in v["devices"]]
    assert names.index("osencrypt") == names.index("sda1") + 1    # lsblk's tree order
    assert V.by_name()["data-xfs"]["devices"][1]["fstype"] != "crypto_LUKS"   # the spec itself is untouched


def test_crypt_view_os_only_and_lvm_root_left_alone():
    v = P.crypt_view(V.by_name()["data-xfs"], {"os": True, "data": False})
    assert [d["name"] for d in v["devices"] if d["type"] == "crypt"] == ["osencrypt"]
    v = P.crypt_view(V.by_name()["rhel7-rootvg"], {"os": True, "data": True})
    assert not [d for d in v["devices"] if d["type"] == "crypt"]
    assert P.crypt_view(V.by_name()["centos7-selinux"], {})["devices"] == V.by_name()["centos7-selinux"]["devices"]

# -*- coding: utf-8 -*-
"""bootdiag: the serial log of a VM's boot -> what stopped it (pure)."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import bootdiag

FIRST_BOOT = ["[    0.000000] Linux version 5.4.0-1109-azure", "[  OK  ] Reached target Multi-User System.",
              "", "web01 login: "]


def log(*lines):
    return "\r\n".join(FIRST_BOOT + list(lines)) + "\r\n"


def test_key_script_without_a_passphrase_file():
    got = bootdiag.classify(log("> Trying device: sdb ...", "> Trying device: sdc ...",
                                "FAILED to find suitable passphrase file ...", "Try to enter your password: "))
    assert got["verdict"] == "passphrase_file_missing"
    assert [f["kind"] for f in got["findings"]] == ["passphrase_file_missing", "passphrase_prompt"]
    assert got["findings"][0]["line"] == 7 and "Key Vault secret" in got["fix"]
    assert "> Trying device: sdc ..." in got["excerpt"]     # context kept
    assert "web01 login: " not in got["excerpt"]            # the first boot is not part of the cause


def test_rhel_prompt_then_dracut_shell_is_a_prompt():
    got = bootdiag.classify(log("Please enter passphrase for disk osencrypt (osencrypt)!",
                                "[  120.4] dracut-initqueue[312]: Warning: dracut-initqueue timeout - starting",
                                "Entering emergency mode. Exit the shell to continue.", "dracut:/# "))
    assert got["verdict"] == "passphrase_prompt"
    assert {f["kind"] for f in got["findings"]} == {"passphrase_prompt", "dracut_emergency"}


def test_wrong_key_and_oldroot():
    assert bootdiag.classify(log("cryptsetup: osencrypt: cryptsetup failed, bad password or options?"))[
        "verdict"] == "unlock_failed"
    assert bootdiag.classify(log("Attempt #3 to unmount /oldroot failed with error: target is busy"))[
        "verdict"] == "oldroot_busy"


def test_a_later_successful_boot_wins():
    text = log("FAILED to find suitable passphrase file ...", "", "Success loading keyfile!",
               "[  OK  ] Reached target Multi-User System.", "web01 login: ")
    got = bootdiag.classify(text)
    assert got["verdict"] == "booted" and got["findings"] == [] and got["fix"] is None


def test_empty_and_unknown():
    assert bootdiag.classify("")["verdict"] == "empty"
    got = bootdiag.classify("[    0.0] Linux version 5.4\n[    3.1] kernel panic - not syncing\n")
    assert got["verdict"] == "unknown" and got["excerpt"][-1].endswith("not syncing")


def test_lines_are_cut_cleaned_and_masked():
    got = bootdiag.classify(log("\x1b[0;1;31mFAILED to find suitable passphrase file ...\x1b[0m password=hunter2 "
                                + "x" * 500))
    text = got["findings"][0]["text"]
    assert "hunter2" not in text and "password=********" in text
    assert "\x1b" not in text and len(text) == bootdiag.MAX_LINE


def test_max_lines_bounds_the_excerpt():
    got = bootdiag.classify(log(*(["Try to enter your password: "] * 100)), max_lines=5)
    assert len(got["excerpt"]) == 5 and len(got["findings"]) == 5


def test_message_names_vm_cause_line_and_fix():
    got = bootdiag.classify(log("FAILED to find suitable passphrase file ..."))
    m = bootdiag.message("web01", got)
    assert m.startswith("serial log of web01: the initramfs found no passphrase file")
    assert "line 5" in m and "fix:" in m
    assert bootdiag.message("web01", dict(verdict="not_enabled", meaning="boot diagnostics is not enabled",
                                          findings=[])) == "serial log of web01: boot diagnostics is not enabled"

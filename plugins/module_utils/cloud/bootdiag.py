# -*- coding: utf-8 -*-
# Copyright: azure_ade.linux contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# Private to azure_ade.linux: used by this collection's modules and plugins only, not a public API; may change in any release.
"""What a VM's serial console log says about its boot (issue 16 item 2): pure, no I/O.

A VM whose encrypted OS volume cannot be unlocked stops in its initramfs: ARM shows it running, SSH never answers,
and the only witness is the serial console log that boot diagnostics keeps (Virtual Machines - Retrieve Boot
Diagnostics Data: POST .../retrieveBootDiagnosticsData -> SAS URIs of the screenshot and the serial log). This
module reads such a log and names what stopped the boot, with the lines that show it and what to do:

- ``passphrase_file_missing``: ADE's key script found no passphrase file on the BEK volume and fell back to asking
  (``FAILED to find suitable passphrase file ...`` then ``Try to enter your password:``: azure_crypt_key.sh, the
  keyscript of Microsoft's "Prepare a pre-encrypted Linux VHD" article, MicrosoftDocs azure-compute-docs
  disk-encryption-sample-scripts.md). The platform attaches the BEK volume from the Key Vault secret at a cold
  start: a secret that is gone, disabled or expired, or a vault that lost enabledForDiskEncryption, ends here.
- ``passphrase_prompt``: the boot waits at a passphrase prompt (systemd-cryptsetup's ``Please enter passphrase for
  disk ...``, cryptsetup's ``Enter passphrase for ...``, the key script's ``Try to enter your password:``).
- ``unlock_failed``: cryptsetup gave up (Ubuntu's initramfs cryptroot: ``cryptsetup failed, bad password or
  options?``; ``No key available with this passphrase``).
- ``dracut_emergency``: dracut timed out waiting for the root device and dropped to its emergency shell
  (``dracut-initqueue timeout``, ``Entering emergency mode``, ``dracut:/#``, ``rdsosreport.txt``).
- ``oldroot_busy``: ADE's offline OS encryption could not unmount ``/oldroot`` (``Attempt #n to unmount /oldroot
  failed``, ``Could not unmount /oldroot in 10 attempts``: VMEncryption oscrypto state machines).
- ``booted``: a login prompt or systemd's ``Reached target`` multi-user/graphical line after the last hang line.

The log may hold anything a console printed: only the matched lines and a few lines around them are returned,
each cut to 200 characters, and text that looks like a credential is masked.
"""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import re

# (kind, pattern, meaning, fix) in the order a verdict prefers them (the most specific cause first)
PATTERNS = (
    ('passphrase_file_missing', r'FAILED to find suitable passphrase file',
     "the initramfs found no passphrase file on the BEK volume, so it could not unlock the OS volume",
     "check the VM's key custody (status, vm_encryption_info: unlock_at_risk): the Key Vault secret of the OS disk's "
     "encryptionSettings must exist, be enabled and unexpired, and the vault must keep enabledForDiskEncryption; "
     "then deallocate and start the VM (the platform attaches the BEK volume again), else restore it from its "
     "pre-encryption snapshot set (vm_restore)"),
    ('unlock_failed', r'cryptsetup failed, bad password or options|No key available with this passphrase',
     "cryptsetup could not open the encrypted OS volume with the key it was given",
     "the BEK volume's passphrase does not open this disk (a key rotation that left the old key, issue 2035 class): "
     "restore from the pre-change snapshot set, or re-attach the previous secret and cold start"),
    ('passphrase_prompt', r'Please enter passphrase for disk|Enter passphrase for |Try to enter your password',
     "the boot waits at a passphrase prompt for the encrypted OS volume",
     "the platform did not hand the guest its key: check the Key Vault secret and the vault (status shows "
     "unlock_at_risk), deallocate and start the VM, else restore from the pre-encryption snapshot set"),
    ('dracut_emergency', r'dracut-initqueue timeout|Entering emergency mode|dracut:/#|rdsosreport\.txt',
     "dracut did not find the root device in time and stopped in its emergency shell",
     "the encrypted root was not opened (see the lines before it); read the serial console, then restore from the "
     "pre-encryption snapshot set if the key cannot be given back"),
    ('oldroot_busy', r'unmount /oldroot failed|Could not unmount /oldroot',
     "ADE's offline OS encryption could not unmount /oldroot (a process still holds the old root)",
     "stop the services that hold the root file system (preflight check root_busy) and restore, then encrypt again"),
)
BOOTED = r'\slogin:\s*$|Reached target (Multi-User System|Graphical Interface)'
KINDS = tuple(p[0] for p in PATTERNS) + ('booted', 'unknown', 'empty')
_SECRET = r'(?i)(password|passwd|passphrase|secret|token|sig|key)(\s*[=:]\s*)(\S+)'
MAX_LINE = 200


def _clean(line):
    line = line.rstrip('\r\n')
    # terminal control sequences that serial consoles carry
    line = re.sub(r'\x1b\[[0-9;?]*[A-Za-z]', '', line)
    line = re.sub(r'[\x00-\x08\x0b-\x1f\x7f]', '', line)
    line = re.sub(_SECRET, lambda m: m.group(1) + m.group(2) + '********', line)
    return line[:MAX_LINE]


def classify(text, context=2, max_lines=20):
    """The serial log's text -> {verdict, meaning, fix, findings: [{kind, line, text}], excerpt: [lines], lines}.

    ``verdict`` is the most specific hang class found after the last boot that reached a login prompt or
    multi-user target (a log holds every boot since the VM was created), ``booted`` when the last boot got there,
    ``unknown`` when neither, ``empty`` for an empty log."""
    lines = (text or '').splitlines()
    if not lines:
        return dict(verdict='empty', meaning='the serial log is empty (boot diagnostics off, or nothing printed)',
                    fix='enable boot diagnostics on the VM (managed storage) and read the log again',
                    findings=[], excerpt=[], lines=0)
    booted_at = None
    findings = []
    for n, raw in enumerate(lines):
        if re.search(BOOTED, raw):
            booted_at = n
        for kind, rx, _meaning, _fix in PATTERNS:
            if re.search(rx, raw):
                findings.append(dict(kind=kind, line=n + 1, text=_clean(raw)))
                break
    # only what the last boot printed after its last successful boot counts
    current = [f for f in findings if booted_at is None or f['line'] - 1 > booted_at]
    if not current and booted_at is not None:
        return dict(verdict='booted', meaning='the last boot reached a login prompt / multi-user target',
                    fix=None, findings=[], excerpt=[_clean(lines[booted_at])], lines=len(lines))
    if not current:
        return dict(verdict='unknown', meaning='no known boot-stop line and no login prompt in the serial log',
                    fix='read the serial console (az serial-console connect) or the screenshot',
                    findings=[], excerpt=[_clean(x) for x in lines[-max_lines:]], lines=len(lines))
    order = dict((p[0], i) for i, p in enumerate(PATTERNS))
    kinds = sorted(set(f['kind'] for f in current), key=order.get)
    verdict = kinds[0]
    meaning, fix = [(p[2], p[3]) for p in PATTERNS if p[0] == verdict][0]
    keep = set()
    for f in current:
        for i in range(max(0, f['line'] - 1 - context), min(len(lines), f['line'] + context)):
            keep.add(i)
    excerpt = [_clean(lines[i]) for i in sorted(keep)][-max_lines:]
    return dict(verdict=verdict, meaning=meaning, fix=fix, findings=current[-max_lines:], excerpt=excerpt,
                lines=len(lines))


def message(vm_name, result):
    """One line for a failure message or a report row."""
    if not result.get('findings'):
        return 'serial log of {0}: {1}'.format(vm_name, result['meaning'])
    last = result['findings'][-1]
    return 'serial log of {0}: {1} ({2}, line {3}: "{4}"); fix: {5}'.format(
        vm_name, result['meaning'], result['verdict'], last['line'], last['text'], result['fix'])

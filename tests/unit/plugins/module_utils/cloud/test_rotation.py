# -*- coding: utf-8 -*-
"""Key rotation guard (issue 16 item 3): an enable with another vault or KEK on an encrypted VM is a rotation."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rotation as R

V1 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv1'
V2 = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.KeyVault/vaults/kv2'
K1 = 'https://kv1.vault.azure.net/keys/kek/0011'
K2 = 'https://kv1.vault.azure.net/keys/kek/0022'


def status(os_state='Encrypted', vault=V1, kek=None, data='NotMounted'):
    es = {'diskEncryptionKey': {'secretUrl': 'https://kv1.vault.azure.net/secrets/s/v', 'sourceVault': {'id': vault}}}
    if kek:
        es['keyEncryptionKey'] = {'keyUrl': kek, 'sourceVault': {'id': vault}}
    return {'os_volume_encrypted': os_state, 'data_volumes_encrypted': data, 'os_volume_encryption_settings': es,
            'os_disk_stamped': True, 'data_disks_stamped': []}


def test_same_keys_not_a_rotation():
    assert R.detect(status(), V1.upper() + '/', None) is None
    assert R.detect(status(kek=K1), V1, K1) is None


@pytest.mark.parametrize('vault, kek, changes', [
    (V2, None, ['vault']), (V1, K1, ['kek']), (V2, K2, ['vault', 'kek'])])
def test_other_vault_or_kek_is_a_rotation(vault, kek, changes):
    rot = R.detect(status(), vault, kek)
    assert rot['changes'] == changes and rot['from_vault'] == V1
    msg = R.refusal('vm1', rot)
    assert 'rotate=true' in msg and 'nothing written' in msg and '2035' in msg


def test_kek_removed_is_a_rotation():
    assert R.detect(status(kek=K1), V1, None)['changes'] == ['kek']


def test_not_encrypted_vm_is_a_first_encryption():
    plain = {'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'NotEncrypted',
             'os_volume_encryption_settings': None, 'os_disk_stamped': False, 'data_disks_stamped': []}
    assert R.detect(plain, V2, None) is None


def test_data_only_vm_uses_extension_settings():
    st = {'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'Encrypted',
          'os_volume_encryption_settings': None, 'data_disks_stamped': ['d1'],
          'extension': {'settings': {'KeyVaultResourceId': V1, 'KeyEncryptionKeyURL': None}}}
    assert R.detect(st, V2, None)['changes'] == ['vault']


def test_affected_distros():
    assert R.affected_distro('Ubuntu', '24.04.2') and R.affected_distro('ubuntu', '22.04.5')
    assert not R.affected_distro('ubuntu', '22.04.4') and not R.affected_distro('rhel', '24.04')


# ---- the rotation as a guarded rollout: record, plan, reboot guard, proof -------------------------------------

def with_ext(st, seq, phase='succeeded'):
    st = dict(st)
    st.update(extension={'settings': {'SequenceVersion': seq}}, phase=phase, progress_message='msg')
    return st


def rotating(to, seq='seq-1', old='https://kv1.vault.azure.net/secrets/s/v'):
    return R.parse_record(R.transition(R.parse_record({}), 'rotating', seq=seq, to=to, old=old, now=0))


def test_record_transitions():
    to = R.target_digest(V2, None)
    rec = rotating(to)
    assert rec['stage'] == 'rotating' and rec['seq'] == 'seq-1' and rec['old'].endswith('/s/v') and rec['to'] == to
    again = R.parse_record(R.transition(rec, 'rotating', seq='seq-2', to=to))
    assert again['seq'] == 'seq-2' and again['old'] == rec['old']      # the old secret stays recorded
    done = R.parse_record(R.transition(rec, 'verified', to=to))
    assert done['stage'] == 'verified' and done['seq'] == 'seq-1' and done['old'] == rec['old']
    with pytest.raises(R.RotationError):
        R.transition(R.parse_record({}), 'verified', to=to)
    with pytest.raises(R.RotationError):
        R.transition(rec, 'verified', to=R.target_digest(V1, K2))
    with pytest.raises(R.RotationError):
        R.transition(R.parse_record({}), 'rotating', to=to)           # no seq
    with pytest.raises(R.RotationError):
        R.transition(R.parse_record({R.TAG_STAGE: 'bogus'}), 'rotating', seq='s', to=to)
    # another rotation after a proved one starts afresh (no old secret carried over from the last one)
    nxt = R.transition(done, 'rotating', seq='seq-9', to=R.target_digest(V1, K2))
    assert R.TAG_OLD not in nxt
    assert R.merged_tags({'a': '1', R.TAG_SEQ: 'x'}, nxt)['a'] == '1'


def test_digest_ignores_case_and_slash():
    assert R.target_digest(V2.upper() + '/', K1.upper()) == R.target_digest(V2, K1)
    assert R.target_digest(V2, None) != R.target_digest(V2, K1)


def test_plan_start_needs_rotate():
    p = R.plan(None, with_ext(status(), 'seq-0'), V2, None, rotate=False)
    assert p['action'] == 'stop' and 'rotate=true' in p['reason']
    p = R.plan(None, with_ext(status(), 'seq-0'), V2, None, rotate=True)
    assert p['action'] == 'start' and p['rotation']['changes'] == ['vault']


def test_plan_resume_wait_verify_done():
    to = R.target_digest(V2, None)
    rec = rotating(to)
    # the PUT never reached ARM: the extension still runs the old seq, the disks the old vault
    assert R.plan(rec, with_ext(status(), 'seq-0'), V2, None, rotate=True)['action'] == 'resume'
    moved = status(vault=V2)
    assert R.plan(rec, with_ext(moved, 'seq-1', 'in_progress'), V2, None)['action'] == 'wait'
    p = R.plan(rec, with_ext(moved, 'seq-1'), V2, None)
    assert p['action'] == 'verify' and 'old secret' in p['reason']
    assert R.plan(rec, with_ext(moved, 'seq-1', 'failed'), V2, None)['action'] == 'stop'
    done = R.parse_record(R.transition(rec, 'verified', to=to))
    assert R.plan(done, with_ext(moved, 'seq-1'), V2, None)['action'] == 'done'
    # never rotated, already on these keys
    assert R.plan(None, with_ext(status(), 'seq-0'), V1, None)['action'] == 'done'


def test_plan_stops_on_other_rotation_or_foreign_run():
    rec = rotating(R.target_digest(V2, None))
    assert R.plan(rec, with_ext(status(), 'seq-0'), V1, K2, rotate=True)['action'] == 'stop'
    # target keys on the disks, but another seq on the extension
    p = R.plan(rec, with_ext(status(vault=V2), 'seq-x'), V2, None)
    assert p['action'] == 'stop' and 'outside' in p['reason']
    plain = {'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'NotEncrypted',
             'os_volume_encryption_settings': None, 'os_disk_stamped': False, 'data_disks_stamped': []}
    assert R.plan(None, plain, V2, None, rotate=True)['action'] == 'stop'


GOOD_BEK = {'mounted': True, 'passphrase_file_name': 'LinuxPassPhraseFileName',
            'passphrase_files': [{'name': 'LinuxPassPhraseFileName', 'size': 256}]}
EMPTY_BEK = {'mounted': True, 'passphrase_file_name': 'LinuxPassPhraseFileName', 'passphrase_files': []}


@pytest.mark.parametrize('distro, version, affected', [
    ('ubuntu', '24.04.2', True), ('ubuntu', '22.04.5', True), ('ubuntu', '22.04.4', False),
    ('ubuntu', '20.04', False), ('rhel', '8.8', False)])
def test_reboot_guard(distro, version, affected):
    refusal, warning = R.reboot_refusal('vm1', dict(distribution=distro, version=version, bek=GOOD_BEK))
    assert refusal is None and warning is None
    refusal, warning = R.reboot_refusal('vm1', dict(distribution=distro, version=version, bek=EMPTY_BEK))
    if affected:
        assert refusal and '2035' in refusal and 'nothing sent' in refusal and warning is None
    else:
        assert refusal is None and 'passphrase file' in warning
    zero = dict(EMPTY_BEK, passphrase_files=[{'name': 'LinuxPassPhraseFileName', 'size': 0}])
    assert R.bek_usable(zero) is False
    assert R.bek_usable(dict(GOOD_BEK, mounted=False)) is False


def test_reboot_guard_needs_the_guest_report():
    refusal, _w = R.reboot_refusal('vm1', None)
    assert 'guest_bek' in refusal
    refusal, _w = R.reboot_refusal('vm1', {'distribution': 'ubuntu', 'version': '24.04.2',
                                           'bek': {'mounted': False}})
    assert 'no BEK volume mounted' in refusal


def test_verify_problems():
    to = R.target_digest(V2, None)
    rec = rotating(to)
    assert R.verify_problems(rec, with_ext(status(vault=V2), 'seq-1')) == []
    assert R.verify_problems(rec, with_ext(status(vault=V2), 'seq-1', 'in_progress'))
    assert R.verify_problems(rec, with_ext(status(), 'seq-1'))          # disks not re-stamped
    assert R.verify_problems(R.parse_record({}), with_ext(status(vault=V2), 'seq-1'))
    assert R.current_secrets(status()) == ['https://kv1.vault.azure.net/secrets/s/v']


def test_start_refusal():
    assert R.start_refusal('vm1', None, with_ext(status(), 's')) is None
    assert R.start_refusal('vm1', 'verified', with_ext(status(), 's')) is None
    assert 'stage encrypting' in R.start_refusal('vm1', 'encrypting', with_ext(status(), 's'))
    assert 'in_progress' in R.start_refusal('vm1', None, with_ext(status(), 's', 'in_progress'))

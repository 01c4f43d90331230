# -*- coding: utf-8 -*-
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import status as S
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F


def test_recorded_shape_data_done_os_in_progress_is_in_progress():
    # Shape of the Java SDK recording: message says data done, substatus says both still in progress,
    # OS disk already carries EncryptionState/encrypted (stamped).
    vm = F.encrypting_vm('Encryption succeeded for data volumes', 'EncryptionInProgress', 'EncryptionInProgress')
    st = S.compute_status(vm)
    assert st['phase'] == 'in_progress'
    assert st['os_volume_encrypted'] == 'EncryptionInProgress'
    assert st['data_volumes_encrypted'] == 'EncryptionInProgress'
    assert st['os_disk_stamped'] is True
    assert st['encryption_mode'] == 'single_pass'
    assert st['extension']['type_handler_version'] == '1.1'
    assert st['extension']['handler_version'] == '1.4.0.12'
    assert st['progress_message'] == 'Encryption succeeded for data volumes'
    assert st['os_volume_encryption_settings']['diskEncryptionKey']['sourceVault']['id'] == F.VAULT_ID


@pytest.mark.parametrize('message,os_s,data_s,vt,phase', [
    ('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted', 'All', 'succeeded'),
    ('Encryption succeeded for all volumes', 'Encrypted', 'NotMounted', 'All', 'succeeded'),     # NotMounted ok
    ('Encryption succeeded for OS volume', 'Encrypted', 'NotMounted', 'OS', 'succeeded'),
    ('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', 'Data', 'succeeded'),
    ('Encryption succeeded for data volumes', 'NotEncrypted', 'NotMounted', 'Data', 'succeeded'),
    ('OS disk encryption started', 'EncryptionInProgress', 'Encrypted', 'All', 'in_progress'),
    ('Encryption settings stamped', 'NotEncrypted', 'NotEncrypted', 'All', 'in_progress'),
    ('', 'NotEncrypted', 'NotEncrypted', 'All', 'in_progress'),
    # stamped is not encrypted: success message missing => not done
    ('Encryption settings stamped', 'Encrypted', 'Encrypted', 'All', 'in_progress'),
    # VolumeType All with the data-only success message is not the end
    ('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', 'All', 'in_progress'),
    ('OS disk successfully encrypted, please reboot the VM', 'VMRestartPending', 'Encrypted', 'All', 'restart_pending'),
    # as the extension writes it: the data volumes are unmounted in the stripped-down OS
    ('OS disk successfully encrypted, please reboot the VM', 'VMRestartPending', 'NotMounted', 'All',
     'restart_pending'),
    # after the final reboot: the pre-stripdown status again, then one more run before the final message
    ('Encryption succeeded for data volumes', 'EncryptionInProgress', 'EncryptionInProgress', 'All', 'in_progress'),
    ('', 'Encrypted', 'EncryptionInProgress', 'All', 'in_progress'),
    ('Encrypting 0 data volumes', 'Encrypted', 'EncryptionInProgress', 'All', 'in_progress'),
    ('Encryption succeeded for data volumes', 'Encrypted', 'EncryptionInProgress', 'All', 'in_progress'),
    ('Encryption settings stamped', 'EncryptionInProgress', 'NotMounted', 'OS', 'in_progress'),
    ('Encrypting data volume 1/2: 25%', 'EncryptionInProgress', 'EncryptionInProgress', 'All', 'in_progress'),
    # a new vault/KEK on volumes already encrypted: re-stamped, done
    ('Encryption settings updated', 'Encrypted', 'Encrypted', 'All', 'succeeded'),
    ('Encryption settings updated', 'NotEncrypted', 'Encrypted', 'Data', 'succeeded'),
    ('Encryption settings updated', 'EncryptionInProgress', 'EncryptionInProgress', 'All', 'in_progress'),
])
def test_completion_rule(message, os_s, data_s, vt, phase):
    st = S.compute_status(F.encrypting_vm(message, os_s, data_s, volume_type=vt))
    assert st['phase'] == phase, st['phase_reason']


@pytest.mark.parametrize('message', [
    'Restarted extension from stripped down OS',
    # Ubuntu1604EncryptionStateMachine.start_encryption + CommandExecutor.Execute (code 22)
    'Attempt #3 to unmount /oldroot failed with error: Command umount /oldroot failed with return code 32\nstdout:\n'
    '\nstderr:\numount: /oldroot: target is busy.\n, stack trace: Traceback (most recent call last):\n',
])
def test_transient_errors_do_not_fail(message):
    vm = F.encrypting_vm(message, 'EncryptionInProgress', 'Encrypted', code='ProvisioningState/failed/19',
                         level='Error', )
    st = S.compute_status(vm)
    assert st['phase'] == 'in_progress'
    assert st['transient_error'] is True


def test_os_failure_is_failed_with_message():
    msg = ('Failed to encrypt OS volume with error: Attempt #11 to unmount /oldroot failed with error: Could not '
           'unmount /oldroot in 10 attempts, stack trace: Traceback (most recent call last):\n  File "x", line 1\n'
           'Exception: Could not unmount /oldroot in 10 attempts\n, stack trace: Traceback (most recent call '
           'last):\n, machine state: unmount_oldroot')
    vm = F.encrypting_vm(msg, 'EncryptionInProgress', 'Encrypted', code='ProvisioningState/failed/19', level='Error')
    st = S.compute_status(vm)
    assert st['phase'] == 'failed'
    assert st['progress_message'] == msg
    assert 'unmount' in st['phase_reason']


def test_no_extension_not_started():
    st = S.compute_status(F.vm())
    assert st['phase'] == 'not_started'
    assert st['encryption_mode'] == 'none'
    assert st['os_volume_encrypted'] == 'NotEncrypted'
    assert st['progress_message'] == 'No Encryption extension or metadata found on the VM'


def test_extension_without_instance_view_status_is_in_progress():
    vm = F.vm(resources=[F.ade_resource(state='Creating')])
    st = S.compute_status(vm)
    assert st['phase'] == 'in_progress'
    assert st['progress_message'] == 'Extension status not available on the VM'


def test_provisioning_failed_model_is_failed():
    vm = F.vm(resources=[F.ade_resource(state='Failed')],
              iv_extensions=[F.iv_extension('Enable failed: OS distribution is not supported',
                                            code='ProvisioningState/failed/51', level='Error')])
    assert S.compute_status(vm)['phase'] == 'failed'


def test_unparseable_substatus_is_unknown():
    vm = F.vm(resources=[F.ade_resource()], iv_extensions=[F.iv_extension('Encryption succeeded for all volumes',
                                                                          'not json')])
    st = S.compute_status(vm)
    assert st['os_volume_encrypted'] == 'Unknown'
    assert st['phase'] == 'in_progress'


def test_empty_message_falls_back_to_display_status():
    vm = F.vm(resources=[F.ade_resource()], iv_extensions=[F.iv_extension('', None, code='ProvisioningState/transitioning',
                                                                          display='Transitioning')])
    st = S.compute_status(vm)
    assert st['progress_message'] == 'Transitioning'
    assert st['phase'] == 'in_progress'


def test_dual_pass_detected_from_model():
    vm = F.vm(resources=[F.ade_resource(version='0.1')],
              os_encryption_settings={'enabled': True, 'diskEncryptionKey': {'secretUrl': 'https://kv/secrets/a/b',
                                                                             'sourceVault': {'id': F.VAULT_ID}}},
              iv_extensions=[F.iv_extension('https://kv-ade.vault.azure.net/secrets/x/y', {'os': 'Encrypted',
                                                                                           'data': 'NotMounted'})])
    st = S.compute_status(vm)
    assert st['encryption_mode'] == 'dual_pass'
    assert st['os_volume_encryption_settings']['enabled'] is True


@pytest.mark.parametrize('message,data_s,code,phase', [
    # handle.py: transitioning "" (start_daemon), then "Decrypting N data volumes" and per-volume progress
    ('', 'DecryptionInProgress', 'ProvisioningState/transitioning', 'in_progress'),
    ('Decrypting 2 data volumes', 'DecryptionInProgress', 'ProvisioningState/succeeded', 'in_progress'),
    ('Decrypting data volume 1/2: 50%', 'DecryptionInProgress', 'ProvisioningState/succeeded', 'in_progress'),
    ('Decryption succeeded', 'NotEncrypted', 'ProvisioningState/succeeded', 'succeeded'),
    ('Decryption failed for /dev/sdc1', 'Encrypted', 'ProvisioningState/failed/100', 'failed'),
    # stale enable status right after the disable PUT: not yet done
    ('Encryption succeeded for data volumes', 'NotMounted', 'ProvisioningState/succeeded', 'in_progress'),
])
def test_disable_phases(message, data_s, code, phase):
    res = F.ade_resource({'VolumeType': 'Data', 'EncryptionOperation': 'DisableEncryption', 'SequenceVersion': 'x'})
    vm = F.vm(resources=[res], iv_extensions=[F.iv_extension(message, {'os': 'NotEncrypted', 'data': data_s}, code=code,
                                                             level='Error' if 'failed' in code else 'Info')])
    st = S.compute_status(vm)
    assert st['operation'] == 'DisableEncryption'
    assert st['phase'] == phase


def test_poll_interval_policy():
    base = 30.0
    early = {'phase': 'in_progress', 'progress_message': 'Encryption settings stamped',
             'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'NotEncrypted'}
    data = dict(early, progress_message='Encrypting 2 data volumes', data_volumes_encrypted='EncryptionInProgress')
    os_phase = dict(early, progress_message='OS disk encryption started', os_volume_encrypted='EncryptionInProgress')
    transient = dict(early, transient_error=True, progress_message='Restarted extension from stripped down OS')
    assert S.next_poll_interval(early, base) == 30
    assert S.next_poll_interval(data, base) == 60
    assert S.next_poll_interval(os_phase, base) == 300
    assert S.next_poll_interval(transient, base) == 300
    assert S.next_poll_interval(os_phase, base, maximum=120) == 120
    # never faster than Retry-After
    assert S.next_poll_interval(early, base, retry_after=90) == 90
    for ph in ('succeeded', 'failed', 'restart_pending', 'not_started'):
        assert S.next_poll_interval(dict(early, phase=ph), base) == 0


def test_summarise():
    sts = [{'phase': 'failed'}, {'phase': 'succeeded'}, {'phase': 'failed'}]
    out = S.summarise(sts)
    assert out['failed'] == 2 and out['succeeded'] == 1 and out['total'] == 3 and out['in_progress'] == 0


def test_dual_pass_completion_by_substatus():
    vm = F.vm(resources=[F.ade_resource(version='0.1')],
              iv_extensions=[F.iv_extension('https://kv-ade.vault.azure.net/secrets/x/y', {'os': 'Encrypted',
                                                                                           'data': 'NotMounted'})])
    assert S.compute_status(vm)['phase'] == 'succeeded'
    vm = F.vm(resources=[F.ade_resource(version='0.1')],
              iv_extensions=[F.iv_extension('https://kv-ade.vault.azure.net/secrets/x/y', {'os': 'EncryptionInProgress',
                                                                                           'data': 'NotMounted'})])
    assert S.compute_status(vm)['phase'] == 'in_progress'


@pytest.mark.parametrize('message,os_s,data_s,phase', [
    ('Encryption succeeded for data volumes', 'NotEncrypted', 'Encrypted', 'succeeded'),          # Data VM
    ('Encryption succeeded for data volumes', 'EncryptionInProgress', 'Encrypted', 'in_progress'),  # All VM, OS next
    ('Encryption succeeded for OS volume', 'Encrypted', 'NotMounted', 'succeeded'),
    ('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted', 'succeeded'),
    ('OS disk encryption started', 'EncryptionInProgress', 'Encrypted', 'in_progress'),
])
def test_listed_vm_without_extension_resources(message, os_s, data_s, phase):
    # A VM from a list call has the instance view but no `resources` (extension settings unknown).
    vm = F.vm(iv_extensions=[F.iv_extension(message, {'os': os_s, 'data': data_s})])
    st = S.compute_status(vm)
    assert st['encryption_mode'] == 'single_pass'
    assert st['phase'] == phase


def test_listed_dual_pass_detected_from_handler_version():
    vm = F.vm(iv_extensions=[F.iv_extension('https://kv/secrets/a/b', {'os': 'Encrypted', 'data': 'NotMounted'},
                                            handler='0.1.0.999345')])
    assert S.compute_status(vm)['encryption_mode'] == 'dual_pass'


def test_poll_interval_slows_down_when_reads_run_low():
    st = {'phase': 'in_progress', 'progress_message': 'Encryption settings stamped',
          'os_volume_encrypted': 'NotEncrypted', 'data_volumes_encrypted': 'NotEncrypted'}
    assert S.next_poll_interval(st, 5.0, remaining_reads=1000, reads_per_poll=20) == 5.0
    assert S.next_poll_interval(st, 5.0, remaining_reads=30, reads_per_poll=20) == 60.0
    assert S.next_poll_interval(st, 5.0, remaining_reads=30, reads_per_poll=20, retry_after=90) == 90.0


# ---- issue 10, collection side: time rules of a waiting loop

def _pending():
    return S.compute_status(F.encrypting_vm('OS disk successfully encrypted, please reboot the VM', 'VMRestartPending',
                                            'NotMounted'))


def _stuck():
    return S.compute_status(F.encrypting_vm('Restarted extension from stripped down OS', 'EncryptionInProgress',
                                            'NotMounted', code='ProvisioningState/failed/19', level='Error'))


def test_restart_pending_is_in_progress_during_the_grace_period():
    st = _pending()
    assert st['phase'] == 'restart_pending'
    early = S.apply_time_limits(st, 0)
    assert early['phase'] == 'in_progress' and 'reboots the VM itself' in early['phase_reason']
    assert S.apply_time_limits(st, S.RESTART_PENDING_GRACE - 1)['phase'] == 'in_progress'
    late = S.apply_time_limits(st, S.RESTART_PENDING_GRACE)
    assert late['phase'] == 'restart_pending' and 'did not reboot by itself' in late['phase_reason']
    assert st['phase'] == 'restart_pending'        # input untouched


def test_transient_error_that_never_clears_is_flagged():
    st = _stuck()
    assert st['phase'] == 'in_progress' and st['transient_error'] and not st['stalled']
    assert S.apply_time_limits(st, S.TRANSIENT_ERROR_LIMIT - 1)['phase'] == 'in_progress'
    out = S.apply_time_limits(st, S.TRANSIENT_ERROR_LIMIT)
    assert out['phase'] == 'failed' and out['stalled'] is True
    assert 'did not restart in the stripped-down OS' in out['phase_reason']
    assert S.apply_time_limits(st, 10, transient_limit=5)['phase'] == 'failed'
    # other phases are left alone
    done = S.compute_status(F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted'))
    assert S.apply_time_limits(done, 10 ** 6) == done


def test_status_clock_measures_how_long_the_same_status_is_shown():
    clock = S.StatusClock(transient_limit=100, restart_grace=50)
    st = _stuck()
    assert clock.apply('vm1', st, 1000.0)['phase'] == 'in_progress'
    assert clock.apply('vm1', st, 1099.0)['phase'] == 'in_progress'
    assert clock.apply('vm1', st, 1100.0)['phase'] == 'failed'
    # a change of message restarts the count (the next unmount attempt, the OS phase...)
    moved = S.compute_status(F.encrypting_vm('OS disk encryption started', 'EncryptionInProgress', 'NotMounted'))
    assert clock.apply('vm1', moved, 1200.0)['phase'] == 'in_progress'
    assert clock.apply('vm1', st, 1201.0)['phase'] == 'in_progress'
    pend = _pending()
    assert clock.apply('vm2', pend, 0.0)['phase'] == 'in_progress'
    assert clock.apply('vm2', pend, 49.0)['phase'] == 'in_progress'
    assert clock.apply('vm2', pend, 50.0)['phase'] == 'restart_pending'


@pytest.mark.parametrize('vt,data_s,stamped,skipped', [
    ('Data', 'NotMounted', (), ['vm1_data0', 'vm1_data1']),     # nothing mounted: every attached disk skipped
    ('Data', 'Encrypted', (0,), ['vm1_data1']),                 # one mounted + encrypted, one left alone
    ('Data', 'Encrypted', (0, 1), []),
    ('All', 'Encrypted', (0,), ['vm1_data1']),
])
def test_data_enable_that_skipped_attached_disks_warns(vt, data_s, stamped, skipped):
    msg = S.SUCCESS_MESSAGES[vt][0]
    os_s = 'Encrypted' if vt == 'All' else 'NotEncrypted'
    vm = F.encrypting_vm(msg, os_s, data_s, volume_type=vt, stamped=vt == 'All', data_disks=2, data_stamped=stamped)
    st = S.compute_status(vm)
    assert st['phase'] == 'succeeded'
    assert st['skipped_data_disks'] == skipped
    if skipped:
        assert len(st['warnings']) == 1 and ', '.join(skipped) in st['warnings'][0]
        assert 'NOT encrypted' in st['warnings'][0]
    else:
        assert st['warnings'] == []


def test_no_warning_while_in_progress_or_without_data_disks():
    st = S.compute_status(F.encrypting_vm('Encrypting 0 data volumes', 'NotEncrypted', 'EncryptionInProgress',
                                          volume_type='Data', data_disks=2))
    assert st['phase'] == 'in_progress' and st['warnings'] == []
    st = S.compute_status(F.encrypting_vm('Encryption succeeded for data volumes', 'NotEncrypted', 'NotMounted',
                                          volume_type='Data', stamped=False))
    assert st['phase'] == 'succeeded' and st['warnings'] == [] and st['skipped_data_disks'] == []


def test_status_clock_limits_from_the_environment():
    clock = S.StatusClock(environ={'AZURE_ADE_TRANSIENT_ERROR_LIMIT': '5', 'AZURE_ADE_RESTART_PENDING_GRACE': 'x'})
    assert clock.transient_limit == 5.0 and clock.restart_grace == S.RESTART_PENDING_GRACE
    assert S.StatusClock(transient_limit=7, environ={'AZURE_ADE_TRANSIENT_ERROR_LIMIT': '5'}).transient_limit == 7
    assert S.StatusClock(environ={}).transient_limit == S.TRANSIENT_ERROR_LIMIT

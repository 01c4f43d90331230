# -*- coding: utf-8 -*-
"""Reading a whole wave at once: which hosts' VMs go into the one call, and each host's entry back out."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import wave as W

SUB_A = '11111111-1111-1111-1111-111111111111'
SUB_B = '22222222-2222-2222-2222-222222222222'


def hv(stage, rg='rg1', name=None, sub=None, timeout=None):
    d = {'ade_stage': stage, 'ade_vm': {'resource_group': rg, 'name': name, 'subscription_id': sub}}
    if timeout is not None:
        d['ade_wait_timeout'] = timeout
    return d


def test_only_hosts_at_the_stage_with_a_known_vm():
    hostvars = {'a': hv('wait', name='vm-a', timeout=100), 'b': hv('plan', name='vm-b'),
                'c': hv('wait', name=None), 'd': hv('wait', name='vm-d', timeout='300'), 'e': {}}
    out = W.wave_vms(['a', 'b', 'c', 'd', 'e', 'not-in-hostvars'], hostvars, 'wait')
    assert len(out) == 1
    assert out[0]['subscription_id'] is None
    assert out[0]['hosts'] == ['a', 'd']
    assert out[0]['timeout'] == 300
    assert out[0]['names'] == [W.names_for(None, 'rg1', 'vm-a'), W.names_for(None, 'rg1', 'vm-d')]


def test_one_group_per_subscription_sorted():
    hostvars = {'a': hv('plan', name='vm-a', sub=SUB_B), 'b': hv('plan', name='vm-b', sub=SUB_A),
                'c': hv('plan', name='vm-c', rg='rg2', sub=SUB_B), 'd': hv('plan', name='vm-d')}
    out = W.wave_vms(['a', 'b', 'c', 'd'], hostvars, 'plan')
    assert [g['subscription_id'] for g in out] == [None, SUB_A, SUB_B]
    assert out[2]['hosts'] == ['a', 'c']
    assert out[2]['names'][1] == '/subscriptions/%s/resourceGroups/rg2/providers/Microsoft.Compute/virtualMachines/vm-c' % SUB_B


def test_nobody_at_the_stage_gives_no_call():
    assert W.wave_vms(['a'], {'a': hv('identity', name='vm-a')}, 'plan') == []
    assert W.wave_vms(None, {}, 'plan') == []


def test_names_parse_back_to_resource_group_and_name():
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.resource_ids import parse_resource_id
    p = parse_resource_id(W.names_for(None, 'rg-x', 'vm-1'))
    assert (p['resource_group'], p['name'], p['type']) == ('rg-x', 'vm-1', 'virtualMachines')


def entry(rg, name, phase='succeeded'):
    return {'resource_group': rg, 'name': name, 'phase': phase}


def test_pick_from_a_loop_result_case_insensitive():
    res = {'results': [{'skipped': True},
                       {'vms': [entry('RG1', 'VM-A'), entry('rg1', 'vm-b', 'failed')], 'timed_out': True},
                       {'vms': [entry('rg2', 'vm-a')], 'timed_out': False}]}
    got = W.pick(res, {'resource_group': 'rg1', 'name': 'vm-b'})
    assert got == {'vms': [entry('rg1', 'vm-b', 'failed')], 'timed_out': True, 'found': True}
    got = W.pick(res, {'resource_group': 'rg2', 'name': 'VM-A'})
    assert got['found'] and got['vms'][0]['resource_group'] == 'rg2' and got['timed_out'] is False


def test_pick_a_vm_not_in_the_answer_is_not_found():
    got = W.pick({'results': [{'vms': [entry('rg1', 'vm-a')], 'timed_out': True}]}, {'resource_group': 'rg1', 'name': 'vm-z'})
    assert got == {'vms': [{}], 'timed_out': True, 'found': False}
    assert W.pick(None, None)['found'] is False


def test_pick_from_a_single_result():
    got = W.pick({'vms': [entry('rg1', 'vm-a')]}, {'resource_group': 'rg1', 'name': 'vm-a'})
    assert got['found'] and got['vms'][0]['name'] == 'vm-a'


def _vm(resources=None, iv_ext=True, message='Encryption succeeded for all volumes', level='Info'):
    exts = []
    if iv_ext:
        exts.append({'name': 'AzureDiskEncryptionForLinux', 'type': 'Microsoft.Azure.Security.AzureDiskEncryptionForLinux',
                     'typeHandlerVersion': '1.4.0.12',
                     'statuses': [{'code': 'ProvisioningState/succeeded', 'level': level, 'displayStatus': 'Provisioning succeeded',
                                   'message': message}],
                     'substatuses': [{'code': 'ComponentStatus/EncryptionStatus/succeeded', 'level': 'Info',
                                      'message': '{"os": "Encrypted", "data": "Encrypted"}'}]})
    vm = {'name': 'vm1', 'id': '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1',
          'properties': {'instanceView': {'extensions': exts, 'statuses': []}, 'storageProfile': {'osDisk': {'name': 'os'}}}}
    if resources is not None:
        vm['resources'] = resources
    return vm


def test_a_listed_vm_with_ade_is_read_again_when_its_settings_matter():
    assert W.needs_full_read(_vm(), waiting=False) is False           # no rollout record: a status read stays a list
    listed = _vm()
    listed['tags'] = {'azure_ade_snapshot_set': 'r1', 'azure_ade_rollout_stage': 'encrypting', 'azure_ade_rollout_seq': 'S'}
    assert W.needs_full_read(listed, waiting=False) is True          # the plan compares the SequenceVersion
    assert W.needs_full_read(listed, waiting=True) is True           # terminal: this run's or an earlier one's?
    running = _vm(message='Encrypting data volume 1/1: 50%')
    running['tags'] = listed['tags']
    assert W.needs_full_read(running, waiting=True) is False          # still running: the list read is enough
    no_ade = _vm(iv_ext=False)
    no_ade['tags'] = listed['tags']
    assert W.needs_full_read(no_ade, waiting=False) is False          # no ADE: nothing to compare
    full = _vm(resources=[{'name': 'AzureDiskEncryptionForLinux', 'properties': {
        'publisher': 'Microsoft.Azure.Security', 'type': 'AzureDiskEncryptionForLinux', 'settings': {'SequenceVersion': 'x'}}}])
    assert W.needs_full_read(full, waiting=False) is False            # a GET already carries the settings


def test_an_undeclared_stage_is_an_error_not_a_silent_drop():
    with pytest.raises(W.WaveError, match='not a wave stage'):
        W.wave_vms(['a'], {'a': hv('waiting', name='vm-a')}, 'waiting')
    with pytest.raises(W.WaveError, match="host a is at the undeclared stage 'waiting'"):
        W.wave_vms(['a', 'b'], {'a': hv('waiting', name='vm-a'), 'b': hv('wait', name='vm-b')}, 'wait')


def test_a_listed_ade_vm_with_a_data_disk_added_later_is_read_again():
    # issue 16 item 4: one data disk stamped, one not - the plan needs VolumeType/SequenceVersion (add-on path)
    enc = [{'code': 'EncryptionState/encrypted', 'level': 'Info'}]
    plain = [{'code': 'EncryptionState/notEncrypted', 'level': 'Info'}]
    vm = _vm()
    vm['properties']['storageProfile']['dataDisks'] = [{'lun': 0, 'name': 'd0'}, {'lun': 7, 'name': 'late'}]
    vm['properties']['instanceView']['disks'] = [{'name': 'os', 'statuses': plain}, {'name': 'd0', 'statuses': enc},
                                                 {'name': 'late', 'statuses': plain}]
    assert W.needs_full_read(vm, waiting=False) is True
    assert W.needs_full_read(vm, waiting=True) is False               # a wait reads terminal VMs by its own rule
    vm['properties']['instanceView']['disks'][2]['statuses'] = enc
    assert W.needs_full_read(vm, waiting=False) is False              # every data disk stamped: the list read will do
    os_only = _vm()
    os_only['properties']['storageProfile']['dataDisks'] = [{'lun': 0, 'name': 'd0'}]
    os_only['properties']['instanceView']['disks'] = [{'name': 'os', 'statuses': enc}, {'name': 'd0', 'statuses': plain}]
    assert W.needs_full_read(os_only, waiting=False) is False         # VolumeType OS: a status read stays a list
    os_only['tags'] = {'azure_ade_addon_stage': 'encrypting'}
    assert W.needs_full_read(os_only, waiting=False) is True          # an unfinished add-on run


# ---- triage: the encrypt job's one decision per host after the wave's read (issue 18 item 4) -----------------

VMID = 'aaaaaaaa-0000-0000-0000-000000000001'
TARGET = {'subscription_id': None, 'resource_group': 'rg1', 'name': 'vm1', 'source': 'NIC address match', 'error': None}
CONFIRMED = {'answered': True, 'vm_id': VMID, 'error': None}
SILENT = {'answered': False, 'vm_id': None, 'error': 'unreachable over SSH'}


def wave_read(stage=None, phase='not_started', seq=None, mode=None):
    from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R
    tags = {R.TAG_RUN: 'ade-r1', R.TAG_STAGE: stage} if stage else {}
    if seq:
        tags[R.TAG_SEQ] = seq
    e = {'name': 'vm1', 'resource_group': 'rg1', 'vm_id': VMID, 'rollout': R.parse_record(tags), 'phase': phase,
         'operation': 'EnableEncryption' if seq else None,
         'extension': {'settings': {'SequenceVersion': seq, 'EncryptionOperation': 'EnableEncryption'}} if seq else None,
         'os_volume_encrypted': 'Encrypted' if phase == 'succeeded' else 'NotEncrypted',
         'data_volumes_encrypted': 'Encrypted' if phase == 'succeeded' else 'NotEncrypted'}
    if mode:
        e['encryption_mode'] = mode
    return {'results': [{'vms': [e]}]}


def test_triage_a_finished_vm_ends_the_host_with_its_outcome():
    t = W.triage(TARGET, wave_read('verified', 'succeeded', 'seq1'), CONFIRMED, True, 'ade-new', host='h1')
    assert t['end'] and not t['fail'] and t['outcome'] == 'already_encrypted'
    assert t['plan']['action'] == 'done' and t['message'] == t['plan']['reason']
    assert t['identity']['confirmed'] and t['info']['found'] and t['run_set'] == 'ade-r1' and not t['changed']


def test_triage_a_new_vm_goes_on_under_the_new_run():
    t = W.triage(TARGET, wave_read(), CONFIRMED, True, 'ade-new', host='h1')
    assert not t['end'] and not t['fail'] and t['outcome'] == 'in_progress'
    assert t['plan']['action'] == 'start' and t['run_set'] == 'ade-new' and not t['changed']


def test_triage_refuses_when_the_guest_disagrees_even_on_a_finished_vm():
    lying = {'answered': True, 'vm_id': 'bbbbbbbb-0000-0000-0000-000000000002', 'error': None}
    t = W.triage(TARGET, wave_read('verified', 'succeeded', 'seq1'), lying, True, 'ade-new', host='h1')
    assert t['fail'] and not t['end'] and 'is not the vmId' in t['fail'] and 'NIC address match' in t['fail']
    no_id = {'answered': True, 'vm_id': None, 'error': None}
    assert 'without an IMDS vmId' in W.triage(TARGET, wave_read(), no_id, True, 'ade-new')['fail']


def test_triage_a_silent_guest_may_end_or_wait_but_never_starts_a_run():
    done = W.triage(TARGET, wave_read('verified', 'succeeded', 'seq1'), SILENT, False, 'ade-new', host='h1')
    assert done['end'] and not done['fail']
    new = W.triage(TARGET, wave_read(), SILENT, False, 'ade-new', host='h1')
    assert not new['end'] and 'needs the guest to confirm the VM' in new['fail'] and new['fail'].startswith('Identity of h1')
    waiting = W.triage(TARGET, wave_read('encrypting', 'in_progress', 'seq1'), SILENT, False, 'ade-new')
    assert waiting['plan']['action'] == 'wait' and not waiting['fail'] and not waiting['end'] and waiting['changed']
    # a guest that answered Ansible but whose IMDS gave no answer is no confirmation either
    assert W.triage(TARGET, wave_read(), SILENT, True, 'ade-new')['fail']


def test_triage_a_vm_not_found_or_a_bad_target_refuses():
    missing = {'results': [{'vms': []}]}
    assert 'was not found in Azure' in W.triage(TARGET, missing, CONFIRMED, True, 'ade-new')['fail']
    bad = dict(TARGET, error='two VMs carry address 10.0.0.4')
    assert 'two VMs carry address' in W.triage(bad, wave_read(), CONFIRMED, True, 'ade-new')['fail']


def test_triage_stop_ends_with_needs_attention_and_a_dual_pass_vm_to_migrate_goes_on():
    foreign = W.triage(TARGET, wave_read(None, 'in_progress', 'seq9'), CONFIRMED, True, 'ade-new')
    assert foreign['end'] and foreign['plan']['action'] == 'stop' and foreign['outcome'] == 'needs_attention'
    dual = wave_read(None, 'succeeded', 'seq1', mode='dual_pass')
    assert W.triage(TARGET, dual, CONFIRMED, True, 'ade-new')['end']
    assert not W.triage(TARGET, dual, CONFIRMED, True, 'ade-new', migrate_dual_pass=True)['end']


def test_triage_data_disks_added_later_take_the_add_on_path_with_the_guest_confirming():
    # issue 16 item 4: a verified VM with a data disk added after the encryption does not end as done
    res = wave_read('verified', 'succeeded', 'seq1')
    res['results'][0]['vms'][0].update(encryption_mode='single_pass', volume_type='Data', skipped_data_disks=['late'],
                                       skipped_data_luns=[7], addon={'stage': None})
    t = W.triage(TARGET, res, CONFIRMED, True, 'ade-new', host='h1')
    assert not t['end'] and not t['fail'] and t['plan']['action'] == 'addon'
    assert t['plan']['addon_luns'] == [7] and t['plan']['addon_set'] == 'ade-new-addon'
    t = W.triage(TARGET, res, SILENT, False, 'ade-new', host='h1')
    assert t['fail'] and 'confirm' in t['fail']


def test_triage_a_done_vm_whose_guest_kept_a_saved_selinux_state_puts_it_back_before_it_ends():
    # chaos soak 2026-12-08: a run killed between the SELinux fix and its put-back while the encryption went on to the
    # end; the next run found the VM done and ended the host - SELinux stayed permissive (R1.4)
    res = wave_read('encrypting', 'succeeded', 'seq1')   # restart check off: the record's last stage
    t = W.triage(TARGET, res, CONFIRMED, True, 'ade-new', verify=False, host='h1', selinux_saved=True)
    assert t['end'] and t['plan']['action'] == 'done' and t['putback_selinux']
    assert t['outcome'] == 'already_encrypted' and 'SELinux put back' in t['message']
    assert not W.triage(TARGET, res, CONFIRMED, True, 'ade-new', verify=False)['putback_selinux']
    # an unreachable guest cannot be put back; a VM not ours (stop) is never touched
    assert not W.triage(TARGET, res, SILENT, False, 'ade-new', verify=False, selinux_saved=True)['putback_selinux']
    foreign = W.triage(TARGET, wave_read(None, 'in_progress', 'seq9'), CONFIRMED, True, 'ade-new', selinux_saved=True)
    assert foreign['end'] and foreign['plan']['action'] == 'stop' and not foreign['putback_selinux']
    # a run that goes on puts SELinux back at its own verify stage
    assert not W.triage(TARGET, wave_read(), CONFIRMED, True, 'ade-new', selinux_saved=True)['putback_selinux']

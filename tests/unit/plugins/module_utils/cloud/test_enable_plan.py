# -*- coding: utf-8 -*-
"""vm_encryption state=encrypted decided before anything is written: refusals, steps, request body."""
from __future__ import absolute_import, division, print_function
__metaclass__ = type

import sys

import pytest

if sys.version_info < (3, 10):
    pytest.skip('controller code: Python 3.10+', allow_module_level=True)

from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import enable_plan as P
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud import rollout as R
from ansible_collections.azure_ade.linux.plugins.module_utils.cloud.status import compute_status
from ansible_collections.azure_ade.linux.tests.unit.plugins.module_utils.cloud import vmfactory as F

SUFFIX = 'vault.azure.net'
KEK = 'https://kv-ade.vault.azure.net/keys/kek/4f1c0e2d9b8a4c7e8f6a5b4c3d2e1f00'
SEQ = '0b7c1e6e-7d0a-4b8e-9f61-3c5d2a1e9b01'


def params(**kw):
    p = dict(key_vault='kv-ade', key_vault_resource_group=None, volume_type='All', kek=None, kek_vault=None,
             algorithm='RSA-OAEP', encrypt_format_all=False, confirm_format_all=False, encryption_identity=None,
             migrate_dual_pass=False)
    p.update(kw)
    return p


def plan(vm, p=None, vault=None, snapshot_set=None, check_mode=False, kek_url=None, kek_errors=()):
    p = p or params()
    frozen = dict(p)
    st = compute_status(vm)
    want = P.wanted(p, vm)
    pre = P.precheck(want, vm, st, F.SUB, F.RG)
    out = P.decide(want, pre, vm, st, vault if vault is not None else F.vault(), kek_url=kek_url or want['kek'],
                   kek_errors=kek_errors, keyvault_suffix=SUFFIX, snapshot_set=snapshot_set, check_mode=check_mode)
    assert p == frozen   # the parameters are never changed
    return out


def test_new_ade_plan_steps_and_body():
    out = plan(F.vm())
    assert out['action'] == 'enable' and out['eah_check'] and out['steps'] == ['put_extension']
    s = out['body']['properties']['settings']
    assert s['KeyVaultResourceId'] == F.VAULT_ID and s['VolumeType'] == 'All' and s['EncryptionOperation'] == 'EnableEncryption'
    assert out['settings']['SequenceVersion'] == s['SequenceVersion']
    assert out['kek_resolved'] is None


def test_rollout_run_records_intent_before_and_acceptance_after_the_put():
    vm = F.vm()
    vm['tags'] = R.transition(None, 'snapshot_taken', snapshot_set='ade-r1')
    out = plan(vm, snapshot_set='ade-r1')
    assert out['steps'] == ['record_enabling', 'put_extension', 'record_accepted']


def test_no_snapshot_set_of_this_run_no_enable():
    vm = F.vm()
    with pytest.raises(P.Refusal, match='never encrypt without a snapshot set'):
        plan(vm, snapshot_set='ade-r1')
    vm['tags'] = R.transition(None, 'snapshot_taken', snapshot_set='ade-other')
    with pytest.raises(P.Refusal, match='run ade-other, stage snapshot_taken'):
        plan(vm, snapshot_set='ade-r1')


def test_done_vm_is_left_alone_and_an_unrecorded_accepted_put_is_recorded():
    vm = F.encrypting_vm('Encryption succeeded for all volumes', 'Encrypted', 'Encrypted')
    vm['tags'] = R.transition(R.parse_record(R.transition(None, 'snapshot_taken', snapshot_set='ade-r1')), 'enabling',
                              seq=SEQ)
    out = plan(vm, snapshot_set='ade-r1')
    assert out['action'] == 'none' and out['steps'] == ['record_encrypting'] and out['body'] is None
    assert plan(vm, snapshot_set='ade-r1', check_mode=True)['steps'] == []
    assert plan(vm)['steps'] == [] and not plan(vm)['eah_check']


def test_refusals_before_any_read():
    with pytest.raises(P.Refusal, match='needs key_vault and volume_type'):
        P.precheck(P.wanted(params(volume_type=None), F.vm()), F.vm(), {}, F.SUB, F.RG)
    with pytest.raises(P.Refusal):
        P.precheck(P.wanted(params(key_vault='/subscriptions/x/bad'), F.vm()), F.vm(), {}, F.SUB, F.RG)


def test_refusals_after_the_reads_carry_errors_and_status():
    with pytest.raises(P.Refusal) as exc:
        plan(F.vm(), vault=F.vault(enabled=False))
    assert 'not enabled for disk encryption' in exc.value.msg and exc.value.extra['errors']
    assert 'status' in exc.value.extra and 'ade_blockers' in exc.value.extra
    with pytest.raises(P.Refusal, match='kek gone'):
        plan(F.vm(), params(kek=KEK), kek_errors=['kek gone'])
    with pytest.raises(P.Refusal, match='not running'):
        plan(F.vm(power='deallocated'))


def test_kek_resolved_is_reported_and_used():
    out = plan(F.vm(), params(kek='kek'), kek_url=KEK)
    assert out['kek_resolved'] == KEK and out['settings']['KeyEncryptionKeyURL'] == KEK


def test_eah_refusal():
    P.eah_refusal(None, {}, {'reason': 'r'}, {'blockers': []})
    with pytest.raises(P.Refusal, match='refuse'):
        P.eah_refusal('refusing new ADE (prefer_encryption_at_host=refuse): x', {}, {'reason': 'r'}, {'blockers': []})

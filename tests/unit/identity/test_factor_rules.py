"""The second factor's rules (identity/domain/factors.py) and its two adapters' pure parts: who must have one, what a
session still needs, a code accepted once, each factor's own threshold, the codes' shape, and the TOTP window."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pyotp
import pytest

from tests.unit.identity.builders import account

from identity.adapters import totp
from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox, key_problem
from identity.domain.factors import (
    Factor,
    FactorKind,
    FactorStatus,
    Step,
    acr_of,
    amr_of,
    new_recovery_codes,
    normalize_recovery_code,
    normalize_totp_code,
    outlived_by_factor,
    required_of,
    step_after_password,
)

NOW = dt.datetime(2026, 12, 6, 9, 30, 10, tzinfo=dt.UTC)
NONE = FactorStatus(frozenset(), frozenset(), 0)


def factor(kind: FactorKind = FactorKind.TOTP, **changes: object) -> Factor:
    base = Factor("V100001", kind, b"sealed", NOW, 0, 0, NOW)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_every_asl_needs_a_factor_and_a_user_only_when_the_company_says_so() -> None:
    asl, user = account("V100001", administrator=True), account("V100002")
    assert required_of(asl, company_requires=False) and not required_of(user, company_requires=False)
    assert required_of(user, company_requires=True)
    assert step_after_password(asl, NONE, company_requires=False) == Step.ENROL
    assert step_after_password(user, NONE, company_requires=False) == Step.NONE
    assert step_after_password(user, NONE, company_requires=True) == Step.ENROL


def test_an_enrolled_factor_is_always_asked_for_whatever_the_policy() -> None:
    status = FactorStatus.of([factor()], 5, 10)
    for who in (account("V100002"), account("V100001", administrator=True)):
        for requires in (False, True):
            assert step_after_password(who, status, company_requires=requires) == Step.VERIFY


def test_an_unconfirmed_app_is_no_factor_and_a_spent_set_of_codes_is_none_either() -> None:
    status = FactorStatus.of([factor(confirmed_at=None), factor(FactorKind.RECOVERY_CODE)], 5, 0)
    assert not status.has_factor and status.usable == []


def test_each_factor_locks_on_its_own_count() -> None:
    status = FactorStatus.of([factor(failed_attempts=5), factor(FactorKind.RECOVERY_CODE, failed_attempts=2)], 5, 7)
    assert status.locked == {FactorKind.TOTP} and status.usable == [FactorKind.RECOVERY_CODE]
    assert not factor(failed_attempts=5).may_try(5) and factor(failed_attempts=4).may_try(5)


def test_a_step_is_accepted_once_and_never_an_earlier_one() -> None:
    used = factor(last_step=1000)
    assert used.accepts_step(1001) and not used.accepts_step(1000) and not used.accepts_step(999)


def test_amr_and_acr() -> None:
    assert amr_of() == "pwd" and acr_of("pwd") == "pwd"
    assert amr_of("otp") == "pwd otp" and acr_of("pwd otp") == "mfa" and acr_of("pwd rcode") == "mfa"


def test_recovery_codes_are_ten_distinct_long_codes_typed_any_way() -> None:
    codes = new_recovery_codes()
    assert len(set(codes)) == 10 and all(re.fullmatch(r"([a-z2-9]{5}-){4}[a-z2-9]{5}", c) for c in codes)
    assert normalize_recovery_code(codes[0].upper().replace("-", " ")) == codes[0].replace("-", "")


@pytest.mark.parametrize("typed, expected", [("123456", "123456"), (" 123 456 ", "123456"), ("12345", None),
                                             ("1234567", None), ("12345a", None), ("١٢٣٤٥٦", None)])
def test_a_totp_code_is_six_ascii_digits(typed: str, expected: str | None) -> None:
    assert normalize_totp_code(typed) == expected


def test_a_code_matches_its_step_within_one_step_either_side() -> None:
    secret = totp.new_secret()
    step = int(NOW.timestamp()) // 30
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(secret).at((step + offset) * 30)
        assert totp.matching_step(secret, code, NOW) == step + offset
    assert totp.matching_step(secret, pyotp.TOTP(secret).at((step + 2) * 30), NOW) is None
    assert "secret=" in totp.provisioning_uri(secret, "V100001", "Portail") and len(secret) == 32


def test_the_box_opens_only_what_its_key_sealed_and_production_refuses_the_development_key() -> None:
    box = FactorBox(DEVELOPMENT_KEY)
    sealed = box.seal("JBSWY3DPEHPK3PXP")
    assert b"JBSWY3DPEHPK3PXP" not in sealed and box.open(sealed) == "JBSWY3DPEHPK3PXP"
    assert box.seal("JBSWY3DPEHPK3PXP") != sealed  # a fresh nonce each time
    assert FactorBox("b" * 43 + "=").open(sealed) is None
    assert key_problem(DEVELOPMENT_KEY) and key_problem("not base64!") and not key_problem("b" * 43 + "=")


def test_a_password_only_session_does_not_outlive_the_accounts_first_factor() -> None:
    assert outlived_by_factor("pwd", Step.NONE, has_factor=True)
    assert not outlived_by_factor("pwd otp", Step.NONE, has_factor=True)
    assert not outlived_by_factor("pwd", Step.VERIFY, has_factor=True)  # the half-done login itself
    assert not outlived_by_factor("pwd", Step.NONE, has_factor=False)

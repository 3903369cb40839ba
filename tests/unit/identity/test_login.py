"""Login's rules on a fake unit of work: the lockout (one home: Account.register_failure), the equal work for
unknown identifiers, the refusals told only to the right password, and the rate limits."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.errors import PermissionDenied, ResourceExhausted, Unauthenticated
from tests.unit.identity.builders import NOW, PASSWORD, ROOT, account, world

from identity.domain import events as ev
from identity.domain.accounts import DisabledCause, LockCause, State

WRONG = "Pas le bon mot de passe du tout, vraiment pas"


async def test_the_right_password_opens_a_session_and_gives_the_attempt_back() -> None:
    w = world()
    w.add(account("V100001", failed_attempts=2))
    opened = await w.login("v100001", PASSWORD, client="203.0.113.9")
    assert opened.account.identifier == "V100001" and not opened.must_change_password
    stored = w.store.accounts["V100001"]
    assert stored.failed_attempts == 0 and stored.last_login_at == NOW
    [logged_in] = w.store.of(ev.LoggedIn)
    assert logged_in.identifier == "V100001"


async def test_the_threshold_blocks_once_and_then_no_password_is_checked() -> None:
    w = world(lockout_threshold=3)
    w.add(account("V100001"))
    for _ in range(3):
        with pytest.raises(Unauthenticated):
            await w.login("V100001", WRONG)
    [locked] = w.store.of(ev.AccountLocked)
    assert locked.cause == LockCause.FAILED_ATTEMPTS and locked.failed_attempts == 3
    assert w.store.accounts["V100001"].state == State.BLOCKED
    with pytest.raises(Unauthenticated) as refused:  # past the threshold even the right password is not checked
        await w.login("V100001", PASSWORD)
    assert refused.value.reason == "INVALID_CREDENTIALS"
    assert [e.detail for e in w.store.of(ev.LoginFailed)] == ["attempt 1", "attempt 2", "attempt 3", "not checked"]
    assert len(w.store.of(ev.AccountLocked)) == 1


async def test_the_previous_password_blocks_at_once() -> None:
    w = world()
    w.add(account("V100001", password_history=["hash:the previous one, changed last week"],
                  password_changed_at=NOW - dt.timedelta(days=7)))
    with pytest.raises(Unauthenticated):
        await w.login("V100001", "the previous one, changed last week")
    [locked] = w.store.of(ev.AccountLocked)
    assert locked.cause == LockCause.PREVIOUS_PASSWORD


async def test_an_unknown_identifier_costs_the_same_hashing_as_a_wrong_password() -> None:
    w = world()
    w.add(account("V100001"))
    with pytest.raises(Unauthenticated) as unknown:
        await w.login("V999999", WRONG)
    unknown_work, w.hasher.verified = w.hasher.verified, 0
    with pytest.raises(Unauthenticated) as wrong:
        await w.login("V100001", WRONG)
    assert unknown.value.reason == wrong.value.reason == "INVALID_CREDENTIALS"
    assert unknown_work == w.hasher.verified == 2
    assert [e.detail for e in w.store.of(ev.LoginFailed)] == ["unknown identifier", "attempt 1"]


@pytest.mark.parametrize(("shape", "reason"), [
    ({"state": State.DISABLED}, "ACCOUNT_DISABLED"),
    ({"state": State.DISABLED, "disabled_cause": DisabledCause.SUPPLIER_DEACTIVATED}, "COMPANY_ACCESS_CLOSED"),
    ({"state": State.DISABLED, "disabled_cause": DisabledCause.ACCESS_RESET}, "COMPANY_ACCESS_CLOSED"),
    ({"must_change_password": True, "password_expires_at": NOW - dt.timedelta(seconds=1)},
     "TEMPORARY_PASSWORD_EXPIRED"),
])
async def test_the_right_password_learns_the_real_reason_and_the_attempt_is_given_back(
        shape: dict[str, object], reason: str) -> None:
    w = world()
    w.add(account("V100001", **shape))  # type: ignore[arg-type]
    with pytest.raises(PermissionDenied) as refused:
        await w.login("V100001", PASSWORD)
    assert refused.value.reason == reason
    assert w.store.accounts["V100001"].failed_attempts == 0
    assert [e.reason for e in w.store.of(ev.LoginRefused)] == [reason]


async def test_a_closed_company_refuses_the_right_password() -> None:
    w = world()
    w.store.add_company(ROOT, open_=False)
    w.add(account("V100001"))
    with pytest.raises(PermissionDenied) as refused:
        await w.login("V100001", PASSWORD)
    assert refused.value.reason == "COMPANY_ACCESS_CLOSED"


async def test_the_identifier_limit_refuses_before_any_hashing() -> None:
    w = world(login_limit_per_identifier_per_minute=2)
    w.add(account("V100001"))
    for _ in range(2):
        await w.login("V100001", PASSWORD)
    w.hasher.verified = 0
    with pytest.raises(ResourceExhausted):
        await w.login("V100001", PASSWORD)
    assert w.hasher.verified == 0

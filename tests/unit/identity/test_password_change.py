"""ChangePassword on a fake unit of work: the history (one home: Account.recent_password_hashes and
Account.change_password) and the wrong current password counted under the login threshold."""
from __future__ import annotations

import datetime as dt

import pytest

from kit.errors import InvalidArgument
from tests.unit.identity.builders import NOW, PASSWORD, account, world

from identity.domain import events as ev
from identity.domain.accounts import LockCause, State
from identity.service_layer.sessions import ValidSession

NEW = "Un café noisette sur la place Stanislas à Nancy"


def session_of(a: object) -> ValidSession:
    return ValidSession(a, False, NOW + dt.timedelta(hours=1), NOW + dt.timedelta(minutes=30), b"d", {})  # type: ignore[arg-type]


async def test_a_change_moves_the_chosen_password_to_the_history_and_ends_other_sessions() -> None:
    w = world()
    w.add(account("V100001"))
    w.store.sessions[b"old"] = {"identifier": "V100001", "revoked_at": None}
    opened = await w.password_change(session_of(w.store.accounts["V100001"]), PASSWORD, NEW)
    stored = w.store.accounts["V100001"]
    assert stored.password_hash == f"hash:{NEW}" and stored.password_history == [f"hash:{PASSWORD}"]
    [changed] = w.store.of(ev.PasswordChanged)
    assert not changed.was_temporary
    assert w.store.sessions[b"old"]["revoked_at"] == NOW
    assert [row["revoked_at"] for row in w.store.sessions.values() if row is not w.store.sessions[b"old"]] == [None]
    assert opened.account.identifier == "V100001"


async def test_a_recent_password_is_refused() -> None:
    w = world()
    w.add(account("V100001", password_history=[f"hash:{NEW}"]))
    with pytest.raises(InvalidArgument) as refused:
        await w.password_change(session_of(w.store.accounts["V100001"]), PASSWORD, NEW)
    assert "PASSWORD_RECENTLY_USED" in str(refused.value.violations)
    [event] = w.store.of(ev.PasswordChangeRefused)
    assert event.detail == "PASSWORD_RECENTLY_USED"


async def test_wrong_current_passwords_block_at_the_login_threshold() -> None:
    w = world(lockout_threshold=2)
    w.add(account("V100001"))
    for _ in range(2):
        with pytest.raises(InvalidArgument) as refused:
            await w.password_change(session_of(w.store.accounts["V100001"]), "not the current one at all", NEW)
        assert refused.value.reason == "CURRENT_PASSWORD_INCORRECT"
    assert w.store.accounts["V100001"].state == State.BLOCKED
    [locked] = w.store.of(ev.AccountLocked)
    assert locked.cause == LockCause.FAILED_ATTEMPTS

"""The account's rules (identity/domain/accounts.py), each change with its one event: lockout, unlock, the password
history and the enable/disable pair."""
from __future__ import annotations

import datetime as dt

import pytest

from tests.unit.identity.builders import NOW, account

from identity.domain import events as ev
from identity.domain.accounts import AccountIsDisabled, DisabledCause, LastActiveAdministrator, LockCause, State


def test_a_failure_below_the_threshold_records_nothing_and_one_at_it_locks() -> None:
    a = account("V100001", failed_attempts=4)
    assert not a.register_failure(NOW, threshold=5) and a.events == []
    a.failed_attempts = 5
    assert a.register_failure(NOW, threshold=5)
    assert a.state == State.BLOCKED and a.locked_at == NOW
    [locked] = a.events
    assert isinstance(locked, ev.AccountLocked) and locked.cause == LockCause.FAILED_ATTEMPTS
    assert locked.ends_sessions and locked.detail == "failed_attempts"


def test_only_an_active_account_is_locked() -> None:
    a = account("V100001", state=State.DISABLED, failed_attempts=9)
    assert not a.register_failure(NOW, threshold=5, replayed_previous=True) and a.events == []


def test_the_history_keeps_the_chosen_passwords_and_drops_temporary_ones() -> None:
    a = account("V100001", password_hash="hash:c", password_history=["hash:b", "hash:a"])
    a.change_password("hash:d", NOW, history=3, via_reset=False)
    assert a.password_history == ["hash:c", "hash:b"]  # the current one and two earlier: history=3 in all
    assert a.recent_password_hashes(3) == ["hash:d", "hash:c", "hash:b"]
    temporary = account("V100002", password_hash="hash:t", must_change_password=True, password_history=["hash:b"])
    temporary.change_password("hash:e", NOW, history=3, via_reset=False)
    assert temporary.password_history == ["hash:b"]
    [changed] = temporary.events
    assert isinstance(changed, ev.PasswordChanged) and changed.was_temporary


def test_a_self_service_reset_password_lifts_the_block() -> None:
    a = account("V100001", administrator=True, state=State.BLOCKED, lock_cause=LockCause.FAILED_ATTEMPTS)
    a.change_password("hash:new", NOW, history=5, via_reset=True)
    assert a.state == State.ACTIVE and a.lock_cause == LockCause.NONE
    assert [type(e) for e in a.events] == [ev.PasswordChanged, ev.AccountUnlocked]


def test_the_previous_password_counts_within_its_window_only() -> None:
    a = account("V100001", password_history=["hash:old"], password_changed_at=NOW - dt.timedelta(days=10))
    assert a.previous_password_hash(NOW, 30) == "hash:old"
    assert a.previous_password_hash(NOW, 5) is None


def test_unlock_and_reset_refuse_a_disabled_account() -> None:
    a = account("V100001", state=State.DISABLED)
    with pytest.raises(AccountIsDisabled):
        a.unlock(NOW, actor="V100009", method="ADMINISTRATOR")
    with pytest.raises(AccountIsDisabled):
        a.reset_password("hash:t", "t", NOW, history=5, expires_at=NOW, actor="V100009")


def test_the_last_active_administrator_is_kept_when_an_asl_acts() -> None:
    a = account("V100001", administrator=True)
    with pytest.raises(LastActiveAdministrator):
        a.disable(NOW, actor="V100001", cause=DisabledCause.ADMINISTRATOR, company=[a])
    assert a.disable(NOW, actor="support:desk", cause=DisabledCause.ADMINISTRATOR)  # support staff may
    assert a.enable(NOW, actor="V100002")
    assert [type(e) for e in a.events] == [ev.AccountDisabled, ev.AccountEnabled]


def test_a_self_service_reset_offer_leaves_the_sessions_open_but_an_administrator_reset_ends_them() -> None:
    a = account("V100001", administrator=True)
    a.offer_self_service_reset("hash:r", "r", NOW, NOW + dt.timedelta(hours=1))
    a.reset_password("hash:t", "t", NOW, history=5, expires_at=NOW, actor="V100009")
    offered, reset = a.events
    assert isinstance(offered, ev.PasswordReset) and not offered.ends_sessions and not offered.by_administrator
    assert reset.ends_sessions

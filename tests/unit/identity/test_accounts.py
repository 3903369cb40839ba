"""Unit tests of the account rules (identity/domain/accounts.py) and of the e-mail change notice templates."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from identity.domain.accounts import Account, AccountClosed, DisabledCause, LockCause, State, mask_email
from support.adapters.mail_renderer import MailRenderer

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)


def account(identifier: str = "V100001", *, administrator: bool = True, state: State = State.ACTIVE,
            cause: DisabledCause = DisabledCause.NONE) -> Account:
    return Account(
        identifier=identifier, cofor_root="ABC123", given_name="Bob", family_name="Martin", email="bob@x.example",
        phone="", job_title="", language="fr", is_administrator=administrator, state=state, disabled_cause=cause,
        lock_cause=LockCause.NONE, failed_attempts=0, password_hash="h", must_change_password=False,
        password_expires_at=None, password_changed_at=None, password_history=[], reset_hash="r",
        reset_expires_at=NOW + dt.timedelta(hours=1), created_by="system", created_at=NOW, updated_at=NOW)


def test_masked_addresses_keep_the_first_letter_and_the_domain() -> None:
    assert mask_email("jean.dupont@forges.example") == "j***@forges.example"
    assert mask_email("x@y.example") == "x***@y.example"
    assert mask_email("no-at-sign") == "***"


def test_the_last_active_administrator_counts_blocked_asls_but_not_disabled_ones() -> None:
    me, other = account("V100001"), account("V100002")
    assert not me.is_last_active_administrator([me, other])
    assert not me.is_last_active_administrator([me, replace(other, state=State.BLOCKED)])
    assert me.is_last_active_administrator([me, replace(other, state=State.DISABLED)])
    assert me.is_last_active_administrator([me, replace(other, is_administrator=False)])
    assert not account(administrator=False).is_last_active_administrator([account(administrator=False)])


def test_a_new_email_returns_the_previous_one_and_voids_the_pending_reset() -> None:
    a = account()
    assert a.change_contact({"job_title": "Buyer", "email": "bob@x.example"}) is None and a.reset_hash == "r"
    assert a.change_contact({"email": "Bob@x.example"}) == "bob@x.example"  # compared exactly, as recovery does
    assert (a.email, a.reset_hash, a.reset_expires_at) == ("Bob@x.example", None, None)


def test_accounts_closed_by_an_access_reset_are_never_enabled_again() -> None:
    for state in State:
        a = account(state=state)
        assert a.close() is (state != State.DISABLED)
        assert (a.state, a.disabled_cause, a.reset_hash) == (State.DISABLED, DisabledCause.ACCESS_RESET, None)
        with pytest.raises(AccountClosed):
            a.enable()
    a = account(state=State.DISABLED, cause=DisabledCause.SUPPLIER_DEACTIVATED)
    assert a.enable() and a.state == State.ACTIVE and a.disabled_cause == DisabledCause.NONE
    assert not a.enable()  # not disabled: nothing to do


@pytest.mark.parametrize("language,expected", [  # shown in the reader's time zone (Europe/Paris), not in UTC
    ("fr", "changée le 28 novembre 2026 à 10:30 (heure d’Europe centrale)"),
    ("en", "on November 28, 2026 at 10:30 AM (Central European Time)")])
def test_the_email_changed_notice_renders_in_both_languages(language: str, expected: str) -> None:
    subject, text = MailRenderer("https://portal.example").render(
        "email_changed_notice", language, {"identifier": "V100001", "masked_new_email": "e***@attacker.example",
                                           "change_time": NOW.isoformat(), "actor_name": "Alice Admin"}, {},
        recipient_name="Bob Martin")
    assert "V100001" in subject and "\n" not in subject
    for part in ("Bob Martin", "e***@attacker.example", "Alice Admin", "https://portal.example/" + language):
        assert part in text
    assert expected in " ".join(text.split())

"""The ASL console and support staff's tools on a fake unit of work: company scoping, the last-ASL rule, unlock
and reset (with the password history), each leaving its domain events."""
from __future__ import annotations

import dataclasses
import uuid

import pytest

from kit.errors import FailedPrecondition, PermissionDenied, ResourceExhausted
from tests.unit.identity.builders import ROOT, account, world

from identity.domain import events as ev
from identity.domain.accounts import LockCause, State
from identity.service_layer.console_access import Actor, NewUser

ASL = Actor("V100001", ROOT, client="203.0.113.9")
SUPPORT = Actor("support:desk", None, agent="Jeanne")


async def test_an_asl_cannot_disable_its_company_last_active_asl_but_support_can() -> None:
    w = world()
    w.add(account("V100001", administrator=True))
    with pytest.raises(FailedPrecondition) as refused:
        await w.console.disable_user(ASL, "V100001")
    assert refused.value.reason == "LAST_ACTIVE_ADMINISTRATOR"
    assert w.store.events == []
    disabled = await w.console.disable_user(SUPPORT, "V100001", reason="rogue administrator")
    assert disabled.state == State.DISABLED
    [event] = w.store.of(ev.AccountDisabled)
    assert event.actor == "support:desk" and event.detail == "agent Jeanne: rogue administrator"
    assert w.store.of(ev.AdministratorsChanged)


async def test_another_company_account_is_refused_whether_or_not_it_exists() -> None:
    w = world()
    w.add(account("V100001", administrator=True), account("V200002", root="XYZ789"))
    for identifier in ("V200002", "V300003"):
        with pytest.raises(PermissionDenied) as refused:
            await w.console.unlock_user(ASL, identifier)
        assert refused.value.reason == "OTHER_COMPANY_ACCOUNT"


async def test_unlock_lifts_the_block_and_says_who() -> None:
    w = world()
    w.add(account("V100001", administrator=True),
          account("V100002", state=State.BLOCKED, lock_cause=LockCause.FAILED_ATTEMPTS, failed_attempts=5))
    unlocked = await w.console.unlock_user(ASL, "V100002")
    assert unlocked.state == State.ACTIVE and unlocked.failed_attempts == 0
    [event] = w.store.of(ev.AccountUnlocked)
    assert event.method == "ADMINISTRATOR" and event.actor == "V100001" and event.audited


async def test_a_reset_keeps_the_chosen_password_in_the_history_and_unblocks() -> None:
    w = world()
    w.add(account("V100001", administrator=True),
          account("V100002", state=State.BLOCKED, password_history=["hash:older"]))
    reset = await w.console.reset_user_password(ASL, "V100002")
    stored = w.store.accounts["V100002"]
    assert reset.must_change_password and stored.state == State.ACTIVE
    assert stored.password_history[:2] == [f"hash:{'Les sapins de Gérardmer brillent sous la neige'}", "hash:older"]
    [password_reset] = w.store.of(ev.PasswordReset)
    assert password_reset.by_administrator and stored.password_hash == f"hash:{password_reset.password}"
    assert "password" not in repr(password_reset).split("(", 1)[1]  # the secret stays out of logs
    [unlocked] = w.store.of(ev.AccountUnlocked)
    assert not unlocked.audited  # the PASSWORD_RESET row tells it


async def test_a_disabled_account_cannot_be_reset() -> None:
    w = world()
    w.add(account("V100001", administrator=True), account("V100002", state=State.DISABLED))
    with pytest.raises(FailedPrecondition) as refused:
        await w.console.reset_user_password(ASL, "V100002")
    assert refused.value.reason == "ACCOUNT_DISABLED"


async def test_a_new_user_gets_a_temporary_password_and_the_same_request_id_makes_one_account() -> None:
    w = world()
    w.add(account("V100001", administrator=True))
    new = NewUser("Chloé", "Durand", "chloe@x.example", "", "Buyer", "fr", False,
                  request_id="0b6f3c1e-8f7a-4c1e-9d2b-1a2b3c4d5e6f")
    first = await w.console.create_user(ASL, new)
    again = await w.console.create_user(ASL, new)
    assert first.identifier == again.identifier and first.must_change_password
    [created] = w.store.of(ev.AccountCreated)
    assert created.actor == "V100001" and created.administrator_name == "Bob V100001"
    assert not w.store.of(ev.AdministratorsChanged)  # not an administrator


async def test_an_address_the_company_already_uses_is_refused_unless_the_asl_confirms() -> None:
    w = world()
    w.add(account("V100001", administrator=True), account("V100002"))
    taken = w.store.accounts["V100002"].email
    new = NewUser("Chloé", "Durand", taken.upper(), "", "Buyer", "fr", False)
    with pytest.raises(FailedPrecondition) as refused:
        await w.console.create_user(ASL, new)
    assert refused.value.reason == "DUPLICATE_EMAIL" and refused.value.metadata == {"identifiers": "V100002"}
    assert not w.store.of(ev.AccountCreated)  # nothing written
    created = await w.console.create_user(ASL, dataclasses.replace(new, allow_duplicate_email=True))
    assert created.email == taken.upper() and len(w.store.of(ev.AccountCreated)) == 1


async def test_a_company_creates_at_most_its_daily_number_of_accounts() -> None:
    """Each creation mails an address the ASL typed: a rogue ASL cannot turn the portal into a mailer."""
    w = world(account_creation_limit_per_company_per_day=2)
    w.add(account("V100001", administrator=True))
    for n in range(3):
        new = NewUser("Chloé", f"Durand{n}", f"c{n}@x.example", "", "", "fr", False, request_id=str(uuid.uuid4()))
        if n < 2:
            await w.console.create_user(ASL, new)
            continue
        with pytest.raises(ResourceExhausted):
            await w.console.create_user(ASL, new)
    assert len(w.store.of(ev.AccountCreated)) == 2

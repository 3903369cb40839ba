"""Recovery limits (ARCHITECTURE §6, review findings 6 and 12): only the per-client-address limit refuses, before
any hashing; the limits per identifier and per e-mail never refuse, they only stop the mails."""
from __future__ import annotations

from typing import Any

import grpc
import pytest
from portal.identity.v1 import identity_service_pb2 as api
from portal.support.v1 import events_pb2 as mail_events
from sqlalchemy import select

from kit.client import failure_of

from identity.adapters.hasher import Hasher
from identity.adapters.orm import audit_events

from .conftest import Identity, outbox_mails

ACCEPTED = "recovery.accepted"


async def requested_mails(identity: Identity, address: str, template: int) -> int:
    """Mails requested so far to ``address`` (no waiting: see outbox_mails)."""
    return sum(1 for m in await outbox_mails(identity, template) if any(r.address == address for r in m.to))


def reset(company: Any, identifier: str | None = None) -> api.ResetAdministratorPasswordRequest:
    return api.ResetAdministratorPasswordRequest(identifier=identifier or company.asl, cofor=company.root,
                                                 email=company.asl_email)


async def test_a_stranger_who_knows_the_asl_email_never_locks_the_asl_out_of_recovery(identity: Identity) -> None:
    company = await identity.company()
    wrong = "V000001" if company.asl != "V000001" else "V000002"
    for i in range(12):  # far past the per-identifier and per-e-mail limits, from many addresses
        reply = await identity.client.ResetAdministratorPassword(reset(company, wrong), client=f"198.51.100.{i}")
        assert reply.message_key == ACCEPTED
        reply = await identity.client.ContactAdministrator(api.ContactAdministratorRequest(
            identifier=wrong, cofor=company.root, email=company.asl_email, message="hello"), client=f"198.51.100.{i}")
        assert reply.message_key == ACCEPTED
    # The real ASL, from its own address: accepted, and the mails go out.
    reply = await identity.client.ResetAdministratorPassword(reset(company), client="192.0.2.10")
    assert reply.message_key == ACCEPTED
    again = await identity.client.RecoverIdentifier(api.RecoverIdentifierRequest(
        email=company.asl_email, cofor=company.root), client="192.0.2.10")
    assert again.message_key == ACCEPTED
    reset_password = mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD
    assert await requested_mails(identity, company.asl_email, reset_password) == 1
    assert await requested_mails(identity, company.asl_email, mail_events.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY) == 1


async def test_past_the_holders_limit_the_answer_stays_accepted_and_no_more_mail_is_sent(identity: Identity) -> None:
    company = await identity.company()
    limit = identity.settings.recovery_limit_per_hour
    replies = set()
    for i in range(limit + 3):
        address = f"203.0.113.{i}"
        replies.add((await identity.client.ResetAdministratorPassword(reset(company), client=address)).message_key)
        replies.add((await identity.client.RecoverIdentifier(api.RecoverIdentifierRequest(
            email=company.asl_email, cofor=company.root), client=f"203.0.113.{i}")).message_key)
    assert replies == {ACCEPTED}
    assert await requested_mails(identity, company.asl_email,
                                 mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD) == limit
    assert await requested_mails(identity, company.asl_email, mail_events.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY) == limit
    async with identity.app.database.session(readonly=True) as s, s.begin():
        quiet = (await s.scalars(select(audit_events.c.detail).where(
            audit_events.c.subject == company.asl, audit_events.c.detail == "mail limit reached: nothing sent"))).all()
    assert len(quiet) == 2 * 3  # on the holder's trail all the same


async def test_a_call_refused_for_its_client_address_does_no_hashing(
        identity: Identity, monkeypatch: pytest.MonkeyPatch) -> None:
    company = await identity.company()
    hashed: list[str] = []
    real_hash, real_verify = Hasher.hash, Hasher.verify

    async def counting_hash(self: Hasher, password: str) -> str:
        hashed.append("hash")
        return await real_hash(self, password)

    async def counting_verify(self: Hasher, encoded: str | None, password: str) -> bool:
        hashed.append("verify")
        return await real_verify(self, encoded, password)

    monkeypatch.setattr(Hasher, "hash", counting_hash)
    monkeypatch.setattr(Hasher, "verify", counting_verify)
    client = "203.0.113.250"
    for _ in range(identity.settings.recovery_limit_per_client_per_hour):
        await identity.client.RecoverIdentifier(api.RecoverIdentifierRequest(email="who@x.example", cofor=company.root),
                                                client=client)
    assert len(hashed) == identity.settings.recovery_limit_per_client_per_hour  # one hash per accepted call
    hashed.clear()
    for call in (identity.client.RecoverIdentifier(api.RecoverIdentifierRequest(email="who@x.example",
                                                                                cofor=company.root), client=client),
                 identity.client.ResetAdministratorPassword(reset(company), client=client),
                 identity.client.ContactAdministrator(api.ContactAdministratorRequest(
                     identifier=company.asl, cofor=company.root, email=company.asl_email, message="x"), client=client)):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call
        f = failure_of(err.value)
        assert (f.code, f.reason, f.metadata["limit"]) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED",
                                                           "recovery-client")
    assert hashed == []
    reset_password = mail_events.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD
    assert await requested_mails(identity, company.asl_email, reset_password) == 0
    # Another address is not affected.
    reply = await identity.client.ResetAdministratorPassword(reset(company), client="192.0.2.77")
    assert reply.message_key == ACCEPTED and hashed == ["hash"]

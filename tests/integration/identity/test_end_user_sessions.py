"""An ASL ends every session of an account of the company, support staff of any company with agent and reason
(EndUserSessions, ARCHITECTURE §7), on both databases: each session is refused at once, the trail says who ended
whose sessions, an event is published; another company's account, and an identifier nobody has, answer alike and
nothing ends; a plain user may not."""
from __future__ import annotations

import grpc
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import events_pb2 as pe
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import sessions_pb2 as sp
from sqlalchemy import update

from testing.streams import read_subject, wait_for

from identity.adapters.orm import accounts

from .conftest import Identity
from .devices import CHROME_LINUX, FIREFOX_WINDOWS, alive, call, company_of_two, log_in_from, refused


async def ended_by(identity: Identity, token: str, identifier: str) -> int:
    return int((await call(identity, "EndUserSessions", sp.EndUserSessionsRequest(identifier=identifier),
                           token)).ended_count)


async def sessions_ended_trail(identity: Identity, identifier: str) -> list[pb.AuditEvent]:
    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=identifier), as_="support")
    return [e for e in trail.audit_events if e.action == pb.AUDIT_ACTION_SESSIONS_ENDED]


async def test_an_asl_ends_every_session_of_a_colleague(identity: Identity) -> None:
    root, asl, colleague = await company_of_two(identity)
    console = await log_in_from(identity, asl, CHROME_LINUX, "192.0.2.10")
    laptop = await log_in_from(identity, colleague, FIREFOX_WINDOWS, "198.51.100.7")
    office = await log_in_from(identity, colleague, CHROME_LINUX, "198.51.100.8")
    waiting = (await identity.password_step(colleague, "a long password typed by both administrators")).session_token

    assert await ended_by(identity, console, colleague) == 3  # the login waiting for its factor too
    assert not any([await alive(identity, t) for t in (laptop, office)]) and await alive(identity, console)
    failed = await refused(identity.client.VerifySecondFactor(api.VerifySecondFactorRequest(
        kind=pb.SECOND_FACTOR_KIND_TOTP, code=identity.app_code(colleague)), bearer=waiting))
    assert failed.reason == "SESSION_INVALID"
    [audited] = await sessions_ended_trail(identity, colleague)
    assert (audited.actor, audited.subject_identifier, audited.cofor_root, audited.detail, audited.client_address) == (
        asl, colleague, root, "3 live sessions", "192.0.2.10")

    async def published() -> list[pe.AccountSessionsEnded]:
        found = [pe.AccountSessionsEnded.FromString(m.data) for m in await read_subject(
            identity.js, "IDENTITY", "identity.account.sessions_ended")]
        return [e for e in found if e.identifier == colleague]
    [event] = await wait_for(published, timeout=15)
    assert (event.actor, event.cofor_root, event.ended_count) == (asl, root, 3)

    assert await ended_by(identity, console, colleague) == 0  # nothing left: still in the trail
    assert [e.detail for e in await sessions_ended_trail(identity, colleague)] == ["0 live sessions",
                                                                                    "3 live sessions"]


async def test_no_asl_ends_another_companys_sessions_and_a_user_none(identity: Identity) -> None:
    _, asl, _ = await company_of_two(identity)
    _, victim, victims_colleague = await company_of_two(identity)
    console = await log_in_from(identity, asl, CHROME_LINUX, "192.0.2.10")
    victims = await log_in_from(identity, victim, FIREFOX_WINDOWS, "198.51.100.7")
    answers = [await refused(call(identity, "EndUserSessions", sp.EndUserSessionsRequest(identifier=who), console))
               for who in (victim, victims_colleague, "V999999")]
    assert {(a.code, a.reason) for a in answers} == {(grpc.StatusCode.PERMISSION_DENIED, "OTHER_COMPANY_ACCOUNT")}
    assert await alive(identity, victims) and await sessions_ended_trail(identity, victim) == []

    async with identity.app.database.write_transaction() as s:  # the victim's colleague is a plain user now
        await s.execute(update(accounts).where(accounts.c.identifier == victims_colleague).values(
            is_administrator=False))
    user = await log_in_from(identity, victims_colleague, CHROME_LINUX, "198.51.100.9")
    failed = await refused(call(identity, "EndUserSessions", sp.EndUserSessionsRequest(identifier=victim), user))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
    assert await alive(identity, victims)


async def test_support_ends_an_accounts_sessions_with_agent_and_reason(identity: Identity) -> None:
    _, asl, _ = await company_of_two(identity)
    token = await log_in_from(identity, asl, FIREFOX_WINDOWS, "198.51.100.7")
    request = sp.EndUserSessionsRequest(identifier=asl, reason="laptop stolen; called back on the number on record")
    for agent, reason in ((None, request.reason), ("Jeanne from support", "")):
        failed = await refused(identity.as_support("EndUserSessions", sp.EndUserSessionsRequest(
            identifier=asl, reason=reason), agent=agent))
        assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert await alive(identity, token)
    assert (await identity.as_support("EndUserSessions", request)).ended_count == 1
    assert not await alive(identity, token)
    [audited] = await sessions_ended_trail(identity, asl)
    assert audited.actor == "support:support" and audited.detail == (
        "1 live session: agent Jeanne from support: laptop stolen; called back on the number on record")
    missing = await refused(identity.as_support("EndUserSessions", sp.EndUserSessionsRequest(
        identifier="V999999", reason="typo")))
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "ACCOUNT_NOT_FOUND")

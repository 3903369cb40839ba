"""A person's own sessions ("My sessions", ARCHITECTURE §7) on both databases: each listed with where and when it
opened and never a token or digest; one ended, then every other one, each refused at once (from the cache too,
while it is being used); the applications a session signed in to are owed their back-channel logout. Abuse: an id
of someone else's session answers exactly as a made-up one and ends nothing; a login still waiting for its second
factor, or a password to change, reaches none of it."""
from __future__ import annotations

import asyncio
import time

import grpc
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import oidc_pb2 as opb
from portal.identity.v1 import sessions_pb2 as sp
from sqlalchemy import func, select

from kit.client import ServiceClient
from kit.digests import token_digest
from testing.streams import wait_for
from tests.e2e.oidc_apps import pkce_pair

from identity.adapters.orm import oidc_logout_deliveries

from .conftest import STRONG, Identity
from .devices import (
    CHROME_LINUX,
    FIREFOX_WINDOWS,
    SAFARI_IPHONE,
    alive,
    call,
    company_of_two,
    listed,
    log_in_from,
    refused,
)
from .test_oidc_races import CALLBACK, oidc


async def end(identity: Identity, token: str, session_id: str = "", others: bool = False) -> int:
    return int((await call(identity, "EndMySession", sp.EndMySessionRequest(session_id=session_id, others=others),
                           token)).ended_count)


async def test_a_person_sees_where_each_session_opened_and_ends_one_then_every_other(identity: Identity) -> None:
    _, me, _ = await company_of_two(identity)
    here = await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")
    laptop = await log_in_from(identity, me, FIREFOX_WINDOWS, "198.51.100.7")
    phone = await log_in_from(identity, me, SAFARI_IPHONE, "203.0.113.99")

    sessions = await listed(identity, here)
    assert [(s.browser, s.operating_system, s.client_address, s.current) for s in sessions] == [
        ("Chrome", "Linux", "192.0.2.10", True), ("Safari", "iOS", "203.0.113.99", False),
        ("Firefox", "Windows", "198.51.100.7", False)]  # this one first, then the last active first
    assert sessions[2].user_agent == FIREFOX_WINDOWS and all(s.create_time.seconds for s in sessions)
    shown = b"".join(s.SerializeToString() for s in sessions)
    for token in (here, laptop, phone):  # neither a token nor its digest, in any form
        assert token.encode() not in shown and token_digest(token) not in shown
        assert token_digest(token).hex().encode() not in shown

    assert await end(identity, here, sessions[2].session_id) == 1  # the laptop
    assert not await alive(identity, laptop) and await alive(identity, phone) and await alive(identity, here)
    assert [s.browser for s in await listed(identity, here)] == ["Chrome", "Safari"]
    again = await refused(end(identity, here, sessions[2].session_id))  # ended: as unknown as a made-up id
    assert (again.code, again.reason) == (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND")

    assert await end(identity, here, others=True) == 1
    assert not await alive(identity, phone) and await alive(identity, here)
    assert [s.current for s in await listed(identity, here)] == [True]
    assert await end(identity, here, others=True) == 0

    trail = await identity.client.ListAuditEvents(api.ListAuditEventsRequest(identifier=me), as_="support")
    ended = {pb.AuditAction.Name(e.action): e for e in trail.audit_events
             if e.action in (pb.AUDIT_ACTION_SESSION_ENDED, pb.AUDIT_ACTION_SESSIONS_ENDED)}
    assert ended["AUDIT_ACTION_SESSION_ENDED"].detail.startswith("Firefox on Windows, 198.51.100.7, opened ")
    assert ended["AUDIT_ACTION_SESSIONS_ENDED"].actor == me and ended["AUDIT_ACTION_SESSIONS_ENDED"].detail == (
        "every other session (1)")
    assert all(e.client_address == "192.0.2.10" for e in ended.values())

    assert await end(identity, here, (await listed(identity, here))[0].session_id) == 1  # one's own: a logout
    assert not await alive(identity, here)


async def test_nobody_lists_or_ends_someone_elses_session(identity: Identity) -> None:
    _, me, colleague = await company_of_two(identity)
    _, stranger, _ = await company_of_two(identity)
    mine = await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")
    theirs = {who: await log_in_from(identity, who, FIREFOX_WINDOWS, "198.51.100.7") for who in (colleague, stranger)}
    ended = await log_in_from(identity, me, SAFARI_IPHONE, "203.0.113.99")
    ended_id = next(s.session_id for s in await listed(identity, mine) if not s.current)
    assert await end(identity, mine, ended_id) == 1

    assert [s.current for s in await listed(identity, mine)] == [True]  # nobody else's in my list
    their_ids = [(await listed(identity, token))[0].session_id for token in theirs.values()]
    answers = [await refused(end(identity, mine, session_id)) for session_id in (
        *their_ids, ended_id, "made-up-id_0123456789", "x" * 64, "y" * 65, "nul\x00byte", "é", " ", "../x")]
    assert {(a.code, a.reason, a.message) for a in answers} == {
        (grpc.StatusCode.NOT_FOUND, "SESSION_NOT_FOUND", "no live session of your account has this id")}
    assert all([await alive(identity, token) for token in theirs.values()])
    assert not await alive(identity, ended) and await alive(identity, mine)

    both = await refused(call(identity, "EndMySession", sp.EndMySessionRequest(session_id=their_ids[0], others=True),
                              mine))
    neither = await refused(call(identity, "EndMySession", sp.EndMySessionRequest(), mine))
    assert both.code == neither.code == grpc.StatusCode.INVALID_ARGUMENT
    assert all([await alive(identity, token) for token in theirs.values()])


async def test_a_login_waiting_for_its_factor_or_a_password_change_reaches_none_of_it(identity: Identity) -> None:
    _, me, _ = await company_of_two(identity)
    complete = await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")
    half = (await identity.password_step(me, "a long password typed by both administrators")).session_token
    for method, request in (("ListMySessions", sp.ListMySessionsRequest()),
                            ("EndMySession", sp.EndMySessionRequest(others=True))):
        failed = await refused(call(identity, method, request, half))
        assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "SECOND_FACTOR_REQUIRED")
    assert await alive(identity, complete)
    assert [s.current for s in await listed(identity, complete)] == [True]  # the half-done login is not listed

    company = await identity.company()  # a first ASL with its temporary password: must change it first
    temporary = (await identity.password_step(company.asl, company.temporary_password)).session_token
    failed = await refused(call(identity, "ListMySessions", sp.ListMySessionsRequest(), temporary))
    assert (failed.code, failed.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PASSWORD_CHANGE_REQUIRED")
    changed = await identity.client.ChangePassword(api.ChangePasswordRequest(
        current_password=company.temporary_password, new_password=STRONG), bearer=temporary)
    failed = await refused(call(identity, "ListMySessions", sp.ListMySessionsRequest(), changed.session_token))
    assert failed.reason == "SECOND_FACTOR_ENROLMENT_REQUIRED"  # every ASL sets up its app first


async def test_a_session_ended_while_in_use_is_refused_as_soon_as_the_end_returns(
        identity: Identity, second_server: ServiceClient) -> None:
    _, me, _ = await company_of_two(identity)
    here = await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")
    busy = await log_in_from(identity, me, FIREFOX_WINDOWS, "198.51.100.7")
    busy_id = next(s.session_id for s in await listed(identity, here) if not s.current)
    request = api.ValidateSessionRequest(session_token=busy)
    await second_server.ValidateSession(request, as_="erp")  # the other replica has it cached too
    answers: list[tuple[float, bool]] = []
    stop = asyncio.Event()

    async def page_views() -> None:  # the ended session's browser keeps clicking, on both replicas
        while not stop.is_set():
            started = time.monotonic()
            try:
                await identity.client.ValidateSession(request, as_="erp")
                answers.append((started, True))
            except grpc.aio.AioRpcError:
                answers.append((started, False))

    clicking = [asyncio.create_task(page_views()) for _ in range(6)]
    await asyncio.sleep(0.2)
    assert await end(identity, here, busy_id) == 1
    returned = time.monotonic()
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.gather(*clicking)
    assert any(ok for _, ok in answers)  # it was in use, and answered from the cache, until then
    assert [ok for started, ok in answers if started >= returned] and not any(
        ok for started, ok in answers if started >= returned)
    assert not await alive(identity, busy)


    async def refused_there() -> bool:
        try:
            await second_server.ValidateSession(request, as_="erp")
        except grpc.aio.AioRpcError:
            return True
        return False
    # The other replica hears of it on NATS, well before its cache's lifetime (which only bounds a lost message).
    await wait_for(refused_there, timeout=10)


async def test_the_applications_of_an_ended_session_are_owed_their_logout(identity: Identity) -> None:
    _, me, _ = await company_of_two(identity)
    here = await log_in_from(identity, me, CHROME_LINUX, "192.0.2.10")
    elsewhere = await log_in_from(identity, me, FIREFOX_WINDOWS, "198.51.100.7")
    client_id = f"sessions-{time.monotonic_ns() % 10**8}"
    created = await oidc(identity, "CreateOidcClient", opb.CreateOidcClientRequest(client=opb.OidcClient(
        client_id=client_id, name="Quality", token_endpoint_auth_method="client_secret_basic",
        redirect_uris=[CALLBACK], backchannel_logout_uri="https://quality.invalid/backchannel")), caller="erp")
    verifier, challenge = pkce_pair()
    code = (await oidc(identity, "Authorize", opb.AuthorizeRequest(
        client_id=client_id, redirect_uri=CALLBACK, response_type="code", scope="openid", code_challenge=challenge,
        code_challenge_method="S256"), bearer=elsewhere)).code
    await oidc(identity, "ExchangeToken", opb.ExchangeTokenRequest(
        client=opb.ClientAuthentication(client_id=client_id, client_secret=created.client_secret, basic=True),
        grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier))

    assert await end(identity, here, others=True) == 1
    async with identity.app.database.session(readonly=True) as s, s.begin():
        owed = await s.scalar(select(func.count()).select_from(oidc_logout_deliveries).where(
            oidc_logout_deliveries.c.client_id == client_id, oidc_logout_deliveries.c.identifier == me))
    assert owed == 1

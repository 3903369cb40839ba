"""A login that races a disable, a lock or the company's closing (review of the identity redesign, finding 1): the
session it opens after the account's sessions were ended is never honoured. The race's outcome is written straight
to the database, then the session is validated by a server whose cache has never seen it (both databases)."""
from __future__ import annotations

import grpc
import pytest
from portal.identity.v1 import identity_service_pb2 as api
from sqlalchemy import update

from kit.client import ServiceClient, failure_of

from identity.adapters.hasher import Hasher
from identity.adapters.orm import accounts, companies, sessions

from .conftest import Identity
from .seeds import two_administrators

PASSWORD = "a long password typed by both administrators"


async def refused(server: ServiceClient, token: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await server.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    return failure_of(err.value).reason


@pytest.mark.parametrize("outcome", ["disabled", "blocked", "company closed"])
async def test_a_session_opened_while_the_account_or_company_was_closing_is_not_honoured(
        identity: Identity, second_server: ServiceClient, outcome: str) -> None:
    root, me, _ = await two_administrators(identity.app.database, await Hasher(memory_kib=1024, time_cost=1).hash(
        PASSWORD), identity.app_codes)
    token = (await identity.login(me, PASSWORD)).session_token
    async with identity.app.database.write_transaction() as s:  # what the race leaves: the session outlived it
        if outcome == "company closed":
            await s.execute(update(companies).where(companies.c.cofor_root == root).values(access_open=False))
        else:
            await s.execute(update(accounts).where(accounts.c.identifier == me).values(
                state=outcome.upper(), lock_cause="FAILED_ATTEMPTS" if outcome == "blocked" else ""))
    assert await refused(second_server, token) == "SESSION_INVALID"


async def test_a_blocked_asl_keeps_the_session_that_may_only_change_the_password(
        identity: Identity, second_server: ServiceClient) -> None:
    _, me, _ = await two_administrators(identity.app.database, await Hasher(memory_kib=1024, time_cost=1).hash(
        PASSWORD), identity.app_codes)
    token = (await identity.login(me, PASSWORD)).session_token
    async with identity.app.database.write_transaction() as s:  # an ASL's self-service reset: blocked, must change
        await s.execute(update(accounts).where(accounts.c.identifier == me).values(
            state="BLOCKED", lock_cause="FAILED_ATTEMPTS"))
        await s.execute(update(sessions).where(sessions.c.identifier == me).values(must_change_password=True))
    valid = await second_server.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    assert valid.principal.must_change_password

""""At least one active ASL" under concurrency (review finding 4): one ASL removes its co-ASL and itself at the same
time, through two identity servers on one database. On PostgreSQL both transactions are genuinely in flight at
once; SQLite serialises writers, so there it is only the cheap check of the same rule."""
from __future__ import annotations

import asyncio
import itertools
import random

import grpc
import pytest
from portal.identity.v1 import identity_service_pb2 as api

from kit.client import ServiceClient, failure_of

from identity.adapters.hasher import Hasher

from .conftest import Identity
from .seeds import active_administrators, two_administrators

PASSWORD = "a long password typed by both administrators"
ROUNDS = 10
_identifiers = itertools.count(random.randrange(100_000, 800_000, 1000))  # fresh ones every test


def removal(client: ServiceClient, action: str, identifier: str, token: str):  # type: ignore[no-untyped-def]
    if action == "revoke":
        return client.RevokeAdministrator(api.RevokeAdministratorRequest(identifier=identifier), bearer=token)
    return client.DisableUser(api.DisableUserRequest(identifier=identifier), bearer=token)


@pytest.mark.parametrize("on_colleague,on_self", [("revoke", "revoke"), ("disable", "disable"),
                                                  ("revoke", "disable"), ("disable", "revoke")])
async def test_removing_the_co_asl_and_oneself_at_once_always_leaves_one_active_asl(
        identity: Identity, second_server: ServiceClient, on_colleague: str, on_self: str) -> None:
    password_hash = await Hasher(memory_kib=1024, time_cost=1).hash(PASSWORD)
    outcomes = []
    for round_ in range(ROUNDS):
        root, me, colleague = await two_administrators(identity.app.database, password_hash, identity.app_codes)
        token = (await identity.login(me, PASSWORD)).session_token
        servers = (identity.client, second_server) if round_ % 2 else (second_server, identity.client)
        results = await asyncio.gather(removal(servers[0], on_colleague, colleague, token),
                                       removal(servers[1], on_self, me, token), return_exceptions=True)
        failures = [failure_of(r) for r in results if isinstance(r, grpc.aio.AioRpcError)]
        assert not [r for r in results if isinstance(r, BaseException) and not isinstance(r, grpc.aio.AioRpcError)]
        # A deadlock victim or a failed serialisation would answer INTERNAL or UNKNOWN. Removing oneself first ends
        # one's own sessions, so the other call may find the session gone.
        assert {(f.code, f.reason) for f in failures} <= {
            (grpc.StatusCode.FAILED_PRECONDITION, "LAST_ACTIVE_ADMINISTRATOR"),
            (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED"),
            (grpc.StatusCode.UNAUTHENTICATED, "SESSION_INVALID")}, (round_, failures)
        assert await active_administrators(identity.app.database, root) == 1, round_
        assert len(failures) == 1, round_  # the first to lock the company wins; the other sees its change
        outcomes.append(tuple(f.reason for f in failures))
    assert len(outcomes) == ROUNDS

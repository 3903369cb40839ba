"""Logins from a browser somewhere: the metadata the gateway forwards (its credential, the client address, the
browser's User-Agent), and what the session tests share."""
from __future__ import annotations

from collections.abc import Awaitable
from typing import Any

import grpc
import pytest
from portal.identity.v1 import account_pb2 as pb
from portal.identity.v1 import identity_service_pb2 as api
from portal.identity.v1 import sessions_pb2 as sp

from kit.auth import AUTHORIZATION_KEY, CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY, USER_AGENT_KEY
from kit.client import RpcFailure, failure_of

from identity.adapters.hasher import Hasher

from .conftest import TOKENS, Identity
from .seeds import two_administrators

PASSWORD = "a long password typed by both administrators"
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
CHROME_LINUX = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36"
SAFARI_IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
                 "Version/17.5 Mobile/15E148 Safari/604.1")


def forwarded(user_agent: str, address: str, bearer: str = "") -> list[tuple[str, str]]:
    """What the gateway sends with a visitor's call."""
    return [(SERVICE_TOKEN_KEY, TOKENS["gateway"]), (CLIENT_ADDRESS_KEY, address), (USER_AGENT_KEY, user_agent)] + (
        [(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else [])


async def call(identity: Identity, method: str, request: Any, bearer: str, user_agent: str = CHROME_LINUX,
               address: str = "192.0.2.10") -> Any:
    return await getattr(identity.client.stub, method)(request, metadata=forwarded(user_agent, address, bearer),
                                                       timeout=15)


async def log_in_from(identity: Identity, identifier: str, user_agent: str, address: str,
                      password: str = PASSWORD) -> str:
    """The whole login from that browser and address (the password, then the app's code): the session token."""
    reply = await call(identity, "Login", api.LoginRequest(identifier=identifier, password=password), "",
                       user_agent, address)
    token: str = reply.session_token
    if reply.principal.second_factor_step == pb.SECOND_FACTOR_STEP_VERIFY:
        verified = await call(identity, "VerifySecondFactor", api.VerifySecondFactorRequest(
            kind=pb.SECOND_FACTOR_KIND_TOTP, code=identity.app_code(identifier)), token, user_agent, address)
        token = verified.session_token
    identity.secrets_seen.append(token)
    return token


async def company_of_two(identity: Identity) -> tuple[str, str, str]:
    """A company with two ASLs who both hold their app: (root, asl, co-asl)."""
    return await two_administrators(identity.app.database, await Hasher(memory_kib=1024, time_cost=1).hash(
        PASSWORD), identity.app_codes)


async def listed(identity: Identity, token: str) -> list[sp.Session]:
    return list((await call(identity, "ListMySessions", sp.ListMySessionsRequest(), token)).sessions)


async def refused(call: Awaitable[Any]) -> RpcFailure:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await call
    return failure_of(err.value)


async def alive(identity: Identity, token: str) -> bool:
    try:
        await identity.client.ValidateSession(api.ValidateSessionRequest(session_token=token), as_="erp")
    except grpc.aio.AioRpcError as error:
        assert failure_of(error).reason == "SESSION_INVALID"
        return False
    return True

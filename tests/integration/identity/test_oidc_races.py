"""The provider's single-use steps under concurrent callers (ARCHITECTURE §14), on both databases (PostgreSQL is
where writers really run in parallel): one code exchanged eight times at once gives tokens once; one refresh token
used eight times at once is rotated once; three senders of back-channel logouts (the service's own and two more
replicas) post each owed logout exactly once."""
from __future__ import annotations

import asyncio
import datetime as dt
import functools
import uuid
from typing import Any

import grpc
import httpx
from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc
from sqlalchemy import insert, select

from kit.auth import AUTHORIZATION_KEY, SERVICE_TOKEN_KEY
from kit.clock import utcnow
from tests.e2e.oidc_apps import application_site, pkce_pair

from identity.adapters.backchannel import BackchannelLogouts
from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.hasher import Hasher
from identity.adapters.orm import oidc_logout_deliveries
from identity.adapters.signing_keys import SigningKeys
from identity.service_layer.unit_of_work import IdentityUnitOfWork

from .conftest import TOKENS, Identity
from .seeds import two_administrators

PASSWORD = "a long password typed by both administrators"
CALLBACK = "https://quality.supplier-apps.example/callback"


async def oidc(identity: Identity, method: str, request: object, *, caller: str = "gateway",
               bearer: str = "") -> Any:
    metadata = [(SERVICE_TOKEN_KEY, TOKENS[caller])] + ([(AUTHORIZATION_KEY, f"Bearer {bearer}")] if bearer else [])
    async with grpc.aio.insecure_channel(identity.app.target) as channel:
        return await getattr(pb_grpc.OidcProviderServiceStub(channel), method)(request, metadata=metadata,
                                                                              timeout=15)


async def signed_in_application(identity: Identity) -> tuple[pb.ExchangeTokenRequest, str]:
    """A registered application, an ASL's live session and a fresh code: the exchange to make, and the secret."""
    _, me, _ = await two_administrators(identity.app.database, await Hasher(memory_kib=1024, time_cost=1).hash(
        PASSWORD), identity.app_codes)
    token = (await identity.login(me, PASSWORD)).session_token
    client_id = f"race-{uuid.uuid4().hex[:8]}"
    created = await oidc(identity, "CreateOidcClient", pb.CreateOidcClientRequest(client=pb.OidcClient(
        client_id=client_id, name="Race", token_endpoint_auth_method="client_secret_basic",
        redirect_uris=[CALLBACK])), caller="erp")
    verifier, challenge = pkce_pair()
    authorized = await oidc(identity, "Authorize", pb.AuthorizeRequest(
        client_id=client_id, redirect_uri=CALLBACK, response_type="code", scope="openid",
        code_challenge=challenge, code_challenge_method="S256"), bearer=token)
    assert authorized.code, authorized
    auth = pb.ClientAuthentication(client_id=client_id, client_secret=created.client_secret, basic=True)
    return pb.ExchangeTokenRequest(client=auth, grant_type="authorization_code", code=authorized.code,
                                   redirect_uri=CALLBACK, code_verifier=verifier), client_id


async def test_a_code_exchanged_eight_times_at_once_gives_tokens_once(identity: Identity) -> None:
    exchange, _ = await signed_in_application(identity)
    answers = await asyncio.gather(*(oidc(identity, "ExchangeToken", exchange) for _ in range(8)))
    granted = [a for a in answers if a.access_token]
    assert len(granted) == 1
    assert {a.failure.error for a in answers if not a.access_token} == {"invalid_grant"}


async def test_a_refresh_token_used_eight_times_at_once_is_rotated_once(identity: Identity) -> None:
    exchange, _ = await signed_in_application(identity)
    first = await oidc(identity, "ExchangeToken", exchange)
    refresh = pb.ExchangeTokenRequest(client=exchange.client, grant_type="refresh_token",
                                      refresh_token=first.refresh_token)
    answers = await asyncio.gather(*(oidc(identity, "ExchangeToken", refresh) for _ in range(8)))
    assert len([a for a in answers if a.refresh_token]) == 1


async def test_three_senders_post_each_owed_logout_exactly_once(identity: Identity) -> None:
    uow = functools.partial(IdentityUnitOfWork, identity.app.database)
    keys = SigningKeys(uow, FactorBox(DEVELOPMENT_KEY), utcnow)
    async with application_site() as site:
        now = dt.datetime.now(dt.UTC)
        owed = [dict(id=str(uuid.uuid4()), client_id="race", uri=f"{site.base}/backchannel-logout",
                     sid=f"{n:032d}", identifier="V000000", attempts=0, created_at=now, next_attempt_at=now)
                for n in range(30)]
        async with identity.app.database.write_transaction() as s:
            await s.execute(insert(oidc_logout_deliveries), owed)
        replicas = [BackchannelLogouts(uow, keys, identity.settings.oidc_issuer, utcnow) for _ in range(2)]
        async with httpx.AsyncClient(timeout=5) as http:
            for _ in range(10):
                await asyncio.gather(*(r.send_due(http) for r in replicas))
                if len(site.posted) >= 30:
                    break
                await asyncio.sleep(0.2)
        await asyncio.sleep(0.5)  # the service's own sender may still be posting: it must not post any again
        tokens = [await keys.verify(p["logout_token"], "logout+jwt") for p in site.posted]
        sids = [str(claims["sid"]) for claims in tokens if claims]
        async with identity.app.database.session(readonly=True) as s, s.begin():
            # A post that timed out on a loaded machine is owed again later (retried, not lost): still in the table.
            retried = [str(r) for r in (await s.execute(select(oidc_logout_deliveries.c.sid))).scalars()]
        assert len(sids) == len(set(sids)) and not set(sids) & set(retried)  # never twice
        assert sorted(sids + retried) == sorted(str(o["sid"]) for o in owed) and len(retried) <= 2  # none lost

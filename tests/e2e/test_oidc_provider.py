"""The portal as an OpenID Connect provider (ARCHITECTURE §14), through the gateway on the real services, with
Authlib's OAuth client as the application: discovery, code + PKCE, the ID token checked against the JWKS, userinfo,
refresh with rotation, a replayed refresh token ending its chain, introspection, revocation and RP-initiated
logout ending every token with the portal session."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from authlib.integrations.base_client.errors import OAuthError
from sqlalchemy import select

from testing.processes import NatsServer
from tests.browser.test_recovery_pages import USER_PASSWORD, open_supplier, posted

from identity.adapters.orm import audit_events

from .oidc_apps import LOGGED_OUT, answer_to, claims_of, local, register
from .stack import Stack, running_stack


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def test_an_application_signs_a_user_in_refreshes_and_logs_out(stack: Stack) -> None:
    supplier = await open_supplier(stack)
    app = await register(stack)
    user = stack.browser()
    await posted(user, "/api/v1/session:login", {"identifier": supplier.user_id, "password": USER_PASSWORD})

    url, state, nonce, verifier = app.authorization()
    answer = await answer_to(user, url)
    assert answer["state"] == state and answer["iss"] == app.issuer  # RFC 9207
    client = app.client()
    tokens = await client.fetch_token(app.metadata["token_endpoint"], code=answer["code"], code_verifier=verifier)
    keys = await app.keys(stack.web)
    claims = claims_of(tokens["id_token"], keys)
    assert claims["iss"] == app.issuer and claims["aud"] == app.client_id and claims["nonce"] == nonce
    assert claims["preferred_username"] == supplier.user_id and claims["cofor"] == supplier.root
    assert claims["email"] == supplier.user_email and claims["name"] == "Emma Buyer"
    assert claims["sub"] != supplier.user_id and claims["amr"] == ["pwd"] and claims["roles"] == ["USER"]
    access = claims_of(tokens["access_token"], keys)
    assert access["client_id"] == app.client_id and access["sub"] == claims["sub"]

    info = (await client.get(app.metadata["userinfo_endpoint"])).json()
    assert info["sub"] == claims["sub"] and info["preferred_username"] == supplier.user_id

    narrower = await client.refresh_token(app.metadata["token_endpoint"], refresh_token=tokens["refresh_token"],
                                          scope="openid")
    assert narrower["scope"] == "openid" and "email" not in claims_of(narrower["id_token"], keys)
    renewed = await client.refresh_token(app.metadata["token_endpoint"], refresh_token=narrower["refresh_token"])
    assert renewed["scope"] == "openid profile email"  # the refresh token kept the grant's scopes (RFC 6749 §6)
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert claims_of(renewed["id_token"], keys)["sub"] == claims["sub"]

    introspected = (await stack.web.post(local(app.metadata["introspection_endpoint"]),
                                         data={"token": renewed["access_token"]},
                                         auth=(app.client_id, app.secret))).json()
    assert introspected["active"] and introspected["username"] == supplier.user_id

    # RP-initiated logout with the ID token as hint: straight back to the application, the portal session ended.
    ended = await user.get(local(app.metadata["end_session_endpoint"]) + "?" + "&".join([
        f"id_token_hint={renewed['id_token']}", f"post_logout_redirect_uri={LOGGED_OUT}", "state=bye"]))
    assert ended.status_code == 303 and ended.headers["location"] == f"{LOGGED_OUT}?state=bye"
    assert (await user.get("/api/v1/session")).status_code == 401
    gone = (await stack.web.post(local(app.metadata["introspection_endpoint"]),
                                 data={"token": renewed["access_token"]}, auth=(app.client_id, app.secret))).json()
    assert gone == {"active": False}
    assert (await client.get(app.metadata["userinfo_endpoint"])).status_code == 401
    with pytest.raises(OAuthError, match="invalid_grant"):
        await client.refresh_token(app.metadata["token_endpoint"], refresh_token=renewed["refresh_token"])


async def test_a_replayed_refresh_token_ends_its_whole_chain(stack: Stack) -> None:
    supplier = await open_supplier(stack)
    app = await register(stack)
    user = stack.browser()
    await posted(user, "/api/v1/session:login", {"identifier": supplier.user_id, "password": USER_PASSWORD})
    url, _, _, verifier = app.authorization()
    client = app.client()
    first = await client.fetch_token(app.metadata["token_endpoint"], code=(await answer_to(user, url))["code"],
                                     code_verifier=verifier)
    second = await client.refresh_token(app.metadata["token_endpoint"], refresh_token=first["refresh_token"])
    with pytest.raises(OAuthError, match="invalid_grant"):  # the thief (or a confused client) replays the first
        await client.refresh_token(app.metadata["token_endpoint"], refresh_token=first["refresh_token"])
    with pytest.raises(OAuthError, match="invalid_grant"):  # and the legitimate holder's latest died with it
        await client.refresh_token(app.metadata["token_endpoint"], refresh_token=second["refresh_token"])
    async with stack.apps[1].database.session(readonly=True) as session, session.begin():
        trail = (await session.execute(select(audit_events.c.action, audit_events.c.detail).where(
            audit_events.c.subject == supplier.user_id).order_by(audit_events.c.occurred_at))).all()
    granted = [detail for action, detail in trail if action == "OIDC_GRANT"]
    assert granted == [f"client {app.client_id}, scopes openid profile email"]  # the refresh is no new grant
    assert [detail for action, detail in trail if action == "OIDC_TOKEN_REUSED"] == [f"client {app.client_id}"]

"""The provider's tokens and keys (ARCHITECTURE §14), through the gateway on the real services: a private_key_jwt
application (Authlib's own client assertion, audience the issuer) and the replay of an assertion or one made for
another server; keys rotated with an overlap (tokens in flight stay valid) and without one (a rotated-out key's
tokens are refused); forged tokens (alg none, a foreign key under our key id, another issuer, an ID token offered as
an access token) refused; tokens introspected only by their own application; a revoked refresh token ends its access
tokens too (RFC 7009); an RP-initiated logout without a hint asks the person first."""
from __future__ import annotations

import base64
import functools
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from authlib.oauth2.rfc7523.assertion import private_key_jwt_sign
from joserfc import jwt
from joserfc.jwk import ECKey
from portal.identity.v1 import oidc_pb2 as pb

from kit.clock import utcnow
from testing.processes import NatsServer

from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.signing_keys import SigningKeys
from identity.service_layer.unit_of_work import IdentityUnitOfWork

from .journeys import onboarded_company
from .oidc_apps import LOGGED_OUT, App, answer_to, local, provider, register
from .stack import Browser, Stack, running_stack
from .test_oidc_abuse import exchange, token_call, userinfo_status


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def introspect(stack: Stack, app: App, token: str) -> dict[str, Any]:
    reply = await stack.web.post(local(app.metadata["introspection_endpoint"]), data={"token": token},
                                 auth=(app.client_id, app.secret))
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def test_a_private_key_jwt_application_and_a_replayed_assertion(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    key = ECKey.generate_key("P-256", private=True, auto_kid=True)
    app = await register(stack, auth_method="private_key_jwt",
                         jwks_json=json.dumps({"keys": [key.as_dict(private=False)]}))
    token_endpoint = app.metadata["token_endpoint"]
    client = App(app.client_id, "", app.issuer, app.metadata).client()
    client.client_secret, client.token_endpoint_auth_method = key, "private_key_jwt"
    client.register_client_auth_method(PrivateKeyJWT(app.issuer, alg="ES256"))  # aud: the issuer, only
    url, _, _, verifier = app.authorization()
    tokens = await client.fetch_token(token_endpoint, code=(await answer_to(asl.browser, url))["code"],
                                      code_verifier=verifier)
    assert await userinfo_status(stack, app, tokens["access_token"]) == 200

    assertion = private_key_jwt_sign(key, app.client_id, app.issuer, alg="ES256")
    form = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": app.client_id,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion}
    first = await stack.web.post(local(token_endpoint), data=form)
    assert first.status_code == 200, first.text
    again = {**form, "refresh_token": first.json()["refresh_token"]}
    replayed = await stack.web.post(local(token_endpoint), data=again)
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client"
    stranger = ECKey.generate_key("P-256", private=True, auto_kid=True)
    forged = private_key_jwt_sign(stranger, app.client_id, app.issuer, alg="ES256")
    # Made for another server that named our token endpoint as its own (audience injection): refused here.
    elsewhere = private_key_jwt_sign(key, app.client_id, token_endpoint, alg="ES256")
    for assertion in (forged, elsewhere):
        refused = await stack.web.post(local(token_endpoint), data={**form, "client_assertion": assertion,
                                                                    "refresh_token": first.json()["refresh_token"]})
        assert refused.status_code == 401


async def test_keys_rotate_with_an_overlap_and_a_rotated_out_key_signs_nothing_valid(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    before = await exchange(stack, app, asl.browser)
    old_kid = jwt.decode(before["access_token"], await app.keys(stack.web)).header["kid"]
    await provider(stack, "RotateSigningKey", pb.RotateSigningKeyRequest(publish_lead_seconds=0, overlap_seconds=3600))
    published = [k["kid"] for k in (await stack.web.get("/oidc/jwks")).json()["keys"]]
    assert old_kid in published and len(published) == 2
    after = await exchange(stack, app, asl.browser)
    assert jwt.decode(after["access_token"], await app.keys(stack.web)).header["kid"] != old_kid
    assert await userinfo_status(stack, app, before["access_token"]) == 200  # in flight: still good

    await provider(stack, "RotateSigningKey", pb.RotateSigningKeyRequest(publish_lead_seconds=0, overlap_seconds=0))
    assert len((await stack.web.get("/oidc/jwks")).json()["keys"]) == 1
    for tokens in (before, after):
        assert await userinfo_status(stack, app, tokens["access_token"]) == 401
        assert await introspect(stack, app, tokens["access_token"]) == {"active": False}


def _b64(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


async def test_forged_tokens_are_refused(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    tokens = await exchange(stack, app, asl.browser)
    genuine = jwt.decode(tokens["access_token"], await app.keys(stack.web))
    claims, kid = dict(genuine.claims), genuine.header["kid"]
    unsigned = f"{_b64({'alg': 'none', 'typ': 'at+jwt'})}.{_b64(claims)}."
    stranger = ECKey.generate_key("P-256", private=True)
    under_our_kid = jwt.encode({"alg": "ES256", "kid": kid, "typ": "at+jwt"}, claims, stranger)
    ours = SigningKeys(functools.partial(IdentityUnitOfWork, stack.apps[1].database), FactorBox(DEVELOPMENT_KEY),
                       utcnow)  # the provider's own key, as if misused to sign for another issuer
    other_issuer = await ours.sign({**claims, "iss": "https://portal.attacker.example"}, "at+jwt")
    tampered = tokens["access_token"].rsplit(".", 2)
    tampered[1] = _b64({**claims, "cofor": "ZZZZZZ"})
    for forged in (unsigned, under_our_kid, other_issuer, ".".join(tampered), tokens["id_token"]):
        assert await userinfo_status(stack, app, forged) == 401
        assert await introspect(stack, app, forged) == {"active": False}
    assert await userinfo_status(stack, app, tokens["access_token"]) == 200


async def test_refresh_tokens_are_introspected_by_their_own_application_and_revoked(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app, other = await register(stack), await register(stack)
    tokens = await exchange(stack, app, asl.browser)
    mine = await introspect(stack, app, tokens["refresh_token"])
    assert mine["active"] and mine["token_type"] == "refresh_token" and mine["client_id"] == app.client_id
    assert await introspect(stack, other, tokens["refresh_token"]) == {"active": False}
    assert (await introspect(stack, app, tokens["access_token"]))["active"]
    assert await introspect(stack, other, tokens["access_token"]) == {"active": False}  # not issued for it
    refused = await stack.web.post(local(app.metadata["revocation_endpoint"]), data={"token": tokens["refresh_token"]},
                                   auth=(other.client_id, other.secret))
    assert refused.status_code == 200  # RFC 7009: the same answer, and nothing done (not its token)
    assert (await introspect(stack, app, tokens["refresh_token"]))["active"]
    revoked = await stack.web.post(local(app.metadata["revocation_endpoint"]), data={"token": tokens["refresh_token"]},
                                   auth=(app.client_id, app.secret))
    assert revoked.status_code == 200
    assert await introspect(stack, app, tokens["refresh_token"]) == {"active": False}
    assert await userinfo_status(stack, app, tokens["access_token"]) == 401  # the access tokens it came with too
    status, answer = await token_call(stack, app, grant_type="refresh_token", refresh_token=tokens["refresh_token"])
    assert (status, answer["error"]) == (400, "invalid_grant")


async def test_a_logout_without_hint_asks_the_person_first(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    await exchange(stack, app, asl.browser)
    browser: Browser = asl.browser
    path = local(app.metadata["end_session_endpoint"])
    asked = await browser.get(f"{path}?client_id={app.client_id}&post_logout_redirect_uri={LOGGED_OUT}&state=s")
    assert asked.status_code == 200 and 'action="/oidc/logout"' in asked.text
    assert (await browser.get("/api/v1/session")).status_code == 200  # a link alone logs nobody out
    stranger = await browser.get(f"{path}?client_id={app.client_id}&post_logout_redirect_uri=https://evil.example/")
    assert stranger.status_code == 200 and 'value="https://evil.example/"' not in stranger.text  # never carried on
    confirmed = await browser.post(path, data={
        "csrf_token": browser.cookies["__Host-portal_csrf"], "lang": "fr", "client_id": app.client_id,
        "post_logout_redirect_uri": LOGGED_OUT, "state": "s"})
    assert confirmed.status_code == 200 and f'content="0;url={LOGGED_OUT}?state=s"' in confirmed.text
    assert (await browser.get("/api/v1/session")).status_code == 401

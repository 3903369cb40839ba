"""The OpenID Connect provider tried as an attacker or a broken application would (ARCHITECTURE §14): a redirect URI
that is not registered is never redirected to; PKCE is required and only S256; a code is good once, and its replay
ends what its first use obtained; an expired code, a wrong secret or verifier, a public client presenting a secret,
a disabled application are refused; a public application gets a code only once the person allowed it; a session
that must change its password, or asks nothing (`prompt=none`) without a session, gets no code; `prompt=login` and
`max_age` ask for a fresh login (`login_hint` filled in); two companies' people signing in to the same application
never see each other's claims."""
from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from portal.identity.v1 import oidc_pb2 as pb
from sqlalchemy import update

from testing.processes import NatsServer

from identity.adapters.orm import oidc_codes

from .journeys import change_password, log_in, new_user, onboarded_company, temporary_from_asl
from .oidc_apps import CALLBACK, App, answer_to, changed, claims_of, local, provider, register
from .stack import Browser, Stack, running_stack


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def token_call(stack: Stack, app: App, *, secret: str | None = None, **form: str) -> tuple[int, dict[str, Any]]:
    """A call to the token endpoint with the application's credential (``secret``: another one)."""
    reply = await stack.web.post(local(app.metadata["token_endpoint"]), data=form,
                                 auth=(app.client_id, app.secret if secret is None else secret))
    return reply.status_code, reply.json()


async def exchange(stack: Stack, app: App, browser: Browser) -> dict[str, Any]:
    url, _, _, verifier = app.authorization()
    code = (await answer_to(browser, url))["code"]
    status, tokens = await token_call(stack, app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK,
                                      code_verifier=verifier)
    assert status == 200, tokens
    return tokens


async def userinfo_status(stack: Stack, app: App, access_token: str) -> int:
    return (await stack.web.get(local(app.metadata["userinfo_endpoint"]),
                                headers={"authorization": f"Bearer {access_token}"})).status_code


async def test_redirect_uris_match_exactly_and_pkce_is_s256_only(stack: Stack) -> None:
    root, asl = await onboarded_company(stack)
    app = await register(stack)
    url, _, _, _ = app.authorization()
    for wrong in ("https://evil.example/callback", CALLBACK + "/more", CALLBACK + "?x=1", CALLBACK.upper()):
        reply = await asl.browser.get(changed(url, redirect_uri=wrong))
        assert reply.status_code == 400 and "location" not in reply.headers, wrong  # shown, never redirected
    unknown = await asl.browser.get(changed(url, client_id="nobody"))
    assert unknown.status_code == 400 and "location" not in unknown.headers

    bare = changed(url, code_challenge=None, code_challenge_method=None, state="s1")  # no PKCE at all
    answer = parse_qs(urlsplit((await asl.browser.get(bare)).headers["location"]).query)
    assert answer["error"] == ["invalid_request"] and answer["state"] == ["s1"] and "code" not in answer
    plain = changed(url, code_challenge_method="plain")
    answer = parse_qs(urlsplit((await asl.browser.get(plain)).headers["location"]).query)
    assert answer["error"] == ["invalid_request"] and "code" not in answer


async def test_a_code_is_good_once_and_its_replay_ends_the_first_grant(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    url, _, _, verifier = app.authorization()
    code = (await answer_to(asl.browser, url))["code"]
    form = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier)
    assert (await token_call(stack, app, secret="a wrong secret", **form))[1]["error"] == \
        "invalid_client"
    assert (await token_call(stack, app, **{**form, "code_verifier": "x" * 43}))[1]["error"] == "invalid_grant"
    status, first = await token_call(stack, app, **form)  # the wrong attempts did not burn it for its owner
    assert status == 200 and claims_of(first["id_token"], await app.keys(stack.web))["acr"] == "mfa"
    assert await userinfo_status(stack, app, first["access_token"]) == 200
    status, again = await token_call(stack, app, **form)  # an intercepted code, replayed
    assert (status, again["error"]) == (400, "invalid_grant")
    assert await userinfo_status(stack, app, first["access_token"]) == 401
    status, refreshed = await token_call(stack, app, grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert (status, refreshed["error"]) == (400, "invalid_grant")


async def test_expired_codes_secrets_and_disabled_applications_are_refused(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    url, _, _, verifier = app.authorization()
    code = (await answer_to(asl.browser, url))["code"]
    async with stack.apps[1].database.session() as session, session.begin():
        await session.execute(update(oidc_codes).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    status, answer = await token_call(stack, app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK,
                                      code_verifier=verifier)
    assert (status, answer["error"]) == (400, "invalid_grant")

    reply = await stack.web.post(local(app.metadata["token_endpoint"]), data={
        "grant_type": "authorization_code", "code": code, "client_id": app.client_id, "client_secret": app.secret})
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_client"  # no secret in the body
    no_auth = await stack.web.post(local(app.metadata["token_endpoint"]), data={
        "grant_type": "authorization_code", "code": code, "client_id": app.client_id})
    assert no_auth.status_code == 401  # a confidential client must authenticate

    public = await register(stack, auth_method="none")  # a public client has no secret to present
    reply = await stack.web.post(local(public.metadata["token_endpoint"]), data={
        "grant_type": "authorization_code", "code": "x"}, auth=(public.client_id, "anything"))
    assert reply.status_code == 401 and reply.headers["www-authenticate"].startswith("Basic")

    await provider(stack, "DisableOidcClient", pb.DisableOidcClientRequest(client_id=app.client_id))
    url, _, _, _ = app.authorization()
    assert (await asl.browser.get(local(url))).status_code == 400
    status, answer = await token_call(stack, app, grant_type="refresh_token", refresh_token="whatever")
    assert (status, answer["error"]) == (401, "invalid_client")


def refreshed_to(page: str) -> dict[str, str]:
    """The parameters of the application's URL a portal page takes the browser on to."""
    url = page.split('content="0;url=', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert url.startswith(CALLBACK + "?"), url
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


async def test_a_public_client_signs_in_with_pkce_alone_once_the_person_allows_it(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    public = await register(stack, auth_method="none")
    url, state, _, verifier = public.authorization()
    asked = await asl.browser.get(local(url))  # nothing proves who a public client is: the person is asked
    assert asked.status_code == 200 and "Qualité fournisseurs" in asked.text and "location" not in asked.headers
    silent = await asl.browser.get(changed(url, prompt="none"))
    assert parse_qs(urlsplit(silent.headers["location"]).query)["error"] == ["consent_required"]
    form = {**{k: v[0] for k, v in parse_qs(urlsplit(url).query).items()},
            "csrf_token": asl.browser.cookies["__Host-portal_csrf"]}
    forged = await asl.browser.post("/oidc/authorize", data={**form, "csrf_token": "forged", "decision": "allow"},
                                    headers={"x-csrf-token": "forged"})
    assert forged.status_code == 403 and "code=" not in forged.text  # another site's form cannot say yes
    denied = refreshed_to((await asl.browser.post("/oidc/authorize", data={**form, "decision": "deny"})).text)
    assert denied["error"] == "access_denied" and denied["state"] == state and "code" not in denied
    answer = refreshed_to((await asl.browser.post("/oidc/authorize", data={**form, "decision": "allow"})).text)
    reply = await stack.web.post(local(public.metadata["token_endpoint"]), data={
        "grant_type": "authorization_code", "code": answer["code"], "redirect_uri": CALLBACK,
        "code_verifier": verifier, "client_id": public.client_id})
    assert reply.status_code == 200 and answer["state"] == state
    introspected = await stack.web.post(local(public.metadata["introspection_endpoint"]),
                                        data={"token": reply.json()["access_token"], "client_id": public.client_id})
    assert introspected.status_code == 401  # introspection is for resource servers with a credential


async def test_no_code_without_a_live_full_session(stack: Stack) -> None:
    root, asl = await onboarded_company(stack)
    app = await register(stack)
    anonymous = stack.browser()
    url, state, _, _ = app.authorization(prompt="none")
    answer = await answer_to(anonymous, url)
    assert answer["error"] == "login_required" and answer["state"] == state and "code" not in answer

    url, _, _, _ = app.authorization()
    sent = await anonymous.get(changed(url, portal_bounced="1"))
    assert sent.status_code == 303 and sent.headers["location"] == "/fr/login"
    assert "__Host-portal_sso_return" in anonymous.cookies

    identifier, email, _ = await new_user(stack, asl.browser, root, "emma")
    temporary = await temporary_from_asl(stack, asl.browser, identifier, email)
    newcomer = await log_in(stack, identifier, temporary)
    sent = await newcomer.get(local(url))
    assert sent.status_code == 303 and sent.headers["location"] == "/fr/password/change"
    await change_password(newcomer, temporary)
    resumed = await newcomer.get("/fr/account")  # the application's request waited for the change
    assert resumed.status_code == 200 and "/oidc/authorize?" in resumed.text
    assert "code" in await answer_to(newcomer, url)


async def test_prompt_login_and_max_age_ask_for_a_fresh_login(stack: Stack) -> None:
    _, asl = await onboarded_company(stack)
    app = await register(stack)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        url, _, _, _ = app.authorization(**extra)
        sent = await asl.browser.get(local(url))
        assert sent.status_code == 303 and sent.headers["location"] == "/fr/login", extra
    assert "code" in await answer_to(asl.browser, app.authorization(max_age="3600")[0])
    hinted = await asl.browser.get(changed(app.authorization()[0], prompt="login", login_hint=asl.identifier))
    assert hinted.headers["location"] == f"/fr/login?identifier={asl.identifier}"  # login_hint fills it in
    assert f'value="{asl.identifier}"' in (await asl.browser.get(hinted.headers["location"])).text


async def test_two_companies_people_never_see_each_others_claims(stack: Stack) -> None:
    root_a, asl_a = await onboarded_company(stack)
    root_b, asl_b = await onboarded_company(stack)
    app = await register(stack)
    keys = await app.keys(stack.web)
    tokens_a, tokens_b = await exchange(stack, app, asl_a.browser), await exchange(stack, app, asl_b.browser)
    a, b = claims_of(tokens_a["id_token"], keys), claims_of(tokens_b["id_token"], keys)
    assert (a["cofor"], a["preferred_username"]) == (root_a, asl_a.identifier)
    assert (b["cofor"], b["preferred_username"]) == (root_b, asl_b.identifier)
    assert a["sub"] != b["sub"] and a["sid"] != b["sid"]
    info = (await stack.web.get(local(app.metadata["userinfo_endpoint"]),
                                headers={"authorization": f"Bearer {tokens_b['access_token']}"})).json()
    assert info["cofor"] == root_b and info["email"] == asl_b.email
    status, refreshed = await token_call(stack, app, grant_type="refresh_token",
                                         refresh_token=tokens_a["refresh_token"])
    assert status == 200 and claims_of(refreshed["id_token"], keys)["cofor"] == root_a

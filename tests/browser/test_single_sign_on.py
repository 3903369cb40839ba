"""Single sign-on in Chromium (ARCHITECTURE §14), with the demo application `make run` starts (tools/demo_app.py)
on another site (127.0.0.1) than the portal (localhost): a person opens the application, signs in at the portal,
lands back signed in; opening it again needs no new login; signing out of the application signs out of the portal;
five wrong passwords lock the account, and the application is told at once (back-channel logout) and signs the
person out. A public application (a native or single-page one) gets a code once the person allowed it, in French or
English."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from portal.identity.v1 import oidc_pb2 as pb

from testing.processes import free_port
from tests.e2e.oidc_apps import application_site, provider, register
from tests.e2e.stack import Stack

from tools.demo_app import DemoSettings, DemoState, create_app

from .test_recovery_pages import USER_PASSWORD, NewVisitor, open_supplier


@asynccontextmanager
async def demo_app(stack: Stack) -> AsyncIterator[tuple[str, DemoState]]:
    """The demo application, registered as `make run` registers it, serving on 127.0.0.1."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    answer = await provider(stack, "CreateOidcClient", pb.CreateOidcClientRequest(client=pb.OidcClient(
        client_id="quality-demo", name="Qualité fournisseurs (démo)", token_endpoint_auth_method="client_secret_basic",
        redirect_uris=[f"{base}/callback"], post_logout_redirect_uris=[f"{base}/"],
        backchannel_logout_uri=f"{base}/backchannel-logout")))
    issuer = (await stack.web.get("/.well-known/openid-configuration")).json()["issuer"]
    app = create_app(DemoSettings(issuer, "quality-demo", answer.client_secret, base))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    try:
        yield base, app.state.demo
    finally:
        server.should_exit = True
        await serving


async def test_sign_in_once_open_again_without_login_and_a_lock_signs_the_application_out(
        stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    async with demo_app(stack) as (base, demo):
        user = await visitors("user")
        visited: list[str] = []
        user.page.on("framenavigated", lambda frame: visited.append(frame.url))
        await user.page.goto(base + "/")
        await user.shot("demo-home")
        async with user.page.expect_navigation(url="**/fr/login"):
            await user.page.get_by_role("link", name="Se connecter avec le portail fournisseurs").click()
        await user.shot()
        await user.page.get_by_label("Identifiant V").fill(supplier.user_id)
        await user.page.get_by_label("Mot de passe").fill(USER_PASSWORD)
        async with user.page.expect_navigation(url=base + "/"):
            await user.page.get_by_role("button", name="Se connecter", exact=True).click()
        await user.shot("demo-signed-in")
        assert await user.page.locator("#welcome").inner_text() == "Bonjour Emma Buyer"
        claims: dict[str, Any] = json.loads(await user.page.locator("#claims").inner_text())
        assert claims["preferred_username"] == supplier.user_id and claims["cofor"] == supplier.root

        # Signed out of the application only: signing in again goes through the portal without a login page.
        [cookie] = [c for c in await user.context.cookies() if c["name"] == "quality_session"]
        await user.context.clear_cookies(name="quality_session")
        visited.clear()
        await user.page.goto(base + "/login")
        await user.page.wait_for_url(base + "/")
        assert await user.page.locator("#welcome").inner_text() == "Bonjour Emma Buyer"
        assert not [url for url in visited if "/login" in url and "localhost" in url], visited
        assert cookie["value"] not in [c["value"] for c in await user.context.cookies()]

        # Signing out of the application signs out of the portal too (RP-initiated logout with the ID token: the
        # browser comes from the application's site, without the portal's Strict cookie, and is bounced once).
        async with user.page.expect_navigation(url=base + "/"):
            await user.page.get_by_role("link", name="Se déconnecter").click()
        assert "Vous n'êtes pas connecté(e)" in await user.page.locator("body").inner_text()
        assert (await user.goto("/fr/account")).url.endswith("/fr/login")

        # In again, through the portal's login page.
        await user.page.goto(base + "/login")
        await user.page.get_by_label("Identifiant V").fill(supplier.user_id)
        await user.page.get_by_label("Mot de passe").fill(USER_PASSWORD)
        async with user.page.expect_navigation(url=base + "/"):
            await user.page.get_by_role("button", name="Se connecter", exact=True).click()
        claims = json.loads(await user.page.locator("#claims").inner_text())
        for _ in range(100):  # the first session's back-channel logout may still be on its way
            if demo.logouts:
                break
            await asyncio.sleep(0.1)

        # Five wrong passwords (someone else, elsewhere) lock the account: the application hears it at once.
        attacker = stack.browser("203.0.113.9")
        for _ in range(5):
            await attacker.post("/api/v1/session:login", json={"identifier": supplier.user_id,
                                                               "password": "not the password at all"})
        for _ in range(100):
            if len(demo.logouts) == 2:
                break
            await asyncio.sleep(0.1)
        first, locked = demo.logouts  # the application's own logout was also sent back-channel
        assert first["sub"] == locked["sub"] == claims["sub"] and first["sid"] != claims["sid"]
        assert locked["sid"] == claims["sid"]
        await user.page.reload()
        await user.shot("demo-signed-out-by-lock")
        assert "Vous n'êtes pas connecté(e)" in await user.page.locator("body").inner_text()


async def test_a_public_application_is_allowed_by_the_person_in_their_language(stack: Stack,
                                                                               visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    async with application_site() as site:
        app = await register(stack, auth_method="none", site=site.base)
        for locale, allow, deny in (("fr-FR", "Continuer", "Annuler"), ("en-GB", "Continue", "Cancel")):
            user = await visitors(f"user-{locale}", locale=locale)
            await user.page.goto(app.authorization()[0])
            await user.page.get_by_label("Identifiant V" if locale == "fr-FR" else "V-identifier").fill(
                supplier.user_id)
            await user.page.get_by_label("Mot de passe" if locale == "fr-FR" else "Password").fill(USER_PASSWORD)
            async with user.page.expect_navigation(url="**/oidc/authorize?*"):
                await user.page.get_by_role("button", name="Se connecter" if locale == "fr-FR" else "Log in",
                                            exact=True).click()
            await user.shot("consent")
            assert "Qualité fournisseurs" in await user.page.locator("main").inner_text()
            assert await user.page.get_by_role("button", name=deny).count() == 1
            switch = await user.page.locator("a[hreflang]").get_attribute("href") or ""
            assert switch.startswith("/oidc/authorize?") and f"ui_locales={'en' if locale == 'fr-FR' else 'fr'}" \
                in switch  # the other language: the same request
            async with user.page.expect_navigation(url=f"{site.base}/callback?*"):
                await user.page.get_by_role("button", name=allow).click()
            assert "code=" in user.page.url and f"iss={app.issuer}".replace(":", "%3A").replace("/", "%2F") in \
                user.page.url

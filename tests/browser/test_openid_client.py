"""panva's openid-client, an OpenID-certified relying party (npm; `make oidc-rp`), signs a person in with the portal in
Chromium (ARCHITECTURE §14): discovery, code + PKCE, state and nonce, the ID token checked against the JWKS,
userinfo, introspection, refresh, a replayed refresh token refused and its chain ended, RP-initiated logout."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.e2e.oidc_apps import App, application_site, register
from tests.e2e.stack import Stack

from .test_recovery_pages import USER_PASSWORD, NewVisitor, Supplier, open_supplier

RELYING_PARTY = Path(__file__).resolve().parents[1] / "oidc_node" / "rp.mjs"


async def test_openid_client_signs_in_refreshes_detects_a_replay_and_logs_out(stack: Stack,
                                                                                visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    async with application_site() as site:
        app = await register(stack, site=site.base)
        await signed_in_with_openid_client(stack, visitors, supplier, app, site.base, site.reached)


async def signed_in_with_openid_client(stack: Stack, visitors: NewVisitor, supplier: Supplier, app: App, site: str,
                                       reached: list[str]) -> None:
    callback, logged_out = f"{site}/callback", f"{site}/logged-out"
    node = await asyncio.create_subprocess_exec(
        "node", str(RELYING_PARTY), app.issuer, app.client_id, app.secret, callback, logged_out,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    assert node.stdin is not None and node.stdout is not None and node.stderr is not None

    async def said() -> dict[str, Any]:
        line = await asyncio.wait_for(node.stdout.readline(), timeout=30)  # type: ignore[union-attr]
        assert line, (await node.stderr.read()).decode()  # type: ignore[union-attr]
        return dict(json.loads(line))

    try:
        user = await visitors("user")
        await user.page.goto((await said())["url"])
        await user.page.get_by_label("Identifiant V").fill(supplier.user_id)
        await user.page.get_by_label("Mot de passe").fill(USER_PASSWORD)
        async with user.page.expect_navigation(url=callback + "?*"):
            await user.page.get_by_role("button", name="Se connecter", exact=True).click()
        [arrived] = [url for url in reached if url.startswith(callback)]  # (the browser asks for /favicon.ico too)
        node.stdin.write((arrived + "\n").encode())
        await node.stdin.drain()

        obtained = await said()
        claims = obtained["claims"]
        assert claims["iss"] == app.issuer and claims["aud"] == app.client_id
        assert claims["preferred_username"] == supplier.user_id and claims["cofor"] == supplier.root
        assert obtained["userinfo"]["sub"] == claims["sub"] and obtained["userinfo"]["email"] == supplier.user_email
        assert obtained["active"] is True and obtained["refreshedSubject"] == claims["sub"]
        assert obtained["replayed"] == "invalid_grant" and obtained["latest"] == "invalid_grant"

        async with user.page.expect_navigation(url=logged_out + "?*"):
            await user.page.goto(obtained["endSession"])
        assert f"{logged_out}?state=bye" in reached
        page = await user.goto("/fr/account")
        assert page.url.endswith("/fr/login")  # the portal session ended with the application's
    finally:
        if node.returncode is None:
            node.kill()
        await node.wait()

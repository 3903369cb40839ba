"""Passkeys through the portal's pages in Chromium (ARCHITECTURE §15), with the DevTools virtual authenticator (a
platform key that verifies its user): a user adds a passkey from the account's factors page (the first factor: the
recovery codes are shown once), signs in with the passkey alone, then with the password and the passkey, and
removes it; a passkey the portal does not know is refused with a message in the page's language."""
from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from playwright.async_api import Page

from tests.e2e.stack import Stack

from .conftest import Visitor
from .test_recovery_pages import USER_PASSWORD, NewVisitor, log_in, open_supplier


async def virtual_authenticator(visitor: Visitor) -> tuple[Any, str]:
    """A passkey-capable device in this browser tab (CDP WebAuthn domain): resident keys, user verified; the
    DevTools session and the authenticator's id."""
    cdp = await visitor.context.new_cdp_session(visitor.page)
    await cdp.send("WebAuthn.enable")
    added = await cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
        "isUserVerified": True, "automaticPresenceSimulation": True}})
    return cdp, added["authenticatorId"]


async def click_and_wait(visitor: Visitor, page: Page, button: str) -> None:
    """A passkey button: the script asks the device, then posts the form (one navigation)."""
    async with page.expect_navigation():
        await page.get_by_role("button", name=button, exact=True).click()
    await visitor.shot()


async def test_a_user_adds_a_passkey_signs_in_with_it_and_removes_it(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    user = await visitors("user")
    cdp, device = await virtual_authenticator(user)
    await log_in(user, supplier.user_id, USER_PASSWORD)
    page = await user.goto("/fr/account/second-factor")
    await page.get_by_label("Nom de la clé d'accès").fill("Ordinateur du bureau")
    await click_and_wait(user, page, "Ajouter une clé d'accès")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10  # the account's first factor comes with its recovery codes
    [credential] = (await cdp.send("WebAuthn.getCredentials", {"authenticatorId": device}))["credentials"]
    assert credential["isResidentCredential"] and credential["rpId"] == "localhost"
    await page.get_by_role("link", name="J'ai conservé mes codes : continuer").click()
    await page.wait_for_url("**/fr/account")

    # Signed out, then in again with the passkey alone: no identifier, no password.
    await user.submit("Déconnexion")
    page = await user.goto("/fr/login")
    await click_and_wait(user, page, "Se connecter avec une clé d'accès")
    assert page.url.endswith("/fr/account")
    assert await page.locator("#account-identifier").inner_text() == supplier.user_id
    mail = await stack.mail(supplier.user_email, subject_part="second facteur")
    assert "clé d'accès" in mail.get_content()

    # The password now asks for the factor: the passkey answers it.
    await user.submit("Déconnexion")
    page = await user.goto("/fr/login")
    await page.get_by_label("Identifiant V").fill(supplier.user_id)
    await page.get_by_label("Mot de passe").fill(USER_PASSWORD)
    await user.submit("Se connecter")
    assert page.url.endswith("/fr/login/second-factor?factors=passkey")
    assert await page.get_by_label("Code de votre application").count() == 0  # no app on this account
    await click_and_wait(user, page, "Utiliser ma clé d'accès")
    assert page.url.endswith("/fr/account")

    page = await user.goto("/fr/account/second-factor")
    assert "Ordinateur du bureau" in await page.locator("#passkey-list").inner_text()
    await user.submit("Retirer la clé d'accès « Ordinateur du bureau »")
    assert await page.get_by_role("status").first.inner_text() == "La clé d'accès est retirée de votre compte."
    assert await page.locator("#passkey-list").count() == 0


async def test_a_passkey_the_portal_does_not_know_is_refused_in_the_page_language(
        stack: Stack, visitors: NewVisitor) -> None:
    await open_supplier(stack)
    stranger = await visitors("stranger", locale="en-GB")
    cdp, device = await virtual_authenticator(stranger)
    await cdp.send("WebAuthn.addCredential", {"authenticatorId": device, "credential": {
        "credentialId": base64.b64encode(b"stranger").decode(), "isResidentCredential": True, "rpId": "localhost",
        "userHandle": base64.b64encode(b"user").decode(),
        "privateKey": _private_key_pkcs8(), "signCount": 0}})
    page = await stranger.goto("/en/login")
    await click_and_wait(stranger, page, "Sign in with a passkey")
    assert "This passkey could not be verified. Try again." in await page.get_by_role("alert").inner_text()
    assert page.url.endswith("/en/login/passkey")


def _private_key_pkcs8() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return base64.b64encode(der).decode()

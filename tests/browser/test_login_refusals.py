"""What the login page says to a person the portal refuses with the right password (issue 16): an employee of a
supplier that purchasing deactivated is told that the company's access is closed and whom to contact — not to ask
an ASL who is closed out too — in French and English; a person who must change a temporary password is offered
only what opens before the change."""
from __future__ import annotations

from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from sqlalchemy import select

from testing.streams import wait_for
from tests.e2e.journeys import new_user, onboarded_company, temporary_from_asl
from tests.e2e.stack import Stack

from identity.adapters.orm import accounts

from .test_recovery_pages import USER_PASSWORD, NewVisitor, open_supplier


async def test_the_right_password_of_a_deactivated_supplier_s_user_says_whom_to_contact(
        stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    await stack.cofor.DeactivateSupplier(cofor_api.DeactivateSupplierRequest(cofor_root=supplier.root,
                                                                             reason="merged into its parent"))

    async def closed() -> bool:
        async with stack.apps[1].database.session(readonly=True) as s, s.begin():
            return (await s.execute(select(accounts.c.state).where(
                accounts.c.identifier == supplier.user_id))).scalar() == "DISABLED"
    await wait_for(closed, timeout=20)

    for locale, lang, said, not_said in (
            ("fr-FR", "fr", "L'accès de votre société au portail est fermé", "Contactez votre ASL"),
            ("en-GB", "en", "Your company's access to the portal is closed", "Contact your ASL")):
        user = await visitors(f"user-{lang}", locale=locale)
        page = await user.goto(f"/{lang}/login")
        await page.get_by_label("Identifiant V" if lang == "fr" else "V-identifier").fill(supplier.user_id)
        await page.get_by_label("Mot de passe" if lang == "fr" else "Password").fill(USER_PASSWORD)
        await user.submit("Se connecter" if lang == "fr" else "Log in")
        text = await page.locator("main").inner_text()
        assert said in text and not_said not in text, text
        assert ("Achats" if lang == "fr" else "purchasing") in text


async def test_a_temporary_password_s_page_offers_only_what_opens(stack: Stack, visitors: NewVisitor) -> None:
    root, asl = await onboarded_company(stack)
    identifier, email, _ = await new_user(stack, asl.browser, root, "zoe")
    temporary = await temporary_from_asl(stack, asl.browser, identifier, email)
    user = await visitors("newcomer")
    page = await user.goto("/fr/login")
    await page.get_by_label("Identifiant V").fill(identifier)
    await page.get_by_label("Mot de passe").fill(temporary)
    await user.submit("Se connecter")
    assert page.url.endswith("/fr/password/change")
    menu = await page.get_by_role("navigation", name="Navigation principale").inner_text()
    for refused_until_changed in ("Mon compte", "Obtenir un accès", "Présenter votre société"):
        assert refused_until_changed not in menu, menu
    assert "Déconnexion" in menu and "Aide & Contact" in menu

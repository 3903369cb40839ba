"""The ASL console fixes and prevents mistakes (issue 16, ARCHITECTURE §7): an account is edited in place (an
e-mail typo no longer means disable and re-create, and the previous address is told); the same address again asks
before creating a second person; what takes something away is confirmed on a page that says what will happen; the
list is searched, filtered and paged; on a phone each account is a card whose state and actions are on screen."""
from __future__ import annotations

import re

from tests.e2e.stack import Stack

from .test_recovery_pages import ASL_PASSWORD, USER_PASSWORD, NewVisitor, log_in, open_supplier


async def test_edit_duplicate_and_confirmations(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto("/fr/admin")
    assert await page.locator("#users-count").inner_text() == "Comptes de la société : 2"
    row = f'tr[data-identifier="{supplier.user_id}"]'

    # Edit: a wrong value is refused next to its field, the typed values kept; then the e-mail is corrected.
    async with page.expect_navigation():
        await page.get_by_role("link", name=f"Modifier pour {supplier.user_id}").click()
    await asl.shot()
    assert await page.locator("#f-email").input_value() == supplier.user_email
    await page.get_by_label("Fonction").fill("Acheteuse")
    await page.get_by_label("Adresse e-mail").fill("pas-une-adresse")
    await asl.submit("Enregistrer")
    assert await page.locator("#f-email-error").is_visible()
    assert await page.locator("#f-job_title").input_value() == "Acheteuse"
    corrected = f"emma.buyer.{supplier.root}@supplier.example"
    await page.get_by_label("Adresse e-mail").fill(corrected)
    await asl.submit("Enregistrer")
    assert page.url.split("?")[0].endswith("/fr/admin")
    assert "L'ancienne adresse e-mail en est avertie" in await page.locator("#admin-done").inner_text()
    assert await page.locator(f"{row} td").nth(1).inner_text() == corrected
    notice = await stack.mail(supplier.user_email, subject_part="a été changée")
    assert supplier.user_id in notice.get_content() and corrected not in notice.get_content()  # masked

    # The same address again (another case): refused, who holds it is said and highlighted; then created anyway.
    await page.get_by_label("Prénom").fill("Emma")
    await page.get_by_label("Nom", exact=True).fill("Buyer")
    await page.get_by_label("Adresse e-mail").fill(corrected.upper())
    await asl.submit("Créer le compte")
    assert supplier.user_id in await page.locator("#f-email-error").inner_text()
    assert await page.locator(f"{row}.duplicate").count() == 1
    assert await page.locator("#users-count").inner_text() == "Comptes de la société : 2"  # nothing created
    await page.get_by_label("Créer quand même un second compte pour cette adresse", exact=False).check()
    await asl.submit("Créer le compte")
    assert "créé" in await page.locator("#admin-done").inner_text()
    assert await page.locator("#users-count").inner_text() == "Comptes de la société : 3"

    # A destructive action asks first; cancelling changes nothing (the user still logs in with the password).
    await asl.submit(f"Réinitialiser le mot de passe pour {supplier.user_id}")
    assert "mot de passe temporaire" in await page.locator("#confirm-effect").inner_text()
    assert supplier.user_id in await page.locator("#confirm-title").inner_text()
    async with page.expect_navigation():
        await page.get_by_role("link", name="Annuler et revenir à la liste").click()
    user = await visitors("user")
    await log_in(user, supplier.user_id, USER_PASSWORD)
    assert user.page.url.endswith("/fr/account")
    await asl.goto("/fr/admin")
    await asl.submit(f"Désactiver pour {supplier.user_id}")
    await asl.submit("Désactiver")
    assert await page.locator(f"{row} .state").inner_text() == "désactivé"

    # A forged POST without the confirmation acts no more than the button: it shows the confirmation page.
    await asl.goto("/fr/admin")
    token = await page.locator('input[name="csrf_token"]').first.input_value()
    answer = await page.request.post(f"{asl.base}/fr/admin/users/{supplier.asl_id}/reset-password",
                                     form={"csrf_token": token})
    assert answer.status == 200 and 'id="confirm-form"' in await answer.text()


async def test_search_filter_paging_and_phone(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    csrf = (await asl.cookies())["__Host-portal_csrf"]
    for n in range(52):  # 54 accounts: more than one page of 50 (through the JSON API, in the ASL's browser)
        created = await asl.page.request.post(f"{asl.base}/api/v1/users", headers={"x-csrf-token": csrf}, data={
            "given_name": f"Agent{n:02d}", "family_name": f"Zeller{n:02d}",
            "email": f"agent{n:02d}.{supplier.root}@supplier.example"})
        assert created.status == 200, await created.text()
    page = await asl.goto("/fr/admin")
    assert await page.locator("#users-count").inner_text() == "Comptes de la société : 54"
    assert await page.locator("#users tbody tr").count() == 50
    async with page.expect_navigation():
        await page.locator("#next-page").click()
    await asl.shot()
    assert await page.locator("#users tbody tr").count() == 4
    assert await page.locator("#next-page").count() == 0 and await page.locator("#first-page").count() == 1

    await asl.goto("/fr/admin")
    await page.get_by_label("Rechercher (nom, identifiant, e-mail)").fill("zeller07")
    await asl.submit("Filtrer")
    assert await page.locator("#users-count").inner_text() == "Comptes trouvés : 1"
    assert "Agent07" in await page.locator("#users tbody").inner_text()
    await page.get_by_label("Rechercher (nom, identifiant, e-mail)").fill("100%_")  # data, not a pattern
    await asl.submit("Filtrer")
    assert await page.locator("#no-users").is_visible()
    await page.get_by_label("Rechercher (nom, identifiant, e-mail)").fill("")
    await page.get_by_label("Rôles").select_option("ADMINISTRATOR")
    await asl.submit("Filtrer")
    assert await page.locator("#users-count").inner_text() == "Comptes trouvés : 1"
    assert await page.locator(f'tr[data-identifier="{supplier.asl_id}"]').count() == 1
    await page.get_by_label("Rôles").select_option("")
    await page.get_by_label("État").select_option("BLOCKED")
    await asl.submit("Filtrer")
    assert await page.locator("#no-users").inner_text() == "Aucun compte ne correspond à ces critères."

    page = await asl.goto("/en/admin?q=Agent0")
    assert await page.locator("#users-count").inner_text() == "Matching accounts: 10"
    assert await page.get_by_label("Search (name, identifier, e-mail)").input_value() == "Agent0"

    # A 390 px phone: each account is a card, its state and actions inside the screen.
    await asl.page.set_viewport_size({"width": 390, "height": 844})
    page = await asl.goto("/fr/admin?q=Agent01")
    await asl.shot("console-phone")
    for cell in ("td.state", "td.actions button"):
        box = await page.locator(f"#users tbody tr {cell}").first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, (cell, box)



async def test_an_expired_or_lost_activation_link_is_sent_again_from_the_console(stack: Stack,
                                                                                 visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto("/fr/admin")
    await page.get_by_label("Prénom").fill("Hugo")
    await page.get_by_label("Nom", exact=True).fill("Nouveau")
    address = f"hugo.{supplier.root}@supplier.example"
    await page.get_by_label("Adresse e-mail").fill(address)
    await asl.submit("Créer le compte")
    assert "un lien, valable 72 heures" in await page.locator("#admin-done").inner_text()
    hugo = re.search(r"V\d{6}", await page.locator("#admin-done").inner_text()).group(0)  # type: ignore[union-attr]
    row = f'tr[data-identifier="{hugo}"]'
    assert "activation en attente" in await page.locator(f"{row} .state").inner_text()
    first = stack.find(r"(http\S+/fr/activate\?token=[\w-]+)", await stack.mail(address))

    await asl.submit(f"Renvoyer le lien d'activation pour {hugo}")  # the mail was lost: a new link
    assert "le précédent ne fonctionne plus" in await page.locator("#admin-done").inner_text()
    second = stack.find(r"(http\S+/fr/activate\?token=[\w-]+)", await stack.mail(address, count=2))
    newcomer = await visitors("newcomer")
    for link, works in ((first, False), (second, True)):
        page = await newcomer.goto(link)
        await page.get_by_label("Nouveau mot de passe", exact=True).fill(USER_PASSWORD)
        await page.get_by_label("Confirmez le nouveau mot de passe").fill(USER_PASSWORD)
        await newcomer.submit("Activer mon compte")
        if works:
            assert await page.locator("#activated").is_visible()
            assert await page.get_by_label("Identifiant V").input_value() == hugo
        else:
            assert "n'est pas (ou plus) valable" in await page.locator("main").inner_text()
    await log_in(newcomer, hugo, USER_PASSWORD)
    assert newcomer.page.url.endswith("/fr/account")
    page = await asl.goto("/fr/admin")
    assert "activation" not in await page.locator(f'tr[data-identifier="{hugo}"] .state').inner_text()

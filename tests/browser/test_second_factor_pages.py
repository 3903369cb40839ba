"""The second factor through the portal's pages in Chromium (ARCHITECTURE §15): the ASL requires a factor of every
user from the console; the user is made to set up an app at the next login (QR code, recovery codes shown once);
later the user has lost the phone and logs in with a recovery code, then the ASL resets the user's factor."""
from __future__ import annotations

from tests.e2e.stack import Stack

from .test_recovery_pages import ASL_PASSWORD, USER_PASSWORD, NewVisitor, log_in, open_supplier


async def test_the_asl_requires_a_factor_and_a_user_sets_up_an_app_then_uses_a_recovery_code(
        stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)  # the password, then the app's code
    page = await asl.goto("/fr/admin")
    assert not await page.get_by_label("Exiger un second facteur de chaque utilisateur").is_checked()
    await page.get_by_label("Exiger un second facteur de chaque utilisateur").check()
    await asl.submit("Enregistrer la règle")
    done = await page.locator("#admin-done").inner_text()
    assert done == "Un second facteur est désormais exigé de chaque utilisateur."
    assert await page.get_by_label("Exiger un second facteur de chaque utilisateur").is_checked()

    user = await visitors("user")
    await log_in(user, supplier.user_id, USER_PASSWORD)
    page = user.page
    assert page.url.endswith("/fr/account/second-factor")  # nothing else opens before
    assert await page.locator("#factor-required").is_visible()
    await user.submit("Configurer une application d'authentification")
    stack.app_codes.add(supplier.user_id, (await page.locator("#factor-secret").inner_text()).replace(" ", ""))
    await page.get_by_label("Code de votre application").fill(await stack.app_code(supplier.user_id))
    await user.submit("Valider")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10
    await page.get_by_role("link", name="J'ai conservé mes codes : continuer").click()
    await page.wait_for_url("**/fr/account")

    # The phone is lost: a recovery code, from the "lost your phone?" part of the code page.
    lost = await visitors("user-without-phone")
    page = await lost.goto("/fr/login")
    await page.get_by_label("Identifiant V").fill(supplier.user_id)
    await page.get_by_label("Mot de passe").fill(USER_PASSWORD)
    await lost.submit("Se connecter")
    assert page.url.endswith("/fr/login/second-factor?factors=totp")  # the app only: no passkey button
    await page.get_by_text("Téléphone perdu ? Utilisez un code de secours").click()
    await page.get_by_label("Code de secours").fill("wrong-wrong-wrong-wrong-wrong")
    async with page.expect_navigation():
        await page.locator("details form button[type=submit]").click()
    assert "Ce code est erroné ou a déjà servi." in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Code de secours").fill(codes[0])
    async with page.expect_navigation():
        await page.locator("details form button[type=submit]").click()
    assert page.url.endswith("/fr/account")
    page = await lost.goto("/fr/account/second-factor")
    assert await page.locator("#factor-codes-left").inner_text() == "9"
    used = await stack.mail(supplier.user_email, subject_part="second facteur")
    assert "Codes de secours restants : 9" in used.get_content()

    # The ASL resets the user's factor (a new phone): the user is told and sets up the app again at the next login.
    page = await asl.goto("/fr/admin")
    await asl.submit(f"Réinitialiser le second facteur pour {supplier.user_id}")
    await asl.submit("Réinitialiser le second facteur")  # the confirmation page
    assert supplier.user_id in await page.locator("#admin-done").inner_text()
    await log_in(lost, supplier.user_id, USER_PASSWORD)
    assert lost.page.url.endswith("/fr/account/second-factor")

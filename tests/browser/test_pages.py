"""The portal's pages in a real browser (Debian's Chromium), on the real services with real mails: a supplier's
whole journey from its company file to its users' first login and lost identifier (Help & Contact and the English
switch: test_help_pages.py). Every page visited is saved under var/screenshots/."""
from __future__ import annotations

import asyncio
import os
import random
import re
import sys
import uuid

from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from tests.e2e.stack import Stack

from .conftest import NewVisitor

STRONG = "Les sapins de Gérardmer brillent sous la neige"
STRONG_USER = "A hazelnut coffee on Stanislas square in Nancy"
TEMPORARY = re.compile(r"^\s*([A-Za-z2-9]{20})\s*$", re.M)


async def credentials_mailed(stack: Stack, address: str) -> tuple[str, str]:
    """The V-identifier and the temporary password, which arrive in two separate mails."""
    await stack.mail(address, count=2)
    mails = [m.message.get_content() for m in stack.sink.received if address in m.rcpt_tos]
    identifier = next(m.group(1) for body in mails if (m := re.search(r"\b(V\d{6})\b", body)))
    password = next(m.group(1) for body in mails if (m := TEMPORARY.search(body)))
    return identifier, password


async def test_a_supplier_from_its_company_file_to_its_users_first_login(stack: Stack, visitors: NewVisitor) -> None:
    # Present the company through the pages; purchasing references it with the operator CLI.
    presenter = await visitors("presenter")
    page = await presenter.goto("/fr/company")
    await page.get_by_label("Raison sociale").fill("Forges de Lorraine")
    await page.get_by_label("Numéro D-U-N-S").fill(str(random.randrange(10**8, 10**9)))
    presenter_email = f"presenter.{uuid.uuid4().hex[:8]}@supplier.example"
    await page.get_by_label("Adresse e-mail").fill(presenter_email)
    await presenter.submit("Ouvrir le dossier")
    assert await page.locator("h1").inner_text() == "Consultez votre messagerie"  # the link is only mailed
    assert "__Host-portal_presenter" not in await presenter.cookies()
    link = stack.find(r"(\S+/fr/company/[\w-]+\?token=[\w-]+)", await stack.mail(presenter_email))
    page = await presenter.goto(link.replace("https://portal.test", ""))
    assert await page.locator("#open-email").inner_text() == presenter_email  # the page names the file first
    assert "__Host-portal_presenter" not in await presenter.cookies()  # a GET never keeps a token
    await presenter.submit("Ouvrir ce dossier")
    assert re.search(r"/fr/company/[0-9a-f-]{36}$", page.url)  # the token left the address bar for the cookie
    assert "__Host-portal_presenter" in await presenter.cookies()
    assert await page.locator("#missing-fields li").count() >= 4
    await page.locator("#f-national_registration_number").fill("552100554")
    await page.locator("#f-tax_number").fill("FR40303265045")
    await page.locator("#f-country_code").select_option("FR")  # picked by name ("France"), not typed as a code
    assert await page.locator("#f-country_code option:checked").inner_text() == "France"
    await page.locator("#f-legal_existence_proof_ref").fill("kbis.pdf")
    await page.locator("#f-head_office_address-lines").fill("1 rue des Forges")
    postal = await page.locator("label[for=f-head_office_address-postal_code]").inner_text()
    assert "facultatif" not in postal  # the file cannot be sent without it: the form says so (issue 16)
    await page.locator("#f-head_office_address-postal_code").fill("57000")
    await page.locator("#f-head_office_address-city").fill("Metz")
    await page.locator("#f-head_office_address-country_code").select_option("FR")
    signatory = f"sign.{uuid.uuid4().hex[:8]}@supplier.example"  # the legal representative: signatory of record
    await page.locator("#f-legal_representative-given_name").fill("Claire")
    await page.locator("#f-legal_representative-family_name").fill("Martin")
    await page.locator("#f-legal_representative-email").fill(signatory)
    await page.locator("#f-legal_representative-job_title").fill("Présidente")
    await presenter.submit("Envoyer le dossier aux Achats")
    assert await page.locator("#file-state").get_attribute("data-state") == "SUBMITTED"
    file_id = page.url.split("/company/")[1].split("?")[0]
    cli = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "portalctl", "cofor", "reference", file_id, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env={**os.environ, "COFOR_TARGET": stack.apps[0].target,
                                             "PORTAL_OPERATOR_TOKEN": "ops-token"})
    out, err = await cli.communicate()
    assert cli.returncode == 0, err.decode()
    root = re.search(r"COFOR '(\w{6})  01'", out.decode()).group(1)  # type: ignore[union-attr]

    # Get access: the analysis says ACCESS_NOT_REQUESTED and offers the two-contact form.
    visitor = await visitors("visitor")
    page = await visitor.goto("/fr/access")
    await page.get_by_label("COFOR (code fournisseur)").fill(root.lower())
    await visitor.submit("Analyser")
    assert await page.locator("[data-outcome]").get_attribute("data-outcome") == "ACCESS_NOT_REQUESTED"
    assert "aucun accès au portail n'a encore été demandé" in await page.locator(".outcome").inner_text()
    admin_email = f"asl.{root}@supplier.example"
    for who, (given, family, email) in (("signatory", ("Claire", "Martin", "not an e-mail")),
                                         ("administrator", ("Paul", "Durand", admin_email))):
        await page.locator(f"#f-{who}-given_name").fill(given)
        await page.locator(f"#f-{who}-family_name").fill(family)
        await page.locator(f"#f-{who}-email").fill(email)
        await page.locator(f"#f-{who}-phone").fill("+33 1 23 45 67 89")
        await page.locator(f"#f-{who}-job_title").fill("CEO" if who == "signatory" else "IT manager")
    await visitor.submit("Envoyer la demande")
    assert await page.get_by_role("alert").is_visible()  # the summary, and the error next to its field
    assert await page.locator("#f-signatory-email-error").is_visible()
    assert await page.locator("#f-signatory-email").get_attribute("aria-invalid") == "true"
    assert await page.locator("#f-signatory-given_name").input_value() == "Claire"  # what was typed is kept
    await page.locator("#f-signatory-email").fill(signatory)
    await visitor.submit("Envoyer la demande")
    assert await page.locator("h1").inner_text() == "Demande envoyée"

    # The signatory accepts the terms from the mailed link.
    link = stack.find(r"(\S+/access/terms\?token=[\w-]+)", await stack.mail(signatory))
    signer = await visitors("signatory")
    page = await signer.goto(link)
    assert await page.locator("#terms-cofor").text_content() == f"{root}  01"
    assert await page.locator("#terms-company").text_content() == "Forges de Lorraine"
    assert await page.locator("#terms-nominee-email").text_content() == admin_email  # who becomes ASL
    assert "Article 10" in await page.locator("#gtu-text").inner_text()  # the full terms, not a summary
    await page.get_by_label("J'ai lu").check()  # the box says what accepting means (test_terms_page.py)
    await signer.submit("J'accepte les CGU au nom de la société")
    assert await page.locator("h1").inner_text() == "Conditions acceptées"

    identifier, temporary = await credentials_mailed(stack, admin_email)
    for _ in range(100):  # access opens when cofor hears identity's AdministratorCreated
        outcome = (await stack.cofor.AnalyzeAccess(cofor_api.AnalyzeAccessRequest(cofor=root))).outcome
        if outcome == cofor_api.ANALYSIS_OUTCOME_ACCESS_OPEN:
            break
        await asyncio.sleep(0.1)
    page = await visitor.goto(f"/fr/access?cofor={root}")
    assert await page.locator("[data-outcome]").get_attribute("data-outcome") == "ACCESS_OPEN"
    assert await page.locator(".admins").inner_text() == "Paul Durand"

    # The ASL's first login: the temporary password must be changed first; each policy violation is shown.
    asl = await visitors("asl")
    page = await asl.goto("/fr/login")
    await page.get_by_label("Identifiant V").fill(identifier.lower())
    await page.get_by_label("Mot de passe").fill(temporary)
    await asl.submit("Se connecter")
    assert page.url.endswith("/fr/password/change")
    assert "__Host-portal_session" in await asl.cookies()
    await page.locator("#f-current_password").fill(temporary)
    await page.locator("#f-new_password").fill("short")
    await page.locator("#f-confirm_password").fill("short")
    await asl.submit("Changer le mot de passe")
    assert "15 caractères" in await page.locator("#f-new_password-error").inner_text()
    assert await page.locator("#f-current_password").input_value() == ""  # passwords are never echoed
    await page.locator("#f-current_password").fill(temporary)
    await page.locator("#f-new_password").fill(STRONG)
    await page.locator("#f-confirm_password").fill(STRONG)
    await asl.submit("Changer le mot de passe")
    # Every ASL sets up an authenticator app right after; nothing else opens before (the console neither).
    assert page.url.endswith("/fr/account/second-factor")
    assert await page.locator("#factor-required").is_visible()
    page = await asl.goto("/fr/admin")
    assert page.url.endswith("/fr/account/second-factor")
    await asl.submit("Configurer une application d'authentification")
    assert await page.locator("svg.qr").count() == 1  # the QR code, drawn by the portal itself
    secret = (await page.locator("#factor-secret").inner_text()).replace(" ", "")
    stack.app_codes.add(identifier, secret)
    await page.get_by_label("Code de votre application").fill("000000")
    await asl.submit("Valider")
    assert "Ce code est erroné" in await page.get_by_role("alert").inner_text()
    await page.get_by_label("Code de votre application").fill(await stack.app_code(identifier))
    await asl.submit("Valider")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and all(re.fullmatch(r"(\w{5}-){4}\w{5}", c) for c in codes), codes
    await asl.shot("recovery-codes")
    await page.get_by_role("link", name="J'ai conservé mes codes : continuer").click()
    await page.wait_for_url("**/fr/account")
    assert await page.locator("#account-identifier").inner_text() == identifier
    assert "ASL" in await page.locator("#account-roles").inner_text()

    # The ASL creates a user in the console.
    page = await asl.goto("/fr/admin")
    assert await page.locator(f'tr[data-identifier="{identifier}"]').count() == 1
    emma_email = f"emma.{root}@supplier.example"
    await page.get_by_label("Prénom").fill("Emma")
    await page.get_by_label("Nom", exact=True).fill("Buyer")
    await page.locator("#f-email").fill(emma_email)
    await page.get_by_label("Langue des e-mails").select_option("en")
    await asl.submit("Créer le compte")
    done = await page.locator("#admin-done").inner_text()
    user_id = re.search(r"V\d{6}", done).group(0)  # type: ignore[union-attr]
    state = await page.locator(f'tr[data-identifier="{user_id}"] .state').inner_text()
    assert state.startswith("actif — activation en attente (lien valable jusqu'au "), state

    # That user activates the account from the mailed link and logs in, in English.
    welcome = await stack.mail(emma_email)
    assert user_id in welcome.get_content() and not TEMPORARY.search(welcome.get_content())  # one mail, no password
    emma = await visitors("user", locale="en-GB")
    page = await emma.goto(stack.find(r"(http\S+/en/activate\?token=[\w-]+)", welcome))
    await page.get_by_label("New password", exact=True).fill(STRONG_USER)
    await page.get_by_label("Confirm the new password").fill(STRONG_USER + "!")
    await emma.submit("Activate my account")
    assert await page.locator("#f-confirm_password-error").is_visible()  # the link still works after a mismatch
    await page.get_by_label("New password", exact=True).fill(STRONG_USER)
    await page.get_by_label("Confirm the new password").fill(STRONG_USER)
    await emma.submit("Activate my account")
    assert "/en/login?done=activated" in page.url and await page.locator("#activated").is_visible()
    assert await page.get_by_label("V-identifier").input_value() == user_id
    await page.get_by_label("Password").fill(STRONG_USER)
    await emma.submit("Log in")
    assert await page.locator("#account-identifier").inner_text() == user_id
    assert await page.locator("#account-roles").inner_text() == "User"
    assert await page.locator('a[href="/en/admin"]').count() == 0  # not an ASL
    page = await emma.goto("/en/admin")
    assert await page.locator("#users").count() == 0
    await emma.goto("/en/account")
    await emma.submit("Log out")
    assert page.url.endswith("/en/login?done=logout")
    assert "__Host-portal_session" not in await emma.cookies()

    # Lost identifier: the form refuses a malformed e-mail, then always shows the same page; the mail arrives.
    lost = await visitors("lost")
    page = await lost.goto("/fr/recover/identifier")
    await page.get_by_label("Adresse e-mail").fill("pas un e-mail")
    await page.get_by_label("COFOR (code fournisseur)").fill(root)
    await lost.submit("Envoyer")
    assert await page.locator("#f-email-error").is_visible() and await page.get_by_role("alert").is_visible()
    assert await page.locator("#f-cofor").input_value() == root
    await page.get_by_label("Adresse e-mail").fill(emma_email)
    await lost.submit("Envoyer")
    assert await page.locator("h1").inner_text() == "Demande prise en compte"
    recovered = await stack.mail(emma_email, subject_part="your V-identifier")
    assert user_id in recovered.get_content()

    # The ASL disables then enables the user from the console (POST buttons named after their account).
    page = await asl.goto("/fr/admin")
    await asl.submit(f"Désactiver pour {user_id}")
    await asl.submit("Désactiver")  # the confirmation page
    assert await page.locator(f'tr[data-identifier="{user_id}"] .state').inner_text() == "désactivé"
    await asl.submit(f"Réactiver pour {user_id}")
    assert await page.locator(f'tr[data-identifier="{user_id}"] .state').inner_text() == "actif"

    page = await lost.goto("/fr/recover/identifier")
    await page.get_by_label("Adresse e-mail").fill("nobody@nowhere.example")
    await page.get_by_label("COFOR (code fournisseur)").fill(root)
    await lost.submit("Envoyer")
    assert await page.locator("h1").inner_text() == "Demande prise en compte"


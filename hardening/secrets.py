"""Secrets: after the whole life of a supplier through the real system (gateway, three services, NATS, SMTP sink),
no password, reset password, acceptance link, presenter link, session or CSRF token it used is found in any
database file, table, log line, NATS message or JetStream stream — as such or in a common encoding.

The scenario: a company file (presenter token), purchasing references it, access requested, the GTU link asked
again (the first one voided) and accepted, the ASL's first login with the mailed temporary password and its change,
the ASL creates a user (temporary password), the user's first login, five wrong passwords lock the user out, the
ASL unlocks, the ASL resets the user's password (mailed reset password), the ASL forgets its own and uses the
self-service reset (mailed reset password), identifier recovery, "contact my ASL", a Help & Contact ticket, both log
out. Every service and the gateway log at DEBUG (libraries included) into one file meanwhile.

Tracked: every secret the visitors typed or received (their browsers record cookies and typed fields; the journeys
name what they took from mails). CSRF tokens too: the gateway only compares cookie and header, no service ever
needs them, so finding one stored would mean requests are being recorded. Scanned: each service's SQLite file with
its -wal and -shm (raw bytes, while running and after shutdown), every row of every table (the mail spool included),
the log file (raw and each record decoded), every message of every JetStream stream read back (subject, headers,
payload), every message NATS carried (a ``>`` subscription, session-revocation broadcasts included), the NATS store
files and server log. Encodings: as typed (UTF-8), UTF-16-LE, NFKC, URL-encoded, JSON-escaped, Python bytes repr,
octal escapes (protobuf text format), hex, base64 and base64url at the three alignments; for passwords also unsalted
MD5/SHA-1/SHA-256 (raw and hex), which would be as bad as the password itself. Session and link tokens are stored as
their SHA-256 digests by design, so those digests are not looked for. The mails at the SMTP sink necessarily hold the
mailed secrets: the sink is the delivery channel, not storage (its own server log is left out too); it serves as a
check that the tracked secrets are the real ones. Controls must be found, or the scan proves nothing: one typed into
a ticket (stored by design: found in support's database) and one logged in each encoding."""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import tempfile
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import httpx
from google.protobuf.text_encoding import CEscape
from sqlalchemy import text

from bench.report import Report
from kit.logging import JsonFormatter
from testing.fleet import nats_users
from testing.processes import NatsServer
from testing.streams import read_subject, wait_for
from tests.e2e.journeys import first_login, log_in, mailed_password, new_user, onboarded_company
from tests.e2e.stack import Browser, Stack, running_stack

from gateway.clients import PRESENTER_COOKIE, SESSION_COOKIE
from gateway.security import CSRF_COOKIE

SERVICES = ("cofor", "identity", "support")
KINDS = ("temporary_password", "chosen_password", "reset_password", "wrong_password", "presenter_token",
         "acceptance_token", "session_token", "csrf_token")
MAILED = {"temporary_password", "reset_password", "presenter_token", "acceptance_token"}
COOKIES = {SESSION_COOKIE: "session_token", PRESENTER_COOKIE: "presenter_token", CSRF_COOKIE: "csrf_token"}
# Outside the system: the visitors' HTTP client, and the SMTP sink's server (aiosmtpd), which stands for the mail
# recipients and logs every line it receives.
OUTSIDE_LOGGERS = ("httpx", "httpcore", "mail.log")
# How a control is written into the log, one control per encoding the scanner must see through.
CONTROLS: dict[str, Callable[[str], str]] = {
    "as typed": lambda s: s,
    "JSON-escaped": lambda s: json.dumps(s),
    "URL-encoded": lambda s: quote(s, safe=""),
    "base64 off the 3-byte grid": lambda s: base64.b64encode(b"x" + s.encode()).decode(),
    "hex": lambda s: s.encode().hex(),
    "bytes repr": lambda s: repr(s.encode()),
}


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


def needles(secret: str, kind: str) -> dict[bytes, str]:
    """The byte strings that would betray ``secret``, each with the name of its encoding."""
    raw = secret.encode()
    forms = {"as typed": raw, "UTF-16-LE": secret.encode("utf-16-le"),
             "NFKC": unicodedata.normalize("NFKC", secret).encode(), "URL-encoded": quote(secret, safe="").encode(),
             "URL-encoded (+)": quote_plus(secret).encode(), "JSON-escaped": json.dumps(secret)[1:-1].encode(),
             "bytes repr": repr(raw)[2:-1].encode(), "octal escapes (protobuf text)": CEscape(raw, False).encode(),
             "hex": raw.hex().encode(), "HEX": raw.hex().upper().encode()}
    for name, encode in (("base64", base64.b64encode), ("base64url", base64.urlsafe_b64encode)):
        for shift in range(3):  # the characters that depend on the secret's bytes alone, at each alignment
            encoded = encode(b"\0" * shift + raw)
            forms[f"{name}@{shift}"] = encoded[-(-8 * shift // 6):8 * (shift + len(raw)) // 6]
    if kind.endswith("password"):
        for algorithm in ("md5", "sha1", "sha256"):
            digest = hashlib.new(algorithm, raw).digest()
            forms[f"unsalted {algorithm}"], forms[f"unsalted {algorithm} hex"] = digest, digest.hex().encode()
    found: dict[bytes, str] = {}
    for name, needle in forms.items():
        found.setdefault(needle, name)
    return found


def scan(places: dict[str, bytes], kinds: dict[str, str]) -> list[tuple[str, str]]:
    """Where each secret turns up: (secret, ``kind (encoding) in place``)."""
    findings = []
    for secret, kind in kinds.items():
        for needle, encoding in needles(secret, kind).items():
            findings += [(secret, f"{kind} ({encoding}) in {place}") for place, hay in places.items() if needle in hay]
    return findings


def log_text(path: Path) -> bytes:
    """The log file as written, then each record's values decoded (a secret inside a JSON string is escaped once
    more by the log line itself)."""
    raw = path.read_bytes()
    decoded = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        try:
            decoded += [str(v) for v in json.loads(line).values()]
        except ValueError:
            decoded.append(line)
    return raw + b"\n" + "\n".join(decoded).encode()


@contextmanager
def debug_log(path: Path) -> Iterator[None]:
    """Everything the process logs (services, gateway, libraries) at DEBUG into ``path``, as JSON lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, {name: logging.getLogger(name).level for name in ("nats", "aiosqlite")}
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter("portal"))
    handler.addFilter(lambda record: not record.name.startswith(OUTSIDE_LOGGERS))
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG)
    for name in saved[2]:
        logging.getLogger(name).setLevel(logging.NOTSET)
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in saved[2].items():
            logging.getLogger(name).setLevel(level)
        handler.close()


async def scenario(stack: Stack, ledger: Ledger, ticket_text: str) -> None:
    keep = ledger.keep
    root, asl = await onboarded_company(stack, keep, resend=True)
    identifier, email, temporary = await new_user(stack, asl.browser, root, "emma", keep)
    user = await first_login(stack, identifier, email, temporary, keep)
    login = "/api/v1/session:login"
    for _ in range(5):  # locked out; the ASL unlocks
        await stack.browser().post(login, json={"identifier": identifier, "password": f"wrong {secrets.token_hex(6)}"})
    refused = await stack.browser().post(login, json={"identifier": identifier, "password": user.password})
    assert refused.status_code == 401, refused.text
    assert (await asl.browser.post(f"/api/v1/users/{identifier}:unlock")).status_code == 200
    await log_in(stack, identifier, user.password)
    assert (await asl.browser.post(f"/api/v1/users/{identifier}:reset-password")).status_code == 200
    reset = await mailed_password(stack, email, 2)
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


async def settled(stack: Stack, js: Any) -> None:
    """Every outbox row published, every mail requested spooled and sent."""
    async def probe() -> bool:
        pending = 0
        for app in stack.apps:
            async with app.database.session(readonly=True) as s, s.begin():
                unpublished = text("SELECT count(*) FROM outbox WHERE published_at IS NULL")
                pending += (await s.execute(unpublished)).scalar_one()
        async with stack.apps[2].database.session(readonly=True) as s, s.begin():
            spool = (await s.execute(text("SELECT status FROM mail_spool"))).scalars().all()
        requested = (await js.stream_info("NOTIFICATION")).state.messages
        return pending == 0 and len(spool) == requested and all(status == "SENT" for status in spool)
    await wait_for(probe, timeout=30, interval=0.2)


async def live_places(stack: Stack, tmp: Path, js: Any) -> dict[str, bytes]:
    """Every table row and every stream message, read back through the services' databases and JetStream."""
    places: dict[str, bytes] = {}
    for name, app in zip(SERVICES, stack.apps):
        async with app.database.session(readonly=True) as s, s.begin():
            tables = (await s.execute(text("SELECT name FROM sqlite_master WHERE type = 'table'"))).scalars().all()
            for table in tables:
                rows = (await s.execute(text(f'SELECT * FROM "{table}"'))).all()
                places[f"{name} table {table}"] = b"\n".join(
                    v if isinstance(v, bytes) else str(v).encode() for row in rows for v in row)
    for info in await js.streams_info():
        messages = [m for subject in info.config.subjects or []
                    for m in await read_subject(js, info.config.name, subject)]
        places[f"stream {info.config.name} ({len(messages)} messages)"] = b"\n".join(
            m.subject.encode() + repr(m.headers).encode() + m.data for m in messages)
    return places | database_files(tmp, "while running")


def database_files(tmp: Path, when: str) -> dict[str, bytes]:
    files = [tmp / f"{name}.sqlite3{suffix}" for name in SERVICES for suffix in ("", "-wal", "-shm")]
    return {f"{f.name} ({when})": f.read_bytes() for f in files if f.exists()}


def mail_text(stack: Stack) -> bytes:
    parts = [p.get_content() for m in stack.sink.received for p in m.message.walk()
             if p.get_content_maintype() == "text"]
    return "\n".join(parts).encode()


def control() -> str:
    return f"contrôle {secrets.token_urlsafe(12)}"


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


def stored_after(tmp: Path) -> dict[str, bytes]:
    """What is left on disk once everything stopped: databases, the log, the NATS store and server log."""
    log = tmp / "portal.log"
    store = [f for f in (tmp / "nats").rglob("*") if f.is_file()]
    return database_files(tmp, "after shutdown") | {
        f"log file ({log.stat().st_size // 1024} KiB)": log_text(log),
        f"NATS store ({len(store)} files)": b"\n".join(f.read_bytes() for f in store),
        "nats-server log": (tmp / "nats-server.log").read_bytes()}


async def run(report: Report, *, quick: bool = False) -> None:
    """The scenario is small: the quick run (inside make test) is the full one."""
    ledger = Ledger()
    controls = {control(): how for how in ["typed into a ticket", *CONTROLS]}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        server = NatsServer(tmp / "nats", log_file=tmp / "nats-server.log", users=nats_users()).start()
        try:
            places, mails = await observed_scenario(tmp, server, ledger, controls)
        finally:
            server.stop()
        places |= stored_after(tmp)

    findings = scan(places, ledger.kinds)
    expected = {how: ("log file",) if how in CONTROLS else ("support.sqlite3", "support table tickets")
                for how in controls.values()}
    found_controls = [how for secret, how in controls.items()
                      if all(any(place in where for _, where in scan(places, {secret: "control"}))
                             for place in expected[how])]
    mailed = {s: k for s, k in ledger.kinds.items() if k in MAILED}
    in_mails = [s for s in mailed if scan({"mails": mails}, {s: mailed[s]})]
    report.add("secrets_tracked", len(ledger.kinds), "secrets", "> 0",
               ", ".join(f"{kind} {ledger.count(kind)}" for kind in KINDS))
    files = sorted({place.split(" (")[0] for place in places if ".sqlite3" in place})
    tables = [place for place in places if " table " in place]
    others = sorted(place for place in places if ".sqlite3" not in place and " table " not in place)
    report.add("secrets_places_scanned", len(places), "places", "> 0",
               f"{sum(map(len, places.values())) // 1024} KiB: database files {', '.join(files)} (while running, "
               f"mains again after shutdown); {len(tables)} tables (support's mail_spool included); "
               + ", ".join(others))
    report.add("secrets_found", len({secret for secret, _ in findings}), "secrets", "0",
               "; ".join(where for _, where in findings[:8]))
    report.add("secrets_controls_found", len(found_controls), "controls", f"= {len(controls)}",
               "found: " + ", ".join(found_controls))
    report.add("secrets_mailed_found_in_mails", len(in_mails), "secrets", f"= {len(mailed)}",
               "the sink is the delivery channel, not storage: this only proves the tracked secrets are the real ones")

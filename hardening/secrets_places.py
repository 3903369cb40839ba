"""Where the secrets suite (hardening/secrets.py) looks: the services' tables and database files, the JetStream
streams, the log written at DEBUG, the NATS store and server log; and the mails, which hold mailed secrets by design."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import text

from kit.logging import JsonFormatter
from testing.streams import read_subject, wait_for
from tests.e2e.stack import Stack

SERVICES = ("cofor", "identity", "support")

# Outside the system: the visitors' HTTP client, and the SMTP sink's server (aiosmtpd), which stands for the mail
# recipients and logs every line it receives.
OUTSIDE_LOGGERS = ("httpx", "httpcore", "mail.log")


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


def stored_after(tmp: Path) -> dict[str, bytes]:
    """What is left on disk once everything stopped: databases, the log, the NATS store and server log."""
    log = tmp / "portal.log"
    store = [f for f in (tmp / "nats").rglob("*") if f.is_file()]
    return database_files(tmp, "after shutdown") | {
        f"log file ({log.stat().st_size // 1024} KiB)": log_text(log),
        f"NATS store ({len(store)} files)": b"\n".join(f.read_bytes() for f in store),
        "nats-server log": (tmp / "nats-server.log").read_bytes()}

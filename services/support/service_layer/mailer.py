"""The mailer: every EmailRequested event becomes a spooled mail, sent until the SMTP server accepts it.

Receiving and sending are split on purpose. The consumer only writes the spool row (with its inbox entry, in
one transaction), so an SMTP outage never exhausts redeliveries or loses a mail. The sender retries each mail
with exponential backoff until it is accepted, refused for good, or too old. A redelivered event finds its
spool row and sends nothing twice; each mail carries ``Message-ID: <event id@domain>`` so that the one
unavoidable duplicate (a crash between the server's acceptance and our bookkeeping) can be recognised.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Any

from portal.support.v1 import events_pb2 as ev
from prometheus_client import Counter
from sqlalchemy import and_, select, update

from kit.aio import wait_any
from kit.db import Database
from kit.messaging.envelope import EventContext
from kit.sealed import SealError, unseal

from support.adapters.mail_renderer import MailRenderer, RenderError
from support.adapters.orm import mail_spool, ticket_screenshots
from support.adapters.smtp import PermanentDeliveryError, SmtpPool
from support.service_layer.unit_of_work import SupportUnitOfWork

log = logging.getLogger(__name__)
MAILS = Counter("portal_mails_total", "Mails handled by the mailer", ["template", "outcome"])
GIVE_UP_AFTER = dt.timedelta(hours=72)
MAX_BACKOFF = 600.0


def template_key(template: int) -> str:
    return ev.EmailTemplate.Name(template).removeprefix("EMAIL_TEMPLATE_").lower()  # type: ignore[arg-type]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Mailer:
    def __init__(self, database: Database, renderer: MailRenderer, smtp: SmtpPool, *, seal_private_key: str,
                 mail_from: str, concurrency: int = 4, batch: int = 100, poll_seconds: float = 2.0,
                 max_backoff: float = MAX_BACKOFF, clock: Callable[[], dt.datetime] = utcnow) -> None:
        self._max_backoff = max_backoff
        self._db = database
        self._renderer = renderer
        self._smtp = smtp
        self._seal_key = seal_private_key
        self._mail_from = mail_from
        self._domain = mail_from.rpartition("@")[2] or "portal.local"
        self._concurrency = concurrency
        # Outcomes are recorded every ``chunk`` mails: a crash sends again at most that many (same Message-ID),
        # while one write per chunk keeps the bookkeeping's cost near that of one write per batch.
        self.chunk = 4 * concurrency
        self._batch = batch
        self._poll_seconds = poll_seconds
        self._now = clock
        self._wake = asyncio.Event()
        self.sent_total = 0

    def wake(self) -> None:
        self._wake.set()

    # ---- receiving: consumer handler --------------------------------------------------------------------

    async def spool(self, event: ev.EmailRequested, ctx: EventContext, uow: SupportUnitOfWork) -> None:
        exists = await uow.session.scalar(select(mail_spool.c.event_id).where(mail_spool.c.event_id == ctx.event_id))
        if exists is None:
            now = self._now()
            await uow.session.execute(mail_spool.insert().values(
                event_id=ctx.event_id, template=template_key(event.template), language=event.language or "fr",
                recipients=[[r.address, r.display_name] for r in event.to],
                reply_to=[event.reply_to.address, event.reply_to.display_name] if event.HasField("reply_to") else None,
                params=dict(event.params), sealed_secrets=event.sealed_secrets,
                attachments=[[ev.EmailAttachmentKind.Name(a.kind), a.id] for a in event.attachments],
                status="PENDING", attempts=0, last_error="", created_at=now, next_attempt_at=now))
        uow.on_commit(self.wake)

    # ---- sending -----------------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            self._wake.clear()
            try:
                sent = await self.send_due()
            except Exception:
                log.exception("mailer round failed")
                sent = 0
            if sent < self._batch:
                await wait_any(stop, self._wake, self._poll_seconds)

    async def send_due(self) -> int:
        """Send every due mail once; returns how many were handled (sent, failed or rescheduled). Outcomes are
        recorded chunk by chunk, as soon as the SMTP server has answered: a crash sends again at most one chunk."""
        due = and_(mail_spool.c.status == "PENDING", mail_spool.c.next_attempt_at <= self._now())
        query = select(mail_spool).where(due).order_by(mail_spool.c.created_at)
        if self._db.is_postgres:
            handled = 0
            while handled < self._batch:
                # Replicas share the spool: the row locks keep two senders off the same mail.
                async with self._db.session() as session, session.begin():
                    rows = (await session.execute(query.limit(self.chunk).with_for_update(skip_locked=True))
                            ).mappings().all()
                    await self._record(session, await self._deliver_all(session, rows))
                handled += len(rows)
                if len(rows) < self.chunk:
                    break
            return handled
        async with self._db.session(readonly=True) as session, session.begin():
            rows = (await session.execute(query.limit(self._batch))).mappings().all()
            for at in range(0, len(rows), self.chunk):
                outcomes = await self._deliver_all(session, rows[at:at + self.chunk])
                async with self._db.write_transaction() as writer:
                    await self._record(writer, outcomes)
        return len(rows)

    async def _deliver_all(self, session: Any, rows: Any) -> list[tuple[Any, str, str]]:
        limit = asyncio.Semaphore(self._concurrency)

        async def one(row: Any) -> tuple[Any, str, str]:
            async with limit:
                return row, *await self._deliver(session, row)

        return list(await asyncio.gather(*(one(r) for r in rows)))

    async def _deliver(self, session: Any, row: Any) -> tuple[str, str]:
        """("SENT" | "FAILED" | "RETRY", error)."""
        try:
            message = await self._compose(session, row)
        except (RenderError, SealError) as exc:
            log.error("mail %s cannot be composed: %s", row["event_id"], exc)
            return "FAILED", str(exc)
        try:
            await self._smtp.send(message)
        except PermanentDeliveryError as exc:
            log.error("mail %s refused by the SMTP server: %s", row["event_id"], exc)
            return "FAILED", str(exc)
        except Exception as exc:  # connection refused, timeout, 4xx: the server may come back
            return "RETRY", repr(exc)
        return "SENT", ""

    async def _compose(self, session: Any, row: Any) -> EmailMessage:
        secrets = unseal(self._seal_key, row["sealed_secrets"]) if row["sealed_secrets"] else {}
        recipients = [tuple(r) for r in row["recipients"]]
        subject, text = self._renderer.render(row["template"], row["language"], row["params"], secrets,
                                              recipients[0][1] if len(recipients) == 1 else "")
        message = EmailMessage()
        message["From"] = self._mail_from
        message["To"] = ", ".join(formataddr((name, address)) for address, name in recipients)
        if row["reply_to"]:
            message["Reply-To"] = formataddr((row["reply_to"][1], row["reply_to"][0]))
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = f"<{row['event_id']}@{self._domain}>"
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        for kind, ident in row["attachments"]:
            if kind == "EMAIL_ATTACHMENT_KIND_TICKET_SCREENSHOT":
                shot = (await session.execute(select(ticket_screenshots).where(
                    ticket_screenshots.c.reference == ident))).mappings().first()
                if shot is not None:
                    maintype, subtype = shot["content_type"].split("/", 1)
                    message.add_attachment(shot["data"], maintype=maintype, subtype=subtype,
                                           filename=shot["filename"])
        # Set last: set_content() and add_attachment() move or drop Content-* headers of the top part.
        message["Content-Language"] = row["language"]
        return message

    async def _record(self, session: Any, outcomes: list[tuple[Any, str, str]]) -> None:
        now = self._now()
        for row, outcome, error in outcomes:
            values: dict[str, Any]
            if outcome == "SENT":
                # Sent: the sealed secrets have served their purpose and are wiped.
                values = dict(status="SENT", sent_at=now, sealed_secrets=b"", attempts=row["attempts"] + 1,
                              last_error="")
                self.sent_total += 1
            elif outcome == "FAILED" or now - row["created_at"] > GIVE_UP_AFTER:
                values = dict(status="FAILED", sealed_secrets=b"", attempts=row["attempts"] + 1, last_error=error)
                log.error("mail %s given up: %s", row["event_id"], error)
            else:
                attempts = row["attempts"] + 1
                delay = min(2.0 ** (attempts - 1), self._max_backoff)
                values = dict(attempts=attempts, last_error=error[:2000],
                              next_attempt_at=now + dt.timedelta(seconds=delay))
            MAILS.labels(row["template"], str(values.get("status", "RETRY"))).inc()
            await session.execute(update(mail_spool).where(mail_spool.c.event_id == row["event_id"]).values(**values))

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
from email.utils import formatdate

from portal.support.v1 import events_pb2 as ev
from prometheus_client import Counter

from kit.aio import wait_any
from kit.clock import utcnow
from kit.db import Database
from kit.messaging.envelope import EventContext
from kit.sealed import unseal
from kit.validation import language_of, single_line

from support.adapters.mail_message import (
    SEND_POLICY,
    MailAddressError,
    Outgoing,
    address,
    check_headers,
    message_id,
    parse_address,
    set_address_header,
    set_unstructured_header,
)
from support.adapters.mail_renderer import MailRenderer
from support.adapters.mail_values import MailValuesError, template_values
from support.adapters.smtp import PermanentDeliveryError, SmtpPool
from support.domain.mail import GIVE_UP_AFTER, MAX_BACKOFF, Outcome, SpooledMail
from support.domain.tickets import Screenshot
from support.service_layer.unit_of_work import SupportUnitOfWork, UnitOfWorkFactory

__all__ = ["GIVE_UP_AFTER", "MAX_BACKOFF", "Mailer", "template_key"]
log = logging.getLogger(__name__)
MAILS = Counter("portal_mails_total", "Mails handled by the mailer", ["template", "outcome"])
Delivered = tuple[SpooledMail, Outcome, str]  # the mail, what the attempt gave, the error if any


def template_key(template: ev.EmailTemplate.ValueType) -> str:
    """The template's file name; a number this build does not know (a newer producer) is kept as ``template_<n>``,
    which fails to render: that mail alone is given up, with its reason."""
    try:
        return ev.EmailTemplate.Name(template).removeprefix("EMAIL_TEMPLATE_").lower()
    except ValueError:
        return f"template_{template}"


def _kind(kind: ev.EmailAttachmentKind.ValueType) -> str:
    try:
        return ev.EmailAttachmentKind.Name(kind)
    except ValueError:
        return f"EMAIL_ATTACHMENT_KIND_{kind}"


def _said(text: object) -> str:
    """Producer-controlled text as it may appear in a log line or in ``last_error``."""
    return single_line(str(text), max_length=2000)


class Mailer:
    def __init__(self, database: Database, renderer: MailRenderer, smtp: SmtpPool, *, seal_private_key: str,
                 mail_from: str, concurrency: int = 4, batch: int = 100, poll_seconds: float = 2.0,
                 max_backoff: float = MAX_BACKOFF, clock: Callable[[], dt.datetime] = utcnow,
                 uow: UnitOfWorkFactory | None = None) -> None:
        self._max_backoff = max_backoff
        self._db = database
        self._uow = uow or (lambda readonly=False: SupportUnitOfWork(database, readonly=readonly))
        self._renderer = renderer
        self._smtp = smtp
        self._seal_key = seal_private_key
        self._from = parse_address(mail_from)  # a bad MAIL_FROM stops the start, not every mail
        self._domain = self._from.domain or "portal.local"
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
        if await uow.spool.get(ctx.event_id) is None:
            now = self._now()
            try:
                params, error = template_values(event), ""
            except MailValuesError as exc:
                params, error = {}, f"cannot be composed: {exc}"
            mail = SpooledMail(
                event_id=ctx.event_id, template=template_key(event.template),
                language=language_of(event.language) or "fr",
                recipients=[[r.address, r.display_name] for r in event.to],
                reply_to=[event.reply_to.address, event.reply_to.display_name] if event.HasField("reply_to") else None,
                params=params, sealed_secrets=event.sealed_secrets,
                attachments=[[_kind(a.kind), a.id] for a in event.attachments], created_at=now, next_attempt_at=now)
            if error:  # typed values that cannot make this mail: given up alone, with the reason, never retried
                mail.settle(Outcome.FAILED, _said(error), now)
                log.error("mail %s given up: %s", _said(ctx.event_id), _said(error))
                MAILS.labels(mail.template, Outcome.FAILED.value).inc()
            uow.spool.add(mail)
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
        if self._db.is_postgres:
            handled = 0
            while handled < self._batch:
                # Replicas share the spool: the row locks keep two senders off the same mail.
                async with self._uow() as uow:
                    mails = await uow.spool.due(self._now(), self.chunk, lock=True)
                    self._settle(uow, await self._deliver_all(uow, mails))
                    await uow.commit()
                handled += len(mails)
                if len(mails) < self.chunk:
                    break
            return handled
        # SQLite has one writer: read outside it, and take it only to record a chunk, never during SMTP.
        async with self._uow(readonly=True) as reader:
            mails = await reader.spool.due(self._now(), self._batch)
            for at in range(0, len(mails), self.chunk):
                outcomes = await self._deliver_all(reader, mails[at:at + self.chunk])
                async with self._uow() as writer:
                    self._settle(writer, outcomes)
                    await writer.commit()
        return len(mails)

    async def _deliver_all(self, uow: SupportUnitOfWork, mails: list[SpooledMail]) -> list[Delivered]:
        limit = asyncio.Semaphore(self._concurrency)

        async def one(mail: SpooledMail) -> Delivered:
            async with limit:
                try:
                    return mail, *await self._deliver(uow, mail)
                except Exception as exc:  # never let one mail abort the chunk: its outcome would go unrecorded
                    log.exception("mail %s: unexpected failure", _said(mail.event_id))
                    return mail, Outcome.RETRY, repr(exc)

        return list(await asyncio.gather(*(one(m) for m in mails)))

    async def _deliver(self, uow: SupportUnitOfWork, mail: SpooledMail) -> tuple[Outcome, str]:
        """(outcome, error). Composing (render, unseal, headers, serialising) depends only on the mail: if it fails
        once it always will, so the mail is given up alone. Only reading its attachments and the SMTP exchange can
        fail for a passing reason."""
        try:
            attachments = await self._attachments(uow, mail)
        except Exception as exc:  # the database, not the mail
            return Outcome.RETRY, repr(exc)
        try:
            outgoing = self._compose(mail, attachments)
        except Exception as exc:
            reason = f"cannot be composed: {type(exc).__name__}: {exc}"
            log.error("mail %s %s", _said(mail.event_id), _said(reason))
            return Outcome.FAILED, reason
        try:
            await self._smtp.send(outgoing)
        except PermanentDeliveryError as exc:
            log.error("mail %s refused by the SMTP server: %s", _said(mail.event_id), _said(exc))
            return Outcome.FAILED, str(exc)
        except Exception as exc:  # connection refused, timeout, 4xx: the server may come back
            return Outcome.RETRY, repr(exc)
        return Outcome.SENT, ""

    async def _attachments(self, uow: SupportUnitOfWork, mail: SpooledMail) -> list[Screenshot]:
        found = []
        for kind, ident in mail.attachments:
            if kind == "EMAIL_ATTACHMENT_KIND_TICKET_SCREENSHOT":
                shot = await uow.spool.screenshot(ident)
                if shot is not None:
                    found.append(shot)
        return found

    def _compose(self, mail: SpooledMail, attachments: list[Screenshot]) -> Outgoing:
        """The mail as bytes: serialised here, so that a header that cannot be written fails the mail now rather
        than in the SMTP exchange (where it would be retried for 72 h), and read back: headers other than the ones
        written here (an injection through some text) fail it too."""
        secrets = unseal(self._seal_key, mail.sealed_secrets) if mail.sealed_secrets else {}
        recipients = [address(str(a), str(n)) for a, n in mail.recipients]
        if not recipients:
            raise MailAddressError("no recipient")
        language = language_of(str(mail.language)) or "fr"
        subject, text = self._renderer.render(mail.template, language, mail.params, secrets,
                                              recipients[0].display_name if len(recipients) == 1 else "")
        message = EmailMessage()
        addresses = {"From": [self._from], "To": recipients}
        if mail.reply_to:
            addresses["Reply-To"] = [address(str(mail.reply_to[0]), str(mail.reply_to[1]))]
        for name, value in addresses.items():
            set_address_header(message, name, value)
        set_unstructured_header(message, "Subject", subject)  # never message["Subject"]: it decodes encoded words
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = message_id(str(mail.event_id), self._domain)
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(text)
        for shot in attachments:
            maintype, subtype = shot.content_type.split("/", 1)
            message.add_attachment(shot.data, maintype=maintype, subtype=subtype, filename=shot.filename)
        # Set last: set_content() and add_attachment() move or drop Content-* headers of the top part.
        message["Content-Language"] = language
        data = message.as_bytes(policy=SEND_POLICY)
        check_headers(data, message, subject, addresses)
        return Outgoing(self._from.addr_spec, [r.addr_spec for r in recipients], data)

    def _settle(self, uow: SupportUnitOfWork, outcomes: list[Delivered]) -> None:
        now = self._now()
        for mail, outcome, error in outcomes:
            settled = mail.settle(outcome, _said(error), now, max_backoff=self._max_backoff)
            if settled == Outcome.SENT:
                self.sent_total += 1
            elif settled == Outcome.FAILED:
                log.error("mail %s given up: %s", _said(mail.event_id), _said(error))
            MAILS.labels(mail.template, settled.value).inc()
        uow.spool.settle([mail for mail, _, _ in outcomes])

"""The mailer on a fake unit of work and a fake SMTP server: spooling an EmailRequested event once, then sending,
retrying with backoff, and giving up (the rules: SpooledMail.settle)."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
from email.message import EmailMessage

from portal.support.v1 import events_pb2 as ev

from kit.messaging.envelope import EventContext
from kit.sealed import seal
from tests.unit.support.builders import NOW, PROVEN, SEAL, World, new_ticket, world
from tests.unit.support.fakes import unit_of_work

from support.adapters.smtp import PermanentDeliveryError
from support.domain.mail import GIVE_UP_AFTER, MailStatus

EVENT_ID = "5d0c6f7e-8a9b-4c1d-9e2f-3a4b5c6d7e8f"


def acknowledgement(template: int = ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, sealed: bytes = b"") -> ev.EmailRequested:
    return ev.EmailRequested(
        template=ev.EmailTemplate.ValueType(template), language="en", sealed_secrets=sealed,
        to=[ev.EmailRecipient(address="claire.martin@forges.example", display_name="Claire Martin")],
        params={"reference": "B2B-2026-000001", "category": "OTHER"})


async def spool(w: World, event: ev.EmailRequested, event_id: str = EVENT_ID) -> None:
    ctx = EventContext(event_id=event_id, subject="notification.email.requested", event_type="", producer="test",
                       occurred_at=None, correlation_id="", delivery=1)
    async with unit_of_work(w.store)() as uow:
        await w.mailer.spool(event, ctx, uow)
        await uow.commit()


async def test_an_event_is_spooled_once_however_often_it_is_delivered() -> None:
    w = world()
    for _ in range(3):
        await spool(w, acknowledgement())
    [mail] = w.store.spool.values()
    assert (mail.event_id, mail.template, mail.language, mail.status) == (
        EVENT_ID, "ticket_acknowledgement", "en", MailStatus.PENDING)
    assert mail.recipients == [["claire.martin@forges.example", "Claire Martin"]] and mail.reply_to is None
    assert mail.created_at == mail.next_attempt_at == NOW
    assert w.mailer._wake.is_set()  # the sender is woken once the spool row is committed


async def test_a_due_mail_is_sent_once_and_its_secrets_wiped() -> None:
    w = world()
    await spool(w, acknowledgement(sealed=seal(SEAL.public_key, {"token": "tok-3f9a"})))
    assert w.store.spool[EVENT_ID].sealed_secrets  # kept sealed until the mail is settled
    assert await w.mailer.send_due() == 1
    [sent] = w.smtp.sent
    message = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert sent.recipients == ["claire.martin@forges.example"] and message["Message-ID"].startswith(f"<{EVENT_ID}@")
    mail = w.store.spool[EVENT_ID]
    assert (mail.status, mail.attempts, mail.sent_at, mail.sealed_secrets) == (MailStatus.SENT, 1, NOW, b"")
    assert await w.mailer.send_due() == 0 and len(w.smtp.sent) == 1 and w.mailer.sent_total == 1


async def test_an_outage_is_retried_with_a_growing_capped_backoff() -> None:
    w = world()
    await spool(w, acknowledgement())
    w.smtp.failure = ConnectionRefusedError("down")
    delays = []
    for _ in range(12):
        await w.mailer.send_due()
        mail = w.store.spool[EVENT_ID]
        delays.append((mail.next_attempt_at - w.clock.now).total_seconds())
        assert await w.mailer.send_due() == 0  # not due again before its time
        w.clock.now = mail.next_attempt_at
    assert delays == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600]
    assert mail.status == MailStatus.PENDING and "down" in mail.last_error
    w.smtp.failure = None
    await w.mailer.send_due()
    assert w.store.spool[EVENT_ID].status == MailStatus.SENT and len(w.smtp.sent) == 1


async def test_a_mail_is_given_up_once_too_old_or_refused_for_good() -> None:
    w = world()
    await spool(w, acknowledgement())
    await spool(w, acknowledgement(), event_id="second")
    w.smtp.failure = ConnectionRefusedError("down")
    w.clock.now = NOW + GIVE_UP_AFTER + dt.timedelta(seconds=1)
    await w.mailer.send_due()
    assert {m.status for m in w.store.spool.values()} == {MailStatus.FAILED}
    w2 = world()
    await spool(w2, acknowledgement())
    w2.smtp.failure = PermanentDeliveryError("550 no such mailbox")
    await w2.mailer.send_due()
    mail = w2.store.spool[EVENT_ID]
    assert (mail.status, mail.last_error, mail.attempts) == (MailStatus.FAILED, "550 no such mailbox", 1)


async def test_a_mail_that_cannot_be_composed_is_given_up_alone() -> None:
    w = world()
    await spool(w, acknowledgement(template=999))  # a template this build does not know
    await spool(w, acknowledgement(), event_id="fine")
    await w.mailer.send_due()
    broken = w.store.spool[EVENT_ID]
    assert broken.status == MailStatus.FAILED and broken.last_error.startswith("cannot be composed")
    assert w.store.spool["fine"].status == MailStatus.SENT and len(w.smtp.sent) == 1


async def test_the_mail_to_support_carries_the_tickets_screenshot() -> None:
    w = world()
    data = b"\x89PNG" + bytes(100)
    ticket = await w.intake.create(new_ticket(screenshot=("screen.png", "image/png", data)), PROVEN)
    to_support = w.store.of("notification.email.requested")[0]
    await spool(w, to_support)
    await w.mailer.send_due()
    [sent] = w.smtp.sent
    message = email.message_from_bytes(sent.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "screen.png" and attachment.get_content() == data
    assert ticket.reference in str(message["Subject"])

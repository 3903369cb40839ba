"""The one mailer: EmailRequested → rendered mail on a real SMTP server, once, even through outages."""
from __future__ import annotations

import asyncio
import uuid

from portal.support.v1 import events_pb2 as ev

from kit.messaging import envelope
from kit.messaging.envelope import EventContext
from kit.sealed import seal
from testing.streams import wait_for

from support.service_layer.mailer import Mailer
from support.service_layer.unit_of_work import SupportUnitOfWork

from .conftest import Support, unique_email


async def request(support: Support, template: ev.EmailTemplate.ValueType, to: str, *, language: str = "fr",
                  params: dict[str, str] | None = None, secrets: dict[str, str] | None = None,
                  event_id: str | None = None) -> str:
    recipient = ev.EmailRecipient(address=to, display_name="Claire Martin")
    event = ev.EmailRequested(template=template, language=language, to=[recipient],
                              params=params or {},
                              sealed_secrets=seal(support.seal.public_key, secrets) if secrets else b"")
    event_id = event_id or str(uuid.uuid4())
    await support.js.publish("notification.email.requested", event.SerializeToString(),
                             headers={envelope.MSG_ID: event_id})
    return event_id


async def test_a_requested_mail_is_rendered_in_the_recipient_language_with_its_sealed_secret(
        support: Support) -> None:
    to = unique_email()
    await request(support, ev.EMAIL_TEMPLATE_TERMS_ACCEPTANCE, to, language="en",
                  params={"legal_name": "Forges SA", "cofor": "12345A  01", "signatory_name": "Claire Martin",
                          "administrator_name": "Paul Durand", "expire_time": "2026-12-03T10:00:00+00:00"},
                  secrets={"acceptance_token": "tok-3f9a"})
    [mail] = await support.mails_to(to)
    body = mail.get_content()
    assert "https://b2b.portal.example/en/access/terms?token=tok-3f9a" in body
    assert "Forges SA" in body and mail["Content-Language"] == "en"
    assert mail["Message-ID"].startswith("<") and "Claire Martin" in mail["To"]


async def test_french_is_the_default_and_each_template_of_the_design_renders(support: Support) -> None:
    to = unique_email()
    await request(support, ev.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY, to, language="",
                  params={"identifiers": '["V123456", "V654321"]', "legal_name": "Forges SA", "cofor_root": "12345A"})
    [mail] = await support.mails_to(to)
    assert "V123456" in mail.get_content() and "V654321" in mail.get_content()
    assert mail["Content-Language"] == "fr"


async def test_a_redelivered_event_never_sends_twice(support: Support) -> None:
    """A redelivery that gets past the inbox (e.g. the effect committed, the ack lost, another replica picks it
    up) finds the event's spool row and adds nothing: one mail."""
    to = unique_email()
    event = ev.EmailRequested(template=ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, language="fr",
                              to=[ev.EmailRecipient(address=to)],
                              params={"reference": "B2B-2026-000001", "subject": "Login"})
    ctx = EventContext(event_id=str(uuid.uuid4()), subject="notification.email.requested", event_type="",
                       producer="test", occurred_at=None, correlation_id="", delivery=1)
    spooler = Mailer(support.app.database, None, None, seal_private_key="", mail_from="x@y.example")  # type: ignore[arg-type]
    for _ in range(3):
        async with SupportUnitOfWork(support.app.database) as uow:
            await spooler.spool(event, ctx, uow)
            await uow.commit()
    await support.mails_to(to)
    await asyncio.sleep(1.0)
    assert len([m for m in support.sink.received if to in m.rcpt_tos]) == 1


async def test_smtp_outage_delays_mails_but_loses_none(support: Support) -> None:
    support.sink.handler.reject = True  # the server answers 421 to every mail
    addresses = [unique_email(f"outage{i}") for i in range(5)]
    for to in addresses:
        await request(support, ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, to,
                      params={"reference": "B2B-2026-000002", "subject": "Outage"})
    await asyncio.sleep(1.5)  # several attempts fail meanwhile
    assert not [m for m in support.sink.received if m.rcpt_tos[0] in addresses]
    support.sink.handler.reject = False
    for to in addresses:
        assert len(await support.mails_to(to, timeout=20)) == 1
    await asyncio.sleep(1.0)
    assert sum(1 for m in support.sink.received if m.rcpt_tos[0] in addresses) == 5  # exactly once each


async def test_smtp_server_gone_entirely_then_back(support: Support, mail_sink) -> None:  # type: ignore[no-untyped-def]
    mail_sink.stop()
    to = unique_email("down")
    await request(support, ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, to,
                  params={"reference": "B2B-2026-000003", "subject": "Down"})
    await asyncio.sleep(1.0)
    mail_sink.start()
    assert len(await support.mails_to(to, timeout=20)) == 1


async def test_an_unrenderable_mail_is_given_up_not_retried_forever(support: Support) -> None:
    to = unique_email("broken")
    await request(support, ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, to, secrets={"x": "y"})  # params missing
    ok = unique_email("after")
    await request(support, ev.EMAIL_TEMPLATE_TICKET_ACKNOWLEDGEMENT, ok,
                  params={"reference": "B2B-2026-000004", "subject": "Fine"})
    await support.mails_to(ok)
    from sqlalchemy import select

    from support.adapters.orm import mail_spool

    async def failed() -> list[object]:
        async with support.app.database.session(readonly=True) as s, s.begin():
            return list((await s.execute(select(mail_spool.c.status, mail_spool.c.sealed_secrets).where(
                mail_spool.c.status == "FAILED"))).all())

    [(status, sealed)] = await wait_for(failed)
    assert status == "FAILED" and sealed == b""  # secrets wiped once the mail is settled
    assert not [m for m in support.sink.received if to in m.rcpt_tos]

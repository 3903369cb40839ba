"""RFC 2047 encoded words typed as plain ASCII (review: header and body injection through the subject), at the SMTP
sink: the real service, NATS and mailer, on SQLite and PostgreSQL. Each received mail, re-read with
email.policy.default, has exactly the headers the mailer set (one Reply-To or none, no X-Injected, text/plain), its
subject shows the literal characters, and no decoded header holds CR, LF or U+202E. A ticket typed with an encoded
word is refused; what an older producer sends anyway is shown as typed. A mail whose headers do not read back as
written is given up alone, never sent. (Unit and property tests: tests/unit/support/test_mail_subjects.py.)"""
from __future__ import annotations

import email
import email.policy
import uuid
from email.message import EmailMessage

import grpc
import pytest
from portal.support.v1 import events_pb2 as ev

from kit.client import failure_of
from kit.messaging import envelope
from testing.streams import wait_for
from tests.unit.support.test_mail_subjects import HTML_BODY, RLO, TICKET_SUBJECT

from .conftest import SUPPORT_MAILBOX, Support, unique_email
from .test_mail_poison import spool_rows
from .test_tickets_and_help import contact, create

HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
           "Content-Transfer-Encoding", "MIME-Version", "Content-Language"]
EW_NAME = "Jean =?utf-8?b?DQpCY2M6IGV2ZUBhdHRhY2tlci5leGFtcGxl?= =?utf-8?q?=E2=80=AE?= Dupont"


async def publish(support: Support, template: int, to: str, params: dict[str, str], *, name: str = "Claire",
                  reply_to: tuple[str, str] | None = None, language: str = "fr") -> str:
    event = ev.EmailRequested(template=template, language=language,  # type: ignore[arg-type]
                              to=[ev.EmailRecipient(address=to, display_name=name)], params=params)
    if reply_to:
        event.reply_to.CopyFrom(ev.EmailRecipient(address=reply_to[0], display_name=reply_to[1]))
    event_id = str(uuid.uuid4())
    await support.js.publish("notification.email.requested", event.SerializeToString(),
                             headers={envelope.MSG_ID: event_id})
    return event_id


async def received(support: Support, to: str) -> EmailMessage:
    """The one mail to ``to``, parsed again from the bytes the sink got, the way a mail client reads them."""
    [mail] = await support.mails_to(to)
    parsed = email.message_from_bytes(mail.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    for name, value in parsed.items():
        assert not any(c in str(value) for c in "\r\n\u202e"), (name, str(value))
    assert parsed.get_content_type() == "text/plain" and parsed["X-Injected"] is None and parsed["Bcc"] is None
    return parsed


@pytest.mark.parametrize("template, language, legal_name, shown", [
    (ev.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, "fr", HTML_BODY, "ACME = ?utf-8?b?DQpSZXBseS1Ub"),
    (ev.EMAIL_TEMPLATE_PRESENTATION_SUBMITTED, "en", RLO, "Facture = ?utf-8?b?4oCuZ3BqLmV4ZQ==?= ACME"),
])
async def test_a_legal_name_with_an_encoded_word_is_shown_as_typed_in_the_subject(
        support: Support, template: int, language: str, legal_name: str, shown: str) -> None:
    to = unique_email("presenter")
    await publish(support, template, to, {"legal_name": legal_name, "duns": "123456789", "presentation_id": "p-1"},
                  language=language)
    mail = await received(support, to)
    assert mail.keys() == HEADERS and mail["Reply-To"] is None
    assert shown in mail["Subject"] and mail.get_content().startswith(("Bonjour Claire", "Hello Claire"))
    assert [a.addr_spec for a in mail["To"].addresses] == [to]


async def test_a_ticket_subject_with_an_encoded_word_is_refused(support: Support) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await create(support, subject=TICKET_SUBJECT, contact=contact(unique_email("jean")))
    failure = failure_of(err.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT and [f for f, _ in failure.field_violations] == ["subject"]


async def test_an_older_producers_ticket_subject_gives_support_one_reply_to_and_the_literal_text(
        support: Support) -> None:
    requester = unique_email("jean")
    await publish(support, ev.EMAIL_TEMPLATE_TICKET_TO_SUPPORT, SUPPORT_MAILBOX, {
        "reference": "B2B-2026-000042", "category": "OTHER", "subject": TICKET_SUBJECT, "text": "Bonjour"},
        name="", reply_to=(requester, "Jean"))
    mail = await received(support, SUPPORT_MAILBOX)
    assert mail.keys() == HEADERS[:2] + ["Reply-To"] + HEADERS[2:]
    assert [a.addr_spec for a in mail["Reply-To"].addresses] == [requester]
    assert "Mot de passe = ?utf-8?b?DQpSZXBseS1Ub" in mail["Subject"]


async def test_an_encoded_word_in_a_display_name_stays_a_name(support: Support) -> None:
    to, reply = unique_email("to"), unique_email("reply")
    await publish(support, ev.EMAIL_TEMPLATE_TICKET_REPLY, to, {
        "reference": "B2B-2026-000009", "subject": "Question", "author": "Ann", "text": "Answer"},
        name=EW_NAME, reply_to=(reply, EW_NAME))
    mail = await received(support, to)
    assert mail.keys() == HEADERS[:2] + ["Reply-To"] + HEADERS[2:]
    shown = "Jean = ?utf-8?b?DQpCY2M6IGV2ZUBhdHRhY2tlci5leGFtcGxl?= = ?utf-8?q?=E2=80=AE?= Dupont"
    for header, spec in (("To", to), ("Reply-To", reply)):
        assert [(a.addr_spec, a.display_name) for a in mail[header].addresses] == [(spec, shown)]


async def test_a_mail_whose_headers_do_not_read_back_as_written_is_given_up_alone(
        support: Support, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last line of defence: a subject writer that lets Python decode an encoded word (the old
    ``message["Subject"] = subject``, with the review's subject) is caught after serialisation."""
    import support.service_layer.mailer as mailer

    def old_writer(message: EmailMessage, name: str, text: str) -> None:
        message[name] = TICKET_SUBJECT if "Poison" in text else text

    monkeypatch.setattr(mailer, "set_unstructured_header", old_writer)
    poison_to, normal_to = unique_email("poison"), unique_email("normal")
    params = {"reference": "B2B-2026-000001", "category": "OTHER", "subject": "Poison", "text": "x"}
    poison = await publish(support, ev.EMAIL_TEMPLATE_TICKET_TO_SUPPORT, poison_to, params)
    await publish(support, ev.EMAIL_TEMPLATE_TICKET_TO_SUPPORT, normal_to, {**params, "subject": "Ordinaire"})
    await received(support, normal_to)

    async def failed() -> bool:
        return (await spool_rows(support)).get(poison, ("", ""))[0] == "FAILED"

    await wait_for(failed, timeout=15)
    status, reason = (await spool_rows(support))[poison]
    assert status == "FAILED" and reason.startswith("cannot be composed: Header") and "Reply-To" in reason
    assert not [m for m in support.sink.received if poison_to in m.rcpt_tos]

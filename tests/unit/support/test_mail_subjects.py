"""The subject the mailer writes (review: RFC 2047 encoded words typed as plain ASCII), re-read the way a mail client
would (email.policy.default): whatever a producer's text holds, the mail has exactly the headers the mailer set, one
one-line subject showing the literal characters, and nothing a reader decodes into a line break, a control or a
format character. Real renderer, real templates, real composition; the sink test is
tests/integration/support/test_mail_encoded_words.py."""
from __future__ import annotations

import base64
import email
import email.policy
import unicodedata
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kit.validation import single_line
from tests.unit.support.builders import spooled

from support.adapters.mail_message import (
    SEND_POLICY,
    HeaderCheckError,
    address,
    check_headers,
    set_address_header,
    unstructured_header,
)
from support.adapters.mail_renderer import MailRenderer
from support.service_layer.mailer import Mailer

FROM = "Portail B2B Fournisseurs <no-reply@b2b-portal.example>"
HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "Auto-Submitted", "Content-Type",
           "Content-Transfer-Encoding", "MIME-Version", "Content-Language"]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


HTML_BODY = ("ACME =?utf-8?b?" + b64("\r\nReply-To: eve@attacker.example\r\nContent-Type: text/html\r\n\r\n"
                                     "<h1>Compte suspendu</h1><a href=https://evil.example>Reactivez</a><!--") + "?=")
TICKET_SUBJECT = "Mot de passe =?utf-8?b?" + b64("\r\nReply-To: eve@attacker.example\r\nX-Injected: yes") + "?="
RLO = "Facture =?utf-8?b?4oCuZ3BqLmV4ZQ==?= ACME"


def compose(template: str, params: dict[str, str],
            reply_to: tuple[str, str] | None = None) -> tuple[bytes, EmailMessage]:
    mailer = Mailer(None, MailRenderer("https://portal.example"), None, seal_private_key="",  # type: ignore[arg-type]
                    mail_from=FROM)
    row: dict[str, Any] = {"event_id": "3f6c2a4e-1b7d-4c8e-9a0f-2d5e6b7c8d9e", "template": template, "language": "fr",
                           "recipients": [["achats@forges.example", "Claire"]], "reply_to": reply_to and list(reply_to),
                           "sealed_secrets": b"", "params": params}
    data = mailer._compose(spooled(row), []).data
    mail = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(mail, EmailMessage)
    return data, mail


def presentation(legal_name: str) -> dict[str, str]:
    return {"legal_name": legal_name, "duns": "123456789", "presentation_id": "p-1"}


def ticket(subject: str) -> dict[str, str]:
    return {"reference": "B2B-2026-000001", "category": "OTHER", "subject": subject, "text": "Hello"}


def hidden(text: str) -> list[str]:
    """Controls, line and paragraph separators and format characters (ZWNJ/ZWJ are letters' business) in ``text``."""
    return [hex(ord(c)) for c in text if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs")
            and c not in "\u200c\u200d"]


@pytest.mark.parametrize("template, params, shown", [
    ("presentation_submitted", presentation(HTML_BODY), "ACME = ?utf-8?b?DQpSZXBseS1Ub"),
    ("presentation_submitted", presentation(RLO),
     "Facture = ?utf-8?b?4oCuZ3BqLmV4ZQ==?= ACME"),
    ("ticket_to_support", ticket(TICKET_SUBJECT), "Mot de passe = ?utf-8?b?DQpSZXBseS1Ub"),
])
def test_the_reviews_encoded_words_are_shown_as_typed_never_decoded(template: str, params: dict[str, str],
                                                                     shown: str) -> None:
    reply_to = ("jean@supplier.example", "Jean") if template == "ticket_to_support" else None
    data, mail = compose(template, params, reply_to)
    assert mail.keys() == HEADERS[:2] + (["Reply-To"] if reply_to else []) + HEADERS[2:]
    assert mail.get_content_type() == "text/plain" and mail["X-Injected"] is None
    if reply_to:
        assert [a.addr_spec for a in mail["Reply-To"].addresses] == [reply_to[0]]
    assert shown in mail["Subject"] and b"Subject: =?utf-8?b?" in data  # our own encoded words
    assert {name: hidden(str(value)) for name, value in mail.items() if hidden(str(value))} == {}


def test_plain_ascii_words_are_written_as_they_are_and_folded() -> None:
    value = unstructured_header("Subject", "B2B Supplier Portal: file for Forges   SA sent to Purchasing " * 3)
    assert value.isascii() and "=?" not in value
    assert all(len(line) <= 78 for line in f"Subject: {value}".split("\n"))
    assert " ".join(line.strip() for line in value.split("\n")) == single_line("B2B Supplier Portal: file for Forges "
                                                                               "SA sent to Purchasing " * 3)


@pytest.mark.parametrize("text", ["Société Générale", "Prix =? 5 EUR", "東京鋼業" * 30, "x" * 1000, "a =?= b",
                                  "😀" * 50, "Jean \u200cDupont"])
def test_any_other_text_is_wholly_our_own_encoded_words_that_read_back_as_the_text(text: str) -> None:
    value = unstructured_header("Subject", text)
    assert value.isascii() and all(w.startswith("=?utf-8?b?") for w in value.split("\n "))
    assert all(len(line) <= 78 for line in f"Subject: {value}".split("\n"))
    mail = email.message_from_bytes(f"Subject: {value}\r\n\r\n".encode(), policy=email.policy.default)
    assert str(mail["Subject"]) == text and not mail["Subject"].defects


def old_composition(subject: str) -> tuple[bytes, EmailMessage]:
    """How the mailer wrote a subject before: message["Subject"] = subject (Python decodes the encoded words)."""
    message = EmailMessage()
    set_address_header(message, "From", [address("no-reply@b2b-portal.example")])
    set_address_header(message, "To", [address("achats@forges.example")])
    message["Subject"] = subject
    message.set_content("Hello\n")
    return message.as_bytes(policy=SEND_POLICY), message


@pytest.mark.parametrize("subject", [HTML_BODY, TICKET_SUBJECT, RLO])
def test_the_check_after_serialisation_catches_a_subject_python_decoded(subject: str) -> None:
    data, message = old_composition(subject)
    with pytest.raises(HeaderCheckError):
        check_headers(data, message, subject, {"To": [address("achats@forges.example")]})


def test_the_check_catches_an_extra_header_and_an_address_we_did_not_write() -> None:
    data, message = old_composition("Hello")
    to = {"To": [address("achats@forges.example")]}
    check_headers(data, message, "Hello", to)  # as written: passes
    with pytest.raises(HeaderCheckError):
        check_headers(data.replace(b"Subject: Hello", b"Subject: Hello\r\nBcc: eve@attacker.example"), message,
                      "Hello", to)
    with pytest.raises(HeaderCheckError):
        check_headers(data, message, "Hello", {"To": [address("eve@attacker.example")]})


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200) | st.text(max_size=200) | st.lists(
    st.sampled_from(["=?", "utf-8", "?b?", "?Q?", "?=", "DQpCY2M6", "=0D=0A", "4oCu", " ", "\r\n", "\u202e", "\u200b",
                     "\u2028", "\ufeff", "\U000e0041", "é", "Reply-To: eve@attacker.example", "x" * 90]),
    max_size=30).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=TEXT, where=st.sampled_from(["presentation_submitted", "ticket_to_support"]))
def test_any_text_gives_one_single_line_subject_with_nothing_hidden(text: str, where: str) -> None:
    params = presentation(single_line(text) or "x") if where == "presentation_submitted" else ticket(text)
    subject, _ = MailRenderer("https://portal.example").render(where, "fr", params, {})
    _, mail = compose(where, params)
    assert mail.keys() == HEADERS and mail.get_content_type() == "text/plain"
    assert str(mail["Subject"]) == subject and len(str(mail["Subject"]).splitlines()) == 1
    assert hidden(str(mail["Subject"])) == [] and not mail["Subject"].defects


def test_a_colleague_s_message_names_them_without_a_preposition_to_elide() -> None:
    """"message de Émilie" was wrong French ("d'Émilie"); the subject now needs no preposition before a name."""
    _, mail = compose("user_message_to_administrator", {"user_name": "Émilie Durand", "user_identifier": "V123456",
                                                         "user_email": "e@x.example", "message": "Bonjour"})
    assert str(mail["Subject"]) == "Portail B2B Fournisseurs : Émilie Durand (V123456) vous écrit"

"""Address injection through display names (review finding 5), at the SMTP sink: whatever a name holds, each address
header of the received mail, re-read with email.policy.default, is exactly the one intended address, and the name
comes back as sent once made one line. (The property over many more names: tests/unit/support/test_mail_headers.py.)"""
from __future__ import annotations

import uuid

from portal.support.v1 import events_pb2 as ev

from kit.messaging import envelope

from support.adapters.mail_message import display_name

from .conftest import SUPPORT_MAILBOX, Support, unique_email
from .test_tickets_and_help import contact, create

REVIEW_NAME = ("Jean Dupont, eve@attacker.example, Jean Dupont - Responsable Achats Forges de Lorraine SA, "
               "site de Nancy")
NAMES = [
    REVIEW_NAME,
    "Dupont, Jean", '"Jean" <eve@attacker.example>', "Jean\\\" <eve@attacker.example>, \"x",
    "a;b:c@d<e>f(g)h[i]", "eve@attacker.example", "<eve@attacker.example>", "=?utf-8?q?eve=40attacker?=",
    "Jean Dupont =?utf-8?b?LCBldmVAYXR0YWNrZXIuZXhhbXBsZQ==?=", "Hélène Dupré-Lefèvre, Société Générale, Nancy",
    "東京鋼業株式会社 購買部, 山田 太郎", "😀" * 180, "x" * 200, ("Jean Dupont, " * 20).strip(),
    "Achats, " + "é" * 60 + ", eve@attacker.example", "Jean\u2028Bcc: eve@attacker.example", "Jean\u0085Dupont\u202e",
    "  spaced   out  ", ("a," * 100), "(comment) Jean <x@y> (another)", "Jean\\", "\"", ",", "@", "",
]


async def test_display_names_never_add_an_address_at_the_sink(support: Support) -> None:
    expected: dict[str, tuple[str, str, str]] = {}
    for n, name in enumerate(NAMES):
        to, reply = unique_email(f"to{n}"), unique_email(f"reply{n}")
        event = ev.EmailRequested(template=ev.EMAIL_TEMPLATE_TICKET_REPLY, language="fr",
                                  to=[ev.EmailRecipient(address=to, display_name=name)],
                                  reply_to=ev.EmailRecipient(address=reply, display_name=name),
                                  params={"reference": "B2B-2026-000009", "subject": "Question", "author": "Ann",
                                          "text": "Answer"})
        await support.js.publish("notification.email.requested", event.SerializeToString(),
                                 headers={envelope.MSG_ID: str(uuid.uuid4())})
        expected[to] = (reply, name, display_name(name))
    for to, (reply, name, shown) in expected.items():
        [mail] = await support.mails_to(to)
        for header, spec in (("To", to), ("Reply-To", reply)):
            found = [(a.addr_spec, a.display_name) for a in mail[header].addresses]
            assert found == [(spec, shown)], (name, header, found)
        assert [a.addr_spec for a in mail["From"].addresses] == ["no-reply@b2b-portal.example"]


async def test_a_ticket_from_the_reviews_name_gives_support_a_one_address_reply_to(support: Support) -> None:
    requester = unique_email("jean")
    who = contact(requester)
    who.name = REVIEW_NAME
    ticket = await create(support, contact=who)
    [to_support] = await support.mails_to(SUPPORT_MAILBOX)
    assert [(a.addr_spec, a.display_name) for a in to_support["Reply-To"].addresses] == [(requester, REVIEW_NAME)]
    [ack] = await support.mails_to(requester)
    assert [(a.addr_spec, a.display_name) for a in ack["To"].addresses] == [(requester, "")]
    assert ticket.reference in ack["Subject"]

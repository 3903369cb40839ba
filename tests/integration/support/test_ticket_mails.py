"""The acknowledgement goes to an address nobody proved (review finding 11, ARCHITECTURE §8): it quotes the reference
and the category only, in the requester's language, never a word the requester typed; the support mailbox still
gets everything, with whether the identifier was proven."""
from __future__ import annotations

import pytest
from portal.support.v1 import ticket_pb2 as pb

from .conftest import SUPPORT_MAILBOX, Support, unique_email
from .test_tickets_and_help import create

LURE_SUBJECT = "Your portal account expires today: log in at https://b2b-portal.example.evil/login"
LURE_TEXT = "Dear customer, confirm your password at https://b2b-portal.example.evil/verify now."
LURE_NAME = "Portal Security Team (https://b2b-portal.example.evil)"


@pytest.mark.parametrize("language,category_label", [("fr", "Compte bloqué"), ("en", "Blocked account")])
async def test_the_acknowledgement_quotes_the_reference_and_category_and_nothing_typed(
        support: Support, language: str, category_label: str) -> None:
    victim = unique_email("victim")
    ticket = await create(support, category=pb.TICKET_CATEGORY_BLOCKED_ACCOUNT, subject=LURE_SUBJECT,
                          text=LURE_TEXT, contact=pb.TicketContact(
                              name=LURE_NAME, email=victim, phone="+33 1 23 45 67 89", company="evil.example Ltd",
                              language=language))
    [ack] = await support.mails_to(victim)
    body, subject = ack.get_content(), str(ack["Subject"])
    assert ticket.reference in subject and ticket.reference in body and category_label in body
    whole = ack.as_string()
    for typed in ("evil", "expires", "password at", "Security Team", "Dear customer"):
        assert typed not in whole, typed
    assert [(a.addr_spec, a.display_name) for a in ack["To"].addresses] == [(victim, "")]
    assert [a.addr_spec for a in ack["Reply-To"].addresses] == [SUPPORT_MAILBOX]  # "reply to this message"
    assert ack["Content-Language"] == language

    [to_support] = await support.mails_to(SUPPORT_MAILBOX)
    assert LURE_TEXT in to_support.get_content() and LURE_SUBJECT in str(to_support["Subject"])
    assert "nothing above is verified" in to_support.get_content() or "rien de ce qui précède" in \
        to_support.get_content()

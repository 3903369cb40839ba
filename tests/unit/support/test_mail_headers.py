"""Address headers the mailer writes (From, To, Reply-To), re-read the way a mail client would (email.policy.default):
whatever the display name holds, each header is exactly the intended addresses, and each name comes back as sent
once made one line. The mailer's own composition (real templates), without the network: the sink test is in
tests/integration/support/test_mail_headers_at_the_sink.py."""
from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.support.builders import spooled

from support.adapters.mail_message import MailAddressError, address, display_name
from support.adapters.mail_renderer import MailRenderer
from support.service_layer.mailer import Mailer

FROM = "Portail B2B Fournisseurs <no-reply@b2b-portal.example>"
# Characters that are syntax in an address header, that RFC 2047 gives meaning to, that fold lines, or that are
# not ASCII — and the ones the neutraliser turns into spaces.
SPECIALS = ",;:<>@\"\\()[].'=?_ \t!#$%&*+/^`{|}~-"
ALPHABET = st.sampled_from(list(SPECIALS) + list("aZ09éÆ東ß€😀") + ["\u2028", "\u0085", "\u202e", "\r", "\n", "\x00"])
NAMES = st.text(alphabet=ALPHABET, max_size=250) | st.text(max_size=250)
ADDRESSES = st.sampled_from(["jean.dupont@forges-lorraine.example", "achats+tickets@supplier.example",
                             "a@b.example", "o'brien@x.example", "x_y-z@sub.domain.example"])
REVIEW_NAME = ("Jean Dupont, eve@attacker.example, Jean Dupont - Responsable Achats Forges de Lorraine SA, "
               "site de Nancy")


def compose(recipients: list[tuple[str, str]], reply_to: tuple[str, str]) -> EmailMessage:
    mailer = Mailer(None, MailRenderer("https://portal.example"), None, seal_private_key="",  # type: ignore[arg-type]
                    mail_from=FROM)
    row: dict[str, Any] = {
        "event_id": "3f6c2a4e-1b7d-4c8e-9a0f-2d5e6b7c8d9e", "template": "ticket_to_support", "language": "en",
        "recipients": [list(r) for r in recipients], "reply_to": list(reply_to), "sealed_secrets": b"",
        "params": {"reference": "B2B-2026-000001", "category": "OTHER", "subject": "Help", "text": "Hello"}}
    data = mailer._compose(spooled(row), []).data
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))  # RFC 5322's hard limit
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_exactly(message: EmailMessage, header: str, expected: list[tuple[str, str]]) -> None:
    found = message[header].addresses
    assert [(a.addr_spec, a.display_name) for a in found] == [(spec, display_name(name)) for spec, name in expected], \
        message.as_string()[:2000]


def test_the_reviews_reply_to_is_one_address() -> None:
    requester = ("jean.dupont@forges-lorraine.example", REVIEW_NAME)
    message = compose([("helpdesk@portal.example", "")], requester)
    assert_exactly(message, "Reply-To", [requester])
    assert "eve@attacker.example" not in message["Reply-To"].addresses[0].addr_spec


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(to=st.lists(st.tuples(ADDRESSES, NAMES), min_size=1, max_size=3), reply_to=st.tuples(ADDRESSES, NAMES))
def test_any_display_name_leaves_each_address_header_exactly_its_addresses(
        to: list[tuple[str, str]], reply_to: tuple[str, str]) -> None:
    message = compose(to, reply_to)
    assert_exactly(message, "To", to)
    assert_exactly(message, "Reply-To", [reply_to])
    assert_exactly(message, "From", [("no-reply@b2b-portal.example", "Portail B2B Fournisseurs")])


@pytest.mark.parametrize("spec", ["not an address", "a@b.example\r\nBcc: eve@attacker.example",
                                  "a@b.example, eve@attacker.example", "Eve <eve@attacker.example>", "",
                                  "jörg@müller.example", "a@"])
def test_anything_but_one_plain_address_is_refused(spec: str) -> None:
    with pytest.raises(MailAddressError):
        address(spec, "Name")


def test_display_names_are_one_line_and_bounded() -> None:
    assert display_name("Claire\u2028Martin\u202e") == "Claire Martin"
    assert len(display_name("x" * 300)) == 200
    assert len(display_name("😀" * 200).encode()) <= 600

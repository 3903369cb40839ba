"""The two mails of "Ask my company's ASL for an account" (RequestAccount), composed by the real renderer and mailer
from a hostile requester's values (which the producer's checks would refuse, so the mailer is tested alone): the
relay's headers are exactly those written (nothing typed in the subject, Reply-To the requester's address only), its
text says plainly that nobody verified the requester, shows their words quoted with every web address defused and no
HTML anywhere; the acknowledgement quotes nothing at all, in both languages."""
from __future__ import annotations

import pytest

from notify import mails
from tests.unit.support.test_mail_subjects import HEADERS, compose, hidden
from tests.unit.support.test_mail_values import requested

from support.adapters.mail_renderer import MailRenderer, defused, quoted
from support.adapters.mail_values import template_values

HOSTILE = dict(
    requester_given_name="Eve\r\nBcc: victim@buyer.example\u2028=?utf-8?b?DQpYLUluamVjdGVkOiB5ZXM=?=",
    requester_family_name="www.evil.example", requester_email="eve@attacker.example",
    requester_job_title="IT <a href=https://evil.example>support</a>",
    message="Your session expired.\r\nLog in again at https://evil.example/login or HTTP://Evil.Example\u2028"
            "Subject: urgent\n<script>alert(1)</script> mailto:eve@attacker.example evil\uff0eexample",
    legal_name="Forges SA", cofor_root="12345A")


def test_the_relay_has_only_our_headers_and_defuses_what_the_requester_typed() -> None:
    mail = mails.account_request_to_administrator(**HOSTILE)
    data, message = compose(mail.kind, template_values(requested(mail)), ("eve@attacker.example", ""))
    assert message.keys() == HEADERS[:2] + ["Reply-To"] + HEADERS[2:]
    assert [a.addr_spec for a in message["To"].addresses] == ["achats@forges.example"]
    assert [a.addr_spec for a in message["Reply-To"].addresses] == ["eve@attacker.example"]
    assert message["Bcc"] is None and message["X-Injected"] is None and message.get_content_type() == "text/plain"
    assert str(message["Subject"]) == ("Portail B2B Fournisseurs : demande de compte chez Forges SA "
                                       "(identité non vérifiée)")
    assert {name: hidden(str(value)) for name, value in message.items() if hidden(str(value))} == {}
    text = message.get_content()
    assert "n'a PAS vérifié" in text and "https://portal.example/fr/admin" in text
    for clickable in ("https://evil", "HTTP://Evil", "www.evil", "evil.example", "Evil.Example", "mailto:eve",
                      "evil\uff0eexample"):
        assert clickable not in text
    assert "> Log in again at https[:]//evil[.]example/login or HTTP[:]//Evil[.]Example" in text
    assert "\n> Subject[:] urgent" not in text and "\n> Subject: urgent" in text  # quoted, not a header
    assert "Eve Bcc: victim@buyer[.]example = ?utf-8?b?" in text  # one line, shown as typed, never decoded
    assert not any(line.startswith(("Bcc:", "Subject:")) for line in text.splitlines())
    assert not message.is_multipart()  # text only: the markup typed stays text, no HTML part to render it


@pytest.mark.parametrize("language, said", [("fr", "le seul que vous recevrez"), ("en", "only message")])
def test_the_acknowledgement_quotes_nothing_and_is_the_same_for_everyone(language: str, said: str) -> None:
    renderer = MailRenderer("https://portal.example")
    mail = mails.account_request_acknowledgement()
    subject, text = renderer.render(mail.kind, language, template_values(requested(mail)), {}, "Eve Attacker")
    assert said in text and "Eve" not in text  # not even a display name given to the To header
    assert "{" not in text and "=?" not in subject


def test_defusing_keeps_the_text_readable() -> None:
    assert defused("see www.evil.example/x or https://a.b") == "see www[.]evil[.]example/x or https[:]//a[.]b"
    assert defused("version 2.5, e-mail a@b.fr") == "version 2.5, e-mail a@b[.]fr"
    assert quoted("one\r\ntwo\u2028three\n") == "> one\n> two\n> three"
    assert quoted("") == ""

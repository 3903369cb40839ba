"""One way to translate: the gettext catalogues are complete in both languages and in step with the code, dates are
Babel's in the reader's time zone, mails are one template per kind in either language, and help articles render
through markdown-it-py with raw HTML off. (The browser tests crawl every page in both languages.)"""
from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from kit.i18n import LANGUAGES, format_date, format_datetime

from gateway.i18n import CATALOGUES, describe, has, translate
from gateway.i18n import format_datetime as page_datetime
from gateway.markdown import render_markdown
from support.adapters.mail_renderer import TEMPLATES, MailRenderer
from tools.i18n import DOMAINS, PLACEHOLDER, Domain, problems, read

MAIL_KINDS = sorted(p.stem for p in TEMPLATES.glob("*.j2"))


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_every_message_has_a_text_in_both_languages_and_the_catalogues_are_up_to_date(domain: Domain) -> None:
    """What `make i18n` checks: each msgid the code or templates use is in every catalogue, none is empty or
    fuzzy, both languages hold the same msgids and the same placeholders."""
    assert problems(domain) == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_page_message_formats_with_its_placeholders(lang: str) -> None:
    catalogue = read(DOMAINS[0].path(lang))
    for message in catalogue:
        if not message.id:
            continue
        values = {name: f"<{name}>" for name in PLACEHOLDER.findall(str(message.string))}
        text = translate(lang, str(message.id), **values)
        assert text and "%(" not in text and all(v in text for v in values.values()), message.id


def test_the_page_languages_say_different_things() -> None:
    assert translate("fr", "nav.home") == "Accueil" and translate("en", "nav.home") == "Home"
    assert translate("de", "nav.home") == "Accueil"  # any other language is the default, French
    assert translate("fr", "no.such.key") == "no.such.key" and not has("no.such.key") and has("nav.home")
    assert translate("fr", "admin.done.unlock", user="V100001") == "V100001 est débloqué."
    assert CATALOGUES["fr"].ids == CATALOGUES["en"].ids


@pytest.mark.parametrize("moment, lang, expected", [
    (dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC), "fr", "1er décembre 2026 à 10:30 (heure d’Europe centrale)"),
    (dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC), "en", "December 1, 2026 at 10:30 AM (Central European Time)"),
    (dt.datetime(2026, 7, 14, 12, 0, tzinfo=dt.UTC), "fr", "14 juillet 2026 à 14:00 (heure d’Europe centrale)"),
    (dt.datetime(2026, 7, 14, 21, 5), "en", "July 14, 2026 at 11:05 PM (Central European Time)"),  # naive is UTC
    ("2026-11-30T23:30:00+00:00", "fr", "1er décembre 2026 à 00:30 (heure d’Europe centrale)"),
])
def test_dates_are_said_the_readers_way_in_their_time_zone(moment: dt.datetime | str, lang: str,
                                                           expected: str) -> None:
    assert format_datetime(moment, lang) == expected


def test_dates_in_another_zone_days_alone_and_what_is_no_date() -> None:
    moment = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    assert format_datetime(moment, "en", "America/New_York").startswith("December 1, 2026 at 4:30 AM")
    assert (format_date(moment, "fr"), format_date(moment, "en")) == ("1er décembre 2026", "December 1, 2026")
    assert format_date(dt.datetime(2026, 12, 2, tzinfo=dt.UTC), "fr") == "2 décembre 2026"
    assert format_datetime("not a date", "fr") == "not a date" and format_datetime(None, "fr") == ""
    assert page_datetime(Timestamp(), "fr") == ""  # an unset proto Timestamp
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    assert page_datetime(stamp, "fr") == "1er décembre 2026 à 10:30 (heure d’Europe centrale)"


@pytest.mark.parametrize("description, french", [
    ("a D-U-N-S number is 9 digits (dashes allowed, e.g. 12-345-6789)",
     "un numéro D-U-N-S compte 9 chiffres (tirets permis, par exemple 12-345-6789)"),
    ("must be a PNG or JPEG image", "une image PNG ou JPEG est attendue"),
    ("says image/png but the image is image/jpeg", "une image PNG ou JPEG est attendue"),
    ("must be at most 5 MiB", "5 Mo au maximum"),
    ("must be at most 300 characters", "300 caractères au maximum"),
    ("is not a valid e-mail address (The part after the @-sign is not valid.)", "adresse e-mail non valide"),
])
def test_the_services_english_violations_are_said_in_the_pages_language(description: str, french: str) -> None:
    assert describe("fr", description) == french
    assert describe("en", description) != french
    assert describe("fr", "something new") == "something new"


def test_markdown_is_commonmark_without_raw_html_images_or_unsafe_links() -> None:
    html = str(render_markdown(
        "## Title **bold**\n\nText <script>alert(1)</script> <b>x</b> & [help](/fr/help/log-in) "
        "[out](https://www.dnb.com) [js](javascript:alert(1)) [proto](//evil.example) [http](http://a.example) "
        "![img](https://evil.example/p.png)\n\n- one\n- two\n\n1. first\n2. second\n"))
    assert "<h2>Title <strong>bold</strong></h2>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script" not in html and "<b>" not in html
    assert '<a href="/fr/help/log-in">help</a>' in html and '<a href="https://www.dnb.com">out</a>' in html
    assert "javascript:" not in re.findall(r'href="([^"]*)"', html).__str__()
    assert re.findall(r'href="([^"]*)"', html) == ["/fr/help/log-in", "https://www.dnb.com", "https://evil.example/p.png"]
    assert "<img" not in html and "&amp;" in html
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in html and "<ol>\n<li>first</li>" in html


def mail_params(kind: str) -> dict[str, str]:
    source = (TEMPLATES / f"{kind}.j2").read_text(encoding="utf-8")
    names = set(re.findall(r"params\.(\w+)", source)) | set(re.findall(r"params\.get\([\"'](\w+)", source))
    params = {name: f"v-{name}" for name in names - {"get"}}
    params.update(identifiers=json.dumps(["V100001", "V100002"]), category="LOGIN_PROBLEM",
                  administrators=json.dumps([{"name": "Paul Durand", "email": "", "phone": ""}]))
    for name in ("lock_time", "change_time", "expire_time", "request_time", "attempt_time", "login_time"):
        params[name] = "2026-12-01T09:30:00+00:00"
    return params


def lines_of(messages: list[str]) -> set[str]:
    """The fixed lines of messages (none holding a placeholder)."""
    return {line.strip() for message in messages for line in PLACEHOLDER.sub("\0", message).splitlines()
            if "\0" not in line}


@pytest.mark.parametrize("kind", MAIL_KINDS)
def test_each_mail_is_one_template_that_speaks_the_recipients_language(kind: str) -> None:
    renderer = MailRenderer("https://portal.example")
    secrets = {name: f"s-{name}" for name in re.findall(r"secrets\.(\w+)", (TEMPLATES / f"{kind}.j2").read_text())}
    rendered = {lang: renderer.render(kind, lang, mail_params(kind), secrets, "Bob Martin") for lang in LANGUAGES}
    french = read(DOMAINS[1].path("fr"))
    for lang, (subject, text) in rendered.items():
        assert subject and "\n" not in subject and text.endswith("\n")
        other = [str(m.string if lang == "en" else m.id) for m in french if m.id and m.id != m.string]
        own = [str(m.id if lang == "en" else m.string) for m in french if m.id]
        lines = lines_of(other) - lines_of(own)
        leaked = [line for line in lines if len(line) > 12 and line in text]
        assert leaked == [], f"{kind}.{lang}: text of the other language"
        if "2026-12-01" in json.dumps(mail_params(kind)) and "_time" in (TEMPLATES / f"{kind}.j2").read_text():
            assert ("1er décembre 2026 à 10:30" if lang == "fr" else "December 1, 2026 at 10:30 AM") in text
    assert rendered["fr"] != rendered["en"]


def test_a_mail_template_name_is_never_a_path() -> None:
    from support.adapters.mail_renderer import RenderError
    with pytest.raises(RenderError):
        MailRenderer("https://portal.example").render("../mail/user_welcome", "fr", {}, {})
    assert not list(Path(TEMPLATES).glob("*.fr.j2")) and not list(Path(TEMPLATES).glob("*.en.j2"))

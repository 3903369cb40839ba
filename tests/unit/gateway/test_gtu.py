"""The General Terms of Use: the versions shipped (the last one is the one cofor has in force), texts that never
change once published, their rendering (articles anchored for the table of contents, raw HTML shown as text) and
the public pages where anyone reads every version. The acceptance page: test_terms_acceptance.py; in a real
browser: tests/browser/test_terms_page.py."""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx
import pytest

from cofor.settings import CoforSettings
from gateway import gtu
from gateway.app import create_app
from gateway.i18n import LANGUAGES
from gateway.markdown import render_outline
from gateway.settings import GatewaySettings

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "a-random-gateway-token-of-enough-length-1234567890"


def test_the_last_version_listed_is_the_one_cofor_has_in_force() -> None:
    versions = gtu.versions()
    assert len({v.id for v in versions}) == len(versions) >= 2
    assert [v.date for v in versions] == sorted(v.date for v in versions)
    assert gtu.in_force() == versions[-1]
    assert CoforSettings.model_fields["terms_version"].default == gtu.in_force().id
    deployed = (ROOT / "deploy/k8s/base/config/cofor.env").read_text(encoding="utf-8")
    assert f"\nTERMS_VERSION={gtu.in_force().id}\n" in deployed


@pytest.mark.parametrize("version", gtu.versions(), ids=lambda v: v.id)
def test_a_published_text_never_changes_a_new_text_is_a_new_version(version: gtu.Version) -> None:
    for lang in LANGUAGES:
        digest = hashlib.sha256(version.path(lang).read_bytes()).hexdigest()
        assert digest == version.sha256[lang], f"{version.path(lang).name} changed: publish a new version instead"


@pytest.mark.parametrize("version", gtu.versions(), ids=lambda v: v.id)
def test_both_languages_have_the_same_articles_each_anchored_in_the_table_of_contents(version: gtu.Version) -> None:
    texts = {lang: gtu.text(version.id, lang) for lang in LANGUAGES}
    counts = set()
    for text in texts.values():
        assert text is not None and text.version == version and text.in_force == (version == gtu.in_force())
        anchors = [anchor for anchor, _ in text.contents]
        assert anchors == [f"article-{n}" for n in range(1, len(anchors) + 1)]
        assert re.findall(r'<h3 id="(article-\d+)">', str(text.html)) == anchors
        assert all(heading.startswith(f"Article {n} — ") for n, (_, heading) in enumerate(text.contents, 1))
        counts.add(len(anchors))
    assert len(counts) == 1


def test_the_text_in_force_says_what_the_issue_asks_for() -> None:
    for lang, words in (("en", ["ASL", "V-identifier", "never shared", "GDPR", "controller", "Retention",
                                "data protection officer", "Confidentiality", "Suspension", "Liability",
                                "French law", "2026-12"]),
                        ("fr", ["ASL", "identifiant V", "jamais partagé", "RGPD", "Responsable du traitement",
                                "Durées de conservation", "délégué à la protection des données",
                                "Confidentialité", "Suspension", "Responsabilité", "droit français", "2026-12"])):
        text = gtu.text(gtu.in_force().id, lang)
        assert text is not None
        missing = [w for w in words if w not in str(text.html)]
        assert missing == [], lang


@pytest.mark.parametrize("asked", ["2019-01", "../terms/2026-12", "2026-12.fr", "", "versions", "2026-12\x00"])
def test_only_a_listed_version_in_a_portal_language_is_ever_read(asked: str) -> None:
    assert gtu.text(asked, "fr") is None
    assert gtu.text(gtu.in_force().id, "de") is None and gtu.find(asked) is None


def test_the_markdown_makes_the_structure_and_never_html() -> None:
    rendered, contents = render_outline("Intro <b>bold</b>\n\n### Article 1 — <script>alert(1)</script> `code`\n\n"
                                    "Text <img src=x onerror=alert(1)> [js](javascript:alert(1))\n\n## Not listed\n\n"
                                    "### Article 2 — **Two**\n")
    html = str(rendered)
    assert contents == [("article-1", "Article 1 — <script>alert(1)</script> code"), ("article-2", "Article 2 — Two")]
    assert '<h3 id="article-1">Article 1 — &lt;script&gt;alert(1)&lt;/script&gt; <code>code</code></h3>' in html
    assert "<script" not in html and "<img" not in html and "<b>" not in html and "href" not in html
    assert '<h2>Not listed</h2>' in html and '<h3 id="article-2">' in html


async def pages() -> httpx.AsyncClient:
    app = create_app(GatewaySettings(environment="test", service_token=TOKEN))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test")


async def test_anyone_reads_the_version_in_force_with_its_contents_and_every_earlier_version() -> None:
    current, first = gtu.in_force(), gtu.versions()[0]
    async with await pages() as client:
        for lang, date in (("fr", "1er décembre 2026"), ("en", "December 1, 2026")):
            page = await client.get(f"/{lang}/terms")
            assert page.status_code == 200 and f'data-version="{current.id}"' in page.text
            assert date in page.text and 'href="#article-14"' in page.text and 'id="print-hint"' in page.text
            assert 'id="terms-past"' not in page.text and "<form" not in page.text.split("<main")[1]
            listed = re.findall(r'<a href="/\w\w/terms/([\w-]+)"', page.text)
            assert listed == [v.id for v in reversed(gtu.versions())]
            past = await client.get(f"/{lang}/terms/{first.id}")
            assert past.status_code == 200 and f'data-version="{first.id}"' in past.text
            assert 'id="terms-past"' in past.text and f'href="/{lang}/terms"' in past.text
            assert f'href="/{"en" if lang == "fr" else "fr"}/terms/{first.id}"' in past.text  # the other language
        for missing in ("/fr/terms/1999-01", "/en/terms/..%2F..%2Fsettings.py", "/fr/terms/versions", "/de/terms"):
            assert (await client.get(missing)).status_code == 404, missing

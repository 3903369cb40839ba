"""The General Terms of Use (GTU): every version the portal has shipped, in French and English.

terms/versions.toml lists the versions oldest first with the day each took effect; the last one is in force, and
cofor's TERMS_VERSION names it (AcceptTerms refuses any other, so a page shown before a change cannot accept the
new text unseen). terms/<version>.<lang>.md is a version's text: Markdown rendered with raw HTML off
(gateway.markdown), its ``###`` articles given anchors for the table of contents. A published text never changes."""
from __future__ import annotations

import datetime as dt
import functools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from markupsafe import Markup

from gateway.i18n import LANGUAGES
from gateway.markdown import render_outline

TERMS = Path(__file__).parent / "terms"


@dataclass(frozen=True)
class Version:
    id: str
    date: dt.date  # the day it took effect
    sha256: dict[str, str]  # the digest of its text in each language, pinned when it was published

    def path(self, lang: str) -> Path:
        return TERMS / f"{self.id}.{lang}.md"

    @property
    def noon(self) -> dt.datetime:
        """Its day as a moment (noon UTC) that any European time zone keeps on the same day, for Babel's dates."""
        return dt.datetime.combine(self.date, dt.time(12), tzinfo=dt.UTC)


@dataclass(frozen=True)
class Text:
    version: Version
    html: Markup
    contents: list[tuple[str, str]]  # (anchor, heading) of each article
    in_force: bool


@functools.cache
def versions() -> tuple[Version, ...]:
    listed = tomllib.loads((TERMS / "versions.toml").read_text(encoding="utf-8"))["version"]
    return tuple(Version(v["id"], v["date"], dict(v["sha256"])) for v in listed)


def in_force() -> Version:
    return versions()[-1]


def find(version_id: str) -> Version | None:
    """The listed version ``version_id`` (None for any other text: nothing else is ever read from disk)."""
    return next((v for v in versions() if v.id == version_id), None)


def text(version_id: str, lang: str) -> Text | None:
    """The text of ``version_id`` in ``lang``, or None when that version or language is not shipped. Only a listed
    version is read and kept: whatever id someone types fills no cache."""
    return _rendered(version_id, lang) if find(version_id) is not None and lang in LANGUAGES else None


@functools.cache
def _rendered(version_id: str, lang: str) -> Text | None:
    version = find(version_id)
    if version is None or not version.path(lang).is_file():
        return None
    html, contents = render_outline(version.path(lang).read_text(encoding="utf-8"))
    return Text(version, html, contents, version == in_force())

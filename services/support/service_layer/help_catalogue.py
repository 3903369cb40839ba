"""The help catalogue: Markdown articles with a small header, one file per article and language.

Files: services/support/help/<id>.<lang>.md — ``key: value`` header lines (title, summary, section, order,
related, updated), a ``---`` line, then the body: CommonMark, which the gateway renders with markdown-it-py, raw
HTML off. Loaded and checked once at start: every link is a portal path in the article's own language or https,
and every link to a help article names one that exists.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

from kit.errors import NotFound

HELP_DIR = Path(__file__).resolve().parents[1] / "help"
SECTIONS = ("SITE_MAP", "GUIDE", "FAQ")
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


@dataclass(frozen=True)
class Article:
    id: str
    language: str
    title: str
    summary: str
    section: str
    order: int
    related: tuple[str, ...]
    updated: dt.datetime
    body: str


def _parse(path: Path) -> Article:
    ident, language = path.name.removesuffix(".md").rsplit(".", 1)
    header, sep, body = path.read_text(encoding="utf-8").partition("\n---\n")
    if not sep:
        raise ValueError(f"{path.name}: no '---' line after the header")
    fields = dict(line.split(":", 1) for line in header.strip().splitlines())
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    section = fields["section"]
    if section not in SECTIONS:
        raise ValueError(f"{path.name}: unknown section {section}")
    return Article(ident, language, fields["title"], fields["summary"], section, int(fields["order"]),
                   tuple(r.strip() for r in fields["related"].split(",") if r.strip()),
                   dt.datetime.fromisoformat(fields["updated"]).replace(tzinfo=dt.UTC), body.strip() + "\n")


def links(body: str) -> list[str]:
    """Every link target of a Markdown body, as markdown-it-py reads it."""
    found: list[str] = []
    for block in _MARKDOWN.parse(body):
        for token in block.children or []:
            if token.type == "link_open":
                found.append(str(token.attrGet("href") or ""))
    return found


def _check_links(article: Article, ids: set[str]) -> None:
    for href in links(article.body):
        if href.startswith("https://"):
            continue
        own_page = href.startswith(f"/{article.language}/") or href == f"/{article.language}"
        if not own_page or "\\" in href:
            raise ValueError(f"help article {article.id}.{article.language}: link {href!r} is neither https nor a "
                             f"portal page in {article.language}")
        page = href.removeprefix(f"/{article.language}/")
        if page.startswith("help/") and page.removeprefix("help/") not in ids:
            raise ValueError(f"help article {article.id}.{article.language}: link {href!r} names no article")


class HelpCatalogue:
    def __init__(self, directory: Path = HELP_DIR) -> None:
        articles = [_parse(p) for p in sorted(directory.glob("*.md"))]
        self._by_key = {(a.id, a.language): a for a in articles}
        ids = {a.id for a in articles}
        for a in articles:
            missing = [r for r in a.related if r not in ids]
            if missing or (a.id, "fr") not in self._by_key or (a.id, "en") not in self._by_key:
                raise ValueError(f"help article {a.id}: missing language or related ids {missing}")
            _check_links(a, ids)
        self._ordered = sorted(articles, key=lambda a: (a.order, a.id))

    def topics(self, language: str, section: str = "") -> list[Article]:
        return [a for a in self._ordered if a.language == language and (not section or a.section == section)]

    def article(self, ident: str, language: str) -> Article:
        found = self._by_key.get((ident, language))
        if found is None:
            raise NotFound("HELP_ARTICLE_NOT_FOUND", "no such help article", metadata={"id": ident[:100]})
        return found

"""Help articles and the GTU text (with its table of contents): CommonMark rendered by markdown-it-py, with raw
HTML off (shown as text), no images, and links kept only to portal-relative paths or https (any other link stays
plain text)."""
from __future__ import annotations

from markdown_it import MarkdownIt
from markupsafe import Markup


def safe_url(url: str) -> bool:
    """Portal-relative paths and https links; never ``//host``, a backslash, javascript:, data: or http:."""
    return (url.startswith("/") and not url.startswith("//") and "\\" not in url) or url.startswith("https://")


def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.disable("image")
    md.validateLink = safe_url  # type: ignore[method-assign]
    return md


_MD = _parser()


def render_markdown(source: str) -> Markup:
    """HTML of ``source``: every character of the text is escaped; only the Markdown structure makes tags."""
    return Markup(_MD.render(source))


def render_outline(source: str, level: int = 3, prefix: str = "article-") -> tuple[Markup, list[tuple[str, str]]]:
    """``source`` rendered as ``render_markdown`` does, each heading of ``level`` given an anchor (``prefix`` and its
    rank: 1, 2…), with those headings as (anchor, plain text) for a table of contents."""
    env: dict[str, object] = {}
    tokens = _MD.parse(source, env)
    outline: list[tuple[str, str]] = []
    for opening, inline in zip(tokens, tokens[1:], strict=False):
        if opening.type == "heading_open" and opening.tag == f"h{level}":
            anchor = f"{prefix}{len(outline) + 1}"
            opening.attrSet("id", anchor)
            words = [t.content for t in inline.children or [] if t.type in ("text", "code_inline")]
            outline.append((anchor, "".join(words)))
    return Markup(_MD.renderer.render(tokens, _MD.options, env)), outline

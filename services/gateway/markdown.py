"""Help articles and the GTU text: CommonMark rendered by markdown-it-py, with raw HTML off (shown as text),
no images, and links kept only to portal-relative paths or https (any other link stays plain text)."""
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

"""Mail templates (Jinja2, services/support/templates/mail/<key>.<lang>.j2): subject and plain-text body."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context

from kit.validation import single_line

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"
_MONTHS_FR = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre",
              "novembre", "décembre"]


class RenderError(Exception):
    """The mail cannot be rendered (unknown template, missing value): retrying will not help."""


def _datetime(value: str, language: str) -> str:
    try:
        moment = dt.datetime.fromisoformat(value).astimezone(dt.UTC)
    except (TypeError, ValueError):
        return value
    if language == "fr":
        return f"{moment.day} {_MONTHS_FR[moment.month - 1]} {moment.year} à {moment:%H:%M} UTC"
    return f"{moment:%B} {moment.day}, {moment.year} at {moment:%H:%M} UTC"


@pass_context
def _datetime_filter(context: Context, value: str) -> str:
    return _datetime(value, context.get("language", "fr"))


class MailRenderer:
    def __init__(self, portal_url: str, directory: Path = TEMPLATES) -> None:
        self.portal_url = portal_url.rstrip("/")
        self._env = Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
        self._env.filters["from_json"] = json.loads
        self._env.filters["datetime"] = _datetime_filter

    def render(self, key: str, language: str, params: dict[str, str], secrets: dict[str, str],
               recipient_name: str = "") -> tuple[str, str]:
        language = language if language in ("fr", "en") else "fr"
        try:
            template = self._env.get_template(f"{key}.{language}.j2")
        except TemplateError as exc:
            raise RenderError(f"template {key}.{language}: {exc}") from None
        env_globals: dict[str, Any] = dict(params=params, secrets=secrets, portal_url=self.portal_url,
                                           language=language, recipient_name=single_line(recipient_name))
        try:
            context = template.new_context(env_globals)
            # Whatever the params hold (producers are not trusted), the subject is one line of printable text.
            subject = single_line("".join(template.blocks["subject"](context)))
            text = "".join(template.blocks["text"](context)).strip() + "\n"
        except Exception as exc:  # StrictUndefined, bad JSON in a param...
            raise RenderError(f"{key}.{language}: {exc}") from exc
        if not subject:
            raise RenderError(f"{key}.{language}: the subject is empty")
        return subject, text

"""Mail templates: one Jinja2 template per mail (services/support/templates/mail/<key>.j2), its words in
``{% trans %}`` blocks, rendered in the recipient's language from the gettext catalogues
services/support/locale/<lang>/LC_MESSAGES/mail.po (msgids are the English text). Subject and plain-text body.
The values a template reads as ``params`` are made from the request by adapters/mail_values.py alone."""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, TemplateError, pass_context
from jinja2.runtime import Context

from kit import i18n
from kit.validation import single_line

TEMPLATES = Path(__file__).resolve().parents[1] / "templates" / "mail"
LOCALE = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "mail"
_KEY = re.compile(r"[a-z][a-z0-9_]{0,80}")


# What a mail client would turn into a link in a plain-text mail: a scheme ("https:", "mailto:") and the dot of a
# host name ("evil.example", "www.evil.example", "jean@forges.example"). Shown broken ("https[:]", "evil[.]example").
_SCHEME = re.compile(r"(?i)\b(https?|ftps?|sftp|file|mailto|tel|javascript|data|ms-[a-z-]+)\s*:")
_HOST_DOT = re.compile(r"(?i)(?<=[a-z0-9-])[.\uff0e\u3002](?=[a-z][a-z0-9-]*)")


def defused(text: str) -> str:
    """Text that someone nobody identified typed, as one line whose web addresses no mail client makes clickable."""
    return _HOST_DOT.sub("[.]", _SCHEME.sub(r"\1[:]", single_line(text)))


def quoted(text: str) -> str:
    """Such text of several lines, each behind "> " (it cannot pass for the portal's own words) and defused."""
    return "\n".join(f"> {defused(line)}".rstrip() for line in text.splitlines())


class RenderError(Exception):
    """The mail cannot be rendered (unknown template, missing value): retrying will not help."""


class MailRenderer:
    def __init__(self, portal_url: str, directory: Path = TEMPLATES, locale_dir: Path = LOCALE) -> None:
        self.portal_url = portal_url.rstrip("/")
        catalogues = i18n.load_catalogues(locale_dir, DOMAIN)

        @pass_context
        def gettext(context: Context, message: str) -> str:
            return catalogues[context.get("language", i18n.DEFAULT_LANGUAGE)].gettext(message)

        @pass_context
        def ngettext(context: Context, singular: str, plural: str, n: int) -> str:
            return gettext(context, singular if n == 1 else plural)

        @pass_context
        def datetime(context: Context, value: str) -> str:
            return i18n.format_datetime(value, context.get("language", i18n.DEFAULT_LANGUAGE))

        self._env = Environment(loader=FileSystemLoader(directory), undefined=StrictUndefined, autoescape=False,
                                trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                                extensions=["jinja2.ext.i18n"])
        self._env.install_gettext_callables(gettext, ngettext, newstyle=False)  # type: ignore[attr-defined]
        self._env.filters["from_json"] = json.loads
        self._env.filters["datetime"] = datetime
        self._env.filters["defused"] = defused
        self._env.filters["quoted"] = quoted

    def render(self, key: str, language: str, params: dict[str, str], secrets: dict[str, str],
               recipient_name: str = "") -> tuple[str, str]:
        language = language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        try:
            if not _KEY.fullmatch(key):
                raise TemplateError("not a template name")
            template = self._env.get_template(f"{key}.j2")
        except TemplateError as exc:
            raise RenderError(f"template {key}: {exc}") from None
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

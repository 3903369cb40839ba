"""The portal pages' words, French (default) and English: one gettext catalogue per language.

Catalogues: gateway/locale/<lang>/LC_MESSAGES/portal.po (msgids are keys such as ``nav.home``; values are
``%(name)s`` placeholders), read at import (see kit.i18n). Python code calls ``translate(lang, key, **values)``;
templates call ``_('key', name=value)`` through jinja2.ext.i18n (``page_environment``), in the language of the
``lang`` the page renders with. ``make i18n`` extracts the keys the code and templates use into the catalogues.
Dates: ``format_datetime``/``format_date``, in the reader's time zone (Europe/Paris by default).
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from google.protobuf.timestamp_pb2 import Timestamp
from jinja2 import Environment, FileSystemLoader, pass_context, select_autoescape
from jinja2.runtime import Context

from kit import i18n
from kit.clock import from_timestamp

LANGUAGES = i18n.LANGUAGES
DEFAULT_LANGUAGE = i18n.DEFAULT_LANGUAGE
LOCALE = Path(__file__).parent / "locale"
DOMAIN = "portal"
CATALOGUES = i18n.load_catalogues(LOCALE, DOMAIN)


def language_or_default(value: str) -> str:
    """``value`` when it is one of the portal's languages, else the default (where a bad one must not 404)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def preferred_language(accept_language: str, *hints: str) -> str:
    """The first of ``hints`` (an application's ``ui_locales``…) or of the browser's Accept-Language tags that is
    one of the portal's languages, else the default."""
    wanted = [*hints, *(part.split(";")[0].strip() for part in accept_language.split(","))]
    for tag in wanted:
        try:
            language = Locale.parse(tag.replace("-", "_")).language if tag and tag != "*" else ""
        except (ValueError, UnknownLocaleError):
            continue
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def translate(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang`` (French for any other language), ``values`` put in its placeholders. An
    unknown key comes back as it is."""
    text = CATALOGUES[language_or_default(lang)].gettext(key)
    return text % values if values else text


def has(key: str) -> bool:
    return key in CATALOGUES[DEFAULT_LANGUAGE].ids


# The services describe field violations in English (for developers): what a person may meet, said in their
# language. The first pattern that matches the start of the description wins; its groups fill the placeholders.
_DESCRIPTIONS = tuple((re.compile(pattern), key) for pattern, key in (
    (r"is required, at most (?P<n>\d+) characters", "desc.required_max"),
    (r"is required", "desc.required"),
    (r"is not a valid e-mail", "desc.email"),
    (r"must be a phone number", "desc.phone"),
    (r"must be an ISO 3166-1", "desc.country"),
    (r"a D-U-N-S number is 9 digits", "desc.duns"),
    (r"a COFOR is 6 letters or digits", "desc.cofor"),
    (r"is not your current password", "desc.current_password"),
    (r"must be at most (?P<n>\d+) characters", "desc.max_length"),
    (r"must be (one line of )?printable text", "desc.printable"),
    (r"must not hold an RFC 2047 encoded word", "desc.encoded_word"),
    (r"must be a name, not a web address", "desc.name"),
    (r"must be fr or en", "desc.language"),
    (r"must be one of ", "desc.choice"),
    (r"must be a PNG or JPEG image", "desc.screenshot_format"),
    (r"says .* but the image is ", "desc.screenshot_format"),
    (r"is empty", "desc.screenshot_empty"),
    (r"must be at most (?P<n>\d+) MiB", "desc.screenshot_bytes"),
    (r"must have at most (?P<n>\d+) pixels", "desc.screenshot_pixels"),
))


def describe(lang: str, description: str) -> str:
    """A service's (English) description of a field violation, in ``lang``; one the portal does not know is shown
    as it is, which the browser tests catch on French pages."""
    for pattern, key in _DESCRIPTIONS:
        if found := pattern.match(description):
            return translate(lang, key, **found.groupdict())
    return description


def format_datetime(value: Timestamp | dt.datetime | str | None, lang: str,
                    tz: str = i18n.DEFAULT_TIMEZONE) -> str:
    """A moment as the reader says it, in their time zone; an unset Timestamp gives ""."""
    return i18n.format_datetime(from_timestamp(value) if isinstance(value, Timestamp) else value, lang, tz)


def format_date(value: Timestamp | dt.datetime | str | None, lang: str, tz: str = i18n.DEFAULT_TIMEZONE) -> str:
    return i18n.format_date(from_timestamp(value) if isinstance(value, Timestamp) else value, lang, tz)


@pass_context
def _gettext(context: Context, key: str, **values: Any) -> str:
    return translate(context.get("lang", DEFAULT_LANGUAGE), key, **values)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int, **values: Any) -> str:
    return translate(context.get("lang", DEFAULT_LANGUAGE), singular if n == 1 else plural, n=n, **values)


@pass_context
def _datetime_filter(context: Context, value: Any) -> str:
    return format_datetime(value, context.get("lang", DEFAULT_LANGUAGE))


@pass_context
def _date_filter(context: Context, value: Any) -> str:
    return format_date(value, context.get("lang", DEFAULT_LANGUAGE))


_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}  # CLDR territories that are no country


@functools.cache
def countries(lang: str) -> list[tuple[str, str]]:
    """Every country as (ISO 3166-1 alpha-2 code, its name in ``lang``), in the order of the names (CLDR, Babel):
    what a person picks rather than types."""
    names = Locale.parse(language_or_default(lang)).territories
    chosen = [(code, name) for code, name in names.items()
              if len(code) == 2 and code.isalpha() and code.isupper() and code not in _NOT_COUNTRIES]
    return sorted(chosen, key=lambda pair: pair[1].casefold().translate(_UNACCENTED))


_UNACCENTED = str.maketrans("àâäáãåçéèêëíìîïñóòôöõúùûüýÿœæÅÉÎÔÖÜ", "aaaaaaceeeeiiiinooooouuuuyyoaAEIOOU")


def page_environment(directory: Path) -> Environment:
    """The pages' Jinja2 environment: autoescaped, with ``_``/``gettext`` (jinja2.ext.i18n) answering in the
    language of the ``lang`` the template renders with, and ``datetime``/``date`` filters. Translations come back
    as plain text, so they are escaped like any other value."""
    env = Environment(loader=FileSystemLoader(directory), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(_gettext, _ngettext, newstyle=False)  # type: ignore[attr-defined]
    env.filters["datetime"] = _datetime_filter
    env.filters["date"] = _date_filter
    env.globals["countries"] = countries
    return env

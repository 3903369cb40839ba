"""Translations and dates, one way for every service: gettext catalogues read with Babel, dates formatted by Babel.

Catalogues: ``<service>/locale/<lang>/LC_MESSAGES/<domain>.po``, shipped with the service's code and read (compiled
in memory) at start, so a fresh clone needs no build step and no binary .mo file is ever committed. ``make i18n``
extracts the messages the code uses and merges them into the catalogues.

Dates are shown in the reader's time zone, Europe/Paris unless told otherwise, never in UTC.
"""
from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.dates import get_timezone
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
DEFAULT_TIMEZONE = "Europe/Paris"

# The date patterns (CLDR syntax). French writes the first day of a month "1er".
_DATE = {"fr": "d MMMM y", "en": "MMMM d, y"}
_DATE_FIRST = {"fr": "d'er' MMMM y", "en": "MMMM d, y"}
_TIME = {"fr": "'à' HH:mm", "en": "'at' h:mm a"}


@dataclass(frozen=True)
class Catalogue:
    translations: Translations
    ids: frozenset[str]  # the msgids that have a translation

    def gettext(self, message: str) -> str:
        return self.translations.gettext(message)


def read_catalogue(path: Path) -> Catalogue:
    """One .po file, compiled in memory. Fuzzy entries are left out, as msgfmt does."""
    with path.open("rb") as source:
        catalogue = read_po(source, locale=path.parent.parent.name, domain=path.stem)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue, use_fuzzy=False)
    compiled.seek(0)
    ids = frozenset(m.id for m in catalogue if isinstance(m.id, str) and m.id and m.string and not m.fuzzy)
    return Catalogue(Translations(compiled, domain=path.stem), ids)


def catalogue_path(locale_dir: Path, lang: str, domain: str) -> Path:
    return locale_dir / lang / "LC_MESSAGES" / f"{domain}.po"


def load_catalogues(locale_dir: Path, domain: str) -> dict[str, Catalogue]:
    """Every language's catalogue of ``domain`` under ``locale_dir``; a missing one is an error at start."""
    return {lang: read_catalogue(catalogue_path(locale_dir, lang, domain)) for lang in LANGUAGES}


def _moment(value: dt.datetime | str | None, tz: str) -> dt.datetime | None:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
    if value is None:
        return None
    if value.tzinfo is None:  # the services keep UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(get_timezone(tz))


def format_datetime(value: dt.datetime | str | None, lang: str, tz: str = DEFAULT_TIMEZONE) -> str:
    """``value`` (an aware datetime or ISO 8601 text; naive is UTC) as the reader says it, in ``tz``:
    "1er décembre 2026 à 10:30 (heure d’Europe centrale)", "December 1, 2026 at 10:30 AM (Central European Time)".
    Text that is not a date comes back as it is; None and "" give ""."""
    moment = _moment(value, tz)
    if moment is None:
        return value if isinstance(value, str) else ""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    date = (_DATE_FIRST if moment.day == 1 else _DATE)[lang]
    when = babel_format_datetime(moment, f"{date} {_TIME[lang]}", tzinfo=moment.tzinfo, locale=lang)
    zone = babel_format_datetime(moment, "vvvv", tzinfo=moment.tzinfo, locale=lang)
    return f"{when} ({zone})"


def format_date(value: dt.datetime | str | None, lang: str, tz: str = DEFAULT_TIMEZONE) -> str:
    """The day of ``value`` in ``tz``: "1er décembre 2026", "December 1, 2026"."""
    moment = _moment(value, tz)
    if moment is None:
        return value if isinstance(value, str) else ""
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    return babel_format_date(moment, (_DATE_FIRST if moment.day == 1 else _DATE)[lang], locale=lang)

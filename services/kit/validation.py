"""Field checks shared by every service; each returns an error description or None."""
from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, TypeVar, cast

from email_validator import EmailNotValidError, validate_email

from kit.errors import FieldViolation, InvalidArgument, Violations

if TYPE_CHECKING:
    from google.protobuf.internal.enum_type_wrapper import _EnumTypeWrapper

V = TypeVar("V", bound=int)  # a protobuf enum's value type (mypy-protobuf's ValueType)

LANGUAGES = ("fr", "en")
_PHONE = re.compile(r"^\+?[0-9][0-9 ().-]{4,28}[0-9]$")
# What no text field may hold: C0 controls, DEL, C1 controls (NEL U+0085 among them), the Unicode line and paragraph
# separators, bidi embeddings/overrides/isolates (they reorder what a reader sees: "Trojan Source"), lone surrogates
# (they cannot be encoded), and every other format character (category Cf): zero width space, LRM/RLM and the Arabic
# letter mark, BOM, soft hyphen, word joiner and invisible operators, deprecated format controls, the Mongolian vowel
# separator, interlinear annotations, tag characters (the whole block)... They hide text or split a name that looks
# whole. ZWNJ/ZWJ (U+200C/U+200D) stay: Persian and Indic names need them. Each can break a mail header, a subject or
# a log line, or disguise text. (tests/unit/kit/test_text_rules.py checks the list against Python's Unicode data.)
_INVISIBLE = (r"\xad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e\u200b\u200e\u200f\u2060-\u2065"
              r"\u206a-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3"
              r"\U0001d173-\U0001d17a\U000e0000-\U000e007f")
_OTHERS = rf"\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff{_INVISIBLE}"
_SINGLE_LINE_BAD = re.compile(rf"[\x00-\x1f{_OTHERS}]")
# Multiline text may also break lines with \n (or \r\n) and indent with \t; a lone \r is refused.
_MULTILINE_BAD = re.compile(rf"\r(?!\n)|[\x00-\x08\x0b\x0c\x0e-\x1f{_OTHERS}]")
_BREAKS = re.compile(rf"[\s\x00-\x1f{_OTHERS}]+")
# The opener of an RFC 2047 encoded word, "=?charset?B?" or "=?charset?Q?" (any case; the charset may be empty or
# hold spaces): a mail reader decodes what follows into any character at all (CR LF, U+202E...), even inside a
# word. The shape Python's own parser looks for (email._header_value_parser.rfc2047_matcher), without its end:
# "?=" may come from the next field of a subject.
_ENCODED_WORD = re.compile(r"=\?(?=[^?]*\?[bq]\?)", re.IGNORECASE)

# ISO 3166-1 alpha-2 codes in use.
COUNTRY_CODES = frozenset("""
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA
CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA
GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS
MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS
RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW
TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split())


def clean(value: str) -> str:
    """Surrounding blanks stripped, Unicode composed (NFC) — what every text field is stored as."""
    return unicodedata.normalize("NFC", value.strip())


def text_error(value: str, *, required: bool = True, max_length: int = 200, multiline: bool = False) -> str | None:
    """The one rule for free text: one line of printable text, or with ``multiline`` lines (\\n or \\r\\n) and tabs."""
    if not value:
        return "is required" if required else None
    if len(value) > max_length:
        return f"must be at most {max_length} characters"
    if (_MULTILINE_BAD if multiline else _SINGLE_LINE_BAD).search(value):
        return ("must be printable text: no control characters but line breaks and tabs" if multiline else
                "must be one line of printable text: no control characters or line breaks") \
            + ", no Unicode line separators, no bidirectional controls, no invisible format characters"
    if _ENCODED_WORD.search(value):
        return "must not hold an RFC 2047 encoded word (=?charset?B?...?= or =?charset?Q?...?=)"
    return None


def single_line(text: str, *, max_length: int | None = None) -> str:
    """``text`` made safe for a mail header, a subject or a log line: every character ``text_error`` refuses and
    every run of whitespace becomes one space, and each encoded-word opener "=?" becomes "= ?" (shown as typed,
    never decoded); stripped; cut to ``max_length`` characters. For text from anywhere (other services, older
    producers, exception messages), which input validation may never have seen."""
    cleaned = _ENCODED_WORD.sub("= ?", _BREAKS.sub(" ", text)).strip()
    return cleaned[:max_length].rstrip() if max_length is not None else cleaned


def email_error(value: str, *, required: bool = True) -> str | None:
    if not value:
        return "is required" if required else None
    if len(value) > 254:
        return "must be at most 254 characters"
    try:
        validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        return f"is not a valid e-mail address ({exc})"
    return None


def phone_error(value: str, *, required: bool = True) -> str | None:
    if not value:
        return "is required" if required else None
    if not _PHONE.match(value) or sum(c.isdigit() for c in value) < 6:
        return "must be a phone number: digits, optional leading +, spaces, dots, dashes or brackets"
    return None


def contact_violations(v: Violations, prefix: str, values: Mapping[str, str], *, phone_required: bool = True,
                       job_title_required: bool = True, links_allowed: bool = False) -> None:
    """The one rule for a person's contact details (given_name, family_name, job_title, email, phone, language):
    each violation is added to ``v`` as ``prefix.field`` (just ``field`` when ``prefix`` is ""). Only the fields
    present in ``values`` are checked, so a partial update passes only what it changes. Names and titles reach other
    people's mailboxes, so they may not be web addresses unless ``links_allowed``."""
    def path(name: str) -> str:
        return f"{prefix}.{name}" if prefix else name

    for name in ("given_name", "family_name", "job_title"):
        if name in values:
            value = values[name]
            required = job_title_required or name != "job_title"
            if err := text_error(value, required=required, max_length=100) or (
                    None if links_allowed else _link_error(value)):
                v.add(path(name), err)
    if "email" in values and (err := email_error(values["email"])):
        v.add(path("email"), err)
    if "phone" in values and (err := phone_error(values["phone"], required=phone_required)):
        v.add(path("phone"), err)
    if "language" in values and language_of(values["language"]) is None:
        v.add(path("language"), "must be fr or en")


def _link_error(value: str) -> str | None:
    lowered = value.lower()
    return "must be a name, not a web address" if "://" in lowered or "www." in lowered else None


def language_of(value: str) -> str | None:
    """The language code to use, or None when the value is not a supported language."""
    value = value.strip().lower() or "fr"
    return value if value in LANGUAGES else None


def is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def request_id_error(value: str) -> str | None:
    """AIP-155 request ids are optional UUIDs."""
    return None if not value or is_uuid(value) else "must be a UUID"


def country_error(value: str, *, required: bool = True) -> str | None:
    if not value:
        return "is required" if required else None
    if value not in COUNTRY_CODES:
        return "must be an ISO 3166-1 alpha-2 country code in upper case, e.g. FR"
    return None


def enum_name(enum: _EnumTypeWrapper[V], value: int, prefix: str, field: str) -> str:
    """The name of a protobuf enum value without its prefix; "" for 0 (unspecified). proto3 enums are open: a number
    the contract does not define is bad input (INVALID_ARGUMENT on ``field``), never an internal error."""
    if value == 0:
        return ""
    try:
        return enum.Name(cast(V, value)).removeprefix(prefix)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "unknown value")]) from None


def enum_value(enum: _EnumTypeWrapper[V], prefix: str, name: str) -> V:
    """The number of the protobuf enum value ``prefix + name``, typed as the enum's own value type (what a message
    field takes); 0 (unspecified) for "". Raises ValueError for a name the enum does not define."""
    return enum.Value(prefix + name) if name else cast(V, 0)

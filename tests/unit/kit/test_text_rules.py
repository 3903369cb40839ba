"""kit.validation's one rule for free text (text_error) and its neutraliser for headers, subjects and log lines
(single_line): each class of character that can break a line or disguise text, and RFC 2047 encoded words (a mail
reader decodes them into any character), in every kind of field."""
from __future__ import annotations

import email
import email.policy
import sys
import unicodedata
from email._header_value_parser import rfc2047_matcher  # the shape Python's own parser decodes

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kit.validation import single_line, text_error

# One representative (or several) of each class the rule refuses everywhere.
FORBIDDEN = {
    "C0 NUL": "\x00", "C0 vertical tab": "\x0b", "C0 form feed": "\x0c", "C0 file separator": "\x1c",
    "C0 unit separator": "\x1f", "DEL": "\x7f", "C1 first": "\x80", "C1 NEL": "\x85", "C1 last": "\x9f",
    "line separator": "\u2028", "paragraph separator": "\u2029", "LRE": "\u202a", "RLE": "\u202b",
    "PDF": "\u202c", "LRO": "\u202d", "RLO": "\u202e", "LRI": "\u2066", "RLI": "\u2067", "FSI": "\u2068",
    "PDI": "\u2069", "lone surrogate": "\ud800",
    # Invisible format characters (review: they disguise a nominee's name).
    "zero width space": "\u200b", "LRM": "\u200e", "RLM": "\u200f", "Arabic letter mark": "\u061c",
    "BOM / ZWNBSP": "\ufeff", "word joiner": "\u2060", "function application": "\u2061", "invisible times": "\u2062",
    "invisible separator": "\u2063", "invisible plus": "\u2064", "inhibit symmetric swapping": "\u206a",
    "nominal digit shapes": "\u206f", "Mongolian vowel separator": "\u180e", "soft hyphen": "\xad",
    "interlinear annotation": "\ufff9", "tag (unassigned)": "\U000e0000", "language tag": "\U000e0001",
    "tag latin a": "\U000e0061", "cancel tag": "\U000e007f",
}
LINE_BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "tab": "\t"}


@pytest.mark.parametrize("char", FORBIDDEN.values(), ids=FORBIDDEN.keys())
@pytest.mark.parametrize("multiline", [False, True])
def test_every_forbidden_class_is_refused_in_every_kind_of_field(char: str, multiline: bool) -> None:
    error = text_error(f"ACME{char}Industries", multiline=multiline, max_length=10_000)
    assert error is not None and "printable text" in error


def test_every_format_character_of_this_pythons_unicode_is_refused_but_zwnj_and_zwj() -> None:
    allowed = [hex(c) for c in range(sys.maxunicode + 1)
               if unicodedata.category(chr(c)) == "Cf" and text_error(f"a{chr(c)}b") is None]
    assert allowed == ["0x200c", "0x200d"]


@pytest.mark.parametrize("text", ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645",  # Persian, with ZWNJ
                                  "\u0915\u094d\u200d\u0937", "\u0d28\u0d4d\u200d"])  # Devanagari, Malayalam, ZWJ
def test_zwnj_and_zwj_stay_for_persian_and_indic_names(text: str) -> None:
    assert text_error(text) is None and single_line(text) == text


@pytest.mark.parametrize("char", LINE_BREAKS.values(), ids=LINE_BREAKS.keys())
def test_one_line_fields_refuse_line_breaks_and_tabs(char: str) -> None:
    assert text_error(f"Jean{char}Dupont") is not None


@pytest.mark.parametrize("text", ["line one\nline two", "line one\r\nline two", "a\ttabbed\tcolumn", "end\n"])
def test_multiline_fields_take_lf_crlf_and_tabs(text: str) -> None:
    assert text_error(text, multiline=True) is None


def test_a_lone_carriage_return_is_refused_even_in_multiline_text() -> None:
    assert text_error("line one\rline two", multiline=True) is not None
    assert text_error("line one\r\r\nline two", multiline=True) is not None


@pytest.mark.parametrize("text", ["Forges de Lorraine SA", "Société Générale", "Ærø Stål ApS", "東京鋼業株式会社",
                                  "شركة الحديد", "חברת ברזל", "Jean Dupont, Achats <achats@x.example>", "O'Brien & Co"])
def test_ordinary_names_in_any_script_pass(text: str) -> None:
    assert text_error(text) is None and single_line(text) == text


@pytest.mark.parametrize("char", [*FORBIDDEN.values(), *LINE_BREAKS.values()],
                         ids=[*FORBIDDEN.keys(), *LINE_BREAKS.keys()])
def test_single_line_turns_each_forbidden_character_or_break_into_one_space(char: str) -> None:
    assert single_line(f"ACME{char}Industries") == "ACME Industries"
    assert single_line(f"ACME {char}{char} Industries") == "ACME Industries"  # runs collapse
    assert single_line(f"{char}ACME{char}") == "ACME"


def test_single_line_cuts_to_a_length() -> None:
    assert single_line("a" * 300, max_length=200) == "a" * 200
    assert single_line("word " * 100, max_length=12) == "word word wo"


# Encoded words a mail reader (Python's among them) decodes, as typed in a field: b and q, any case, empty or odd
# charsets, inside a word, with spaces inside (split across words), unterminated (the "?=" may come from the next
# field of a subject).
ENCODED_WORDS = {
    "b": "=?utf-8?b?DQpCY2M6IGV2ZUBhdHRhY2tlci5leGFtcGxl?=", "q": "=?utf-8?q?=0D=0ABcc:_eve@attacker.example?=",
    "upper B": "=?UTF-8?B?4oCuZ3BqLmV4ZQ==?=", "mixed case Q": "=?Utf-8?Q?=E2=80=AE?=",
    "empty charset": "=??b?DQpCY2M6IGV2ZQ==?=", "charset with language": "=?utf-8*fr?q?=0D=0A?=",
    "charset with a space": "=?utf 8?b?DQpCY2M6?=", "inside a word": "ACME=?utf-8?q?=0D=0AX:_y?=SA",
    "split across words": "=?utf-8?b?DQpC Y2M6IGV2ZQ==?=", "split across lines": "=?utf-8?b?DQpC\nY2M6?=",
    "unterminated": "=?utf-8?b?DQpCY2M6", "two of them": "=?a?q?x?= =?b?B?y?=",
}
NOT_ENCODED_WORDS = ["Prix =? 5 EUR", "a=b?c", "Qui ? Quoi ?", "x =?= y", "=?utf-8?x?abc?=", "2+2=4?", "?=", "=?"]


@pytest.mark.parametrize("word", ENCODED_WORDS.values(), ids=ENCODED_WORDS.keys())
@pytest.mark.parametrize("multiline", [False, True])
def test_an_encoded_word_is_refused_in_every_kind_of_field(word: str, multiline: bool) -> None:
    text = f"Facture {word} ACME"
    if "\n" not in word or multiline:
        assert text_error(text, multiline=multiline) == \
            "must not hold an RFC 2047 encoded word (=?charset?B?...?= or =?charset?Q?...?=)"


@pytest.mark.parametrize("text", NOT_ENCODED_WORDS)
def test_question_and_equals_marks_alone_pass(text: str) -> None:
    assert text_error(text) is None and single_line(text) == text


def decoded_subject(text: str) -> str:
    """``text`` written raw as a Subject and read back by a mail client (Python's): what a reader would see."""
    message = email.message_from_bytes(f"Subject: {text}\r\n\r\n".encode(), policy=email.policy.default)
    return str(message["Subject"])


@pytest.mark.parametrize("word", ENCODED_WORDS.values(), ids=ENCODED_WORDS.keys())
def test_single_line_leaves_an_encoded_word_shown_as_typed_never_decoded(word: str) -> None:
    if word.endswith("?="):  # what a reader would decode, were it written as typed
        assert decoded_subject(f"Facture {word} ACME") != f"Facture {word} ACME"
    cleaned = single_line(f"Facture {word} ACME")
    assert "= ?" in cleaned and not rfc2047_matcher.search(cleaned)
    assert text_error(cleaned) is None and decoded_subject(cleaned) == cleaned and single_line(cleaned) == cleaned


def test_a_cut_never_makes_an_encoded_word() -> None:
    for n in range(40):
        assert text_error(single_line("x =?utf-8?b?DQpCY2M6?= y", max_length=n), required=False) is None


# Text built from what breaks lines, disguises text or opens an encoded word, and anything at all.
PIECES = [*"=?bBqQ8-_ aZ\t\r\n*", "utf-8", "\u200b", "\u2028", "\u202e", "\ufeff", "\U000e0041", "=0D=0A", "DQo="]
TRICKY = st.lists(st.sampled_from(PIECES), max_size=60).map("".join)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.text(max_size=300) | TRICKY)
def test_what_single_line_returns_always_passes_the_one_line_rule(text: str) -> None:
    cleaned = single_line(text)
    assert text_error(cleaned, required=False, max_length=10_000) is None
    assert len(cleaned.splitlines()) <= 1 and cleaned == cleaned.strip()
    assert not rfc2047_matcher.search(cleaned)
    if cleaned.isascii():
        assert decoded_subject(cleaned) == cleaned  # nothing in it is decoded

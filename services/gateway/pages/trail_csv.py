"""The security trail as a CSV file for a spreadsheet: every matching page, streamed, at most MAX_ROWS rows.

Format, for Excel as the portal's suppliers have it (French locale first):
- UTF-8 with a byte order mark: without it Excel reads the file as Windows-1252 ("Ã©" for "é"). No "sep=;" line:
  with one, Excel ignores the BOM.
- ";" between cells: Excel splits a CSV on the list separator of the Windows region, which is ";" in France (and
  most of continental Europe, where "," is the decimal comma); a ","-separated file opens there as one column.
  The same file in both languages: the page's language is not the spreadsheet's region.
- Cells quoted by the csv module (a ";", a quote or a line break inside a cell stays inside it), CRLF line ends.
- CSV/formula injection (OWASP "CSV Injection"): text typed by people (names, reasons) reaches the cells, and a
  cell that starts with = + - @, a tab or a carriage return is taken by spreadsheets for a formula
  (=HYPERLINK(...), +cmd|...). Such a cell gets a leading "'", which makes it text; so does one whose first
  visible character is one of those (" =1+1") or their full-width forms (Excel reads "＝" as "=").
"""
from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Iterable

import grpc
from babel.numbers import format_decimal
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.dependencies import Services
from gateway.i18n import translate
from gateway.pages.trail_query import Entry, entry

BOM = "\ufeff"
DELIMITER = ";"
MAX_ROWS = 50_000
PAGE_SIZE = 200  # identity's largest page
_FORMULA = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
COLUMNS = ("time", "actor", "actor_name", "action", "action_code", "subject", "subject_name", "client_address",
           "detail")


def neutral(cell: str) -> str:
    """``cell`` as a spreadsheet shows it as text, never a formula."""
    if cell[:1] in _FORMULA or cell.lstrip()[:1] in _FORMULA:
        return "'" + cell
    return cell


def lines(rows: Iterable[Iterable[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=DELIMITER, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerows([neutral(cell) for cell in row] for row in rows)
    return out.getvalue()


def header(lang: str) -> list[str]:
    return [translate(lang, f"admin.trail.csv.{column}") for column in COLUMNS]


def row(item: Entry) -> list[str]:
    return [item.moment.strftime("%Y-%m-%d %H:%M:%S"), item.actor, item.actor_name, item.action_label, item.action,
            item.subject, item.subject_name, item.client_address, item.detail]


async def export(lang: str, svc: Services, request: identity.ListAuditEventsRequest,
                 first: identity.ListAuditEventsResponse, names: dict[str, str]) -> AsyncIterator[str]:
    """The file, page after page: ``first`` (read before the answer started, so a refusal is still a page) and
    the next ones, up to MAX_ROWS rows; past it, one last line says the file is cut and how to get the rest."""
    yield BOM + lines([header(lang)])
    page, written = first, 0
    while True:
        events = list(page.audit_events)[:MAX_ROWS - written]
        yield lines(row(entry(lang, e, names)) for e in events)
        written += len(events)
        if not page.next_page_token:
            return
        if written >= MAX_ROWS:
            yield lines([[translate(lang, "admin.trail.csv.truncated", rows=format_decimal(MAX_ROWS, locale=lang))]])
            return
        request.page_token = page.next_page_token
        try:
            page = await svc.identity.ListAuditEvents(request, **svc.as_session())
        except grpc.aio.AioRpcError:  # the answer has started: say so in the file rather than cut it silently
            yield lines([[translate(lang, "admin.trail.csv.interrupted")]])
            return

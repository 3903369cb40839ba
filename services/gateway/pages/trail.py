"""The company's security trail for its ASL: who did what, when, to whom, filtered by person, action and days;
paged, and exported as a CSV file (pages/trail_csv.py). Only the ASL's own company: the subject of every request
is the company in the ASL's session, or a person identity finds in it."""
from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

import grpc
from babel.numbers import format_decimal
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity

from gateway.dependencies import Lang, Services, Svc
from gateway.pages.console import Administrator
from gateway.pages.rendering import FormState, render
from gateway.pages.trail_csv import MAX_ROWS, PAGE_SIZE, export
from gateway.pages.trail_query import PARIS, TrailQuery, action_options, entry, parse, people, refused

router = APIRouter()
ROWS_PER_PAGE = 50


async def _page(request: Request, lang: str, principal: identity_pb.Principal, query: TrailQuery,
                listed: identity.ListAuditEventsResponse | None = None, names: dict[str, str] | None = None,
                form: FormState | None = None, status: int = 200) -> Response:
    """The page: the filter form (with its errors, if any) and, when the trail was read, its rows and links."""
    filters = {k: v for k, v in query.values.items() if v}
    next_token = listed.next_page_token if listed is not None else ""
    return await render(
        request, lang, "admin_trail.html", status=status, title_key="admin.trail.title", form=form or query.form,
        cofor_root=principal.cofor_root, actions=action_options(lang), filters=filters,
        max_rows=format_decimal(MAX_ROWS, locale=lang), shown=listed is not None,
        rows=[entry(lang, e, names or {}) for e in listed.audit_events] if listed is not None else [],
        next_url=f"/{lang}/admin/trail?" + urlencode({**filters, "page": next_token}) if next_token else "",
        first_url=(f"/{lang}/admin/trail" + (f"?{urlencode(filters)}" if filters else "")) if query.page_token
        else "")


async def _read(request: Request, lang: str, svc: Services, principal: identity_pb.Principal, query: TrailQuery,
                page_size: int) -> identity.ListAuditEventsResponse | Response:
    """The page of the trail the query asks for, or the form again with what is wrong (a bad filter, a refusal)."""
    if not query.valid:
        return await _page(request, lang, principal, query, status=400)
    query.request.page_size, query.request.page_token = page_size, query.page_token
    try:
        return await svc.identity.ListAuditEvents(query.request, **svc.as_session())
    except grpc.aio.AioRpcError as error:
        form, status = refused(lang, query, error)
        return await _page(request, lang, principal, query, form=form, status=status)


@router.get("/{lang}/admin/trail")
async def trail(request: Request, lang: Lang, svc: Svc, principal: Administrator) -> Response:
    query = parse(lang, request.query_params, principal.cofor_root)
    listed = await _read(request, lang, svc, principal, query, ROWS_PER_PAGE)
    if isinstance(listed, Response):
        return listed
    return await _page(request, lang, principal, query, listed, await people(svc))


@router.get("/{lang}/admin/trail.csv")
async def trail_csv(request: Request, lang: Lang, svc: Svc, principal: Administrator) -> Response:
    """The whole trail with the page's filters (never a page token: the file starts at the newest event). A
    refused filter answers the page with its error, like the page itself."""
    query = parse(lang, {k: v for k, v in request.query_params.items() if k != "page"}, principal.cofor_root)
    first = await _read(request, lang, svc, principal, query, PAGE_SIZE)
    if isinstance(first, Response):
        return first
    filename = f"trail-{principal.cofor_root}-{dt.datetime.now(PARIS).date().isoformat()}.csv"  # the day in Paris
    return StreamingResponse(
        export(lang, svc, query.request, first, await people(svc)), media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})

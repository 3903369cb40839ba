"""The signed-in person's own sessions ("My sessions", ARCHITECTURE §7): where and when each opened (the browser and
system identity read from the User-Agent, the address), its last activity, which one is this; end one of them, or
every other one. A session ended here is refused at its next page view, wherever it is."""
from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

import grpc
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from portal.identity.v1 import sessions_pb2 as sp

from kit.client import failure_of

from gateway.clients import SESSION_COOKIE, clear_private_cookie
from gateway.dependencies import Lang, SignedIn, Svc, sign_in_path
from gateway.errors import redirect
from gateway.forms import EmptyForm, PageForm
from gateway.pages.rendering import CsrfChecked, FormState, csrf_failed, failure_form, render

router = APIRouter()
PAGE = "/account/sessions"
DONE = ("one", "others")


class EndSessionForm(PageForm):
    """One session's "end" button: ``current`` on the row of the session that asks (ending it logs out)."""
    current: bool = False


async def sessions_page(request: Request, lang: str, svc: Svc, *, form: FormState | None = None, status: int = 200,
                        done: str = "") -> Response:
    """The holder's live sessions as identity lists them (a session it no longer honours: log in again)."""
    try:
        listed = await svc.identity.ListMySessions(sp.ListMySessionsRequest(), **svc.as_session())
    except grpc.aio.AioRpcError as error:
        if failure_of(error).code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED):
            return redirect(sign_in_path(request, lang))  # ended meanwhile, or a login not finished
        raise
    return await render(request, lang, "sessions.html", status=status, title_key="sessions.title", form=form,
                        sessions=listed.sessions, others=sum(not s.current for s in listed.sessions),
                        done=done if done in DONE else "")


async def _ended(request: Request, lang: str, svc: Svc, ending: sp.EndMySessionRequest, current: bool) -> Response:
    try:
        await svc.identity.EndMySession(ending, **svc.as_session())
    except grpc.aio.AioRpcError as error:
        failure = failure_of(error)
        if failure.code == grpc.StatusCode.UNAUTHENTICATED:  # this session itself ended meanwhile
            return redirect(sign_in_path(request, lang))
        return await sessions_page(request, lang, svc, form=failure_form(lang, error, {}, set()),
                                   status=404 if failure.code == grpc.StatusCode.NOT_FOUND else 400)
    if current:  # the visitor ended the session they use: a logout
        response = redirect(f"/{lang}/login?done=logout")
        clear_private_cookie(response, SESSION_COOKIE)
        return response
    return redirect(f"/{lang}{PAGE}?" + urlencode({"done": "others" if ending.others else "one"}))


@router.get(f"/{{lang}}{PAGE}")
async def sessions(request: Request, lang: Lang, svc: Svc, _: SignedIn, done: str = "") -> Response:
    return await sessions_page(request, lang, svc, done=done)


@router.post(f"/{{lang}}{PAGE}/end-others")
async def end_others(request: Request, lang: Lang, svc: Svc, csrf: CsrfChecked,
                     _: Annotated[EmptyForm, Form()]) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return redirect(f"/{lang}/login")
    if not csrf:
        return await sessions_page(request, lang, svc, form=csrf_failed(lang, {}), status=403)
    return await _ended(request, lang, svc, sp.EndMySessionRequest(others=True), current=False)


@router.post(f"/{{lang}}{PAGE}/{{session_id}}/end")
async def end_one(request: Request, lang: Lang, svc: Svc, session_id: str, csrf: CsrfChecked,
                  typed: Annotated[EndSessionForm, Form()]) -> Response:
    if not request.cookies.get(SESSION_COOKIE):
        return redirect(f"/{lang}/login")
    if not csrf:
        return await sessions_page(request, lang, svc, form=csrf_failed(lang, {}), status=403)
    return await _ended(request, lang, svc, sp.EndMySessionRequest(session_id=session_id[:64]), typed.current)

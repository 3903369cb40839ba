"""The OpenID Connect endpoints the person's browser visits (ARCHITECTURE §14): authorize and RP-initiated logout
(the applications' servers call gateway/oidc_endpoints.py).

The portal session cookie is SameSite=Strict, so a browser arriving from an application's site does not send it:
the first visit answers a page that comes straight back here from the portal itself (then it does). A person who
must log in (or change the password) first is sent to the portal's pages; the request waits in a short-lived
cookie, and the account page resumes it once they are signed in. Cross-site hops after a form are taken by a page
too: the pages' CSP (`form-action 'self'`) would stop a redirect chain that began with a form."""
from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from portal.identity.v1 import oidc_pb2 as pb

from gateway.clients import SESSION_COOKIE, clear_private_cookie, set_private_cookie
from gateway.dependencies import Svc
from gateway.errors import redirect
from gateway.i18n import DEFAULT_LANGUAGE, LANGUAGES, preferred_language, translate
from gateway.pages.rendering import CsrfChecked, message, render

router = APIRouter(include_in_schema=False)
RETURN_COOKIE = "__Host-portal_sso_return"
RETURN_SECONDS = 600
BOUNCED = "portal_bounced"  # set by our own page: the cookie would have come with this visit
LOGIN_AFTER = "portal_login_after"  # set by our own answer: a login after this time is needed
_FORWARDED = ("client_id", "redirect_uri", "response_type", "scope", "state", "nonce", "code_challenge",
              "code_challenge_method", "prompt", "max_age", "login_hint", "ui_locales", LOGIN_AFTER)
_MAX_QUERY = 3000


def language_of(request: Request, ui_locales: str = "") -> str:
    """The application's ``ui_locales``, else the browser's Accept-Language, else French."""
    return preferred_language(request.headers.get("accept-language", ""), *ui_locales.split())


async def continue_page(request: Request, lang: str, url: str) -> Response:
    """A page that takes the browser on to ``url`` at once (a navigation the portal's own page starts)."""
    return await render(request, lang, "oidc_continue.html", title_key="oidc.continue_title", url=url)


def back_url(redirect_uri: str, **values: str) -> str:
    return redirect_uri + ("&" if "?" in redirect_uri else "?") + urlencode({k: v for k, v in values.items() if v})


@router.get("/oidc/authorize")
async def authorize(request: Request, svc: Svc) -> Response:
    items = request.query_params.multi_items()
    params = {k: v for k, v in items if k in _FORWARDED or k == BOUNCED}
    lang = language_of(request, params.get("ui_locales", ""))
    if len({k for k, _ in items}) != len(items) or len(request.url.query) > _MAX_QUERY:
        return await message(request, lang, "oidc.error_title", translate(lang, "oidc.refused"), status=400)
    if not request.cookies.get(SESSION_COOKIE) and BOUNCED not in params:
        return await continue_page(request, lang, "/oidc/authorize?" + urlencode({**params, BOUNCED: "1"}))
    return await _authorized(request, svc, lang, params)


@router.post("/oidc/authorize")
async def consent(request: Request, svc: Svc, csrf: CsrfChecked) -> Response:
    """The consent page's answer (a public application): yes, or no (``access_denied`` to the application)."""
    form = await request.form()
    params = {k: v[:_MAX_QUERY] for k, v in form.items() if k in _FORWARDED and isinstance(v, str)}
    lang = language_of(request, params.get("ui_locales", ""))
    if not csrf:
        return await message(request, lang, "oidc.error_title", translate(lang, "oidc.refused"), status=403)
    return await _authorized(request, svc, lang, params, consented=form.get("decision") == "allow",
                             denied=form.get("decision") != "allow")


async def _authorized(request: Request, svc: Svc, lang: str, params: dict[str, str], *, consented: bool = False,
                      denied: bool = False) -> Response:
    """Identity's answer to the request, worded for the browser. After the consent form, the way back to the
    application is a page: the pages' CSP (`form-action 'self'`) stops a redirect after a form."""
    refused = translate(lang, "oidc.refused")
    numbers = {k: params[k] for k in ("max_age", LOGIN_AFTER) if k in params}
    if not all(v.isdigit() and len(v) < 12 for v in numbers.values()):
        return await message(request, lang, "oidc.error_title", refused, status=400)
    asked = pb.AuthorizeRequest(consented=consented)
    for name in _FORWARDED[:9]:  # the protocol's text parameters, as given
        setattr(asked, name, params.get(name, ""))
    if "max_age" in numbers:
        asked.max_age = int(numbers["max_age"])
    if LOGIN_AFTER in numbers:
        asked.login_after = int(numbers[LOGIN_AFTER])
    answer = await svc.oidc.Authorize(asked, **svc.as_session())
    redirect_uri, state = params.get("redirect_uri", ""), params.get("state", "")
    if answer.HasField("failure") and not answer.failure.redirectable:
        return await message(request, lang, "oidc.error_title", refused, status=400)
    if answer.HasField("failure") or denied:
        error = answer.failure if answer.HasField("failure") else pb.OAuthFailure(
            error="access_denied", error_description="the person did not allow the application")
        target = back_url(redirect_uri, error=error.error, error_description=error.error_description, state=state,
                          iss=answer.issuer)
    elif answer.code:  # with the issuer (RFC 9207): a client of several providers knows which one answered
        target = back_url(redirect_uri, code=answer.code, state=state, iss=answer.issuer)
    elif answer.interaction == pb.INTERACTION_CONSENT:
        return await render(request, lang, "oidc_consent.html", title_key="oidc.consent_title",
                            client_name=answer.client_name, params=params)
    else:
        return _wait_for_login(lang, params, answer.interaction)
    if request.method == "POST":
        return await continue_page(request, lang, target)
    return RedirectResponse(target, status_code=302)


def _wait_for_login(lang: str, params: dict[str, str], interaction: int) -> Response:
    """The person must sign in (again) or change the password first: the request waits for them."""
    waiting = {k: v for k, v in params.items() if k not in ("prompt", "max_age", BOUNCED, LOGIN_AFTER)}
    waiting[LOGIN_AFTER] = str(int(time.time()) - 1)
    hint = urlencode({"identifier": params.get("login_hint", "")[:20]}) if params.get("login_hint") else ""
    step = "/password/change" if interaction == pb.INTERACTION_PASSWORD_CHANGE else \
        "/login" + (f"?{hint}" if hint else "")  # the login page fills in a V-identifier it is given
    response = redirect(f"/{lang}{step}")
    set_private_cookie(response, RETURN_COOKIE, urlencode(waiting), RETURN_SECONDS, samesite="lax")
    return response


async def resume_authorization(request: Request, lang: str) -> Response | None:
    """Once the person is signed in: back to the application's waiting request, if there is one."""
    waiting = request.cookies.get(RETURN_COOKIE)
    if not waiting:
        return None
    response = await continue_page(request, lang, "/oidc/authorize?" + waiting)
    clear_private_cookie(response, RETURN_COOKIE, samesite="lax")
    return response


async def _end_session(request: Request, svc: Svc, params: dict[str, str], confirmed: bool) -> pb.EndSessionResponse:
    return await svc.oidc.EndSession(pb.EndSessionRequest(
        id_token_hint=params.get("id_token_hint", ""), client_id=params.get("client_id", ""),
        post_logout_redirect_uri=params.get("post_logout_redirect_uri", ""), state=params.get("state", ""),
        confirmed=confirmed), **svc.as_session())


def _signed_out(response: Response) -> Response:
    clear_private_cookie(response, SESSION_COOKIE)
    return response


_LOGOUT_PARAMS = ("id_token_hint", "client_id", "post_logout_redirect_uri", "state")


@router.get("/oidc/logout")
async def logout(request: Request, svc: Svc) -> Response:
    params = {k: v[:8192] for k, v in request.query_params.items() if k in _LOGOUT_PARAMS}
    lang = language_of(request, request.query_params.get("ui_locales", ""))
    if not request.cookies.get(SESSION_COOKIE) and BOUNCED not in request.query_params:  # as for authorize
        return await continue_page(request, lang, "/oidc/logout?" + urlencode({**params, BOUNCED: "1"}))
    answer = await _end_session(request, svc, params, confirmed=False)
    if answer.confirm:  # the form carries on only a return address registered for the application
        kept = {k: v for k, v in params.items() if k != "post_logout_redirect_uri" or answer.redirect_uri}
        return await render(request, lang, "oidc_logout.html", title_key="oidc.logout_title", params=kept)
    if answer.redirect_uri:
        response: Response = RedirectResponse(answer.redirect_uri, status_code=303)
    else:
        response = await message(request, lang, "oidc.logout_title", translate(lang, "oidc.logged_out"))
    return _signed_out(response) if answer.ended else response


@router.post("/oidc/logout")
async def logout_confirmed(request: Request, svc: Svc, csrf: CsrfChecked, lang: Annotated[str, Form()] = "fr",
                           id_token_hint: Annotated[str, Form(max_length=8192)] = "",
                           client_id: Annotated[str, Form(max_length=64)] = "",
                           post_logout_redirect_uri: Annotated[str, Form(max_length=500)] = "",
                           state: Annotated[str, Form(max_length=1000)] = "") -> Response:
    lang = lang if lang in LANGUAGES else DEFAULT_LANGUAGE
    params = {"id_token_hint": id_token_hint, "client_id": client_id,
              "post_logout_redirect_uri": post_logout_redirect_uri, "state": state}
    if not csrf:
        return await render(request, lang, "oidc_logout.html", status=403, title_key="oidc.logout_title",
                            params=params)
    answer = await _end_session(request, svc, params, confirmed=True)
    if answer.redirect_uri:
        return _signed_out(await continue_page(request, lang, answer.redirect_uri))
    return _signed_out(await message(request, lang, "oidc.logout_title", translate(lang, "oidc.logged_out")))

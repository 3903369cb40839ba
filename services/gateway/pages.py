"""The portal's web pages, rendered on the server in French (default) or English.

Each handler calls the same gRPC stubs as the JSON API. Forms carry the CSRF token (the ``__Host-portal_csrf``
cookie) in a hidden ``csrf_token`` field, checked here; field violations from the services are shown next to
their input and in a summary."""
from __future__ import annotations

import datetime as dt
import hmac
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode

import grpc
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from google.protobuf.field_mask_pb2 import FieldMask
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape
from portal.cofor.v1 import cofor_service_pb2 as cofor
from portal.cofor.v1 import supplier_pb2 as cofor_pb
from portal.identity.v1 import account_pb2 as identity_pb
from portal.identity.v1 import identity_service_pb2 as identity
from portal.support.v1 import help_pb2
from portal.support.v1 import support_service_pb2 as support
from portal.support.v1 import ticket_pb2 as ticket_pb
from starlette.datastructures import UploadFile

from kit.client import failure_of

from gateway.api import CONSOLE_ACTIONS
from gateway.clients import PRESENTER_COOKIE, SESSION_COOKIE, Backends, call_metadata, principal_metadata
from gateway.i18n import LANGUAGES, has, language_or_default, translate
from gateway.security import CSRF_COOKIE, csrf_ok, new_csrf_token, service_retry_after
from gateway.settings import GatewaySettings

TEMPLATES = Path(__file__).parent / "templates"
SCREENSHOT_LIMIT = 5 * 1024 * 1024
CATEGORIES = ("UNKNOWN_COFOR", "ACCESS_REQUEST", "LOGIN_PROBLEM", "BLOCKED_ACCOUNT", "COMPANY_PRESENTATION", "OTHER")
CONTACT_FIELDS = ("given_name", "family_name", "email", "phone", "job_title", "language")
REPRESENTATIVE_FIELDS = tuple(f"legal_representative.{name}" for name in ("given_name", "family_name", "email",
                                                                        "phone", "job_title"))
COMPANY_FIELDS = ("legal_name", "national_registration_number", "tax_number", "country_code",
                  "legal_existence_proof_ref", "head_office_address.lines", "head_office_address.postal_code",
                  "head_office_address.city", "head_office_address.country_code", *REPRESENTATIVE_FIELDS)
TERMS = Path(__file__).parent / "terms"
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,200}")  # the shape of every link token (URL-safe base64)


def terms_text(version: str, lang: str) -> Markup | None:
    """The full GTU of ``version`` in ``lang`` (terms/<version>.<lang>.md), or None when it is not shipped."""
    if not re.fullmatch(r"[0-9A-Za-z.-]{1,40}", version):
        return None
    path = TERMS / f"{version}.{lang}.md"
    return render_markdown(path.read_text(encoding="utf-8")) if path.is_file() else None


# ---- the small Markdown subset of help articles ----------------------------------------------------------------

_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ORDERED = re.compile(r"^\d+\.\s+")


def _safe_url(url: str) -> str | None:
    # ``url`` is already HTML-escaped; only portal-relative paths and https links are kept.
    if (url.startswith("/") and not url.startswith("//") and "\\" not in url) or url.startswith("https://"):
        return url
    return None


def _inline(escaped: str) -> str:
    def link(match: re.Match[str]) -> str:
        url = _safe_url(match.group(2))
        return f'<a href="{url}">{match.group(1)}</a>' if url else match.group(1)
    return _BOLD.sub(r"<strong>\1</strong>", _LINK.sub(link, escaped))


def render_markdown(source: str) -> Markup:
    """Paragraphs, ## / ### headings, - and 1. lists, **bold**, [text](url). Escapes first, then converts."""
    out: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    kind = ""

    def flush() -> None:
        nonlocal kind
        if paragraph:
            out.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            out.append(f"<{kind}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{kind}>")
            items.clear()
        kind = ""

    for raw in source.splitlines():
        line = str(escape(raw.strip()))
        if not line:
            flush()
        elif line.startswith("### ") or line.startswith("## "):
            flush()
            level = 3 if line.startswith("### ") else 2
            out.append(f"<h{level}>{_inline(line[level + 1:].strip())}</h{level}>")
        elif line.startswith("- ") or _ORDERED.match(line):
            wanted = "ul" if line.startswith("- ") else "ol"
            if paragraph or (kind and kind != wanted):
                flush()
            kind = wanted
            items.append(line[2:].strip() if wanted == "ul" else _ORDERED.sub("", line, count=1))
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return Markup("\n".join(out))


# ---- form state ---------------------------------------------------------------------------------------------------

@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)  # (anchor of the input or "", message)
    retry_after: str = ""  # set when a rate limit refused the form: the page answers 429 with Retry-After

    def add(self, lang: str, name: str, message: str) -> None:
        if name:
            self.errors.setdefault(name, []).append(message)
            who, _, rest = name.partition(".")
            label = translate(lang, f"f.{name}")
            if who in ("signatory", "administrator"):
                label = f"{translate(lang, f'prefix.{who}')} — {translate(lang, f'f.{rest}')}"
            self.summary.append((field_id(name), f"{label} : {message}" if lang == "fr" else f"{label}: {message}"))
        else:
            self.summary.append(("", message))


def field_id(name: str) -> str:
    return "f-" + re.sub(r"[^a-zA-Z0-9_-]", "-", name)


def _field_name(path: str, known: set[str], aliases: dict[str, str]) -> str:
    path = re.sub(r"\[\d+\]$", "", path)
    for prefix in ("presentation.", "account.", "user."):
        if path.startswith(prefix) and path not in known:
            path = path[len(prefix):]
    path = aliases.get(path, path)
    return path if path in known else ""


def _page_language(lang: str) -> str:
    """The language segment of a page URL; anything but fr/en is a page that does not exist."""
    if lang not in LANGUAGES:
        raise HTTPException(status_code=404)
    return lang


Lang = Annotated[str, Depends(_page_language)]


def failure_form(lang: str, error: grpc.aio.AioRpcError, values: dict[str, str], known: set[str],
                 aliases: dict[str, str] | None = None) -> FormState:
    failure = failure_of(error)
    form = FormState(values=values)
    reasons = failure.violation_reasons or [""] * len(failure.field_violations)
    for (path, description), reason in zip(failure.field_violations, reasons):
        message = translate(lang, f"reason.{reason}") if reason and has(f"reason.{reason}") else \
            _describe(lang, description)
        form.add(lang, _field_name(path, known, aliases or {}), message)
    if not failure.field_violations:
        form.add(lang, "", error_message(lang, failure.code, failure.reason))
    if failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        form.retry_after = service_retry_after(failure.metadata) or "60"
    return form


_DESCRIPTIONS = (("is required", "desc.required"), ("is not a valid e-mail", "desc.email"),
                 ("must be a phone number", "desc.phone"), ("must be an ISO 3166-1", "desc.country"))


def _describe(lang: str, description: str) -> str:
    """The services describe violations in English: say the usual ones in the page's language."""
    for start, key in _DESCRIPTIONS:
        if description.startswith(start):
            return translate(lang, key)
    return description


def error_message(lang: str, code: grpc.StatusCode, reason: str) -> str:
    for key in (f"error.{reason}", f"error.{code.name}"):
        if has(key):
            return translate(lang, key)
    return translate(lang, "error.generic")


def _timestamp(value: Any) -> str:
    if not value.seconds:
        return ""
    return dt.datetime.fromtimestamp(value.seconds, dt.timezone.utc).strftime("%d/%m/%Y %H:%M UTC")


def router(backends: Backends, settings: GatewaySettings) -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    timeout = settings.rpc_timeout_seconds
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)

    def meta(request: Request, bearer: str | None = None) -> list[tuple[str, str]]:
        return call_metadata(request, settings, bearer=bearer)

    def set_cookie(response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True, samesite="strict")

    async def principal_of(request: Request) -> identity_pb.Principal | None:
        if hasattr(request.state, "principal"):
            return request.state.principal  # type: ignore[no-any-return]
        principal = None
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            try:
                principal = (await backends.identity.ValidateSession(identity.ValidateSessionRequest(
                    session_token=token), metadata=meta(request), timeout=timeout)).principal
            except grpc.aio.AioRpcError:
                principal = None
        request.state.principal = principal
        return principal

    def other_language(request: Request, lang: str, switch_path: str | None) -> str:
        other = "en" if lang == "fr" else "fr"
        if switch_path is not None:
            return f"/{other}{switch_path}"
        rest = request.url.path[len(lang) + 1:]
        query = request.url.query if request.method == "GET" else ""
        return f"/{other}{rest}" + (f"?{query}" if query else "")

    async def render(request: Request, lang: Lang, template: str, *, status: int = 200, title_key: str = "",
                     form: FormState | None = None, switch_path: str | None = None, **context: Any) -> HTMLResponse:
        token = request.cookies.get(CSRF_COOKIE)
        fresh = not token
        if fresh:
            token = new_csrf_token()

        def t(key: str, **values: Any) -> str:
            return translate(lang, key, **values)

        body = env.get_template(template).render(
            lang=lang, t=t, csrf_token=token, form=form or FormState(), field_id=field_id,
            switch_url=other_language(request, lang, switch_path), principal=await principal_of(request),
            title=t(title_key) if title_key else t("site.name"), path=request.url.path, **context)
        headers = {"Cache-Control": "no-store"}
        if form is not None and form.retry_after:  # whatever the form's own failure status, this one is 429
            status, headers["Retry-After"] = 429, form.retry_after
        response = HTMLResponse(body, status_code=status, headers=headers)
        if fresh:
            response.set_cookie(CSRF_COOKIE, token, path="/", secure=True, httponly=False, samesite="strict")
        return response

    def redirect(url: str) -> RedirectResponse:
        return RedirectResponse(url, status_code=303)

    async def form_of(request: Request) -> tuple[dict[str, str], dict[str, UploadFile], bool]:
        data = await request.form()
        values = {k: v.strip() for k, v in data.items() if isinstance(v, str) and k != "csrf_token"}
        files = {k: v for k, v in data.items() if isinstance(v, UploadFile)}
        token = data.get("csrf_token")
        return values, files, csrf_ok(request, token if isinstance(token, str) else "")

    def csrf_failed(lang: str, values: dict[str, str]) -> FormState:
        form = FormState(values=values)
        form.add(lang, "", translate(lang, "form.csrf"))
        return form

    def not_found(request: Request, lang: str) -> Any:
        return render(request, lang, "message.html", status=404, title_key="error.title",
                      message=translate(lang, "error.not_found"))

    # ---- home, about, blocked ---------------------------------------------------------------------------------

    @pages.get("/")
    async def root() -> RedirectResponse:
        return RedirectResponse("/fr/", status_code=302)

    @pages.get("/{lang}")
    async def bare(lang: str) -> Response:
        return RedirectResponse(f"/{lang}/", status_code=302)

    @pages.get("/{lang}/")
    async def home(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "home.html", title_key="site.name")

    @pages.get("/{lang}/about")
    async def about(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "about.html", title_key="about.title")

    @pages.get("/{lang}/blocked")
    async def blocked(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "blocked.html", title_key="blocked.title")

    # ---- get access ---------------------------------------------------------------------------------------------

    @pages.get("/{lang}/access")
    async def access(request: Request, lang: Lang, cofor: str = "", site_code: str = "") -> Response:
        cofor_in, site_in = cofor.strip()[:40], site_code.strip()[:10]
        if not cofor_in:
            return await render(request, lang, "access.html", title_key="access.title")
        try:
            result = await backends.cofor.AnalyzeAccess(cofor_pb_request(cofor_in, site_in), metadata=meta(request),
                                                        timeout=timeout)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, {"cofor": cofor_in, "site_code": site_in}, {"cofor", "site_code"})
            return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
        return await analysis_page(request, lang, result, cofor_in)

    def cofor_pb_request(cofor_in: str, site_in: str) -> cofor.AnalyzeAccessRequest:
        return cofor.AnalyzeAccessRequest(cofor=cofor_in, site_code=site_in)

    async def analysis_page(request: Request, lang: Lang, result: cofor.AnalyzeAccessResponse, typed: str,
                            form: FormState | None = None, status: int = 200) -> HTMLResponse:
        outcome = cofor.AnalysisOutcome.Name(result.outcome).removeprefix("ANALYSIS_OUTCOME_")
        return await render(request, lang, "access_result.html", status=status, title_key="access.result_title",
                            outcome=outcome, result=result, typed=typed, form=form,
                            request_form=form or FormState(values={"signatory.language": lang,
                                                                   "administrator.language": lang}))

    @pages.get("/{lang}/access/request")
    @pages.get("/{lang}/access/resend")
    async def access_get(lang: str) -> Response:
        return redirect(f"/{language_or_default(lang)}/access")

    @pages.post("/{lang}/access/request")
    async def access_request(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        cofor_in = values.get("cofor", "")[:40]
        known = {f"{who}.{name}" for who in ("signatory", "administrator") for name in CONTACT_FIELDS} | {"cofor"}

        def person(who: str) -> cofor_pb.Contact:
            return cofor_pb.Contact(**{name: values.get(f"{who}.{name}", "")[:300] for name in CONTACT_FIELDS})

        form: FormState | None = None
        if not ok:
            form = csrf_failed(lang, values)
        else:
            try:
                await backends.cofor.RequestPortalAccess(cofor.RequestPortalAccessRequest(
                    cofor=cofor_in, signatory=person("signatory"), administrator=person("administrator")),
                    metadata=meta(request), timeout=timeout)
                # One answer whether or not the request named the signatory of record: the page must not tell a
                # stranger whether the address they typed is that person's.
                return await render(request, lang, "message.html", switch_path="/access", status_role=True,
                                    title_key="request.sent_title", message=translate(lang, "request.sent"))
            except grpc.aio.AioRpcError as error:
                form = failure_form(lang, error, values, known)
        try:
            result = await backends.cofor.AnalyzeAccess(cofor_pb_request(cofor_in, ""), metadata=meta(request),
                                                        timeout=timeout)
        except grpc.aio.AioRpcError:
            return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
        return await analysis_page(request, lang, result, cofor_in, form=form, status=400)

    @pages.post("/{lang}/access/resend")
    async def access_resend(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        if not ok:
            return await render(request, lang, "access.html", status=403, title_key="access.title",
                                form=csrf_failed(lang, {"cofor": values.get("cofor", "")}))
        try:
            await backends.cofor.ResendTermsAcceptance(cofor.ResendTermsAcceptanceRequest(
                cofor=values.get("cofor", "")[:40]), metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, {"cofor": values.get("cofor", "")}, {"cofor"})
            return await render(request, lang, "access.html", status=400, title_key="access.title", form=form)
        return await render(request, lang, "message.html", title_key="access.resent_title",
                            message=translate(lang, "access.resent"), switch_path="/access")

    # ---- terms ---------------------------------------------------------------------------------------------------

    @pages.get("/{lang}/access/terms")
    async def terms(request: Request, lang: Lang, token: str = "") -> Response:
        return await terms_page(request, lang, token[:200])

    async def terms_page(request: Request, lang: Lang, token: str, form: FormState | None = None) -> HTMLResponse:
        described = None
        if token:
            try:
                described = await backends.cofor.DescribeTermsAcceptance(cofor.DescribeTermsAcceptanceRequest(
                    acceptance_token=token), metadata=meta(request), timeout=timeout)
            except grpc.aio.AioRpcError as error:
                if failure_of(error).code not in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT,
                                                  grpc.StatusCode.UNAUTHENTICATED):
                    raise
        if described is None or not described.link_valid:
            state = cofor.TermsLinkState.Name(described.link_state).removeprefix("TERMS_LINK_STATE_") \
                if described is not None else "UNKNOWN"
            key = f"terms.link.{state}" if has(f"terms.link.{state}") else "terms.link.UNKNOWN"
            return await render(request, lang, "terms_invalid.html", status=410 if described else 404,
                                title_key="terms.invalid_title", reason=translate(lang, key))
        text = terms_text(described.terms_version, lang)
        if text is None:  # never ask anyone to accept terms they cannot read in full
            return await render(request, lang, "message.html", status=503, title_key="terms.title",
                                message=translate(lang, "terms.unavailable"))
        return await render(request, lang, "terms.html", title_key="terms.title", described=described, token=token,
                            expires=_timestamp(described.expire_time), form=form, terms=text,
                            requested_at=_timestamp(described.request_time))

    @pages.post("/{lang}/access/terms")
    async def terms_accept(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        token = values.get("token", "")[:200]
        if not ok:
            return await terms_page(request, lang, token, csrf_failed(lang, {}))
        try:
            accepted = await backends.cofor.AcceptTerms(cofor.AcceptTermsRequest(
                acceptance_token=token, terms_version=values.get("terms_version", "")[:40]),
                metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return await terms_page(request, lang, token, failure_form(lang, error, {}, set()))
        return await render(request, lang, "message.html", title_key="terms.done_title", switch_path="/access",
                            message=translate(lang, "terms.done", company=accepted.legal_name))

    # ---- present your company ----------------------------------------------------------------------------------

    @pages.get("/{lang}/company")
    async def company_start_form(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "company_start.html", title_key="company.title")

    @pages.post("/{lang}/company")
    async def company_start(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        if not ok:
            return await render(request, lang, "company_start.html", status=403, title_key="company.title",
                                form=csrf_failed(lang, values))
        try:
            await backends.cofor.StartPresentation(cofor.StartPresentationRequest(
                duns=values.get("duns", "")[:40], email=values.get("email", "")[:320],
                legal_name=values.get("legal_name", "")[:300], language=lang, request_id=str(uuid.uuid4())),
                metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, values, {"duns", "email", "legal_name"})
            if failure_of(error).reason == "DUNS_ALREADY_PRESENTED":
                form = FormState(values=values)
                form.add(lang, "duns", translate(lang, "error.DUNS_ALREADY_PRESENTED"))
            return await render(request, lang, "company_start.html", status=400, title_key="company.title",
                                form=form)
        # The token is only mailed: whoever opens the file has proven the address.
        return await render(request, lang, "message.html", title_key="company.check_mail_title", status_role=True,
                            message=translate(lang, "company.check_mail", email=values.get("email", "")[:320]))

    def presentation_values(p: cofor_pb.Presentation) -> dict[str, str]:
        a = p.head_office_address
        return {"legal_name": p.legal_name, "national_registration_number": p.national_registration_number,
                "tax_number": p.tax_number, "country_code": p.country_code,
                "legal_existence_proof_ref": p.legal_existence_proof_ref,
                "head_office_address.lines": "\n".join(a.lines), "head_office_address.postal_code": a.postal_code,
                "head_office_address.city": a.city, "head_office_address.country_code": a.country_code,
                **{name: getattr(p.legal_representative, name.split(".", 1)[1]) for name in REPRESENTATIVE_FIELDS}}

    async def company_page(request: Request, lang: Lang, presentation_id: str, form: FormState | None = None,
                           status: int = 200, done: str = "") -> HTMLResponse:
        try:
            p = (await backends.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                                      metadata=meta(request, request.cookies.get(PRESENTER_COOKIE)),
                                                      timeout=timeout)).presentation
        except grpc.aio.AioRpcError as error:
            return await file_refused(request, lang, error)
        if form is None:
            form = FormState(values=presentation_values(p))
        state = cofor_pb.PresentationState.Name(p.state).removeprefix("PRESENTATION_STATE_")
        return await render(request, lang, "company.html", status=status, title_key="company.title",
                            presentation=p, state=state, form=form, done=done, fields=COMPANY_FIELDS,
                            missing=[translate(lang, "f." + (_field_name(m, set(COMPANY_FIELDS), {
                                "head_office_address": "head_office_address.lines"}) or m)) for m in p.missing_fields])

    @pages.get("/{lang}/company/{presentation_id}")
    async def company_file(request: Request, lang: Lang, presentation_id: str, token: str = "",
                           done: str = "") -> Response:
        if token:
            return await file_to_open(request, lang, presentation_id[:64], token)
        return await company_page(request, lang, presentation_id[:64], done=done if done in ("saved", "submitted")
                                  else "")

    async def file_to_open(request: Request, lang: Lang, presentation_id: str, token: str,
                           form: FormState | None = None) -> HTMLResponse:
        """The mailed link: a page that names the file (company, D-U-N-S, the presenter's address) and asks before
        keeping its token in this browser. A GET never sets the cookie: a crafted link clicked anywhere (where the
        SameSite cookie of the visitor's own file is not even sent) could otherwise swap the visitor's file."""
        if not TOKEN.fullmatch(token):
            return await render(request, lang, "message.html", status=403, title_key="company.title",
                                message=translate(lang, "company.no_access"))
        try:
            p = (await backends.cofor.GetPresentation(cofor.GetPresentationRequest(presentation_id=presentation_id),
                                                      metadata=meta(request, token), timeout=timeout)).presentation
        except grpc.aio.AioRpcError as error:
            return await file_refused(request, lang, error)
        current = request.cookies.get(PRESENTER_COOKIE)
        replacing = bool(current) and not hmac.compare_digest(current.encode(), token.encode())
        return await render(request, lang, "company_open.html", title_key="company.open_title", presentation=p,
                            token=token, replacing=replacing, form=form, status=403 if form else 200)

    async def file_refused(request: Request, lang: Lang, error: grpc.aio.AioRpcError) -> HTMLResponse:
        failure = failure_of(error)
        if failure.reason in ("PRESENTATION_EXPIRED", "DUNS_ALREADY_PRESENTED"):  # lapsed, or lost the race
            return await render(request, lang, "message.html", status=410, title_key="company.title",
                                message=translate(lang, f"error.{failure.reason}"))
        if failure.code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND,
                            grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INVALID_ARGUMENT):
            return await render(request, lang, "message.html", status=403, title_key="company.title",
                                message=translate(lang, "company.no_access"))
        raise error

    @pages.post("/{lang}/company/{presentation_id}/open")
    async def company_open(request: Request, lang: Lang, presentation_id: str) -> Response:
        """The visitor chose to work on this file here: the token goes into the cookie (a same-site POST)."""
        values, _, ok = await form_of(request)
        token = values.get("token", "")[:200]
        if not ok:
            return await file_to_open(request, lang, presentation_id[:64], token, csrf_failed(lang, {}))
        if not TOKEN.fullmatch(token):
            return await render(request, lang, "message.html", status=403, title_key="company.title",
                                message=translate(lang, "company.no_access"))
        response = redirect(f"/{lang}/company/{quote(presentation_id[:64])}")
        set_cookie(response, PRESENTER_COOKIE, token, 30 * 24 * 3600)
        return response

    @pages.post("/{lang}/company/{presentation_id}")
    async def company_update(request: Request, lang: Lang, presentation_id: str) -> Response:
        presentation_id = presentation_id[:64]
        values, _, ok = await form_of(request)
        values = {k: v for k, v in values.items() if k in COMPANY_FIELDS or k == "action"}
        if not ok:
            return await company_page(request, lang, presentation_id, csrf_failed(lang, values), 403)
        bearer = request.cookies.get(PRESENTER_COOKIE)
        lines = [line.strip() for line in values.get("head_office_address.lines", "").splitlines() if line.strip()]
        message = cofor_pb.Presentation(
            presentation_id=presentation_id, legal_name=values.get("legal_name", "")[:300],
            national_registration_number=values.get("national_registration_number", "")[:300],
            tax_number=values.get("tax_number", "")[:300], country_code=values.get("country_code", "")[:5],
            legal_existence_proof_ref=values.get("legal_existence_proof_ref", "")[:600],
            head_office_address=cofor_pb.Address(
                lines=lines[:8], postal_code=values.get("head_office_address.postal_code", "")[:40],
                city=values.get("head_office_address.city", "")[:300],
                country_code=values.get("head_office_address.country_code", "")[:5]),
            legal_representative=cofor_pb.Contact(**{name.split(".", 1)[1]: values.get(name, "")[:320]
                                                     for name in REPRESENTATIVE_FIELDS}))
        mask = [name for name in COMPANY_FIELDS if values.get(name)]
        known = set(COMPANY_FIELDS)
        try:
            if mask:
                await backends.cofor.UpdatePresentation(cofor.UpdatePresentationRequest(
                    presentation=message, update_mask=FieldMask(paths=mask)), metadata=meta(request, bearer),
                    timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return await company_page(request, lang, presentation_id, failure_form(lang, error, values, known), 400)
        if values.get("action") != "submit":
            return redirect(f"/{lang}/company/{quote(presentation_id)}?done=saved")
        try:
            await backends.cofor.SubmitPresentation(cofor.SubmitPresentationRequest(
                presentation_id=presentation_id), metadata=meta(request, bearer), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            failure = failure_of(error)
            if failure.code == grpc.StatusCode.FAILED_PRECONDITION and failure.precondition_subjects:
                form = FormState(values=values)
                for subject in failure.precondition_subjects:
                    name = _field_name(subject, known, {"head_office_address": "head_office_address.lines"})
                    form.add(lang, name, translate(lang, "form.required"))
            else:
                form = failure_form(lang, error, values, known)
            return await company_page(request, lang, presentation_id, form, 400)
        return redirect(f"/{lang}/company/{quote(presentation_id)}?done=submitted")

    # ---- log in, log out, password, account ---------------------------------------------------------------------

    @pages.get("/{lang}/login")
    async def login_form(request: Request, lang: Lang, done: str = "") -> Response:
        return await render(request, lang, "login.html", title_key="login.title", done=done == "logout")

    @pages.post("/{lang}/login")
    async def login(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        kept = {"identifier": values.get("identifier", "")[:40]}
        if not ok:
            return await render(request, lang, "login.html", status=403, title_key="login.title",
                                form=csrf_failed(lang, kept))
        try:
            reply = await backends.identity.Login(identity.LoginRequest(
                identifier=kept["identifier"], password=(await request.form()).get("password", "")[:1024]),  # type: ignore[index]
                metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, kept, {"identifier", "password"})
            return await render(request, lang, "login.html", status=401 if not form.errors else 400,
                                title_key="login.title", form=form)
        response = redirect(f"/{lang}/password/change" if reply.must_change_password else f"/{lang}/account")
        set_cookie(response, SESSION_COOKIE, reply.session_token, 12 * 3600)
        return response

    @pages.get("/{lang}/logout")
    async def logout_get(lang: str) -> Response:
        return redirect(f"/{language_or_default(lang)}/")

    @pages.post("/{lang}/logout")
    async def logout(request: Request, lang: Lang) -> Response:
        _, _, ok = await form_of(request)
        if not ok:
            return redirect(f"/{lang}/account")
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            try:
                await backends.identity.Logout(identity.LogoutRequest(), metadata=meta(request, token),
                                               timeout=timeout)
            except grpc.aio.AioRpcError:
                pass
        response = redirect(f"/{lang}/login?done=logout")
        response.delete_cookie(SESSION_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
        return response

    @pages.get("/{lang}/password/change")
    async def password_form(request: Request, lang: Lang, done: str = "") -> Response:
        if not request.cookies.get(SESSION_COOKIE):
            return redirect(f"/{lang}/login")
        return await render(request, lang, "password.html", title_key="password.title")

    @pages.post("/{lang}/password/change")
    async def password_change(request: Request, lang: Lang) -> Response:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return redirect(f"/{lang}/login")
        data = await request.form()
        values, _, ok = await form_of(request)
        if not ok:
            return await render(request, lang, "password.html", status=403, title_key="password.title",
                                form=csrf_failed(lang, {}))
        current, new, confirm = (str(data.get(k, ""))[:1024] for k in ("current_password", "new_password",
                                                                         "confirm_password"))
        if new != confirm:
            form = FormState()
            form.add(lang, "confirm_password", translate(lang, "password.mismatch"))
            return await render(request, lang, "password.html", status=400, title_key="password.title", form=form)
        try:
            reply = await backends.identity.ChangePassword(identity.ChangePasswordRequest(
                current_password=current, new_password=new), metadata=meta(request, token), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            failure = failure_of(error)
            if failure.code == grpc.StatusCode.UNAUTHENTICATED and failure.reason.startswith("SESSION"):
                return redirect(f"/{lang}/login")
            form = failure_form(lang, error, {}, {"current_password", "new_password"})
            return await render(request, lang, "password.html", status=400, title_key="password.title", form=form)
        response = redirect(f"/{lang}/account?done=password")
        set_cookie(response, SESSION_COOKIE, reply.session_token, 12 * 3600)
        return response

    @pages.get("/{lang}/account")
    async def account(request: Request, lang: Lang, done: str = "") -> Response:
        principal = await principal_of(request)
        if principal is None:
            return redirect(f"/{lang}/login")
        if principal.must_change_password:
            return redirect(f"/{lang}/password/change")
        roles = [identity_pb.Role.Name(r) for r in principal.roles]
        return await render(request, lang, "account.html", title_key="account.title", roles=roles,
                            done=done == "password", is_admin="ROLE_ADMINISTRATOR" in roles)

    # ---- recovery ------------------------------------------------------------------------------------------------

    @pages.get("/{lang}/recover/identifier")
    async def recover_identifier_form(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "recover_identifier.html", title_key="recover.identifier_title")

    async def accepted(request: Request, lang: Lang) -> HTMLResponse:
        return await render(request, lang, "message.html", title_key="recover.accepted_title",
                            message=translate(lang, "recover.accepted"), switch_path=request.url.path[3:],
                            status_role=True)

    @pages.post("/{lang}/recover/identifier")
    async def recover_identifier(request: Request, lang: Lang) -> Response:
        values, _, ok = await form_of(request)
        values = {k: values.get(k, "")[:320] for k in ("email", "cofor")}
        if not ok:
            return await render(request, lang, "recover_identifier.html", status=403,
                                title_key="recover.identifier_title", form=csrf_failed(lang, values))
        try:
            await backends.identity.RecoverIdentifier(identity.RecoverIdentifierRequest(
                email=values["email"], cofor=values["cofor"][:40]), metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return await render(request, lang, "recover_identifier.html", status=400,
                                title_key="recover.identifier_title",
                                form=failure_form(lang, error, values, {"email", "cofor"}))
        return await accepted(request, lang)

    @pages.get("/{lang}/recover/password")
    async def recover_password_form(request: Request, lang: Lang) -> Response:
        return await render(request, lang, "recover_password.html", title_key="recover.password_title",
                            asl_form=FormState(), user_form=FormState())

    @pages.get("/{lang}/recover/password/{who}")
    async def recover_password_get(lang: str, who: str) -> Response:
        return redirect(f"/{language_or_default(lang)}/recover/password")

    @pages.post("/{lang}/recover/password/{who}")
    async def recover_password(request: Request, lang: Lang, who: str) -> Response:
        if who not in ("administrator", "user"):
            return HTMLResponse("Not found", status_code=404)
        values, _, ok = await form_of(request)
        names = ("identifier", "cofor", "email") + (("message",) if who == "user" else ())
        values = {k: values.get(k, "")[:2000 if k == "message" else 320] for k in names}
        forms = {"asl_form": FormState(), "user_form": FormState()}
        key = "asl_form" if who == "administrator" else "user_form"
        if not ok:
            forms[key] = csrf_failed(lang, values)
            return await render(request, lang, "recover_password.html", status=403,
                                title_key="recover.password_title", switch_path="/recover/password", **forms)
        try:
            if who == "administrator":
                await backends.identity.ResetAdministratorPassword(identity.ResetAdministratorPasswordRequest(
                    identifier=values["identifier"][:40], cofor=values["cofor"][:40], email=values["email"]),
                    metadata=meta(request), timeout=timeout)
            else:
                await backends.identity.ContactAdministrator(identity.ContactAdministratorRequest(
                    identifier=values["identifier"][:40], cofor=values["cofor"][:40], email=values["email"],
                    message=values["message"]), metadata=meta(request), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            forms[key] = failure_form(lang, error, values, set(names))
            return await render(request, lang, "recover_password.html", status=400,
                                title_key="recover.password_title", switch_path="/recover/password", **forms)
        return await render(request, lang, "message.html", title_key="recover.accepted_title",
                            message=translate(lang, "recover.accepted"), switch_path="/recover/password",
                            status_role=True)

    # ---- help & contact ------------------------------------------------------------------------------------------

    @pages.get("/{lang}/contact")
    async def contact_form(request: Request, lang: Lang, category: str = "") -> Response:
        principal = await principal_of(request)
        values = {"category": category.upper() if category.upper() in CATEGORIES else ""}
        if principal is not None:
            values.update(identifier=principal.identifier, cofor=principal.cofor_root, name=principal.display_name)
        return await render(request, lang, "contact.html", title_key="contact.title", categories=CATEGORIES,
                            form=FormState(values=values))

    @pages.post("/{lang}/contact")
    async def contact(request: Request, lang: Lang) -> Response:
        values, files, ok = await form_of(request)
        names = ("category", "subject", "text", "name", "email", "phone", "company", "identifier", "cofor")
        values = {k: values.get(k, "")[:10_000 if k == "text" else 320] for k in names}
        if not ok:
            return await render(request, lang, "contact.html", status=403, title_key="contact.title",
                                categories=CATEGORIES, form=csrf_failed(lang, values))
        category = values["category"] if values["category"] in CATEGORIES else "UNSPECIFIED"
        message = support.CreateTicketRequest(
            category=ticket_pb.TicketCategory.Value(f"TICKET_CATEGORY_{category}"), subject=values["subject"][:300],
            text=values["text"], contact=ticket_pb.TicketContact(
                name=values["name"][:300], email=values["email"], phone=values["phone"][:60],
                company=values["company"][:300], identifier=values["identifier"][:40], cofor=values["cofor"][:40],
                language=lang))
        shot = files.get("screenshot")
        if shot is not None and shot.filename:
            data = await shot.read(SCREENSHOT_LIMIT + 1)
            message.screenshot.CopyFrom(ticket_pb.Screenshot(filename=shot.filename[:200],
                                                             content_type=(shot.content_type or "")[:100], data=data))
        try:
            # Signed in: the ticket is recorded as sent by this session (proven), never by what the form claims.
            vouched = principal_metadata(await principal_of(request))
            reply = await backends.support.CreateTicket(message, metadata=meta(request) + vouched, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            form = failure_form(lang, error, values, set(names) | {"screenshot"},
                                {f"contact.{n}": n for n in names} | {"screenshot.data": "screenshot",
                                                                      "screenshot.content_type": "screenshot"})
            return await render(request, lang, "contact.html", status=400, title_key="contact.title",
                                categories=CATEGORIES, form=form)
        return await render(request, lang, "message.html", title_key="contact.done_title", switch_path="/contact",
                            message=translate(lang, "contact.done", reference=reply.ticket.reference),
                            reference=reply.ticket.reference, status_role=True)

    @pages.get("/{lang}/help")
    async def help_index(request: Request, lang: Lang) -> Response:
        topics = (await backends.support.ListHelpTopics(support.ListHelpTopicsRequest(language=lang),
                                                        metadata=meta(request), timeout=timeout)).topics
        sections: dict[str, list[Any]] = {}
        for topic in topics:
            sections.setdefault(help_pb2.HelpSection.Name(topic.section).removeprefix("HELP_SECTION_"),
                                []).append(topic)
        return await render(request, lang, "help.html", title_key="help.title", sections=sections)

    @pages.get("/{lang}/help/{article_id}")
    async def help_article(request: Request, lang: Lang, article_id: str) -> Response:
        try:
            article = (await backends.support.GetHelpArticle(support.GetHelpArticleRequest(
                id=article_id[:100], language=lang), metadata=meta(request), timeout=timeout)).article
        except grpc.aio.AioRpcError as error:
            if failure_of(error).code in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                return await not_found(request, lang)
            raise
        topics = (await backends.support.ListHelpTopics(support.ListHelpTopicsRequest(language=lang),
                                                        metadata=meta(request), timeout=timeout)).topics
        titles = {t.id: t.title for t in topics}
        related = [(r, titles.get(r, r)) for r in article.related_topic_ids]
        return await render(request, lang, "help_article.html", title_key="help.title", article=article,
                            body=render_markdown(article.body), related=related,
                            updated=_timestamp(article.update_time)[:10])

    # ---- ASL console -----------------------------------------------------------------------------------------------

    async def admin_principal(request: Request, lang: Lang) -> tuple[identity_pb.Principal | None, Response | None]:
        principal = await principal_of(request)
        if principal is None:
            return None, redirect(f"/{lang}/login")
        if principal.must_change_password:
            return None, redirect(f"/{lang}/password/change")
        if identity_pb.ROLE_ADMINISTRATOR not in principal.roles:
            return None, await render(request, lang, "message.html", status=403, title_key="admin.title",
                                      message=translate(lang, "error.generic"))
        return principal, None

    async def admin_page(request: Request, lang: Lang, principal: identity_pb.Principal,
                         form: FormState | None = None, create_form: FormState | None = None, done: str = "",
                         status: int = 200) -> HTMLResponse:
        accounts = (await backends.identity.ListUsers(identity.ListUsersRequest(page_size=200),
                                                      metadata=meta(request, request.cookies.get(SESSION_COOKIE)),
                                                      timeout=timeout)).accounts
        rows = []
        for a in accounts:
            state = identity_pb.AccountState.Name(a.state)
            roles = [identity_pb.Role.Name(r) for r in a.roles]
            actions = ["reset-password"]
            actions += ["unlock"] if state == "ACCOUNT_STATE_BLOCKED" else []
            actions += ["enable"] if state == "ACCOUNT_STATE_DISABLED" else ["disable"]
            actions += ["revoke-administrator"] if "ROLE_ADMINISTRATOR" in roles else ["grant-administrator"]
            rows.append({"account": a, "state": state, "roles": roles, "actions": actions})
        return await render(request, lang, "admin.html", status=status, title_key="admin.title", rows=rows,
                            form=form, create_form=create_form or FormState(values={"language": lang}),
                            done=done, cofor_root=principal.cofor_root, switch_path="/admin")

    @pages.get("/{lang}/admin")
    async def admin(request: Request, lang: Lang, done: str = "", user: str = "") -> Response:
        principal, refused = await admin_principal(request, lang)
        if refused is not None:
            return refused
        assert principal is not None
        message = translate(lang, f"admin.done.{done}", user=user[:20]) if has(f"admin.done.{done}") else ""
        return await admin_page(request, lang, principal, done=message)

    @pages.post("/{lang}/admin/users")
    async def admin_create(request: Request, lang: Lang) -> Response:
        principal, refused = await admin_principal(request, lang)
        if refused is not None:
            return refused
        assert principal is not None
        values, _, ok = await form_of(request)
        names = ("given_name", "family_name", "email", "phone", "job_title", "language", "administrator")
        values = {k: values.get(k, "")[:300] for k in names}
        if not ok:
            return await admin_page(request, lang, principal, create_form=csrf_failed(lang, values), status=403)
        try:
            created = await backends.identity.CreateUser(identity.CreateUserRequest(
                given_name=values["given_name"], family_name=values["family_name"], email=values["email"],
                phone=values["phone"], job_title=values["job_title"], language=values["language"] or lang,
                request_id=str(uuid.uuid4()),
                role=identity_pb.ROLE_ADMINISTRATOR if values["administrator"] else identity_pb.ROLE_USER),
                metadata=meta(request, request.cookies.get(SESSION_COOKIE)), timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return await admin_page(request, lang, principal, status=400,
                                    create_form=failure_form(lang, error, values, set(names)))
        return redirect(f"/{lang}/admin?" + urlencode({"done": "create", "user": created.account.identifier}))

    @pages.post("/{lang}/admin/users/{identifier}/{action}")
    async def admin_action(request: Request, lang: Lang, identifier: str, action: str) -> Response:
        if action not in CONSOLE_ACTIONS:
            return HTMLResponse("Not found", status_code=404)
        principal, refused = await admin_principal(request, lang)
        if refused is not None:
            return refused
        assert principal is not None
        _, _, ok = await form_of(request)
        if not ok:
            return await admin_page(request, lang, principal, form=csrf_failed(lang, {}), status=403)
        method, message = CONSOLE_ACTIONS[action]
        try:
            await getattr(backends.identity, method)(message(identifier=identifier[:20]),
                                                     metadata=meta(request, request.cookies.get(SESSION_COOKIE)),
                                                     timeout=timeout)
        except grpc.aio.AioRpcError as error:
            return await admin_page(request, lang, principal, form=failure_form(lang, error, {}, set()), status=400)
        return redirect(f"/{lang}/admin?" + urlencode({"done": action, "user": identifier[:20]}))

    return pages

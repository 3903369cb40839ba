"""How a page answers: its template in the visitor's language, the CSRF cookie and token, and a form's state
(the values typed, field errors next to their input and in a summary, in the page's language)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import grpc
from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, Response

from kit.client import failure_of

from gateway.dependencies import principal_of
from gateway.errors import service_retry_after
from gateway.i18n import describe, has, page_environment, translate
from gateway.security import CSRF_COOKIE, csrf_ok, new_csrf_token

TEMPLATES = Path(__file__).parents[1] / "templates"
ENV = page_environment(TEMPLATES)


@dataclass
class FormState:
    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    summary: list[tuple[str, str]] = field(default_factory=list)  # (anchor of the input or "", message)
    retry_after: str = ""  # set when a rate limit refused the form: the page answers 429 with Retry-After

    @property
    def refused_only(self) -> bool:
        """A refusal of the whole form (a wrong password, a closed access), no field to fix: said as it is, not
        under "the form has errors"."""
        return not any(anchor for anchor, _ in self.summary)

    def add(self, lang: str, name: str, message: str) -> None:
        if name:
            self.errors.setdefault(name, []).append(message)
            who, _, rest = name.partition(".")
            label = translate(lang, f"f.{name}")
            if who in ("signatory", "administrator"):
                label = f"{translate(lang, f'prefix.{who}')} — {translate(lang, f'f.{rest}')}"
            self.summary.append((field_id(name), translate(lang, "form.error_line", label=label, message=message)))
        else:
            self.summary.append(("", message))


def field_id(name: str) -> str:
    return "f-" + re.sub(r"[^a-zA-Z0-9_-]", "-", name)


def field_name(path: str, known: set[str], aliases: dict[str, str]) -> str:
    """The form input a service's field path names ("" when none)."""
    path = re.sub(r"\[\d+\]$", "", path)
    for prefix in ("presentation.", "account.", "user."):
        if path.startswith(prefix) and path not in known:
            path = path[len(prefix):]
    path = aliases.get(path, path)
    return path if path in known else ""


def error_message(lang: str, code: grpc.StatusCode, reason: str) -> str:
    for key in (f"error.{reason}", f"error.{code.name}"):
        if has(key):
            return translate(lang, key)
    return translate(lang, "error.generic")


def failure_form(lang: str, error: grpc.aio.AioRpcError, values: dict[str, str], known: set[str],
                 aliases: dict[str, str] | None = None) -> FormState:
    """The form again after a service refused it: its values, and the violations next to their inputs."""
    failure = failure_of(error)
    form = FormState(values=values)
    reasons = failure.violation_reasons or [""] * len(failure.field_violations)
    for (path, description), reason in zip(failure.field_violations, reasons, strict=False):
        message = translate(lang, f"reason.{reason}") if reason and has(f"reason.{reason}") else \
            describe(lang, description)
        form.add(lang, field_name(path, known, aliases or {}), message)
    if not failure.field_violations:
        form.add(lang, "", error_message(lang, failure.code, failure.reason))
    if failure.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        form.retry_after = service_retry_after(failure.metadata) or "60"
    return form


def csrf_failed(lang: str, values: dict[str, str]) -> FormState:
    form = FormState(values=values)
    form.add(lang, "", translate(lang, "form.csrf"))
    return form


async def csrf_checked(request: Request) -> bool:
    """Whether the form's hidden ``csrf_token`` matches the CSRF cookie."""
    token = (await request.form()).get("csrf_token")
    return csrf_ok(request, token if isinstance(token, str) else "")


CsrfChecked = Annotated[bool, Depends(csrf_checked)]


def _other_language(request: Request, lang: str, switch_path: str | None) -> str:
    other = "en" if lang == "fr" else "fr"
    if switch_path is not None:
        return f"/{other}{switch_path}"
    path = request.url.path
    if not path.startswith(f"/{lang}/") and path != f"/{lang}":  # outside the language tree (/oidc/…)
        if request.method != "GET":
            return f"/{other}/"
        kept = [(k, v) for k, v in request.query_params.multi_items() if k != "ui_locales"]
        return f"{path}?{urlencode([*kept, ('ui_locales', other)])}"  # the same request, in the other language
    rest = request.url.path[len(lang) + 1:]
    query = request.url.query if request.method == "GET" else ""
    return f"/{other}{rest}" + (f"?{query}" if query else "")


async def render(request: Request, lang: str, template: str, *, status: int = 200, title_key: str = "",
                 form: FormState | None = None, switch_path: str | None = None, **context: Any) -> HTMLResponse:
    """``template`` in ``lang``, with the CSRF token (a fresh cookie when the visitor has none)."""
    token = request.cookies.get(CSRF_COOKIE) or new_csrf_token()
    body = ENV.get_template(template).render(
        lang=lang, csrf_token=token, form=form or FormState(), field_id=field_id,
        switch_url=_other_language(request, lang, switch_path), principal=await principal_of(request),
        title=translate(lang, title_key or "site.name"), path=request.url.path, **context)
    headers = {"Cache-Control": "no-store"}
    if form is not None and form.retry_after:  # whatever the form's own failure status, this one is 429
        status, headers["Retry-After"] = 429, form.retry_after
    response = HTMLResponse(body, status_code=status, headers=headers)
    if not request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, token, path="/", secure=True, httponly=False, samesite="strict")
    return response


async def message(request: Request, lang: str, title_key: str, text: str, *, status: int = 200,
                  **context: Any) -> HTMLResponse:
    """The one-paragraph page (done, refused, not found)."""
    return await render(request, lang, "message.html", status=status, title_key=title_key, message=text, **context)


async def not_found_page(request: Request, lang: str) -> Response:
    """An unknown path: a page in the site's layout and ``lang``, with its menu to find one's way (404)."""
    return await message(request, lang, "error.title", translate(lang, "error.not_found"), status=404)

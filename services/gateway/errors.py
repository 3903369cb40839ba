"""The API's one error body, the HTTP status of each gRPC code, and the exception handlers that answer with them
(JSON under /api/, a small HTML page elsewhere)."""
from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from kit.client import failure_of
from kit.errors import DomainError

from gateway.i18n import LANGUAGES, language_or_default, preferred_language, translate

# google/rpc/code.proto: the HTTP status of each gRPC code.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409, grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
HTTP_CODE = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             409: "ABORTED", 429: "RESOURCE_EXHAUSTED"}


def service_retry_after(metadata: dict[str, str]) -> str:
    """The seconds a service's rate limit says to wait (its ErrorInfo ``retryAfterSeconds``), or ""."""
    retry = metadata.get("retryAfterSeconds", "")
    return retry if retry.isdigit() else ""


class FieldViolationBody(BaseModel):
    field: str = Field(description="the request field, as a dotted path ('' for the request as a whole)")
    description: str
    reason: str = Field(description="a machine-readable reason, e.g. PASSWORD_TOO_SHORT ('' when none)")


class ErrorDetail(BaseModel):
    code: str = Field(description="the gRPC status name, e.g. INVALID_ARGUMENT")
    reason: str = Field(description="the ErrorInfo reason, e.g. INVALID_CREDENTIALS")
    message: str
    field_violations: list[FieldViolationBody]
    metadata: dict[str, str] = Field(description="ErrorInfo metadata, e.g. retryAfterSeconds")


class ErrorBody(BaseModel):
    """Every 4xx and 5xx of the API (AIP-193 in JSON)."""
    error: ErrorDetail


def error_json(status: int, code: str, reason: str, message: str, violations: list[dict[str, str]] | None = None,
               metadata: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one place the API's error body is built."""
    return JSONResponse(status_code=status, headers=headers, content={"error": {
        "code": code, "reason": reason, "message": message, "field_violations": violations or [],
        "metadata": metadata or {}}})


def error_body(code: grpc.StatusCode, reason: str, message: str, violations: list[dict[str, str]],
               metadata: dict[str, str]) -> JSONResponse:
    retry = service_retry_after(metadata)
    return error_json(HTTP_STATUS.get(code, 500), code.name, reason, message, violations, metadata,
                      {"Retry-After": retry} if retry else None)


class Respond(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by a dependency that answers in the handler's stead (a redirect, a refusal page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def page(title: str, body: str, lang: str = "fr") -> str:
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")


def _error_page(path: str, code: grpc.StatusCode) -> HTMLResponse:
    key = "error.UNAVAILABLE" if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) \
        else "error.generic"
    return _refusal_page(path, key, HTTP_STATUS.get(code, 500))


def _refusal_page(path: str, key: str, status: int, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A small page in the language of ``path`` (French when it names none)."""
    lang = language_or_default(path.strip("/").split("/", 1)[0])
    return HTMLResponse(page(translate(lang, "error.title"), f"<p>{html.escape(translate(lang, key))}</p>", lang),
                        status_code=status, headers=headers)


def allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.router.routes):  # through the included routers
        if route.methods and route.path and compile_path(route.path)[0].match(request.url.path):
            methods |= route.methods
    return ", ".join(sorted(methods))


async def grpc_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, grpc.aio.AioRpcError)
    failure = failure_of(error)
    if not request.url.path.startswith("/api/"):  # a page whose service is down: a page, in its language
        return _error_page(request.url.path, failure.code)
    reasons = failure.violation_reasons or [""] * len(failure.field_violations)
    return error_body(failure.code, failure.reason, failure.message if failure.code != grpc.StatusCode.INTERNAL
                      else "internal error", [{"field": f, "description": d, "reason": r} for (f, d), r in
                                              zip(failure.field_violations, reasons, strict=False)], failure.metadata)


async def domain_error(_: Request, error: Exception) -> Response:
    assert isinstance(error, DomainError)
    violations = [{"field": v.field, "description": v.description, "reason": v.reason}
                  for v in getattr(error, "violations", []) if hasattr(v, "field")]
    return error_body(error.code, error.reason, error.message, violations, error.metadata)


async def bad_request(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if not request.url.path.startswith("/api/"):
        too_long = any(e["type"] == "string_too_long" for e in error.errors())
        return _refusal_page(request.url.path, "error.too_long" if too_long else "error.generic", 400)
    violations = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "description": e["msg"],
                   "reason": ""} for e in error.errors()]
    return error_body(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", "invalid request", violations, {})


async def http_error(request: Request, error: Exception) -> Response:
    """FastAPI's own refusals (a body that does not parse, an unknown path or method) in the API's error shape."""
    assert isinstance(error, StarletteHTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 405:
        headers["Allow"] = allowed_methods(request)
    if not request.url.path.startswith("/api/"):  # a page: an HTML answer, not JSON
        if error.status_code == 404 and (answer := request.app.state.not_found_page):
            first = request.url.path.strip("/").split("/", 1)[0]  # the page's language, else the browser's
            lang = first if first in LANGUAGES else preferred_language(request.headers.get("accept-language", ""))
            return await answer(request, lang)  # type: ignore[no-any-return]
        return _refusal_page(request.url.path, "error.not_found" if error.status_code == 404 else "error.generic",
                             error.status_code, headers)
    code = HTTP_CODE.get(error.status_code, "INVALID_ARGUMENT" if error.status_code < 500 else "INTERNAL")
    reason = {400: "INVALID_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(
        error.status_code, f"HTTP_{error.status_code}")
    return error_json(error.status_code, code, reason, str(error.detail).lower(), headers=headers)


async def respond(_: Request, signal: Exception) -> Response:
    assert isinstance(signal, Respond)
    return signal.response


def install(app: FastAPI, not_found_page: Callable[[Request, str], Awaitable[Response]] | None = None) -> None:
    """The handlers above, on ``app``; ``not_found_page(request, lang)``: the page of an unknown path, in the
    site's layout (the pages' own; a small page without it)."""
    app.state.not_found_page = not_found_page
    handlers: dict[Any, Any] = {grpc.aio.AioRpcError: grpc_error, DomainError: domain_error,
                                RequestValidationError: bad_request, StarletteHTTPException: http_error,
                                Respond: respond}
    for kind, handler in handlers.items():
        app.add_exception_handler(kind, handler)

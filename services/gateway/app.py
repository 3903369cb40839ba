"""The HTTP front: the JSON API (OpenAPI at /openapi.json), health, the portal pages and, in development,
the mailbox of the local SMTP sink."""
from __future__ import annotations

import html
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from grpc_health.v1 import health_pb2, health_pb2_grpc
from starlette.exceptions import HTTPException as StarletteHTTPException

from kit.client import failure_of
from kit.errors import DomainError
from kit.mailsink import read_mailbox

from gateway import api, pages
from gateway.clients import Backends
from gateway.i18n import language_or_default, translate
from gateway.security import GatewayMiddleware, service_retry_after
from gateway.settings import GatewaySettings

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


def error_body(code: grpc.StatusCode, reason: str, message: str, violations: list[dict[str, str]],
               metadata: dict[str, str]) -> JSONResponse:
    retry = service_retry_after(metadata)
    return JSONResponse(status_code=HTTP_STATUS.get(code, 500), content={"error": {
        "code": code.name, "reason": reason, "message": message, "field_violations": violations,
        "metadata": metadata}}, headers={"Retry-After": retry} if retry else None)


def create_app(settings: GatewaySettings) -> FastAPI:
    backends = Backends(settings)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        backends.open()  # in the server's event loop: gRPC channels belong to the loop that made them
        yield
        await backends.close()

    # The API's description (/docs, /openapi.json) is for development: production publishes none (review 16).
    hidden = {"docs_url": None, "redoc_url": None, "openapi_url": None} if settings.environment == "production" else {}
    app = FastAPI(title="B2B supplier portal gateway", version="1.0.0", lifespan=lifespan, **hidden,
                  description="HTTP/JSON front of the portal's gRPC services. Unsafe methods need the token of "
                              "GET /api/v1/csrf in the X-CSRF-Token header; the session lives in an HttpOnly cookie.")
    app.add_middleware(GatewayMiddleware, settings=settings)
    app.include_router(api.router(backends, settings))

    @app.exception_handler(grpc.aio.AioRpcError)
    async def grpc_error(request: Request, error: grpc.aio.AioRpcError) -> Response:
        failure = failure_of(error)
        if not request.url.path.startswith("/api/"):  # a page whose service is down: a page, in its language
            return _error_page(request.url.path, failure.code)
        reasons = failure.violation_reasons or [""] * len(failure.field_violations)
        return error_body(failure.code, failure.reason, failure.message if failure.code != grpc.StatusCode.INTERNAL
                          else "internal error", [{"field": f, "description": d, "reason": r} for (f, d), r in
                                                  zip(failure.field_violations, reasons)], failure.metadata)

    @app.exception_handler(DomainError)
    async def domain_error(_: Request, error: DomainError) -> JSONResponse:
        violations = [{"field": v.field, "description": v.description, "reason": v.reason}
                      for v in getattr(error, "violations", []) if hasattr(v, "field")]
        return error_body(error.code, error.reason, error.message, violations, error.metadata)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, error: RequestValidationError) -> JSONResponse:
        violations = [{"field": ".".join(str(p) for p in e["loc"] if p != "body"), "description": e["msg"],
                       "reason": ""} for e in error.errors()]
        return error_body(grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", "invalid request", violations, {})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        # FastAPI's own refusals (a body that does not parse, an unknown path or method) in the API's error shape.
        if not request.url.path.startswith("/api/"):  # a page: a small HTML answer, not JSON
            return HTMLResponse(_page(str(error.status_code), f"<p>{html.escape(str(error.detail))}</p>"),
                                status_code=error.status_code, headers=error.headers)
        code = HTTP_CODE.get(error.status_code, "INVALID_ARGUMENT" if error.status_code < 500 else "INTERNAL")
        reason = {400: "INVALID_REQUEST", 404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(
            error.status_code, f"HTTP_{error.status_code}")
        return JSONResponse(status_code=error.status_code, headers=error.headers, content={"error": {
            "code": code, "reason": reason, "message": str(error.detail).lower(), "field_violations": [],
            "metadata": {}}})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        states = {}
        for name, channel in zip(("cofor", "identity", "support"), backends.channels):
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                states[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as error:
                states[name] = error.code().name
        ready = all(s == "SERVING" for s in states.values())
        return JSONResponse(status_code=200 if ready else 503, content=states)

    if settings.environment == "development":
        @app.get("/dev/mailbox", response_class=HTMLResponse, include_in_schema=False)
        async def mailbox() -> str:
            root = Path(os.environ.get("PORTAL_VAR_DIR", "var")) / "mail"
            rows = []
            for mail in reversed(read_mailbox(root)):
                body = mail.get_body(preferencelist=("plain",))
                text = body.get_content() if body else ""
                rows.append(f"<article><h2>{html.escape(str(mail['Subject']))}</h2><p>To: "
                            f"{html.escape(str(mail['To']))}</p><pre>{html.escape(text)}</pre></article>")
            return _page("Boîte aux lettres de développement", "".join(rows) or "<p>Aucun e-mail.</p>")

    # The portal's pages come last: their /{lang}/... paths must not shadow the routes above.
    app.mount("/static", StaticFiles(directory=Path(pages.__file__).parent / "static"), name="static")
    app.include_router(pages.router(backends, settings))  # `/` redirects to `/fr/`

    return app


def _error_page(path: str, code: grpc.StatusCode) -> HTMLResponse:
    lang = language_or_default(path.strip("/").split("/", 1)[0])
    key = "error.UNAVAILABLE" if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED) \
        else "error.generic"
    return HTMLResponse(_page(translate(lang, "error.title"), f"<p>{html.escape(translate(lang, key))}</p>", lang),
                        status_code=HTTP_STATUS.get(code, 500))


def _page(title: str, body: str, lang: str = "fr") -> str:
    return (f"<!doctype html><html lang='{lang}'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")

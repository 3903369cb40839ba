"""What every HTTP request goes through: request id, size limit, per-client rate limit, CSRF, headers."""
from __future__ import annotations

import hmac
import math
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from starlette.middleware.base import BaseHTTPMiddleware

from gateway.clients import client_address
from gateway.errors import error_json as error
from gateway.settings import GatewaySettings

CSRF_COOKIE = "__Host-portal_csrf"
CSRF_HEADER = "x-csrf-token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


class FixedWindow:
    """Per-client request counts for the current minute (this process only; the services count their own)."""

    SECONDS = 60

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._window = 0
        self._counts: dict[str, int] = {}

    def allow(self, client: str) -> bool:
        window = int(time.time() // self.SECONDS)
        if window != self._window:
            self._window, self._counts = window, {}
        self._counts[client] = self._counts.get(client, 0) + 1
        return self._counts[client] <= self.limit

    def retry_after(self) -> int:
        """Whole seconds until the current window ends."""
        return max(1, math.ceil(self.SECONDS - time.time() % self.SECONDS))


def csrf_ok(request: Request, form_token: str | None = None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    presented = request.headers.get(CSRF_HEADER) or form_token or ""
    return bool(cookie) and hmac.compare_digest(cookie.encode(), presented.encode())


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


class GatewayMiddleware(BaseHTTPMiddleware):
    def __init__(self, app: object, settings: GatewaySettings) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.settings = settings
        self.window = FixedWindow(settings.rate_limit_per_minute)

    async def dispatch(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        request.state.request_id = str(uuid.uuid4())
        response = await self._checked(request, call_next)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if self.settings.environment == "production":
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        if request.url.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        response.headers["X-Request-Id"] = request.state.request_id
        return response

    async def _checked(self, request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.settings.max_body_bytes):
            return error(413, "RESOURCE_EXHAUSTED", "REQUEST_TOO_LARGE", "the request body is too large")
        if request.method in UNSAFE and length is None and "chunked" in request.headers.get("transfer-encoding", ""):
            return error(411, "INVALID_ARGUMENT", "LENGTH_REQUIRED", "send the body with a Content-Length")
        if request.url.path not in ("/healthz", "/readyz") and \
                not self.window.allow(client_address(request, self.settings.trusted_proxies)):
            refused = error(429, "RESOURCE_EXHAUSTED", "RATE_LIMITED", "too many requests; try again later")
            refused.headers["Retry-After"] = str(self.window.retry_after())
            return refused
        if request.method in UNSAFE and request.url.path.startswith("/api/") and not csrf_ok(request):
            return error(403, "PERMISSION_DENIED", "CSRF_TOKEN_INVALID",
                         f"send the token of GET /api/v1/csrf in the {CSRF_HEADER} header")
        return await call_next(request)

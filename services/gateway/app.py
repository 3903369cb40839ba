"""The HTTP front: the JSON API (OpenAPI at /openapi.json), health, the portal pages and, in development,
the mailbox of the local SMTP sink."""
from __future__ import annotations

from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gateway import api, errors, oidc_endpoints, operations, pages
from gateway.clients import Backends
from gateway.security import GatewayMiddleware
from gateway.settings import GatewaySettings

STATIC = Path(__file__).parent / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    app.state.backends.open()  # in the server's event loop: gRPC channels belong to the loop that made them
    yield
    await app.state.backends.close()


def create_app(settings: GatewaySettings) -> FastAPI:
    # The API's description (/docs, /openapi.json) is for development: production publishes none (review 16).
    published = settings.environment != "production"
    app = FastAPI(title="B2B supplier portal gateway", version="1.0.0", lifespan=lifespan,
                  docs_url="/docs" if published else None, redoc_url="/redoc" if published else None,
                  openapi_url="/openapi.json" if published else None,
                  description="HTTP/JSON front of the portal's gRPC services. Unsafe methods need the token of "
                              "GET /api/v1/csrf in the X-CSRF-Token header; the session lives in an HttpOnly cookie. "
                              "Every error answers the same body (ErrorBody); invalid input is a 400.")
    app.state.settings, app.state.backends = settings, Backends(settings)
    app.add_middleware(GatewayMiddleware, settings=settings)
    errors.install(app, not_found_page=pages.not_found_page)
    app.include_router(api.router)
    app.include_router(operations.router)
    oidc_endpoints.install(app)  # the OpenID Connect provider's (ARCHITECTURE §14; the browser's: pages/sso.py)
    if settings.environment == "development":
        app.include_router(operations.development)
    # The portal's pages come last: their /{lang}/... paths must not shadow the routes above.
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)  # `/` redirects to `/fr/`
    return app

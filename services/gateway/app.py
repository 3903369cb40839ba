"""The HTTP front: health, the get-access analysis (JSON), the home page and, in development, the mailbox.

Long-lived gRPC channels are opened once at start-up; the end user's address is forwarded to the services.
"""
from __future__ import annotations

import html
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from google.protobuf.json_format import MessageToDict
from grpc_health.v1 import health_pb2, health_pb2_grpc
from portal.cofor.v1 import cofor_service_pb2 as cofor_api
from portal.cofor.v1 import cofor_service_pb2_grpc as cofor_grpc
from pydantic import BaseModel, Field

from kit.auth import CLIENT_ADDRESS_KEY, SERVICE_TOKEN_KEY
from kit.client import failure_of
from kit.mailsink import read_mailbox

from gateway.settings import GatewaySettings

# google/rpc/code.proto: the HTTP status of each gRPC code.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400, grpc.StatusCode.FAILED_PRECONDITION: 400,
    grpc.StatusCode.OUT_OF_RANGE: 400, grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403, grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.ABORTED: 409, grpc.StatusCode.RESOURCE_EXHAUSTED: 429, grpc.StatusCode.CANCELLED: 499,
    grpc.StatusCode.UNIMPLEMENTED: 501, grpc.StatusCode.UNAVAILABLE: 503, grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}


class AnalyzeBody(BaseModel):
    cofor: str = Field(max_length=40)
    site_code: str = Field(default="", max_length=10)


def create_app(settings: GatewaySettings) -> FastAPI:
    channels: dict[str, grpc.aio.Channel] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for name in ("cofor", "identity", "support"):
            channels[name] = grpc.aio.insecure_channel(getattr(settings, f"{name}_target"))
        yield
        for channel in channels.values():
            await channel.close()

    app = FastAPI(title="B2B supplier portal gateway", version="0.1.0", lifespan=lifespan)

    def metadata(request: Request) -> list[tuple[str, str]]:
        client = request.client.host if request.client else ""
        return [(SERVICE_TOKEN_KEY, settings.service_token.get_secret_value()), (CLIENT_ADDRESS_KEY, client)]

    @app.exception_handler(grpc.aio.AioRpcError)
    async def grpc_error(_: Request, error: grpc.aio.AioRpcError) -> JSONResponse:
        failure = failure_of(error)
        return JSONResponse(status_code=HTTP_STATUS.get(failure.code, 500), content={"error": {
            "code": failure.code.name, "reason": failure.reason, "message": failure.message,
            "field_violations": [{"field": f, "description": d} for f, d in failure.field_violations]}})

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        states = {}
        for name, channel in channels.items():
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
                states[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as error:
                states[name] = error.code().name
        ready = all(s == "SERVING" for s in states.values())
        return JSONResponse(status_code=200 if ready else 503, content=states)

    @app.post("/api/v1/access:analyze")
    async def analyze(body: AnalyzeBody, request: Request) -> dict[str, Any]:
        stub = cofor_grpc.CoforServiceStub(channels["cofor"])
        reply = await stub.AnalyzeAccess(cofor_api.AnalyzeAccessRequest(cofor=body.cofor, site_code=body.site_code),
                                         metadata=metadata(request), timeout=10)
        return MessageToDict(reply, preserving_proto_field_name=True)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def home() -> str:
        return _page("Portail B2B fournisseurs", "<p>Bienvenue sur le portail B2B des fournisseurs.</p>"
                     "<p>Les pages du portail arrivent avec la passerelle complète ; l'API JSON est documentée "
                     "sur <a href='/docs'>/docs</a>.</p>")

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

    return app


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")

"""The routes for operators: liveness, readiness (every service SERVING), and in development the mailbox of
the local SMTP sink."""
from __future__ import annotations

import html
import os
from pathlib import Path

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.dev_mailbox import read_mailbox
from gateway.errors import page

router = APIRouter(include_in_schema=False)
development = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    states = {}
    for name, channel in zip(("cofor", "identity", "support"), request.app.state.backends.channels, strict=False):
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
            states[name] = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
        except grpc.aio.AioRpcError as error:
            states[name] = error.code().name
    ready = all(s == "SERVING" for s in states.values())
    return JSONResponse(status_code=200 if ready else 503, content=states)


@development.get("/dev/mailbox", response_class=HTMLResponse)
async def mailbox() -> str:
    root = Path(os.environ.get("PORTAL_VAR_DIR", "var")) / "mail"
    rows = []
    for mail in reversed(read_mailbox(root)):
        body = mail.get_body(preferencelist=("plain",))
        text = body.get_content() if body else ""
        rows.append(f"<article><h2>{html.escape(str(mail['Subject']))}</h2><p>To: "
                    f"{html.escape(str(mail['To']))}</p><pre>{html.escape(text)}</pre></article>")
    return page("Boîte aux lettres de développement", "".join(rows) or "<p>Aucun e-mail.</p>")

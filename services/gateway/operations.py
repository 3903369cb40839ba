"""The routes for operators: liveness, readiness (every service SERVING), and in development the mailbox of
the local SMTP sink (app.py mounts ``development`` only when ENVIRONMENT is development: never in production)."""
from __future__ import annotations

import grpc
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gateway.dev_mailbox import mail_directory, read_mail, summaries
from gateway.i18n import preferred_language, translate
from gateway.pages.rendering import message, render

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


@development.get("/dev/mailbox")
async def mailbox(request: Request, to: str = "", ui_locales: str = "") -> Response:
    """Every captured mail, newest first (only those to an address containing ``to``)."""
    lang = preferred_language(request.headers.get("accept-language", ""), *ui_locales.split())
    mails = summaries(mail_directory(), to[:200])
    return await render(request, lang, "mailbox.html", title_key="mailbox.title", mails=mails, to=to[:200])


@development.get("/dev/mailbox/{mail_id}")
async def mailbox_mail(request: Request, mail_id: str, ui_locales: str = "") -> Response:
    """One captured mail: its headers, its text with clickable web addresses, its HTML as source, its attachments."""
    lang = preferred_language(request.headers.get("accept-language", ""), *ui_locales.split())
    mail = read_mail(mail_directory(), mail_id)
    if mail is None:
        return await message(request, lang, "mailbox.title", translate(lang, "mailbox.not_found"), status=404)
    return await render(request, lang, "mailbox_mail.html", title_key="mailbox.mail_title", mail=mail)

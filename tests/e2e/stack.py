"""The whole system in one test process: the three services, the gateway (uvicorn), NATS, an SMTP sink."""
from __future__ import annotations

import asyncio
import random
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import grpc
import httpx
import nats
import uvicorn
from portal.cofor.v1 import cofor_service_pb2_grpc
from sqlalchemy import select

from kit import migrations
from kit.app import ServiceApp
from kit.client import ServiceClient
from kit.sealed import SealKeyPair
from testing.authenticator import Authenticator
from testing.mailsink import MailSink
from testing.processes import NatsServer, free_port
from testing.streams import wait_for

import cofor.bootstrap
import identity.bootstrap
import support.bootstrap
from cofor.settings import CoforSettings
from gateway.app import create_app
from gateway.settings import GatewaySettings
from identity.adapters.orm import companies
from identity.settings import IdentitySettings
from support.settings import SupportSettings

# The gateway, an operator holding every role, and one caller per single role (to prove each role is kept apart).
CREDENTIALS = ("gateway:public:gw-token,operator:purchasing+support+internal:ops-token,"
               "erp:internal:erp-token,buyer:purchasing:buyer-token,helpdesk:support:helpdesk-token")


class Browser:
    """A visitor: keeps the cookies the gateway sets (Secure ones too, over this plain-HTTP test server) and
    sends the CSRF token with every unsafe request, as the portal's pages do. Each has its own address, which a
    proxy in front would forward (``X-Forwarded-For``): a gateway started with ``trusted_proxies=1`` sees each
    visitor as its own client; by default the gateway ignores it and every visitor shares the loopback address."""

    def __init__(self, client: httpx.AsyncClient, address: str | None = None) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.address = address or f"198.18.{random.randrange(256)}.{random.randrange(1, 255)}"

    def _remember(self, response: httpx.Response) -> httpx.Response:
        for cookie in response.cookies.jar:
            self.cookies[cookie.name] = cookie.value or ""
        for header in response.headers.get_list("set-cookie"):
            if "Max-Age=0" in header or "expires=Thu, 01 Jan 1970" in header:
                self.cookies.pop(header.split("=", 1)[0], None)
        return response

    def _headers(self) -> dict[str, str]:
        headers = {"cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        headers["x-forwarded-for"] = self.address
        if "__Host-portal_csrf" in self.cookies:
            headers["x-csrf-token"] = self.cookies["__Host-portal_csrf"]
        return headers

    async def get(self, path: str, **kwargs: object) -> httpx.Response:
        return self._remember(await self.client.get(path, headers=self._headers(), **kwargs))  # type: ignore[arg-type]

    async def send(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        if "__Host-portal_csrf" not in self.cookies:
            await self.get("/api/v1/csrf")
        headers = {**self._headers(), **kwargs.pop("headers", {})}  # type: ignore[dict-item]
        return self._remember(await self.client.request(method, path, headers=headers, **kwargs))  # type: ignore[arg-type]

    async def post(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.send("POST", path, **kwargs)

    async def patch(self, path: str, **kwargs: object) -> httpx.Response:
        return await self.send("PATCH", path, **kwargs)


@dataclass
class Stack:
    web: httpx.AsyncClient
    cofor: ServiceClient  # purchasing, through gRPC (as portalctl does)
    sink: MailSink
    apps: list[ServiceApp]
    app_codes: Authenticator = field(default_factory=Authenticator)  # the people's authenticator apps

    async def app_code(self, identifier: str) -> str:
        """A code of the person's app the portal has not seen yet (waits for the next 30-second step if needed)."""
        return await self.app_codes.next_code(identifier)

    def browser(self, address: str | None = None) -> Browser:
        return Browser(self.web, address)

    async def mail(self, address: str, subject_part: str = "", count: int = 1) -> EmailMessage:
        async def probe() -> list[EmailMessage]:
            found = [m.message for m in self.sink.received
                     if address in m.rcpt_tos and subject_part in str(m.message["Subject"])]
            return found if len(found) >= count else []
        return (await wait_for(probe, timeout=20))[-1]

    async def access_open(self, cofor_root: str) -> bool:
        """Whether identity has heard that the company's portal access is open (its local projection)."""
        async with self.apps[1].database.session(readonly=True) as s, s.begin():
            return bool((await s.execute(select(companies.c.access_open).where(
                companies.c.cofor_root == cofor_root))).scalar())

    @staticmethod
    def find(pattern: str, mail: EmailMessage) -> str:
        match = re.search(pattern, mail.get_content())
        assert match, f"{pattern} not in:\n{mail.get_content()}"
        return match.group(1)


@asynccontextmanager
async def running_stack(tmp: Path, nats_server: NatsServer, *, trusted_proxies: int = 0) -> AsyncIterator[Stack]:
    seal = SealKeyPair.generate()
    nc = await nats_server.connect()  # the test administrator: it resets streams and consumers
    js = nc.jetstream()
    for stream in ("COFOR", "IDENTITY", "SUPPORT", "NOTIFICATION"):
        await js.purge_stream(stream)
    for stream, durable in (("COFOR", "identity-cofor-events"), ("IDENTITY", "cofor-identity-events"),
                            ("NOTIFICATION", "support-mailer")):
        try:
            await js.delete_consumer(stream, durable)
        except nats.js.errors.NotFoundError:
            pass
    sink = MailSink(tmp / "mail").start()
    common: dict[str, Any] = dict(grpc_port=0, service_credentials=CREDENTIALS, shutdown_grace_seconds=0.5,
                                  relay_poll_seconds=0.2)
    urls = {name: f"sqlite+aiosqlite:///{tmp / f'{name}.sqlite3'}" for name in ("cofor", "identity", "support")}
    port = free_port()  # known before identity starts: passkeys are accepted from the pages' origin only
    for name, module in (("cofor", cofor.bootstrap), ("identity", identity.bootstrap), ("support", support.bootstrap)):
        await migrations.upgrade(urls[name], module.MIGRATIONS)
    apps = [
        cofor.bootstrap.build_app(CoforSettings(database_url=urls["cofor"], mail_seal_public_key=seal.public_key,
                                                **common, **nats_server.settings("cofor"))),
        identity.bootstrap.build_app(IdentitySettings(database_url=urls["identity"], argon2_memory_kib=1024,
                                                      argon2_time_cost=1, mail_seal_public_key=seal.public_key,
                                                      webauthn_origins=f"http://localhost:{port}", oidc_issuer=f"http://localhost:{port}",
                                                      **common, **nats_server.settings("identity"))),
        support.bootstrap.build_app(SupportSettings(database_url=urls["support"], smtp_port=sink.port,
                                                    mail_seal_private_key=seal.private_key, mail_poll_seconds=0.2,
                                                    portal_public_url="https://portal.test", **common,
                                                    **nats_server.settings("support"))),
    ]
    for app in apps:
        await app.start()
    gateway = create_app(GatewaySettings(service_token="gw-token", cofor_target=apps[0].target,
                                         identity_target=apps[1].target, support_target=apps[2].target,
                                         gateway_port=port, trusted_proxies=trusted_proxies))
    server = uvicorn.Server(uvicorn.Config(gateway, host="127.0.0.1", port=port, log_config=None, access_log=False,
                                           lifespan="on"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    channel = grpc.aio.insecure_channel(apps[0].target)
    web = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=20)
    try:
        yield Stack(web, ServiceClient(cofor_service_pb2_grpc.CoforServiceStub(channel), {"operator": "ops-token"},
                                       default_caller="operator"), sink, apps)
    finally:
        await web.aclose()
        await channel.close()
        server.should_exit = True
        await serving
        for app in apps:
            await app.stop()
        sink.stop()
        await nc.close()

"""Applications signing people in with the portal, for the tests (ARCHITECTURE §14): registered as an operator
would (gRPC, the operator's credential), then driven by Authlib's OAuth client (a relying party nobody here
wrote) or by hand where a test must send what no well-behaved client would."""
from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import grpc
import uvicorn
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.jwk import KeySet
from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from kit.auth import SERVICE_TOKEN_KEY
from testing.processes import free_port

from .stack import Browser, Stack

CALLBACK = "https://quality.supplier-apps.example/callback"  # never reached: the portal's answer is read
LOGGED_OUT = "https://quality.supplier-apps.example/logged-out"


async def provider(stack: Stack, method: str, request: Any) -> Any:
    """A call to OidcProviderService as an operator (portalctl's credential)."""
    async with grpc.aio.insecure_channel(stack.apps[1].target) as channel:
        stub = pb_grpc.OidcProviderServiceStub(channel)
        return await getattr(stub, method)(request, metadata=[(SERVICE_TOKEN_KEY, "ops-token")], timeout=20)


@dataclass
class App:
    client_id: str
    secret: str
    issuer: str
    metadata: dict[str, Any]
    callback: str = CALLBACK

    def client(self, **kwargs: Any) -> AsyncOAuth2Client:
        """Authlib's client for this application (HTTP Basic with the secret; none for a public one)."""
        method = "client_secret_basic" if self.secret else "none"
        return AsyncOAuth2Client(self.client_id, self.secret or None, scope="openid profile email",
                                 redirect_uri=self.callback, code_challenge_method="S256",
                                 token_endpoint_auth_method=method, **kwargs)

    async def keys(self, web: Any) -> KeySet:
        return KeySet.import_key_set((await web.get(self.metadata["jwks_uri"])).json())

    def authorization(self, **extra: str) -> tuple[str, str, str, str]:
        """(URL, state, nonce, code verifier) of a fresh authorization request."""
        verifier, nonce = generate_token(48), generate_token(20)
        url, state = self.client().create_authorization_url(self.metadata["authorization_endpoint"],
                                                            code_verifier=verifier, nonce=nonce, **extra)
        return url, state, nonce, verifier


async def register(stack: Stack, *, auth_method: str = "client_secret_basic", site: str = "",
                   **fields: Any) -> App:
    """An application registered with the callback and logged-out pages of ``site`` (default: CALLBACK and
    LOGGED_OUT, which nothing serves)."""
    client_id = f"quality-{secrets.token_hex(4)}"
    callback, logged_out = (f"{site}/callback", f"{site}/logged-out") if site else (CALLBACK, LOGGED_OUT)
    answer = await provider(stack, "CreateOidcClient", pb.CreateOidcClientRequest(client=pb.OidcClient(
        client_id=client_id, name="Qualité fournisseurs", token_endpoint_auth_method=auth_method,
        redirect_uris=[callback], post_logout_redirect_uris=[logged_out], **fields)))
    metadata = (await stack.web.get("/.well-known/openid-configuration")).json()
    return App(client_id, answer.client_secret, metadata["issuer"], metadata, callback)


@dataclass
class Site:
    """An application's site: its address, the URLs the browser reached there, the forms posted to it."""
    base: str
    reached: list[str]
    posted: list[dict[str, str]]


@asynccontextmanager
async def application_site() -> AsyncIterator[Site]:
    """An application's site on 127.0.0.1 (another site than the portal's localhost) that records every URL the
    browser reaches there (where the portal sends people back: a browser follows redirects there for real) and
    every form posted to it (back-channel logouts)."""
    site = Site("", [], [])

    async def page(request: Request) -> Response:
        site.reached.append(str(request.url))
        if request.method == "POST":
            site.posted.append({k: str(v) for k, v in (await request.form()).items()})
        return HTMLResponse("<p>application</p>")

    port = free_port()
    app = Starlette(routes=[Route("/{path:path}", page, methods=["GET", "POST"])])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    site.base = f"http://127.0.0.1:{port}"
    try:
        yield site
    finally:
        server.should_exit = True
        await serving


def local(url: str) -> str:
    """An endpoint of the discovery document, as the tests' HTTP client reaches it (the issuer is on localhost)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


async def answer_to(browser: Browser, url: str) -> dict[str, str]:
    """The parameters the portal sends back to the application's redirect URI for this authorization request, in
    a browser without script (the portal's hops that need none are followed)."""
    path = local(url)
    for _ in range(5):
        reply = await browser.get(path)
        if reply.status_code in (302, 303) and reply.headers["location"].startswith(CALLBACK):
            return {k: v[0] for k, v in parse_qs(urlsplit(reply.headers["location"]).query).items()}
        if reply.status_code == 200 and 'http-equiv="refresh"' in reply.text:  # the portal's own bounce page
            path = reply.text.split('content="0;url=', 1)[1].split('"', 1)[0].replace("&amp;", "&")
            continue
        raise AssertionError(f"{path}: {reply.status_code} {reply.headers.get('location')} {reply.text[:300]}")
    raise AssertionError("no answer after five hops")


def changed(url: str, **changes: str | None) -> str:
    """The authorization URL with some parameters replaced (None: removed), as the tests' client reaches it."""
    parts = urlsplit(url)
    values = {k: v[0] for k, v in parse_qs(parts.query).items()}
    values.update({k: v for k, v in changes.items() if v is not None})
    return parts.path + "?" + urlencode({k: v for k, v in values.items() if changes.get(k, "") is not None})


def claims_of(token: str, keys: KeySet) -> dict[str, Any]:
    return dict(jwt.decode(token, keys).claims)


def pkce_pair() -> tuple[str, str]:
    verifier = generate_token(48)
    return verifier, create_s256_code_challenge(verifier)


def query(**values: str) -> str:
    return urlencode(values)


def as_json(text: str) -> dict[str, Any]:
    return dict(json.loads(text))

"""A supplier's quality application that signs people in with the portal (ARCHITECTURE §14): what `make run` starts
beside the portal so a newcomer sees single sign-on working in the browser, and what the tests use as the
application that receives back-channel logouts. Development only (tools/ never ships in the image).

It is an ordinary confidential client: Authlib's OAuth client for code + PKCE, joserfc to check the ID token and
the logout tokens against the provider's JWKS. Its sessions live in memory."""
from __future__ import annotations

import html
import json
import os
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
DEMO_CLIENT_ID = "quality-demo"
COOKIE = "quality_session"
PENDING = "quality_pending"


@dataclass
class DemoSettings:
    issuer: str
    client_id: str
    client_secret: str
    base_url: str  # where this application is reached, e.g. http://127.0.0.1:8090


@dataclass
class DemoState:
    sessions: dict[str, dict[str, Any]] = field(default_factory=dict)  # cookie → signed-in person
    pending: dict[str, dict[str, str]] = field(default_factory=dict)  # state → verifier, nonce
    logouts: list[dict[str, Any]] = field(default_factory=list)  # back-channel logout tokens received (claims)
    metadata: dict[str, Any] = field(default_factory=dict)
    keys: KeySet | None = None


def page(title: str, body: str) -> HTMLResponse:
    return HTMLResponse(f"<!doctype html><html lang='fr'><head><meta charset='utf-8'><title>{html.escape(title)}"
                        f"</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>",
                        headers={"Cache-Control": "no-store"})


def create_app(settings: DemoSettings) -> Starlette:
    state = DemoState()
    callback = settings.base_url.rstrip("/") + "/callback"

    def client() -> AsyncOAuth2Client:
        return AsyncOAuth2Client(settings.client_id, settings.client_secret, scope="openid profile email",
                                 redirect_uri=callback, code_challenge_method="S256")

    async def provider() -> dict[str, Any]:
        if not state.metadata:
            async with httpx.AsyncClient(timeout=10) as http:
                state.metadata = (await http.get(settings.issuer + "/.well-known/openid-configuration")).json()
        return state.metadata

    async def keys(refresh: bool = False) -> KeySet:
        if state.keys is None or refresh:
            async with httpx.AsyncClient(timeout=10) as http:
                state.keys = KeySet.import_key_set((await http.get((await provider())["jwks_uri"])).json())
        return state.keys

    async def verified(token: str, typ: str) -> dict[str, Any]:
        try:
            decoded = jwt.decode(token, await keys(), algorithms=["ES256", "RS256"])
        except (JoseError, ValueError):  # an unknown key: the provider rotated; read its keys once more
            decoded = jwt.decode(token, await keys(refresh=True), algorithms=["ES256", "RS256"])
        if decoded.header.get("typ", "JWT").lower() != typ:
            raise JoseError(f"expected a {typ}")
        jwt.JWTClaimsRegistry(iss={"essential": True, "value": settings.issuer},
                              aud={"essential": True, "value": settings.client_id},
                              iat={"essential": True}).validate(decoded.claims)
        return dict(decoded.claims)

    async def home(request: Request) -> Response:
        person = state.sessions.get(request.cookies.get(COOKIE, ""))
        if person is None:
            return page("Qualité fournisseurs", "<p>Vous n'êtes pas connecté(e) · not signed in.</p>"
                        "<p><a href='/login'>Se connecter avec le portail fournisseurs</a></p>")
        claims = html.escape(json.dumps(person["claims"], indent=2, ensure_ascii=False))
        return page("Qualité fournisseurs", f"<p id='welcome'>Bonjour {html.escape(person['claims'].get('name', ''))}"
                    f"</p><pre id='claims'>{claims}</pre><p><a href='/logout'>Se déconnecter</a></p>")

    async def login(request: Request) -> Response:
        verifier, nonce = generate_token(48), generate_token(20)
        url, oauth_state = client().create_authorization_url((await provider())["authorization_endpoint"],
                                                             code_verifier=verifier, nonce=nonce)
        state.pending[oauth_state] = {"verifier": verifier, "nonce": nonce}
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(PENDING, oauth_state, max_age=600, httponly=True, samesite="lax")
        return response

    async def signed_in(request: Request) -> Response:
        oauth_state = request.query_params.get("state", "")
        pending = state.pending.pop(oauth_state, None)
        if pending is None or request.cookies.get(PENDING) != oauth_state:
            return page("Connexion refusée", "<p>Demande inconnue ou d'un autre navigateur.</p>")
        if "error" in request.query_params:
            return page("Connexion refusée", f"<p>{html.escape(request.query_params['error'])}</p>")
        tokens = await client().fetch_token((await provider())["token_endpoint"],
                                            code=request.query_params.get("code", ""),
                                            code_verifier=pending["verifier"])
        claims = await verified(tokens["id_token"], "jwt")
        if claims.get("nonce") != pending["nonce"]:
            return page("Connexion refusée", "<p>nonce</p>")
        cookie = secrets.token_urlsafe(32)
        state.sessions[cookie] = {"claims": claims, "id_token": tokens["id_token"], "sid": claims.get("sid")}
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax")
        response.delete_cookie(PENDING)
        return response

    async def logout(request: Request) -> Response:
        person = state.sessions.pop(request.cookies.get(COOKIE, ""), None)
        target = (await provider())["end_session_endpoint"] + "?" + urlencode({
            "post_logout_redirect_uri": settings.base_url.rstrip("/") + "/",
            **({"id_token_hint": person["id_token"]} if person else {"client_id": settings.client_id})})
        response = RedirectResponse(target, status_code=303)
        response.delete_cookie(COOKIE)
        return response

    async def backchannel_logout(request: Request) -> Response:
        form = await request.form()
        token = form.get("logout_token")
        try:
            claims = await verified(token if isinstance(token, str) else "", "logout+jwt")
        except (JoseError, ValueError, KeyError):
            return Response(status_code=400)
        if BACKCHANNEL_EVENT not in claims.get("events", {}) or "nonce" in claims or not claims.get("sid"):
            return Response(status_code=400)
        state.logouts.append(claims)
        for cookie in [c for c, p in state.sessions.items() if p["sid"] == claims["sid"]]:
            del state.sessions[cookie]
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/", home), Route("/login", login), Route("/callback", signed_in),
                            Route("/logout", logout),
                            Route("/backchannel-logout", backchannel_logout, methods=["POST"])])
    app.state.demo = state
    return app


def main() -> None:
    import uvicorn
    settings = DemoSettings(os.environ["DEMO_ISSUER"], os.environ["DEMO_CLIENT_ID"],
                            os.environ["DEMO_CLIENT_SECRET"], os.environ["DEMO_BASE_URL"])
    port = int(settings.base_url.rsplit(":", 1)[1].strip("/"))
    uvicorn.run(create_app(settings), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()

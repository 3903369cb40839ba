"""``portalctl oidc``: the applications that sign people in with the portal (ARCHITECTURE §14), and the rotation
of the provider's signing keys. A client secret is printed once, when it is made; only its digest is kept."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc

from portalctl.connection import call, show


async def _oidc(method: str, request: Any) -> Any:
    return await call("identity", pb_grpc.OidcProviderServiceStub, method, request)


def _secret(secret: str) -> None:
    if secret:
        print(f"client_secret: {secret}")
        print("(shown this once: store it in the application's secret store now)", file=sys.stderr)


async def add(args: argparse.Namespace) -> None:
    jwks = Path(args.jwks).read_text() if args.jwks else ""
    answer = await _oidc("CreateOidcClient", pb.CreateOidcClientRequest(client=pb.OidcClient(
        client_id=args.client_id, name=args.name, token_endpoint_auth_method=args.auth_method,
        redirect_uris=args.redirect_uri, post_logout_redirect_uris=args.post_logout_redirect_uri or [],
        scopes=args.scope or [], backchannel_logout_uri=args.backchannel_logout_uri or "", jwks_json=jwks)))
    show(answer.client)
    _secret(answer.client_secret)


async def list_clients(args: argparse.Namespace) -> None:
    clients = (await _oidc("ListOidcClients", pb.ListOidcClientsRequest())).clients
    if args.json:
        print(json.dumps([{"client_id": c.client_id, "name": c.name, "auth_method": c.token_endpoint_auth_method,
                           "disabled": c.disabled} for c in clients], indent=2, ensure_ascii=False))
        return
    print(f"{'CLIENT ID':<28} {'AUTHENTICATION':<20} {'STATE':<9} NAME")
    for c in clients:
        print(f"{c.client_id:<28} {c.token_endpoint_auth_method:<20} {'disabled' if c.disabled else 'active':<9} "
              f"{c.name}")


async def show_client(args: argparse.Namespace) -> None:
    show((await _oidc("GetOidcClient", pb.GetOidcClientRequest(client_id=args.client_id))).client)


async def rotate_secret(args: argparse.Namespace) -> None:
    answer = await _oidc("RotateOidcClientSecret", pb.RotateOidcClientSecretRequest(client_id=args.client_id))
    _secret(answer.client_secret)


async def disable(args: argparse.Namespace) -> None:
    show((await _oidc("DisableOidcClient", pb.DisableOidcClientRequest(client_id=args.client_id))).client)


async def rotate_key(args: argparse.Namespace) -> None:
    answer = await _oidc("RotateSigningKey", pb.RotateSigningKeyRequest(
        publish_lead_seconds=int(args.lead_hours * 3600), overlap_seconds=int(args.overlap_hours * 3600)))
    print(f"new signing key: {answer.kid}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    oidc = commands.add_parser("oidc", help="single sign-on: applications and signing keys (operators)")
    areas = oidc.add_subparsers(dest="area", required=True)
    clients = areas.add_parser("clients", help="the applications that sign people in with the portal")
    sub = clients.add_subparsers(dest="action", required=True)
    p = sub.add_parser("add", help="register an application (its secret is printed once)")
    p.add_argument("client_id", help="3 to 64 lowercase letters, digits and hyphens")
    p.add_argument("--name", required=True, help="the application's name, as people know it")
    p.add_argument("--redirect-uri", action="append", required=True, help="an exact redirect URI (repeatable)")
    p.add_argument("--auth-method", default="client_secret_basic",
                   choices=["client_secret_basic", "private_key_jwt", "none"],
                   help="how it authenticates: a secret (server-side apps), its own keys, or none (public: "
                        "single-page and native apps, PKCE alone)")
    p.add_argument("--jwks", help="private_key_jwt: a file holding the application's public keys (JWKS)")
    p.add_argument("--post-logout-redirect-uri", action="append", help="where a logout may return (repeatable)")
    p.add_argument("--scope", action="append", choices=["openid", "profile", "email"],
                   help="a scope it may ask for (repeatable; default all)")
    p.add_argument("--backchannel-logout-uri", help="where it is told that a person's portal session ended")
    p.set_defaults(run=add)
    p = sub.add_parser("list", help="every application")
    p.add_argument("--json", action="store_true", help="JSON, for scripts")
    p.set_defaults(run=list_clients)
    for name, text, run in (("show", "one application", show_client),
                            ("rotate-secret", "a new secret (printed once); the old one stops working at once",
                             rotate_secret),
                            ("disable", "no more sign-ins or tokens for the application", disable)):
        p = sub.add_parser(name, help=text)
        p.add_argument("client_id")
        p.set_defaults(run=run)
    keys = areas.add_parser("keys", help="the provider's signing keys")
    sub = keys.add_subparsers(dest="action", required=True)
    p = sub.add_parser("rotate", help="a new signing key, published before it signs; the old ones stay published "
                                      "for the overlap so tokens they signed remain verifiable")
    p.add_argument("--lead-hours", type=float, default=1.0, help="published this long before it signs (default 1)")
    p.add_argument("--overlap-hours", type=float, default=24.0,
                   help="earlier keys stay published this long after (default 24)")
    p.set_defaults(run=rotate_key)

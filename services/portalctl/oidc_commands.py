"""``portalctl oidc``: the applications that sign people in with the portal (ARCHITECTURE §14), and the rotation
of the provider's signing keys. A client secret is printed once, when it is made; only its digest is kept."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc

from portalctl.cli import command, group
from portalctl.connection import call
from portalctl.output import done, json_mode, print_json, show, table

oidc_group = group("oidc", "Single sign-on (operators): the applications that sign people in with the portal, and "
                           "the provider's signing keys.")
clients = group("clients", "The applications that sign people in with the portal.")
keys = group("keys", "The provider's signing keys.")
oidc_group.add_command(clients)
oidc_group.add_command(keys)
CLIENT_ID = click.argument("client_id", help="The application's client id.")


async def _oidc(method: str, request: Any) -> Any:
    return await call("identity", pb_grpc.OidcProviderServiceStub, method, request)


def _secret(answer: Any) -> None:
    """An answer holding a new client secret: all of it with --json, else the secret's line; said once only."""
    if json_mode():
        print_json(answer)
    elif answer.client_secret:
        click.echo(f"client_secret: {answer.client_secret}")
    if answer.client_secret:
        click.echo("(shown this once: store it in the application's secret store now)", err=True)


@command(clients, "add", """
portalctl oidc clients add quality-app --name "Qualité fournisseurs" \\
    --redirect-uri https://quality.example/callback --post-logout-redirect-uri https://quality.example/ \\
    --backchannel-logout-uri https://quality.example/backchannel-logout
""")
@click.argument("client_id", help="3 to 64 lowercase letters, digits and hyphens.")
@click.option("--name", required=True, help="The application's name, as people know it.")
@click.option("--redirect-uri", "redirect_uris", multiple=True, required=True, metavar="URI",
              help="An exact redirect URI (repeatable).")
@click.option("--auth-method", type=click.Choice(["client_secret_basic", "private_key_jwt", "none"],
                                                 case_sensitive=False), default="client_secret_basic",
              show_default=True, help="How it authenticates: a secret (server-side apps), its own keys, or none "
                                      "(public: single-page and native apps, PKCE alone).")
@click.option("--jwks", type=click.Path(exists=True, dir_okay=False), default=None,
              help="private_key_jwt: a file holding the application's public keys (JWKS).")
@click.option("--post-logout-redirect-uri", "post_logout_redirect_uris", multiple=True, metavar="URI",
              help="Where a logout may return (repeatable).")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(["openid", "profile", "email"],
                                                                    case_sensitive=False),
              help="A scope it may ask for (repeatable; default all).")
@click.option("--backchannel-logout-uri", default="", metavar="URI",
              help="Where it is told that a person's portal session ended.")
async def add(client_id: str, name: str, redirect_uris: tuple[str, ...], auth_method: str, jwks: str | None,
              post_logout_redirect_uris: tuple[str, ...], scopes: tuple[str, ...], backchannel_logout_uri: str
              ) -> None:
    """Register an application; its client secret (if it has one) is printed once, now."""
    jwks_json = Path(jwks).read_text(encoding="utf-8") if jwks else ""
    answer = await _oidc("CreateOidcClient", pb.CreateOidcClientRequest(client=pb.OidcClient(
        client_id=client_id, name=name, token_endpoint_auth_method=auth_method, redirect_uris=redirect_uris,
        post_logout_redirect_uris=post_logout_redirect_uris, scopes=scopes,
        backchannel_logout_uri=backchannel_logout_uri, jwks_json=jwks_json)))
    if not json_mode():
        show(answer.client)
    _secret(answer)


@command(clients, "list", "portalctl oidc clients list")
async def list_clients() -> None:
    """List every application: client id, how it authenticates, whether it is disabled, its name. (With --json:
    client_id, name, auth_method and disabled of each, as scripts have read them since the command exists.)"""
    found = list((await _oidc("ListOidcClients", pb.ListOidcClientsRequest())).clients)
    table(found, [("client id", lambda c: c.client_id), ("authentication", lambda c: c.token_endpoint_auth_method),
                  ("state", lambda c: "disabled" if c.disabled else "active"), ("name", lambda c: c.name)],
          machine=[{"client_id": c.client_id, "name": c.name, "auth_method": c.token_endpoint_auth_method,
                    "disabled": c.disabled} for c in found])


@command(clients, "show", "portalctl oidc clients show quality-app")
@CLIENT_ID
async def show_client(client_id: str) -> None:
    """Show one application (never its secret: only a digest is kept)."""
    show((await _oidc("GetOidcClient", pb.GetOidcClientRequest(client_id=client_id))).client)


@command(clients, "rotate-secret", "portalctl oidc clients rotate-secret quality-app")
@CLIENT_ID
async def rotate_secret(client_id: str) -> None:
    """Give an application a new secret, printed once; the old one stops working at once."""
    answer = await _oidc("RotateOidcClientSecret", pb.RotateOidcClientSecretRequest(client_id=client_id))
    _secret(answer)


@command(clients, "disable", "portalctl oidc clients disable quality-app")
@CLIENT_ID
async def disable(client_id: str) -> None:
    """Disable an application: no more sign-ins or tokens for it."""
    client = (await _oidc("DisableOidcClient", pb.DisableOidcClientRequest(client_id=client_id))).client
    done(client, f"{client.client_id} ({client.name}) disabled: no more sign-ins or tokens")


@command(keys, "rotate", "portalctl oidc keys rotate --lead-hours 1 --overlap-hours 24")
@click.option("--lead-hours", type=click.FloatRange(min=0), default=1.0, show_default=True,
              help="The new key is published this long before it signs.")
@click.option("--overlap-hours", type=click.FloatRange(min=0), default=24.0, show_default=True,
              help="Earlier keys stay published this long after, so tokens they signed remain verifiable.")
async def rotate_key(lead_hours: float, overlap_hours: float) -> None:
    """Make a new signing key, published before it signs; the old ones stay published for the overlap."""
    answer = await _oidc("RotateSigningKey", pb.RotateSigningKeyRequest(
        publish_lead_seconds=int(lead_hours * 3600), overlap_seconds=int(overlap_hours * 3600)))
    done(answer, f"new signing key: {answer.kid}")

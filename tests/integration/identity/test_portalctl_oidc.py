"""Operators register the applications that sign people in with the portal from the command line (a real portalctl
subprocess against a running identity service, ARCHITECTURE §14): the secret is printed once and never shown
again, a rotated secret replaces the old one at once, a disabled application gets nothing, a bad registration is
refused with the field to fix, and the signing key rotates with the old one still published."""
from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import grpc
from portal.identity.v1 import oidc_pb2 as pb
from portal.identity.v1 import oidc_pb2_grpc as pb_grpc

from kit.auth import SERVICE_TOKEN_KEY

from .conftest import TOKENS, Identity


async def portalctl(identity: Identity, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "IDENTITY_TARGET": identity.app.target, "PORTAL_OPERATOR_TOKEN": TOKENS["erp"]}
    process = await asyncio.create_subprocess_exec(sys.executable, "-m", "portalctl", "oidc", *args, env=env,
                                                   stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate()
    return process.returncode or 0, out.decode(), err.decode()


async def client_error(identity: Identity, client_id: str, secret: str) -> str:
    """What the token endpoint says to this client id and secret (the refresh token is nobody's)."""
    async with grpc.aio.insecure_channel(identity.app.target) as channel:
        answer = await pb_grpc.OidcProviderServiceStub(channel).ExchangeToken(pb.ExchangeTokenRequest(
            client=pb.ClientAuthentication(client_id=client_id, client_secret=secret, basic=True),
            grant_type="refresh_token", refresh_token="nobody's"), metadata=[(SERVICE_TOKEN_KEY, TOKENS["gateway"])])
    return str(answer.failure.error)


async def test_an_operator_registers_rotates_and_disables_an_application(identity: Identity) -> None:
    code, out, err = await portalctl(identity, "clients", "add", "quality-app", "--name", "Qualité fournisseurs",
                                     "--redirect-uri", "https://quality.example/callback",
                                     "--backchannel-logout-uri", "https://quality.example/backchannel-logout")
    assert code == 0, err
    [secret] = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("client_secret: ")]
    assert "shown this once" in err and len(secret) >= 43
    assert await client_error(identity, "quality-app", secret) == "invalid_grant"  # authenticated: the token is bad

    code, out, _ = await portalctl(identity, "clients", "show", "quality-app", "--json")
    assert code == 0 and secret not in out and json.loads(out)["redirect_uris"] == ["https://quality.example/callback"]
    code, out, _ = await portalctl(identity, "clients", "show", "quality-app")  # for people: a key/value block
    assert code == 0 and secret not in out and re.search(r"^redirect uris +https://quality.example/callback$", out,
                                                         re.M) and re.search(r"^disabled +no$", out, re.M)
    code, out, _ = await portalctl(identity, "clients", "list", "--json")
    assert {"client_id": "quality-app", "name": "Qualité fournisseurs", "auth_method": "client_secret_basic",
            "disabled": False} in json.loads(out)

    code, out, _ = await portalctl(identity, "clients", "rotate-secret", "quality-app")
    [rotated] = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("client_secret: ")]
    assert code == 0 and rotated != secret
    assert await client_error(identity, "quality-app", secret) == "invalid_client"  # the old one, at once
    assert await client_error(identity, "quality-app", rotated) == "invalid_grant"

    code, out, _ = await portalctl(identity, "clients", "disable", "quality-app")
    assert code == 0 and out == "quality-app (Qualité fournisseurs) disabled: no more sign-ins or tokens\n"
    code, out, _ = await portalctl(identity, "clients", "show", "quality-app", "--json")
    assert code == 0 and json.loads(out)["disabled"] is True
    assert await client_error(identity, "quality-app", rotated) == "invalid_client"
    code, out, _ = await portalctl(identity, "clients", "list")
    assert out.splitlines()[0].split() == ["CLIENT", "ID", "AUTHENTICATION", "STATE", "NAME"]
    assert "disabled" in out


async def test_a_bad_registration_is_refused_with_the_field_to_fix(identity: Identity) -> None:
    code, out, err = await portalctl(identity, "clients", "add", "quality-app", "--name", "Q",
                                     "--redirect-uri", "https://quality.example/callback#fragment")
    assert code != 0 and "redirect_uris" in err and "client_secret" not in out
    code, _, err = await portalctl(identity, "clients", "add", "keyless", "--name", "Q", "--auth-method",
                                   "private_key_jwt", "--redirect-uri", "https://quality.example/callback")
    assert code != 0 and "jwks" in err


async def test_the_signing_key_rotates_with_the_old_one_still_published(identity: Identity) -> None:
    async with grpc.aio.insecure_channel(identity.app.target) as channel:
        stub = pb_grpc.OidcProviderServiceStub(channel)
        gateway = [(SERVICE_TOKEN_KEY, TOKENS["gateway"])]
        before = json.loads((await stub.GetJwks(pb.GetJwksRequest(), metadata=gateway)).jwks_json)["keys"]
        code, out, _ = await portalctl(identity, "keys", "rotate")
        assert code == 0 and out.startswith("new signing key: ")
        after = json.loads((await stub.GetJwks(pb.GetJwksRequest(), metadata=gateway)).jwks_json)["keys"]
    assert [k["kid"] for k in before] == [k["kid"] for k in after][1:]  # newest first; the old one still there
    assert after[0]["kid"] == out.split(": ", 1)[1].strip() and after[0]["alg"] == "ES256"

"""The applications that sign people in with the portal (ARCHITECTURE §14): registered by operators (a secret
shown once, rotatable), and authenticated at the token, revocation and introspection endpoints."""
from __future__ import annotations

import datetime as dt
import hmac
import json
import secrets
from dataclasses import dataclass, replace

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact

from kit.digests import token_digest
from kit.errors import FieldViolation, InvalidArgument, NotFound

from identity.domain.oidc import AuthMethod, Client, check_registration, invalid_client
from identity.service_layer.common import Tools
from identity.service_layer.unit_of_work import IdentityUnitOfWork

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
_ASSERTION_ALGORITHMS = ["ES256", "RS256", "PS256", "EdDSA"]
_MAX_ASSERTION_SECONDS = 3660  # an hour (Authlib's default) and a minute of clock skew
_NO_SECRET = token_digest("no client has this secret")  # compared against when the client is unknown: same time


@dataclass(frozen=True)
class ClientAuthentication:
    """What a caller of the token endpoint presented: HTTP Basic credentials, a signed assertion, or only its id."""
    client_id: str = ""
    secret: str = ""
    basic: bool = False
    assertion_type: str = ""
    assertion: str = ""


class OidcClients:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    # ---- operators ----------------------------------------------------------------------------------------

    async def register(self, client: Client) -> tuple[Client, str]:
        """The client saved, with its secret (shown once; only its digest is kept) when it has one."""
        problems = check_registration(client, production=self.tools.settings.environment == "production")
        if problems:
            raise InvalidArgument([FieldViolation(f, p) for f, p in problems])
        secret = secrets.token_urlsafe(32) if client.auth_method == AuthMethod.CLIENT_SECRET_BASIC else ""
        async with self.tools.uow() as uow:
            if not await uow.oidc.add_client(client, token_digest(secret) if secret else None, self.tools.clock()):
                raise InvalidArgument([FieldViolation("client_id", "is taken")])
            await uow.commit()
        return client, secret

    async def all(self) -> list[tuple[Client, dt.datetime]]:
        """Every application, with when it was registered."""
        async with self.tools.uow(readonly=True) as uow:
            return await uow.oidc.clients()

    async def get(self, client_id: str) -> Client:
        async with self.tools.uow(readonly=True) as uow:
            found = await uow.oidc.client(client_id)
        if found is None:
            raise NotFound("CLIENT_NOT_FOUND", "no such application")
        return found[0]

    async def rotate_secret(self, client_id: str) -> str:
        """A new secret replaces the old one at once (the old one stops working)."""
        client = await self.get(client_id)
        if client.auth_method != AuthMethod.CLIENT_SECRET_BASIC:
            raise InvalidArgument([FieldViolation("client_id", "this application has no secret")])
        secret = secrets.token_urlsafe(32)
        async with self.tools.uow() as uow:
            await uow.oidc.change_client(client_id, self.tools.clock(), secret_digest=token_digest(secret))
            await uow.commit()
        return secret

    async def disable(self, client_id: str) -> Client:
        """No new sign-in, token or refresh for it (tokens already out expire within minutes)."""
        client = await self.get(client_id)
        async with self.tools.uow() as uow:
            now = self.tools.clock()
            await uow.oidc.change_client(client_id, now, disabled_at=now)
            await uow.commit()
        return replace(client, disabled=True)

    # ---- the protocol -------------------------------------------------------------------------------------

    async def active(self, client_id: str) -> Client | None:
        async with self.tools.uow(readonly=True) as uow:
            found = await uow.oidc.client(client_id)
        return found[0] if found and not found[0].disabled else None

    async def authenticate(self, given: ClientAuthentication, uow: IdentityUnitOfWork | None = None) -> Client:
        """The client, if what it presented is what its registration asks for; otherwise ``invalid_client``
        (a public client presenting a secret too: it has none). Read in ``uow`` when the caller has one open."""
        client_id = given.client_id
        if given.assertion:
            client_id = self._assertion_issuer(given) or ""
        if uow is None:
            async with self.tools.uow(readonly=True) as own:
                found = await own.oidc.client(client_id) if client_id else None
        else:
            found = await uow.oidc.client(client_id) if client_id else None
        client, digest = found if found else (None, None)
        if given.basic:
            matches = hmac.compare_digest(digest or _NO_SECRET, token_digest(given.secret))
            if client is None or client.auth_method != AuthMethod.CLIENT_SECRET_BASIC or not matches:
                raise invalid_client()
        elif given.assertion:
            if client is None or client.auth_method != AuthMethod.PRIVATE_KEY_JWT:
                raise invalid_client()
            await self._check_assertion(client, given.assertion)
        elif client is None or not client.is_public or given.secret:
            raise invalid_client()
        if client.disabled:
            raise invalid_client()
        return client

    @staticmethod
    def _assertion_issuer(given: ClientAuthentication) -> str | None:
        if given.assertion_type != ASSERTION_TYPE or len(given.assertion) > 8192:
            return None
        try:  # only to find whose keys check it: nothing is believed before the signature is checked
            claims = json.loads(extract_compact(given.assertion.encode()).payload)
        except (JoseError, ValueError, UnicodeError):
            return None
        if not isinstance(claims, dict):
            return None
        issuer = claims.get("iss")
        return issuer if isinstance(issuer, str) and issuer == claims.get("sub") and issuer else None

    async def _check_assertion(self, client: Client, assertion: str) -> None:
        """RFC 7523 §3: signed by one of the client's registered keys, iss = sub = the client, aud = the issuer
        and nothing else (not the token endpoint: an assertion made for another server that advertises our
        endpoint could be replayed here, OpenID Foundation advisory 2025), not expired, at most an hour long, and
        its jti never seen before."""
        issuer = self.tools.settings.oidc_issuer
        now = self.tools.clock()
        try:
            token = jwt.decode(assertion, KeySet.import_key_set(client.jwks),  # type: ignore[arg-type]
                               algorithms=_ASSERTION_ALGORITHMS)
            jwt.JWTClaimsRegistry(
                now=int(now.timestamp()), leeway=30, iss={"essential": True, "value": client.client_id},
                sub={"essential": True, "value": client.client_id}, exp={"essential": True},
                jti={"essential": True}).validate(token.claims)
            expires, audience = int(token.claims["exp"]), token.claims.get("aud")
            issued = int(token.claims.get("iat", now.timestamp()))
        except (JoseError, ValueError, TypeError, KeyError):
            raise invalid_client() from None
        audiences = audience if isinstance(audience, list) else [audience]
        if audiences != [issuer] or expires - issued > _MAX_ASSERTION_SECONDS:
            raise invalid_client()
        digest = token_digest(f"{client.client_id}\n{token.claims['jti']}")
        async with self.tools.uow() as uow:
            first = await uow.oidc.first_use_of_assertion(digest, dt.datetime.fromtimestamp(expires + 30, dt.UTC), now)
            await uow.commit()
        if not first:  # a replayed assertion: whoever holds it is not necessarily the client
            raise invalid_client()

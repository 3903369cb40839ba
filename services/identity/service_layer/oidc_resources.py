"""What applications and resource servers ask the provider once tokens are out (ARCHITECTURE §14): discovery and
keys, userinfo, introspection (RFC 7662), revocation (RFC 7009) and RP-initiated logout. A token is good only
while the portal session it came from is."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from kit.digests import token_digest
from kit.errors import Unauthenticated

from identity.adapters.signing_keys import ALGORITHMS
from identity.domain import oidc
from identity.domain.oidc import AuthMethod
from identity.service_layer.oidc_clients import ClientAuthentication
from identity.service_layer.oidc_provider import OidcProvider
from identity.service_layer.sessions import ValidSession
from identity.service_layer.unit_of_work import IdentityUnitOfWork

INACTIVE: dict[str, Any] = {"active": False}


def _bearer_refused() -> Unauthenticated:
    return Unauthenticated("INVALID_TOKEN", "the access token is invalid, expired or revoked")


@dataclass(frozen=True)
class EndSession:
    """Where the browser goes after an RP-initiated logout, and whether the person must confirm it first (no
    valid ``id_token_hint`` of their own session came with it)."""
    redirect_uri: str = ""
    confirm: bool = False
    ended: bool = False


class OidcResources:
    def __init__(self, provider: OidcProvider) -> None:
        self.provider = provider
        self.tools, self.keys, self.clients = provider.tools, provider.keys, provider.clients

    def metadata(self) -> dict[str, Any]:
        issuer = self.provider.issuer
        return {"issuer": issuer, **{name: issuer + path for name, path in oidc.PATHS.items()},
                "response_types_supported": ["code"], "response_modes_supported": ["query"],
                "grant_types_supported": ["authorization_code", "refresh_token"],
                "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": list(ALGORITHMS),
                "scopes_supported": list(oidc.SCOPES), "claims_supported": list(oidc.CLAIMS),
                "token_endpoint_auth_methods_supported": [m.value for m in AuthMethod],
                "token_endpoint_auth_signing_alg_values_supported": ["ES256", "RS256", "PS256", "EdDSA"],
                "revocation_endpoint_auth_methods_supported": [m.value for m in AuthMethod],
                "introspection_endpoint_auth_methods_supported": [
                    AuthMethod.CLIENT_SECRET_BASIC.value, AuthMethod.PRIVATE_KEY_JWT.value],
                "code_challenge_methods_supported": ["S256"], "prompt_values_supported": ["none", "login"],
                "claims_parameter_supported": False, "request_parameter_supported": False,
                "request_uri_parameter_supported": False, "backchannel_logout_supported": True,
                "backchannel_logout_session_supported": True, "acr_values_supported": ["pwd", "mfa"],
                "authorization_response_iss_parameter_supported": True}

    async def jwks(self) -> dict[str, Any]:
        return await self.keys.jwks()

    async def _access(self, token: str, uow: IdentityUnitOfWork) -> tuple[dict[str, Any], ValidSession] | None:
        """The claims of a live access token and its session (read in the caller's ``uow``); None for anything
        else."""
        claims = await self.keys.verify(token, "at+jwt") if 0 < len(token) <= 8192 else None
        now = self.tools.clock().timestamp()
        if claims is None or claims.get("iss") != self.provider.issuer or not isinstance(claims.get("exp"), int) \
                or claims["exp"] <= now or not isinstance(claims.get("sid"), str) \
                or not isinstance(claims.get("client_id"), str):
            return None
        grant = await uow.oidc.session_of(claims["sid"], claims["client_id"])
        if grant is None or not isinstance(claims.get("iat"), int) or (
                grant[1] is not None and claims["iat"] < grant[1].timestamp()):
            return None  # no grant, or withdrawn after this token was issued (a replay, a revocation)
        digest = grant[0]
        try:
            session = await self.provider.sessions.validate_digest(digest, touch=False)
        except Unauthenticated:
            return None
        return (claims, session) if session.account.identifier == claims.get("preferred_username") else None

    async def userinfo(self, access_token: str) -> dict[str, Any]:
        async with self.tools.uow(readonly=True) as uow:
            found = await self._access(access_token, uow)
        if found is None:
            raise _bearer_refused()
        claims, session = found
        return oidc.person_claims(oidc.Person.of(session.account, claims["sub"]), str(claims.get("scope", "")))

    async def introspect(self, given: ClientAuthentication, token: str) -> dict[str, Any]:
        """RFC 7662 for a resource server with a credential — the application's own back end, with its
        credential: its live access and refresh tokens. Another application's tokens, and everything after the
        session ended or the grant was withdrawn: ``active: false`` (no token is good at a resource it was not
        issued for)."""
        async with self.tools.uow(readonly=True) as uow:
            caller = await self.clients.authenticate(given, uow)
            found = None if caller.is_public else await self._access(token, uow)
        if caller.is_public:
            raise oidc.invalid_client()
        if found is not None and found[0]["client_id"] == caller.client_id:
            claims, _ = found
            keep = ("scope", "client_id", "sub", "exp", "iat", "iss", "aud", "sid", "auth_time", "acr", "amr",
                    "cofor", "roles", "jti")
            return {"active": True, "token_type": "Bearer", "username": claims["preferred_username"],
                    **{k: claims[k] for k in keep if k in claims}}
        async with self.tools.uow(readonly=True) as uow:
            row = await uow.oidc.refresh_row(token_digest(token)) if 0 < len(token) <= 200 else None
            subject = await uow.oidc.subject_if_any(row["session_digest"]) if row else None
        now = self.tools.clock()
        if (row is None or row["client_id"] != caller.client_id or row["used_at"] or row["revoked_at"]
                or row["expires_at"] <= now or subject is None):
            return INACTIVE
        try:
            await self.provider.sessions.validate_digest(row["session_digest"], touch=False)
        except Unauthenticated:
            return INACTIVE
        return {"active": True, "token_type": "refresh_token", "client_id": caller.client_id, "scope": row["scope"],
                "sub": subject, "exp": int(row["expires_at"].timestamp()), "iss": self.provider.issuer}

    async def revoke(self, given: ClientAuthentication, token: str, client_address: str = "") -> None:
        """RFC 7009: a refresh token of this client ends its chain and the access tokens issued with it (an access
        token itself is not tracked: it lives five minutes); anything unknown is answered the same (no oracle)."""
        client = await self.clients.authenticate(given)
        async with self.tools.uow(client=client_address) as uow:
            row = await uow.oidc.refresh_row(token_digest(token)) if 0 < len(token) <= 200 else None
            if row is not None and row["client_id"] == client.client_id:  # its chain, and the access tokens out
                await uow.oidc.end_chain(row["chain_id"], self.tools.clock())
                await uow.oidc.withdraw(row["session_digest"], client.client_id, self.tools.clock())
                await uow.commit()

    async def end_session(self, session: ValidSession | None, id_token_hint: str, client_id: str,
                          post_logout_redirect_uri: str, state: str, confirmed: bool) -> EndSession:
        """RP-initiated logout 1.0: where to send the browser (only a URI registered for the client named by the
        hint or ``client_id``) and whether the portal session may end now. Without a hint naming the signed-in
        person, the person confirms (a link alone must not log anyone out)."""
        hint = await self.keys.verify(id_token_hint, "JWT") if 0 < len(id_token_hint) <= 8192 else None
        if hint is not None and hint.get("iss") != self.provider.issuer:
            hint = None
        audience = str(hint.get("aud", "")) if hint else ""
        client = await self.clients.active(audience or client_id) if (audience or client_id) else None
        target = ""
        if client is not None and post_logout_redirect_uri in client.post_logout_redirect_uris:
            target = post_logout_redirect_uri + (("&" if "?" in post_logout_redirect_uri else "?")
                                                 + urlencode({"state": state}) if state else "")
        if session is None:
            return EndSession(target)
        hinted = hint is not None and hint.get("sid") == oidc.session_id(session.digest)
        if not hinted and not confirmed:
            return EndSession(target, confirm=True)
        return EndSession(target, ended=True)

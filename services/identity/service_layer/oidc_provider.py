"""The OpenID Connect provider's use cases (ARCHITECTURE §14): authorize, exchange a code, refresh, and what the
tokens say. The portal session is the SSO session: every step checks it is live (sessions.py), so a logout, a
lock, a disable, a password change or a company's closure ends every application's tokens with it."""
from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from kit.digests import token_digest
from kit.errors import Unauthenticated

from identity.adapters.signing_keys import SigningKeys
from identity.domain import events as ev
from identity.domain import oidc
from identity.domain.factors import Step
from identity.domain.oidc import OAuthError, invalid_grant
from identity.service_layer.common import Tools
from identity.service_layer.oidc_clients import ClientAuthentication, OidcClients
from identity.service_layer.sessions import Sessions, ValidSession


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    redirect_uri: str
    response_type: str
    scope: str
    state: str = ""
    nonce: str = ""
    code_challenge: str = ""
    code_challenge_method: str = ""
    prompt: str = ""
    max_age: int | None = None
    login_after: int | None = None  # a fresh login asked by an earlier answer (prompt=login, max_age)
    consented: bool = False  # the person said yes to this public application on the portal's page


@dataclass(frozen=True)
class Authorization:
    """A code for the client, or what the person must do first (``login``: LOGIN, PASSWORD_CHANGE or CONSENT)."""
    code: str = ""
    login: str = ""
    client_name: str = ""


@dataclass(frozen=True)
class Grant:
    id_claims: dict[str, Any]
    access_claims: dict[str, Any]
    refresh_token: str
    scope: str


@dataclass(frozen=True)
class Tokens:
    id_token: str
    access_token: str
    refresh_token: str
    scope: str
    expires_in: int = oidc.TOKEN_MINUTES * 60


class OidcProvider:
    def __init__(self, tools: Tools, sessions: Sessions, clients: OidcClients, keys: SigningKeys) -> None:
        self.tools, self.sessions, self.clients, self.keys = tools, sessions, clients, keys

    @property
    def issuer(self) -> str:
        return self.tools.settings.oidc_issuer

    # ---- authorize ----------------------------------------------------------------------------------------

    async def authorize(self, asked: AuthorizationRequest, session_token: str | None) -> Authorization:
        client = await self.clients.active(asked.client_id)
        if client is None:
            raise OAuthError("invalid_request", "unknown application", redirectable=False)
        if asked.redirect_uri not in client.redirect_uris:  # exact match, never a prefix
            raise OAuthError("invalid_request", "redirect_uri is not registered", redirectable=False)
        if asked.response_type != "code":
            raise OAuthError("unsupported_response_type", "only the authorization code flow is offered")
        scope = client.granted_scopes(asked.scope)
        oidc.check_pkce(asked.code_challenge, asked.code_challenge_method)
        prompts = set(asked.prompt.split())
        if len(asked.nonce) > 255 or len(asked.state) > 1000 or ("none" in prompts and len(prompts) > 1):
            raise OAuthError("invalid_request", "nonce, state or prompt is malformed")
        try:
            session = await self.sessions.validate(session_token)
        except Unauthenticated:
            return _interaction(asked, "LOGIN")
        if session.step != Step.NONE:
            return _interaction(asked, "LOGIN")
        if session.must_change_password:
            return _interaction(asked, "PASSWORD_CHANGE")
        if oidc.login_needed(session.opened_at, self.tools.clock(), prompt=asked.prompt, max_age=asked.max_age,
                             login_after=asked.login_after):
            return _interaction(asked, "LOGIN")
        if client.is_public and not asked.consented:  # nothing proves who a public client is (RFC 8252 §8.6)
            if "none" in asked.prompt.split():
                raise OAuthError("consent_required", "the person must allow this application at the portal")
            return Authorization(login="CONSENT", client_name=client.name)
        code, now = secrets.token_urlsafe(32), self.tools.clock()
        async with self.tools.uow() as uow:
            await uow.oidc.add_code(token_digest(code), now, client_id=client.client_id,
                                    session_digest=session.digest, redirect_uri=asked.redirect_uri, scope=scope,
                                    nonce=asked.nonce, code_challenge=asked.code_challenge,
                                    expires_at=now + dt.timedelta(seconds=oidc.CODE_SECONDS))
            await uow.commit()
        return Authorization(code=code)

    # ---- the token endpoint -------------------------------------------------------------------------------

    async def exchange(self, given: ClientAuthentication, code: str, redirect_uri: str, verifier: str,
                       client_address: str = "") -> Tokens:
        digest, now = token_digest(code), self.tools.clock()
        async with self.tools.uow(readonly=True) as uow:
            client = await self.clients.authenticate(given, uow)
            row = await uow.oidc.code(digest)
        if row is not None and row["used_at"] is not None:  # presented twice: what its first use obtained ends
            await self._reused(row, client.client_id, client_address)  # (RFC 6749 §4.1.2)
            raise invalid_grant()
        if row is None or row["expires_at"] <= now:
            raise invalid_grant()
        session = await self._live(row["session_digest"])
        chain = str(uuid.uuid4())
        async with self.tools.uow(client=client_address) as uow:
            taken = await uow.oidc.take_code(digest, now, chain)
            if (taken is None or taken["client_id"] != client.client_id or taken["redirect_uri"] != redirect_uri
                    or not oidc.verifier_matches(verifier, taken["code_challenge"])):
                raise invalid_grant()  # rolled back: a wrong verifier does not burn the code for its owner
            claims = await self._grant(uow, session, client.client_id, taken["scope"], chain, now,
                                       nonce=taken["nonce"])
            await uow.commit()
        return await self._signed(claims)

    async def refresh(self, given: ClientAuthentication, refresh_token: str, scope: str = "",
                      client_address: str = "") -> Tokens:
        digest = token_digest(refresh_token)
        async with self.tools.uow(readonly=True) as uow:
            client = await self.clients.authenticate(given, uow)
            row = await uow.oidc.refresh_row(digest)
        if row is None or row["client_id"] != client.client_id:
            raise invalid_grant()
        if row["used_at"] is not None:  # replayed: a stolen token, or a client that lost track of its latest
            await self._reused(row, client.client_id, client_address)
            raise invalid_grant()
        session = await self._live(row["session_digest"], touch=True)  # an application in use keeps it alive
        granted = row["scope"].split()
        if scope and not set(scope.split()) <= set(granted):
            raise OAuthError("invalid_scope", "more scopes than were granted")
        now = self.tools.clock()
        async with self.tools.uow(client=client_address) as uow:
            if await uow.oidc.use_refresh(digest, now) is None:
                raise invalid_grant()  # revoked, expired, or used by a racing request a moment ago
            claims = await self._grant(uow, session, client.client_id, scope or row["scope"], row["chain_id"], now,
                                       refresh_scope=row["scope"])  # the next refresh token keeps the grant's
            await uow.commit()
        return await self._signed(claims)

    async def _live(self, session_digest: bytes, *, touch: bool = False) -> ValidSession:
        try:
            session = await self.sessions.validate_digest(session_digest, touch=touch)
        except Unauthenticated:
            raise invalid_grant() from None
        if session.step != Step.NONE or session.must_change_password:
            raise invalid_grant()
        return session

    async def _reused(self, row: dict[str, Any], client_id: str, client_address: str) -> None:
        if not row.get("chain_id") or row["client_id"] != client_id:
            return
        async with self.tools.uow(client=client_address) as uow:
            holder = await uow.sessions.holder(row["session_digest"])
            account = await uow.accounts.get(holder[0]) if holder else None
            await uow.oidc.withdraw(row["session_digest"], client_id, self.tools.clock())  # its access tokens too
            if await uow.oidc.end_chain(row["chain_id"], self.tools.clock()) and account is not None:
                uow.record(ev.TokenReuseDetected(identifier=account.identifier, cofor_root=account.cofor_root,
                                                 at=self.tools.clock(), detail=f"client {client_id}"))
            await uow.commit()

    async def _grant(self, uow: Any, session: ValidSession, client_id: str, scope: str, chain: str,
                     now: dt.datetime, *, nonce: str | None = None, refresh_scope: str = "") -> Grant:
        """The grant recorded (subject, session link, next refresh token, audit row) and what its tokens say;
        they are signed once the transaction is over."""
        account = session.account
        subject = await uow.oidc.subject(account.identifier)
        sid = oidc.session_id(session.digest)
        await uow.oidc.link(session.digest, client_id, sid, account.identifier, now)
        refresh = secrets.token_urlsafe(32)
        await uow.oidc.add_refresh(token_digest(refresh), chain_id=chain, client_id=client_id,
                                   session_digest=session.digest, scope=refresh_scope or scope, created_at=now,
                                   expires_at=session.expires_at)
        if nonce is not None:  # a code exchanged: the application's grant (its refreshes are not new grants)
            uow.record(ev.ApplicationGranted(identifier=account.identifier, cofor_root=account.cofor_root, at=now,
                                             detail=f"client {client_id}, scopes {scope}"))
        person = oidc.Person.of(account, subject)
        issued, expires = int(now.timestamp()), int(now.timestamp()) + oidc.TOKEN_MINUTES * 60
        common = {"iss": self.issuer, "sub": subject, "iat": issued, "exp": expires, "sid": sid,
                  "auth_time": int((session.opened_at or now).timestamp()), "amr": session.amr.split(),
                  "acr": session.acr}
        id_claims = {**common, **oidc.person_claims(person, scope), "aud": client_id, "azp": client_id}
        if nonce:
            id_claims["nonce"] = nonce
        access_claims = {**common, **oidc.person_claims(person, "openid"), "aud": client_id,
                         "client_id": client_id, "scope": scope, "jti": str(uuid.uuid4())}
        return Grant(id_claims, access_claims, refresh, scope)

    async def _signed(self, grant: Grant) -> Tokens:
        return Tokens(await self.keys.sign(grant.id_claims, "JWT"), await self.keys.sign(grant.access_claims, "at+jwt"),
                      grant.refresh_token, grant.scope)


def _interaction(asked: AuthorizationRequest, what: str) -> Authorization:
    if "none" in asked.prompt.split():  # the application asked not to show anything: it is told why instead
        raise OAuthError("login_required" if what == "LOGIN" else "interaction_required",
                         "the person must sign in at the portal")
    return Authorization(login=what)

"""The OpenID Connect provider's statements (ARCHITECTURE §14): clients, codes, refresh tokens, signing keys,
subjects and which applications each portal session signed in to. Every single-use step is one conditional
statement, so of two racing callers one only wins."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dialect_upsert import upsert

from identity.adapters.orm import (
    oidc_assertions,
    oidc_clients,
    oidc_codes,
    oidc_logout_deliveries,
    oidc_refresh_tokens,
    oidc_session_clients,
    oidc_signing_keys,
    oidc_subjects,
    sessions,
)
from identity.domain.oidc import AuthMethod, Client


def _changed(result: Any) -> int:
    """How many rows an INSERT … ON CONFLICT or UPDATE changed."""
    return int(cast("CursorResult[Any]", result).rowcount or 0)


def client_of(row: Any) -> Client:
    return Client(row["client_id"], row["name"], AuthMethod(row["auth_method"]), tuple(row["redirect_uris"]),
                  tuple(row["post_logout_redirect_uris"]), tuple(row["scopes"]), row["backchannel_logout_uri"],
                  dict(row["jwks"]), row["disabled_at"] is not None)


class OidcRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- clients ------------------------------------------------------------------------------------------

    async def client(self, client_id: str) -> tuple[Client, bytes | None] | None:
        """The client and the digest of its secret (None for a public or private_key_jwt client)."""
        row = (await self.session.execute(select(oidc_clients).where(
            oidc_clients.c.client_id == client_id))).mappings().first()
        return (client_of(row), row["secret_digest"]) if row else None

    async def clients(self) -> list[tuple[Client, dt.datetime]]:
        rows = (await self.session.execute(select(oidc_clients).order_by(oidc_clients.c.client_id))).mappings()
        return [(client_of(r), r["created_at"]) for r in rows]

    async def add_client(self, client: Client, secret_digest: bytes | None, now: dt.datetime) -> bool:
        """False when the client id is taken."""
        values = dict(client_id=client.client_id, name=client.name, auth_method=client.auth_method.value,
                      secret_digest=secret_digest, jwks=client.jwks, redirect_uris=list(client.redirect_uris),
                      post_logout_redirect_uris=list(client.post_logout_redirect_uris), scopes=list(client.scopes),
                      backchannel_logout_uri=client.backchannel_logout_uri, created_at=now, updated_at=now)
        result = await self.session.execute(upsert(self.session, oidc_clients, values, keys=["client_id"]))
        return bool(_changed(result))

    async def change_client(self, client_id: str, now: dt.datetime, **values: Any) -> bool:
        result = await self.session.execute(update(oidc_clients).where(oidc_clients.c.client_id == client_id)
                                            .values(updated_at=now, **values))
        return bool(_changed(result))

    async def first_use_of_assertion(self, digest: bytes, expires_at: dt.datetime, now: dt.datetime) -> bool:
        """Whether this client assertion (its digest) is seen for the first time; it is remembered until it
        expires."""
        await self.session.execute(delete(oidc_assertions).where(oidc_assertions.c.expires_at < now))
        inserted = await self.session.execute(upsert(self.session, oidc_assertions, dict(
            digest=digest, expires_at=expires_at), keys=["digest"]))
        return bool(_changed(inserted))

    # ---- authorization codes ------------------------------------------------------------------------------

    async def add_code(self, digest: bytes, now: dt.datetime, **values: Any) -> None:
        await self.session.execute(delete(oidc_codes).where(oidc_codes.c.expires_at < now))
        await self.session.execute(oidc_codes.insert().values(digest=digest, **values))

    async def take_code(self, digest: bytes, now: dt.datetime, chain_id: str) -> dict[str, Any] | None:
        """The code's row, marked used by the refresh chain its exchange starts; None when unknown, expired or used
        already (of racing exchanges, one only gets it)."""
        row = (await self.session.execute(update(oidc_codes).where(
            oidc_codes.c.digest == digest, oidc_codes.c.used_at.is_(None), oidc_codes.c.expires_at > now)
            .values(used_at=now, chain_id=chain_id).returning(*oidc_codes.c))).mappings().first()
        return dict(row) if row else None

    async def code(self, digest: bytes) -> dict[str, Any] | None:
        """A code's row whatever its state (used, expired), None when unknown."""
        row = (await self.session.execute(select(oidc_codes).where(oidc_codes.c.digest == digest))).mappings().first()
        return dict(row) if row else None

    # ---- refresh tokens -----------------------------------------------------------------------------------

    async def add_refresh(self, digest: bytes, **values: Any) -> None:
        await self.session.execute(oidc_refresh_tokens.insert().values(digest=digest, **values))

    async def use_refresh(self, digest: bytes, now: dt.datetime) -> dict[str, Any] | None:
        """The token's row, marked used; None when unknown, used, revoked or expired."""
        row = (await self.session.execute(update(oidc_refresh_tokens).where(
            oidc_refresh_tokens.c.digest == digest, oidc_refresh_tokens.c.used_at.is_(None),
            oidc_refresh_tokens.c.revoked_at.is_(None), oidc_refresh_tokens.c.expires_at > now)
            .values(used_at=now).returning(*oidc_refresh_tokens.c))).mappings().first()
        return dict(row) if row else None

    async def refresh_row(self, digest: bytes) -> dict[str, Any] | None:
        row = (await self.session.execute(select(oidc_refresh_tokens).where(
            oidc_refresh_tokens.c.digest == digest))).mappings().first()
        return dict(row) if row else None

    async def end_chain(self, chain_id: str, now: dt.datetime) -> int:
        """Every live token of the chain revoked; how many were."""
        result = await self.session.execute(update(oidc_refresh_tokens).where(
            oidc_refresh_tokens.c.chain_id == chain_id, oidc_refresh_tokens.c.revoked_at.is_(None))
            .values(revoked_at=now))
        return _changed(result)

    # ---- subjects and the applications of a session -------------------------------------------------------

    async def subject(self, identifier: str) -> str:
        """The account's opaque ``sub``, made at its first use (racing makers agree: the first insert wins)."""
        query = select(oidc_subjects.c.subject).where(oidc_subjects.c.identifier == identifier)
        if (known := (await self.session.execute(query)).scalar()) is not None:
            return str(known)
        await self.session.execute(upsert(self.session, oidc_subjects, dict(
            identifier=identifier, subject=str(uuid.uuid4())), keys=["identifier"]))
        return str((await self.session.execute(query)).scalar_one())

    async def link(self, session_digest: bytes, client_id: str, sid: str, identifier: str, now: dt.datetime) -> None:
        await self.session.execute(upsert(self.session, oidc_session_clients, dict(
            session_digest=session_digest, client_id=client_id, sid=sid, identifier=identifier, created_at=now),
            keys=["session_digest", "client_id"]))

    async def subject_if_any(self, session_digest: bytes) -> str | None:
        """The ``sub`` of the person whose session this is, once an application signed them in with it."""
        return (await self.session.execute(select(oidc_subjects.c.subject).join(
            oidc_session_clients, oidc_session_clients.c.identifier == oidc_subjects.c.identifier).where(
            oidc_session_clients.c.session_digest == session_digest).limit(1))).scalar()

    async def session_of(self, sid: str, client_id: str) -> tuple[bytes, dt.datetime | None] | None:
        """The session an application's token names, and since when its tokens count (None: all of them)."""
        row = (await self.session.execute(select(oidc_session_clients.c.session_digest,
                                                 oidc_session_clients.c.tokens_after).where(
            oidc_session_clients.c.sid == sid, oidc_session_clients.c.client_id == client_id))).first()
        return (row.session_digest, row.tokens_after) if row else None

    async def withdraw(self, session_digest: bytes, client_id: str, now: dt.datetime) -> None:
        """The application's access tokens in this session issued until now are refused from now on (a replay,
        a revocation); a later sign-in's are not."""
        await self.session.execute(update(oidc_session_clients).where(
            oidc_session_clients.c.session_digest == session_digest, oidc_session_clients.c.client_id == client_id)
            .values(tokens_after=now))

    # ---- signing keys -------------------------------------------------------------------------------------

    async def keys(self, now: dt.datetime) -> list[dict[str, Any]]:
        """Every key still published, newest first."""
        query = select(oidc_signing_keys).where(
            (oidc_signing_keys.c.expires_at.is_(None)) | (oidc_signing_keys.c.expires_at > now)).order_by(
            oidc_signing_keys.c.active_from.desc())
        return [dict(r) for r in (await self.session.execute(query)).mappings()]

    async def add_key(self, kid: str, alg: str, sealed: bytes, public_jwk: dict[str, Any], now: dt.datetime,
                      active_from: dt.datetime) -> None:
        await self.session.execute(oidc_signing_keys.insert().values(
            kid=kid, alg=alg, private_sealed=sealed, public_jwk=public_jwk, created_at=now, active_from=active_from))

    async def retire_keys_but(self, kid: str, expires_at: dt.datetime) -> None:
        """Every other key stops being published at ``expires_at`` (unless it stops earlier already)."""
        await self.session.execute(update(oidc_signing_keys).where(
            oidc_signing_keys.c.kid != kid,
            (oidc_signing_keys.c.expires_at.is_(None)) | (oidc_signing_keys.c.expires_at > expires_at))
            .values(expires_at=expires_at))

    # ---- back-channel logouts -----------------------------------------------------------------------------

    async def owe_logouts(self, now: dt.datetime, *, identifiers: list[str] | None = None,
                          digests: list[bytes] | None = None, spared: set[bytes] | None = None) -> int:
        """A delivery owed to each application with a back-channel logout URI that one of these live sessions
        (of these people, or these very sessions; never the spared ones) signed in to. How many."""
        query = select(oidc_session_clients.c.client_id, oidc_clients.c.backchannel_logout_uri.label("uri"),
                       oidc_session_clients.c.sid, oidc_session_clients.c.identifier).join(
            oidc_clients, oidc_clients.c.client_id == oidc_session_clients.c.client_id).join(
            sessions, sessions.c.token_digest == oidc_session_clients.c.session_digest).where(
            sessions.c.revoked_at.is_(None), sessions.c.expires_at > now, oidc_clients.c.disabled_at.is_(None),
            oidc_clients.c.backchannel_logout_uri != "")
        if identifiers is not None:
            query = query.where(sessions.c.identifier.in_(identifiers))
        if digests is not None:
            query = query.where(sessions.c.token_digest.in_(digests))
        if spared:
            query = query.where(sessions.c.token_digest.not_in(spared))
        owed = [dict(r, id=str(uuid.uuid4()), attempts=0, created_at=now, next_attempt_at=now)
                for r in (await self.session.execute(query)).mappings()]
        if owed:
            await self.session.execute(oidc_logout_deliveries.insert(), owed)
        return len(owed)

    async def due_logouts(self, now: dt.datetime, claimed_until: dt.datetime, limit: int) -> list[dict[str, Any]]:
        """Deliveries whose time has come, claimed until ``claimed_until`` (another replica skips them), with the
        subject of each person."""
        due = select(oidc_logout_deliveries.c.id).where(oidc_logout_deliveries.c.next_attempt_at <= now).order_by(
            oidc_logout_deliveries.c.next_attempt_at).limit(limit).with_for_update(skip_locked=True)
        claimed = update(oidc_logout_deliveries).where(oidc_logout_deliveries.c.id.in_(due.scalar_subquery())).values(
            next_attempt_at=claimed_until, attempts=oidc_logout_deliveries.c.attempts + 1).returning(
            *oidc_logout_deliveries.c, select(oidc_subjects.c.subject).where(
                oidc_subjects.c.identifier == oidc_logout_deliveries.c.identifier).scalar_subquery().label("subject"))
        return [dict(r) for r in (await self.session.execute(claimed)).mappings()]

    async def logout_done(self, delivery_id: str) -> None:
        await self.session.execute(delete(oidc_logout_deliveries).where(oidc_logout_deliveries.c.id == delivery_id))

    async def logout_later(self, delivery_id: str, when: dt.datetime) -> None:
        await self.session.execute(update(oidc_logout_deliveries).where(
            oidc_logout_deliveries.c.id == delivery_id).values(next_attempt_at=when))

    # ---- housekeeping -------------------------------------------------------------------------------------

    async def sweep(self, before: dt.datetime) -> None:
        """What no token needs any more: refresh tokens and assertions expired before ``before``, and the
        applications of sessions that ended then (a used refresh token stays until its chain expires, so a replay
        is still recognised)."""
        await self.session.execute(delete(oidc_refresh_tokens).where(oidc_refresh_tokens.c.expires_at < before))
        await self.session.execute(delete(oidc_assertions).where(oidc_assertions.c.expires_at < before))
        await self.session.execute(delete(oidc_session_clients).where(oidc_session_clients.c.session_digest.in_(
            select(sessions.c.token_digest).where(sessions.c.expires_at < before))))

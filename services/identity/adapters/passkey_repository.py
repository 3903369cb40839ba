"""Passkeys and their ceremonies' challenges (SQLite and PostgreSQL alike). A challenge is taken by one DELETE …
RETURNING: an answer replayed, even in parallel, finds it gone. A signature counter moves by one conditional UPDATE."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dialect_upsert import upsert

from identity.adapters.orm import passkey_challenges, passkeys, second_factors
from identity.domain.factors import FactorKind
from identity.domain.passkeys import Ceremony, Passkey


def _passkey(row: Any) -> Passkey:
    return Passkey(credential_id=row["credential_id"], identifier=row["identifier"], public_key=row["public_key"],
                   sign_count=row["sign_count"], name=row["name"], user_handle=row["user_handle"],
                   created_at=row["created_at"], last_used_at=row["last_used_at"])


def challenge_digest(challenge: bytes) -> bytes:
    return hashlib.sha256(challenge).digest()


class PasskeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, identifier: str) -> list[Passkey]:
        rows = (await self.session.execute(select(passkeys).where(passkeys.c.identifier == identifier)
                                           .order_by(passkeys.c.created_at))).mappings().all()
        return [_passkey(r) for r in rows]

    async def by_credential(self, credential_id: bytes) -> Passkey | None:
        row = (await self.session.execute(select(passkeys).where(
            passkeys.c.credential_id == credential_id))).mappings().first()
        return _passkey(row) if row else None

    async def add(self, passkey: Passkey, now: dt.datetime) -> bool:
        """False (nothing written) when that credential is registered already, to this account or another: a
        credential id is not secret, so a second registration of it never replaces the first."""
        added = (await self.session.execute(upsert(
            self.session, passkeys, dict(credential_id=passkey.credential_id, identifier=passkey.identifier,
                                         public_key=passkey.public_key, sign_count=passkey.sign_count,
                                         name=passkey.name, user_handle=passkey.user_handle,
                                         created_at=now, last_used_at=None),
            keys=["credential_id"]).returning(passkeys.c.credential_id))).first() is not None
        if added:  # the account now has the factor (one row, whatever the number of passkeys)
            fresh = dict(secret_sealed=None, confirmed_at=now, failed_attempts=0, last_step=0, created_at=now)
            row = dict(identifier=passkey.identifier, kind=FactorKind.PASSKEY.value, **fresh)
            await self.session.execute(upsert(self.session, second_factors, row, keys=["identifier", "kind"],
                                              update=dict(failed_attempts=0)))
        return added

    async def used(self, passkey: Passkey, sign_count: int, now: dt.datetime) -> bool:
        """The counter moves from the value checked; False when another use moved it meanwhile (a replay race)."""
        return (await self.session.execute(update(passkeys).where(
            passkeys.c.credential_id == passkey.credential_id, passkeys.c.sign_count == passkey.sign_count).values(
            sign_count=sign_count, last_used_at=now).returning(passkeys.c.credential_id))).first() is not None

    async def remove(self, identifier: str, credential_id: bytes) -> None:
        """Removes one passkey of this account (the factor's row goes with the last)."""
        await self.session.execute(delete(passkeys).where(passkeys.c.identifier == identifier,
                                                          passkeys.c.credential_id == credential_id))
        left = int(await self.session.scalar(select(func.count()).select_from(passkeys).where(
            passkeys.c.identifier == identifier)) or 0)
        if not left:
            await self.session.execute(delete(second_factors).where(
                second_factors.c.identifier == identifier, second_factors.c.kind == FactorKind.PASSKEY.value))

    # ---- ceremonies --------------------------------------------------------------------------------------------

    async def issue(self, challenge: bytes, ceremony: Ceremony, identifier: str, expires: dt.datetime,
                    now: dt.datetime, user_handle: bytes = b"") -> None:
        """Keeps the challenge's digest until it is answered or expires (expired ones are swept here). An account has
        one challenge per ceremony under way: a new one replaces it (a session cannot pile them up)."""
        c = passkey_challenges.c
        stale = c.expires_at <= now
        if identifier:
            stale = or_(stale, and_(c.identifier == identifier, c.ceremony == ceremony.value))
        await self.session.execute(delete(passkey_challenges).where(stale))
        await self.session.execute(passkey_challenges.insert().values(
            digest=challenge_digest(challenge), ceremony=ceremony.value, identifier=identifier, user_handle=user_handle,
            expires_at=expires))

    async def take(self, challenge: bytes, ceremony: Ceremony, now: dt.datetime) -> tuple[str, bytes] | None:
        """The identifier the challenge was issued for ('' for a passkey-only login) and the user handle offered
        (enrolment), once; None when unknown, used, expired or issued for another ceremony."""
        c = passkey_challenges.c
        row = (await self.session.execute(delete(passkey_challenges).where(
            c.digest == challenge_digest(challenge), c.ceremony == ceremony.value, c.expires_at > now)
            .returning(c.identifier, c.user_handle))).first()
        return None if row is None else (str(row[0]), bytes(row[1]))

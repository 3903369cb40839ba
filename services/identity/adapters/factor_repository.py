"""The second factors' statements (SQLite and PostgreSQL alike). A code is checked only after its attempt is counted
in one atomic statement (``reserve``), as the password's are: parallel guesses across replicas never check more
than the threshold. A TOTP step and a recovery code are each consumed by one conditional statement, so a code
replayed in parallel is accepted once."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from kit.dialect_upsert import upsert
from kit.digests import token_digest

from identity.adapters.orm import companies, passkeys, recovery_codes, second_factors
from identity.domain.factors import PRIMARY, Factor, FactorKind, normalize_recovery_code


def _factor(row: Any) -> Factor:
    return Factor(identifier=row["identifier"], kind=row["kind"], secret_sealed=row["secret_sealed"],
                  confirmed_at=row["confirmed_at"], failed_attempts=row["failed_attempts"],
                  last_step=row["last_step"], created_at=row["created_at"])


def _one(identifier: str, kind: FactorKind) -> Any:
    return and_(second_factors.c.identifier == identifier, second_factors.c.kind == kind.value)


class FactorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def of(self, identifier: str) -> list[Factor]:
        rows = (await self.session.execute(select(second_factors).where(
            second_factors.c.identifier == identifier))).mappings().all()
        return [_factor(r) for r in rows]

    async def recovery_codes_left(self, identifier: str) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(recovery_codes).where(
            recovery_codes.c.identifier == identifier, recovery_codes.c.used_at.is_(None))) or 0)

    async def company_requires(self, cofor_root: str) -> bool:
        return bool(await self.session.scalar(select(companies.c.second_factor_required).where(
            companies.c.cofor_root == cofor_root)))

    async def set_company_policy(self, cofor_root: str, required: bool, now: dt.datetime) -> None:
        await self.session.execute(update(companies).where(companies.c.cofor_root == cofor_root).values(
            second_factor_required=required, updated_at=now))

    # ---- enrolment ------------------------------------------------------------------------------------------

    async def start_totp(self, identifier: str, sealed: bytes, now: dt.datetime) -> bool:
        """An unconfirmed TOTP replaces any earlier unconfirmed one; False (nothing written) when a confirmed one is
        there. One upsert: racing starts and confirmations serialise on the row, and none removes an enrolled app."""
        fresh = dict(secret_sealed=sealed, confirmed_at=None, failed_attempts=0, last_step=0, created_at=now)
        return await self._changed(upsert(
            self.session, second_factors, dict(identifier=identifier, kind=FactorKind.TOTP.value, **fresh),
            keys=["identifier", "kind"], update=fresh, where=second_factors.c.confirmed_at.is_(None))
            .returning(second_factors.c.identifier))

    async def confirm_totp(self, identifier: str, step: int, now: dt.datetime) -> bool:
        """Confirmed with the step of the code given (that code cannot log in afterwards)."""
        return await self._changed(update(second_factors).where(
            _one(identifier, FactorKind.TOTP), second_factors.c.confirmed_at.is_(None),
            second_factors.c.last_step < step).values(confirmed_at=now, last_step=step, failed_attempts=0)
            .returning(second_factors.c.identifier))

    async def replace_recovery_codes(self, identifier: str, codes: list[str], now: dt.datetime) -> None:
        """The codes' row first (an upsert: it locks it, so two replacements never interleave), then the codes."""
        fresh = dict(secret_sealed=None, confirmed_at=now, failed_attempts=0, last_step=0, created_at=now)
        await self.session.execute(upsert(
            self.session, second_factors, dict(identifier=identifier, kind=FactorKind.RECOVERY_CODE.value, **fresh),
            keys=["identifier", "kind"], update=fresh))
        await self.session.execute(delete(recovery_codes).where(recovery_codes.c.identifier == identifier))
        await self.session.execute(recovery_codes.insert(), [
            dict(identifier=identifier, digest=token_digest(normalize_recovery_code(c)), used_at=None,
                 created_at=now) for c in codes])

    async def without_factor(self, identifiers: list[str]) -> list[str]:
        """Those of ``identifiers`` with no enrolled app and no passkey."""
        enrolled = set((await self.session.execute(select(second_factors.c.identifier).where(
            second_factors.c.identifier.in_(identifiers),
            second_factors.c.kind.in_([k.value for k in PRIMARY]),
            second_factors.c.confirmed_at.is_not(None)))).scalars())
        return [i for i in identifiers if i not in enrolled]

    async def remove_all(self, identifier: str) -> None:
        """Every factor of the account: app, passkeys, recovery codes (a reset, or the last factor removed)."""
        await self.session.execute(delete(passkeys).where(passkeys.c.identifier == identifier))
        await self.session.execute(delete(recovery_codes).where(recovery_codes.c.identifier == identifier))
        await self.session.execute(delete(second_factors).where(second_factors.c.identifier == identifier))

    async def remove_app(self, identifier: str) -> None:
        """The authenticator app only (the account keeps its passkeys and recovery codes)."""
        await self.session.execute(delete(second_factors).where(_one(identifier, FactorKind.TOTP)))

    # ---- a code given: counted first, then consumed at most once --------------------------------------------

    async def reserve(self, identifier: str, kind: FactorKind, threshold: int, *,
                      enrolled: bool = True) -> Factor | None:
        """Count an attempt on this factor unless it is at its threshold; None: not there, or locked."""
        confirmed = second_factors.c.confirmed_at.is_not(None) if enrolled else second_factors.c.confirmed_at.is_(None)
        row = (await self.session.execute(update(second_factors).where(
            _one(identifier, kind), confirmed, second_factors.c.failed_attempts < threshold).values(
            failed_attempts=second_factors.c.failed_attempts + 1).returning(*second_factors.c))).mappings().first()
        return _factor(row) if row else None

    async def give_back(self, identifier: str, kind: FactorKind) -> None:
        """A right code: the factor's failure count starts again."""
        await self.session.execute(update(second_factors).where(_one(identifier, kind)).values(failed_attempts=0))

    async def consume_step(self, identifier: str, step: int) -> bool:
        """The TOTP code of ``step`` is used: accepted only if no later or equal step was, and then the factor's
        failure count starts again (one statement)."""
        return await self._changed(update(second_factors).where(
            _one(identifier, FactorKind.TOTP), second_factors.c.last_step < step).values(
            last_step=step, failed_attempts=0).returning(second_factors.c.identifier))

    async def consume_recovery_code(self, identifier: str, code: str, now: dt.datetime) -> bool:
        return await self._changed(update(recovery_codes).where(
            recovery_codes.c.identifier == identifier,
            recovery_codes.c.digest == token_digest(normalize_recovery_code(code)),
            recovery_codes.c.used_at.is_(None)).values(used_at=now).returning(recovery_codes.c.identifier))

    async def _changed(self, statement: Any) -> bool:
        """Whether a conditional UPDATE (with RETURNING) changed a row."""
        return (await self.session.execute(statement)).first() is not None

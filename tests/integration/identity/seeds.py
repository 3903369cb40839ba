"""Accounts written straight to identity's database, for tests that need a company in a given shape at once (the
race of its administrators, the abuse suite): a company with two active ASLs."""
from __future__ import annotations

import datetime as dt
import itertools
import random

import pyotp
from sqlalchemy import func, select

from kit.db import Database
from testing.authenticator import Authenticator

from identity.adapters.factor_box import DEVELOPMENT_KEY, FactorBox
from identity.adapters.orm import accounts, companies, second_factors

_identifiers = itertools.count(random.randrange(100_000, 800_000, 1000))  # fresh ones every run


async def two_administrators(database: Database, password_hash: str,
                             app_codes: Authenticator | None = None) -> tuple[str, str, str]:
    """A company (access open) with two active ASLs, written straight to the database: (root, asl, co-asl). Every
    ASL has a second factor: each gets an authenticator app, whose secret ``app_codes`` is given."""
    root = f"R{next(_identifiers) % 100_000:05d}"
    a, b = f"V{next(_identifiers):06d}", f"V{next(_identifiers):06d}"
    now = dt.datetime.now(dt.UTC)
    async with database.write_transaction() as s:
        await s.execute(companies.insert().values(cofor_root=root, legal_name=f"Race {root}", supplier_active=True,
                                                  access_open=True, administrators_revision=0, updated_at=now))
        for ident in (a, b):
            await s.execute(accounts.insert().values(
                identifier=ident, cofor_root=root, given_name="Ada", family_name=ident, email=f"{ident}@x.example",
                phone="", job_title="", language="fr", is_administrator=True, state="ACTIVE", disabled_cause="",
                lock_cause="", failed_attempts=0, password_hash=password_hash, must_change_password=False,
                password_history=[], created_by="test", created_at=now, updated_at=now))
            secret = pyotp.random_base32(32)
            await s.execute(second_factors.insert().values(
                identifier=ident, kind="TOTP", secret_sealed=FactorBox(DEVELOPMENT_KEY).seal(secret), confirmed_at=now,
                failed_attempts=0, last_step=0, created_at=now))
            if app_codes is not None:
                app_codes.add(ident, secret)
    return root, a, b


async def active_administrators(database: Database, root: str) -> int:
    async with database.session(readonly=True) as s, s.begin():
        return await s.scalar(select(func.count()).select_from(accounts).where(
            accounts.c.cofor_root == root, accounts.c.is_administrator.is_(True), accounts.c.state != "DISABLED")) or 0



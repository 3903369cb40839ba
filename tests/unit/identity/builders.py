"""A store with one company and its accounts, and the use cases wired to the fakes."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tests.unit.identity.fakes import FakeHasher, FakeUnitOfWork, Store

from identity.domain.accounts import Account, DisabledCause, LockCause, State
from identity.service_layer.common import Tools
from identity.service_layer.console import Console
from identity.service_layer.login import Login
from identity.service_layer.password_change import PasswordChange
from identity.settings import IdentitySettings

NOW = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.UTC)
ROOT = "ABC123"
PASSWORD = "Les sapins de Gérardmer brillent sous la neige"


def account(identifier: str, *, password: str = PASSWORD, administrator: bool = False, state: State = State.ACTIVE,
            root: str = ROOT, **values: Any) -> Account:
    fields: dict[str, Any] = dict(
        identifier=identifier, cofor_root=root, given_name="Bob", family_name=identifier,
        email=f"{identifier}@x.example", phone="", job_title="", language="fr", is_administrator=administrator,
        state=state, disabled_cause=DisabledCause.NONE, lock_cause=LockCause.NONE, failed_attempts=0,
        password_hash=f"hash:{password}", must_change_password=False, password_expires_at=None,
        password_changed_at=NOW - dt.timedelta(days=100), password_history=[], reset_hash=None,
        reset_expires_at=None, created_by="test", created_at=NOW, updated_at=NOW)
    fields.update(values)
    return Account(**fields)


@dataclass
class World:
    store: Store
    hasher: FakeHasher
    tools: Tools
    clock: list[dt.datetime]

    @property
    def login(self) -> Login:
        return Login(self.tools)

    @property
    def console(self) -> Console:
        return Console(self.tools)

    @property
    def password_change(self) -> PasswordChange:
        return PasswordChange(self.tools)

    def add(self, *accounts: Account) -> None:
        for a in accounts:
            self.store.accounts[a.identifier] = a


def world(**settings: Any) -> World:
    store = Store()
    store.add_company(ROOT)
    hasher = FakeHasher()
    clock = [NOW]

    def uow(*, readonly: bool = False, client: str = "") -> FakeUnitOfWork:
        return FakeUnitOfWork(store, readonly=readonly, client=client)

    tools = Tools(uow, hasher, IdentitySettings(**settings), lambda: clock[0])  # type: ignore[arg-type]
    return World(store, hasher, tools, clock)

"""How a new account is made, for an ASL's CreateUser and for the first ASL of accepted terms."""
from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from kit.digests import token_digest
from kit.errors import ResourceExhausted

from identity.domain import events as ev
from identity.domain.accounts import Account, DisabledCause, LockCause, State, random_identifier
from identity.service_layer.common import Tools, temporary_password
from identity.service_layer.unit_of_work import IdentityUnitOfWork


@dataclass(frozen=True)
class TemporaryPassword:
    """Drawn and hashed before the transaction opens: no hash runs while a write transaction is open."""

    password: str
    hash: str

    @classmethod
    async def draw(cls, tools: Tools) -> TemporaryPassword:
        password = temporary_password()
        return cls(password, await tools.hasher.hash(password))


async def new_account(tools: Tools, uow: IdentityUnitOfWork, *, cofor_root: str, values: dict[str, str],
                      administrator: bool, password: TemporaryPassword, created_by: str, now: dt.datetime,
                      legal_name: str, administrator_name: str = "", access_request_id: str = "",
                      detail: str = "", activation: bool = False) -> Account:
    """A new ACTIVE account under a random identifier never used before. With ``activation`` (an ASL's new user)
    its holder gets a one-time link to choose a password, and the drawn password is never sent to anyone (it only
    makes the account's password unknowable until then); without (the first ASL), the temporary password is
    mailed."""
    for _ in range(50):
        identifier = random_identifier()
        if not await uow.accounts.identifier_taken(identifier):
            break
    else:
        raise ResourceExhausted("IDENTIFIERS_EXHAUSTED", "no free V-identifier could be drawn; try again")
    expires = tools.temporary_password_expiry(now)
    account = Account(
        identifier=identifier, cofor_root=cofor_root, given_name=values["given_name"],
        family_name=values["family_name"], email=values["email"], phone=values.get("phone", ""),
        job_title=values.get("job_title", ""), language=values.get("language", "fr"),
        is_administrator=administrator, state=State.ACTIVE, disabled_cause=DisabledCause.NONE,
        lock_cause=LockCause.NONE, failed_attempts=0, password_hash=password.hash, must_change_password=True,
        password_expires_at=expires, password_changed_at=None, password_history=[], reset_hash=None,
        reset_expires_at=None, created_by=created_by, created_at=now, updated_at=now,
        origin_access_request_id=access_request_id or None)
    token = secrets.token_urlsafe(32) if activation else ""
    if activation:
        account.send_activation(token_digest(token), expires)
    await uow.accounts.add(account)
    account.record(ev.AccountCreated, now, actor=created_by, administrator=administrator,
                   password="" if activation else password.password, activation_token=token, expires_at=expires,
                   legal_name=legal_name, administrator_name=administrator_name, access_request_id=access_request_id,
                   detail=detail)
    if administrator:
        uow.record(ev.AdministratorsChanged(identifier=identifier, cofor_root=cofor_root, at=now))
    return account

"""ActivateAccount and ResendActivation: the holder of a new account chooses the first password through the
one-time link of the welcome mail; an ASL sends a new link when the first expired or was lost. The rules (what a
live link is, what activation changes) are the account's (Account.send_activation, Account.activate)."""
from __future__ import annotations

import datetime as dt
import secrets

from kit import ratelimit
from kit.digests import token_digest
from kit.errors import FailedPrecondition, FieldViolation, InvalidArgument

from identity.domain import events as ev
from identity.domain.accounts import Account, AccountIsDisabled, AlreadyActivated, State
from identity.domain.passwords import check_policy, normalize
from identity.service_layer.common import MAX_PASSWORD_INPUT, Tools, admit_client
from identity.service_layer.console_access import Actor, locked_target
from identity.service_layer.unit_of_work import IdentityUnitOfWork

MAX_TOKEN_INPUT = 200


def _invalid() -> FailedPrecondition:
    """Unknown, used, expired, replaced or of a disabled account: one answer, so a token tells nothing more."""
    return FailedPrecondition("ACTIVATION_INVALID", "this activation link is not valid (any more): ask your ASL for a "
                              "new one")


class Activation:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def activate(self, token: str, new_password: str, client: str = "") -> str:
        """The holder's first password; returns the identifier to log in with."""
        v = []
        if not token or len(token) > MAX_TOKEN_INPUT:
            v.append(FieldViolation("activation_token", "is required"))
        if not new_password or len(new_password) > MAX_PASSWORD_INPUT:
            v.append(FieldViolation("new_password", "is required"))
        if v:
            raise InvalidArgument(v)
        await admit_client(self.tools, "activation-client", self.tools.settings.recovery_limit_per_client_per_hour,
                           client)  # whatever the token
        now, settings = self.tools.clock(), self.tools.settings
        async with self.tools.uow(readonly=True) as uow:
            account = await uow.accounts.with_activation(token_digest(token))
        if (account is None or account.activation_expires_at is None or now >= account.activation_expires_at
                or account.state == State.DISABLED):  # before the policy and the hash: one answer, one cost
            raise _invalid()
        new_password = normalize(new_password)
        violations = check_policy(new_password, identifier=account.identifier, cofor_root=account.cofor_root,
                                  email=account.email, min_length=settings.password_min_length)
        if violations:
            raise InvalidArgument([FieldViolation("new_password", x.description, x.reason) for x in violations],
                                  reason="PASSWORD_POLICY_VIOLATION",
                                  message="the new password does not follow the password policy")
        new_hash = await self.tools.hasher.hash(new_password)  # before the write transaction opens
        async with self.tools.uow(client=client) as uow:
            current = await uow.accounts.with_activation(token_digest(token), for_update=True)
            if current is None or not current.activate(new_hash, now):  # used meanwhile, by a second click
                raise _invalid()
            await uow.accounts.save(current, now)
            await uow.commit()
            return current.identifier

    async def resend(self, actor: Actor, identifier: str) -> Account:
        """A new link for an account not activated yet; the earlier one stops working."""
        now = self.tools.clock()
        # Each link is a mail to an address the ASL typed: a few an hour per account, as many as recovery allows.
        limit = ratelimit.Limit("activation-resend", self.tools.settings.recovery_limit_per_hour, 3600)
        async with self.tools.uow(client=actor.client) as uow:
            account, me = await locked_target(uow, actor, identifier)
            await uow.rate_limits.enforce([(limit, account.identifier)])
            try:
                await resend_link(uow, account, actor, me, now, self.tools.temporary_password_expiry(now))
            except AccountIsDisabled:
                raise FailedPrecondition("ACCOUNT_DISABLED", "the account is disabled: enable it first") from None
            except AlreadyActivated:
                raise FailedPrecondition("ALREADY_ACTIVATED", "the holder has chosen a password already: reset it "
                                         "instead if it is lost") from None
            await uow.accounts.save(account, now)
            await uow.commit()
            return account


async def resend_link(uow: IdentityUnitOfWork, account: Account, actor: Actor, me: Account | None,
                      now: dt.datetime, expires: dt.datetime) -> None:
    """A new link mailed to the account's (current) address; the earlier one stops working."""
    token = secrets.token_urlsafe(32)
    account.send_activation(token_digest(token), expires)
    company = await uow.companies.get(account.cofor_root)
    account.record(ev.ActivationSent, now, actor=actor.name, activation_token=token, expires_at=expires,
                   legal_name=str(company["legal_name"]) if company else "",
                   administrator_name=me.display_name if me else "")

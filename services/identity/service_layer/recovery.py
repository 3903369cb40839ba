"""The three public recovery forms (ARCHITECTURE §6).

Whatever matches, each answers the same accepted response after the same work: the same rate-limit writes,
the same database reads, one argon2 hash, one transaction. Mails go out asynchronously through events, so
their cost never shows in the response time. E-mails are compared exactly and in constant time.

Limits (review findings 6 and 12): only the per-client-address limit refuses, and it is checked before any
hashing. The limits per identifier and per e-mail count the mails a form sends and never refuse: past them the
answer stays accepted and that form mails that holder no more for the hour. A stranger who knows only an address
therefore neither locks its holder out nor uses up the holder's mails.
"""
from __future__ import annotations

import datetime as dt
import json

from portal.identity.v1 import events_pb2 as ev

from kit import ratelimit, validation
from kit.errors import FieldViolation, Violations
from kit.notify import Template

from identity.domain.accounts import Account, MalformedIdentifier, State, parse_identifier
from identity.service_layer.authentication import same_text
from identity.service_layer.base import Base, temporary_password
from identity.service_layer.unit_of_work import IdentityUnitOfWork, active_administrators

ACCEPTED = "recovery.accepted"


def _cofor_root(text: str) -> str | None:
    value = text.strip().upper()
    root = value[:6]
    if len(root) == 6 and root.isalnum() and (len(value) == 6 or value[6:].strip().isalnum()):
        return root
    return None


def _contacts(admins: list[Account]) -> str:
    return json.dumps([{"name": a.display_name, "email": a.email, "phone": a.phone} for a in admins],
                      ensure_ascii=False)


class Recovery(Base):
    async def _admit(self, client: str) -> None:
        """The per-client-address limit, the only refusing one: counted in its own short transaction before the
        hash, so a refused call costs no argon2 work and no hash runs while a write transaction is open."""
        if not client:
            return
        limit = ratelimit.Limit("recovery-client", self.settings.recovery_limit_per_client_per_hour, 3600)
        async with self.uow() as uow:
            await ratelimit.enforce(uow.session, limit, client)
            await uow.commit()

    async def _may_mail(self, uow: IdentityUnitOfWork, form: str, matched: bool, *subjects: str) -> bool:
        """Whether this form may mail the holder it matched (per identifier and per e-mail, never refusing). Calls
        that match nothing are counted under another name: the same writes whatever matched, and a stranger's
        guesses never use up the holder's mails."""
        limit = ratelimit.Limit(f"{form}-{'mail' if matched else 'unmatched'}", self.settings.recovery_limit_per_hour,
                                3600)
        within = True
        for subject in subjects:  # every subject counted, whatever the first answered
            within = await ratelimit.within(uow.session, limit, subject) and within
        return matched and within

    def _check(self, *, email: str, cofor: str, identifier: str | None = None,
               message: str | None = None) -> tuple[str, str, str]:
        v = Violations()
        email = email.strip()
        if err := validation.email_error(email):
            v.add("email", err)
        root = _cofor_root(cofor)
        if root is None:
            v.add("cofor", "a COFOR is 6 letters or digits, optionally followed by a site code")
        ident = ""
        if identifier is not None:
            try:
                ident = parse_identifier(identifier)
            except MalformedIdentifier as exc:
                v.add("identifier", str(exc))
        if message is not None and (err := validation.text_error(message.strip(), max_length=2000, multiline=True)):
            v.add("message", err)
        v.raise_if_any()
        return email, root or "", ident

    async def recover_identifier(self, email: str, cofor: str, client: str = "") -> str:
        email, root, _ = self._check(email=email, cofor=cofor)
        await self._admit(client)
        now = self.now()
        await self.hasher.hash(email)  # the same hashing work as the other forms, whatever matches
        async with self.uow() as uow:
            members = await uow.company_accounts(root)
            matches = [a for a in members if same_text(a.email, email) and a.state != State.DISABLED]
            if not await self._may_mail(uow, "lost-identifier", bool(matches), f"email:{email}"):
                _quiet(uow, matches, root, client, now)
            elif matches:
                company = await uow.company(root)
                request_email_to(self, uow, Template.EMAIL_TEMPLATE_IDENTIFIER_RECOVERY, matches[0], params={
                    "identifiers": json.dumps([a.identifier for a in matches]), "cofor_root": root,
                    "legal_name": company["legal_name"] if company else ""})
                for a in matches:
                    uow.audit("RECOVERY_REQUESTED", subject=a.identifier, cofor_root=root, client=client,
                              detail="lost identifier", now=now)
            await uow.commit()
        return ACCEPTED

    async def reset_administrator_password(self, identifier: str, cofor: str, email: str, client: str = "") -> str:
        email, root, ident = self._check(email=email, cofor=cofor, identifier=identifier)
        await self._admit(client)
        now = self.now()
        password = temporary_password()
        reset_hash = await self.hasher.hash(password)  # hashed on every call: matching costs no extra time
        async with self.uow() as uow:
            account = await uow.account(ident, for_update=True)
            target = _match(account, root, email)
            if not await self._may_mail(uow, "administrator-reset", target is not None, f"identifier:{ident}",
                                        f"email:{email}"):
                _quiet(uow, [target] if target else [], root, client, now)
            elif target is not None:
                account = target
                company = await uow.company(root)
                legal_name = company["legal_name"] if company else ""
                if account.is_administrator:
                    expires = now + dt.timedelta(minutes=self.settings.self_service_reset_minutes)
                    account.reset_hash, account.reset_expires_at = reset_hash, expires
                    await uow.save(account, now)
                    self.mail(uow, Template.EMAIL_TEMPLATE_ADMINISTRATOR_RESET_PASSWORD, account,
                              params={"expire_time": expires.isoformat()}, secrets_={"temporary_password": password})
                    uow.publish("identity.password.reset", ev.PasswordReset(
                        identifier=ident, cofor_root=root, actor=ident, kind=ev.PASSWORD_RESET_KIND_SELF_SERVICE,
                        temporary_password_expire_time=self.expire(expires)))  # type: ignore[arg-type]
                    uow.audit("PASSWORD_RESET", subject=ident, cofor_root=root, client=client,
                              detail="self-service reset", now=now)
                else:
                    admins = active_administrators(await uow.company_accounts(root))
                    self.mail(uow, Template.EMAIL_TEMPLATE_RESET_BY_ADMINISTRATOR_NOTICE, account,
                              params={"administrators": _contacts(admins), "legal_name": legal_name})
                    uow.audit("RECOVERY_REQUESTED", subject=ident, cofor_root=root, client=client,
                              detail="administrator reset form used by a user", now=now)
            await uow.commit()
        return ACCEPTED

    async def contact_administrator(self, identifier: str, cofor: str, email: str, message: str,
                                    client: str = "") -> str:
        email, root, ident = self._check(email=email, cofor=cofor, identifier=identifier, message=message)
        message = validation.clean(message)
        await self._admit(client)
        now = self.now()
        await self.hasher.hash(email)
        async with self.uow() as uow:
            account = await uow.account(ident)
            target = _match(account, root, email)
            if not await self._may_mail(uow, "contact-administrator", target is not None, f"identifier:{ident}",
                                        f"email:{email}"):
                _quiet(uow, [target] if target else [], root, client, now)
            elif target is not None:
                account = target
                company = await uow.company(root)
                admins = [a for a in active_administrators(await uow.company_accounts(root))
                          if a.identifier != ident]
                self.mail(uow, Template.EMAIL_TEMPLATE_ADMINISTRATOR_CONTACT, account, params={
                    "administrators": _contacts(admins), "legal_name": company["legal_name"] if company else ""})
                for admin in admins:
                    self.mail(uow, Template.EMAIL_TEMPLATE_USER_MESSAGE_TO_ADMINISTRATOR, admin, params={
                        "user_name": account.display_name, "user_identifier": ident, "user_email": account.email,
                        "message": message}, reply_to=(account.email, account.display_name))
                uow.audit("RECOVERY_REQUESTED", subject=ident, cofor_root=root, client=client,
                          detail="message to the administrators", now=now)
            await uow.commit()
        return ACCEPTED


def _match(account: Account | None, root: str, email: str) -> Account | None:
    """The account when the form's details match it exactly (e-mail compared in constant time)."""
    if account is not None and account.cofor_root == root and same_text(account.email, email) \
            and account.state != State.DISABLED:
        return account
    return None


def _quiet(uow: IdentityUnitOfWork, matches: list[Account], root: str, client: str, now: dt.datetime) -> None:
    """A matching request past the holder's mail limit: accepted, nothing sent, but on the holder's trail."""
    for a in matches:
        uow.audit("RECOVERY_REQUESTED", subject=a.identifier, cofor_root=root, client=client,
                  detail="mail limit reached: nothing sent", now=now)


def request_email_to(base: Base, uow: IdentityUnitOfWork, template: int, account: Account,
                     params: dict[str, str]) -> None:
    base.mail(uow, template, account, params=params)


__all__ = ["Recovery", "ACCEPTED", "FieldViolation"]

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

from kit import ratelimit, validation
from kit.errors import Violations
from notify import Mail, mails

from identity.domain import events as ev
from identity.domain.accounts import Account, MalformedIdentifier, State, parse_identifier
from identity.domain.states import parse_cofor_root, same_text
from identity.service_layer.common import Tools, admit_client, temporary_password
from identity.service_layer.unit_of_work import IdentityUnitOfWork

ACCEPTED = "recovery.accepted"


def _contacts(admins: list[Account]) -> list[mails.AdministratorContact]:
    return [mails.AdministratorContact(a.display_name, a.email, a.phone) for a in admins]


def _notice(account: Account, mail: Mail, now: dt.datetime, reply_to: tuple[str, str] | None = None) -> ev.Notice:
    return ev.Notice(identifier=account.identifier, cofor_root=account.cofor_root, at=now, mail=mail,
                     to_email=account.email, to_name=account.display_name, language=account.language,
                     reply_to=reply_to)


def _requested(uow: IdentityUnitOfWork, identifier: str, root: str, now: dt.datetime, detail: str) -> None:
    uow.record(ev.RecoveryRequested(identifier=identifier, cofor_root=root, at=now, detail=detail))


class Recovery:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools

    async def _admit(self, client: str) -> None:
        """The per-client-address limit, the only refusing one: counted in its own short transaction before the
        hash, so a refused call costs no argon2 work and no hash runs while a write transaction is open."""
        await admit_client(self.tools, "recovery-client", self.tools.settings.recovery_limit_per_client_per_hour,
                           client)

    async def _may_mail(self, uow: IdentityUnitOfWork, form: str, matched: bool, *subjects: str) -> bool:
        """Whether this form may mail the holder it matched (per identifier and per e-mail, never refusing). Calls
        that match nothing are counted under another name: the same writes whatever matched, and a stranger's
        guesses never use up the holder's mails. Every subject is counted, whatever the first answered."""
        limit = ratelimit.Limit(f"{form}-{'mail' if matched else 'unmatched'}",
                                self.tools.settings.recovery_limit_per_hour, 3600)
        within = await uow.rate_limits.within([(limit, subject) for subject in subjects])
        return matched and within

    def _check(self, *, email: str, cofor: str, identifier: str | None = None,
               message: str | None = None) -> tuple[str, str, str]:
        v = Violations()
        email = email.strip()
        if err := validation.email_error(email):
            v.add("email", err)
        root = parse_cofor_root(cofor)
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
        now = self.tools.clock()
        await self.tools.hasher.hash(email)  # the same hashing work as the other forms, whatever matches
        async with self.tools.uow(client=client) as uow:
            members = await uow.accounts.of_company(root)
            matches = [a for a in members if same_text(a.email, email) and a.state != State.DISABLED]
            if not await self._may_mail(uow, "lost-identifier", bool(matches), f"email:{email}"):
                _quiet(uow, matches, root, now)
            elif matches:
                company = await uow.companies.get(root)
                uow.record(_notice(matches[0], mails.identifier_recovery(
                    identifiers=[a.identifier for a in matches], legal_name=company["legal_name"] if company else "",
                    cofor_root=root), now))
                for a in matches:
                    _requested(uow, a.identifier, root, now, "lost identifier")
            await uow.commit()
        return ACCEPTED

    async def reset_administrator_password(self, identifier: str, cofor: str, email: str, client: str = "") -> str:
        email, root, ident = self._check(email=email, cofor=cofor, identifier=identifier)
        await self._admit(client)
        now = self.tools.clock()
        password = temporary_password()
        reset_hash = await self.tools.hasher.hash(password)  # hashed on every call: matching costs no extra time
        async with self.tools.uow(client=client) as uow:
            target = _match(await uow.accounts.get(ident, for_update=True), root, email)
            if not await self._may_mail(uow, "administrator-reset", target is not None, f"identifier:{ident}",
                                        f"email:{email}"):
                _quiet(uow, [target] if target else [], root, now)
            elif target is not None and target.is_administrator:
                expires = now + dt.timedelta(minutes=self.tools.settings.self_service_reset_minutes)
                target.offer_self_service_reset(reset_hash, password, now, expires)
                await uow.accounts.save(target, now)
            elif target is not None:
                company = await uow.companies.get(root)
                admins = await uow.accounts.active_administrators(root)
                uow.record(_notice(target, mails.reset_by_administrator_notice(
                    administrators=_contacts(admins), legal_name=company["legal_name"] if company else ""), now))
                _requested(uow, ident, root, now, "administrator reset form used by a user")
            await uow.commit()
        return ACCEPTED

    async def contact_administrator(self, identifier: str, cofor: str, email: str, message: str,
                                    client: str = "") -> str:
        email, root, ident = self._check(email=email, cofor=cofor, identifier=identifier, message=message)
        message = validation.clean(message)
        await self._admit(client)
        now = self.tools.clock()
        await self.tools.hasher.hash(email)
        async with self.tools.uow(client=client) as uow:
            target = _match(await uow.accounts.get(ident), root, email)
            if not await self._may_mail(uow, "contact-administrator", target is not None, f"identifier:{ident}",
                                        f"email:{email}"):
                _quiet(uow, [target] if target else [], root, now)
            elif target is not None:
                company = await uow.companies.get(root)
                admins = [a for a in await uow.accounts.active_administrators(root) if a.identifier != ident]
                uow.record(_notice(target, mails.administrator_contact(
                    administrators=_contacts(admins), legal_name=company["legal_name"] if company else ""), now))
                for admin in admins:
                    uow.record(_notice(admin, mails.user_message_to_administrator(
                        user_name=target.display_name, user_identifier=ident, user_email=target.email,
                        message=message), now, reply_to=(target.email, target.display_name)))
                _requested(uow, ident, root, now, "message to the administrators")
            await uow.commit()
        return ACCEPTED


def _match(account: Account | None, root: str, email: str) -> Account | None:
    """The account when the form's details match it exactly (e-mail compared in constant time)."""
    if account is not None and account.cofor_root == root and same_text(account.email, email) \
            and account.state != State.DISABLED:
        return account
    return None


def _quiet(uow: IdentityUnitOfWork, matches: list[Account], root: str, now: dt.datetime) -> None:
    """A matching request past the holder's mail limit: accepted, nothing sent, but on the holder's trail."""
    for a in matches:
        _requested(uow, a.identifier, root, now, "mail limit reached: nothing sent")

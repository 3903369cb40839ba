"""identity's reactions to cofor's events: the company-gate projection, the first ASL, off-boarding, and the
reset of a company's portal access."""
from __future__ import annotations

import datetime as dt
from typing import Any

from portal.cofor.v1 import events_pb2 as cofor_events
from portal.identity.v1 import events_pb2 as ev
from sqlalchemy import update

from kit import validation
from kit.dialect_upsert import upsert
from kit.messaging.envelope import EventContext
from kit.notify import Template

from identity.adapters.orm import companies
from identity.domain.accounts import Account, DisabledCause, State
from identity.service_layer.administration import Administration
from identity.service_layer.base import temporary_password
from identity.service_layer.unit_of_work import IdentityUnitOfWork


class CompanyEvents(Administration):
    async def _company(self, uow: IdentityUnitOfWork, cofor_root: str, legal_name: str, now: dt.datetime,
                       **values: bool) -> None:
        """Create the company row if missing, then apply ``values``."""
        await uow.session.execute(upsert(uow.session, companies, {
            "cofor_root": cofor_root, "legal_name": legal_name, "supplier_active": True, "access_open": False,
            "administrators_revision": 0, "updated_at": now}, keys=["cofor_root"], update={"updated_at": now}))
        if values or legal_name:
            changes = dict(values, updated_at=now)
            if legal_name:
                changes["legal_name"] = legal_name
            await uow.session.execute(update(companies).where(companies.c.cofor_root == cofor_root).values(**changes))

    async def _state_change(self, uow: IdentityUnitOfWork, event: Any, ctx: EventContext, now: dt.datetime,
                            state: str, **values: bool) -> bool:
        """Apply a change of the supplier's status or of the access state (``state``: "supplier_status" or
        "access_state") unless a newer one is applied already: after a crash, JetStream redelivers what the dead
        process held only once its ack wait is over, after newer events (deactivated arriving after reactivated
        must not disable the accounts again). Ordered by cofor's supplier revision; by the event time for events
        sent without one. True when applied."""
        await self._company(uow, event.cofor_root, event.legal_name, now)
        company = await uow.company(event.cofor_root, for_update=True)
        revision, applied_revision = event.revision, company[f"{state}_revision"]
        at, applied_at = ctx.occurred_at, company[f"{state}_at"]
        if revision and applied_revision is not None:
            if applied_revision >= revision:
                return False
        elif at is not None and applied_at is not None and applied_at > at:
            return False
        marks = {f"{state}_revision": revision} if revision else {}
        if at is not None:
            marks[f"{state}_at"] = at
        await uow.session.execute(update(companies).where(companies.c.cofor_root == event.cofor_root)
                                  .values(**values, **marks))
        return True

    async def supplier_referenced(self, event: cofor_events.SupplierReferenced, ctx: EventContext,
                                  uow: IdentityUnitOfWork) -> None:
        await self._company(uow, event.cofor_root, event.legal_name, self.now())

    async def terms_accepted(self, event: cofor_events.TermsAccepted, ctx: EventContext,
                             uow: IdentityUnitOfWork) -> None:
        """The signatory accepted the GTU: create the company's first ASL (once per access request)."""
        now = self.now()
        await self._company(uow, event.cofor_root, event.legal_name, now)
        from sqlalchemy import select

        from identity.adapters.orm import accounts
        existing = await uow.session.scalar(select(accounts.c.identifier).where(
            accounts.c.origin_access_request_id == event.access_request_id))
        if existing is not None:
            return  # already created for this request
        contact = event.administrator
        password = temporary_password()
        password_hash = await self.hasher.hash(password)
        values = {"given_name": validation.clean(contact.given_name)[:100],
                  "family_name": validation.clean(contact.family_name)[:100], "email": contact.email.strip(),
                  "phone": contact.phone.strip()[:40], "job_title": validation.clean(contact.job_title)[:100],
                  "language": validation.language_of(contact.language) or "fr"}
        account = await self.new_account(uow, cofor_root=event.cofor_root, values=values, administrator=True,
                                         password_hash=password_hash, created_by="system", now=now,
                                         origin_access_request_id=event.access_request_id)
        uow.publish("identity.administrator.created", ev.AdministratorCreated(
            identifier=account.identifier, cofor_root=account.cofor_root, access_request_id=event.access_request_id,
            display_name=account.display_name))
        await uow.publish_administrators(account.cofor_root, now)
        self.mail(uow, Template.EMAIL_TEMPLATE_ADMINISTRATOR_WELCOME, account, params={
            "identifier": account.identifier, "legal_name": event.legal_name, "cofor_root": event.cofor_root})
        self.mail_temporary_password(uow, account, password, account.password_expires_at, "new_account")  # type: ignore[arg-type]
        uow.audit("ACCOUNT_CREATED", subject=account.identifier, cofor_root=account.cofor_root, actor="system",
                  detail="first administrator (terms accepted)", now=now)

    async def access_opened(self, event: cofor_events.AccessOpened, ctx: EventContext,
                            uow: IdentityUnitOfWork) -> None:
        await self._state_change(uow, event, ctx, self.now(), "access_state", access_open=True)

    async def access_suspended(self, event: cofor_events.AccessSuspended, ctx: EventContext,
                               uow: IdentityUnitOfWork) -> None:
        now = self.now()
        if not await self._state_change(uow, event, ctx, now, "access_state", access_open=False):
            return
        members = await uow.company_accounts(event.cofor_root)
        await self.revoke_sessions(uow, [a.identifier for a in members], now)

    async def supplier_deactivated(self, event: cofor_events.SupplierDeactivated, ctx: EventContext,
                                   uow: IdentityUnitOfWork) -> None:
        """Off-boarding: every account of the company disabled, every session revoked."""
        now = self.now()
        if not await self._state_change(uow, event, ctx, now, "supplier_status", supplier_active=False):
            return
        members = await uow.company_accounts(event.cofor_root)
        for account in members:
            if account.state == State.DISABLED:
                continue
            account.state, account.disabled_cause = State.DISABLED, DisabledCause.SUPPLIER_DEACTIVATED
            await uow.save(account, now)
            uow.publish("identity.account.disabled", ev.AccountDisabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor="system",
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_DEACTIVATED))
            uow.audit("ACCOUNT_DISABLED", subject=account.identifier, cofor_root=account.cofor_root,
                      actor="system", detail="supplier deactivated", now=now)
        await self.revoke_sessions(uow, [a.identifier for a in members], now)

    async def supplier_reactivated(self, event: cofor_events.SupplierReactivated, ctx: EventContext,
                                   uow: IdentityUnitOfWork) -> None:
        """Accounts disabled by the deactivation come back; those an ASL disabled stay disabled."""
        now = self.now()
        if not await self._state_change(uow, event, ctx, now, "supplier_status", supplier_active=True):
            return
        for account in await uow.company_accounts(event.cofor_root):
            if account.disabled_cause != DisabledCause.SUPPLIER_DEACTIVATED or not account.enable():
                continue
            await uow.save(account, now)
            uow.publish("identity.account.enabled", ev.AccountEnabled(
                identifier=account.identifier, cofor_root=account.cofor_root, actor="system",
                cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_SUPPLIER_REACTIVATED))
            uow.audit("ACCOUNT_ENABLED", subject=account.identifier, cofor_root=account.cofor_root,
                      actor="system", detail="supplier reactivated", now=now)

    async def access_reset(self, event: cofor_events.AccessReset, ctx: EventContext,
                           uow: IdentityUnitOfWork) -> None:
        """Purchasing reset the company's portal access (the way to undo a rogue first ASL): every account closed
        for good, pending resets voided, every session ended, the gate closed, an empty administrators snapshot.
        A new ASL comes only from a later request's accepted terms."""
        now = self.now()
        if not await self._state_change(uow, event, ctx, now, "access_state", access_open=False):
            return
        members = await uow.company_accounts(event.cofor_root)
        agent, reason = validation.clean(event.actor) or "purchasing", validation.clean(event.reason)
        detail = f"portal access reset by {agent}: {reason}"
        for account in members:
            if _created_after(account, ctx) or account.disabled_cause == DisabledCause.ACCESS_RESET:
                continue
            if account.close():
                uow.publish("identity.account.disabled", ev.AccountDisabled(
                    identifier=account.identifier, cofor_root=account.cofor_root, actor="system",
                    cause=ev.ACCOUNT_STATE_CHANGE_CAUSE_ACCESS_RESET))
            await uow.save(account, now)
            uow.audit("ACCOUNT_DISABLED", subject=account.identifier, cofor_root=account.cofor_root,
                      actor="system", detail=detail, now=now)
        await self.revoke_sessions(uow, [a.identifier for a in members if not _created_after(a, ctx)], now)
        await uow.publish_administrators(event.cofor_root, now)


def _created_after(account: Account, ctx: EventContext) -> bool:
    """The first ASL of a request accepted after the reset: spared when the reset arrives late (JetStream
    redelivers what a crashed consumer held after newer events, and accepted terms carry no revision)."""
    return (account.origin_access_request_id is not None and ctx.occurred_at is not None
            and account.created_at > ctx.occurred_at)

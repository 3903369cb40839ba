"""identity's reactions to cofor's events: the company-gate projection, the first ASL, off-boarding, and the
reset of a company's portal access."""
from __future__ import annotations

import datetime as dt
from typing import Any

from portal.cofor.v1 import events_pb2 as cofor_events

from kit import validation
from kit.messaging.envelope import EventContext

from identity.domain import events as ev
from identity.domain.accounts import Account, DisabledCause
from identity.service_layer.common import Tools
from identity.service_layer.enrolment import TemporaryPassword, new_account
from identity.service_layer.unit_of_work import IdentityUnitOfWork


async def _state_change(uow: IdentityUnitOfWork, event: Any, ctx: EventContext, now: dt.datetime, state: str,
                        **values: bool) -> bool:
    """Apply a change of the supplier's status or of the access state (``state``: "supplier_status" or
    "access_state") unless a newer one is applied already: after a crash, JetStream redelivers what the dead
    process held only once its ack wait is over, after newer events (deactivated arriving after reactivated
    must not disable the accounts again). Ordered by cofor's supplier revision; by the event time for events
    sent without one. True when applied."""
    await uow.companies.ensure(event.cofor_root, event.legal_name, now)
    company = await uow.companies.get(event.cofor_root, for_update=True)
    revision, applied_revision = event.revision, company[f"{state}_revision"]
    at, applied_at = ctx.occurred_at, company[f"{state}_at"]
    if revision and applied_revision is not None:
        if applied_revision >= revision:
            return False
    elif at is not None and applied_at is not None and applied_at > at:
        return False
    marks: dict[str, Any] = {f"{state}_revision": revision} if revision else {}
    if at is not None:
        marks[f"{state}_at"] = at
    await uow.companies.set(event.cofor_root, **values, **marks)
    return True


class CompanyEvents:
    def __init__(self, tools: Tools) -> None:
        self.tools = tools
        self.uow = tools.uow  # the consumer opens one per event

    async def supplier_referenced(self, event: cofor_events.SupplierReferenced, ctx: EventContext,
                                  uow: IdentityUnitOfWork) -> None:
        await uow.companies.ensure(event.cofor_root, event.legal_name, self.tools.clock())

    async def terms_accepted(self, event: cofor_events.TermsAccepted, ctx: EventContext,
                             uow: IdentityUnitOfWork) -> None:
        """The signatory accepted the GTU: create the company's first ASL (once per access request)."""
        now = self.tools.clock()
        await uow.companies.ensure(event.cofor_root, event.legal_name, now)
        if await uow.accounts.of_access_request(event.access_request_id) is not None:
            return  # already created for this request
        contact = event.administrator
        password = await TemporaryPassword.draw(self.tools)
        values = {"given_name": validation.clean(contact.given_name)[:100],
                  "family_name": validation.clean(contact.family_name)[:100], "email": contact.email.strip(),
                  "phone": contact.phone.strip()[:40], "job_title": validation.clean(contact.job_title)[:100],
                  "language": validation.language_of(contact.language) or "fr"}
        await new_account(self.tools, uow, cofor_root=event.cofor_root, values=values, administrator=True,
                          password=password, created_by="system", now=now, legal_name=event.legal_name,
                          access_request_id=event.access_request_id, detail="first administrator (terms accepted)")

    async def access_opened(self, event: cofor_events.AccessOpened, ctx: EventContext,
                            uow: IdentityUnitOfWork) -> None:
        await _state_change(uow, event, ctx, self.tools.clock(), "access_state", access_open=True)

    async def access_suspended(self, event: cofor_events.AccessSuspended, ctx: EventContext,
                               uow: IdentityUnitOfWork) -> None:
        now = self.tools.clock()
        if not await _state_change(uow, event, ctx, now, "access_state", access_open=False):
            return
        members = await uow.accounts.of_company(event.cofor_root)
        await uow.end_sessions([a.identifier for a in members], now)

    async def supplier_deactivated(self, event: cofor_events.SupplierDeactivated, ctx: EventContext,
                                   uow: IdentityUnitOfWork) -> None:
        """Off-boarding: every account of the company disabled, every session revoked."""
        now = self.tools.clock()
        if not await _state_change(uow, event, ctx, now, "supplier_status", supplier_active=False):
            return
        members = await uow.accounts.of_company(event.cofor_root)
        for account in members:
            if account.disable(now, actor="system", cause=DisabledCause.SUPPLIER_DEACTIVATED,
                               detail="supplier deactivated"):
                await uow.accounts.save(account, now)
        await uow.end_sessions([a.identifier for a in members], now)

    async def supplier_reactivated(self, event: cofor_events.SupplierReactivated, ctx: EventContext,
                                   uow: IdentityUnitOfWork) -> None:
        """Accounts disabled by the deactivation come back; those an ASL disabled stay disabled."""
        now = self.tools.clock()
        if not await _state_change(uow, event, ctx, now, "supplier_status", supplier_active=True):
            return
        for account in await uow.accounts.of_company(event.cofor_root):
            if account.disabled_cause == DisabledCause.SUPPLIER_DEACTIVATED and account.enable(
                    now, actor="system", cause=DisabledCause.SUPPLIER_DEACTIVATED, detail="supplier reactivated"):
                await uow.accounts.save(account, now)

    async def access_reset(self, event: cofor_events.AccessReset, ctx: EventContext,
                           uow: IdentityUnitOfWork) -> None:
        """Purchasing reset the company's portal access (the way to undo a rogue first ASL): every account closed
        for good, pending resets voided, every session ended, the gate closed, an empty administrators snapshot.
        A new ASL comes only from a later request's accepted terms."""
        now = self.tools.clock()
        if not await _state_change(uow, event, ctx, now, "access_state", access_open=False):
            return
        members = await uow.accounts.of_company(event.cofor_root)
        agent, reason = validation.clean(event.actor) or "purchasing", validation.clean(event.reason)
        detail = f"portal access reset by {agent}: {reason}"
        for account in members:
            if _created_after(account, ctx) or account.disabled_cause == DisabledCause.ACCESS_RESET:
                continue
            account.close(now, detail=detail)
            await uow.accounts.save(account, now)
        await uow.end_sessions([a.identifier for a in members if not _created_after(a, ctx)], now)
        uow.record(ev.AdministratorsChanged(identifier="", cofor_root=event.cofor_root, at=now))


def _created_after(account: Account, ctx: EventContext) -> bool:
    """The first ASL of a request accepted after the reset: spared when the reset arrives late (JetStream
    redelivers what a crashed consumer held after newer events, and accepted terms carry no revision)."""
    return (account.origin_access_request_id is not None and ctx.occurred_at is not None
            and account.created_at > ctx.occurred_at)

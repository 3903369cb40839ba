"""Reads for the console and support staff (List/Get/Search users, the audit trail): queries straight to the
read model, no domain objects changed. An ASL sees its company only, support staff any company."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select, tuple_

from kit.errors import FieldViolation, InvalidArgument, PermissionDenied, Violations
from kit.paging import page_of

from identity.adapters.orm import accounts, audit_events
from identity.adapters.repository import account_from_row
from identity.domain.accounts import Account, MalformedIdentifier, parse_identifier
from identity.domain.states import parse_cofor_root
from identity.service_layer.common import UnitOfWorkFactory
from identity.service_layer.console_access import Actor, target


@dataclass(frozen=True)
class UserFilter:
    """What the console's list is narrowed to: a state, a role, words to find in identifier, names or e-mail."""
    state: str = ""  # ACTIVE, BLOCKED, DISABLED or "" for any
    role: str = ""  # ADMINISTRATOR, USER or "" for any
    query: str = ""

    def where(self, *conditions: Any) -> list[Any]:
        where = list(conditions)
        if self.state:
            where.append(accounts.c.state == self.state)
        if self.role:
            where.append(accounts.c.is_administrator.is_(self.role == "ADMINISTRATOR"))
        for word in self.query.split():
            # The user's words are data, never a pattern (LIKE's wildcards escaped). Lower-cased and as typed:
            # SQLite lowers ASCII letters only, so "Émilie" is still found when typed with its capital.
            escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append(or_(*(condition for column in (accounts.c.identifier, accounts.c.given_name,
                                                        accounts.c.family_name, accounts.c.email)
                               for condition in (func.lower(column).like(f"%{escaped.lower()}%", escape="\\"),
                                                 column.like(f"%{escaped}%", escape="\\")))))
        return where


@dataclass(frozen=True)
class TrailFilter:
    """What narrows a trail: some actions (names without the AUDIT_ACTION_ prefix; empty: all) and the half-open
    period [since, until) (None: unbounded). It only ever adds conditions to the subject's: it cannot widen it."""

    actions: tuple[str, ...] = ()
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def where(self, query: Any) -> Any:
        if self.actions:
            query = query.where(audit_events.c.action.in_(self.actions))
        if self.since is not None:
            query = query.where(audit_events.c.occurred_at >= self.since)
        if self.until is not None:
            query = query.where(audit_events.c.occurred_at < self.until)
        return query

    def digest_fields(self) -> dict[str, Any]:
        """What a page token is tied to (a token made for other filters is refused)."""
        return {"actions": list(self.actions), "since": self.since.isoformat() if self.since else "",
                "until": self.until.isoformat() if self.until else ""}


class Views:
    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self.uow = uow

    async def list_users(self, actor: Actor, criteria: UserFilter, page_size: int,
                         page_token: str) -> tuple[list[Account], str, int]:
        """A page of the company's accounts matching ``criteria``, the next page's token and the number of matches."""
        if len(criteria.query) > 100:
            raise InvalidArgument([FieldViolation("query", "at most 100 characters")])
        page = page_of(page_size, page_token, state=criteria.state, role=criteria.role, query=criteria.query,
                       company=actor.cofor_root)
        order = (accounts.c.family_name, accounts.c.given_name, accounts.c.identifier)
        matching = criteria.where(accounts.c.cofor_root == actor.cofor_root)
        query = select(accounts).where(*matching).order_by(*order)
        if after := page.key(str, str, str):
            query = query.where(tuple_(*order) > tuple_(*after))
        rows = await self._accounts(query.limit(page.size))
        async with self.uow(readonly=True) as uow:
            total = (await uow.session.execute(select(func.count()).select_from(accounts).where(*matching))).scalar()
        last = [rows[-1].family_name, rows[-1].given_name, rows[-1].identifier] if rows else None
        return rows, page.next_token(last, len(rows)), int(total or 0)

    async def active_administrators(self, actor: Actor) -> int:
        """How many ACTIVE ASLs the ASL's company has (a console offers no way to remove the last one)."""
        query = select(func.count()).select_from(accounts).where(
            accounts.c.cofor_root == actor.cofor_root, accounts.c.is_administrator.is_(True),
            accounts.c.state == "ACTIVE")
        async with self.uow(readonly=True) as uow:
            return int((await uow.session.execute(query)).scalar() or 0)

    async def company_name(self, actor: Actor) -> str:
        """The legal name of the ASL's company (its COFOR root when identity has not heard it)."""
        async with self.uow(readonly=True) as uow:
            company = await uow.companies.get(actor.cofor_root or "")
        return str(company["legal_name"]) if company is not None and company["legal_name"] else actor.cofor_root or ""

    async def get_user(self, actor: Actor, identifier: str) -> Account:
        async with self.uow(readonly=True) as uow:
            return await target(uow, actor, identifier)

    async def search(self, identifier: str, email: str, cofor: str, page_size: int,
                     page_token: str) -> tuple[list[Account], str]:
        v = Violations()
        query = select(accounts).order_by(accounts.c.identifier)
        if not (identifier.strip() or email.strip() or cofor.strip()):
            v.add("identifier", "give at least one of identifier, email, cofor")
        if identifier.strip():
            try:
                query = query.where(accounts.c.identifier == parse_identifier(identifier))
            except MalformedIdentifier as exc:
                v.add("identifier", str(exc))
        if email.strip():
            query = query.where(func.lower(accounts.c.email) == email.strip().lower())
        if cofor.strip():
            root = parse_cofor_root(cofor)
            if root is None:
                v.add("cofor", "a COFOR is 6 letters or digits")
            query = query.where(accounts.c.cofor_root == root)
        v.raise_if_any()
        page = page_of(page_size, page_token, identifier=identifier, email=email, cofor=cofor)
        if after := page.key(str):
            query = query.where(accounts.c.identifier > after)
        rows = await self._accounts(query.limit(page.size))
        return rows, page.next_token(rows[-1].identifier if rows else None, len(rows))

    async def audit_trail(self, actor: Actor, identifier: str, cofor_root: str, page_size: int,
                          page_token: str, wanted: TrailFilter | None = None) -> tuple[list[Any], str]:
        wanted = wanted or TrailFilter()
        query = select(audit_events).order_by(audit_events.c.occurred_at.desc(), audit_events.c.id.desc())
        if identifier:
            async with self.uow(readonly=True) as uow:
                account = await target(uow, actor, identifier)
            query = query.where(audit_events.c.subject == account.identifier)
        elif cofor_root:
            root = parse_cofor_root(cofor_root)
            if root is None:
                raise InvalidArgument([FieldViolation("cofor_root", "a COFOR is 6 letters or digits")])
            if not actor.is_support and root != actor.cofor_root:
                raise PermissionDenied("OTHER_COMPANY_ACCOUNT", "this is another company's trail")
            query = query.where(audit_events.c.cofor_root == root)
        else:
            raise InvalidArgument([FieldViolation("subject", "give an identifier or a cofor_root")])
        query = wanted.where(query)  # after the subject's condition: narrows it, never replaces it
        filters = wanted.digest_fields() if wanted != TrailFilter() else {}  # earlier tokens stay valid
        page = page_of(page_size, page_token, identifier=identifier, cofor_root=cofor_root, **filters)
        if page.key(str, str):
            when, ident = page.after
            try:
                moment = dt.datetime.fromisoformat(when)
            except ValueError:
                raise InvalidArgument([FieldViolation("page_token", "is not a token this service issued")]) from None
            query = query.where(or_(audit_events.c.occurred_at < moment,
                                    (audit_events.c.occurred_at == moment) & (audit_events.c.id < ident)))
        async with self.uow(readonly=True) as uow:
            rows = list((await uow.session.execute(query.limit(page.size))).mappings())
        last = [rows[-1]["occurred_at"].isoformat(), rows[-1]["id"]] if rows else None
        return rows, page.next_token(last, len(rows))

    async def _accounts(self, query: Any) -> list[Account]:
        async with self.uow(readonly=True) as uow:
            return [account_from_row(r) for r in (await uow.session.execute(query)).mappings()]

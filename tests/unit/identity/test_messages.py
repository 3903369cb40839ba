"""Every domain event leaves identity through a handler of its own: none is dropped, none silently borrows its
parent's (review of the redesign, finding 2)."""
from __future__ import annotations

import datetime as dt

from identity.adapters import messages
from identity.adapters.repository import AccountRepository
from identity.domain import events as ev
from identity.domain.states import LockCause

from .builders import account


def concrete_events() -> set[type[ev.Event]]:
    found, todo = set(), list(ev.Event.__subclasses__())
    while todo:
        kind = todo.pop()
        found.add(kind)
        todo += kind.__subclasses__()
    return found


def test_every_event_has_a_handler_registered_for_its_own_class() -> None:
    assert concrete_events() and concrete_events() <= set(messages.emit.registry)


def test_saving_a_second_copy_of_an_account_keeps_its_events() -> None:
    repository = AccountRepository(session=None, postgres=False)  # type: ignore[arg-type]  # no statement is run
    first = repository._seen(account("V000042"))
    copy = account("V000042")
    copy.lock(LockCause.FAILED_ATTEMPTS, dt.datetime(2026, 12, 1, tzinfo=dt.UTC))
    assert repository._seen(copy) is first
    assert [type(e) for e in first.events] == [ev.AccountLocked] and not copy.events
